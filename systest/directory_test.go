package systest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/penhub/penhub/node/client"
)

// alertTo is an alert from the token's authority to the given recipients.
func alertTo(marker string, recipients ...string) []byte {
	return []byte(fmt.Sprintf(`{"id":%q,"type":"alert","recipients":[%s],"body":{"title":"Alert %s","summary":"summary %s"}}`,
		uuid.NewString(), `"`+strings.Join(recipients, `","`)+`"`, marker, marker))
}

// run executes the penhub binary and returns its stdout; it fails the test on
// a non-zero exit.
func run(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(penhubBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("penhub %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// TestDirectoryGovernance admits a new country FR on a fourth node joined
// while the hub takes traffic, exchanges notices with it, rotates DE's keys
// (old and new notices still open and verify), and revokes IN (no longer
// addressable, its signature rejected by the log, its past entries verify).
func TestDirectoryGovernance(t *testing.T) {
	if testing.Short() {
		t.Skip("system test: starts real node processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c := startDev(t, 3)
	de := c.client("DE", "focal_point")
	incb := c.client("INT-INCB", "focal_point")
	node1 := c.info.Nodes[0]

	// IN posts before its revocation (to verify later).
	inPast, err := c.client("IN", "focal_point").PostNotice(ctx, alertTo("in-past", "DE"))
	if err != nil {
		t.Fatalf("IN posting: %v", err)
	}

	// Background traffic from DE while the new node joins.
	var stopTraffic atomic.Bool
	var trafficErrs, trafficOK atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stopTraffic.Load() {
			if _, err := de.PostNotice(ctx, alertTo("traffic", "NL")); err != nil {
				trafficErrs.Add(1)
			} else {
				trafficOK.Add(1)
			}
		}
	}()

	// The new country's node: init --join, admitted by the secretariat, started.
	d4 := filepath.Join(c.dir, "node4")
	api4 := "127.0.0.1:" + strconv.Itoa(c.base+4)
	raft4 := "127.0.0.1:" + strconv.Itoa(c.base+104)
	run(t, nil, "init", "--data-dir", d4, "--node-id", "node4", "--api", api4, "--raft", raft4,
		"--join", node1.API, "--hub-id", c.info.HubID, "--ca", filepath.Join(c.dir, "ca"),
		"--authority", "FR", "--token", c.token("DE", "auditor", node1.ID))
	secretariatEnv := []string{"PENHUB_NODE=" + node1.API, "PENHUB_TOKEN=" + c.token("INT-INCB", "focal_point", node1.ID)}
	run(t, secretariatEnv, "admit-node", "--request", filepath.Join(d4, "node-request.json"))
	n4 := exec.Command(penhubBin, "node", "--data-dir", d4)
	logf, err := os.Create(filepath.Join(d4, "node.log"))
	if err != nil {
		t.Fatal(err)
	}
	n4.Stdout, n4.Stderr = logf, logf
	if err := n4.Start(); err != nil {
		t.Fatalf("starting node4: %v", err)
	}
	c.extra["node4"] = n4
	waitFor(t, 60*time.Second, "node4 ready", func() bool {
		ok, err := client.New("http://"+api4, "").Ready(ctx)
		return err == nil && ok
	})
	run(t, secretariatEnv, "authority", "add", "--id", "FR", "--node", "node4", "--keys", filepath.Join(d4, "FR.pub"))
	frToken := strings.TrimSpace(run(t, nil, "token", "create", "--data-dir", d4, "--authority", "FR", "--role", "focal_point", "--label", "FR focal point"))
	stopTraffic.Store(true)
	wg.Wait()
	t.Logf("traffic during the join: %d posts committed, %d failed", trafficOK.Load(), trafficErrs.Load())
	if trafficOK.Load() == 0 || trafficErrs.Load() > 0 {
		t.Errorf("posts during the join: %d ok, %d failed; want all ok", trafficOK.Load(), trafficErrs.Load())
	}

	// FR and DE exchange notices.
	fr := client.New("http://"+api4, frToken, client.WithRetryBudget(20*time.Second))
	toFR, err := de.PostNotice(ctx, alertTo("de-to-fr", "FR"))
	if err != nil {
		t.Fatalf("DE posting to FR: %v", err)
	}
	waitFor(t, 15*time.Second, "FR reading DE's notice", func() bool { _, err := fr.Notice(ctx, toFR.ID); return err == nil })
	toDE, err := fr.PostNotice(ctx, alertTo("fr-to-de", "DE"))
	if err != nil {
		t.Fatalf("FR posting to DE: %v", err)
	}
	waitFor(t, 15*time.Second, "DE reading FR's notice", func() bool { _, err := de.Notice(ctx, toDE.ID); return err == nil })

	// Rotate DE's keys: notices before and after open for their recipients.
	dirBefore, err := de.Directory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := de.RotateAuthority(ctx, "DE", "scheduled rotation"); err != nil {
		t.Fatalf("rotating DE: %v", err)
	}
	dirAfter, err := de.Directory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if keysOf(dirAfter, "DE") != keysOf(dirBefore, "DE")+1 {
		t.Fatalf("DE has %d key generations after rotation, %d before", keysOf(dirAfter, "DE"), keysOf(dirBefore, "DE"))
	}
	afterRotation, err := de.PostNotice(ctx, alertTo("after-rotation", "FR"))
	if err != nil {
		t.Fatalf("DE posting after rotation: %v", err)
	}
	for _, id := range []string{toFR.ID, afterRotation.ID} {
		waitFor(t, 15*time.Second, "FR reading "+id, func() bool { _, err := fr.Notice(ctx, id); return err == nil })
		if _, err := de.Notice(ctx, id); err != nil {
			t.Errorf("DE reading its own notice %s after rotation: %v", id, err)
		}
	}
	if _, err := de.Notice(ctx, toDE.ID); err != nil {
		t.Errorf("DE reading FR's notice (sealed to DE's old key) after rotation: %v", err)
	}

	// Revoke IN.
	if _, err := incb.RevokeAuthority(ctx, "IN", "node compromised"); err != nil {
		t.Fatalf("revoking IN: %v", err)
	}
	status, _, body := rawRequest(t, "POST", node1.API+"/v1/notices", c.token("DE", "focal_point", node1.ID), alertTo("to-in", "IN"), nil)
	if status != http.StatusUnprocessableEntity || errorCode(body) != "unknown_recipient" {
		t.Errorf("posting to revoked IN: got %d %s, want 422 unknown_recipient", status, truncate(body))
	}
	inNode := c.info.Nodes[c.homeOf("IN")]
	waitFor(t, 15*time.Second, "IN's node to apply the revocation", func() bool {
		d, err := client.New(inNode.API, c.token("IN", "focal_point", inNode.ID)).Directory(ctx)
		return err == nil && statusOf(d, "IN") == "revoked"
	})
	before := logSize(t, ctx, c)
	status, _, body = rawRequest(t, "POST", inNode.API+"/v1/notices", c.token("IN", "focal_point", inNode.ID), alertTo("from-in", "DE"), nil)
	if status < 400 {
		t.Errorf("an entry signed with revoked IN's key was accepted: %d %s", status, truncate(body))
	}
	// Receipts may land meanwhile; no entry authored by IN may.
	admin := c.admin(0)
	for i := before; i < logSize(t, ctx, c); i++ {
		e, err := admin.Entry(ctx, uint64(i))
		if err != nil {
			t.Fatalf("reading entry %d: %v", i, err)
		}
		if e.Author == "IN" {
			t.Errorf("log index %d: an entry by revoked IN was applied", i)
		}
	}
	if _, err := de.Notice(ctx, inPast.ID); err != nil {
		t.Errorf("DE reading IN's past notice after the revocation: %v", err)
	}

	// Every node's store, node4's included, verifies offline after shutdown.
	c.stop()
	for _, dir := range []string{c.info.Nodes[0].DataDir, c.info.Nodes[1].DataDir, c.info.Nodes[2].DataDir, d4} {
		out, err := exec.Command(penhubBin, "verify", "--data-dir", dir, "--hub-id", c.info.HubID).CombinedOutput()
		if err != nil {
			t.Errorf("penhub verify %s: %v\n%s", dir, err, out)
		}
	}
}

func keysOf(d *client.Directory, id string) int {
	for _, a := range d.Authorities {
		if a.ID == id {
			return len(a.Keys)
		}
	}
	return 0
}

func statusOf(d *client.Directory, id string) string {
	for _, a := range d.Authorities {
		if a.ID == id {
			return a.Status
		}
	}
	return ""
}

// logSize returns the applied log size on the leader (applied_index + 1).
func logSize(t *testing.T, ctx context.Context, c *cluster) int64 {
	t.Helper()
	st, err := c.admin(c.leader(ctx, -1)).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st.AppliedIndex + 1
}
