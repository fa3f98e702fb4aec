package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/penhub/penhub/consensus/ledger"
	"github.com/penhub/penhub/crypto"
	"github.com/penhub/penhub/node/feed"
	"github.com/penhub/penhub/schema"
)

// feedSource implements feed.Source over the ledger and the keyring.
type feedSource struct{ n *Node }

var _ feed.Source = feedSource{}

func (s feedSource) Changed() (uint64, <-chan struct{}) { return s.n.ledger().Changed() }

// View returns entry index as authority sees it, or nil when it may not read
// it. Notices, responses and receipts are decrypted (once per authority, then
// cached); directory entries are public to every member.
func (s feedSource) View(ctx context.Context, index uint64, authority string) (*feed.Message, error) {
	n := s.n
	entry, err := n.ledger().Entry(index)
	if err != nil {
		return nil, fmt.Errorf("reading entry %d: %w", index, err)
	}
	env, err := crypto.Parse(entry.Raw)
	if err != nil {
		return nil, fmt.Errorf("parsing entry %d: %w", index, err)
	}
	m := &feed.Message{
		Index:      index,
		ID:         uuid.UUID(env.EntryID).String(),
		Kind:       kindName(env.Kind),
		Sender:     env.Author,
		Recipients: env.Recipients,
		CreatedAt:  time.UnixMilli(env.CreatedMS).UTC().Format(time.RFC3339Nano),
		Reference:  entry.Reference,
	}
	switch env.Kind {
	case crypto.KindDirectory:
		m.Type = env.Subtype
		m.Body = json.RawMessage(env.Body)
		return m, nil
	case crypto.KindCosignature:
		return nil, nil
	}
	if env.Author != authority && !slices.Contains(env.Recipients, authority) {
		return nil, nil
	}
	plain, err := n.open(index, env, authority)
	if err != nil {
		// Not openable here (key destroyed, or not hosted): nothing to show.
		return nil, nil
	}
	switch env.Kind {
	case crypto.KindNotice:
		var p noticePlain
		if json.Unmarshal(plain, &p) != nil {
			return nil, nil
		}
		m.Type = env.Subtype
		m.Body = p.Body
		m.Handling = handlingName(env.Handling)
		sum := schema.BodySummary(env.Subtype, p.Body)
		m.Substances, m.Countries, m.Category = sum.Substances, sum.Countries, sum.Category
	case crypto.KindResponse, crypto.KindReceipt:
		m.NoticeID = uuid.UUID(env.RefID).String()
		if env.Kind == crypto.KindResponse {
			var p responsePlain
			if json.Unmarshal(plain, &p) != nil {
				return nil, nil
			}
			m.Type = p.Decision
			p.ClientID = ""
			m.Body, _ = json.Marshal(p)
		} else {
			m.Type = "read"
			m.Body = plain
		}
		// Responses and receipts inherit the notice's handling (H2 stays off
		// partner feeds). Fail closed: without the notice's handling, show nothing.
		ref, err := n.ledger().EntryByID(env.RefID)
		if errors.Is(err, ledger.ErrNotFound) {
			return nil, nil
		} else if err != nil {
			return nil, fmt.Errorf("reading the notice of entry %d: %w", index, err)
		}
		nenv, err := crypto.Parse(ref.Raw)
		if err != nil || nenv.Kind != crypto.KindNotice {
			return nil, nil
		}
		m.Handling = handlingName(nenv.Handling)
	}
	return m, nil
}

// serveFeed authenticates (done by the router), parses since and filters and
// hands the connection to the feed hub.
func (n *Node) serveFeed(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	q := r.URL.Query()
	var since *uint64
	if s := q.Get("since"); s != "" {
		v, err := strconv.ParseUint(s, 10, 63)
		if err != nil {
			return errorf(http.StatusBadRequest, codeBadRequest, "since: must be a log index")
		}
		since = &v
	}
	filter, err := feed.ParseFilter(q)
	if err != nil {
		return errorf(http.StatusBadRequest, codeBadRequest, err.Error())
	}
	// Substances match by catalogue name, so "BMK" or a CAS number finds
	// 1-phenyl-2-propanone however the notice spelt it.
	for i, s := range filter.Substances {
		if sub, ok := schema.LookupSubstance(s); ok {
			filter.Substances[i] = sub.Name
		}
	}
	if c.Authority == "" {
		return errorf(http.StatusForbidden, codeForbidden, "this token has no authority")
	}
	// The websocket lives beyond the API's request timeout.
	r = r.WithContext(context.WithoutCancel(r.Context()))
	// The token was checked once, at the upgrade; a feed lives for hours. Re-check
	// it while the connection lasts and cut the connection when it is revoked or
	// expires (SPEC §4.1: such a token reads nothing more).
	hc := &hijackCapture{ResponseWriter: w}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(feedTokenCheck)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if _, err := n.authenticate(r); err != nil {
					hc.closeConn()
					return
				}
			}
		}
	}()
	n.feed.ServeWS(hc, r, feed.Subscriber{Authority: c.Authority, Partner: c.Role == "partner", Filter: filter}, since)
	return nil
}

// feedTokenCheck is how often an open feed re-checks its token.
var feedTokenCheck = 2 * time.Second

// hijackCapture keeps the connection the websocket upgrade takes over, so the
// feed's token watch can close it.
type hijackCapture struct {
	http.ResponseWriter
	mu   sync.Mutex
	conn net.Conn
}

func (h *hijackCapture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("hijacking connection: %T is not a http.Hijacker", h.ResponseWriter)
	}
	conn, rw, err := hj.Hijack()
	if err == nil {
		h.mu.Lock()
		h.conn = conn
		h.mu.Unlock()
	}
	return conn, rw, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (h *hijackCapture) Unwrap() http.ResponseWriter { return h.ResponseWriter }

func (h *hijackCapture) closeConn() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conn != nil {
		_ = h.conn.Close()
	}
}
