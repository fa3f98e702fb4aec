package node

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	if e := checkTransition(v, "DE", responsePlain{Decision: "shipped", Quantity: &q, Unit: "kg"}, at); e != nil {
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
