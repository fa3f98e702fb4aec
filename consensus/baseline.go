package consensus

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"
)

// BaselineResult is the outcome of [RunRaftBaseline].
type BaselineResult struct {
	Entries int // entries committed (and applied by the no-op FSM on the leader)
	Failed  int // Apply calls that returned an error
	// LeaderChanges counts the times the proposers moved to a new leader after
	// theirs stepped down (each such step-down also fails the Applies in flight).
	LeaderChanges int
	Elapsed       time.Duration   // measured wall time
	Latencies     []time.Duration // one per committed entry, Apply to result, unsorted
}

// RunRaftBaseline measures bare hashicorp/raft on this machine, as the ceiling the real
// stack is compared with (SPEC §8 raft_baseline): 3 voters in this process, each with a
// raft-boltdb/v2 log under dir (the same bbolt options, LogCache, BatchApplyCh and
// MaxAppendEntries as a Node), plain TCP on 127.0.0.1, a no-op BatchingFSM, and
// concurrency goroutines applying entrySize-byte random entries on the leader for
// duration. No TLS, no ledger, no signatures.
func RunRaftBaseline(ctx context.Context, dir string, concurrency, entrySize int, duration time.Duration) (*BaselineResult, error) {
	return runBaseline(ctx, dir, concurrency, entrySize, 0, duration)
}

// runBaseline runs until count entries are committed (count > 0) or duration passes.
func runBaseline(ctx context.Context, dir string, concurrency, entrySize, count int, duration time.Duration) (*BaselineResult, error) {
	if concurrency < 1 || entrySize < 1 {
		return nil, errors.New("raft baseline: concurrency and entry size must be positive")
	}
	quiet := newHCLog(slog.New(slog.NewTextHandler(io.Discard, nil)), "raft")
	type member struct {
		r     *raft.Raft
		store *raftboltdb.BoltStore
		trans *raft.NetworkTransport
	}
	ms := make([]*member, 3)
	defer func() {
		for _, m := range ms {
			if m == nil {
				continue
			}
			if m.r != nil {
				_ = m.r.Shutdown().Error()
			}
			if m.trans != nil {
				_ = m.trans.Close()
			}
			if m.store != nil {
				_ = m.store.Close()
			}
		}
	}()
	var servers []raft.Server
	for i := range ms {
		trans, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, transportPool, transportTimeout, quiet)
		if err != nil {
			return nil, fmt.Errorf("raft baseline: transport: %w", err)
		}
		ms[i] = &member{trans: trans}
		store, err := raftboltdb.New(raftboltdb.Options{
			Path:        filepath.Join(dir, fmt.Sprintf("b%d-%s", i, raftLogFile)),
			BoltOptions: &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType},
		})
		if err != nil {
			return nil, fmt.Errorf("raft baseline: log store: %w", err)
		}
		ms[i].store = store
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(fmt.Sprint("b", i)), Address: trans.LocalAddr()})
	}
	for i, m := range ms {
		cache, err := raft.NewLogCache(logCacheSize, m.store)
		if err != nil {
			return nil, fmt.Errorf("raft baseline: %w", err)
		}
		snaps, err := raft.NewFileSnapshotStoreWithLogger(filepath.Join(dir, fmt.Sprintf("b%d-snapshots", i)), snapshotRetain, quiet)
		if err != nil {
			return nil, fmt.Errorf("raft baseline: %w", err)
		}
		rc := raft.DefaultConfig()
		rc.LocalID = servers[i].ID
		rc.BatchApplyCh = true
		rc.MaxAppendEntries = maxAppendEntries
		rc.SnapshotThreshold = defaultSnapshotThreshold
		rc.TrailingLogs = defaultTrailingLogs
		rc.Logger = quiet
		if i == 0 {
			if err := raft.BootstrapCluster(rc, cache, m.store, snaps, m.trans, raft.Configuration{Servers: servers}); err != nil {
				return nil, fmt.Errorf("raft baseline: bootstrap: %w", err)
			}
		}
		if m.r, err = raft.NewRaft(rc, noopFSM{}, cache, m.store, snaps, m.trans); err != nil {
			return nil, fmt.Errorf("raft baseline: %w", err)
		}
	}
	// findLeader waits for a leader. Proposers call it again when theirs steps
	// down: on a starved machine a heartbeat can be missed mid-run.
	findLeader := func() (*raft.Raft, error) {
		for {
			for _, m := range ms {
				if m.r.State() == raft.Leader {
					return m.r, nil
				}
			}
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("raft baseline: waiting for a leader: %w", ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	first, err := findLeader()
	if err != nil {
		return nil, err
	}
	var leader atomic.Pointer[raft.Raft]
	leader.Store(first)
	payload := make([]byte, entrySize)
	if _, err := rand.Read(payload); err != nil {
		return nil, fmt.Errorf("raft baseline: %w", err)
	}
	var (
		mu        sync.Mutex
		lat       []time.Duration
		failed    atomic.Int64
		changes   atomic.Int64
		started   atomic.Int64
		wg        sync.WaitGroup
		deadline  = time.Now().Add(duration)
		start     = time.Now()
		keepGoing = func() bool {
			if ctx.Err() != nil {
				return false
			}
			if count > 0 {
				return started.Add(1) <= int64(count)
			}
			return time.Now().Before(deadline)
		}
	)
	for p := 0; p < concurrency; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			for keepGoing() {
				t0 := time.Now()
				l := leader.Load()
				if err := l.Apply(payload, 30*time.Second).Error(); err != nil {
					failed.Add(1)
					if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
						if nl, err := findLeader(); err != nil {
							return // ctx ended
						} else if nl != l && leader.CompareAndSwap(l, nl) {
							changes.Add(1)
						}
					}
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return &BaselineResult{Entries: len(lat), Failed: int(failed.Load()), LeaderChanges: int(changes.Load()), Elapsed: time.Since(start), Latencies: lat}, nil
}

// noopFSM is the baseline's state machine: it does nothing.
type noopFSM struct{}

var _ raft.BatchingFSM = noopFSM{}

func (noopFSM) Apply(*raft.Log) any                 { return nil }
func (noopFSM) ApplyBatch(logs []*raft.Log) []any   { return make([]any, len(logs)) }
func (noopFSM) Snapshot() (raft.FSMSnapshot, error) { return noopSnapshot{}, nil }
func (noopFSM) Restore(rc io.ReadCloser) error      { return rc.Close() }

type noopSnapshot struct{}

func (noopSnapshot) Persist(s raft.SnapshotSink) error { return s.Close() }
func (noopSnapshot) Release()                          {}
