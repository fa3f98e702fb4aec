// Package clienttest is an in-memory fake of one node's HTTP API v1
// (docs/api.md) for testing programs that use package client: the CLI and
// the client itself. It keeps notices in plaintext in memory, checks tokens
// and roles, pages and filters like a node, serves the websocket feed, and
// injects the faults a real cluster produces (503 unavailable or
// outcome_unknown with Retry-After, dropped feed connections, replays that
// overlap what a subscriber already has).
//
// It is a test double, not a reference implementation: it does no
// cryptography and checks only the few schema rules its users need
// (known type, recipients present and known).
//
// Dependencies: client, schema and the standard library, uuid and gorilla.
package clienttest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/penhub/penhub/node/client"
	"github.com/penhub/penhub/schema"
)

// Caller is what a token stands for.
type Caller struct {
	Authority string // empty for admin
	Role      string // focal_point, partner, auditor, admin
}

// Fault is one injected answer to POST /v1/notices or a response.
type Fault struct {
	Status     int           // 503 or 429
	Code       string        // unavailable, outcome_unknown, rate_limited
	RetryAfter time.Duration // sent as whole seconds; 0: no header
	// Commit applies the request before answering the fault (what
	// outcome_unknown means when the write did commit).
	Commit bool
}

// Request is one request the server received.
type Request struct {
	Method, Path, Query string
	Authorization       string
	UserAgent           string
	Body                []byte
}

// Server is the fake node. Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server

	mu          sync.Mutex
	tokens      map[string]Caller
	notices     []*notice // in log order
	byID        map[string]*notice
	entries     []client.FeedMessage // every log entry, index = position
	seq         map[string]int       // reference sequence per sender
	faults      []Fault
	requests    []Request
	authorities []string
	admitted    map[string]string // id → public key text
	changed     chan struct{}     // closed and replaced on every append

	// feed fault injection
	dropAfter   int    // next feed connection: close TCP after this many data frames (0: off)
	overlap     uint64 // replay from since-overlap on connections with since
	feedConns   int
	feedDown    bool
	live        map[*websocket.Conn]bool
	heartbeatEv time.Duration

	upgrader websocket.Upgrader
	done     chan struct{} // closed by Close
	closed   sync.Once
}

type notice struct {
	view     client.NoticeView
	clientID string
	digest   string
}

// New starts a fake node serving authorities (the active authorities of its
// directory). Close it when done (t.Cleanup(s.Close)).
func New(authorities ...string) *Server {
	s := &Server{
		tokens:      map[string]Caller{},
		byID:        map[string]*notice{},
		seq:         map[string]int{},
		admitted:    map[string]string{},
		live:        map[*websocket.Conn]bool{},
		authorities: authorities,
		changed:     make(chan struct{}),
		heartbeatEv: 15 * time.Second,
		done:        make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/notices", s.auth(s.postNotice, "focal_point"))
	mux.HandleFunc("GET /v1/notices", s.auth(s.listNotices, "focal_point", "partner"))
	mux.HandleFunc("GET /v1/notices/{id}", s.auth(s.getNotice, "focal_point", "partner"))
	mux.HandleFunc("POST /v1/notices/{id}/responses", s.auth(s.postResponse, "focal_point"))
	mux.HandleFunc("GET /v1/feed", s.auth(s.serveFeed, "focal_point", "partner"))
	mux.HandleFunc("GET /v1/directory", s.auth(s.getDirectory))
	mux.HandleFunc("POST /v1/directory/authorities", s.auth(s.admit, "focal_point"))
	mux.HandleFunc("POST /v1/directory/authorities/{id}/{op}", s.auth(s.changeAuthority, "focal_point", "admin"))
	mux.HandleFunc("GET /v1/status", s.auth(s.getStatus, "admin"))
	mux.HandleFunc("GET /v1/log/entries/{index}", s.auth(s.getEntry, "auditor", "admin"))
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint", nil, 0)
	})
	s.Server = httptest.NewServer(s.record(mux))
	return s
}

// Close ends the feed connections and stops the server.
func (s *Server) Close() {
	s.closed.Do(func() { close(s.done) })
	s.Server.Close()
}

// AddToken makes token stand for (authority, role).
func (s *Server) AddToken(token, authority, role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = Caller{Authority: authority, Role: role}
}

