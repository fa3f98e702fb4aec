package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

// Cut-over tuning (see docs/feeds.md).
const (
	// catchUpSlack: a resuming connection registers with the hub once it has replayed to
	// within this many entries of the store's size, so the final replay after registering is
	// short and its live buffer cannot fill meanwhile.
	catchUpSlack = 32
	// maxCatchUpRounds bounds the replay-before-registering loop when writes outpace it.
	maxCatchUpRounds = 8
	// closeGrace is how long the writer waits for the client's reply to a close frame.
	closeGrace = time.Second
	// readLimit is the largest frame a client may send (it should send none but control frames).
	readLimit = 4096
)

// ServeWS upgrades r to a websocket and serves sub's feed on it until the client goes away,
// falls too far behind, or the hub stops; it returns when the connection is closed. The node
// authenticates the request first and parses since (nil: only entries appended from now on;
// N: every entry with log index ≥ N, replayed from the store, then live, with no gap and no
// duplicate; since is clamped to 2^63−1). If the upgrade fails, the upgrader has already answered with an HTTP error.
//
// The calling goroutine is the connection's only writer; ServeWS starts one reader goroutine
// that handles control frames and waits for it before returning.
func (h *Hub) ServeWS(w http.ResponseWriter, r *http.Request, sub Subscriber, since *uint64) {
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		h.log.Debug("feed: websocket upgrade failed", "err", err)
		return
	}
	h.cfg.Metrics.addSubscriber(1)
	defer h.cfg.Metrics.addSubscriber(-1)

	// Replay reads run under ctx; it ends with the connection, not with the HTTP request
	// (a hijacked request's context says nothing about the connection).
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	c := &conn{
		hub: h,
		ws:  ws,
		cl: &client{
			sub:    sub,
			send:   make(chan *frame, h.cfg.Buffer),
			kicked: make(chan struct{}),
		},
		gone: make(chan struct{}),
	}
	go c.read(cancel)
	st := c.serve(ctx, since)
	c.finish(st)
}

// conn is one feed connection. All fields but gone are owned by the writer (ServeWS's
// goroutine).
type conn struct {
	hub  *Hub
	ws   *websocket.Conn
	cl   *client
	gone chan struct{} // closed by the reader when the connection is unusable

	// next is the writer's frontier: every entry below next that the subscriber wants has
	// been written, and nothing at or above next has been.
	next       uint64
	registered bool
	ping       *time.Ticker
}

// stop says how a connection ends: code 0 drops it without a close frame.
type stop struct {
	code   int
	reason string
}

var stopSilent = &stop{}

// serve runs the writer: replay, register, final replay, live. It returns why it stopped.
func (c *conn) serve(ctx context.Context, since *uint64) *stop {
	c.ping = time.NewTicker(c.hub.cfg.pingPeriod())
	defer c.ping.Stop()

	// 1. Catch up from the store before registering, so that the gap left after
	// registering is small.
	if since != nil {
		c.next = min(*since, math.MaxInt64) // heartbeat indexes are int64
		for range maxCatchUpRounds {
			size, _ := c.hub.src.Changed()
			if size <= c.next || size-c.next <= catchUpSlack {
				break
			}
			if st := c.replay(ctx, size); st != nil {
				return st
			}
		}
	}

	// 2. Register: from now on the hub queues every index ≥ start for us.
	start, ok := c.hub.register(c.cl, c.gone)
	if !ok {
		return c.endState()
	}
	c.registered = true
	if h := c.hub.testHookRegistered; h != nil {
		h(c.next, start)
	}

	// 3. Close the gap [next, start) from the store. If start < next (the hub lags behind
	// the store we replayed), the live loop drops the queued frames below next instead.
	if since == nil {
		c.next = start
	} else if c.next < start {
		if st := c.replay(ctx, start); st != nil {
			return st
		}
	}

	// 4. Live.
	return c.live()
}

// replay writes the wanted entries in [c.next, end) read from the store, advancing c.next.
func (c *conn) replay(ctx context.Context, end uint64) *stop {
	for c.next < end {
		select {
		case <-c.gone:
			return stopSilent
		case <-c.cl.kicked:
			return c.kickStop()
		case <-c.hub.done:
			return c.shutdownStop()
		case <-c.ping.C:
			if err := c.writePing(); err != nil {
				return stopSilent
			}
		default:
		}
		m, err := c.hub.src.View(ctx, c.next, c.cl.sub.Authority)
		if err != nil {
			if ctx.Err() != nil {
				return stopSilent
			}
			c.hub.cfg.Metrics.viewError()
			c.hub.log.Warn("feed: reading entry for replay failed", "index", c.next, "err", err)
			return c.viewErrorStop()
		}
		if m != nil && c.cl.sub.wants(m) {
			m.Index = c.next
			data, err := json.Marshal(m)
			if err != nil {
				c.hub.cfg.Metrics.viewError()
				c.hub.log.Error("feed: encoding entry for replay failed", "index", c.next, "err", err)
				return c.viewErrorStop()
			}
			if err := c.writeData(data); err != nil {
				return stopSilent
			}
			c.hub.cfg.Metrics.sentFrame(phaseReplay)
		}
		c.next++
	}
	return nil
}

