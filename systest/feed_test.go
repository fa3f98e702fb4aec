package systest

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/penhub/penhub/node/client"
)

// System tests of the live feeds (SPEC §4.2, docs/feeds.md) on a real
// `penhub dev` cluster: real websocket clients (raw gorilla/websocket dials
// with the Authorization header, node/client's Subscribe and the penhub
// subscribe binary) against the nodes' GET /v1/feed.

// TestFeed shares one 3-node cluster among its subtests, which run in
// order; the last one restarts NL's node.
func TestFeed(t *testing.T) {
	if testing.Short() {
		t.Skip("system test: starts real node processes")
	}
	c := startDev(t, 3)
	f := &feedEnv{c: c, de: c.client("DE", "focal_point")}
	f.nl = c.info.Nodes[c.homeOf("NL")]
	f.partner = c.token("NL", "partner", f.nl.ID)
	f.focal = c.token("NL", "focal_point", f.nl.ID)

	t.Run("refused subscriptions", f.testRefused)
	t.Run("partner receives within 1 s", f.testLatency)
	t.Run("H2 never reaches a partner", f.testH2)
	t.Run("types filter", f.testTypes)
	t.Run("resume after 100 missed entries", f.testResume)
	t.Run("slow consumer", f.testSlowConsumer)
	t.Run("penhub subscribe across a node restart", f.testSubscribeCommand)
}

// feedEnv is the cluster of TestFeed: DE (node1) posts, NL's tokens on NL's
// home node subscribe.
type feedEnv struct {
	c       *cluster
	de      *client.Client
	nl      nodeInfo
	partner string // NL partner token on NL's node
	focal   string // NL focal point token on NL's node
}

type nodeInfo = struct {
	ID          string   `json:"id"`
	API         string   `json:"api"`
	Raft        string   `json:"raft"`
	DataDir     string   `json:"data_dir"`
	Authorities []string `json:"authorities"`
	PID         int      `json:"pid"`
}

// feedPreExport returns a valid pre-export request from DE to NL with the
// given handling code; remarks of padding bytes make it bigger.
func feedPreExport(handling string, padding int) json.RawMessage {
	remarks := "feed test"
	if padding > 0 {
		remarks = strings.Repeat("r", padding)
	}
	req := map[string]any{
		"id": uuid.NewString(), "type": "pre_export", "recipients": []string{"NL"}, "handling": handling,
		"body": map[string]any{
			"exporter":             map[string]any{"name": "Chemiehandel Rhein GmbH", "address": "Industriestrasse 12, Koeln", "country": "DE"},
			"importer":             map[string]any{"name": "Van Dijk Farmaceutica B.V.", "address": "Havenweg 4, Rotterdam", "country": "NL"},
			"items":                []any{map[string]any{"substance": "Pseudoephedrine", "cas": "90-82-4", "hs_code": "2939.42", "quantity": 250, "unit": "kg"}},
			"export_authorization": "DE-AUTH-" + uuid.NewString()[:8],
			"transport":            map[string]any{"mode": "road", "route": []string{"DE", "NL"}, "departure_date": "2030-06-20"},
			"response_deadline":    "2030-06-15",
			"remarks":              remarks,
		},
	}
	raw, err := json.Marshal(req)
	if err != nil {
		panic(err)
	}
	return raw
}

// feedAlert returns an alert from DE to every authority.
func feedAlert() json.RawMessage {
	return alert(uuid.NewString(), "feed")
}

// post posts req as DE and fails the test on error.
func (f *feedEnv) post(t *testing.T, req json.RawMessage) *client.PostResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := f.de.PostNotice(ctx, req)
	if err != nil {
		t.Fatalf("DE posting: %v", err)
	}
	return res
}

// feedFrame is one feed message as a test client sees it.
type feedFrame struct {
	Index      int64           `json:"index"`
	ID         string          `json:"id"`
	Kind       string          `json:"kind"`
	Type       string          `json:"type"`
	NoticeID   string          `json:"notice_id"`
	Sender     string          `json:"sender"`
	Recipients []string        `json:"recipients"`
	Reference  string          `json:"reference"`
	CreatedAt  string          `json:"created_at"`
	Body       json.RawMessage `json:"body"`
	at         time.Time       // when the client read it
}

// wsSub is a raw websocket feed connection. Frames are read only after
// start (a connection that is never started reads nothing: a stalled
// client).
type wsSub struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan feedFrame
	// err is why reading ended; valid once done is closed.
	err     error
	done    chan struct{}
	started bool
}

