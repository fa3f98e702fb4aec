package systest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/google/uuid"
)

// TestReviewConfidentiality drives the REST API of a real cluster with tokens
// that must not read a notice (a non-recipient country, a partner on an H2
// notice) through every read path: the notice, its responses, the list with
// since/cursor tricks, the raw log, and error messages; and checks the
// idempotency answers of notices and responses (200 same, 409 other).
func TestReviewConfidentiality(t *testing.T) {
	if testing.Short() {
		t.Skip("system test: starts real node processes")
	}
	c := startDev(t, 3)
	api := func(authority string) string { return c.info.Nodes[c.homeOf(authority)].API }
	tok := func(authority, role string) string {
		return c.token(authority, role, c.info.Nodes[c.homeOf(authority)].ID)
	}
	deFP, nlFP, nlPartner, inFP := tok("DE", "focal_point"), tok("NL", "focal_point"), tok("NL", "partner"), tok("IN", "focal_point")

	post := func(handling, marker string) (id string, index uint64) {
		t.Helper()
		body := fmt.Sprintf(`{"id":%q,"type":"alert","recipients":["NL"],"handling":%q,"body":{"title":"secret %s","summary":"summary %s"}}`,
			uuid.NewString(), handling, marker, marker)
		status, _, resp := rawRequest(t, "POST", api("DE")+"/v1/notices", deFP, []byte(body), nil)
		if status != http.StatusCreated {
			t.Fatalf("posting %s notice: %d %s", handling, status, resp)
		}
		var r struct {
			ID    string `json:"id"`
			Index uint64 `json:"index"`
		}
		if err := json.Unmarshal(resp, &r); err != nil {
			t.Fatal(err)
		}
		return r.ID, r.Index
	}
	h2Marker, h0Marker := "h2-"+uuid.NewString()[:8], "h0-"+uuid.NewString()[:8]
	h2ID, h2Index := post("H2", h2Marker)
	h0ID, _ := post("H0", h0Marker)
	secret := [][]byte{[]byte(h2Marker), []byte(h0Marker)}
	leaks := func(what string, body []byte) {
		t.Helper()
		for _, s := range secret {
			if bytes.Contains(body, s) {
				t.Errorf("%s: answer contains notice content %q: %s", what, s, body)
			}
		}
	}
	get := func(base, path, token string) (int, []byte) {
		t.Helper()
		status, _, body := rawRequest(t, "GET", base+path, token, nil, nil)
		return status, body
	}
	// Reads on other nodes wait until the node has applied what was committed.
	consistent := func(path string) string { return path + "?consistent=true" }

	// The recipient's focal point reads both (on its own node).
	for _, id := range []string{h2ID, h0ID} {
		if status, body := get(api("NL"), consistent("/v1/notices/"+id), nlFP); status != 200 {
			t.Fatalf("NL focal point reading %s: %d %s", id, status, body)
		}
	}

	// A non-recipient (IN) gets the same 404 for the notice as for an id
	// that names nothing, well-formed or not.
	_, refBody := get(api("IN"), "/v1/notices/"+uuid.NewString(), inFP)
	_, badBody := get(api("IN"), "/v1/notices/not-a-uuid", inFP)
	for _, id := range []string{h2ID, h0ID} {
		status, body := get(api("IN"), consistent("/v1/notices/"+id), inFP)
		if status != 404 || errorCode(body) != "not_found" {
			t.Errorf("IN reading %s: %d %s, want 404 not_found", id, status, body)
		}
		if !bytes.Equal(body, refBody) || !bytes.Equal(body, badBody) {
			t.Errorf("IN: 404 of an existing notice differs from an unknown id's:\n%s\n%s\n%s", body, refBody, badBody)
		}
		leaks("IN reading", body)
		// Responding to it: the same 404, nothing written.
		status, _, body = rawRequest(t, "POST", api("IN")+"/v1/notices/"+id+"/responses", inFP, []byte(`{"decision":"acknowledged"}`), nil)
		if status != 404 || errorCode(body) != "not_found" {
			t.Errorf("IN responding to %s: %d %s, want 404 not_found", id, status, body)
		}
	}
	// IN's list, whatever since and cursor say, shows neither.
	for _, q := range []string{"", "?since=0", "?cursor=" + strconv.FormatUint(h2Index+1, 10), "?since=" + strconv.FormatUint(h2Index, 10) + "&limit=500", "?type=alert"} {
		status, body := get(api("IN"), "/v1/notices"+q, inFP)
		if status != 200 {
			t.Errorf("IN list %q: %d %s", q, status, body)
		}
		leaks("IN list "+q, body)
		if bytes.Contains(body, []byte(h2ID)) || bytes.Contains(body, []byte(h0ID)) {
			t.Errorf("IN list %q names a notice IN may not read: %s", q, body)
		}
	}

	// NL's partner: the H0 notice, never the H2 one (get, list, responses).
	if status, body := get(api("NL"), "/v1/notices/"+h0ID, nlPartner); status != 200 || !bytes.Contains(body, []byte(h0Marker)) {
		t.Errorf("NL partner reading the H0 notice: %d %s", status, body)
	}
	status, body := get(api("NL"), "/v1/notices/"+h2ID, nlPartner)
	if status != 404 || !bytes.Equal(body, func() []byte { _, b := get(api("NL"), "/v1/notices/"+uuid.NewString(), nlPartner); return b }()) {
		t.Errorf("NL partner reading the H2 notice: %d %s, want the 404 of an unknown id", status, body)
	}
	for _, q := range []string{"", "?since=" + strconv.FormatUint(h2Index, 10), "?cursor=" + strconv.FormatUint(h2Index+1, 10) + "&limit=1"} {
		status, body := get(api("NL"), "/v1/notices"+q, nlPartner)
		if status != 200 || bytes.Contains(body, []byte(h2ID)) || bytes.Contains(body, []byte(h2Marker)) {
			t.Errorf("NL partner list %q: %d, shows the H2 notice: %s", q, status, body)
		}
	}
	if status, _, body := rawRequest(t, "POST", api("NL")+"/v1/notices/"+h0ID+"/responses", nlPartner, []byte(`{"decision":"acknowledged"}`), nil); status != 403 {
		t.Errorf("NL partner responding: %d %s, want 403", status, body)
	}

	// The raw log: auditors and admins only, ciphertext only.
	entryPath := "/v1/log/entries/" + strconv.FormatUint(h2Index, 10)
	for _, who := range []string{nlPartner, nlFP} {
		if status, body := get(api("NL"), entryPath, who); status != 403 {
			t.Errorf("log entry with a non-auditor token: %d %s, want 403", status, body)
		}
	}
	status, body = get(api("IN"), consistent(entryPath), tok("IN", "auditor"))
	if status != 200 {
		t.Fatalf("IN auditor reading the raw entry: %d %s", status, body)
	}
	var raw struct {
		Entry string `json:"entry"`
	}
	_ = json.Unmarshal(body, &raw)
	rawEntry, _ := base64.StdEncoding.DecodeString(raw.Entry)
	leaks("raw log entry", rawEntry)
	if len(rawEntry) == 0 {
		t.Errorf("raw log entry is empty: %s", body)
	}

	// Response idempotency: same client id and content → 200 with the
	// original, other content → 409, also for an amendment's changes.
	respond := func(base, token, id, body string) (int, []byte) {
		t.Helper()
		status, _, resp := rawRequest(t, "POST", base+"/v1/notices/"+id+"/responses", token, []byte(body), nil)
		return status, resp
	}
	ackID := uuid.NewString()
	ack := fmt.Sprintf(`{"id":%q,"decision":"acknowledged","reason":"seen"}`, ackID)
	s1, b1 := respond(api("NL"), nlFP, h0ID, ack)
	s2, b2 := respond(api("NL"), nlFP, h0ID, ack)
	s3, b3 := respond(api("NL"), nlFP, h0ID, fmt.Sprintf(`{"id":%q,"decision":"acknowledged","reason":"other"}`, ackID))
	if s1 != 201 || s2 != 200 || s3 != 409 {
		t.Errorf("acknowledgement retries: %d %d %d, want 201 200 409\n%s\n%s\n%s", s1, s2, s3, b1, b2, b3)
	}
	var r1, r2 map[string]any
	_ = json.Unmarshal(b1, &r1)
	_ = json.Unmarshal(b2, &r2)
	if r1["id"] != r2["id"] || r1["index"] != r2["index"] {
		t.Errorf("retry answered another response: %s vs %s", b1, b2)
	}
	amID := uuid.NewString()
	amend := func(summary string) string {
		return fmt.Sprintf(`{"id":%q,"decision":"amended","changes":{"summary":%q}}`, amID, summary)
	}
	s1, b1 = respond(api("DE"), deFP, h0ID, amend("amended once"))
	s2, b2 = respond(api("DE"), deFP, h0ID, amend("amended once"))
	s3, b3 = respond(api("DE"), deFP, h0ID, amend("amended differently"))
	if s1 != 201 || s2 != 200 || s3 != 409 {
		t.Errorf("amendment retries: %d %d %d, want 201 200 409\n%s\n%s\n%s", s1, s2, s3, b1, b2, b3)
	}

	// A notice retry answers 200 with the original even when the request
	// would no longer validate: here its recipient IN was revoked since.
	toIN := []byte(fmt.Sprintf(`{"id":%q,"type":"alert","recipients":["IN"],"body":{"title":"t","summary":"s"}}`, uuid.NewString()))
	s1, b1 = respondRaw(t, api("DE")+"/v1/notices", deFP, toIN)
	if s1 != 201 {
		t.Fatalf("posting to IN: %d %s", s1, b1)
	}
	if s, b := respondRaw(t, api("INT-INCB")+"/v1/directory/authorities/IN/revoke", tok("INT-INCB", "focal_point"), []byte(`{"reason":"review test"}`)); s != 201 {
		t.Fatalf("revoking IN: %d %s", s, b)
	}
	s2, b2 = respondRaw(t, api("DE")+"/v1/notices", deFP, toIN)
	if s2 != 200 || !bytes.Equal(b1, b2) {
		t.Errorf("retry after the recipient's revocation: %d %s, want 200 %s", s2, b2, b1)
	}
}

func respondRaw(t *testing.T, url, token string, body []byte) (int, []byte) {
	t.Helper()
	status, _, resp := rawRequest(t, "POST", url, token, body, nil)
	return status, resp
}
