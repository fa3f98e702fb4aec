package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/penhub/penhub/node/client/clienttest"
)

// Tests of the API client commands against clienttest, a fake node.

const (
	cliTokDE   = "phk_cli_de"
	cliTokNL   = "phk_cli_nl"
	cliTokINCB = "phk_cli_incb"
	cliTokAdm  = "phk_cli_admin"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// cliServer starts a fake node and points PENHUB_NODE/PENHUB_TOKEN at it
// (DE's focal point).
func cliServer(t *testing.T) *clienttest.Server {
	t.Helper()
	s := clienttest.New("DE", "NL", "INT-INCB", "IN")
	t.Cleanup(s.Close)
	s.AddToken(cliTokDE, "DE", "focal_point")
	s.AddToken(cliTokNL, "NL", "focal_point")
	s.AddToken(cliTokINCB, "INT-INCB", "focal_point")
	s.AddToken(cliTokAdm, "", "admin")
	t.Setenv("PENHUB_NODE", s.URL)
	t.Setenv("PENHUB_TOKEN", cliTokDE)
	t.Setenv("PENHUB_CA", "")
	return s
}

type cliFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) int

func cliRun(t *testing.T, fn cliFunc, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = fn(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// wantOneErrorLine checks the error format of SPEC §3.
func wantOneErrorLine(t *testing.T, stderr, contains string) {
	t.Helper()
	if !strings.HasPrefix(stderr, "penhub: ") || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, contains) {
		t.Fatalf("stderr %q: want one line \"penhub: ...%s...\"", stderr, contains)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const alertFile = `{"type":"alert","recipients":["NL"],"body":{"title":"Watch out","summary":"s"}}`

func TestPostCommand(t *testing.T) {
	s := cliServer(t)
	f := writeFile(t, "alert.json", alertFile)
	code, out, errOut := cliRun(t, runPost, f)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	if !uuidRE.MatchString(id) || strings.Count(out, "\n") != 1 {
		t.Fatalf("stdout %q: want the notice id alone", out)
	}
	if !strings.Contains(errOut, "DE-") {
		t.Fatalf("stderr %q: want the reference", errOut)
	}
	reqs := s.Requests()
	var sent struct{ ID string }
	json.Unmarshal(reqs[len(reqs)-1].Body, &sent)
	if !uuidRE.MatchString(sent.ID) || sent.ID[14] != '4' {
		t.Fatalf("sent client id %q: want a fresh UUID v4", sent.ID)
	}

	// A file with its own id: re-running is idempotent.
	withID := writeFile(t, "withid.json", `{"id":"11111111-2222-4333-8444-555555555555",`+alertFile[1:])
	_, out1, _ := cliRun(t, runPost, withID)
	code, out2, errOut := cliRun(t, runPost, withID)
	if code != 0 || out1 != out2 || !strings.Contains(errOut, "already posted") {
		t.Fatalf("re-post: exit %d, %q vs %q, stderr %q", code, out1, out2, errOut)
	}

	// --json, flags after the file.
	code, out, _ = cliRun(t, runPost, f, "--json")
	var res struct {
		ID        string `json:"id"`
		Index     uint64 `json:"index"`
		Reference string `json:"reference"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Reference == "" || !uuidRE.MatchString(res.ID) {
		t.Fatalf("--json: exit %d, %q", code, out)
	}

	// Retries through a brief unavailability with the same client id.
	s.FailNext(clienttest.Fault{Status: 503, Code: "unavailable"})
	before := len(s.Requests())
	if code, _, errOut := cliRun(t, runPost, f); code != 0 {
		t.Fatalf("post through 503: exit %d: %s", code, errOut)
	}
	var ids []string
	for _, r := range s.Requests()[before:] {
		var v struct{ ID string }
		json.Unmarshal(r.Body, &v)
		ids = append(ids, v.ID)
	}
	if len(ids) != 2 || ids[0] != ids[1] {
		t.Fatalf("attempts carried ids %q, want the same twice", ids)
	}

	// outcome_unknown beyond the retry budget with a generated id: the error
	// names the id to put in the file.
	// (Retry-After beyond the 30 s budget: no retry.)
	s.FailNext(clienttest.Fault{Status: 503, Code: "outcome_unknown", RetryAfter: time.Minute})
	code, _, errOut = cliRun(t, runPost, f)
	if code != 1 {
		t.Fatalf("outcome_unknown: exit %d", code)
	}
	wantOneErrorLine(t, errOut, `to retry safely, add "id": "`)

	// Failures: exit 1, one line.
	bad := writeFile(t, "bad.json", `{"type":"nonsense","recipients":[],"body":{}}`)
	code, _, errOut = cliRun(t, runPost, bad)
	if code != 1 {
		t.Fatalf("invalid notice: exit %d", code)
	}
	wantOneErrorLine(t, errOut, `validation_failed: type: "nonsense" is not a notice type; recipients: at least one recipient is required`)
	code, _, errOut = cliRun(t, runPost, writeFile(t, "array.json", `[1]`))
	if code != 1 {
		t.Fatalf("non-object: exit %d", code)
	}
	wantOneErrorLine(t, errOut, "not a JSON object")
	code, _, errOut = cliRun(t, runPost, filepath.Join(t.TempDir(), "missing.json"))
	if code != 1 {
		t.Fatalf("missing file: exit %d", code)
	}
	wantOneErrorLine(t, errOut, "no such file")
	t.Setenv("PENHUB_TOKEN", "phk_unknown")
	code, _, errOut = cliRun(t, runPost, f)
	if code != 1 {
		t.Fatalf("bad token: exit %d", code)
	}
	wantOneErrorLine(t, errOut, "unauthorized")
}

func TestClientFlagsAndUsage(t *testing.T) {
	s := cliServer(t)
	f := writeFile(t, "alert.json", alertFile)
	tokFile := writeFile(t, "token", cliTokDE+"\n")

	t.Setenv("PENHUB_TOKEN", "")
	t.Setenv("PENHUB_NODE", "")
	cases := []struct {
		name string
		fn   cliFunc
		args []string
		code int
		err  string
	}{
		{"no node", runPost, []string{f}, 2, "no node"},
		{"no token", runPost, []string{"--node", s.URL, f}, 2, "no token"},
		{"both tokens", runPost, []string{"--node", s.URL, "--token", "x", "--token-file", tokFile, f}, 2, "not both"},
		{"bad node URL", runPost, []string{"--node", "127.0.0.1:1", "--token", "x", f}, 2, "want http"},
		{"no file", runPost, []string{"--node", s.URL, "--token", "x"}, 2, "one FILE"},
		{"unknown flag", runPost, []string{"--bogus", f}, 2, "flag provided but not defined"},
		{"show two ids", runShow, []string{"a", "b"}, 2, "exactly one"},
		{"respond without decision", runRespond, []string{"--node", s.URL, "--token", "x", "id"}, 2, "--decision"},
		{"quantity without unit", runRespond, []string{"id", "--decision", "shipped", "--quantity", "3"}, 2, "go together"},
		{"bad quantity", runRespond, []string{"id", "--decision", "shipped", "--quantity", "-3", "--unit", "kg"}, 2, "not a number > 0"},
		{"bad since", runSubscribe, []string{"--since", "-1"}, 2, "not a log index"},
		{"inbox argument", runInbox, []string{"extra"}, 2, "unexpected argument"},
		{"unreadable token file", runPost, []string{"--node", s.URL, "--token-file", filepath.Join(t.TempDir(), "nope"), f}, 1, "reading token file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := cliRun(t, c.fn, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, c.code, errOut)
			}
			if out != "" {
				t.Fatalf("stdout %q on error", out)
			}
			wantOneErrorLine(t, errOut, c.err)
		})
	}
	// --token-file and --node given explicitly work without the environment.
	code, out, errOut := cliRun(t, runPost, "--node", s.URL, "--token-file", tokFile, f)
	if code != 0 || !uuidRE.MatchString(strings.TrimSpace(out)) {
		t.Fatalf("--token-file: exit %d, %q, %q", code, out, errOut)
	}
	// -h prints the usage on stdout and exits 0.
	for _, fn := range []cliFunc{runPost, runInbox, runShow, runRespond, runSubscribe, runToken, runKeygen, runAuthority} {
		code, out, _ := cliRun(t, fn, "-h")
		if code != 0 || !strings.HasPrefix(out, "usage: penhub ") {
			t.Fatalf("-h: exit %d, %q", code, out)
		}
	}
}

func TestInboxCommand(t *testing.T) {
	s := cliServer(t)
	for range 3 {
		s.Post("NL", "alert", []string{"DE"}, `{"title":"t"}`)
	}
	s.Post("DE", "incident", []string{"NL", "IN", "INT-INCB", "DE"}, `{"category":"seizure"}`)
	s.Post("IN", "alert", []string{"NL"}, `{"title":"not for DE"}`)

	code, out, errOut := cliRun(t, runInbox)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "REFERENCE") || !strings.Contains(lines[0], "STATUS") {
		t.Fatalf("table:\n%s", out)
	}
	if !strings.Contains(lines[1], "incident") || !strings.Contains(lines[1], "NL,IN,INT-INCB +1") || !strings.Contains(lines[4], "NL-") {
		t.Fatalf("rows not newest first or recipients not shortened:\n%s", out)
	}

	code, out, _ = cliRun(t, runInbox, "--type", "alert", "--json")
	var ns []struct {
		Type   string          `json:"type"`
		Index  uint64          `json:"index"`
		Body   json.RawMessage `json:"body"`
		Status string          `json:"status"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &ns) != nil || len(ns) != 3 || ns[0].Index != 2 || ns[0].Type != "alert" || len(ns[0].Body) == 0 {
		t.Fatalf("--json: exit %d\n%s", code, out)
	}

	// Paging: more than one page, and --limit.
	for range 60 {
		s.Post("NL", "alert", []string{"DE"}, `{"title":"bulk"}`)
	}
	code, out, _ = cliRun(t, runInbox, "--json", "--limit", "0")
	if code != 0 || json.Unmarshal([]byte(out), &ns) != nil || len(ns) != 64 {
		t.Fatalf("--limit 0: %d notices", len(ns))
	}
	code, out, _ = cliRun(t, runInbox, "--json")
	if code != 0 || json.Unmarshal([]byte(out), &ns) != nil || len(ns) != 50 {
		t.Fatalf("default limit: %d notices", len(ns))
	}
	_, out, _ = cliRun(t, runInbox, "--type", "pre_export")
	if strings.TrimSpace(out) != "no notices" {
		t.Fatalf("empty inbox: %q", out)
	}
}

func TestShowCommand(t *testing.T) {
	s := cliServer(t)
	n := s.Post("NL", "pre_export", []string{"DE"}, `{"importer":{"country":"DE"},"items":[{"substance":"ephedrine","quantity":5,"unit":"kg"}]}`)
	t.Setenv("PENHUB_TOKEN", cliTokDE)
	if code, _, errOut := cliRun(t, runRespond, n.ID, "--decision", "objection", "--reason", "no plausible\nend use"); code != 0 {
		t.Fatalf("respond: %s", errOut)
	}
	code, out, errOut := cliRun(t, runShow, n.ID)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"NL-", "pre_export", "status    objection", `"substance": "ephedrine"`, "objection  -", "no plausible end use", "receipts:", "DE "} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = cliRun(t, runShow, n.ID, "--json")
	var v struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		Responses []struct {
			Decision string `json:"decision"`
		} `json:"responses"`
		Receipts []struct {
			Authority string `json:"authority"`
		} `json:"receipts"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.ID != n.ID || v.Status != "objection" || len(v.Responses) != 1 || len(v.Receipts) != 1 {
		t.Fatalf("--json: exit %d\n%s", code, out)
	}
	code, _, errOut = cliRun(t, runShow, "00000000-0000-4000-8000-000000000000")
	if code != 1 {
		t.Fatalf("unknown id: exit %d", code)
	}
	wantOneErrorLine(t, errOut, "not_found")
}

func TestRespondCommand(t *testing.T) {
	s := cliServer(t)
	n := s.Post("NL", "pre_export", []string{"DE"}, `{}`)
	code, out, errOut := cliRun(t, runRespond, n.ID, "--decision", "acknowledged")
	if code != 0 || !strings.Contains(out, "notice status: acknowledged") {
		t.Fatalf("exit %d, %q, %q", code, out, errOut)
	}
	code, out, _ = cliRun(t, runRespond, "--json", "--decision", "shipped", "--quantity", "2.5", "--unit", "kg", n.ID)
	var res struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Status != "shipped" {
		t.Fatalf("--json: exit %d, %q", code, out)
	}
	reqs := s.Requests()
	last := reqs[len(reqs)-1]
	var sent map[string]any
	json.Unmarshal(last.Body, &sent)
	if sent["quantity"] != 2.5 || sent["unit"] != "kg" || !uuidRE.MatchString(sent["id"].(string)) {
		t.Fatalf("sent %v", sent)
	}
	code, _, errOut = cliRun(t, runRespond, n.ID, "--decision", "maybe")
	if code != 1 {
		t.Fatalf("bad decision: exit %d", code)
	}
	wantOneErrorLine(t, errOut, "validation_failed: decision:")
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestSubscribeCommand(t *testing.T) {
	s := cliServer(t)
	t.Setenv("PENHUB_TOKEN", cliTokNL)
	for range 6 {
		s.Post("DE", "alert", []string{"NL"}, `{"title":"a"}`)
	}
	s.Post("DE", "incident", []string{"NL"}, `{}`)
	s.DropNextFeedAfter(3)
	s.ReplayOverlap(2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() { done <- runSubscribe(ctx, []string{"--since", "0", "--type", "alert"}, &out, &errOut) }()
	waitLines := func(n int) []string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if out.String() != "" && len(lines) >= n {
				return lines
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %d lines; have:\n%s\nstderr: %s", n, out.String(), errOut.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitLines(6)
	s.Post("DE", "alert", []string{"NL"}, `{"title":"live"}`)
	lines := waitLines(7)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d after interrupt: %s", code, errOut.String())
	}
	want := []int64{0, 1, 2, 3, 4, 5, 7}
	if len(lines) != len(want) {
		t.Fatalf("lines:\n%s", strings.Join(lines, "\n"))
	}
	for i, l := range lines {
		var m struct {
			Index int64  `json:"index"`
			Kind  string `json:"kind"`
			Type  string `json:"type"`
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil || m.Index != want[i] || m.Type != "alert" {
			t.Fatalf("line %d %q: want index %d of an alert (%v)", i, l, want[i], err)
		}
	}
	if s.FeedConnections() < 2 {
		t.Fatal("the dropped connection was not resumed")
	}
}
