package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/penhub/penhub/consensus/ledger"
	"github.com/penhub/penhub/crypto"
	"github.com/penhub/penhub/node/tokens"
	"github.com/penhub/penhub/schema"
)

// TestDeriveStatusIgnoresForgedDecisions: the log only checks that a
// response's author is a party to the notice, so a hostile recipient's node
// can append decisions that only the sender may take (cancelled, shipped,
// amended), and a hostile sender's node decisions only recipients take. They
// must not move the status.
func TestDeriveStatusIgnoresForgedDecisions(t *testing.T) {
	before := time.Date(2030, 6, 10, 12, 0, 0, 0, time.UTC)
	after := time.Date(2030, 6, 16, 0, 0, 1, 0, time.UTC)
	amend := func(author string) responseView {
		return responseView{Author: author, Decision: "amended", Changes: json.RawMessage(`{"response_deadline":"2030-06-30"}`), created: before}
	}
	cases := []struct {
		name      string
		responses []responseView
		now       time.Time
		want      string
	}{
		{"recipient cannot cancel", []responseView{resp("NL", "cancelled", before)}, before, statusPending},
		{"copy recipient cannot cancel", []responseView{resp("INT-INCB", "cancelled", before)}, before, statusPending},
		{"recipient cannot report a shipment", []responseView{resp("NL", "no_objection", before), resp("NL", "shipped", before, 10)}, before, statusNoObjection},
		{"recipient cannot amend the deadline away", []responseView{amend("NL")}, after, statusNoResponse},
		{"sender cannot acknowledge its own notice", []responseView{resp("DE", "acknowledged", before)}, before, statusPending},
		{"sender's own amendment counts", []responseView{amend("DE")}, after, statusPending},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := preExportView("", tc.responses...)
			got, _ := deriveStatusFrom(schema.BodySummary(v.Type, v.Body), v.Sender, tc.responses, tc.now)
			if got != tc.want {
				t.Errorf("status %q, want %q", got, tc.want)
			}
		})
	}
	// Other notice types: a recipient cannot close an alert.
	alert := json.RawMessage(`{"title":"t","summary":"s"}`)
	if got, _ := deriveStatusFrom(schema.BodySummary("alert", alert), "DE", []responseView{resp("NL", "cancelled", before)}, before); got != statusOpen {
		t.Errorf("alert cancelled by a recipient: status %q, want open", got)
	}
}

// TestShippedQuantityCountsOnlySender: shipments forged by a recipient do not
// use up the notified quantity.
func TestShippedQuantityCountsOnlySender(t *testing.T) {
	at := time.Date(2030, 6, 10, 12, 0, 0, 0, time.UTC)
	v := preExportView(`, "valid_until": "2030-12-31"`, resp("NL", "no_objection", at), resp("NL", "shipped", at, 240))
	q := 100.0
	if e := checkTransition(v, "DE", schema.Response{Decision: "shipped", Quantity: &q, Unit: "kg"}, at); e != nil {
		t.Fatalf("shipping 100 of 250 kg with a forged 240 kg shipment by NL: %v", e)
	}
}

