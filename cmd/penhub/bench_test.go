package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBenchQuick builds penhub and runs `penhub bench --quick` with a few
// scenarios against a real 3-node cluster of separate processes. It checks
// the shape and sanity of every line (no failed posts, every feed delivery
// made, a verified store), never speed.
func TestBenchQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a 3-node cluster")
	}
	bin := filepath.Join(t.TempDir(), "penhub")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building penhub: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "bench", "--quick", "--duration", "2s", "--crypto-duration", "1s",
		"--subscribers", "30", "--notices", "300", "--dir", filepath.Join(t.TempDir(), "work"),
		"--scenarios", "crypto_ceiling,ingest,feed,fill,memory,catchup,verify")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("stderr:\n%s", stderr.String())
	if err != nil {
		t.Fatalf("penhub bench: %v\nstdout:\n%s", err, stdout.String())
	}
	lines := map[string]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(stdout.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		if !strings.HasPrefix(sc.Text(), `{"scenario":`) {
			t.Errorf("line does not start with the scenario: %s", sc.Text())
		}
		for _, k := range []string{"ops_per_s", "p50_ms", "p99_ms"} {
			if _, ok := m[k].(float64); !ok {
				t.Errorf("%v: %s missing or not a number", m["scenario"], k)
			}
		}
		lines[m["scenario"].(string)] = m
	}
	num := func(s, k string) float64 {
		v, ok := lines[s][k].(float64)
		if !ok {
			t.Errorf("%s: %s missing or not a number", s, k)
		}
		return v
	}
	for _, s := range []string{"crypto_ceiling", "ingest", "feed", "fill", "memory", "catchup", "verify"} {
		if lines[s] == nil {
			t.Fatalf("no %s line in:\n%s", s, stdout.String())
		}
	}
	for _, s := range []string{"crypto_ceiling", "ingest", "feed", "catchup", "verify"} {
		if num(s, "ops_per_s") <= 0 {
			t.Errorf("%s: ops_per_s %v", s, lines[s]["ops_per_s"])
		}
	}
	if num("ingest", "failed") != 0 || num("fill", "failed") != 0 || num("feed", "post_failed") != 0 {
		t.Errorf("failed posts: ingest %v, fill %v, feed %v", lines["ingest"]["failed"], lines["fill"]["failed"], lines["feed"]["post_failed"])
	}
	if got, want := num("feed", "deliveries"), num("feed", "deliveries_expected"); got != want || want == 0 {
		t.Errorf("feed: %v deliveries, want %v", got, want)
	}
	if num("fill", "stored_notices") < 300 {
		t.Errorf("fill: %v notices stored, want at least 300", lines["fill"]["stored_notices"])
	}
	if num("memory", "rss_anon_mib_max") <= 0 {
		t.Errorf("memory: rss_anon_mib_max %v", lines["memory"]["rss_anon_mib_max"])
	}
	if num("verify", "entries") < num("fill", "stored_notices") {
		t.Errorf("verify checked %v entries, fewer than the %v notices stored", lines["verify"]["entries"], lines["fill"]["stored_notices"])
	}
	if num("catchup", "log_entries") < num("fill", "stored_notices") {
		t.Errorf("catchup: %v log entries, fewer than the %v notices stored", lines["catchup"]["log_entries"], lines["fill"]["stored_notices"])
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--scenarios", "nope"},
		{"--senders", "FR"},
		{"--scenarios", "memory"}, // needs --notices
		{"--concurrency", "0"},
		{"extra"},
		{"--dir", t.TempDir() + "/.."}, // not empty
	} {
		var stdout, stderr bytes.Buffer
		if code := runBench(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("bench %v: exit %d, want 2 (stderr %q)", args, code, stderr.String())
		}
		if stdout.Len() != 0 {
			t.Errorf("bench %v printed %q", args, stdout.String())
		}
	}
}

func TestBenchBody(t *testing.T) {
	n, err := newBenchNotice(2048)
	if err != nil {
		t.Fatal(err)
	}
	for s := range benchSenders {
		if len(n.bodies[s]) != 2048 {
			t.Errorf("%s: body of %d bytes", s, len(n.bodies[s]))
		}
		a, b := n.request(s), n.request(s)
		if bytes.Equal(a, b) {
			t.Errorf("%s: two requests with the same client id", s)
		}
	}
	if n.envelopeSize <= 2048 {
		t.Errorf("sealed envelope of %d bytes", n.envelopeSize)
	}
	var l latencies = newLatencies([]time.Duration{4 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond})
	if l.ms(0.5) != 2 || l.ms(0.99) != 4 || l.ms(1) != 4 || (latencies{}).ms(0.5) != 0 {
		t.Errorf("quantiles of %v: p50 %v p99 %v", l, l.ms(0.5), l.ms(0.99))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(newResult("x", 1.25, l).add("target", ">= 1")); err != nil {
		t.Fatal(err)
	}
	if want := `{"scenario":"x","ops_per_s":1.3,"p50_ms":2,"p99_ms":4,"max_ms":4,"target":">= 1"}` + "\n"; buf.String() != want {
		t.Errorf("got %s, want %s", buf.String(), want)
	}
}
