package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/penhub/penhub/node/client"
	"github.com/penhub/penhub/node/client/clienttest"
)

const (
	tokDE      = "phk_de_focal"
	tokNL      = "phk_nl_focal"
	tokNLP     = "phk_nl_partner"
	tokINCB    = "phk_incb_focal"
	tokAdmin   = "phk_admin"
	tokAuditor = "phk_auditor"
)

func newServer(t *testing.T) *clienttest.Server {
	t.Helper()
	s := clienttest.New("DE", "NL", "INT-INCB", "IN")
	t.Cleanup(s.Close)
	s.AddToken(tokDE, "DE", "focal_point")
	s.AddToken(tokNL, "NL", "focal_point")
	s.AddToken(tokNLP, "NL", "partner")
	s.AddToken(tokINCB, "INT-INCB", "focal_point")
	s.AddToken(tokAdmin, "", "admin")
	s.AddToken(tokAuditor, "DE", "auditor")
	return s
}

// fast makes retries and reconnects quick.
var fast = client.WithBackoff(5*time.Millisecond, 50*time.Millisecond)

func alert(id, title string) json.RawMessage {
	idField := ""
	if id != "" {
		idField = fmt.Sprintf(`"id":%q,`, id)
	}
	return json.RawMessage(fmt.Sprintf(`{%s"type":"alert","recipients":["NL"],"body":{"title":%q,"summary":"s"}}`, idField, title))
}

func postIDs(s *clienttest.Server) []string {
	var ids []string
	for _, r := range s.Requests() {
		if r.Method == http.MethodPost && r.Path == "/v1/notices" {
			var v struct{ ID string }
			json.Unmarshal(r.Body, &v)
			ids = append(ids, v.ID)
		}
	}
	return ids
}

