package clienttest

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/penhub/penhub/node/client"
)

type bodyKey struct{}

func withBody(ctx context.Context, b []byte) context.Context {
	return context.WithValue(ctx, bodyKey{}, b)
}

func bodyOf(ctx context.Context) []byte { b, _ := ctx.Value(bodyKey{}).([]byte); return b }

// serveFeed replays from since (or starts at the end), sends a heartbeat when
// the replay is over, then follows appends live, with a heartbeat every
// interval. A heartbeat's index is the highest index examined so far.
func (s *Server) serveFeed(w http.ResponseWriter, r *http.Request, c Caller, _ []byte) {
	q := r.URL.Query()
	s.mu.Lock()
	next := uint64(len(s.entries))
	overlap, down := s.overlap, s.feedDown
	s.mu.Unlock()
	if down {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "feed down for the test", nil, time.Second)
		return
	}
	if v := q.Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 63)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "since: must be a log index", nil, 0)
			return
		}
		next = n - min(n, overlap)
	}
	var types []string
	if v := q.Get("types"); v != "" {
		types = strings.Split(v, ",")
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	defer func() {
		s.mu.Lock()
		delete(s.live, ws)
		s.mu.Unlock()
		ws.Close()
	}()
	s.mu.Lock()
	s.feedConns++
	s.live[ws] = true
	drop := s.dropAfter
	s.dropAfter = 0
	hb := s.heartbeatEv
	s.mu.Unlock()

	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	heartbeat := func() error {
		return ws.WriteMessage(websocket.TextMessage, []byte(`{"kind":"heartbeat","index":`+strconv.FormatInt(int64(next)-1, 10)+`}`))
	}
	ticker := time.NewTicker(hb)
	defer ticker.Stop()
	sent, replayed := 0, false
	for {
		s.mu.Lock()
		var frames [][]byte
		for ; next < uint64(len(s.entries)); next++ {
			e := s.entries[next]
			if s.wanted(c, e, types) {
				b, _ := json.Marshal(e)
				frames = append(frames, b)
			}
		}
		ch := s.changed
		s.mu.Unlock()
		for _, f := range frames {
			if err := ws.WriteMessage(websocket.TextMessage, f); err != nil {
				return
			}
			sent++
			if drop > 0 && sent == drop {
				ws.UnderlyingConn().Close() // no close frame: a dead connection
				return
			}
		}
		if !replayed {
			replayed = true
			if heartbeat() != nil {
				return
			}
		}
		select {
		case <-ch:
		case <-ticker.C:
			if heartbeat() != nil {
				return
			}
		case <-gone:
			return
		case <-s.done:
			ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
			return
		}
	}
}

// wanted requires s.mu.
func (s *Server) wanted(c Caller, e client.FeedMessage, types []string) bool {
	switch e.Kind {
	case "directory":
		return true
	case "notice":
		n := s.byID[e.ID]
		return n != nil && readable(c, &n.view) && (len(types) == 0 || slices.Contains(types, n.view.Type))
	default:
		n := s.byID[e.NoticeID]
		return n != nil && readable(c, &n.view) && (len(types) == 0 || slices.Contains(types, n.view.Type))
	}
}
