package ledger

import (
	"crypto/rand"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/penhub/penhub/crypto"
)

// benchNotices seals n notices from DE to NL, FR and INT-INCB (plus DE's
// own stanza) with a 2 KiB plaintext, on every core.
func benchNotices(b *testing.B, f *fixture, n int) [][]byte {
	b.Helper()
	body := make([]byte, 2048)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	out := make([][]byte, n)
	rs := []crypto.Recipient{
		{ID: "NL", Key: f.auth["NL"].KEM.Public()}, {ID: "FR", Key: f.auth["FR"].KEM.Public()},
		{ID: "INT-INCB", Key: f.auth["INT-INCB"].KEM.Public()}, {ID: "DE", Key: f.auth["DE"].KEM.Public()},
	}
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				h := crypto.Header{Kind: crypto.KindNotice, HubID: f.hub, Author: "DE", Subtype: "pre_export",
					CreatedMS: testCreated, Recipients: []string{"NL", "FR", "INT-INCB"}}
				env, err := crypto.Seal(rand.Reader, h, rs, body, f.signer("DE"))
				if err != nil {
					panic(err)
				}
				out[i] = env
			}
		})
	}
	wg.Wait()
	return out
}

// BenchmarkApplyBatch measures ApplyBatch throughput: batches of 64 sealed
// 2 KiB notices (3 recipients + the sender), with signature verification,
// the Merkle tree and the indexes, on a real bbolt file (fsync on, and off
// for comparison). One op = one batch; entries/s is the figure to read.
//
//	go test -run '^$' -bench ApplyBatch -benchtime 100x ./consensus/ledger
func BenchmarkApplyBatch(b *testing.B) {
	for _, bc := range []struct {
		name   string
		batch  int
		noSync bool
	}{{"batch64/fsync", 64, false}, {"batch64/nosync", 64, true}, {"batch1/fsync", 1, false}} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFixture(b)
			envs := benchNotices(b, f, b.N*bc.batch)
			l, err := Open(filepath.Join(b.TempDir(), "fsm.db"), Options{NoSync: bc.noSync})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			idx := uint64(1)
			if _, ok := l.Apply(&raft.Log{Index: idx, Type: raft.LogCommand, Data: EncodeCommand(f.genesis)}).(*Applied); !ok {
				b.Fatal("genesis rejected")
			}
			batches := make([][]*raft.Log, b.N)
			for i := range batches {
				for j := range bc.batch {
					idx++
					batches[i] = append(batches[i], &raft.Log{Index: idx, Type: raft.LogCommand, Data: EncodeCommand(envs[i*bc.batch+j])})
				}
			}
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for i := range b.N {
				for _, r := range l.ApplyBatch(batches[i]) {
					if _, ok := r.(*Applied); !ok {
						b.Fatalf("rejected: %v", r)
					}
				}
			}
			el, cpu := time.Since(start), cpuTime()-cpu0
			b.ReportMetric(float64(b.N*bc.batch)/el.Seconds(), "entries/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*bc.batch), "cpu-µs/entry")
		})
	}
}

// BenchmarkVerifyStore measures the offline audit (penhub verify) over a
// store of 4,096 notices.
//
//	go test -run '^$' -bench VerifyStore -benchtime 3x ./consensus/ledger
func BenchmarkVerifyStore(b *testing.B) {
	const n = 4096
	f := newFixture(b)
	envs := benchNotices(b, f, n)
	path := filepath.Join(b.TempDir(), "fsm.db")
	l, err := Open(path, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	logs := []*raft.Log{{Index: 1, Type: raft.LogCommand, Data: EncodeCommand(f.genesis)}}
	for i, e := range envs {
		logs = append(logs, &raft.Log{Index: uint64(i + 2), Type: raft.LogCommand, Data: EncodeCommand(e)})
	}
	for i := 0; i < len(logs); i += 256 {
		l.ApplyBatch(logs[i:min(i+256, len(logs))])
	}
	hub := l.HubID()
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for range b.N {
		if err := VerifyStore(path, &hub, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*(n+1))/time.Since(start).Seconds(), "entries/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N*(n+1)), "cpu-µs/entry")
}

// cpuTime is the process's user + system CPU time: with the machine shared,
// CPU per entry is steadier than wall-clock throughput.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
