package feed

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestLiveDelivery(t *testing.T) {
	src := newMemSource()
	tf := startFeed(t, src, Config{})
	c := tf.dial(t, "as=NL")
	if got := c.waitLive(); len(got) != 0 {
		t.Fatalf("live-only feed replayed %d entries", len(got))
	}
	src.Append(notice("alert", "H0"), "NL")      // 0
	src.Append(notice("alert", "H0"), "DE")      // 1: not for NL
	src.Append(notice("pre_export", "H1"), "NL") // 2
	for _, want := range []int64{0, 2} {
		m := c.mustEntry()
		if m.Index != want || m.Kind != KindNotice || m.ID == "" || string(m.Body) != `{"title":"x"}` {
			t.Fatalf("got %+v, want notice at index %d", m, want)
		}
		if m.Handling != nil {
			t.Fatalf("handling leaked onto the wire: %+v", m)
		}
	}
	if got := metricValue(t, tf.metrics.subscribers); got != 1 {
		t.Errorf("subscribers gauge = %v, want 1", got)
	}
}

func TestPartnerNeverGetsH2(t *testing.T) {
	src := newMemSource()
	tf := startFeed(t, src, Config{})
	partner := tf.dial(t, "as=NL", "partner=1")
	focal := tf.dial(t, "as=NL")
	partner.waitLive()
	focal.waitLive()
	handlings := []string{"H0", "H2", "H1", "H2", "H3", "h2", "H0"}
	for _, h := range handlings {
		src.Append(notice("incident", h), "NL")
	}
	check := func(name string, c *feedClient, partner bool) {
		t.Helper()
		var got []int64
		for len(got) < 3 && !partner || partner && (len(got) == 0 || got[len(got)-1] != 6) {
			got = append(got, c.mustEntry().Index)
		}
		want := []int64{0, 2, 4, 6}
		if !partner {
			want = []int64{0, 1, 2, 3, 4, 5, 6}
			for len(got) < len(want) {
				got = append(got, c.mustEntry().Index)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s got indexes %v, want %v", name, got, want)
		}
	}
	check("live partner", partner, true)
	check("live focal point", focal, false)
	// Replay obeys the same rule. (Entries may come before or after the heartbeat that marks
	// the switch to live, depending on how far the hub had got.)
	replayed := tf.dial(t, "as=NL", "partner=1", "since=0")
	var got []int64
	for len(got) == 0 || got[len(got)-1] < 6 {
		got = append(got, replayed.mustEntry().Index)
	}
	if fmt.Sprint(got) != "[0 2 4 6]" {
		t.Errorf("replayed partner got %v, want [0 2 4 6]", got)
	}
}

func TestTypesFilter(t *testing.T) {
	src := newMemSource()
	tf := startFeed(t, src, Config{})
	c := tf.dial(t, "as=NL", "types=pre_export,directory,objection")
	c.waitLive()
	src.Append(notice("alert", "H0"), "NL")                                            // 0
	src.Append(notice("pre_export", "H0"), "NL")                                       // 1 ✓ type
	src.Append(Message{Kind: KindDirectory, Type: "authority_added"}, "NL")            // 2 ✓ kind
	src.Append(Message{Kind: KindResponse, Type: "acknowledged", NoticeID: "n"}, "NL") // 3
	src.Append(Message{Kind: KindResponse, Type: "objection", NoticeID: "n"}, "NL")    // 4 ✓ type
	src.Append(Message{Kind: KindReceipt}, "NL")                                       // 5
	src.Append(notice("pre_export", "H0"), "NL")                                       // 6 ✓
	var got []int64
	for len(got) < 4 {
		got = append(got, c.mustEntry().Index)
	}
	if fmt.Sprint(got) != "[1 2 4 6]" {
		t.Fatalf("got %v, want [1 2 4 6]", got)
	}
	// Substances and countries narrow further, on replay too.
	s := notice("incident", "H0")
	s.Substances, s.Countries, s.Category = []string{"Ephedrine", "299-42-3"}, []string{"NL", "BE"}, "seizure"
	src.Append(s, "NL") // 7
	r := tf.dial(t, "as=NL", "since=0", "substances=ephedrine", "countries=be", "categories=seizure").mustEntry()
	if r.Index != 7 {
		t.Fatalf("substance/country/category filter sent %+v first, want index 7", r)
	}
}

func TestViewOncePerAuthority(t *testing.T) {
	src := newMemSource()
	tf := startFeed(t, src, Config{})
	var clients []*feedClient
	for _, as := range []string{"NL", "NL", "NL", "DE", "DE"} {
		c := tf.dial(t, "as="+as, "partner="+strconv.Itoa(len(clients)%2))
		c.waitLive()
		clients = append(clients, c)
	}
	const n = 40
	for i := range n {
		readers := []string{"NL", "DE", "IN"}[:1+i%3]
		src.Append(notice("alert", "H0"), readers...)
	}
	for ci, c := range clients {
		as := []string{"NL", "NL", "NL", "DE", "DE"}[ci]
		want := int64(0)
		if as == "DE" {
			want = 1
		}
		for want < n {
			if m := c.mustEntry(); m.Index != want {
				t.Fatalf("client %d (%s) got index %d, want %d", ci, as, m.Index, want)
			}
			want++
			if as == "DE" && want%3 == 0 {
				want++ // every third entry is NL-only
			}
		}
	}
	for i := range uint64(n) {
		for _, as := range []string{"NL", "DE"} {
			if got := src.viewCount(i, as); got != 1 {
				t.Errorf("View(%d, %s) called %d times, want 1", i, as, got)
			}
		}
		if got := src.viewCount(i, "IN"); got != 0 {
			t.Errorf("View(%d, IN) called %d times with no IN subscriber", i, got)
		}
	}
}

// TestResumeUnderConcurrentWrites disconnects a client repeatedly while entries keep being
// appended, lets at least 100 entries pass each time, and checks that the resumed stream is
// exactly the missed entries followed by the live ones: no gap, no duplicate.
func TestResumeUnderConcurrentWrites(t *testing.T) {
	src := newMemSource()
	tf := startFeed(t, src, Config{Buffer: 64})
	stop := make(chan struct{})
	var appends sync.WaitGroup
	appends.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			src.Append(notice("alert", "H0"), "NL")
			time.Sleep(50 * time.Microsecond)
		}
	})

	c := tf.dial(t, "as=NL", "since=0")
	want := int64(0)
	// expect reads count entries, which must be want, want+1, ... A 1008 close (the
	// appender can outrun a client under the race detector) must name want as the resume
	// point; the client then resumes there, as a real client does.
	kicks := 0
	expect := func(cl *feedClient, count int) {
		t.Helper()
		for count > 0 {
			m, err := cl.next()
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code == websocket.ClosePolicyViolation {
				if sm := sinceRE.FindStringSubmatch(ce.Text); sm == nil || sm[1] != strconv.FormatInt(want, 10) {
					t.Fatalf("closed with %q, want since=%d", ce.Text, want)
				}
				kicks++
				cl = tf.dial(t, "as=NL", "since="+strconv.FormatInt(want, 10))
				c = cl
				continue
			}
			if err != nil {
				t.Fatalf("reading feed: %v", err)
			}
			if m.Kind == KindHeartbeat {
				continue
			}
			if m.Index != want {
				t.Fatalf("got index %d, want %d (gap or duplicate)", m.Index, want)
			}
			want++
			count--
		}
	}
	cycles := 12
	if testing.Short() {
		cycles = 3
	}
	for range cycles {
		expect(c, 50)
		c.ws.Close()
		for {
			size, _ := src.Changed()
			if size >= uint64(want)+100 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		c = tf.dial(t, "as=NL", "since="+strconv.FormatInt(want, 10))
		expect(c, 100) // exactly the missed ones, in order
	}
	close(stop)
	appends.Wait()
	size, _ := src.Changed()
	expect(c, int(size)-int(want))
	t.Logf("%d entries, %d slow-consumer closes resumed", size, kicks)
}

