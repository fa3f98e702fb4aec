package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// memSource is an in-memory Source: Append adds an entry readable by the given authorities
// and signals Changed. It counts View calls per (index, authority).
type memSource struct {
	mu      sync.Mutex
	msgs    []Message
	readers [][]string
	times   []time.Time // when each entry was appended
	changed chan struct{}
	views   map[viewKey]int
	delay   map[string]time.Duration // per-authority View delay
	failAt  map[uint64]bool          // View fails for these indexes
}

type viewKey struct {
	index     uint64
	authority string
}

var _ Source = (*memSource)(nil)

func newMemSource() *memSource {
	return &memSource{changed: make(chan struct{}), views: map[viewKey]int{}, delay: map[string]time.Duration{}, failAt: map[uint64]bool{}}
}

func (s *memSource) Changed() (uint64, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return uint64(len(s.msgs)), s.changed
}

// Append adds m, readable by readers, and returns its index.
func (s *memSource) Append(m Message, readers ...string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := uint64(len(s.msgs))
	m.Index = i
	s.msgs = append(s.msgs, m)
	s.readers = append(s.readers, readers)
	s.times = append(s.times, time.Now())
	close(s.changed)
	s.changed = make(chan struct{})
	return i
}

func (s *memSource) View(ctx context.Context, index uint64, authority string) (*Message, error) {
	s.mu.Lock()
	if index >= uint64(len(s.msgs)) {
		s.mu.Unlock()
		return nil, fmt.Errorf("viewing %d: beyond the log", index)
	}
	s.views[viewKey{index, authority}]++
	m, readers, d, fail := s.msgs[index], s.readers[index], s.delay[authority], s.failAt[index]
	s.mu.Unlock()
	if d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail {
		return nil, errors.New("disk on fire")
	}
	if !slices.Contains(readers, authority) {
		return nil, nil
	}
	m.Recipients = slices.Clone(m.Recipients)
	return &m, nil
}

func (s *memSource) viewCount(index uint64, authority string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.views[viewKey{index, authority}]
}

func (s *memSource) appendedAt(index uint64) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.times[index]
}

// notice returns a plain notice message of type typ with a small body.
func notice(typ, handling string) Message {
	return Message{ID: "id-" + typ, Kind: KindNotice, Type: typ, Sender: "DE", Recipients: []string{"NL"},
		CreatedAt: "2026-11-28T06:00:00Z", Handling: handling, Body: json.RawMessage(`{"title":"x"}`)}
}

// testFeed is a hub on an httptest server. GET /feed?as=NL[&partner=1][&since=N][&types=...]
// serves the feed of authority NL.
type testFeed struct {
	src     *memSource
	hub     *Hub
	metrics *Metrics
	url     string
	cancel  context.CancelFunc
}

func startFeed(t testing.TB, src *memSource, cfg Config) *testFeed {
	t.Helper()
	cfg.Metrics = NewMetrics(prometheus.NewRegistry())
	hub := NewHub(src, cfg, nil)
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { defer close(runDone); hub.Run(ctx) }()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f, err := ParseFilter(q)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var since *uint64
		if v := q.Get("since"); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			since = &n
		}
		hub.ServeWS(w, r, Subscriber{Authority: q.Get("as"), Partner: q.Get("partner") == "1", Filter: f}, since)
	}))
	t.Cleanup(func() {
		cancel()
		<-runDone
		srv.CloseClientConnections()
		srv.Close()
	})
	return &testFeed{src: src, hub: hub, metrics: cfg.Metrics, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/feed", cancel: cancel}
}

// wireMsg is a feed frame as a client decodes it.
type wireMsg struct {
	Index    int64           `json:"index"`
	ID       string          `json:"id"`
	Kind     string          `json:"kind"`
	Type     string          `json:"type"`
	Sender   string          `json:"sender"`
	Body     json.RawMessage `json:"body"`
	Handling *string         `json:"handling"`
}

type feedClient struct {
	t  testing.TB
	ws *websocket.Conn
}

// dial opens a feed; params are query parameters, e.g. "as=NL", "since=3".
func (tf *testFeed) dial(t testing.TB, params ...string) *feedClient {
	t.Helper()
	q := url.Values{}
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		q.Set(k, v)
	}
	ws, resp, err := websocket.DefaultDialer.Dial(tf.url+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatalf("dialing feed %v: %v", params, err)
	}
	resp.Body.Close()
	c := &feedClient{t: t, ws: ws}
	t.Cleanup(func() { ws.Close() })
	return c
}

// next reads one frame within 20 s.
func (c *feedClient) next() (wireMsg, error) {
	c.ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		return wireMsg{}, err
	}
	var m wireMsg
	if err := json.Unmarshal(data, &m); err != nil {
		return wireMsg{}, fmt.Errorf("decoding frame %q: %w", data, err)
	}
	return m, nil
}

func (c *feedClient) mustNext() wireMsg {
	c.t.Helper()
	m, err := c.next()
	if err != nil {
		c.t.Fatalf("reading feed: %v", err)
	}
	return m
}

// mustEntry reads frames up to the next entry, skipping heartbeats.
func (c *feedClient) mustEntry() wireMsg {
	c.t.Helper()
	for {
		m := c.mustNext()
		if m.Kind != KindHeartbeat {
			return m
		}
	}
}

// waitLive reads replayed entries until the heartbeat that marks the start of the live feed
// and returns the entries.
func (c *feedClient) waitLive() []wireMsg {
	c.t.Helper()
	var got []wireMsg
	for {
		m := c.mustNext()
		if m.Kind == KindHeartbeat {
			return got
		}
		got = append(got, m)
	}
}

// metricValue reads a counter or gauge.
func metricValue(t testing.TB, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatalf("reading metric: %v", err)
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	t.Fatalf("metric %v is neither counter nor gauge", c.Desc())
	return 0
}
