package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/penhub/penhub/node/client"
)

// benchCluster is a 3-node hub laid out as penhub dev lays it out
// (bootstrapDev: demo authorities, tokens), each node a separate process of
// this binary with its own data dir under dir, on free loopback ports.
type benchCluster struct {
	dir   string
	base  int
	state *clusterFile
	hubID [32]byte
	procs []*benchProc
	log   io.Writer
}

// benchProc is one node process; done closes when it has been reaped.
type benchProc struct {
	id   string
	cmd  *exec.Cmd
	done chan struct{}
}

// benchFreeBase finds a base port P such that P+1..P+slots and
// P+101..P+100+slots are free on 127.0.0.1 (penhub dev's layout).
func benchFreeBase(slots int) (int, error) {
	for try := 0; try < 200; try++ {
		base := 20000 + rand.IntN(30000)
		ok := true
		var ls []net.Listener
		for k := 1; k <= slots && ok; k++ {
			for _, p := range []int{base + k, base + 100 + k} {
				l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
				if err != nil {
					ok = false
					break
				}
				ls = append(ls, l)
			}
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, fmt.Errorf("finding free ports: no free range found")
}

// startBenchCluster bootstraps a new dev hub in dir and starts its 3 nodes.
// One more node's ports (base+4, base+104) are free for catchup.
func startBenchCluster(ctx context.Context, dir string, log io.Writer) (*benchCluster, error) {
	base, err := benchFreeBase(4)
	if err != nil {
		return nil, err
	}
	state, err := bootstrapDev(dir, 3, base, false)
	if err != nil {
		return nil, fmt.Errorf("creating bench cluster: %w", err)
	}
	c := &benchCluster{dir: dir, base: base, state: state, log: log}
	hub, err := hex.DecodeString(state.HubID)
	if err != nil || len(hub) != 32 {
		return nil, fmt.Errorf("creating bench cluster: bad hub id %q", state.HubID)
	}
	copy(c.hubID[:], hub)
	for _, nd := range state.Nodes {
		p, err := startBenchNode(nd.ID, nd.DataDir)
		if err != nil {
			c.stop()
			return nil, err
		}
		c.procs = append(c.procs, p)
	}
	if err := waitReady(ctx, state.Nodes, 90*time.Second); err != nil {
		c.stop()
		return nil, fmt.Errorf("waiting for the bench cluster (see node.log under %s): %w", dir, err)
	}
	// Every node must see the same leader before the load starts.
	deadline := time.Now().Add(30 * time.Second)
	for {
		leaders := map[string]bool{}
		for i := range state.Nodes {
			if st, err := c.status(ctx, i); err == nil && st.Leader != "" {
				leaders[st.Leader] = true
			} else {
				leaders[""] = true
			}
		}
		if len(leaders) == 1 && !leaders[""] {
			break
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("waiting for the bench cluster to agree on a leader: %v", leaders)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return c, nil
}

func startBenchNode(id, dataDir string) (*benchProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the penhub binary: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(dataDir, "node.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening node log: %w", err)
	}
	cmd := exec.Command(self, "node", "--data-dir", dataDir)
	cmd.Stdout, cmd.Stderr = logf, logf
	// A node does not outlive a killed bench.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", id, err)
	}
	p := &benchProc{id: id, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// stop sends SIGTERM to every node, waits up to 20 s each for a clean
// shutdown, then kills what is left. It may be called more than once.
func (c *benchCluster) stop() {
	for _, p := range c.procs {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, p := range c.procs {
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			fmt.Fprintf(c.log, "bench: %s (pid %d) did not stop in 20 s; killing it\n", p.id, p.cmd.Process.Pid)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

// token returns the dev token of authority with role, "" when none.
func (c *benchCluster) token(authority, role, nodeID string) string {
	for _, t := range c.state.Tokens {
		if t.Authority == authority && t.Role == role && (nodeID == "" || t.Node == nodeID) {
			return t.Token
		}
	}
	return ""
}

// home returns the node hosting authority a.
func (c *benchCluster) home(a string) clusterNode {
	for _, nd := range c.state.Nodes {
		for _, x := range nd.Authorities {
			if x == a {
				return nd
			}
		}
	}
	return clusterNode{}
}

// status asks node i for /v1/status with its admin token.
func (c *benchCluster) status(ctx context.Context, i int) (*client.Status, error) {
	nd := c.state.Nodes[i]
	cl := client.New(nd.API, c.token("", "admin", nd.ID), client.WithTimeout(5*time.Second), client.WithRetryBudget(0))
	return cl.Status(ctx)
}

// rssAnon reads RssAnon (anonymous resident memory: heap, stacks; not the
// bbolt file mapping) and VmRSS of process pid from /proc, in bytes.
func rssAnon(pid int) (anon, total int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("reading memory of pid %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "RssAnon" && k != "VmRSS") {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) < 1 {
			continue
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("reading memory of pid %d: %s: %w", pid, k, err)
		}
		if k == "RssAnon" {
			anon = kb << 10
		} else {
			total = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("reading memory of pid %d: %w", pid, err)
	}
	if anon == 0 {
		return 0, 0, fmt.Errorf("reading memory of pid %d: no RssAnon line", pid)
	}
	return anon, total, nil
}
