package systest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/penhub/penhub/node/client"
)

// preExport returns a pre-export notification request from DE to NL whose
// body carries marker in several fields (to scan files for).
func preExport(clientID, marker string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{
  "id": %q, "type": "pre_export", "recipients": ["NL"], "handling": "H0",
  "body": {
    "exporter": {"name": "Exporter %s GmbH", "address": "Industriestrasse 12, Koeln %s", "country": "DE"},
    "importer": {"name": "Importer %s B.V.", "address": "Havenweg 4, Rotterdam", "country": "NL"},
    "items": [{"substance": "Pseudoephedrine", "cas": "90-82-4", "hs_code": "2939.42", "quantity": 250, "unit": "kg"}],
    "export_authorization": "DE-AUTH-%s",
    "transport": {"mode": "road", "route": ["DE", "NL"], "departure_date": "2030-06-20"},
    "response_deadline": "2030-06-15",
    "remarks": "marker %s"
  }}`, clientID, marker, marker, marker, marker, marker))
}

func alert(clientID, marker string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"id": %q, "type": "alert", "recipients": ["*"],
  "body": {"title": "Alert %s", "summary": "APAAN offered under false names %s",
           "substances": [{"substance": "APAAN"}]}}`, clientID, marker, marker))
}

// TestDevClusterEndToEnd is the main job of SPEC §2–§6 on a real 3-node
// `penhub dev`: post, read, confidentiality on disk, responses, broadcast,
// the error table, idempotency, leader loss, restart and offline verify.
func TestDevClusterEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("system test: starts real node processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c := startDev(t, 3)
	if len(c.info.Nodes) != 3 || c.info.HubID == "" {
		t.Fatalf("cluster.json: want 3 nodes and a hub id, got %+v", c.info)
	}
	for _, n := range c.info.Nodes {
		if n.PID <= 0 {
			t.Fatalf("cluster.json: node %s has no pid", n.ID)
		}
	}
	de := c.client("DE", "focal_point")
	nl := c.client("NL", "focal_point")
	in := c.client("IN", "focal_point")

	marker := "MRK" + strings.ReplaceAll(uuid.NewString(), "-", "")[:20]
	clientID := uuid.NewString()
	req := preExport(clientID, marker)

	// DE posts a pre_export to NL.
	posted, err := de.PostNotice(ctx, req)
	if err != nil {
		t.Fatalf("DE posting pre_export: %v", err)
	}
	if posted.ID == "" || !strings.HasPrefix(posted.Reference, "DE-") || posted.LeafHash == "" {
		t.Fatalf("post result: %+v", posted)
	}

	// NL reads it on its own node with every field intact.
	// (201 means applied on DE's node; NL's node applies it moments later.)
	var got *client.NoticeView
	waitFor(t, 10*time.Second, "NL's node to apply the notice", func() bool {
		got, err = nl.Notice(ctx, posted.ID)
		return err == nil
	})
	var want struct {
		Body map[string]any `json:"body"`
	}
	_ = json.Unmarshal(req, &want)
	var gotBody map[string]any
	_ = json.Unmarshal(got.Body, &gotBody)
	if !reflect.DeepEqual(want.Body, gotBody) {
		t.Fatalf("NL sees a different body:\nwant %v\ngot  %v", want.Body, gotBody)
	}
	if got.Sender != "DE" || got.Type != "pre_export" || got.Status == "" {
		t.Fatalf("NL's view: %+v", got)
	}
	if !contains(got.Recipients, "NL") || !contains(got.Recipients, "INT-INCB") {
		t.Errorf("recipients %v: want NL and the secretariat's automatic copy", got.Recipients)
	}

	// IN's token gets 404 (never content).
	if _, err := in.Notice(ctx, posted.ID); !isAPIError(err, http.StatusNotFound, "not_found") {
		t.Fatalf("IN reading DE→NL notice: want 404 not_found, got %v", err)
	}

	// NL objects; DE sees the objection.
	if _, err := nl.Respond(ctx, posted.ID, client.ResponseRequest{Decision: "objection", Reason: "importer unknown to NL " + marker}); err != nil {
		t.Fatalf("NL objecting: %v", err)
	}
	seen, err := de.Notice(ctx, posted.ID)
	if err != nil {
		t.Fatalf("DE reading its notice: %v", err)
	}
	if seen.Status != "objection" {
		t.Fatalf("DE sees status %q, want objection (responses %+v)", seen.Status, seen.Responses)
	}
	// NL's read produced a signed receipt DE can see (appended in the background).
	waitFor(t, 15*time.Second, "NL's read receipt", func() bool {
		v, err := de.Notice(ctx, posted.ID)
		return err == nil && len(v.Receipts) > 0 && v.Receipts[0].Authority == "NL"
	})

	// A broadcast alert to * reaches every authority.
	al, err := de.PostNotice(ctx, alert(uuid.NewString(), marker))
	if err != nil {
		t.Fatalf("DE posting alert: %v", err)
	}
	for _, n := range c.info.Nodes {
		for _, a := range n.Authorities {
			if a == "DE" {
				continue
			}
			// ?consistent=true waits until this node has caught up with the leader.
			status, _, body := rawRequest(t, "GET", n.API+"/v1/notices/"+al.ID+"?consistent=true", c.token(a, "focal_point", n.ID), nil, nil)
			if status != http.StatusOK || !bytes.Contains(body, []byte(marker)) {
				t.Errorf("%s reading the broadcast alert on %s: %d %s", a, n.ID, status, truncate(body))
			}
		}
	}

	// The same client id posted twice gives one notice.
	again, err := de.PostNotice(ctx, req)
	if err != nil || again.ID != posted.ID || again.Index != posted.Index || !again.Existing {
		t.Fatalf("re-posting the same client id: %+v, %v (want the original %s at %d, existing)", again, err, posted.ID, posted.Index)
	}

	t.Run("error table", func(t *testing.T) { errorTable(t, c, posted.ID) })
	t.Run("metrics", func(t *testing.T) { checkMetrics(t, c, marker) })

	// No field of the body appears in any file under IN's node data dir.
	// (The scan runs again after shutdown, when every file is flushed.)
	scanForMarker(t, c.info.Nodes[c.homeOf("IN")].DataDir, marker)

	// SIGKILL the leader: the cluster accepts posts again within 5 s.
	leader := c.leader(ctx, -1)
	killed := c.info.Nodes[leader]
	if err := syscall.Kill(killed.PID, syscall.SIGKILL); err != nil {
		t.Fatalf("killing leader %s (pid %d): %v", killed.ID, killed.PID, err)
	}
	start := time.Now()
	survivor := (leader + 1) % 3
	var authority string
	for _, a := range c.info.Nodes[survivor].Authorities {
		authority = a
		break
	}
	sc := client.New(c.info.Nodes[survivor].API, c.token(authority, "focal_point", c.info.Nodes[survivor].ID), client.WithRetryBudget(0))
	var afterKill *client.PostResult
	for {
		afterKill, err = sc.PostNotice(ctx, alert(uuid.NewString(), "after-kill"))
		if err == nil {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("no post accepted within 5 s of killing the leader: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("first post after leader SIGKILL committed after %v", time.Since(start).Round(time.Millisecond))

	// The killed node restarts with `penhub node --data-dir` and catches up.
	restarted := exec.Command(penhubBin, "node", "--data-dir", killed.DataDir)
	logf, _ := os.OpenFile(filepath.Join(killed.DataDir, "node.log"), os.O_APPEND|os.O_WRONLY, 0o600)
	restarted.Stdout, restarted.Stderr = logf, logf
	if err := restarted.Start(); err != nil {
		t.Fatalf("restarting %s: %v", killed.ID, err)
	}
	c.extra[killed.ID] = restarted
	waitFor(t, 60*time.Second, killed.ID+" catching up", func() bool {
		st, err := c.admin(leader).Status(ctx)
		return err == nil && st.AppliedIndex >= int64(afterKill.Index)
	})

	// Stop everything cleanly; every node's store verifies offline.
	c.stop()
	for _, n := range c.info.Nodes {
		out, err := exec.Command(penhubBin, "verify", "--data-dir", n.DataDir, "--hub-id", c.info.HubID).CombinedOutput()
		if err != nil {
			t.Errorf("penhub verify %s: %v\n%s", n.ID, err, out)
		}
	}
	scanForMarker(t, c.info.Nodes[c.homeOf("IN")].DataDir, marker)
	// Logs never contain notice content, on any node (recipients included).
	for _, n := range c.info.Nodes {
		if hits := filesContaining(t, filepath.Join(n.DataDir, "node.log"), marker); len(hits) > 0 {
			t.Errorf("notice content found in %s's log: %v", n.ID, hits)
		}
	}
}

// errorTable produces every row of SPEC §4.1 with a real request.
func errorTable(t *testing.T, c *cluster, noticeID string) {
	deNode := c.info.Nodes[c.homeOf("DE")]
	deTok := c.token("DE", "focal_point", deNode.ID)
	url := deNode.API + "/v1/notices"
	valid := func() []byte { return preExport(uuid.NewString(), "table") }
	cases := []struct {
		name   string
		method string
		url    string
		token  string
		body   []byte
		status int
		code   string
	}{
		{"no token", "GET", url, "", nil, 401, "unauthorized"},
		{"unknown token", "GET", url, "phk_nope", nil, 401, "unauthorized"},
		{"partner may not post", "POST", url, c.token("DE", "partner", deNode.ID), valid(), 403, "forbidden"},
		{"auditor may not list notices", "GET", url, c.token("DE", "auditor", deNode.ID), nil, 403, "forbidden"},
		{"body over 1 MiB", "POST", url, deTok, bytes.Repeat([]byte(" "), 1<<20+10), 413, "too_large"},
		{"malformed JSON", "POST", url, deTok, []byte(`{"type":`), 400, "bad_request"},
		{"unknown field", "POST", url, deTok, []byte(`{"type":"alert","recipients":["NL"],"body":{"title":"t","summary":"s"},"colour":"red"}`), 400, "bad_request"},
		{"wrong type", "POST", url, deTok, []byte(`{"type":"alert","recipients":"NL","body":{"title":"t","summary":"s"}}`), 400, "bad_request"},
		{"trailing data", "POST", url, deTok, []byte(`{"type":"alert","recipients":["NL"],"body":{"title":"t","summary":"s"}} {}`), 400, "bad_request"},
		{"schema violation", "POST", url, deTok, []byte(`{"type":"pre_export","recipients":["NL"],"body":{"exporter":{"name":"x","address":"y","country":"XX"},"importer":{"name":"a","address":"b","country":"NL"},"items":[{"substance":"Unobtainium","cas":"103-79-8","quantity":-1,"unit":"kg"}],"export_authorization":"e","transport":{"mode":"road","departure_date":"2030-06-20"},"response_deadline":"2001-01-01"}}`), 422, "validation_failed"},
		{"unknown recipient", "POST", url, deTok, []byte(`{"type":"alert","recipients":["FR"],"body":{"title":"t","summary":"s"}}`), 422, "unknown_recipient"},
		{"invalid transition: sender objects to its own notice", "POST", url + "/" + noticeID + "/responses", deTok, []byte(`{"decision":"objection","reason":"no"}`), 422, "invalid_transition"},
		{"no such notice", "GET", url + "/" + uuid.NewString(), deTok, nil, 404, "not_found"},
		{"malformed id", "GET", url + "/not-a-uuid", deTok, nil, 404, "not_found"},
	}
	for _, tc := range cases {
		status, _, body := rawRequest(t, tc.method, tc.url, tc.token, tc.body, nil)
		if status != tc.status || errorCode(body) != tc.code {
			t.Errorf("%s: got %d %s, want %d %s (%s)", tc.name, status, errorCode(body), tc.status, tc.code, truncate(body))
		}
	}
	// The schema violation names every wrong field at once.
	_, _, body := rawRequest(t, "POST", url, deTok, cases[9].body, nil)
	for _, field := range []string{"body.exporter.country", "body.items[0].substance", "body.items[0].cas", "body.items[0].quantity", "body.response_deadline"} {
		if !bytes.Contains(body, []byte(`"`+field+`"`)) {
			t.Errorf("validation_failed does not name %s: %s", field, truncate(body))
		}
	}

	// The console's session cookie authenticates like a bearer token, but
	// only for requests from the node's own origin (no cross-site writes).
	cookie := map[string]string{"Cookie": "penhub_session=" + deTok, "Origin": "http://127.0.0.1:1"}
	if status, _, body := rawRequest(t, "POST", url, "", valid(), cookie); status != 401 || errorCode(body) != "unauthorized" {
		t.Errorf("cross-site POST with the session cookie: got %d %s, want 401 unauthorized", status, truncate(body))
	}
	delete(cookie, "Origin")
	if status, _, body := rawRequest(t, "POST", url, "", valid(), cookie); status != 401 {
		t.Errorf("POST with the session cookie and no Origin: got %d %s, want 401", status, truncate(body))
	}
	cookie["Origin"] = deNode.API
	if status, _, body := rawRequest(t, "POST", url, "", valid(), cookie); status != 201 {
		t.Errorf("same-origin POST with the session cookie: got %d %s, want 201", status, truncate(body))
	}

	// 409: same client id, different content.
	id := uuid.NewString()
	if status, _, body := rawRequest(t, "POST", url, deTok, preExport(id, "first"), nil); status != 201 {
		t.Fatalf("posting: %d %s", status, truncate(body))
	}
	if status, _, body := rawRequest(t, "POST", url, deTok, preExport(id, "second"), nil); status != 409 || errorCode(body) != "conflict" {
		t.Errorf("same client id, other content: got %d %s, want 409 conflict", status, errorCode(body))
	}

	// 429: a node restarted with a low rate limit.
	t.Run("rate limit", func(t *testing.T) { rateLimited(t, c) })

	// 503 outcome_unknown then unavailable: pause both followers of the leader.
	t.Run("unavailable", func(t *testing.T) { unavailable(t, c) })
}

// rateLimited restarts IN's node with rate_per_second 1 / burst 2 and checks 429 with Retry-After.
func rateLimited(t *testing.T, c *cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	i := c.homeOf("IN")
	n := c.info.Nodes[i]
	if err := syscall.Kill(n.PID, syscall.SIGTERM); err != nil {
		t.Fatalf("stopping %s: %v", n.ID, err)
	}
	waitFor(t, 30*time.Second, n.ID+" stopping", func() bool { return syscall.Kill(n.PID, 0) != nil })
	cfgPath := filepath.Join(n.DataDir, "penhub.yaml")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	text := replaceLine(string(raw), "rate_per_second:", "rate_per_second: 1")
	text = replaceLine(text, "rate_burst:", "rate_burst: 2")
	if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(penhubBin, "node", "--data-dir", n.DataDir)
	logf, _ := os.OpenFile(filepath.Join(n.DataDir, "node.log"), os.O_APPEND|os.O_WRONLY, 0o600)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.info.Nodes[i].PID = cmd.Process.Pid
	c.extra[n.ID] = cmd
	waitFor(t, 60*time.Second, n.ID+" ready", func() bool {
		ok, err := client.New(n.API, "").Ready(ctx)
		return err == nil && ok
	})
	tok := c.token("IN", "focal_point", n.ID)
	var limited bool
	for k := 0; k < 10 && !limited; k++ {
		status, hdr, body := rawRequest(t, "GET", n.API+"/v1/directory", tok, nil, nil)
		if status == 429 {
			limited = errorCode(body) == "rate_limited" && hdr.Get("Retry-After") != ""
			if !limited {
				t.Errorf("429 without rate_limited code or Retry-After: %v %s", hdr, body)
			}
		}
	}
	if !limited {
		t.Errorf("10 quick requests at 1/s burst 2 were never rate limited")
	}
}

// unavailable pauses the leader's followers (SIGSTOP): a write in flight loses
// leadership (503 outcome_unknown), a later one finds no leader (503
// unavailable); after SIGCONT the retry with the same client id succeeds once.
func unavailable(t *testing.T, c *cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	leader := c.leader(ctx, -1)
	var paused []int
	for i, n := range c.info.Nodes {
		if i != leader {
			if err := syscall.Kill(n.PID, syscall.SIGSTOP); err != nil {
				t.Fatalf("pausing %s: %v", n.ID, err)
			}
			paused = append(paused, n.PID)
		}
	}
	for _, pid := range paused {
		waitFor(t, 5*time.Second, "process to stop", func() bool { return processState(pid) == 'T' })
	}
	t.Logf("leader %s; paused pids %v", c.info.Nodes[leader].ID, paused)
	resume := func() {
		for _, pid := range paused {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
		paused = nil
	}
	defer resume()
	ln := c.info.Nodes[leader]
	var authority string
	for _, a := range ln.Authorities {
		if a != "INT-INCB" {
			authority = a
		}
	}
	if authority == "" {
		authority = ln.Authorities[0]
	}
	tok := c.token(authority, "focal_point", ln.ID)
	id := uuid.NewString()
	body := alert(id, "unavailable")
	status, hdr, resp := rawRequest(t, "POST", ln.API+"/v1/notices", tok, body, nil)
	if status != 503 || errorCode(resp) != "outcome_unknown" || hdr.Get("Retry-After") == "" {
		t.Errorf("write while followers pause: got %d %s, want 503 outcome_unknown with Retry-After", status, truncate(resp))
	}
	status, hdr, resp = rawRequest(t, "POST", ln.API+"/v1/notices", tok, alert(uuid.NewString(), "no leader"), nil)
	if status != 503 || errorCode(resp) != "unavailable" || hdr.Get("Retry-After") == "" {
		t.Errorf("write with no leader: got %d %s, want 503 unavailable with Retry-After", status, truncate(resp))
	}
	resume()
	cl := client.New(ln.API, tok, client.WithRetryBudget(30*time.Second))
	first, err := cl.PostNotice(ctx, body)
	if err != nil {
		t.Fatalf("retrying with the same client id after recovery: %v", err)
	}
	second, err := cl.PostNotice(ctx, body)
	if err != nil || second.ID != first.ID || second.Index != first.Index {
		t.Fatalf("second retry: %+v %v, want the same notice as %+v", second, err, first)
	}
}

// scanForMarker fails if marker appears in any file under dir (raw bytes),
// after checking the scanner finds a marker it planted itself.
func scanForMarker(t *testing.T, dir, marker string) {
	t.Helper()
	control := filepath.Join(t.TempDir(), "control")
	if err := os.WriteFile(control, []byte("xx"+marker+"yy"), 0o600); err != nil {
		t.Fatal(err)
	}
	if hits := filesContaining(t, filepath.Dir(control), marker); len(hits) != 1 {
		t.Fatalf("scanner self-check: found %v", hits)
	}
	if hits := filesContaining(t, dir, marker); len(hits) > 0 {
		t.Errorf("plaintext of a notice IN may not read found in IN's node files: %v", hits)
	}
}

func filesContaining(t *testing.T, dir, s string) []string {
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		if bytes.Contains(raw, []byte(s)) {
			hits = append(hits, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	return hits
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func isAPIError(err error, status int, code string) bool {
	var e *client.APIError
	return errors.As(err, &e) && e.Status == status && e.Code == code
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func replaceLine(text, prefix, line string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			lines[i] = line
		}
	}
	return strings.Join(lines, "\n")
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// processState returns the state letter of a process from /proc (R, S, T...).
func processState(pid int) byte {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 || i+2 >= len(raw) {
		return 0
	}
	return raw[i+2]
}

// checkMetrics scrapes /metrics on every node: the series the operators need
// are there, and no label carries an authority id or notice content.
func checkMetrics(t *testing.T, c *cluster, marker string) {
	for _, n := range c.info.Nodes {
		status, _, body := rawRequest(t, "GET", n.API+"/metrics", "", nil, nil)
		if status != http.StatusOK {
			t.Fatalf("%s /metrics: %d", n.ID, status)
		}
		text := string(body)
		for _, series := range []string{"penhub_raft_is_leader", "penhub_log_size", "penhub_http_requests_total", "penhub_feed_subscribers", "penhub_fsm_batches_total", "penhub_ready 1"} {
			if !strings.Contains(text, series) {
				t.Errorf("%s /metrics lacks %s", n.ID, series)
			}
		}
		for _, line := range strings.Split(text, "\n") {
			open, close := strings.IndexByte(line, '{'), strings.IndexByte(line, '}')
			if strings.HasPrefix(line, "#") || open < 0 || close < open {
				continue
			}
			labels := line[open:close]
			for _, bad := range []string{`"DE"`, `"NL"`, `"IN"`, `"INT-INCB"`, `"NL-CUSTOMS"`, marker} {
				if strings.Contains(labels, bad) {
					t.Errorf("%s /metrics label carries %s: %s", n.ID, bad, line)
				}
			}
		}
	}
}