// dialFeedWS opens GET /v1/feed on api with token. rcvbuf > 0 sets the
// socket's receive buffer before connecting (a stalled client then fills up
// sooner).
func dialFeedWS(t *testing.T, api, token string, q url.Values, rcvbuf int) (*wsSub, error) {
	t.Helper()
	u := "ws" + strings.TrimPrefix(api, "http") + "/v1/feed"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	if rcvbuf > 0 {
		d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
				var serr error
				if err := rc.Control(func(fd uintptr) {
					serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
				}); err != nil {
					return err
				}
				return serr
			}}
			return nd.DialContext(ctx, network, addr)
		}
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	ws, resp, err := d.Dial(u, h)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return nil, fmt.Errorf("dialing %s: %w (HTTP %d %s)", u, err, resp.StatusCode, truncate(body))
		}
		return nil, fmt.Errorf("dialing %s: %w", u, err)
	}
	s := &wsSub{t: t, ws: ws, frames: make(chan feedFrame, 1<<16), done: make(chan struct{})}
	t.Cleanup(func() { ws.Close() })
	return s, nil
}

// mustDialFeed is dialFeedWS that fails the test on error, started at once.
func mustDialFeed(t *testing.T, api, token string, q url.Values) *wsSub {
	t.Helper()
	s, err := dialFeedWS(t, api, token, q, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.start()
	return s
}

// start reads frames into s.frames in a goroutine until the connection fails.
func (s *wsSub) start() {
	if s.started {
		return
	}
	s.started = true
	go func() {
		// done closes before frames: a reader that sees frames closed
		// finds err set.
		defer close(s.frames)
		defer close(s.done)
		for {
			_, data, err := s.ws.ReadMessage()
			if err != nil {
				s.err = err
				return
			}
			var fr feedFrame
			if err := json.Unmarshal(data, &fr); err != nil {
				s.err = fmt.Errorf("frame %q is not a JSON object: %w", truncate(data), err)
				return
			}
			fr.at = time.Now()
			s.frames <- fr
		}
	}()
}

// next returns the next frame, or ok false when the connection ended or
// nothing came within wait.
func (s *wsSub) next(wait time.Duration) (feedFrame, bool) {
	select {
	case fr, ok := <-s.frames:
		return fr, ok
	case <-time.After(wait):
		return feedFrame{}, false
	}
}

// waitLive reads up to the first heartbeat (sent when replay ends) and
// returns the frames before it.
func (s *wsSub) waitLive(wait time.Duration) []feedFrame {
	s.t.Helper()
	var got []feedFrame
	deadline := time.Now().Add(wait)
	for {
		fr, ok := s.next(time.Until(deadline))
		if !ok {
			s.t.Fatalf("no heartbeat within %v (connection: %v)", wait, s.errNow())
		}
		if fr.Kind == client.KindHeartbeat {
			return got
		}
		got = append(got, fr)
	}
}

// until reads frames up to and including the one with entry id id and
// returns them (heartbeats left out).
func (s *wsSub) until(id string, wait time.Duration) []feedFrame {
	s.t.Helper()
	var got []feedFrame
	deadline := time.Now().Add(wait)
	for {
		fr, ok := s.next(time.Until(deadline))
		if !ok {
			s.t.Fatalf("entry %s not received within %v (connection: %v; got %d frames)", id, wait, s.errNow(), len(got))
		}
		if fr.Kind == client.KindHeartbeat {
			continue
		}
		got = append(got, fr)
		if fr.ID == id {
			return got
		}
	}
}

// errNow is the read error if the reader has stopped.
func (s *wsSub) errNow() error {
	select {
	case <-s.done:
		return s.err
	default:
		return errors.New("still open")
	}
}

// checkIncreasing fails unless the entries' indexes strictly increase (log
// order, no duplicate).
func checkIncreasing(t *testing.T, who string, frames []feedFrame) {
	t.Helper()
	last := int64(-1)
	for _, fr := range frames {
		if fr.Kind == client.KindHeartbeat {
			continue
		}
		if fr.Index <= last {
			t.Fatalf("%s: index %d after %d: not in log order or duplicated", who, fr.Index, last)
		}
		last = fr.Index
	}
}

// testRefused: the feed answers a plain HTTP error, never a websocket, to
// requests it refuses; node/client's Subscribe gives up on them at once.
func (f *feedEnv) testRefused(t *testing.T) {
	ws := "ws" + strings.TrimPrefix(f.nl.API, "http") + "/v1/feed"
	cases := []struct {
		name   string
		token  string
		query  string
		origin string
		status int
		code   string
	}{
		{"no token", "", "", "", 401, "unauthorized"},
		{"unknown token", "phk_nope", "", "", 401, "unauthorized"},
		{"auditor", f.c.token("NL", "auditor", f.nl.ID), "", "", 403, "forbidden"},
		{"admin (no authority)", f.c.token("", "admin", f.nl.ID), "", "", 403, "forbidden"},
		{"since not an index", f.partner, "?since=abc", "", 400, "bad_request"},
		{"since beyond 2^63", f.partner, "?since=9223372036854775808", "", 400, "bad_request"},
		{"65 types", f.partner, "?types=" + manyTypes(65), "", 400, "bad_request"},
		{"malformed type", f.partner, "?types=pre-export!", "", 400, "bad_request"},
		{"empty country", f.partner, "?countries=DE,,NL", "", 400, "bad_request"},
		{"foreign browser origin", f.partner, "", "http://evil.example", 403, ""},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.token != "" {
			h.Set("Authorization", "Bearer "+tc.token)
		}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		conn, resp, err := websocket.DefaultDialer.Dial(ws+tc.query, h)
		if err == nil {
			conn.Close()
			t.Errorf("%s: the feed accepted the websocket, want %d", tc.name, tc.status)
			continue
		}
		if resp == nil {
			t.Errorf("%s: %v, want an HTTP %d", tc.name, err, tc.status)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.code != "" && errorCode(body) != tc.code) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, resp.StatusCode, truncate(body), tc.status, tc.code)
		}
	}
	// Subscribe does not retry what retrying cannot fix.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := client.New(f.nl.API, f.c.token("NL", "auditor", f.nl.ID)).Subscribe(ctx, client.SubscribeOptions{}, func(client.FeedMessage) error { return nil })
	if !isAPIError(err, http.StatusForbidden, "forbidden") {
		t.Errorf("Subscribe with an auditor token: %v, want the 403 forbidden at once", err)
	}
}

