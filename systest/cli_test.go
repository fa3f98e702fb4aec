package systest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/penhub/penhub/node/client"
)

// System tests of the client commands of the real penhub binary (SPEC §3)
// against a real `penhub dev` cluster: post, show, inbox, respond,
// validate, token create, and the exit codes and error format.

var cliUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// cliResult is one run of the binary.
type cliResult struct {
	code           int
	stdout, stderr string
}

// penhubCLI runs the binary with args and env (added to a copy of the
// environment without any PENHUB_ variables).
func penhubCLI(t *testing.T, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, penhubBin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PENHUB_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: errb.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok || ctx.Err() != nil {
			t.Fatalf("penhub %v: %v (ctx %v)", args, err, ctx.Err())
		}
		r.code = ee.ExitCode()
	}
	return r
}

// wantOK fails unless the run exited 0.
func (r cliResult) wantOK(t *testing.T, what string) cliResult {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstdout: %s\nstderr: %s", what, r.code, r.stdout, r.stderr)
	}
	return r
}

// wantFailure fails unless the run exited code with exactly one stderr line
// "penhub: ..." containing each of contains, and nothing on stdout.
func (r cliResult) wantFailure(t *testing.T, what string, code int, contains ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: exit %d, want %d (stderr %q)", what, r.code, code, r.stderr)
		return
	}
	if !strings.HasPrefix(r.stderr, "penhub: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("%s: stderr %q: want exactly one line \"penhub: ...\"", what, r.stderr)
	}
	for _, s := range contains {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("%s: stderr %q does not say %q", what, r.stderr, s)
		}
	}
	if r.stdout != "" {
		t.Errorf("%s: stdout %q, want nothing", what, r.stdout)
	}
}

