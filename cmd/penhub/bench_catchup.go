package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/penhub/penhub/node"
	"github.com/penhub/penhub/node/client"
	"github.com/penhub/penhub/node/tokens"
)

// runCatchUp joins a fourth node as a non-voter the way an operator does
// (penhub init --join, penhub admit-node, penhub node) and measures the time
// from starting its process until it has applied the whole log as it stood
// when the node was admitted.
func (b *bencher) runCatchUp(ctx context.Context) error {
	c := b.cluster
	node1 := c.state.Nodes[0]
	d4 := filepath.Join(c.dir, "node4")
	api4 := "127.0.0.1:" + strconv.Itoa(c.base+4)
	raft4 := "127.0.0.1:" + strconv.Itoa(c.base+104)
	b.logf("%s: joining node4 (non-voter) to a log of %d notices", scCatchUp, b.posted)
	var errBuf bytes.Buffer
	if code := runInit(ctx, []string{"--data-dir", d4, "--node-id", "node4", "--api", api4, "--raft", raft4,
		"--join", node1.API, "--hub-id", c.state.HubID, "--ca", filepath.Join(c.dir, "ca"),
		"--token", c.token("DE", "auditor", node1.ID)}, io.Discard, &errBuf); code != 0 {
		return fmt.Errorf("catchup: penhub init --join: %s", bytes.TrimSpace(errBuf.Bytes()))
	}
	store, err := tokens.Open(filepath.Join(d4, node.TokensFile))
	if err != nil {
		return fmt.Errorf("catchup: %w", err)
	}
	admin, _, err := store.Create("", tokens.RoleAdmin, "bench admin of node4", 0)
	if err != nil {
		return fmt.Errorf("catchup: creating token: %w", err)
	}
	// Admit it; on a busy machine the answer may be 503 (outcome unknown),
	// so look in the directory before trying again.
	sec := client.New(node1.API, c.token(benchCopyTo, "focal_point", node1.ID), client.WithTimeout(10*time.Second))
	for try := 1; ; try++ {
		errBuf.Reset()
		if code := runAdmitNode(ctx, []string{"--request", filepath.Join(d4, nodeRequestFile), "--node", node1.API,
			"--token", c.token(benchCopyTo, "focal_point", node1.ID)}, io.Discard, &errBuf); code == 0 {
			break
		}
		time.Sleep(time.Second)
		if dir, err := sec.Directory(ctx); err == nil && slices.ContainsFunc(dir.Nodes, func(n client.DirectoryNode) bool { return n.ID == "node4" }) {
			break
		}
		if try == 5 {
			return fmt.Errorf("catchup: penhub admit-node: %s", bytes.TrimSpace(errBuf.Bytes()))
		}
		b.logf("%s: admit-node failed (%s); trying again", scCatchUp, bytes.TrimSpace(errBuf.Bytes()))
	}
	st, err := c.status(ctx, 0)
	if err != nil {
		return fmt.Errorf("catchup: status of node1: %w", err)
	}
	target := st.AppliedIndex
	p, err := startBenchProc("node4", filepath.Join(d4, "node.log"), "node", "--data-dir", d4)
	if err != nil {
		return err
	}
	c.extra = append(c.extra, p)
	start := time.Now()
	cl := client.New("http://"+api4, admin, client.WithTimeout(5*time.Second), client.WithRetryBudget(0))
	limit := max(10*time.Minute, 3*b.cfg.duration)
	var applied int64 = -1
	for applied < target {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.done:
			return fmt.Errorf("catchup: node4 exited (see %s)", filepath.Join(d4, "node.log"))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Since(start) > limit {
			return fmt.Errorf("catchup: node4 applied %d of %d entries in %v", applied+1, target+1, limit)
		}
		if s, err := cl.Status(ctx); err == nil {
			applied = s.AppliedIndex
		}
	}
	elapsed := time.Since(start)
	r := newResult(scCatchUp, float64(target+1)/elapsed.Seconds(), latencies{}).
		add("stored_notices", b.posted).add("log_entries", target+1).add("seconds", round(elapsed.Seconds(), 2))
	if anon, _, err := rssAnon(p.cmd.Process.Pid); err == nil {
		r.add("node4_rss_anon_mib", round(float64(anon)/(1<<20), 1))
	}
	r.add("includes", "node process start, joining over mTLS, snapshot install and log replay")
	return b.emit(r.add("target", "<= 60 s at 100000 notices").add("meets_target", elapsed <= 60*time.Second))
}
