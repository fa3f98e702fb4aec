package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// benchFeedTokens are the (authority, role) pairs whose feeds carry every
// bench notice: the senders, the addressees and the secretariat's copy.
var benchFeedTokens = [][2]string{
	{"DE", "focal_point"}, {"DE", "partner"}, {benchCopyTo, "focal_point"}, {benchCopyTo, "partner"},
	{"NL", "focal_point"}, {"NL", "partner"}, {"IN", "focal_point"}, {"IN", "partner"},
}

// benchSub is one websocket subscriber. It records when each log index
// arrived and nothing else: the bench process shares the machine's cores with
// the nodes, so it reads only the frame's leading "index" field rather than
// decoding every 2 KiB body (a real subscriber's decoding cost is its own).
type benchSub struct {
	ws   *websocket.Conn
	node string

	mu  sync.Mutex // guards got and err, written by the read goroutine
	got []benchDelivery
	err error
}

func (s *benchSub) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

type benchDelivery struct {
	index uint64
	at    time.Time
}

var feedIndexPrefix = []byte(`{"index":`)

// read records frames until the connection closes.
func (s *benchSub) read() {
	buf := make([]byte, 40)
	for {
		_, r, err := s.ws.NextReader()
		if err != nil {
			s.setErr(err)
			return
		}
		at := time.Now()
		n, err := io.ReadFull(r, buf)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			s.setErr(err)
			return
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			s.setErr(err)
			return
		}
		rest, ok := bytes.CutPrefix(buf[:n], feedIndexPrefix)
		if !ok {
			continue // heartbeat
		}
		end := bytes.IndexByte(rest, ',')
		if end < 0 {
			continue
		}
		idx, err := strconv.ParseUint(string(rest[:end]), 10, 64)
		if err == nil {
			s.mu.Lock()
			s.got = append(s.got, benchDelivery{idx, at})
			s.mu.Unlock()
		}
	}
}

// dialSub opens the live feed (no since) of token on the node at api.
func dialSub(ctx context.Context, api, token string) (*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 16 << 10}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	ws, resp, err := d.DialContext(ctx, "ws"+strings.TrimPrefix(api, "http")+"/v1/feed", h)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
			return nil, fmt.Errorf("subscribing to %s: %s: %w", api, resp.Status, err)
		}
		return nil, fmt.Errorf("subscribing to %s: %w", api, err)
	}
	return ws, nil
}

// runFeed connects the subscribers (round robin over the nodes, and over
// the feed tokens each node hosts), then posts at feedRate for the
// configured duration and measures, per (notice, subscriber), the time from
// the 201 answer to the frame's arrival.
func (b *bencher) runFeed(ctx context.Context) error {
	type slot struct{ node, api, token string }
	byNode := map[string][]slot{}
	for _, ft := range benchFeedTokens {
		nd := b.cluster.home(ft[0])
		byNode[nd.ID] = append(byNode[nd.ID], slot{nd.ID, nd.API, b.cluster.token(ft[0], ft[1], nd.ID)})
	}
	var plan []slot
	for i := 0; len(plan) < b.cfg.subscribers; i++ {
		nd := b.cluster.state.Nodes[i%len(b.cluster.state.Nodes)]
		ss := byNode[nd.ID]
		plan = append(plan, ss[(i/len(b.cluster.state.Nodes))%len(ss)])
	}
	b.logf("%s: connecting %d websocket subscribers over %d nodes", scFeed, len(plan), len(byNode))
	subs := make([]*benchSub, len(plan))
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		dialErr error
	)
	sem := make(chan struct{}, 32)
	for i, s := range plan {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ws, err := dialSub(ctx, s.api, s.token)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if dialErr == nil {
					dialErr = err
				}
				return
			}
			subs[i] = &benchSub{ws: ws, node: s.node}
		}()
	}
	wg.Wait()
	var readers sync.WaitGroup
	defer func() {
		for _, s := range subs {
			if s != nil {
				s.ws.Close()
			}
		}
		readers.Wait()
	}()
	if dialErr != nil {
		return dialErr
	}
	for _, s := range subs {
		readers.Add(1)
		go func() { defer readers.Done(); s.read() }()
	}
	time.Sleep(500 * time.Millisecond) // let the server register every connection as live

	b.logf("%s: posting %.0f notices/s for %v", scFeed, b.cfg.feedRate, b.cfg.duration)
	var cmu sync.Mutex
	committed := map[uint64]time.Time{} // log index → 201 answer
	sentAt := map[uint64]time.Time{}    // log index → POST sent
	cpu0 := sampleCPU(b.cpuPids())
	res := b.openLoop(ctx, b.cfg.feedRate, b.cfg.duration, func(idx uint64, sent, answered time.Time) {
		cmu.Lock()
		committed[idx], sentAt[idx] = answered, sent
		cmu.Unlock()
	})
	cpu1 := sampleCPU(b.cpuPids())
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := res.check(scFeed); err != nil {
		return err
	}
	// Wait for stragglers: until every subscriber has every notice, at most 10 s.
	want := len(committed)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		complete := true
		for _, s := range subs {
			if n, err := s.countKnown(committed); n < want && err == nil {
				complete = false
				break
			}
		}
		if complete {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, s := range subs {
		s.ws.Close()
	}
	readers.Wait()

	var lat, fromPost []time.Duration
	early, dropped := 0, 0
	for _, s := range subs {
		seen := 0
		for _, d := range s.got {
			c, ok := committed[d.index]
			if !ok {
				continue
			}
			seen++
			fromPost = append(fromPost, d.at.Sub(sentAt[d.index]))
			l := d.at.Sub(c)
			if l < 0 {
				early++ // the frame beat the 201 answer to the bench
				l = 0
			}
			lat = append(lat, l)
		}
		if seen < want {
			dropped++
		}
	}
	expected := want * len(subs)
	sorted := newLatencies(lat)
	r := newResult(scFeed, float64(len(lat))/res.elapsed.Seconds(), sorted).
		add("subscribers", len(subs)).add("notices", want).add("notices_per_s", round(float64(want)/res.elapsed.Seconds(), 1)).
		add("deliveries", len(lat)).add("deliveries_expected", expected).add("subscribers_incomplete", dropped).
		add("delivered_before_201", early)
	// Commit happens between sending the POST and receiving its 201: p50_ms
	// and p99_ms (from the 201, clamped at 0) bound the commit-to-delivery
	// latency from below, from_post_* bound it from above.
	fp := newLatencies(fromPost)
	r.add("from_post_p50_ms", fp.ms(0.50)).add("from_post_p99_ms", fp.ms(0.99)).
		add("post_p99_ms", newLatencies(res.lat).ms(0.99)).add("post_failed", res.failed)
	r.addAll(cpuUse(cpu0, cpu1, res.committed)) // per notice, its fan-out included
	if res.firstErr != nil {
		r.add("first_error", errString(res.firstErr))
	}
	return b.emit(r.add("target", "p99 <= 100 ms from commit to delivery").add("meets_target", sorted.ms(0.99) <= 100 && len(lat) == expected))
}

// countKnown counts s's deliveries of committed indexes so far, and returns
// why its connection ended, if it did.
func (s *benchSub) countKnown(committed map[uint64]time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, d := range s.got {
		if _, ok := committed[d.index]; ok {
			n++
		}
	}
	return n, s.err
}
