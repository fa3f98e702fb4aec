package consensus

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"
)

// BaselineResult is what [RunRaftBaseline] measured over its measured window
// (the warm-up is left out).
type BaselineResult struct {
	// Entries is the number of Apply calls that committed in the window.
	Entries int
	// Failed is the number of Apply calls that returned an error in the window.
	Failed int
	// Elapsed is the length of the measured window.
	Elapsed time.Duration
	// Latencies holds one duration per committed entry, from Apply to
	// Future.Error returning on the leader (commit by a quorum plus the
	// leader's no-op FSM apply), in completion order. The caller owns it.
	Latencies []time.Duration
}

// RunRaftBaseline measures the ceiling that the notice log is compared with in
// `penhub bench` (SPEC §8 raft_baseline): a bare hashicorp/raft cluster of 3
// voters in this process, each with raft-boltdb/v2 (fsync on, the bbolt options
// of [Open]), the same LogCache, BatchApplyCh and MaxAppendEntries as a real
// node, a no-op BatchingFSM, and plain TCP on 127.0.0.1 (no TLS). concurrency
// goroutines Apply random entries of entrySize bytes on the leader, back to
// back, for a warm-up of min(1 s, d/5) and then for d, which is measured.
//
// The stores live under dir (which must exist; the caller removes it). It
// returns when d has passed or ctx ends (then with ctx.Err()), after shutting
// the cluster down.
func RunRaftBaseline(ctx context.Context, dir string, concurrency, entrySize int, d time.Duration) (BaselineResult, error) {
	if concurrency < 1 || entrySize < 1 || d <= 0 {
		return BaselineResult{}, fmt.Errorf("running raft baseline: concurrency %d, entry size %d and duration %v must be positive", concurrency, entrySize, d)
	}
	const n = 3
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	type member struct {
		r     *raft.Raft
		store *raftboltdb.BoltStore
		trans *raft.NetworkTransport
	}
	ms := make([]member, 0, n)
	defer func() {
		for _, m := range ms {
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
	for i := 0; i < n; i++ {
		mdir := filepath.Join(dir, fmt.Sprintf("b%d", i))
		if err := os.MkdirAll(mdir, 0o700); err != nil {
			return BaselineResult{}, fmt.Errorf("running raft baseline: %w", err)
		}
		trans, err := raft.NewTCPTransport("127.0.0.1:0", nil, transportPool, transportTimeout, io.Discard)
		if err != nil {
			return BaselineResult{}, fmt.Errorf("running raft baseline: opening transport: %w", err)
		}
		store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(mdir, raftLogFile),
			BoltOptions: &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType}})
		if err != nil {
			_ = trans.Close()
			return BaselineResult{}, fmt.Errorf("running raft baseline: opening log store: %w", err)
		}
		ms = append(ms, member{store: store, trans: trans})
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(fmt.Sprint("b", i)), Address: trans.LocalAddr()})
	}
	for i := range ms {
		cache, err := raft.NewLogCache(logCacheSize, ms[i].store)
		if err != nil {
			return BaselineResult{}, fmt.Errorf("running raft baseline: %w", err)
		}
		snaps, err := raft.NewFileSnapshotStoreWithLogger(filepath.Join(dir, fmt.Sprintf("b%d", i)), snapshotRetain, newHCLog(quiet, "snap"))
		if err != nil {
			return BaselineResult{}, fmt.Errorf("running raft baseline: opening snapshot store: %w", err)
		}
		rc := raft.DefaultConfig()
		rc.LocalID = servers[i].ID
		rc.BatchApplyCh = true
		rc.MaxAppendEntries = maxAppendEntries
		rc.SnapshotThreshold = defaultSnapshotThreshold
		rc.TrailingLogs = defaultTrailingLogs
		rc.Logger = newHCLog(quiet, "raft")
		if i == 0 {
			if err := raft.BootstrapCluster(rc, cache, ms[i].store, snaps, ms[i].trans, raft.Configuration{Servers: servers}); err != nil {
				return BaselineResult{}, fmt.Errorf("running raft baseline: bootstrapping: %w", err)
			}
		}
		r, err := raft.NewRaft(rc, baselineFSM{}, cache, ms[i].store, snaps, ms[i].trans)
		if err != nil {
			return BaselineResult{}, fmt.Errorf("running raft baseline: starting raft: %w", err)
		}
		ms[i].r = r
	}
	var leader *raft.Raft
	for deadline := time.Now().Add(30 * time.Second); leader == nil; {
		for _, m := range ms {
			if m.r.State() == raft.Leader {
				leader = m.r
			}
		}
		if leader != nil {
			break
		}
		if time.Now().After(deadline) {
			return BaselineResult{}, errors.New("running raft baseline: no leader elected within 30 s")
		}
		select {
		case <-ctx.Done():
			return BaselineResult{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	payload := make([]byte, entrySize)
	if _, err := rand.Read(payload); err != nil {
		return BaselineResult{}, fmt.Errorf("running raft baseline: %w", err)
	}

	warm := min(time.Second, d/5)
	start := time.Now()
	measureFrom, stopAt := start.Add(warm), start.Add(warm+d)
	var (
		mu     sync.Mutex
		lat    []time.Duration
		failed atomic.Int64
		wg     sync.WaitGroup
	)
	for p := 0; p < concurrency; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(stopAt) {
					break
				}
				err := leader.Apply(payload, 30*time.Second).Error()
				t1 := time.Now()
				if t0.Before(measureFrom) || t1.After(stopAt) {
					continue // warm-up, or finished after the window closed
				}
				if err != nil {
					failed.Add(1)
					continue
				}
				mine = append(mine, t1.Sub(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return BaselineResult{}, err
	}
	return BaselineResult{Entries: len(lat), Failed: int(failed.Load()), Elapsed: d, Latencies: lat}, nil
}

// baselineFSM is a BatchingFSM that does nothing.
type baselineFSM struct{}

var _ raft.BatchingFSM = baselineFSM{}

func (baselineFSM) Apply(*raft.Log) any                 { return nil }
func (baselineFSM) ApplyBatch(logs []*raft.Log) []any   { return make([]any, len(logs)) }
func (baselineFSM) Snapshot() (raft.FSMSnapshot, error) { return baselineSnap{}, nil }
func (baselineFSM) Restore(rc io.ReadCloser) error      { return rc.Close() }

type baselineSnap struct{}

func (baselineSnap) Persist(s raft.SnapshotSink) error { return s.Close() }
func (baselineSnap) Release()                          {}