// testNode is a Node with just what the router's middleware needs.
func testNode(t *testing.T) (*Node, map[tokens.Role]string) {
	t.Helper()
	store, err := tokens.Open(filepath.Join(t.TempDir(), "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[tokens.Role]string{}
	for _, role := range tokens.Roles {
		authority := "DE"
		if role == tokens.RoleAdmin {
			authority = ""
		}
		s, _, err := store.Create(authority, role, "review "+string(role), 0)
		if err != nil {
			t.Fatal(err)
		}
		secrets[role] = s
	}
	cfg := DefaultConfig()
	n := &Node{cfg: &cfg, tokens: store, limits: newLimiter(cfg.RatePerSecond, cfg.RateBurst), now: time.Now}
	return n, secrets
}

// TestSessionCookieSameOriginOnly: the console's session cookie must not
// authenticate a request another origin's page made the browser send.
// SameSite=Strict does not stop pages on other ports or sibling hosts of the
// same site (http://127.0.0.1:8080 → http://127.0.0.1:7401), and the API takes
// JSON in a text/plain form post.
func TestSessionCookieSameOriginOnly(t *testing.T) {
	n, secrets := testNode(t)
	called := 0
	h := n.authenticated(route{"POST /v1/notices", []tokens.Role{tokens.RoleFocalPoint}, true,
		func(w http.ResponseWriter, r *http.Request, c caller) *apiError {
			called++
			w.WriteHeader(http.StatusCreated)
			return nil
		}})
	cases := []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"same origin", map[string]string{"Origin": "http://node.example:7401", "Sec-Fetch-Site": "same-origin"}, http.StatusCreated},
		{"same origin, old browser", map[string]string{"Origin": "http://node.example:7401"}, http.StatusCreated},
		{"other port of the same site", map[string]string{"Origin": "http://node.example:8080", "Sec-Fetch-Site": "same-site"}, http.StatusUnauthorized},
		{"same-site without Origin", map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusUnauthorized},
		{"cross-site", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, http.StatusUnauthorized},
		{"write without Origin or Sec-Fetch-Site", nil, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := called
			r := httptest.NewRequest("POST", "http://node.example:7401/v1/notices", strings.NewReader(`{}`))
			r.Header.Set("Content-Type", "text/plain")
			r.AddCookie(&http.Cookie{Name: sessionCookie, Value: secrets[tokens.RoleFocalPoint]})
			for k, v := range tc.hdr {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Errorf("status %d, want %d (%s)", w.Code, tc.want, w.Body)
			}
			if (tc.want == http.StatusCreated) != (called > before) {
				t.Errorf("handler called: %v, want %v", called > before, tc.want == http.StatusCreated)
			}
		})
	}
}

