package feed

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Hub fans new log entries out to feed connections. Create it with [NewHub], start [Hub.Run]
// once in its own goroutine, and hand each authenticated websocket request to
// [Hub.ServeWS].
//
// The hub goroutine (Run) owns the subscriber registry and the position it has fanned out to;
// connections talk to it only through its request channel, and it talks to them only through
// their bounded send channels (never blocking) and their kicked channels.
type Hub struct {
	src      Source
	cfg      Config
	log      *slog.Logger
	upgrader websocket.Upgrader

	reqs    chan hubRequest // connections → Run: register, unregister
	done    chan struct{}   // closed when Run returns
	started atomic.Bool

	// processed is the hub's position: every index below it has been fanned out to every
	// client registered at the time. Written only by Run, after the sends for that index.
	processed atomic.Uint64

	// testHookRegistered, when a test sets it before serving, sees each connection's
	// frontier and start index at registration.
	testHookRegistered func(next, start uint64)
}

// client is a connection as the hub sees it.
type client struct {
	sub    Subscriber
	send   chan *frame   // hub → writer, capacity Config.Buffer; the hub never blocks on it
	kicked chan struct{} // closed by the hub when it drops the client
	why    kickReason    // set by the hub before closing kicked
}

type kickReason int

const (
	kickSlow      kickReason = iota + 1 // the send buffer was full
	kickViewError                       // Source.View failed for this client's authority
)

// frame is one live message, shared by every client of one authority.
type frame struct {
	index uint64
	pm    *websocket.PreparedMessage // read-only, shared
	seen  time.Time                  // when the hub first saw this index
}

type hubRequest struct {
	c     *client
	add   bool
	reply chan uint64 // add only: capacity 1, receives the client's start index
}

// NewHub returns a hub reading src. cfg is checked with [Config.Validate]; NewHub panics if it
// is invalid (call Validate first to get the error). A nil logger discards.
func NewHub(src Source, cfg Config, logger *slog.Logger) *Hub {
	if err := cfg.Validate(); err != nil {
		panic("feed: " + err.Error())
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{
		src: src,
		cfg: cfg,
		log: logger,
		upgrader: websocket.Upgrader{
			HandshakeTimeout: 10 * time.Second,
			ReadBufferSize:   1024,
			WriteBufferSize:  4096,
			WriteBufferPool:  &sync.Pool{},
			CheckOrigin:      cfg.CheckOrigin,
		},
		reqs: make(chan hubRequest),
		done: make(chan struct{}),
	}
}

// closedChan is always ready; Run selects on it when it has entries to fan out.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// mark says that the indexes below end were first seen by the hub at seen.
type mark struct {
	end  uint64
	seen time.Time
}

// Run is the hub's goroutine. It watches Source.Changed and, for each new index in order,
// calls Source.View once per authority that has subscribers, marshals the message once, and
// offers it to each interested subscriber without blocking: a subscriber whose buffer is full
// is dropped (its connection closes with 1008). Between two indexes it serves registrations.
// Run returns when ctx is done; open connections then close with 1001 and a resume point.
// Call it once.
func (h *Hub) Run(ctx context.Context) {
	if !h.started.CompareAndSwap(false, true) {
		panic("feed: Hub.Run called twice")
	}
	defer close(h.done)

	byAuth := make(map[string]map[*client]struct{}) // owned by this goroutine
	drop := func(c *client, why kickReason) {
		set := byAuth[c.sub.Authority]
		if _, ok := set[c]; !ok {
			return
		}
		delete(set, c)
		if len(set) == 0 {
			delete(byAuth, c.sub.Authority)
		}
		if why != 0 {
			c.why = why
			close(c.kicked)
		}
	}

	size, changed := h.src.Changed()
	next := size
	h.processed.Store(next)
	var marks []mark
	for {
		var work <-chan struct{}
		if next < size {
			work = closedChan
		}
		select {
		case <-ctx.Done():
			return
		case req := <-h.reqs:
			if req.add {
				set := byAuth[req.c.sub.Authority]
				if set == nil {
					set = make(map[*client]struct{})
					byAuth[req.c.sub.Authority] = set
				}
				set[req.c] = struct{}{}
				req.reply <- next
			} else {
				drop(req.c, 0)
			}
		case <-changed:
			n, ch := h.src.Changed()
			changed = ch
			if n > size {
				size = n
				marks = append(marks, mark{end: n, seen: time.Now()})
			}
		case <-work:
			if len(byAuth) == 0 {
				// Nobody to tell: skip ahead without reading anything.
				next, marks = size, marks[:0]
				h.processed.Store(next)
				continue
			}
			for marks[0].end <= next {
				marks = marks[1:]
			}
			if !h.fanOut(ctx, byAuth, next, marks[0].seen, drop) {
				return // stopping: next was not fully offered, so processed stays below it
			}
			next++
			h.processed.Store(next)
		}
	}
}

// fanOut delivers index to every registered client that may see it. It runs on Run's
// goroutine and returns false, with index not fully offered, when ctx is done.
func (h *Hub) fanOut(ctx context.Context, byAuth map[string]map[*client]struct{}, index uint64, seen time.Time, drop func(*client, kickReason)) bool {
	for auth, set := range byAuth {
		m, err := h.src.View(ctx, index, auth)
		if err != nil {
			if ctx.Err() != nil {
				return false // Run is stopping; connections close with 1001
			}
			h.cfg.Metrics.viewError()
			h.log.Warn("feed: reading entry failed; closing its authority's feeds", "index", index, "subscribers", len(set), "err", err)
			for c := range set {
				drop(c, kickViewError)
			}
			continue
		}
		if m == nil {
			continue
		}
		m.Index = index
		var f *frame
		for c := range set {
			if !c.sub.wants(m) {
				continue
			}
			if f == nil {
				data, err := json.Marshal(m)
				if err != nil {
					// Only a Body that is not valid JSON gets here: a Source bug.
					h.cfg.Metrics.viewError()
					h.log.Error("feed: encoding entry failed; closing its authority's feeds", "index", index, "err", err)
					for c := range set {
						drop(c, kickViewError)
					}
					break
				}
				pm, err := websocket.NewPreparedMessage(websocket.TextMessage, data)
				if err != nil {
					panic("feed: preparing a text frame: " + err.Error()) // no compression: cannot fail
				}
				f = &frame{index: index, pm: pm, seen: seen}
			}
			select {
			case c.send <- f:
			default:
				h.cfg.Metrics.slowConsumer()
				drop(c, kickSlow)
			}
		}
	}
	return true
}

// register adds c to the hub and returns its start index S: the hub offers c every index ≥ S
// and none below. It returns false when the hub has stopped or the client went away first.
func (h *Hub) register(c *client, gone <-chan struct{}) (uint64, bool) {
	reply := make(chan uint64, 1)
	select {
	case h.reqs <- hubRequest{c: c, add: true, reply: reply}:
		return <-reply, true // Run replies at once, in the same select case
	case <-h.done:
		return 0, false
	case <-gone:
		return 0, false
	}
}

// unregister removes c from the hub; it is a no-op if the hub already dropped c or stopped.
func (h *Hub) unregister(c *client) {
	select {
	case h.reqs <- hubRequest{c: c}:
	case <-h.done:
	}
}
