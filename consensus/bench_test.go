package consensus

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/penhub/penhub/crypto"
)

// Benchmarks of committed entries per second with 64 concurrent proposers (docs/performance.md,
// consensus section). Run both in one go so they share the machine's state:
//
//	go test -run='^$' -bench='Propose64|RaftBaseline64' -benchtime=4000x ./consensus/
//
// BenchmarkPropose64 drives the real stack: 3 nodes, mTLS mux transport, raft-boltdb/v2,
// the ledger (signature checks at apply on every node, bbolt, Merkle tree) and sealed
// notices with a 2 KiB body (≈ 8 KiB envelopes), proposed on the leader.
// BenchmarkPropose64Forwarded spreads the proposers over all three nodes, so two thirds go
// through leader forwarding. BenchmarkRaftBaseline64 is bare hashicorp/raft with the same
// log store, raft settings, concurrency and entry size, a no-op BatchingFSM and plain TCP.

const benchProposers = 64

func BenchmarkPropose64(b *testing.B)          { benchPropose(b, false, false) }
func BenchmarkPropose64Forwarded(b *testing.B) { benchPropose(b, true, false) }

// BenchmarkPropose64LedgerNoSync is BenchmarkPropose64 with the ledger's fsync off (not a
// supported configuration): the difference is what the FSM's own fsyncs cost.
func BenchmarkPropose64LedgerNoSync(b *testing.B) { benchPropose(b, false, true) }

func benchPropose(b *testing.B, spread, noSync bool) {
	c := newBenchCluster(b, noSync)
	lead := c.leader(10 * time.Second)
	envs := make([][]byte, b.N)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.N; i += workers {
				envs[i] = makeNotice(b, c.hub, c.auth, fmt.Sprintf("bench-%d", i), 2000)
			}
		}()
	}
	wg.Wait()
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed, retries atomic.Int64
	b.SetBytes(int64(len(envs[0])))
	b.ResetTimer()
	start := time.Now()
	for p := 0; p < benchProposers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := c.members[lead].node
			if spread {
				node = c.members[p%len(c.members)].node
			}
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				t0 := time.Now()
				var err error
				for try := 0; try < 5; try++ {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					_, err = node.Propose(ctx, envs[i])
					cancel()
					// A client retries an ambiguous outcome with the same envelope; a
					// duplicate then means the first attempt was committed.
					var dup *DuplicateError
					if errors.As(err, &dup) {
						err = nil
					}
					if !errors.Is(err, ErrOutcomeUnknown) && !errors.Is(err, ErrUnavailable) {
						break
					}
					retries.Add(1)
				}
				lat[i] = time.Since(t0)
				if err != nil {
					if failed.Add(1) <= 3 {
						b.Logf("proposal %d: %v", i, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d proposals failed", f)
	}
	reportThroughput(b, elapsed, lat)
	b.ReportMetric(float64(retries.Load()), "retries")
	f := c.members[lead].node.fsm
	if nb := f.batches.Load(); nb > 0 {
		b.ReportMetric(float64(f.logs.Load())/float64(nb), "logs/batch")
		b.ReportMetric(float64(f.applyNanos.Load())/float64(nb)/1e6, "ms/batch")
	}
}

func reportThroughput(b *testing.B, elapsed time.Duration, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "entries/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
}

// newBenchCluster is newTestCluster for benchmarks: quiet logs, production timeouts.
func newBenchCluster(b *testing.B, ledgerNoSync bool) *testCluster {
	return newTestClusterTB(b, 3, withTune(func(cfg *Config) {
		cfg.Logger = benchLogger(cfg.NodeID)
		cfg.HeartbeatTimeout = time.Second
		cfg.ElectionTimeout = time.Second
		cfg.LeaderLeaseTimeout = defaultLease
		cfg.ledgerNoSync = ledgerNoSync
	}))
}

// benchEntrySize is the size of a sealed notice with a 2 KiB body.
func benchEntrySize(b *testing.B) int {
	auth := map[string]*crypto.Identity{}
	for _, id := range []string{"DE", "NL"} {
		a, err := crypto.GenerateIdentity(rand.Reader, id)
		if err != nil {
			b.Fatal(err)
		}
		auth[id] = a
	}
	return len(makeNotice(b, [32]byte{1}, auth, "size", 2000))
}

// BenchmarkRaftBaseline64 is bare hashicorp/raft (RunRaftBaseline): 3 nodes,
// raft-boltdb/v2 (same bbolt options), LogCache 512, BatchApplyCh, MaxAppendEntries 64,
// plain TCP, no-op BatchingFSM, 64 proposers on the leader, entries of a sealed 2 KiB
// notice's size.
func BenchmarkRaftBaseline64(b *testing.B) {
	size := benchEntrySize(b)
	b.SetBytes(int64(size))
	b.ResetTimer()
	res, err := runBaseline(context.Background(), b.TempDir(), benchProposers, size, b.N, time.Hour)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if res.Failed > 0 {
		b.Fatalf("%d applies failed", res.Failed)
	}
	reportThroughput(b, res.Elapsed, res.Latencies)
}

// benchLogger discards logs unless PENHUB_BENCH_LOG is set (then warnings go to stderr).
func benchLogger(id string) *slog.Logger {
	if os.Getenv("PENHUB_BENCH_LOG") == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("n", id)
}

// BenchmarkProposeSerial measures one proposer's latency, on the leader and forwarded
// from a follower (ns/op is the latency of one committed and locally applied entry).
func BenchmarkProposeSerial(b *testing.B) {
	c := newBenchCluster(b, false)
	lead := c.leader(10 * time.Second)
	for _, tc := range []struct {
		name string
		on   int
	}{{"leader", lead}, {"follower", (lead + 1) % 3}} {
		b.Run(tc.name, func(b *testing.B) {
			envs := make([][]byte, b.N)
			for i := range envs {
				envs[i] = makeNotice(b, c.hub, c.auth, fmt.Sprintf("serial-%s-%d-%d", tc.name, b.N, i), 2000)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.members[tc.on].node.Propose(context.Background(), envs[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