func TestPostReadAndIdempotency(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	de := client.New(s.URL, tokDE)
	res, err := de.PostNotice(ctx, alert("0b9e7c8a-5d6f-4a1b-8c2d-3e4f5a6b7c8d", "first"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ID == "" || res.Reference == "" || res.Existing || res.CreatedAt.IsZero() || res.LeafHash == "" {
		t.Fatalf("result %+v", res)
	}
	again, err := de.PostNotice(ctx, alert("0b9e7c8a-5d6f-4a1b-8c2d-3e4f5a6b7c8d", "first"))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Existing || again.ID != res.ID || again.Index != res.Index {
		t.Fatalf("repeat gave %+v, want the original %+v with Existing", again, res)
	}
	_, err = de.PostNotice(ctx, alert("0b9e7c8a-5d6f-4a1b-8c2d-3e4f5a6b7c8d", "other content"))
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 409 || apiErr.Code != client.CodeConflict {
		t.Fatalf("same id, other content: %v", err)
	}

	nl := client.New(s.URL, tokNL)
	v, err := nl.Notice(ctx, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != res.ID || v.Sender != "DE" || v.Type != "alert" || v.Status != "open" || !strings.Contains(string(v.Body), `"first"`) {
		t.Fatalf("view %+v", v)
	}
	if len(v.Receipts) != 1 || v.Receipts[0].Authority != "NL" {
		t.Fatalf("receipts %+v", v.Receipts)
	}
	// Not readable → 404, as for an id that does not exist.
	in := client.New(s.URL, tokINCB)
	for _, id := range []string{res.ID, "nonsense", "../../v1/status"} {
		_, err = in.Notice(ctx, id)
		if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Code != client.CodeNotFound {
			t.Fatalf("Notice(%q) by a non-recipient: %v", id, err)
		}
	}
	// Headers.
	for _, r := range s.Requests() {
		if r.UserAgent != client.DefaultUserAgent || !strings.HasPrefix(r.Authorization, "Bearer phk_") {
			t.Fatalf("request %s %s: User-Agent %q, Authorization %q", r.Method, r.Path, r.UserAgent, r.Authorization)
		}
	}
}

func TestPostStructRequest(t *testing.T) {
	s := newServer(t)
	req := struct {
		ID         string          `json:"id"`
		Type       string          `json:"type"`
		Recipients []string        `json:"recipients"`
		Body       json.RawMessage `json:"body"`
	}{"9f0e6a62-4a3b-4f2a-9a7e-0d3c2b1a0f9e", "incident", []string{"NL"}, json.RawMessage(`{"category":"seizure"}`)}
	res, err := client.New(s.URL, tokDE).PostNotice(context.Background(), &req)
	if err != nil || res.Existing {
		t.Fatalf("PostNotice(struct) = %+v, %v", res, err)
	}
}

func TestErrorDecoding(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	_, err := client.New(s.URL, tokDE).PostNotice(ctx, json.RawMessage(`{"type":"bogus","recipients":[],"body":{}}`))
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("want *APIError, got %T %v", err, err)
	}
	if apiErr.Status != 422 || apiErr.Code != client.CodeValidationFailed || len(apiErr.Fields) != 2 ||
		apiErr.Fields[0].Field != "type" || apiErr.Fields[0].Code != "enum" || apiErr.Fields[1].Field != "recipients" {
		t.Fatalf("decoded %+v", apiErr)
	}
	want := `validation_failed: type: "bogus" is not a notice type; recipients: at least one recipient is required`
	if apiErr.Error() != want {
		t.Fatalf("Error() = %q\nwant      %q", apiErr.Error(), want)
	}
	if !strings.HasPrefix(err.Error(), "posting notice: validation_failed: ") {
		t.Fatalf("wrapped error %q", err)
	}

	_, err = client.New(s.URL, "phk_wrong").Directory(ctx)
	if !errors.As(err, &apiErr) || apiErr.Status != 401 || apiErr.Code != client.CodeUnauthorized || apiErr.Error() != "unauthorized: no token, or an unknown, expired or revoked one" {
		t.Fatalf("bad token: %v", err)
	}
	_, err = client.New(s.URL, tokNLP).PostNotice(ctx, alert("", "x"))
	if !errors.As(err, &apiErr) || apiErr.Code != client.CodeForbidden {
		t.Fatalf("partner posting: %v", err)
	}
	_, err = client.New(s.URL, tokDE).PostNotice(ctx, json.RawMessage(`{"type":"alert","recipients":["XX"],"body":{}}`))
	if !errors.As(err, &apiErr) || apiErr.Code != client.CodeUnknownRecipient || len(apiErr.Fields) != 1 || apiErr.Fields[0].Field != "recipients[0]" {
		t.Fatalf("unknown recipient: %v", err)
	}

	// An answer that is not the JSON error shape (a proxy's page).
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html>bad gateway</html>\nmore")
	}))
	defer proxy.Close()
	_, err = client.New(proxy.URL, tokDE).Directory(ctx)
	if !errors.As(err, &apiErr) || apiErr.Status != 502 || apiErr.Code != "" || apiErr.Error() != "http 502: <html>bad gateway</html>" {
		t.Fatalf("proxy error: %v", err)
	}
	_, err = client.New("not a url", tokDE).Directory(ctx)
	if err == nil {
		t.Fatal("bad base URL accepted")
	}
}

