package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// SubscribeOptions selects what Subscribe delivers.
type SubscribeOptions struct {
	// Since replays entries with log index ≥ *Since before going live; nil
	// starts with entries appended from now on.
	Since *uint64
	// Types keeps only these notice types (and the responses and receipts of
	// such notices, as the server filters them); empty keeps everything.
	Types []string
	// Heartbeats passes heartbeat frames to fn too.
	Heartbeats bool
	// OnReconnect, if set, is called (from Subscribe's goroutine) before
	// each wait to reconnect, with why the last connection attempt or
	// connection ended (nil: it ended cleanly) and how long Subscribe waits.
	OnReconnect func(err error, wait time.Duration)
	// Query adds other filter parameters of docs/api.md (substances,
	// countries, categories) as they are.
	Query url.Values
}

// maxFrame bounds one feed frame.
const maxFrame = 8 << 20

// Subscribe follows the feed (GET /v1/feed, websocket) and calls fn for every
// message in log order, from the goroutine that called Subscribe. It returns
// when ctx ends (ctx.Err()), when fn returns an error (that error, wrapped),
// or when the server refuses the subscription with an answer that retrying
// cannot fix (an *APIError: 400, 401, 403, 404).
//
// Subscribe reconnects by itself after any other failure — a dropped
// connection, a server restart, a close for a slow consumer (1008), no frame
// for the idle timeout — with exponential backoff and jitter, resuming with
// since = one past the highest index it has seen delivered or covered by a
// heartbeat, so nothing is missed. It never passes fn an index twice, nor an
// index lower than one it passed already: frames at or below the last
// delivered index are dropped. Heartbeats reach fn only if
// opts.Heartbeats.
func (c *Client) Subscribe(ctx context.Context, opts SubscribeOptions, fn func(FeedMessage) error) error {
	var (
		delivered = int64(-1) // highest index passed to fn
		covered   = int64(-1) // highest index known sent, by delivery or heartbeat
		haveSince = opts.Since != nil
		since     uint64
	)
	if haveSince {
		since = *opts.Since
		delivered, covered = int64(since)-1, int64(since)-1
	}
	delay := c.backoff
	for {
		if haveSince || covered >= 0 {
			since = uint64(covered + 1)
			haveSince = true
		}
		ws, err := c.dialFeed(ctx, opts, since, haveSince)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var apiErr *APIError
			if errors.As(err, &apiErr) && !apiErr.Temporary() && apiErr.Status < 500 {
				return fmt.Errorf("subscribing to feed: %w", err)
			}
			wait := jitter(delay)
			if apiErr != nil && apiErr.RetryAfter > 0 {
				wait = apiErr.RetryAfter
			}
			delay = min(2*delay, c.maxBackoff)
			if opts.OnReconnect != nil {
				opts.OnReconnect(fmt.Errorf("connecting to feed: %w", err), wait)
			}
			if err := sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		progressed, readErr, err := c.readFeed(ctx, ws, opts, &delivered, &covered, fn)
		if err != nil {
			return err // ctx ended or fn failed
		}
		if progressed {
			delay = c.backoff
		}
		wait := jitter(delay)
		if opts.OnReconnect != nil {
			opts.OnReconnect(readErr, wait)
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		delay = min(2*delay, c.maxBackoff)
	}
}

// dialFeed opens the websocket. A refused handshake with an HTTP answer is
// an *APIError.
func (c *Client) dialFeed(ctx context.Context, opts SubscribeOptions, since uint64, haveSince bool) (*websocket.Conn, error) {
	q := url.Values{}
	for k, vs := range opts.Query {
		q[k] = append([]string(nil), vs...)
	}
	if haveSince {
		q.Set("since", strconv.FormatUint(since, 10))
	}
	if len(opts.Types) > 0 {
		q.Set("types", strings.Join(opts.Types, ","))
	}
	u, err := c.endpoint("/v1/feed", q)
	if err != nil {
		return nil, err
	}
	u = "ws" + strings.TrimPrefix(u, "http") // http→ws, https→wss
	h := http.Header{}
	c.header(h)
	d := websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: c.timeout,
		TLSClientConfig:  c.tlsConfig,
		ReadBufferSize:   64 << 10,
	}
	dctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ws, resp, err := d.DialContext(dctx, u, h)
	if err != nil {
		if resp != nil {
			data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			return nil, decodeError(resp, data)
		}
		return nil, err
	}
	ws.SetReadLimit(maxFrame)
	return ws, nil
}

// readFeed reads one connection until it fails. It returns a non-nil err
// only when Subscribe must stop (ctx done, fn failed); readErr says why the
// connection ended otherwise; progressed reports whether it carried any
// frame.
func (c *Client) readFeed(ctx context.Context, ws *websocket.Conn, opts SubscribeOptions, delivered, covered *int64, fn func(FeedMessage) error) (progressed bool, readErr, err error) {
	done := make(chan struct{})
	defer close(done)
	go func() { // unblocks ReadMessage when ctx ends
		select {
		case <-ctx.Done():
			ws.Close()
		case <-done:
		}
	}()
	defer ws.Close()
	for {
		ws.SetReadDeadline(time.Now().Add(c.feedIdle))
		_, data, rerr := ws.ReadMessage()
		if rerr != nil {
			if ctx.Err() != nil {
				return progressed, nil, ctx.Err()
			}
			return progressed, fmt.Errorf("reading feed: %w", rerr), nil // reconnect
		}
		progressed = true
		var m FeedMessage
		if json.Unmarshal(data, &m) != nil {
			continue // not a frame of ours; the next one may be
		}
		m.Raw = json.RawMessage(data)
		if m.Kind == KindHeartbeat {
			*covered = max(*covered, m.Index)
			if opts.Heartbeats {
				if err := fn(m); err != nil {
					return progressed, nil, fmt.Errorf("handling feed heartbeat: %w", err)
				}
			}
			continue
		}
		if m.Index <= *delivered {
			continue // replayed after a reconnect, or out of order: never twice
		}
		if err := fn(m); err != nil {
			return progressed, nil, fmt.Errorf("handling feed message %d: %w", m.Index, err)
		}
		*delivered = m.Index
		*covered = max(*covered, m.Index)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