// TestMiddlewarePrecedence: SPEC §4.1's order 401, 403, 413, 429, then the
// handler's own 400.
func TestMiddlewarePrecedence(t *testing.T) {
	n, secrets := testNode(t)
	n.cfg.MaxBodyBytes = 64
	n.limits = newLimiter(1, 1)
	h := n.authenticated(route{"POST /v1/notices", []tokens.Role{tokens.RoleFocalPoint}, true,
		func(w http.ResponseWriter, r *http.Request, c caller) *apiError {
			return errorf(http.StatusBadRequest, codeBadRequest, "malformed")
		}})
	big := strings.Repeat("x", 100)
	do := func(secret, body string) (int, string) {
		r := httptest.NewRequest("POST", "/v1/notices", strings.NewReader(body))
		if secret != "" {
			r.Header.Set("Authorization", "Bearer "+secret)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var e struct {
			Error apiError `json:"error"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &e)
		return w.Code, e.Error.Code
	}
	check := func(what string, gotStatus int, gotCode string, wantStatus int, wantCode string) {
		t.Helper()
		if gotStatus != wantStatus || gotCode != wantCode {
			t.Errorf("%s: %d %s, want %d %s", what, gotStatus, gotCode, wantStatus, wantCode)
		}
	}
	s, c := do("", big)
	check("no token, big body", s, c, 401, codeUnauthorized)
	s, c = do("not-a-token", big)
	check("unknown token, big body", s, c, 401, codeUnauthorized)
	s, c = do(secrets[tokens.RolePartner], big)
	check("partner, big body", s, c, 403, codeForbidden)
	s, c = do(secrets[tokens.RoleFocalPoint], big)
	check("focal point, big body", s, c, 413, codeTooLarge)
	s, c = do(secrets[tokens.RoleFocalPoint], "{")
	check("focal point, first small body", s, c, 400, codeBadRequest)
	s, c = do(secrets[tokens.RoleFocalPoint], "{")
	check("focal point, over the rate", s, c, 429, codeRateLimited)
}

// TestViewCacheBoundedByBytes: large plaintexts cannot pin more than the
// byte bound, whatever the entry bound.
func TestViewCacheBoundedByBytes(t *testing.T) {
	c := newViewCache(4096)
	c.maxBytes = 10 << 20
	big := make([]byte, 1<<20)
	for i := range uint64(100) {
		c.put(i, "NL", big)
	}
	if c.bytes > c.maxBytes || len(c.items) != 10 || c.order.Len() != 10 {
		t.Fatalf("after 100 puts of 1 MiB: %d bytes in %d items (list %d), want ≤ %d bytes in 10", c.bytes, len(c.items), c.order.Len(), c.maxBytes)
	}
	if _, ok := c.get(99, "NL"); !ok {
		t.Error("the newest entry was evicted")
	}
	if _, ok := c.get(0, "NL"); ok {
		t.Error("the oldest entry is still cached")
	}
	c.put(200, "NL", make([]byte, 11<<20))
	if _, ok := c.get(200, "NL"); ok || c.bytes > c.maxBytes {
		t.Errorf("an entry over the whole bound was cached (%d bytes)", c.bytes)
	}
	c.forget("NL")
	if c.bytes != 0 || len(c.items) != 0 {
		t.Errorf("after forget: %d bytes, %d items", c.bytes, len(c.items))
	}
}

// reviewHub is a real one-node hub (bootstrap voter, Raft over TLS on
// loopback, bbolt in t.TempDir()) hosting INT-INCB, DE, NL and IN, with a
// focal_point, partner and auditor token for each ("DE/focal_point") and an
// admin token ("/admin"). Requests go through n.Handler().
type reviewHub struct {
	t      *testing.T
	n      *Node
	tokens map[string]string
}

func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newReviewHub(t *testing.T) *reviewHub {
	t.Helper()
	return newOneNodeHub(t, "review hub", ledger.Admission{}, []string{"INT-INCB", "DE", "NL", "IN"})
}

// newOneNodeHub starts a one-node hub (real Raft over TLS on loopback, bbolt
// files in a temp dir) hosting the authorities ids, the first being the
// secretariat, with focal point, partner and auditor tokens for each
// ("DE/focal_point") and an admin token ("/admin").
func newOneNodeHub(t *testing.T, name string, admission ledger.Admission, ids []string) *reviewHub {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a one-node hub")
	}
	dir := t.TempDir()
	ca, err := crypto.NewCA(name)
	if err != nil {
		t.Fatal(err)
	}
	api, raft := freeLoopback(t), freeLoopback(t)
	nodeKey, err := crypto.GenerateIdentity(rand.Reader, "node1")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue("node1", IPsOf(raft))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := NodeRecordFor("node1", "http://"+api, raft, true, nodeKey, cert)
	if err != nil {
		t.Fatal(err)
	}
	plan := GenesisPlan{HubName: name, Secretariat: ids[0], Admission: admission, CopyTo: []string{ids[0]}, CheckpointInterval: 100,
		HomeNode: map[string]string{}, Nodes: []ledger.NodeRecord{rec}, Created: time.Now()}
	for _, a := range ids {
		ident, err := crypto.GenerateIdentity(rand.Reader, a)
		if err != nil {
			t.Fatal(err)
		}
		plan.Authorities = append(plan.Authorities, ident)
		plan.HomeNode[a] = "node1"
	}
	genesis, hub, err := BuildGenesis(rand.Reader, plan)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.NodeID, cfg.DataDir, cfg.API, cfg.Raft, cfg.RaftAdvertise = "node1", dir, api, raft, raft
	cfg.Bootstrap, cfg.HubID, cfg.Authorities = true, HubIDHex(hub), ids
	if err := WriteDataDir(Provision{Config: cfg, NodeKey: nodeKey, CACert: ca.CertPEM(), Cert: cert, Authorities: plan.Authorities, Genesis: genesis}); err != nil {
		t.Fatal(err)
	}
	store, err := tokens.Open(filepath.Join(dir, TokensFile))
	if err != nil {
		t.Fatal(err)
	}
	h := &reviewHub{t: t, tokens: map[string]string{}}
	for _, a := range ids {
		for _, role := range []tokens.Role{tokens.RoleFocalPoint, tokens.RolePartner, tokens.RoleAuditor} {
			s, _, err := store.Create(a, role, "review", 0)
			if err != nil {
				t.Fatal(err)
			}
			h.tokens[a+"/"+string(role)] = s
		}
	}
	s, _, err := store.Create("", tokens.RoleAdmin, "review", 0)
	if err != nil {
		t.Fatal(err)
	}
	h.tokens["/admin"] = s
	loaded, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h.n, err = New(ctx, loaded, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.n.wg.Wait(); h.n.closeConsensus() })
	for !h.n.cons.Ready() {
		if ctx.Err() != nil {
			t.Fatal("one-node hub not ready within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return h
}

// do sends a request as who ("DE/focal_point") and decodes a JSON answer into out (if not nil).
func (h *reviewHub) do(method, path, who string, body string, out any) (int, []byte) {
	h.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if who != "" {
		r.Header.Set("Authorization", "Bearer "+h.tokens[who])
	}
	w := httptest.NewRecorder()
	h.n.Handler().ServeHTTP(w, r)
	if out != nil && w.Code < 300 {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			h.t.Fatalf("%s %s: decoding %s: %v", method, path, w.Body, err)
		}
	}
	return w.Code, w.Body.Bytes()
}

func (h *reviewHub) postAlert(who string, recipients string, handling string) postResult {
	h.t.Helper()
	var res postResult
	body := fmt.Sprintf(`{"id":%q,"type":"alert","recipients":[%s],"handling":%q,"body":{"title":"t","summary":"s"}}`, uuid.NewString(), recipients, handling)
	if status, b := h.do("POST", "/v1/notices", who, body, &res); status != http.StatusCreated {
		h.t.Fatalf("posting alert: %d %s", status, b)
	}
	return res
}

type listPage struct {
	Notices []struct {
		ID     string `json:"id"`
		Index  uint64 `json:"index"`
		Status string `json:"status"`
	} `json:"notices"`
	NextCursor string `json:"next_cursor"`
}

// TestListScanBudget: a filter that matches nothing ends the page at the
// scan budget with a cursor, instead of reading the whole history (or
// failing with 503 at the timeout); following the cursors finds the match.
func TestListScanBudget(t *testing.T) {
	h := newReviewHub(t)
	old := listScanBudget
	listScanBudget = 5
	t.Cleanup(func() { listScanBudget = old })
	first := h.postAlert("DE/focal_point", `"NL"`, "H0")
	if status, b := h.do("POST", "/v1/notices/"+first.ID+"/responses", "DE/focal_point", `{"decision":"cancelled"}`, nil); status != http.StatusCreated {
		t.Fatalf("cancelling: %d %s", status, b)
	}
	for range 12 {
		h.postAlert("DE/focal_point", `"NL"`, "H0")
	}
	var found []string
	cursor, pages := "", 0
	for {
		var p listPage
		q := "/v1/notices?status=closed&limit=10"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		if status, b := h.do("GET", q, "NL/focal_point", "", &p); status != 200 {
			t.Fatalf("list: %d %s", status, b)
		}
		pages++
		for _, v := range p.Notices {
			found = append(found, v.ID)
		}
		if p.NextCursor == "" || pages > 20 {
			break
		}
		cursor = p.NextCursor
	}
	if len(found) != 1 || found[0] != first.ID {
		t.Errorf("closed notices found %v, want [%s]", found, first.ID)
	}
	if pages < 2 {
		t.Errorf("%d page(s): the scan budget did not end a page early", pages)
	}
	if status, b := h.do("GET", "/v1/notices?status=bogus", "NL/focal_point", "", nil); status != http.StatusBadRequest {
		t.Errorf("unknown status filter: %d %s, want 400", status, b)
	}
}

// TestListStatusMatchesGet: the list shows each notice with the status GET
// shows (refs are needed for every type, not only pre_export).
func TestListStatusMatchesGet(t *testing.T) {
	h := newReviewHub(t)
	a := h.postAlert("DE/focal_point", `"NL"`, "H0")
	if status, b := h.do("POST", "/v1/notices/"+a.ID+"/responses", "NL/focal_point", `{"decision":"acknowledged"}`, nil); status != http.StatusCreated {
		t.Fatalf("acknowledging: %d %s", status, b)
	}
	var one struct {
		Status string `json:"status"`
	}
	h.do("GET", "/v1/notices/"+a.ID, "DE/focal_point", "", &one)
	var p listPage
	h.do("GET", "/v1/notices", "DE/focal_point", "", &p)
	if len(p.Notices) != 1 || p.Notices[0].Status != one.Status {
		t.Errorf("list shows %+v, GET shows status %q", p.Notices, one.Status)
	}
}

// TestConcurrentRetries: the same request raced with itself is one entry
// (one 201, the rest 200 with the same result); the same client id raced
// with other content gets 409, for notices and for responses.
func TestConcurrentRetries(t *testing.T) {
	h := newReviewHub(t)
	size := func() uint64 { s, _ := h.n.ledger().TreeHead(); return s }
	race := func(path, who string, bodies []string) ([]int, [][]byte) {
		var wg sync.WaitGroup
		codes, outs := make([]int, len(bodies)), make([][]byte, len(bodies))
		for i, b := range bodies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], outs[i] = h.do("POST", path, who, b, nil)
			}()
		}
		wg.Wait()
		return codes, outs
	}
	count := func(codes []int, c int) int {
		k := 0
		for _, x := range codes {
			if x == c {
				k++
			}
		}
		return k
	}
	cid := uuid.NewString()
	notice := fmt.Sprintf(`{"id":%q,"type":"alert","recipients":["NL"],"body":{"title":"t","summary":"s"}}`, cid)
	before := size()
	codes, outs := race("/v1/notices", "DE/focal_point", []string{notice, notice, notice, notice})
	if count(codes, 201) != 1 || count(codes, 200) != 3 || size() != before+1 {
		t.Fatalf("same notice raced: codes %v, log grew by %d\n%s", codes, size()-before, bytes.Join(outs, []byte("\n")))
	}
	var res postResult
	for _, o := range outs {
		var r postResult
		_ = json.Unmarshal(o, &r)
		if res.ID == "" {
			res = r
		} else if r != res {
			t.Errorf("answers differ: %+v vs %+v", r, res)
		}
	}

	rid := uuid.NewString()
	a := fmt.Sprintf(`{"id":%q,"decision":"acknowledged","reason":"a"}`, rid)
	b := fmt.Sprintf(`{"id":%q,"decision":"acknowledged","reason":"b"}`, rid)
	before = size()
	codes, outs = race("/v1/notices/"+res.ID+"/responses", "NL/focal_point", []string{a, b})
	if count(codes, 201) != 1 || count(codes, 409) != 1 || size() != before+1 {
		t.Errorf("same response client id, other content, raced: codes %v (want one 201, one 409), log grew by %d\n%s",
			codes, size()-before, bytes.Join(outs, []byte("\n")))
	}
}

// TestRejectedRequestsWriteNothing: SPEC §6.8, and reads write only the
// recipient focal point's one receipt.
func TestRejectedRequestsWriteNothing(t *testing.T) {
	h := newReviewHub(t)
	size := func() uint64 { s, _ := h.n.ledger().TreeHead(); return s }
	a := h.postAlert("DE/focal_point", `"NL"`, "H2")
	before := size()
	cases := []struct {
		name, method, path, who, body string
		want                          int
	}{
		{"invalid notice", "POST", "/v1/notices", "DE/focal_point", `{"type":"alert","recipients":["NL"],"body":{"title":""}}`, 422},
		{"unknown recipient", "POST", "/v1/notices", "DE/focal_point", `{"type":"alert","recipients":["XX"],"body":{"title":"t","summary":"s"}}`, 422},
		{"partner posts", "POST", "/v1/notices", "DE/partner", `{"type":"alert","recipients":["NL"],"body":{"title":"t","summary":"s"}}`, 403},
		{"too large", "POST", "/v1/notices", "DE/focal_point", `{"type":"alert","recipients":["NL"],"body":{"title":"t","summary":"` + strings.Repeat("s", 1<<20) + `"}}`, 413},
		{"sender acknowledges", "POST", "/v1/notices/" + a.ID + "/responses", "DE/focal_point", `{"decision":"acknowledged"}`, 422},
		{"recipient cancels", "POST", "/v1/notices/" + a.ID + "/responses", "NL/focal_point", `{"decision":"cancelled"}`, 422},
		{"non-recipient responds", "POST", "/v1/notices/" + a.ID + "/responses", "IN/focal_point", `{"decision":"acknowledged"}`, 404},
		{"non-recipient reads", "GET", "/v1/notices/" + a.ID, "IN/focal_point", "", 404},
		{"partner reads H2", "GET", "/v1/notices/" + a.ID, "NL/partner", "", 404},
		{"auditor reads", "GET", "/v1/notices/" + a.ID, "NL/auditor", "", 403},
		{"sender reads", "GET", "/v1/notices/" + a.ID, "DE/focal_point", "", 200},
		{"secretariat-only revoke by DE", "POST", "/v1/directory/authorities/IN/revoke", "DE/focal_point", `{"reason":"x"}`, 403},
		{"rotate another authority", "POST", "/v1/directory/authorities/NL/rotate", "DE/focal_point", `{}`, 403},
		{"partner reads raw log", "GET", "/v1/log/entries/1", "NL/partner", "", 403},
		{"admin reads notices", "GET", "/v1/notices", "/admin", "", 403},
	}
	for _, tc := range cases {
		status, b := h.do(tc.method, tc.path, tc.who, tc.body, nil)
		if status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, status, b, tc.want)
		}
	}
	h.n.wg.Wait() // receipts, if any were (wrongly) started
	if got := size(); got != before {
		t.Fatalf("rejected requests and non-recipient reads changed the log: size %d → %d", before, got)
	}

	// The recipient's focal point, reading concurrently: exactly one receipt.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, b := h.do("GET", "/v1/notices/"+a.ID, "NL/focal_point", "", nil); status != 200 {
				t.Errorf("NL focal point reading: %d %s", status, b)
			}
		}()
	}
	wg.Wait()
	h.n.wg.Wait()
	h.do("GET", "/v1/notices/"+a.ID, "NL/focal_point", "", nil)
	h.n.wg.Wait()
	var v struct {
		Receipts []receiptView `json:"receipts"`
	}
	h.do("GET", "/v1/notices/"+a.ID, "DE/focal_point", "", &v)
	if len(v.Receipts) != 1 || v.Receipts[0].Authority != "NL" || size() != before+1 {
		t.Errorf("after NL's reads: receipts %+v, log grew by %d; want one receipt by NL", v.Receipts, size()-before)
	}
}

// TestCheckpointSignedOncePerHead: the same tree head answers the same
// signed note (no signing per request); a new entry gives a new one.
func TestCheckpointSignedOncePerHead(t *testing.T) {
	h := newReviewHub(t)
	get := func() (uint64, string) {
		var cp struct {
			Size       uint64 `json:"size"`
			Checkpoint string `json:"checkpoint"`
		}
		if status, b := h.do("GET", "/v1/log/checkpoint", "NL/partner", "", &cp); status != 200 {
			t.Fatalf("checkpoint: %d %s", status, b)
		}
		return cp.Size, cp.Checkpoint
	}
	s1, n1 := get()
	s2, n2 := get()
	if s1 != s2 || n1 != n2 {
		t.Errorf("same head, different answers: %d %q / %d %q", s1, n1, s2, n2)
	}
	h.postAlert("DE/focal_point", `"NL"`, "H0")
	s3, n3 := get()
	if s3 != s1+1 || n3 == n1 || !strings.Contains(n3, "\n"+strconv.FormatUint(s3, 10)+"\n") {
		t.Errorf("after one more entry: size %d (was %d), note %q", s3, s1, n3)
	}
}

// TestSenderOnlyRecipient: naming only oneself is a validation error, not a
// 500 from the sealer.
func TestSenderOnlyRecipient(t *testing.T) {
	h := newReviewHub(t)
	status, b := h.do("POST", "/v1/notices", "DE/focal_point", `{"type":"alert","recipients":["DE"],"body":{"title":"t","summary":"s"}}`, nil)
	if status != http.StatusUnprocessableEntity {
		t.Errorf("alert to the sender only: %d %s, want 422", status, b)
	}
}

const reviewPreExport = `{"id":%q,"type":"pre_export","recipients":["NL"],"body":{
  "exporter": {"name": "E", "address": "A", "country": "DE"},
  "importer": {"name": "I", "address": "B", "country": "NL"},
  "items": [{"substance": "Pseudoephedrine", "quantity": 250, "unit": "kg"}],
  "export_authorization": "X",
  "transport": {"mode": "road", "departure_date": "2099-06-20"},
  "response_deadline": "2099-06-15"}}`

// TestConcurrentDecisions: two final decisions raced on one notice from
// the importing authority's node: one is recorded, the other refused (422),
// and every 201 reports the status the log really has.
func TestConcurrentDecisions(t *testing.T) {
	h := newReviewHub(t)
	var res postResult
	if status, b := h.do("POST", "/v1/notices", "DE/focal_point", fmt.Sprintf(reviewPreExport, uuid.NewString()), &res); status != 201 {
		t.Fatalf("posting pre_export: %d %s", status, b)
	}
	bodies := []string{`{"decision":"no_objection"}`, `{"decision":"objection","reason":"no"}`, `{"decision":"no_objection"}`, `{"decision":"objection","reason":"no"}`}
	type answer struct {
		code   int
		status string
	}
	answers := make([]answer, len(bodies))
	var wg sync.WaitGroup
	for i, b := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out struct {
				Status string `json:"status"`
			}
			code, _ := h.do("POST", "/v1/notices/"+res.ID+"/responses", "NL/focal_point", b, &out)
			answers[i] = answer{code, out.Status}
		}()
	}
	wg.Wait()
	var v struct {
		Status    string         `json:"status"`
		Responses []responseView `json:"responses"`
	}
	h.do("GET", "/v1/notices/"+res.ID, "DE/focal_point", "", &v)
	created := 0
	for _, a := range answers {
		if a.code == 201 {
			created++
			if a.status != v.Status {
				t.Errorf("a 201 said status %q; the notice is %q", a.status, v.Status)
			}
		} else if a.code != 422 {
			t.Errorf("unexpected answer %d", a.code)
		}
	}
	if created != 1 || len(v.Responses) != 1 {
		t.Errorf("answers %+v: %d created, %d responses in the log; want one decision recorded, the rest 422", answers, created, len(v.Responses))
	}
}

func TestConfigRefusesNegativeLimits(t *testing.T) {
	for _, f := range []func(*Config){
		func(c *Config) { c.RatePerSecond = -1 },
		func(c *Config) { c.RateBurst = -1 },
		func(c *Config) { c.MaxBodyBytes = -1 },
		func(c *Config) { c.RequestTimeout = -time.Second },
	} {
		c := DefaultConfig()
		c.NodeID, c.DataDir, c.API, c.Raft, c.HubID = "n1", t.TempDir(), "127.0.0.1:1", "127.0.0.1:2", strings.Repeat("ab", 32)
		if err := c.Validate(); err != nil {
			t.Fatalf("valid config refused: %v", err)
		}
		f(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("negative limit accepted: %+v", c)
		}
	}
}

// TestListByteBudget: a page ends once its bodies reach the byte budget,
// with a cursor that continues without gap or duplicate.
func TestListByteBudget(t *testing.T) {
	h := newReviewHub(t)
	old := listByteBudget
	listByteBudget = 1
	t.Cleanup(func() { listByteBudget = old })
	want := map[string]bool{}
	for range 3 {
		want[h.postAlert("DE/focal_point", `"NL"`, "H0").ID] = true
	}
	seen, cursor := map[string]bool{}, ""
	for pages := 1; ; pages++ {
		var p listPage
		q := "/v1/notices?limit=500"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		h.do("GET", q, "NL/focal_point", "", &p)
		if len(p.Notices) > 1 {
			t.Fatalf("page %d holds %d notices over a 1-byte budget", pages, len(p.Notices))
		}
		for _, v := range p.Notices {
			if seen[v.ID] {
				t.Errorf("notice %s listed twice", v.ID)
			}
			seen[v.ID] = true
		}
		if p.NextCursor == "" || pages > 10 {
			break
		}
		cursor = p.NextCursor
	}
	if len(seen) != len(want) {
		t.Errorf("listed %d notices, want %d", len(seen), len(want))
	}
}

// TestConcurrentRotations: rotations of one authority raced with each other
// leave a current key the log accepts.
func TestConcurrentRotations(t *testing.T) {
	h := newReviewHub(t)
	for round := range 2 {
		var wg sync.WaitGroup
		codes := make([]int, 3)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], _ = h.do("POST", "/v1/directory/authorities/DE/rotate", "DE/focal_point", `{}`, nil)
			}()
		}
		wg.Wait()
		status, b := h.do("POST", "/v1/notices", "DE/focal_point", `{"type":"alert","recipients":["NL"],"body":{"title":"t","summary":"s"}}`, nil)
		if status != 201 {
			t.Fatalf("round %d: rotations %v, then posting as DE: %d %s", round, codes, status, b)
		}
	}
}

// TestAnswerWriteDeadline: a client that asks for a large page and stops
// reading does not hold the handler forever.
func TestAnswerWriteDeadline(t *testing.T) {
	h := newReviewHub(t)
	big := strings.Repeat("x", 64<<10)
	for range 100 { // ~12 MiB of bodies: more than loopback socket buffers hold
		body := fmt.Sprintf(`{"type":"alert","recipients":["NL"],"body":{"title":"t","summary":%q,"modus_operandi":%q}}`, big, big)
		if status, b := h.do("POST", "/v1/notices", "DE/focal_point", body, nil); status != 201 {
			t.Fatalf("posting a large alert: %d %.200s", status, b)
		}
	}
	oldGrace, oldTimeout := answerWriteGrace, h.n.cfg.RequestTimeout
	answerWriteGrace, h.n.cfg.RequestTimeout = 0, 2*time.Second
	t.Cleanup(func() { answerWriteGrace, h.n.cfg.RequestTimeout = oldGrace, oldTimeout })
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		h.n.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /v1/notices?limit=500 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", h.tokens["NL/focal_point"])
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the handler still writes to a client that stopped reading 30 s later")
	}
}

// TestFeedStopsAfterRevocation: SPEC §4.1 — a revoked token is 401. A feed
// opened before the revocation must not go on delivering notices after it
// (node/feed authenticates once; serveFeed re-checks the token).
func TestFeedStopsAfterRevocation(t *testing.T) {
	old := feedTokenCheck
	feedTokenCheck = 100 * time.Millisecond
	t.Cleanup(func() { feedTokenCheck = old })
	h := newReviewHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.n.feed.Run(ctx)
	srv := httptest.NewServer(h.n.Handler())
	defer srv.Close()
	hdr := http.Header{"Authorization": {"Bearer " + h.tokens["NL/partner"]}}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/feed", hdr)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	frames := make(chan string, 64)
	go func() {
		defer close(frames)
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			frames <- string(msg)
		}
	}()
	waitNotice := func(id string) bool {
		deadline := time.After(5 * time.Second)
		for {
			select {
			case f, ok := <-frames:
				if !ok {
					return false
				}
				if strings.Contains(f, id) {
					return true
				}
			case <-deadline:
				return false
			}
		}
	}
	if !waitNotice(h.postAlert("DE/focal_point", `"NL"`, "H0").ID) {
		t.Fatal("the partner feed did not deliver a notice before the revocation")
	}
	var partnerID string
	for _, tk := range h.n.tokens.List() {
		if tk.Authority == "NL" && tk.Role == tokens.RolePartner {
			partnerID = tk.ID
		}
	}
	if err := h.n.tokens.Revoke(partnerID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the token store notices within 500 ms, the feed within 100 ms more
	if status, _ := h.do("GET", "/v1/directory", "NL/partner", "", nil); status != http.StatusUnauthorized {
		t.Fatalf("revoked token on the REST API: %d, want 401", status)
	}
	if id := h.postAlert("DE/focal_point", `"NL"`, "H0").ID; waitNotice(id) {
		t.Errorf("a notice posted after the token's revocation reached its open feed")
	}
}