// live writes queued frames, heartbeats and pings until the connection ends.
func (c *conn) live() *stop {
	cfg := &c.hub.cfg
	// A heartbeat right away tells the client the replay is over and the feed is live.
	if err := c.writeHeartbeat(c.next); err != nil {
		return stopSilent
	}
	hb := time.NewTimer(cfg.Heartbeat)
	defer hb.Stop()
	for {
		// A dropped client stops at once, even with frames still queued: they are resent
		// after it resumes with since.
		select {
		case <-c.cl.kicked:
			return c.kickStop()
		default:
		}
		select {
		case <-c.cl.kicked:
			return c.kickStop()
		case f := <-c.cl.send:
			if err := c.writeFrame(f); err != nil {
				return stopSilent
			}
			hb.Reset(cfg.Heartbeat)
		case <-hb.C:
			// Load the hub's position before looking at the queue: every frame for an index
			// below d is queued by then (or the client was dropped), so an empty queue means
			// every index below d is settled for this client.
			d := c.hub.processed.Load()
			select {
			case <-c.cl.kicked:
				return c.kickStop()
			default:
			}
			select {
			case f := <-c.cl.send:
				if err := c.writeFrame(f); err != nil {
					return stopSilent
				}
			default:
				if err := c.writeHeartbeat(max(c.next, d)); err != nil {
					return stopSilent
				}
			}
			hb.Reset(cfg.Heartbeat)
		case <-c.ping.C:
			if err := c.writePing(); err != nil {
				return stopSilent
			}
		case <-c.gone:
			return stopSilent
		case <-c.hub.done:
			return c.shutdownStop()
		}
	}
}

// writeFrame writes a live frame unless replay already covered its index.
func (c *conn) writeFrame(f *frame) error {
	if f.index < c.next {
		return nil // the replay already sent (or skipped) this index
	}
	c.ws.SetWriteDeadline(time.Now().Add(c.hub.cfg.WriteTimeout))
	if err := c.ws.WritePreparedMessage(f.pm); err != nil {
		return fmt.Errorf("writing frame %d: %w", f.index, err)
	}
	c.next = f.index + 1
	c.hub.cfg.Metrics.sentFrame(phaseLive)
	c.hub.cfg.Metrics.delivered(f.seen)
	return nil
}

func (c *conn) writeData(data []byte) error {
	c.ws.SetWriteDeadline(time.Now().Add(c.hub.cfg.WriteTimeout))
	if err := c.ws.WriteMessage(websocket.TextMessage, data); err != nil {
		return fmt.Errorf("writing replay frame: %w", err)
	}
	return nil
}

// writeHeartbeat writes {"kind":"heartbeat","index":frontier-1}: every wanted entry below
// frontier has been sent, so the client may resume with since=index+1.
func (c *conn) writeHeartbeat(frontier uint64) error {
	data := make([]byte, 0, 48)
	data = append(data, `{"kind":"heartbeat","index":`...)
	data = strconv.AppendInt(data, int64(frontier)-1, 10)
	data = append(data, '}')
	if err := c.writeData(data); err != nil {
		return err
	}
	c.hub.cfg.Metrics.sentFrame(phaseHeartbeat)
	return nil
}

func (c *conn) writePing() error {
	if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.hub.cfg.WriteTimeout)); err != nil {
		return fmt.Errorf("writing ping: %w", err)
	}
	return nil
}

// endState says why registration failed: the client left or the hub stopped.
func (c *conn) endState() *stop {
	select {
	case <-c.hub.done:
		return c.shutdownStop()
	default:
		return stopSilent
	}
}

func (c *conn) kickStop() *stop {
	if c.cl.why == kickViewError {
		return c.viewErrorStop()
	}
	return &stop{websocket.ClosePolicyViolation, fmt.Sprintf(
		"slow consumer: more than %d messages behind; reconnect with since=%d", c.hub.cfg.Buffer, c.next)}
}

func (c *conn) viewErrorStop() *stop {
	return &stop{websocket.CloseInternalServerErr, fmt.Sprintf("feed error; reconnect with since=%d", c.next)}
}

func (c *conn) shutdownStop() *stop {
	return &stop{websocket.CloseGoingAway, fmt.Sprintf("server shutting down; reconnect with since=%d", c.next)}
}

// finish unregisters, sends the close frame when there is one, and closes the connection,
// then waits for the reader.
func (c *conn) finish(st *stop) {
	if c.registered {
		c.hub.unregister(c.cl)
	}
	if st != nil && st.code != 0 {
		msg := websocket.FormatCloseMessage(st.code, st.reason)
		err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.hub.cfg.WriteTimeout))
		if err == nil {
			// Give the client a moment to answer the close, so the TCP close is clean.
			t := time.NewTimer(min(closeGrace, c.hub.cfg.WriteTimeout))
			select {
			case <-c.gone:
			case <-t.C:
			}
			t.Stop()
		} else if !errors.Is(err, websocket.ErrCloseSent) {
			c.hub.log.Debug("feed: writing close frame failed", "err", err)
		}
	}
	c.ws.Close()
	<-c.gone
}

// read is the connection's reader goroutine: it only keeps the read deadline moving on pongs
// (and any other frame) and lets gorilla/websocket answer pings and close frames. Data frames
// are discarded. It closes gone and cancels the connection's context when reading fails.
func (c *conn) read(cancel context.CancelFunc) {
	defer close(c.gone)
	defer cancel()
	wait := c.hub.cfg.PongWait
	c.ws.SetReadLimit(readLimit)
	c.ws.SetReadDeadline(time.Now().Add(wait))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(wait))
	})
	for {
		if _, _, err := c.ws.NextReader(); err != nil {
			return
		}
		c.ws.SetReadDeadline(time.Now().Add(wait))
	}
}
