package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/penhub/penhub/node/client"
)

// benchPoster posts one sender's notices to its home node.
type benchPoster struct {
	sender string
	cl     *client.Client
}

// posters returns one poster per configured sender, each talking to the
// sender's home node with its focal point token over a shared keep-alive
// pool.
func (b *bencher) posters() []benchPoster {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 4096
	tr.MaxIdleConnsPerHost = 1024
	hc := &http.Client{Transport: tr}
	var out []benchPoster
	for _, s := range b.cfg.senders {
		nd := b.cluster.home(s)
		out = append(out, benchPoster{sender: s, cl: client.New(nd.API, b.cluster.token(s, "focal_point", nd.ID),
			client.WithHTTPClient(hc), client.WithTimeout(30*time.Second))})
	}
	return out
}

// loadResult is what a load run saw: committed posts with their latencies,
// and failures.
type loadResult struct {
	lat       []time.Duration
	committed int // every 201, warm-up included
	failed    int
	firstErr  error
	elapsed   time.Duration
}

func (r *loadResult) fail(err error) {
	r.failed++
	if r.firstErr == nil {
		r.firstErr = err
	}
}

// closedLoop runs conc posters back to back. A poster stops when take()
// reports false (checked before each post). Posts that started before
// measureFrom are not counted (warm-up). onCommit, when not nil, is called
// with the log index and the time of each 201 answer.
func (b *bencher) closedLoop(ctx context.Context, conc int, warm time.Duration, take func() bool, onCommit func(index uint64, sent, answered time.Time)) *loadResult {
	ps := b.posters()
	var (
		mu  sync.Mutex
		res loadResult
		wg  sync.WaitGroup
	)
	start := time.Now()
	measureFrom := start.Add(warm)
	for p := 0; p < conc; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			po := ps[p%len(ps)]
			var mine loadResult
			for ctx.Err() == nil && take() {
				t0 := time.Now()
				r, err := po.cl.PostNotice(ctx, b.notice.request(po.sender))
				t1 := time.Now()
				if err == nil {
					mine.committed++
					if onCommit != nil {
						onCommit(r.Index, t0, t1)
					}
				}
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					mine.fail(err)
					continue
				}
				mine.lat = append(mine.lat, t1.Sub(t0))
			}
			mu.Lock()
			res.lat = append(res.lat, mine.lat...)
			res.failed += mine.failed
			res.committed += mine.committed
			if res.firstErr == nil {
				res.firstErr = mine.firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(measureFrom)
	b.posted += res.committed
	return &res
}

// openLoop posts at a fixed rate for d whatever the answers do; a post's
// latency runs from its scheduled time, so a stall is not hidden by the
// posts it delays (no coordinated omission).
func (b *bencher) openLoop(ctx context.Context, rate float64, d time.Duration, onCommit func(index uint64, sent, answered time.Time)) *loadResult {
	ps := b.posters()
	var (
		mu  sync.Mutex
		res loadResult
		wg  sync.WaitGroup
	)
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	for i := 0; ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * interval)
		if !at.Before(start.Add(d)) {
			break
		}
		if w := time.Until(at); w > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(w):
			}
		}
		po := ps[i%len(ps)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent := time.Now()
			r, err := po.cl.PostNotice(ctx, b.notice.request(po.sender))
			t1 := time.Now()
			if err == nil && onCommit != nil {
				onCommit(r.Index, sent, t1)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.fail(err)
				return
			}
			res.lat = append(res.lat, t1.Sub(at))
			res.committed++
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	b.posted += res.committed
	return &res
}