func TestRetryUnavailableSameID(t *testing.T) {
	s := newServer(t)
	s.FailNext(
		clienttest.Fault{Status: 503, Code: client.CodeUnavailable, RetryAfter: time.Second},
		clienttest.Fault{Status: 429, Code: client.CodeRateLimited},
		clienttest.Fault{Status: 503, Code: client.CodeUnavailable},
	)
	const id = "5b1f5a64-1c1e-4c55-8f0e-6a3c2a1d9b7e"
	start := time.Now()
	res, err := client.New(s.URL, tokDE, fast).PostNotice(context.Background(), alert(id, "retried"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Existing {
		t.Fatal("a fresh notice reported as existing")
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("retried after %v: Retry-After: 1 not honoured", d)
	}
	ids := postIDs(s)
	if len(ids) != 4 || slices.ContainsFunc(ids, func(s string) bool { return s != id }) {
		t.Fatalf("POST attempts carried ids %q, want 4 × %q", ids, id)
	}
	if s.Size() != 1 {
		t.Fatalf("%d log entries, want 1", s.Size())
	}
}

func TestRetryOutcomeUnknown(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	// The write committed but the answer was lost: the retry with the same
	// id gets the original result.
	s.FailNext(clienttest.Fault{Status: 503, Code: client.CodeOutcomeUnknown, Commit: true})
	res, err := client.New(s.URL, tokDE, fast).PostNotice(ctx, alert("6c2e7b75-2d2f-4d66-9f1f-7b4d3b2eac8f", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Existing || s.Size() != 1 {
		t.Fatalf("result %+v with %d entries; want the committed original", res, s.Size())
	}
	// Without a client id a retry could duplicate: no retry.
	s.FailNext(clienttest.Fault{Status: 503, Code: client.CodeOutcomeUnknown, Commit: true})
	before := len(postIDs(s))
	_, err = client.New(s.URL, tokDE, fast).PostNotice(ctx, alert("", "y"))
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != client.CodeOutcomeUnknown {
		t.Fatalf("want outcome_unknown, got %v", err)
	}
	if n := len(postIDs(s)) - before; n != 1 {
		t.Fatalf("%d attempts without client id, want 1", n)
	}
}

func TestRetryBudget(t *testing.T) {
	s := newServer(t)
	for range 10 {
		s.FailNext(clienttest.Fault{Status: 503, Code: client.CodeUnavailable, RetryAfter: time.Second})
	}
	_, err := client.New(s.URL, tokDE, client.WithRetryBudget(1500*time.Millisecond)).PostNotice(context.Background(), alert("7d3f8c86-3e30-4e77-8a2a-8c5e4c3fbd90", "x"))
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != client.CodeUnavailable || apiErr.RetryAfter != time.Second {
		t.Fatalf("want unavailable after the budget, got %v", err)
	}
	if n := len(postIDs(s)); n != 2 {
		t.Fatalf("%d attempts within a 1.5 s budget at Retry-After 1 s, want 2", n)
	}
	// Context cancellation stops the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = client.New(s.URL, tokDE).PostNotice(ctx, alert("7d3f8c86-3e30-4e77-8a2a-8c5e4c3fbd91", "x"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v", err)
	}
}

func TestTimeout(t *testing.T) {
	block := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer block.Close()
	_, err := client.New(block.URL, tokDE, client.WithTimeout(50*time.Millisecond)).Directory(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a timeout, got %v", err)
	}
}

func TestPagination(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	de := client.New(s.URL, tokDE)
	for i := range 7 {
		if _, err := de.PostNotice(ctx, alert("", fmt.Sprint("n", i))); err != nil {
			t.Fatal(err)
		}
	}
	s.Post("DE", "incident", []string{"NL"}, `{"category":"seizure"}`)
	s.Post("IN", "alert", []string{"DE"}, `{"title":"from IN"}`)
	s.Post("IN", "alert", []string{"NL"}, `{"title":"not for DE"}`)

	var got []uint64
	opts := client.ListOptions{Type: "alert", Limit: 3}
	pages := 0
	for {
		page, err := de.ListNotices(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, n := range page.Notices {
			if n.Type != "alert" {
				t.Fatalf("type filter let %s through", n.Type)
			}
			got = append(got, n.Index)
		}
		if page.NextCursor == "" {
			break
		}
		opts.Cursor = page.NextCursor
	}
	want := []uint64{8, 6, 5, 4, 3, 2, 1, 0}
	if !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("indexes %v in %d pages, want %v in 3", got, pages, want)
	}
	since := uint64(5)
	page, err := de.ListNotices(ctx, client.ListOptions{Since: &since})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Notices) != 4 || page.Notices[0].Index != 8 || page.Notices[3].Index != 5 {
		t.Fatalf("since=5: %d notices", len(page.Notices))
	}
	last := s.Requests()[len(s.Requests())-1]
	if last.Query != "since=5" {
		t.Fatalf("query %q", last.Query)
	}
}

func TestRespond(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	n := s.Post("DE", "pre_export", []string{"NL"}, `{}`)
	nl := client.New(s.URL, tokNL, fast)
	q := 12.5
	s.FailNext(clienttest.Fault{Status: 503, Code: client.CodeOutcomeUnknown, Commit: true})
	res, err := nl.Respond(ctx, n.ID, client.ResponseRequest{ID: "8e4a9d97-4f41-4f88-9b3b-9d6f5d4ace01", Decision: "objection", Reason: "no end use", Quantity: &q, Unit: "kg"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "objection" || res.ID == "" {
		t.Fatalf("result %+v", res)
	}
	v, err := nl.Notice(ctx, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Responses) != 1 || v.Responses[0].Decision != "objection" || *v.Responses[0].Quantity != 12.5 || v.Status != "objection" {
		t.Fatalf("responses %+v, status %s (a retried response must not be doubled)", v.Responses, v.Status)
	}
	_, err = nl.Respond(ctx, n.ID, client.ResponseRequest{Decision: "no_objection"})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != client.CodeInvalidTransition {
		t.Fatalf("want invalid_transition, got %v", err)
	}
}

func TestDirectoryAndOperations(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	incb := client.New(s.URL, tokINCB)
	d, err := incb.Directory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Secretariat != "INT-INCB" || len(d.Authorities) != 4 || d.Authorities[0].Keys[0].Fingerprint == "" || len(d.Nodes) != 1 {
		t.Fatalf("directory %+v", d)
	}
	keys := []byte("# penhub public keys of DE-BKA\n-----BEGIN PENHUB PUBLIC KEYS-----\nAAAA\n-----END PENHUB PUBLIC KEYS-----\n")
	res, err := incb.AdmitAuthority(ctx, "DE-BKA", "node1", keys)
	if err != nil {
		t.Fatal(err)
	}
	if res.Op != "admit_authority" || res.ID == "" {
		t.Fatalf("admit %+v", res)
	}
	if got, _ := s.Admitted("DE-BKA"); got != string(keys) {
		t.Fatalf("public_keys sent as %q", got)
	}
	if _, err := client.New(s.URL, tokDE).RotateAuthority(ctx, "DE", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := client.New(s.URL, tokDE).RevokeAuthority(ctx, "NL", "x"); err == nil {
		t.Fatal("DE revoked NL")
	}
	if _, err := incb.RevokeAuthority(ctx, "DE-BKA", "test over"); err != nil {
		t.Fatal(err)
	}
	st, err := client.New(s.URL, tokAdmin).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.NodeID != "node1" || st.AppliedIndex != 2 || len(st.Peers) != 1 {
		t.Fatalf("status %+v", st)
	}
	e, err := client.New(s.URL, tokAuditor).Entry(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != "directory" || !strings.HasPrefix(string(e.Entry), "PHE1") {
		t.Fatalf("entry %+v", e)
	}
	ok, err := client.New(s.URL, "").Ready(ctx)
	if !ok || err != nil {
		t.Fatalf("Ready = %v, %v", ok, err)
	}
}

// collector gathers feed messages for a test.
type collector struct {
	mu   sync.Mutex
	msgs []client.FeedMessage
	ch   chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 1000)} }

func (c *collector) fn(m client.FeedMessage) error {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
	c.ch <- struct{}{}
	return nil
}

func (c *collector) waitFor(t *testing.T, n int) []client.FeedMessage {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		c.mu.Lock()
		if len(c.msgs) >= n {
			out := slices.Clone(c.msgs)
			c.mu.Unlock()
			return out
		}
		c.mu.Unlock()
		select {
		case <-c.ch:
		case <-timeout:
			t.Fatalf("timed out waiting for %d feed messages, have %d", n, len(c.msgs))
		}
	}
}

func indexes(ms []client.FeedMessage) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Index
	}
	return out
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func runSubscribe(t *testing.T, c *client.Client, opts client.SubscribeOptions, fn func(client.FeedMessage) error) (cancel func() error) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Subscribe(ctx, opts, fn) }()
	var once sync.Once
	var err error
	cancel = func() error {
		once.Do(func() {
			stop()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				err = errors.New("Subscribe did not return after cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { cancel() })
	return cancel
}

func TestSubscribeReconnectNoDuplicates(t *testing.T) {
	s := newServer(t)
	for i := range 10 {
		s.Post("DE", "alert", []string{"NL"}, fmt.Sprintf(`{"title":"t%d"}`, i))
	}
	s.DropNextFeedAfter(4) // the first connection dies after index 3
	s.ReplayOverlap(3)     // and the server replays 3 entries too many
	col := newCollector()
	since := uint64(0)
	cancel := runSubscribe(t, client.New(s.URL, tokNL, fast), client.SubscribeOptions{Since: &since}, col.fn)
	got := col.waitFor(t, 10)
	if !slices.Equal(indexes(got), seq(0, 10)) {
		t.Fatalf("replayed indexes %v", indexes(got))
	}
	// Live entries, then another drop in the middle of the live stream.
	for i := range 3 {
		s.Post("DE", "alert", []string{"NL"}, fmt.Sprintf(`{"title":"live%d"}`, i))
	}
	col.waitFor(t, 13)
	s.DropFeeds()
	for i := range 3 {
		s.Post("DE", "alert", []string{"NL"}, fmt.Sprintf(`{"title":"after%d"}`, i))
	}
	got = col.waitFor(t, 16)
	if err := cancel(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Subscribe returned %v, want context.Canceled", err)
	}
	if !slices.Equal(indexes(got), seq(0, 16)) {
		t.Fatalf("indexes %v, want 0..15 once each", indexes(got))
	}
	if n := s.FeedConnections(); n < 3 {
		t.Fatalf("%d feed connections, want ≥ 3", n)
	}
	for _, m := range got {
		if m.Kind != "notice" || m.Type != "alert" || m.Sender != "DE" || len(m.Raw) == 0 || !json.Valid(m.Raw) {
			t.Fatalf("message %+v", m)
		}
	}
}

// TestSubscribeResumesFromHeartbeat subscribes without since: after a gap in
// which the feed was down, it resumes from the last heartbeat and misses
// nothing, including entries it filters out.
func TestSubscribeResumesFromHeartbeat(t *testing.T) {
	s := newServer(t)
	s.Post("DE", "alert", []string{"NL"}, `{"title":"old"}`) // before the subscription: not delivered
	col := newCollector()
	cancel := runSubscribe(t, client.New(s.URL, tokNL, fast), client.SubscribeOptions{Types: []string{"alert"}, Heartbeats: true}, col.fn)
	hb := col.waitFor(t, 1)[0]
	if hb.Kind != client.KindHeartbeat || hb.Index != 0 {
		t.Fatalf("first message %+v, want heartbeat at 0", hb)
	}
	s.SetFeedDown(true)
	s.DropFeeds()
	s.Post("DE", "incident", []string{"NL"}, `{}`)           // index 1, filtered out
	s.Post("DE", "alert", []string{"NL"}, `{"title":"gap"}`) // index 2
	s.SetFeedDown(false)
	var notices []client.FeedMessage
	for n := 2; ; n++ {
		msgs := col.waitFor(t, n)
		notices = slices.DeleteFunc(slices.Clone(msgs), func(m client.FeedMessage) bool { return m.Kind == client.KindHeartbeat })
		if len(notices) > 0 {
			break
		}
	}
	cancel()
	if notices[0].Index != 2 || !strings.Contains(string(notices[0].Body), "gap") {
		t.Fatalf("after the gap got %+v, want index 2", notices[0])
	}
	if q := lastFeedQuery(s); !strings.Contains(q, "since=1") || !strings.Contains(q, "types=alert") {
		t.Fatalf("reconnect query %q, want since=1 and types=alert", q)
	}
}

func lastFeedQuery(s *clienttest.Server) string {
	var q string
	for _, r := range s.Requests() {
		if r.Path == "/v1/feed" {
			q = r.Query
		}
	}
	return q
}

func TestSubscribeStops(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	err := client.New(s.URL, "phk_wrong", fast).Subscribe(ctx, client.SubscribeOptions{}, func(client.FeedMessage) error { return nil })
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != client.CodeUnauthorized {
		t.Fatalf("bad token: %v", err)
	}
	err = client.New(s.URL, tokAdmin, fast).Subscribe(ctx, client.SubscribeOptions{}, func(client.FeedMessage) error { return nil })
	if !errors.As(err, &apiErr) || apiErr.Code != client.CodeForbidden {
		t.Fatalf("admin token: %v", err)
	}
	s.Post("DE", "alert", []string{"NL"}, `{}`)
	stop := errors.New("enough")
	since := uint64(0)
	err = client.New(s.URL, tokNL, fast).Subscribe(ctx, client.SubscribeOptions{Since: &since}, func(client.FeedMessage) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("fn error: Subscribe returned %v", err)
	}
}

func TestSubscribeRetriesUnavailable(t *testing.T) {
	s := newServer(t)
	s.SetFeedDown(true)
	col := newCollector()
	since := uint64(0)
	reported := make(chan error, 100)
	onReconnect := func(err error, wait time.Duration) {
		select {
		case reported <- err:
		default:
		}
	}
	cancel := runSubscribe(t, client.New(s.URL, tokNL, fast), client.SubscribeOptions{Since: &since, OnReconnect: onReconnect}, col.fn)
	s.Post("DE", "alert", []string{"NL"}, `{}`)
	err := <-reported
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != client.CodeUnavailable || apiErr.RetryAfter != time.Second {
		t.Fatalf("OnReconnect got %v, want the 503", err)
	}
	s.SetFeedDown(false)
	got := col.waitFor(t, 1)
	cancel()
	if got[0].Index != 0 {
		t.Fatalf("got %+v", got[0])
	}
}