// TestCLI drives the client commands of the binary against one 3-node
// cluster: DE's focal point on node1, NL's on node2.
func TestCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("system test: starts real node processes")
	}
	c := startDev(t, 3)
	deNode := c.info.Nodes[c.homeOf("DE")]
	nlNode := c.info.Nodes[c.homeOf("NL")]
	asDE := []string{"PENHUB_NODE=" + deNode.API, "PENHUB_TOKEN=" + c.token("DE", "focal_point", deNode.ID)}
	asNL := []string{"PENHUB_NODE=" + nlNode.API, "PENHUB_TOKEN=" + c.token("NL", "focal_point", nlNode.ID)}
	dir := t.TempDir()

	// validate: every shipped example is valid.
	examples, err := filepath.Glob("../docs/examples/*.json")
	if err != nil || len(examples) < 4 {
		t.Fatalf("docs/examples: %v, %v", examples, err)
	}
	penhubCLI(t, nil, append([]string{"validate"}, examples...)...).wantOK(t, "penhub validate docs/examples/*.json")

	// post FILE (the shipped example with a fresh client id) prints the id.
	raw, err := os.ReadFile("../docs/examples/pre_export.json")
	if err != nil {
		t.Fatal(err)
	}
	var req map[string]any
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	req["id"] = uuid.NewString()
	file := filepath.Join(dir, "pre_export.json")
	writeJSON(t, file, req)
	posted := penhubCLI(t, asDE, "post", file).wantOK(t, "penhub post")
	id := strings.TrimSpace(posted.stdout)
	if !cliUUID.MatchString(id) || strings.Count(posted.stdout, "\n") != 1 {
		t.Fatalf("penhub post printed %q, want one notice id", posted.stdout)
	}
	if !strings.Contains(posted.stderr, "DE-") || !strings.Contains(posted.stderr, "log index") {
		t.Errorf("penhub post stderr %q: want the reference and log index", posted.stderr)
	}
	// Posting the same file again is safe: the same notice.
	again := penhubCLI(t, asDE, "post", file).wantOK(t, "penhub post (again)")
	if strings.TrimSpace(again.stdout) != id || !strings.Contains(again.stderr, "already posted") {
		t.Errorf("re-posting the same file: %q / %q, want %s and a note that it was already posted", again.stdout, again.stderr, id)
	}
	// A file without an id gets a fresh one per run.
	delete(req, "id")
	noID := filepath.Join(dir, "no_id.json")
	writeJSON(t, noID, req)
	id2 := strings.TrimSpace(penhubCLI(t, asDE, "post", noID).wantOK(t, "penhub post (no id)").stdout)
	id3 := strings.TrimSpace(penhubCLI(t, asDE, "post", noID).wantOK(t, "penhub post (no id, again)").stdout)
	if !cliUUID.MatchString(id2) || id2 == id || id3 == id2 {
		t.Errorf("posting a file without id twice: %q then %q (first notice %s): want two new notices", id2, id3, id)
	}

	// show ID: table and --json, on DE's side.
	table := penhubCLI(t, asDE, "show", id).wantOK(t, "penhub show").stdout
	for _, want := range []string{id, "pre_export", "pending", "DE", "NL", "Chemiehandel Rhein GmbH", "responses:", "receipts:"} {
		if !strings.Contains(table, want) {
			t.Errorf("penhub show table lacks %q:\n%s", want, table)
		}
	}
	if strings.HasPrefix(strings.TrimSpace(table), "{") {
		t.Errorf("penhub show without --json printed JSON:\n%s", table)
	}
	var shown client.NoticeView
	decodeJSON(t, "penhub show --json", penhubCLI(t, asDE, "show", id, "--json").wantOK(t, "penhub show --json").stdout, &shown)
	var wantBody, gotBody any
	_ = json.Unmarshal(mustMarshal(t, req["body"]), &wantBody)
	_ = json.Unmarshal(shown.Body, &gotBody)
	if shown.ID != id || shown.Sender != "DE" || shown.Type != "pre_export" || shown.Status != "pending" || !reflect.DeepEqual(wantBody, gotBody) {
		t.Errorf("penhub show --json: %+v (body %s)", shown, truncate(shown.Body))
	}
	if !strings.Contains(table, shown.Reference) {
		t.Errorf("penhub show table lacks the reference %s", shown.Reference)
	}

	// inbox --json on NL's node lists it (once NL's node has applied it).
	var inbox []client.NoticeView
	waitFor(t, 15*time.Second, "the notice in NL's inbox", func() bool {
		inbox = nil
		decodeJSON(t, "penhub inbox --json", penhubCLI(t, asNL, "inbox", "--json").wantOK(t, "penhub inbox --json").stdout, &inbox)
		for _, n := range inbox {
			if n.ID == id {
				return true
			}
		}
		return false
	})
	for i, n := range inbox {
		if i > 0 && n.Index > inbox[i-1].Index {
			t.Errorf("penhub inbox --json: index %d after %d, want newest first", n.Index, inbox[i-1].Index)
		}
		if n.Sender != "NL" && !contains(n.Recipients, "NL") {
			t.Errorf("penhub inbox --json as NL lists %s from %s to %v", n.ID, n.Sender, n.Recipients)
		}
	}
	if out := penhubCLI(t, asNL, "inbox").wantOK(t, "penhub inbox").stdout; !strings.Contains(out, shown.Reference) {
		t.Errorf("penhub inbox table lacks %s:\n%s", shown.Reference, out)
	}

	// respond as NL: objection; DE's side then shows status objection.
	reason := "importer unknown to NL " + uuid.NewString()[:8]
	resp := penhubCLI(t, asNL, "respond", id, "--decision", "objection", "--reason", reason).wantOK(t, "penhub respond")
	if !strings.Contains(resp.stdout, "objection") {
		t.Errorf("penhub respond printed %q, want the new status", resp.stdout)
	}
	waitFor(t, 15*time.Second, "DE's node to show the objection", func() bool {
		var v client.NoticeView
		decodeJSON(t, "penhub show --json", penhubCLI(t, asDE, "show", "--json", id).wantOK(t, "penhub show --json").stdout, &v)
		return v.Status == "objection" && len(v.Responses) == 1 && v.Responses[0].Author == "NL" && v.Responses[0].Reason == reason
	})
	if out := penhubCLI(t, asDE, "show", id).wantOK(t, "penhub show").stdout; !strings.Contains(out, "objection") || !strings.Contains(out, reason) {
		t.Errorf("penhub show table after the objection:\n%s", out)
	}

	// token create while the node runs: the printed token works at once.
	tok := penhubCLI(t, nil, "token", "create", "--data-dir", nlNode.DataDir, "--authority", "NL", "--role", "partner", "--label", "x").wantOK(t, "penhub token create")
	secret := strings.TrimSpace(tok.stdout)
	if secret == "" || strings.Contains(secret, "\n") {
		t.Fatalf("penhub token create printed %q, want one token", tok.stdout)
	}
	// docs/api.md: the running node picks the change up within a second
	// (node/tokens stats tokens.json at most every 500 ms, so the very first
	// request may still get 401).
	created := time.Now()
	var status int
	var body []byte
	for {
		status, _, body = rawRequest(t, "GET", nlNode.API+"/v1/notices/"+id, secret, nil, nil)
		if status != http.StatusUnauthorized || time.Since(created) > 1500*time.Millisecond {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status != http.StatusOK || !bytes.Contains(body, []byte(id)) {
		t.Errorf("the new partner token %v after token create: %d %s, want 200 with the notice", time.Since(created).Round(time.Millisecond), status, truncate(body))
	}
	t.Logf("a token made by penhub token create worked %v after the command returned", time.Since(created).Round(time.Millisecond))
	asNew := []string{"PENHUB_NODE=" + nlNode.API, "PENHUB_TOKEN=" + secret}
	var partnerInbox []client.NoticeView
	decodeJSON(t, "penhub inbox --json (new token)", penhubCLI(t, asNew, "inbox", "--json").wantOK(t, "penhub inbox with the new token").stdout, &partnerInbox)
	if len(partnerInbox) == 0 {
		t.Errorf("the new partner token sees an empty inbox")
	}
	// A partner may not post: a failure, not a usage error.
	penhubCLI(t, asNew, "post", file).wantFailure(t, "partner posting", 1, "forbidden")
	// The token is node-local: node1 does not know it.
	status, _, body = rawRequest(t, "GET", deNode.API+"/v1/notices", secret, nil, nil)
	if status != http.StatusUnauthorized {
		t.Errorf("NL node's new token on DE's node: %d %s, want 401", status, truncate(body))
	}

	t.Run("usage errors exit 2", func(t *testing.T) {
		cases := []struct {
			name string
			env  []string
			args []string
		}{
			{"unknown command", asDE, []string{"frobnicate"}},
			{"post without FILE", asDE, []string{"post"}},
			{"post with two files", asDE, []string{"post", file, file}},
			{"post with an unknown flag", asDE, []string{"post", "--colour", "red", file}},
			{"show without ID", asDE, []string{"show"}},
			{"respond without --decision", asNL, []string{"respond", id}},
			{"respond --quantity without --unit", asNL, []string{"respond", id, "--decision", "shipped", "--quantity", "5"}},
			{"inbox with an argument", asDE, []string{"inbox", "extra"}},
			{"inbox --limit -1", asDE, []string{"inbox", "--limit", "-1"}},
			{"subscribe --since x", asNL, []string{"subscribe", "--since", "x"}},
			{"no PENHUB_NODE", []string{"PENHUB_TOKEN=x"}, []string{"show", id}},
			{"no token", []string{"PENHUB_NODE=" + deNode.API}, []string{"inbox"}},
			{"node not a URL", []string{"PENHUB_NODE=127.0.0.1:1", "PENHUB_TOKEN=x"}, []string{"inbox"}},
			{"token create without --role", nil, []string{"token", "create", "--data-dir", nlNode.DataDir, "--authority", "NL", "--label", "x"}},
			{"token create with a bad role", nil, []string{"token", "create", "--data-dir", nlNode.DataDir, "--authority", "NL", "--role", "king", "--label", "x"}},
			{"token without subcommand", nil, []string{"token"}},
			// Not client commands: exit 2 (their messages have other forms).
			{"no command", nil, nil},
			{"validate without files", nil, []string{"validate"}},
			{"validate with a bad --now", nil, []string{"validate", "--now", "tomorrow", file}},
		}
		for _, tc := range cases {
			r := penhubCLI(t, tc.env, tc.args...)
			if len(tc.args) == 0 || tc.args[0] == "validate" {
				if r.code != 2 || !strings.Contains(r.stderr, "penhub") {
					t.Errorf("%s: exit %d, stderr %q; want 2 and a message", tc.name, r.code, r.stderr)
				}
				continue
			}
			r.wantFailure(t, tc.name, 2)
		}
	})

	t.Run("failures exit 1 with one line", func(t *testing.T) {
		missing := filepath.Join(dir, "missing.json")
		invalid := filepath.Join(dir, "invalid.json")
		if err := os.WriteFile(invalid, []byte(`{"type":"pre_export","recipients":["NL"],"body":{"exporter":{"name":"x","address":"y","country":"XX"},"importer":{"name":"a","address":"b","country":"NL"},"items":[{"substance":"Unobtainium","cas":"103-79-8","quantity":-1,"unit":"kg"}],"export_authorization":"e","transport":{"mode":"road","departure_date":"2030-06-20"},"response_deadline":"2001-01-01"}}`), 0o600); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name     string
			env      []string
			args     []string
			contains []string
		}{
			{"show an unknown notice", asDE, []string{"show", uuid.NewString()}, []string{"not_found"}},
			{"show a notice IN may not read", []string{"PENHUB_NODE=" + c.info.Nodes[c.homeOf("IN")].API, "PENHUB_TOKEN=" + c.token("IN", "focal_point", "")}, []string{"show", id}, []string{"not_found"}},
			{"unknown token", []string{"PENHUB_NODE=" + deNode.API, "PENHUB_TOKEN=phk_nope"}, []string{"inbox"}, []string{"unauthorized"}},
			{"post a missing file", asDE, []string{"post", missing}, nil},
			{"post a schema violation", asDE, []string{"post", invalid}, []string{"validation_failed"}},
			{"respond: the sender objects to its own notice", asDE, []string{"respond", id, "--decision", "objection", "--reason", "no"}, []string{"invalid_transition"}},
			{"node down", []string{"PENHUB_NODE=http://127.0.0.1:1", "PENHUB_TOKEN=x"}, []string{"inbox"}, nil},
			{"token create in a missing data dir", nil, []string{"token", "create", "--data-dir", filepath.Join(dir, "nope"), "--authority", "NL", "--role", "partner", "--label", "x"}, nil},
		}
		for _, tc := range cases {
			penhubCLI(t, tc.env, tc.args...).wantFailure(t, tc.name, 1, tc.contains...)
		}
		// validate of a bad file: exit 1 and one line per problem, FILE: field: problem.
		r := penhubCLI(t, nil, "validate", "--now", "2026-01-01", invalid)
		if r.code != 1 {
			t.Errorf("validate of an invalid file: exit %d, want 1 (stderr %q)", r.code, r.stderr)
		}
		for _, field := range []string{"body.exporter.country", "body.items[0].cas", "body.items[0].quantity", "body.response_deadline"} {
			if !strings.Contains(r.stderr, invalid+": "+field+": ") {
				t.Errorf("validate stderr lacks a line for %s:\n%s", field, r.stderr)
			}
		}
	})
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := os.WriteFile(path, mustMarshal(t, v), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeJSON(t *testing.T, what, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%s printed %q: not the JSON expected: %v", what, truncate([]byte(s)), err)
	}
}
