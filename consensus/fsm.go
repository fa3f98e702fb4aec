package consensus

import (
	"io"
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
	l    *ledger.Ledger
	last atomic.Uint64 // highest raft index passed to the ledger and committed by it

	// Counters for metrics and benchmarks: batches applied, logs in them, time spent.
	batches, logs, applyNanos atomic.Uint64

	mu      sync.Mutex
	changed chan struct{} // closed and replaced after every batch or restore
}

var _ raft.BatchingFSM = (*fsm)(nil)

func newFSM(l *ledger.Ledger) *fsm {
	f := &fsm{l: l, changed: make(chan struct{})}
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
	f.advance(l.Index)
	return r
}

func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	start := time.Now()
	r := f.l.ApplyBatch(logs)
	f.batches.Add(1)
	f.logs.Add(uint64(len(logs)))
	f.applyNanos.Add(uint64(time.Since(start)))
	if len(logs) > 0 {
		f.advance(logs[len(logs)-1].Index)
	}
	return r
}

func (f *fsm) Snapshot() (raft.FSMSnapshot, error) { return f.l.Snapshot() }

func (f *fsm) Restore(rc io.ReadCloser) error {
	err := f.l.Restore(rc)
	// Restore replaces the state wholesale: the applied index may go down only if the
	// snapshot is older, which raft never installs.
	f.last.Store(f.l.AppliedRaftIndex())
	f.advance(0)
	return err
}