// FailNext queues faults; each of the next writes (notice or response posts)
// consumes one.
func (s *Server) FailNext(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// DropNextFeedAfter makes the next feed connection close its TCP connection,
// without a close frame, after n data frames (replayed or live).
func (s *Server) DropNextFeedAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropAfter = n
}

// ReplayOverlap makes the feed replay from since-n instead of since, as a
// sloppy server might, to check that clients drop what they already have.
func (s *Server) ReplayOverlap(n uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.overlap = n
}

// DropFeeds closes the TCP connection of every open feed subscription, with
// no close frame.
func (s *Server) DropFeeds() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ws := range s.live {
		ws.UnderlyingConn().Close()
	}
}

// SetFeedDown makes /v1/feed answer 503 unavailable (Retry-After 1 s) while
// down is true.
func (s *Server) SetFeedDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.feedDown = down
}

// SetHeartbeat sets the feed's heartbeat interval (default 15 s).
func (s *Server) SetHeartbeat(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heartbeatEv = d
}

// FeedConnections returns how many feed connections were accepted.
func (s *Server) FeedConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.feedConns
}

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Admitted returns the public key text an admission carried for id.
func (s *Server) Admitted(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.admitted[id]
	return k, ok
}

// Size returns the number of log entries.
func (s *Server) Size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// Post stores a notice directly (no faults, no auth), as sender, and returns
// its view. It is a convenience for setting up tests.
func (s *Server) Post(sender, typ string, recipients []string, body string) client.NoticeView {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.appendNotice(sender, uuid.NewString(), typ, "H0", recipients, json.RawMessage(body), "")
	return n.view
}

func (s *Server) record(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "reading body: "+err.Error(), nil, 0)
			return
		}
		if len(body) > 1<<20 {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "body over 1 MiB", nil, 0)
			return
		}
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Authorization: r.Header.Get("Authorization"), UserAgent: r.Header.Get("User-Agent"), Body: body})
		s.mu.Unlock()
		h.ServeHTTP(w, r.WithContext(withBody(r.Context(), body)))
	})
}

type handler func(w http.ResponseWriter, r *http.Request, c Caller, body []byte)

func (s *Server) auth(h handler, roles ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		c, known := s.tokens[tok]
		s.mu.Unlock()
		if !ok || !known {
			writeError(w, http.StatusUnauthorized, "unauthorized", "no token, or an unknown, expired or revoked one", nil, 0)
			return
		}
		if len(roles) > 0 && !slices.Contains(roles, c.Role) {
			writeError(w, http.StatusForbidden, "forbidden", "role "+c.Role+" may not do this", nil, 0)
			return
		}
		h(w, r, c, bodyOf(r.Context()))
	}
}

// writeError writes the error shape of SPEC §4.1.
func writeError(w http.ResponseWriter, status int, code, msg string, fields []schema.FieldError, retry time.Duration) {
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)))
	}
	type e struct {
		Code    string              `json:"code"`
		Message string              `json:"message"`
		Fields  []schema.FieldError `json:"fields,omitempty"`
	}
	writeJSON(w, status, map[string]e{"error": {code, msg, fields}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// takeFault pops the next fault; requires s.mu.
func (s *Server) takeFault() (Fault, bool) {
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f, true
}

var noticeTypes = []string{"pre_export", "incident", "suspicious_transaction", "alert"}

func (s *Server) postNotice(w http.ResponseWriter, r *http.Request, c Caller, body []byte) {
	var req schema.NoticeRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "malformed request: "+err.Error(), nil, 0)
		return
	}
	var fields []schema.FieldError
	if !slices.Contains(noticeTypes, req.Type) {
		fields = append(fields, schema.FieldError{Field: "type", Code: "enum", Problem: fmt.Sprintf("%q is not a notice type", req.Type)})
	}
	if len(req.Recipients) == 0 {
		fields = append(fields, schema.FieldError{Field: "recipients", Code: "required", Problem: "at least one recipient is required"})
	}
	if len(req.Body) == 0 || string(req.Body) == "null" {
		fields = append(fields, schema.FieldError{Field: "body", Code: "required", Problem: "a body is required"})
	}
	if len(fields) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", fmt.Sprintf("%d problems in the notice", len(fields)), fields, 0)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, rc := range req.Recipients {
		if !slices.Contains(s.authorities, rc) {
			writeError(w, http.StatusUnprocessableEntity, "unknown_recipient", "1 problem in the recipient list",
				[]schema.FieldError{{Field: fmt.Sprintf("recipients[%d]", i), Code: "unknown_recipient", Problem: fmt.Sprintf("recipient %q is not an authority of this hub", rc)}}, 0)
			return
		}
	}
	handling := req.Handling
	if handling == "" {
		handling = "H0"
	}
	clientID := req.ID
	if clientID == "" {
		clientID = uuid.NewString()
	}
	sum := sha256.Sum256([]byte(req.Type + "\n" + handling + "\n" + strings.Join(req.Recipients, ",") + "\n" + string(req.Body)))
	digest := hex.EncodeToString(sum[:])
	id := noticeID(c.Authority, clientID)
	if n, ok := s.byID[id]; ok {
		if n.digest != digest {
			writeError(w, http.StatusConflict, "conflict", "a different notice was already posted with this client id", nil, 0)
			return
		}
		writeJSON(w, http.StatusOK, postResult(n))
		return
	}
	f, fault := s.takeFault()
	if fault && !f.Commit {
		writeError(w, f.Status, f.Code, "injected fault", nil, f.RetryAfter)
		return
	}
	n := s.appendNotice(c.Authority, clientID, req.Type, handling, req.Recipients, req.Body, digest)
	if fault {
		writeError(w, f.Status, f.Code, "injected fault after commit", nil, f.RetryAfter)
		return
	}
	writeJSON(w, http.StatusCreated, postResult(n))
}