// createdAtMatches reports whether the feed's RFC 3339 created_at is the
// post's creation time (to the millisecond the envelope keeps).
func createdAtMatches(s string, want time.Time) bool {
	got, err := time.Parse(time.RFC3339Nano, s)
	return err == nil && got.Truncate(time.Millisecond).Equal(want.Truncate(time.Millisecond))
}

// manyTypes returns n distinct well-formed type names, comma-separated.
func manyTypes(n int) string {
	var vs []string
	for i := range n {
		vs = append(vs, "t"+strconv.Itoa(i))
	}
	return strings.Join(vs, ",")
}

// testLatency: an NL partner subscribed before DE posts receives each
// pre_export within 1 s of the 201 (a functional deadline of issue 6).
func (f *feedEnv) testLatency(t *testing.T) {
	sub := mustDialFeed(t, f.nl.API, f.partner, nil)
	sub.waitLive(10 * time.Second)
	var worst time.Duration
	for i := range 5 {
		res := f.post(t, feedPreExport("H0", 0))
		acked := time.Now()
		frames := sub.until(res.ID, 10*time.Second)
		got := frames[len(frames)-1]
		lag := got.at.Sub(acked)
		worst = max(worst, lag)
		if lag >= time.Second {
			t.Errorf("post %d (index %d): partner received it %v after the 201, want < 1 s", i, res.Index, lag)
		}
		if got.Kind != "notice" || got.Type != "pre_export" || got.Sender != "DE" || uint64(got.Index) != res.Index ||
			got.Reference != res.Reference || !contains(got.Recipients, "NL") || !bytes.Contains(got.Body, []byte("Van Dijk")) ||
			!createdAtMatches(got.CreatedAt, res.CreatedAt) {
			t.Errorf("partner frame %+v does not match post %+v", got, res)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("partner on %s: worst delivery %v after the 201 on node1", f.nl.ID, worst)
}

// testH2: an H2 notice never reaches a partner, live or on replay, nor do the
// responses to it; the focal point of the same authority gets all of them.
func (f *feedEnv) testH2(t *testing.T) {
	partner := mustDialFeed(t, f.nl.API, f.partner, nil)
	focal := mustDialFeed(t, f.nl.API, f.focal, nil)
	partner.waitLive(10 * time.Second)
	focal.waitLive(10 * time.Second)

	h2 := f.post(t, feedPreExport("H2", 0))
	// NL's focal point acknowledges the H2 notice: the response is H2 too.
	nlFocal := client.New(f.nl.API, f.focal, client.WithRetryBudget(20*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var ack *client.ResponseResult
	waitFor(t, 10*time.Second, "NL's node to apply the H2 notice", func() bool {
		var err error
		ack, err = nlFocal.Respond(ctx, h2.ID, client.ResponseRequest{ID: uuid.NewString(), Decision: "acknowledged"})
		return err == nil
	})
	h0 := f.post(t, feedPreExport("H0", 0))

	fs := focal.until(h0.ID, 10*time.Second)
	checkIncreasing(t, "focal point", fs)
	var focalH2, focalAck bool
	for _, fr := range fs {
		focalH2 = focalH2 || fr.ID == h2.ID
		focalAck = focalAck || fr.ID == ack.ID && fr.NoticeID == h2.ID && fr.Type == "acknowledged"
	}
	if !focalH2 || !focalAck {
		t.Errorf("focal point: H2 notice received %v, its acknowledgement %v; want both", focalH2, focalAck)
	}

	// The partner's feed is alive (the later H0 notice arrives), and nothing
	// of the H2 notice came before it.
	ps := partner.until(h0.ID, 10*time.Second)
	checkIncreasing(t, "partner", ps)
	for _, fr := range ps {
		if fr.ID == h2.ID || fr.NoticeID == h2.ID {
			t.Errorf("partner received %s %s of the H2 notice (index %d)", fr.Kind, fr.Type, fr.Index)
		}
	}
	// Nor on replay.
	replay := mustDialFeed(t, f.nl.API, f.partner, url.Values{"since": {strconv.FormatUint(h2.Index, 10)}})
	rs := replay.until(h0.ID, 10*time.Second)
	checkIncreasing(t, "partner replay", rs)
	for _, fr := range rs {
		if fr.ID == h2.ID || fr.NoticeID == h2.ID {
			t.Errorf("partner replay from %d delivered %s %s of the H2 notice", h2.Index, fr.Kind, fr.Type)
		}
	}
	if rs[0].Index < int64(h2.Index) {
		t.Errorf("replay since=%d began at index %d", h2.Index, rs[0].Index)
	}
}

// testTypes: types=alert delivers alerts but not pre_exports.
func (f *feedEnv) testTypes(t *testing.T) {
	alerts := mustDialFeed(t, f.nl.API, f.partner, url.Values{"types": {"alert"}})
	all := mustDialFeed(t, f.nl.API, f.partner, nil)
	alerts.waitLive(10 * time.Second)
	all.waitLive(10 * time.Second)
	pe := f.post(t, feedPreExport("H0", 0))
	al := f.post(t, feedAlert())
	pe2 := f.post(t, feedPreExport("H0", 0))
	al2 := f.post(t, feedAlert())

	got := alerts.until(al2.ID, 10*time.Second)
	checkIncreasing(t, "types=alert", got)
	var ids []string
	for _, fr := range got {
		if fr.Type != "alert" {
			t.Errorf("types=alert delivered %s %s (index %d)", fr.Kind, fr.Type, fr.Index)
		}
		ids = append(ids, fr.ID)
	}
	if !slices.Equal(ids, []string{al.ID, al2.ID}) {
		t.Errorf("types=alert delivered %v, want the two alerts [%s %s]", ids, al.ID, al2.ID)
	}
	// The unfiltered subscriber of the same token saw all four.
	ids = nil
	for _, fr := range all.until(al2.ID, 10*time.Second) {
		ids = append(ids, fr.ID)
	}
	if want := []string{pe.ID, al.ID, pe2.ID, al2.ID}; !slices.Equal(ids, want) {
		t.Errorf("unfiltered subscriber got %v, want %v", ids, want)
	}
}

// postedEntry is one notice a test posted.
type postedEntry struct {
	id    string
	index uint64
	at    time.Time // when the 201 came
	took  time.Duration
}

// postMany posts n notices made by mk as DE from workers goroutines and
// returns them sorted by log index.
func (f *feedEnv) postMany(t *testing.T, n, workers int, mk func() json.RawMessage) []postedEntry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var (
		mu   sync.Mutex
		out  []postedEntry
		errs []error
		wg   sync.WaitGroup
	)
	jobs := make(chan json.RawMessage)
	for range workers {
		wg.Go(func() {
			for req := range jobs {
				start := time.Now()
				res, err := f.de.PostNotice(ctx, req)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					out = append(out, postedEntry{id: res.ID, index: res.Index, at: time.Now(), took: time.Since(start)})
				}
				mu.Unlock()
			}
		})
	}
	for range n {
		jobs <- mk()
	}
	close(jobs)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d posts failed, first: %v", len(errs), n, errs[0])
	}
	slices.SortFunc(out, func(a, b postedEntry) int { return cmp.Compare(a.index, b.index) })
	return out
}

// testResume: a client that misses 100 posts and reconnects with since
// gets exactly those 100, in order, then the posts made meanwhile, with
// posting going on during the reconnect (the replay→live cut-over).
func (f *feedEnv) testResume(t *testing.T) {
	sub := mustDialFeed(t, f.nl.API, f.partner, nil)
	sub.waitLive(10 * time.Second)
	p0 := f.post(t, feedPreExport("H0", 0))
	sub.until(p0.ID, 10*time.Second)
	_ = sub.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	sub.ws.Close()

	missed := f.postMany(t, 100, 4, func() json.RawMessage { return feedPreExport("H0", 0) })
	missedIDs := map[string]bool{}
	for _, p := range missed {
		missedIDs[p.id] = true
	}

	// Posts keep going while the client reconnects and switches from
	// replay to live.
	stop := make(chan struct{})
	var (
		mu   sync.Mutex
		more []postedEntry
	)
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var wg sync.WaitGroup
		var once sync.Once
		for range 3 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					res, err := f.de.PostNotice(ctx, feedPreExport("H0", 0))
					if err != nil {
						once.Do(func() { errc <- err })
						return
					}
					mu.Lock()
					more = append(more, postedEntry{id: res.ID, index: res.Index})
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errc)
	}()
	stopped := false
	stopPosting := func() {
		if !stopped {
			stopped = true
			close(stop)
		}
	}
	defer stopPosting()
	waitFor(t, 10*time.Second, "concurrent posts to start", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(more) >= 3
	})

	since := p0.Index + 1
	re := mustDialFeed(t, f.nl.API, f.partner, url.Values{"since": {strconv.FormatUint(since, 10)}})
	var got []feedFrame
	seen := map[string]bool{}
	deadline := time.Now().Add(2 * time.Minute)
	liveSeen := 0
	for liveSeen < 20 {
		fr, ok := re.next(time.Until(deadline))
		if !ok {
			t.Fatalf("resumed feed ended or stalled after %d frames: %v", len(got), re.errNow())
		}
		if fr.Kind == client.KindHeartbeat {
			continue
		}
		got = append(got, fr)
		if !missedIDs[fr.ID] && fr.Kind == "notice" && fr.Sender == "DE" {
			liveSeen++
		}
		seen[fr.ID] = true
	}
	stopPosting()
	if err := <-errc; err != nil {
		t.Fatalf("concurrent posting: %v", err)
	}
	// Every post made meanwhile arrives too.
	for _, p := range more {
		for !seen[p.id] {
			fr, ok := re.next(time.Until(deadline))
			if !ok {
				t.Fatalf("post %s (index %d) made during the reconnect never arrived: %v", p.id, p.index, re.errNow())
			}
			if fr.Kind != client.KindHeartbeat {
				got = append(got, fr)
				seen[fr.ID] = true
			}
		}
	}
	checkIncreasing(t, "resumed subscriber", got)
	if got[0].Index < int64(since) {
		t.Fatalf("resumed with since=%d, first entry has index %d", since, got[0].Index)
	}
	// The entries up to the last missed one are exactly the 100 missed.
	lastMissed := int64(missed[len(missed)-1].index)
	var replayed []string
	for _, fr := range got {
		if fr.Index > lastMissed {
			break
		}
		if fr.Kind == "notice" && !missedIDs[fr.ID] {
			t.Errorf("replay delivered notice %s (index %d) that is not one of the 100 missed", fr.ID, fr.Index)
			continue
		}
		if fr.Kind != "notice" {
			t.Logf("replay also delivered %s %s at index %d", fr.Kind, fr.Type, fr.Index)
			continue
		}
		replayed = append(replayed, fr.ID)
	}
	var want []string
	for _, p := range missed {
		want = append(want, p.id)
	}
	if !slices.Equal(replayed, want) {
		t.Fatalf("after reconnecting with since=%d: got %d missed entries, want exactly the 100 in log order", since, len(replayed))
	}
	// Then exactly the concurrent posts, in log order.
	slices.SortFunc(more, func(a, b postedEntry) int { return cmp.Compare(a.index, b.index) })
	var liveIDs, wantLive []string
	for _, fr := range got {
		if fr.Index > lastMissed && fr.Kind == "notice" {
			liveIDs = append(liveIDs, fr.ID)
		}
	}
	for _, p := range more {
		wantLive = append(wantLive, p.id)
	}
	if !slices.Equal(liveIDs, wantLive) {
		t.Fatalf("after the missed ones: got %d notices, want the %d posted during the reconnect in log order", len(liveIDs), len(wantLive))
	}
	t.Logf("resumed at since=%d: 100 missed entries, then %d posted during the reconnect; indexes %d..%d", since, len(more), got[0].Index, got[len(got)-1].Index)
}