// TestCutoverWhileHubLags makes the hub lag behind the store (a slow authority's View) so that
// resuming connections replay past the hub's position, and checks both cut-over branches
// keep the stream exact.
func TestCutoverWhileHubLags(t *testing.T) {
	var behind, ahead atomic.Int64
	hook := func(next, start uint64) {
		if start < next {
			behind.Add(1)
		} else if start > next {
			ahead.Add(1)
		}
	}

	src := newMemSource()
	src.delay["SLOW"] = 300 * time.Microsecond
	tf := startFeed(t, src, Config{Buffer: 1 << 14})
	tf.hub.testHookRegistered = hook // before any connection
	tf.dial(t, "as=SLOW").waitLive() // makes the hub call a slow View for every entry

	const total = 3000
	stop := make(chan struct{})
	var appends sync.WaitGroup
	appends.Go(func() {
		for i := range total {
			src.Append(notice("alert", "H0"), "NL", "SLOW")
			if i%4 == 0 {
				time.Sleep(100 * time.Microsecond)
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	})
	defer func() { close(stop); appends.Wait() }()

	var clients sync.WaitGroup
	errs := make(chan error, 8)
	for k := range 4 {
		clients.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(k), 7))
			want := int64(0)
			for want < total {
				ws, _, err := websocket.DefaultDialer.Dial(tf.url+"?as=NL&since="+strconv.FormatInt(want, 10), nil)
				if err != nil {
					errs <- err
					return
				}
				c := &feedClient{t: t, ws: ws}
				for n := 1 + rng.IntN(400); n > 0 && want < total; {
					m, err := c.next()
					if err != nil {
						ws.Close()
						errs <- fmt.Errorf("client %d at %d: %w", k, want, err)
						return
					}
					if m.Kind == KindHeartbeat {
						continue
					}
					if m.Index != want {
						ws.Close()
						errs <- fmt.Errorf("client %d got index %d, want %d", k, m.Index, want)
						return
					}
					want++
					n--
				}
				ws.Close()
			}
		})
	}
	clients.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("registrations with the hub behind the replay: %d, ahead of it: %d", behind.Load(), ahead.Load())
	if behind.Load() == 0 {
		t.Log("note: the hub never lagged behind a replay in this run")
	}
}