func noticeID(sender, clientID string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("penhub-fake/"+sender+"/"+clientID)).String()
}

func postResult(n *notice) map[string]any {
	return map[string]any{"id": n.view.ID, "index": n.view.Index, "reference": n.view.Reference,
		"leaf_hash": strings.Repeat("ab", 32), "created_at": n.view.CreatedAt.Format(time.RFC3339Nano)}
}

// appendNotice requires s.mu.
func (s *Server) appendNotice(sender, clientID, typ, handling string, recipients []string, body json.RawMessage, digest string) *notice {
	s.seq[sender]++
	now := time.Now().UTC().Truncate(time.Millisecond)
	status := "open"
	if typ == "pre_export" {
		status = "pending"
	}
	n := &notice{clientID: clientID, digest: digest, view: client.NoticeView{
		ID: noticeID(sender, clientID), Index: uint64(len(s.entries)),
		Reference: fmt.Sprintf("%s-%d-%06d", sender, now.Year(), s.seq[sender]),
		Type:      typ, Sender: sender, Recipients: recipients, Handling: handling,
		CreatedAt: now, Status: status, Body: body,
		Responses: []client.ResponseView{}, Receipts: []client.ReceiptView{},
	}}
	s.notices = append(s.notices, n)
	s.byID[n.view.ID] = n
	s.appendEntry(client.FeedMessage{Index: int64(n.view.Index), ID: n.view.ID, Kind: "notice", Type: typ,
		Sender: sender, Recipients: recipients, CreatedAt: now.Format(time.RFC3339Nano), Reference: n.view.Reference, Body: body})
	return n
}

