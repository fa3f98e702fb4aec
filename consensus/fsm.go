package consensus

import (
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/penhub/penhub/consensus/ledger"
)

// fsm wraps the ledger as raft's BatchingFSM and records the highest raft index the
// ledger has finished with, so that waiters (Propose on a follower, Barrier, Ready) learn
// when an index is applied locally. raft's own AppliedIndex is set when a batch is handed
// to the FSM goroutine, before the ledger has committed it, so it cannot serve here.
//
// All methods except last/wait run on raft's FSM goroutine (runFSM), one at a time.
type fsm struct {
	l   *ledger.Ledger
	log *slog.Logger
	// wantHub, when set (Config.Genesis given), is the only hub id this node may hold:
	// a ledger that applies or restores another hub's genesis is a fail-stop condition.
	wantHub *[32]byte
	last    atomic.Uint64 // highest raft index passed to the ledger and committed by it

	// Counters for metrics and benchmarks: batches applied, logs in them, time spent.
	batches, logs, applyNanos atomic.Uint64

	mu      sync.Mutex
	changed chan struct{} // closed and replaced after every batch or restore
}

var _ raft.BatchingFSM = (*fsm)(nil)

func newFSM(l *ledger.Ledger, log *slog.Logger) *fsm {
	f := &fsm{l: l, log: log, changed: make(chan struct{})}
	f.last.Store(l.AppliedRaftIndex())
	return f
}

func (f *fsm) advance(index uint64) {
	if index > f.last.Load() {
		f.last.Store(index)
	}
	f.mu.Lock()
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// wait returns the applied index and a channel closed when it next changes.
func (f *fsm) wait() (uint64, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last.Load(), f.changed
}

func (f *fsm) Apply(l *raft.Log) any {
	r := f.l.Apply(l)
	f.checkHub()
	f.advance(l.Index)
	return r
}

func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	start := time.Now()
	r := f.l.ApplyBatch(logs)
	f.batches.Add(1)
	f.logs.Add(uint64(len(logs)))
	f.applyNanos.Add(uint64(time.Since(start)))
	f.checkHub()
	if len(logs) > 0 {
		f.advance(logs[len(logs)-1].Index)
	}
	return r
}

// checkHub stops the node (panics on raft's FSM goroutine) if the ledger now holds
// another hub's history than Config.Genesis: a peer fed this node a foreign log. Nothing
// can be applied safely after that; the data directory must be recreated.
func (f *fsm) checkHub() {
	if f.wantHub == nil || f.l.Size() == 0 {
		return
	}
	if got := f.l.HubID(); got != *f.wantHub {
		f.log.Error("ledger holds another hub's history", "hub_id", hex.EncodeToString(got[:]), "want", hex.EncodeToString(f.wantHub[:]))
		panic(fmt.Sprintf("consensus: ledger holds hub %x, configured genesis is hub %x", got, *f.wantHub))
	}
}

// Snapshot returns a live snapshot (snapshots.go): O(1), whatever the size
// of the ledger.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) { return liveSnapshot{}, nil }

func (f *fsm) Restore(rc io.ReadCloser) error {
	err := f.l.Restore(rc)
	f.checkHub()
	// Restore replaces the state wholesale: the applied index may go down only if the
	// snapshot is older, which raft never installs.
	f.last.Store(f.l.AppliedRaftIndex())
	f.advance(0)
	return err
}