var sinceRE = regexp.MustCompile(`reconnect with since=(\d+)$`)

// TestSlowConsumer stops reading on one client: it must be closed with 1008 and a resume
// point while the appender and another subscriber carry on unhindered.
func TestSlowConsumer(t *testing.T) {
	src := newMemSource()
	tf := startFeed(t, src, Config{Buffer: 16, WriteTimeout: time.Minute})
	slow := tf.dial(t, "as=NL")
	fast := tf.dial(t, "as=NL")
	slow.waitLive()
	fast.waitLive()

	// 1,000 entries of 16 KiB: far more than the socket buffers and 16 frames hold.
	big := notice("alert", "H0")
	big.Body = []byte(`{"pad":"` + string(make([]byte, 16<<10)) + `"}`)
	for i := range big.Body[8 : len(big.Body)-2] {
		big.Body[8+i] = 'a'
	}
	// The appender goes in steps of 8 entries (the fast subscriber's pace, within its buffer of
	// 16) until the slow subscriber, which reads nothing meanwhile, has been dropped (socket
	// buffers hold a few MiB first), then 10 steps more. Neither the appender nor the other
	// subscriber ever waits for the slow one.
	want := int64(0)
	extra := 10
	for step := 0; extra > 0; step++ {
		if step == 2000 {
			t.Fatal("slow subscriber not dropped after 16,000 entries")
		}
		for range 8 {
			src.Append(big, "NL") // never blocks on the feed
		}
		for range 8 {
			if m := fast.mustEntry(); m.Index != want {
				t.Fatalf("fast subscriber got %d, want %d", m.Index, want)
			}
			want++
		}
		if metricValue(t, tf.metrics.slow) > 0 {
			extra--
		}
	}
	total := want
	if n := metricValue(t, tf.metrics.slow); n != 1 {
		t.Fatalf("%v slow-consumer closes, want 1", n)
	}

	// Now the slow one reads: a prefix of the entries, then 1008 with where to resume.
	want = 0
	var closeErr *websocket.CloseError
	for {
		m, err := slow.next()
		if err != nil {
			if !errors.As(err, &closeErr) {
				t.Fatalf("slow subscriber: got %v, want a close frame", err)
			}
			break
		}
		if m.Kind == KindHeartbeat {
			continue
		}
		if m.Index != want {
			t.Fatalf("slow subscriber got %d, want %d", m.Index, want)
		}
		want++
	}
	if closeErr.Code != websocket.ClosePolicyViolation {
		t.Fatalf("close code %d (%q), want 1008", closeErr.Code, closeErr.Text)
	}
	sm := sinceRE.FindStringSubmatch(closeErr.Text)
	if sm == nil || sm[1] != strconv.FormatInt(want, 10) {
		t.Fatalf("close reason %q, want it to say since=%d", closeErr.Text, want)
	}
	t.Logf("slow subscriber read %d entries before %q", want, closeErr.Text)
	// Resuming from there completes the stream.
	r := tf.dial(t, "as=NL", "since="+sm[1])
	for ; want < total; want++ {
		if m := r.mustEntry(); m.Index != want {
			t.Fatalf("resumed subscriber got %d, want %d", m.Index, want)
		}
	}
}