// appendEntry requires s.mu.
func (s *Server) appendEntry(m client.FeedMessage) {
	m.Index = int64(len(s.entries))
	s.entries = append(s.entries, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

func readable(c Caller, v *client.NoticeView) bool {
	if c.Role == "partner" && v.Handling == "H2" {
		return false
	}
	return c.Authority != "" && (v.Sender == c.Authority || slices.Contains(v.Recipients, c.Authority))
}

func (s *Server) listNotices(w http.ResponseWriter, r *http.Request, c Caller, _ []byte) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "bad_request", "limit: must be a positive whole number", nil, 0)
			return
		}
		limit = min(n, 500)
	}
	before := uint64(1<<63 - 1)
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseUint(v, 10, 63)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "cursor: not a cursor returned by this API", nil, 0)
			return
		}
		before = n
	}
	var since uint64
	if v := q.Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 63)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "since: must be a log index", nil, 0)
			return
		}
		since = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	page := client.NoticePage{Notices: []client.NoticeView{}}
	for i := len(s.notices) - 1; i >= 0; i-- {
		n := s.notices[i]
		if n.view.Index >= before || n.view.Index < since || !readable(c, &n.view) {
			continue
		}
		if t := q.Get("type"); t != "" && n.view.Type != t {
			continue
		}
		if st := q.Get("status"); st != "" && n.view.Status != st {
			continue
		}
		if len(page.Notices) == limit {
			page.NextCursor = strconv.FormatUint(page.Notices[limit-1].Index, 10)
			break
		}
		page.Notices = append(page.Notices, n.view)
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) getNotice(w http.ResponseWriter, r *http.Request, c Caller, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.byID[r.PathValue("id")]
	if !ok || !readable(c, &n.view) {
		writeError(w, http.StatusNotFound, "not_found", "no notice with this id is readable with this token", nil, 0)
		return
	}
	if c.Role == "focal_point" && c.Authority != n.view.Sender && !slices.ContainsFunc(n.view.Receipts, func(r client.ReceiptView) bool { return r.Authority == c.Authority }) {
		rid := uuid.NewString()
		now := time.Now().UTC().Truncate(time.Millisecond)
		s.appendEntry(client.FeedMessage{ID: rid, Kind: "receipt", NoticeID: n.view.ID, Sender: c.Authority,
			CreatedAt: now.Format(time.RFC3339Nano), Body: json.RawMessage(`{"read_at":"` + now.Format(time.RFC3339Nano) + `"}`)})
		n.view.Receipts = append(n.view.Receipts, client.ReceiptView{ID: rid, Index: uint64(len(s.entries) - 1), Authority: c.Authority, ReadAt: now})
	}
	writeJSON(w, http.StatusOK, n.view)
}

var decisions = map[string]string{
	"acknowledged": "acknowledged", "no_objection": "no_objection", "objection": "objection",
	"request_info": "info_requested", "info": "", "amended": "pending", "cancelled": "cancelled", "shipped": "shipped",
}

func (s *Server) postResponse(w http.ResponseWriter, r *http.Request, c Caller, body []byte) {
	var req client.ResponseRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "malformed request: "+err.Error(), nil, 0)
		return
	}
	next, known := decisions[req.Decision]
	if !known {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "1 problem in the response",
			[]schema.FieldError{{Field: "decision", Code: "enum", Problem: fmt.Sprintf("%q is not a decision", req.Decision)}}, 0)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.byID[r.PathValue("id")]
	if !ok || !readable(c, &n.view) {
		writeError(w, http.StatusNotFound, "not_found", "no notice with this id is readable with this token", nil, 0)
		return
	}
	// A repeat of a response (same client id) answers the original result,
	// before any transition check.
	if req.ID != "" {
		for _, rv := range n.view.Responses {
			if rv.ID == noticeID(c.Authority, req.ID) {
				writeJSON(w, http.StatusCreated, map[string]any{"id": rv.ID, "index": rv.Index, "created_at": rv.CreatedAt, "status": n.view.Status})
				return
			}
		}
	}
	if slices.Contains([]string{"objection", "cancelled", "no_objection", "closed"}, n.view.Status) && req.Decision != "acknowledged" && req.Decision != "shipped" {
		writeError(w, http.StatusUnprocessableEntity, "invalid_transition", fmt.Sprintf("%s is not allowed when the notice is %s", req.Decision, n.view.Status), nil, 0)
		return
	}
	f, fault := s.takeFault()
	if fault && !f.Commit {
		writeError(w, f.Status, f.Code, "injected fault", nil, f.RetryAfter)
		return
	}
	id := uuid.NewString()
	if req.ID != "" {
		id = noticeID(c.Authority, req.ID)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	if next != "" && !(next == "acknowledged" && n.view.Status != "pending" && n.view.Status != "open") {
		n.view.Status = next
	}
	plain, _ := json.Marshal(map[string]any{"decision": req.Decision, "reason": req.Reason})
	s.appendEntry(client.FeedMessage{ID: id, Kind: "response", NoticeID: n.view.ID, Type: req.Decision, Sender: c.Authority,
		CreatedAt: now.Format(time.RFC3339Nano), Body: plain})
	rv := client.ResponseView{ID: id, Index: uint64(len(s.entries) - 1), Author: c.Authority, Decision: req.Decision,
		Reason: req.Reason, Quantity: req.Quantity, Unit: req.Unit, Changes: req.Changes, CreatedAt: now}
	n.view.Responses = append(n.view.Responses, rv)
	if fault {
		writeError(w, f.Status, f.Code, "injected fault after commit", nil, f.RetryAfter)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "index": rv.Index, "created_at": now, "status": n.view.Status})
}