func (r *loadResult) check(what string) error {
	if len(r.lat) == 0 {
		if r.firstErr != nil {
			return fmt.Errorf("%s: no notice committed: %w", what, r.firstErr)
		}
		return fmt.Errorf("%s: no notice committed", what)
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// runIngest is ingest (empty log) or ingest_at_n (after fill): conc posters
// for the configured duration, after a short warm-up.
func (b *bencher) runIngest(ctx context.Context, name string) error {
	d := b.cfg.duration
	warm := min(2*time.Second, d/10)
	b.logf("%s: %d posters (senders %v) for %v after %v warm-up, %d notices stored", name, b.cfg.concurrency, b.cfg.senders, d, warm, b.posted)
	stored := b.posted
	stop := time.Now().Add(warm + d)
	cpu0 := sampleCPU(b.cpuPids())
	res := b.closedLoop(ctx, b.cfg.concurrency, warm, func() bool { return time.Now().Before(stop) }, nil)
	cpu1 := sampleCPU(b.cpuPids())
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := res.check(name); err != nil {
		return err
	}
	ops := float64(len(res.lat)) / res.elapsed.Seconds()
	r := newResult(name, ops, newLatencies(res.lat)).add("notices", len(res.lat)).add("failed", res.failed)
	if res.firstErr != nil {
		r.add("first_error", errString(res.firstErr))
	}
	r.add("concurrency", b.cfg.concurrency).add("duration_s", round(res.elapsed.Seconds(), 2)).
		add("body_bytes", b.notice.bodySize).add("envelope_bytes", b.notice.envelopeSize).add("stored_notices_before", stored)
	r.addAll(cpuUse(cpu0, cpu1, res.committed))
	if name == scIngest {
		b.ingestOps = ops
		r.add("target", ">= 1000 notices/s and >= 0.6 x crypto_ceiling")
		meets := ops >= 1000
		if b.cryptoOps > 0 {
			ratio := ops / b.cryptoOps
			r.add("crypto_ceiling_ops_per_s", round(b.cryptoOps, 1)).add("ratio_to_crypto_ceiling", round(ratio, 3))
			meets = meets && ratio >= 0.6
		}
		r.add("meets_target", meets)
	} else if b.ingestOps > 0 {
		ratio := ops / b.ingestOps
		r.add("ingest_empty_ops_per_s", round(b.ingestOps, 1)).add("ratio_to_empty", round(ratio, 3)).
			add("target", ">= 0.8 x ingest on an empty log").add("meets_target", ratio >= 0.8)
	}
	return b.emit(r)
}

func (b *bencher) runLatency(ctx context.Context) error {
	rate := b.cfg.latencyRate
	if rate == 0 {
		rate = b.ingestOps / 2
	}
	b.logf("%s: open loop at %.1f notices/s for %v", scLatency, rate, b.cfg.duration)
	res := b.openLoop(ctx, rate, b.cfg.duration, nil)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := res.check(scLatency); err != nil {
		return err
	}
	lat := newLatencies(res.lat)
	r := newResult(scLatency, float64(len(res.lat))/res.elapsed.Seconds(), lat).
		add("offered_per_s", round(rate, 1)).add("notices", len(res.lat)).add("failed", res.failed)
	if res.firstErr != nil {
		r.add("first_error", errString(res.firstErr))
	}
	return b.emit(r.add("target", "p99 <= 100 ms").add("meets_target", lat.ms(0.99) <= 100 && res.failed == 0))
}

// runFill posts until cfg.notices notices are stored, with the closed-loop
// posters.
func (b *bencher) runFill(ctx context.Context) error {
	want := b.cfg.notices - b.posted
	if want <= 0 {
		b.logf("%s: %d notices already stored", scFill, b.posted)
		return b.emit(newResult(scFill, 0, latencies{}).add("notices", 0).add("failed", 0).add("stored_notices", b.posted))
	}
	b.logf("%s: posting %d notices with %d posters to reach %d stored", scFill, want, b.cfg.concurrency, b.cfg.notices)
	var slots atomic.Int64
	slots.Store(int64(want))
	var done atomic.Int64
	stopProgress := make(chan struct{})
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				b.logf("%s: %d of %d committed", scFill, done.Load(), want)
			}
		}
	}()
	cpu0 := sampleCPU(b.cpuPids())
	res := b.closedLoop(ctx, b.cfg.concurrency, 0, func() bool { return slots.Add(-1) >= 0 },
		func(uint64, time.Time, time.Time) { done.Add(1) })
	cpu1 := sampleCPU(b.cpuPids())
	close(stopProgress)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := res.check(scFill); err != nil {
		return err
	}
	r := newResult(scFill, float64(len(res.lat))/res.elapsed.Seconds(), newLatencies(res.lat)).
		add("notices", len(res.lat)).add("failed", res.failed).add("stored_notices", b.posted).
		add("seconds", round(res.elapsed.Seconds(), 1))
	r.addAll(cpuUse(cpu0, cpu1, res.committed))
	if res.firstErr != nil {
		r.add("first_error", errString(res.firstErr))
	}
	return b.emit(r)
}

func (b *bencher) runMemory() error {
	b.logf("%s: RssAnon of every node with %d notices stored", scMemory, b.posted)
	r := newResult(scMemory, 0, latencies{}).add("stored_notices", b.posted)
	var maxAnon int64
	for _, nd := range b.cluster.state.Nodes {
		anon, total, err := rssAnon(nd.PID)
		if err != nil {
			return err
		}
		maxAnon = max(maxAnon, anon)
		r.add(nd.ID+"_rss_anon_mib", round(float64(anon)/(1<<20), 1)).add(nd.ID+"_vm_rss_mib", round(float64(total)/(1<<20), 1))
	}
	mib := float64(maxAnon) / (1 << 20)
	return b.emit(r.add("rss_anon_mib_max", round(mib, 1)).add("target", "RssAnon <= 256 MiB at 100000 notices").add("meets_target", mib <= 256))
}

// cpuPids names the processes whose CPU time the closed-loop runs report:
// the nodes and this bench process (pid 0).
func (b *bencher) cpuPids() map[string]int {
	m := map[string]int{"bench": 0}
	for _, nd := range b.cluster.state.Nodes {
		m[nd.ID] = nd.PID
	}
	return m
}