// feedMetric reads a metric without labels from a node's /metrics.
func feedMetric(t *testing.T, api, name string) float64 {
	t.Helper()
	status, _, body := rawRequest(t, "GET", api+"/metrics", "", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d", status)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return v
		}
	}
	return 0
}

var feedSinceRE = regexp.MustCompile(`since=(\d+)`)

// testSlowConsumer: a client that stops reading is closed with 1008 and a
// resume point, while another subscriber receives every post at the usual
// pace and posting is not slowed.
func (f *feedEnv) testSlowConsumer(t *testing.T) {
	const padding = 24 << 10 // 24 KiB of remarks: the socket buffers fill after fewer posts
	mk := func() json.RawMessage { return feedPreExport("H0", padding) }

	// The other subscriber: node/client's Subscribe, which must never have
	// to reconnect.
	type recv struct {
		index int64
		id    string
		at    time.Time
	}
	var (
		mu         sync.Mutex
		fast       []recv
		reconnects []string
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := f.post(t, mk())
	subDone := make(chan error, 1)
	go func() {
		cl := client.New(f.nl.API, f.partner)
		since := first.Index
		subDone <- cl.Subscribe(ctx, client.SubscribeOptions{Since: &since, OnReconnect: func(err error, _ time.Duration) {
			mu.Lock()
			reconnects = append(reconnects, fmt.Sprint(err))
			mu.Unlock()
		}}, func(m client.FeedMessage) error {
			mu.Lock()
			fast = append(fast, recv{m.Index, m.ID, time.Now()})
			mu.Unlock()
			return nil
		})
	}()
	waitFor(t, 10*time.Second, "the other subscriber to start", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(fast) > 0
	})

	// Baseline: post latency and delivery lag with no stalled client.
	base := f.postMany(t, 40, 4, mk)

	// The stalled client: reads its first heartbeat, then nothing.
	slow, err := dialFeedWS(t, f.nl.API, f.partner, nil, 4096)
	if err != nil {
		t.Fatal(err)
	}
	_ = slow.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, data, err := slow.ws.ReadMessage(); err != nil || !bytes.Contains(data, []byte(`"heartbeat"`)) {
		t.Fatalf("stalled client's first frame: %s, %v; want a heartbeat", data, err)
	}
	_ = slow.ws.SetReadDeadline(time.Time{})
	slowBefore := feedMetric(t, f.nl.API, "penhub_feed_slow_consumer_disconnects_total")

	// Post in rounds until NL's node drops the stalled client (its 256-frame
	// queue and the socket buffers are full), then two rounds more.
	//
	// A write the client does not take within the node's WriteTimeout (10 s)
	// ends the connection without a close frame (nothing can overtake the
	// bytes already in the socket). So that a slow machine, where the 256
	// posts after the socket buffers fill take longer than that, still shows
	// the 1008, the stalled client takes 1.5 MiB of frames every 4 s (a
	// blocked socket writer wakes only once about a third of its send buffer
	// is free): it stays hundreds of entries behind, and the node's writer
	// never waits 10 s.
	var (
		during   []postedEntry
		slowGot  []feedFrame
		slowErr  error // set when a drain hit the end of the connection
		drains   int
		stallAt  = time.Now()
		kickedAt time.Duration
	)
	lastSeen := int64(first.Index)
	take := func(fr feedFrame) {
		if fr.Kind != client.KindHeartbeat {
			slowGot = append(slowGot, fr)
			lastSeen = fr.Index
		}
	}
	drain := func(bytes int) {
		drains++
		for bytes > 0 {
			_ = slow.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, data, err := slow.ws.ReadMessage()
			if err != nil {
				slowErr = err
				return
			}
			bytes -= len(data)
			var fr feedFrame
			if err := json.Unmarshal(data, &fr); err != nil {
				t.Fatalf("stalled client read %q: %v", truncate(data), err)
			}
			take(fr)
		}
		_ = slow.ws.SetReadDeadline(time.Time{})
	}
	lastDrain := time.Now()
	extra := 2
	for round := 0; extra > 0; round++ {
		if round == 100 {
			t.Fatalf("stalled client not dropped after %d posts", len(during))
		}
		during = append(during, f.postMany(t, 24, 4, mk)...)
		if feedMetric(t, f.nl.API, "penhub_feed_slow_consumer_disconnects_total") > slowBefore {
			if kickedAt == 0 {
				kickedAt = time.Since(stallAt)
			}
			extra--
		} else if time.Since(lastDrain) > 4*time.Second && slowErr == nil {
			drain(3 << 19)
			lastDrain = time.Now()
		}
	}
	if n := feedMetric(t, f.nl.API, "penhub_feed_slow_consumer_disconnects_total") - slowBefore; n != 1 {
		t.Errorf("%v slow-consumer disconnects, want 1 (only the stalled client)", n)
	}
	t.Logf("stalled client dropped %v after it stopped reading (%d posts, %d drains of 1.5 MiB)", kickedAt.Round(time.Millisecond), len(during), drains)

	// The stalled client reads again: a prefix of the stream, then 1008
	// with where to resume.
	if slowErr == nil {
		slow.start()
		for {
			fr, ok := slow.next(30 * time.Second)
			if !ok {
				break
			}
			take(fr)
		}
		slowErr = slow.errNow()
	}
	var ce *websocket.CloseError
	if !errors.As(slowErr, &ce) || ce.Code != websocket.ClosePolicyViolation {
		t.Fatalf("stalled client after %d frames: %v; want close 1008", len(slowGot), slowErr)
	}
	m := feedSinceRE.FindStringSubmatch(ce.Text)
	if !strings.Contains(ce.Text, "slow consumer") || m == nil || m[1] != strconv.FormatInt(lastSeen+1, 10) {
		t.Errorf("close reason %q: want a slow-consumer reason with since=%d", ce.Text, lastSeen+1)
	}
	checkIncreasing(t, "stalled client", slowGot)
	t.Logf("stalled client read %d frames, then 1008 %q after %d posts", len(slowGot), ce.Text, len(during))

	// Resuming at the close's since completes the stream.
	all := append(append([]postedEntry{}, base...), during...)
	last := all[0]
	for _, p := range all {
		if p.index > last.index {
			last = p
		}
	}
	if m != nil {
		resumed := mustDialFeed(t, f.nl.API, f.partner, url.Values{"since": {m[1]}})
		rs := resumed.until(last.id, time.Minute)
		checkIncreasing(t, "resumed stalled client", rs)
		have := map[string]bool{}
		for _, fr := range append(slowGot, rs...) {
			have[fr.ID] = true
		}
		for _, p := range during {
			if !have[p.id] {
				t.Errorf("stalled client + its resumption missed index %d", p.index)
			}
		}
	}

	// The other subscriber got every post, in order, without a reconnect.
	waitFor(t, 30*time.Second, "the other subscriber to receive every post", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(fast) > 0 && fast[len(fast)-1].index >= int64(last.index)
	})
	cancel()
	<-subDone
	mu.Lock()
	defer mu.Unlock()
	if len(reconnects) > 0 {
		t.Errorf("the other subscriber had to reconnect: %v", reconnects)
	}
	at := map[string]time.Time{}
	for i, r := range fast {
		if i > 0 && r.index <= fast[i-1].index {
			t.Fatalf("other subscriber: index %d after %d", r.index, fast[i-1].index)
		}
		at[r.id] = r.at
	}
	lags := func(ps []postedEntry) (post, lag []time.Duration) {
		for _, p := range ps {
			r, ok := at[p.id]
			if !ok {
				t.Errorf("other subscriber never received index %d", p.index)
				continue
			}
			post = append(post, p.took)
			lag = append(lag, r.Sub(p.at))
		}
		return post, lag
	}
	basePost, baseLag := lags(base)
	durPost, durLag := lags(during)
	t.Logf("post latency p50/max: baseline %v/%v, while a client stalls %v/%v", pct(basePost, 50), pct(basePost, 100), pct(durPost, 50), pct(durPost, 100))
	t.Logf("other subscriber lag after the 201 p50/max: baseline %v/%v, while a client stalls %v/%v", pct(baseLag, 50), pct(baseLag, 100), pct(durLag, 50), pct(durLag, 100))
	// Comparisons, not speed targets: a stalled client must not make
	// posting or the other subscriber markedly slower.
	if p := pct(durPost, 50); p > 3*pct(basePost, 50)+2*time.Second {
		t.Errorf("posting slowed down by the stalled client: p50 %v vs %v before", p, pct(basePost, 50))
	}
	if l := pct(durLag, 50); l > 3*pct(baseLag, 50)+2*time.Second {
		t.Errorf("the other subscriber slowed down by the stalled client: p50 lag %v vs %v before", l, pct(baseLag, 50))
	}
	if l := pct(durLag, 100); l > 5*time.Second {
		t.Errorf("the other subscriber received a post %v after its 201", l)
	}
}

