package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runValidateT(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runValidate(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestValidateExamples(t *testing.T) {
	files, err := filepath.Glob("../../docs/examples/*.json")
	if err != nil || len(files) < 5 {
		t.Fatalf("examples: %v, %v", files, err)
	}
	// The examples must stay valid: today, and until their 2030 deadlines.
	for _, now := range []string{"", "2027-01-01", "2030-06-01"} {
		args := files
		if now != "" {
			args = append([]string{"--now", now}, files...)
		}
		if code, _, stderr := runValidateT(t, args...); code != 0 {
			t.Errorf("--now %q: exit %d\n%s", now, code, stderr)
		}
	}
	// Every notice type and a response are among them.
	var all strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		all.Write(data)
	}
	for _, s := range []string{`"type": "pre_export"`, `"type": "incident"`, `"category": "online_offer"`,
		`"type": "suspicious_transaction"`, `"type": "alert"`, `"recipients": ["*"]`, `"decision":`} {
		if !strings.Contains(all.String(), s) {
			t.Errorf("no example has %s", s)
		}
	}
}

func TestValidateFourProblems(t *testing.T) {
	const file = "testdata/four_problems.json"
	code, _, stderr := runValidateT(t, "--now", "2030-01-01", file)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	for _, want := range []string{
		file + ": body.items[0].cas: CAS number 103-79-8 has a wrong check digit (expected 7)",
		file + `: body.items[1].substance: unknown substance "Unobtainium"`,
		file + `: body.transport.route[1]: "XY" is not an ISO 3166-1 alpha-2 country code`,
		file + ": body.items[2].quantity: the quantity must be greater than 0 (got -20)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if n := strings.Count(stderr, "\n"); n != 4 {
		t.Errorf("%d lines, want one per problem (4):\n%s", n, stderr)
	}
}

func TestValidateProblems(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := "../../docs/examples/pre_export.json"
	malformed := write("malformed.json", `{"type":"alert",`)
	unknown := write("unknown.json", `{"type":"alert","recipients":["*"],"body":{"title":"t","summary":"s","colour":"red"}}`)
	badResponse := write("response.json", `{"decision":"objection"}`)
	missing := filepath.Join(dir, "missing.json")

	code, _, stderr := runValidateT(t, good, malformed, unknown, badResponse, missing)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{
		malformed + ": unexpected end of JSON",
		unknown + `: body.colour: unknown field "colour"`,
		badResponse + ": reason: a reason is required with objection",
		missing + ": cannot read the file",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, good) {
		t.Errorf("valid file reported:\n%s", stderr)
	}

	// --now moves "today": past the example's deadline it fails; flags may follow files.
	code, _, stderr = runValidateT(t, good, "--now", "2030-06-16")
	if code != 1 || !strings.Contains(stderr, good+": body.response_deadline: the response deadline 2030-06-15 has passed") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
	if code, _, stderr = runValidateT(t, "--now=2030-06-14", good); code != 0 {
		t.Errorf("the day before the deadline: exit %d\n%s", code, stderr)
	}
	if code, _, stderr = runValidateT(t, "--now=2030-06-15", good); code != 1 || !strings.Contains(stderr, "is today") {
		t.Errorf("the deadline day itself: exit %d\n%s", code, stderr)
	}
}

func TestValidateUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--now", "2030-01-01"},
		{"--bogus", "x.json"},
		{"--now", "01/01/2030", "x.json"},
		{"x.json", "--now"},
	} {
		if code, _, stderr := runValidateT(t, args...); code != 2 || !strings.HasPrefix(stderr, "penhub: validate: ") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
		}
	}
	if code, stdout, _ := runValidateT(t, "-h"); code != 0 || !strings.Contains(stdout, "usage: penhub validate") {
		t.Errorf("-h: exit %d, stdout %q", code, stdout)
	}
}

func TestValidateIsRegistered(t *testing.T) {
	if _, ok := commands["validate"]; !ok {
		t.Error("validate is not in the command table")
	}
}
