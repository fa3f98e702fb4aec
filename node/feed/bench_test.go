package feed

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// BenchmarkFanout measures append→delivery latency with 1,000 websocket subscribers (10
// authorities × 100, every entry readable by all) at 50 appends/s, each entry carrying a
// 2 KiB body. One op is one append; latency runs from Append returning in the source to the
// client having read the frame, over real loopback websockets, so client and server share
// the machine (cpu_us/delivery counts both sides). FEED_BENCH_SUBS and FEED_BENCH_RATE override the defaults.
//
//	go test -run '^$' -bench Fanout -benchtime 500x ./node/feed
func BenchmarkFanout(b *testing.B) {
	subs := envInt(b, "FEED_BENCH_SUBS", 1000)
	rate := envInt(b, "FEED_BENCH_RATE", 50)
	const authorities = 10

	src := newMemSource()
	tf := startFeed(b, src, Config{})
	readers := make([]string, authorities)
	for i := range readers {
		readers[i] = fmt.Sprintf("A%d", i)
	}
	body := []byte(`{"summary":"` + strings.Repeat("x", 2048) + `"}`)

	// Connect every subscriber and wait until each is live.
	conns := make([]*websocket.Conn, subs)
	var dialWG sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range conns {
		dialWG.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c := tf.dial(b, "as="+readers[i%authorities])
			c.waitLive()
			conns[i] = c.ws
		})
	}
	dialWG.Wait()

	n := uint64(b.N)
	lat := make([][]time.Duration, subs)
	var readWG sync.WaitGroup
	for i, ws := range conns {
		readWG.Go(func() {
			var buf bytes.Buffer
			for {
				ws.SetReadDeadline(time.Now().Add(30 * time.Second))
				_, r, err := ws.NextReader()
				if err == nil {
					buf.Reset()
					_, err = buf.ReadFrom(r)
				}
				if err != nil {
					b.Errorf("subscriber %d: %v", i, err)
					return
				}
				now := time.Now()
				idx, ok := frameIndex(buf.Bytes())
				if !ok {
					continue // heartbeat
				}
				lat[i] = append(lat[i], now.Sub(src.appendedAt(idx)))
				if idx == n-1 {
					return
				}
			}
		})
	}

	b.ResetTimer()
	cpu0 := processCPU()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	for range n {
		<-tick.C
		src.Append(Message{ID: "n", Kind: KindNotice, Type: "alert", Sender: "A0", Recipients: readers, Body: body}, readers...)
	}
	tick.Stop()
	readWG.Wait()
	b.StopTimer()
	cpu := processCPU() - cpu0

	var all []time.Duration
	for i, l := range lat {
		if uint64(len(l)) != n {
			b.Fatalf("subscriber %d got %d of %d entries", i, len(l), n)
		}
		all = append(all, l...)
	}
	slices.Sort(all)
	q := func(p float64) float64 {
		return float64(all[int(p*float64(len(all)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.50), "p50_ms")
	b.ReportMetric(q(0.99), "p99_ms")
	b.ReportMetric(q(1), "max_ms")
	b.ReportMetric(float64(len(all))/float64(n), "deliveries/op")
	b.ReportMetric(metricValue(b, tf.metrics.slow), "slow_closes")
	// CPU of the whole process (hub, writers and the in-process clients) per delivered frame:
	// what the host must provide, whatever else runs on it.
	b.ReportMetric(float64(cpu)/float64(time.Microsecond)/float64(len(all)), "cpu_us/delivery")
}

// frameIndex reads the index of an entry frame, which starts with {"index":N (Message's first
// field); heartbeats start with {"kind".
func frameIndex(data []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(data, []byte(`{"index":`))
	if !ok {
		return 0, false
	}
	end := bytes.IndexByte(rest, ',')
	if end < 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(rest[:end]), 10, 64)
	return n, err == nil
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