// pct returns the p-th percentile of ds (100: the maximum).
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s) - 1) * p / 100
	return s[i]
}

// testSubscribeCommand: the real `penhub subscribe` prints one JSON object
// per line and never an entry twice while the node it follows is stopped
// (SIGTERM: the feed closes with 1001) and restarted with `penhub node`.
func (f *feedEnv) testSubscribeCommand(t *testing.T) {
	p0 := f.post(t, feedPreExport("H0", 0))
	cmd := exec.Command(penhubBin, "subscribe", "--since", strconv.FormatUint(p0.Index, 10))
	cmd.Env = append(os.Environ(), "PENHUB_NODE="+f.nl.API, "PENHUB_TOKEN="+f.partner)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting penhub subscribe: %v", err)
	}
	exited := false
	defer func() {
		if !exited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	lines := make(chan string, 1<<14)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	var printed []feedFrame
	seen := map[string]int{}
	// await reads printed lines until every id in ids has been printed.
	await := func(what string, ids []string, wait time.Duration) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for _, id := range ids {
			for seen[id] == 0 {
				var line string
				var ok bool
				select {
				case line, ok = <-lines:
				case <-time.After(time.Until(deadline)):
				}
				if !ok {
					t.Fatalf("penhub subscribe: %s: entry %s not printed within %v; stderr:\n%s", what, id, wait, stderr.String())
				}
				var fr feedFrame
				if err := json.Unmarshal([]byte(line), &fr); err != nil || !strings.HasPrefix(line, "{") {
					t.Fatalf("penhub subscribe printed %q: not one JSON object per line (%v)", truncate([]byte(line)), err)
				}
				if fr.Kind == client.KindHeartbeat {
					t.Fatalf("penhub subscribe printed a heartbeat without --heartbeats: %s", line)
				}
				printed = append(printed, fr)
				seen[fr.ID]++
			}
		}
	}
	ids := func(ps []postedEntry) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.id)
		}
		return out
	}
	mk := func() json.RawMessage { return feedPreExport("H0", 0) }

	await("replay from --since", []string{p0.ID}, 20*time.Second)
	before := f.postMany(t, 10, 2, mk)
	await("live before the restart", ids(before), 20*time.Second)

	// Stop NL's node (SIGTERM: the feed closes with 1001 and a resume
	// point; then SIGKILL: no close frame at all); post while it is down,
	// long enough for subscribe to fail reconnecting; restart it and post
	// while subscribe reconnects.
	i := f.c.homeOf("NL")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		var down, after []postedEntry
		feedRestartNode(t, f.c, i, sig, func() {
			start := time.Now()
			down = f.postMany(t, 10, 2, mk)
			time.Sleep(2*time.Second - time.Since(start))
		})
		after = f.postMany(t, 20, 2, mk)
		await(fmt.Sprintf("after the restart (%v)", sig), append(ids(down), ids(after)...), 2*time.Minute)
		tail := f.postMany(t, 5, 1, mk)
		await(fmt.Sprintf("live after the restart (%v)", sig), ids(tail), 30*time.Second)
	}

	// Interrupting it is a normal end.
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() {
		for range lines { // drain, so the process can exit
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		exited = true
		if err != nil {
			t.Errorf("penhub subscribe after SIGINT: %v (want exit 0); stderr:\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("penhub subscribe did not exit within 15 s of SIGINT")
	}

	checkIncreasing(t, "penhub subscribe", printed)
	for id, n := range seen {
		if n > 1 {
			t.Errorf("penhub subscribe printed entry %s %d times", id, n)
		}
	}
	if printed[0].ID != p0.ID {
		t.Errorf("penhub subscribe --since %d first printed index %d", p0.Index, printed[0].Index)
	}
	if !strings.Contains(stderr.String(), "1001") || !strings.Contains(stderr.String(), "connecting to feed") {
		t.Errorf("penhub subscribe did not report the 1001 close and failed reconnects while the node was down; stderr:\n%s", stderr.String())
	}
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if l != "" && !strings.HasPrefix(l, "penhub: ") {
			t.Errorf("stderr line %q: want the form \"penhub: ...\"", l)
		}
	}
	t.Logf("penhub subscribe printed %d entries (indexes %d..%d) across the restart of %s; stderr:\n%s",
		len(printed), printed[0].Index, printed[len(printed)-1].Index, f.nl.ID, stderr.String())
}

// feedRestartNode stops node i with sig, runs between while it is down,
// then restarts it with `penhub node --data-dir` (as an operator would) and
// waits until it is ready.
func feedRestartNode(t *testing.T, c *cluster, i int, sig syscall.Signal, between func()) {
	t.Helper()
	n := c.info.Nodes[i]
	if cmd, ok := c.extra[n.ID]; ok {
		_ = cmd.Process.Signal(sig)
		_ = cmd.Wait()
		delete(c.extra, n.ID)
	} else {
		if err := syscall.Kill(n.PID, sig); err != nil {
			t.Fatalf("stopping %s: %v", n.ID, err)
		}
		waitFor(t, 30*time.Second, n.ID+" stopping", func() bool { return syscall.Kill(n.PID, 0) != nil })
	}
	between()
	cmd := exec.Command(penhubBin, "node", "--data-dir", n.DataDir)
	logf, err := os.OpenFile(filepath.Join(n.DataDir, "node.log"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("restarting %s: %v", n.ID, err)
	}
	c.info.Nodes[i].PID = cmd.Process.Pid
	c.extra[n.ID] = cmd
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitFor(t, 2*time.Minute, n.ID+" ready after the restart", func() bool {
		ok, err := client.New(n.API, "").Ready(ctx)
		return err == nil && ok
	})
}

// syncBuffer is a bytes.Buffer safe for a writing process and a reading test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