func TestHeartbeatCarriesResumePoint(t *testing.T) {
	src := newMemSource()
	tf := startFeed(t, src, Config{Heartbeat: 20 * time.Millisecond})
	c := tf.dial(t, "as=NL", "types=alert")
	c.waitLive()
	for range 5 {
		src.Append(notice("pre_export", "H0"), "NL") // filtered out
	}
	src.Append(notice("pre_export", "H0"), "DE") // not readable
	for {
		m := c.mustNext()
		if m.Kind != KindHeartbeat {
			t.Fatalf("got entry %+v through a types=alert filter", m)
		}
		if m.Index == 5 {
			break
		}
		if m.Index > 5 {
			t.Fatalf("heartbeat index %d beyond the log", m.Index)
		}
	}
	// An empty log gives -1.
	empty := startFeed(t, newMemSource(), Config{})
	if m := empty.dial(t, "as=NL").mustNext(); m.Kind != KindHeartbeat || m.Index != -1 {
		t.Fatalf("first frame on an empty log: %+v, want heartbeat -1", m)
	}
}

func TestShutdownAndViewErrorCloseWithResumePoint(t *testing.T) {
	src := newMemSource()
	tf := startFeed(t, src, Config{})
	c := tf.dial(t, "as=NL")
	c.waitLive()
	src.Append(notice("alert", "H0"), "NL")
	src.mu.Lock()
	src.failAt[1] = true
	src.mu.Unlock()
	src.Append(notice("alert", "H0"), "NL")
	// Entry 0 may or may not be written before the hub hits the error on entry 1 and drops
	// the client; the resume point says which.
	want := int64(0)
	var err error
	for {
		var m wireMsg
		if m, err = c.next(); err != nil {
			break
		}
		if m.Kind == KindHeartbeat {
			continue
		}
		if m.Index != want || want > 0 {
			t.Fatalf("got %+v, want only entry 0 before the close", m)
		}
		want++
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseInternalServerErr || ce.Text != fmt.Sprintf("feed error; reconnect with since=%d", want) {
		t.Fatalf("after a View error got %v, want 1011 with since=%d", err, want)
	}
	src.mu.Lock()
	delete(src.failAt, 1)
	src.mu.Unlock()
	d := tf.dial(t, "as=NL", "since=1")
	if m := d.mustEntry(); m.Index != 1 {
		t.Fatalf("resume after the error sent %+v first, want index 1", m)
	}
	tf.cancel()
	for m, err2 := d.next(); ; m, err2 = d.next() {
		if err2 != nil {
			err = err2
			break
		}
		if m.Kind != KindHeartbeat {
			t.Fatalf("got %+v after the last entry", m)
		}
	}
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway || ce.Text != "server shutting down; reconnect with since=2" {
		t.Fatalf("on shutdown got %v, want 1001 with since=2", err)
	}
}

// TestSinceBeyondLog covers a client that moved to a node whose log is shorter than its
// resume point: it gets nothing until the log reaches since.
func TestSinceBeyondLog(t *testing.T) {
	src := newMemSource()
	tf := startFeed(t, src, Config{})
	c := tf.dial(t, "as=NL", "since=5")
	if m := c.mustNext(); m.Kind != KindHeartbeat || m.Index != 4 {
		t.Fatalf("first frame %+v, want heartbeat 4", m)
	}
	for range 7 {
		src.Append(notice("alert", "H0"), "NL")
	}
	for _, want := range []int64{5, 6} {
		if m := c.mustEntry(); m.Index != want {
			t.Fatalf("got %d, want %d", m.Index, want)
		}
	}
}

// TestHeartbeatResumeUnderConcurrentWrites resumes a filtered client from the heartbeat index
// (not only from the last entry) while entries keep coming: the wanted entries must arrive
// exactly once, in order.
func TestHeartbeatResumeUnderConcurrentWrites(t *testing.T) {
	src := newMemSource()
	tf := startFeed(t, src, Config{Heartbeat: 10 * time.Millisecond, Buffer: 1 << 12})
	var mu sync.Mutex
	var alerts []int64 // indexes of the wanted entries
	stop := make(chan struct{})
	var appends sync.WaitGroup
	appends.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			typ := "pre_export"
			if i%25 == 0 {
				typ = "alert"
			}
			mu.Lock()
			if idx := src.Append(notice(typ, "H0"), "NL"); typ == "alert" {
				alerts = append(alerts, int64(idx))
			}
			mu.Unlock()
			time.Sleep(200 * time.Microsecond)
		}
	})

	var got []int64
	last := int64(-1) // max(last entry, last heartbeat)
	heartbeatResumes := 0
	cycles := 10
	if testing.Short() {
		cycles = 3
	}
	for cycle := 0; cycle <= cycles; cycle++ {
		if cycle == cycles {
			close(stop)
			appends.Wait()
		}
		c := tf.dial(t, "as=NL", "types=alert", "since="+strconv.FormatInt(last+1, 10))
		size, _ := src.Changed()
		for frames := 0; ; frames++ {
			m := c.mustNext()
			if m.Kind != KindHeartbeat {
				if m.Kind != KindNotice || m.Type != "alert" {
					t.Fatalf("got %+v through types=alert", m)
				}
				got = append(got, m.Index)
			} else if m.Index > last && frames > 0 {
				heartbeatResumes++
			}
			if m.Index <= last && m.Kind != KindHeartbeat {
				t.Fatalf("entry %d after resuming at %d", m.Index, last+1)
			}
			last = max(last, m.Index)
			// Leave once past the size seen at connect time, by an entry or a heartbeat.
			if cycle < cycles && m.Index >= int64(size)-1 && frames > 0 {
				break
			}
			if cycle == cycles && m.Index == int64(size)-1 {
				break
			}
		}
		c.ws.Close()
		for cycle < cycles { // stay away for 200 entries
			if n, _ := src.Changed(); n >= size+200 {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(alerts) {
		t.Fatalf("got alerts\n%v\nwant\n%v", got, alerts)
	}
	t.Logf("%d alerts exactly once over %d connections; %d heartbeats advanced the resume point", len(got), cycles+1, heartbeatResumes)
}

func TestCheckOrigin(t *testing.T) {
	tf := startFeed(t, newMemSource(), Config{CheckOrigin: func(r *http.Request) bool {
		return r.Header.Get("Origin") == "https://console.example"
	}})
	h := http.Header{"Origin": {"https://evil.example"}}
	if ws, resp, err := websocket.DefaultDialer.Dial(tf.url+"?as=NL", h); err == nil {
		ws.Close()
		t.Fatal("foreign Origin accepted")
	} else if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign Origin: %v, %v; want 403", resp, err)
	}
	h.Set("Origin", "https://console.example")
	ws, _, err := websocket.DefaultDialer.Dial(tf.url+"?as=NL", h)
	if err != nil {
		t.Fatalf("console Origin refused: %v", err)
	}
	ws.Close()
}