func (s *Server) getDirectory(w http.ResponseWriter, r *http.Request, c Caller, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := client.Directory{HubID: strings.Repeat("0f", 32), Secretariat: "INT-INCB", Nodes: []client.DirectoryNode{{ID: "node1", API: s.URL, Raft: "127.0.0.1:1", Voter: true}}}
	for _, a := range s.authorities {
		d.Authorities = append(d.Authorities, client.DirectoryAuthority{ID: a, Node: "node1", Status: "active",
			Keys: []client.DirectoryKey{{SignKeyID: strings.Repeat("1", 32), KEMKeyID: strings.Repeat("2", 32), Fingerprint: "abcd-ef01"}}})
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) admit(w http.ResponseWriter, r *http.Request, c Caller, body []byte) {
	if c.Authority != "INT-INCB" {
		writeError(w, http.StatusForbidden, "forbidden", "only the secretariat's focal point may change the directory this way", nil, 0)
		return
	}
	var req struct {
		ID         string `json:"id"`
		Node       string `json:"node"`
		PublicKeys string `json:"public_keys"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "malformed JSON: "+err.Error(), nil, 0)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.Contains(s.authorities, req.ID) {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "1 problem in the admission",
			[]schema.FieldError{{Field: "id", Code: "duplicate", Problem: fmt.Sprintf("authority %q already exists", req.ID)}}, 0)
		return
	}
	s.authorities = append(s.authorities, req.ID)
	s.admitted[req.ID] = req.PublicKeys
	s.directoryEntry(w, "admit_authority")
}

func (s *Server) changeAuthority(w http.ResponseWriter, r *http.Request, c Caller, body []byte) {
	id, op := r.PathValue("id"), r.PathValue("op")
	var req struct {
		Reason string `json:"reason"`
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "malformed JSON: "+err.Error(), nil, 0)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.authorities, id) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no active authority %q", id), nil, 0)
		return
	}
	switch op {
	case "rotate":
		if !(c.Role == "focal_point" && c.Authority == id) && c.Role != "admin" {
			writeError(w, http.StatusForbidden, "forbidden", "only the authority's focal point or its home node's admin may rotate its keys", nil, 0)
			return
		}
		s.directoryEntry(w, "rotate_keys")
	case "revoke":
		if c.Authority != "INT-INCB" {
			writeError(w, http.StatusForbidden, "forbidden", "only the secretariat's focal point may change the directory this way", nil, 0)
			return
		}
		if strings.TrimSpace(req.Reason) == "" {
			writeError(w, http.StatusUnprocessableEntity, "validation_failed", "1 problem in the revocation",
				[]schema.FieldError{{Field: "reason", Code: "required", Problem: "say why the authority is revoked"}}, 0)
			return
		}
		s.authorities = slices.DeleteFunc(s.authorities, func(a string) bool { return a == id })
		s.directoryEntry(w, "revoke_authority")
	default:
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint", nil, 0)
	}
}

// directoryEntry requires s.mu.
func (s *Server) directoryEntry(w http.ResponseWriter, op string) {
	id := uuid.NewString()
	s.appendEntry(client.FeedMessage{ID: id, Kind: "directory", Type: op, Sender: "INT-INCB",
		CreatedAt: time.Now().UTC().Format(time.RFC3339Nano), Body: json.RawMessage(`{}`)})
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "index": len(s.entries) - 1, "op": op})
}

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request, c Caller, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"node_id": "node1", "state": "Leader", "leader": "node1", "term": 2,
		"applied_index": len(s.entries) - 1, "hub_id": strings.Repeat("0f", 32),
		"peers": []map[string]any{{"id": "node1", "suffrage": "voter", "lag": 0}}, "alarms": []string{}})
}

func (s *Server) getEntry(w http.ResponseWriter, r *http.Request, c Caller, _ []byte) {
	i, err := strconv.ParseUint(r.PathValue("index"), 10, 63)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || i >= uint64(len(s.entries)) {
		writeError(w, http.StatusNotFound, "not_found", "no entry at this log index", nil, 0)
		return
	}
	e := s.entries[i]
	writeJSON(w, http.StatusOK, map[string]any{"index": i, "kind": e.Kind, "author": e.Sender, "entry": []byte("PHE1 fake " + e.ID)})
}
