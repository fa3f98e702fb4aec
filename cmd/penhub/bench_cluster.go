package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/penhub/penhub/node/client"
)

// benchCluster is a 3-node hub run by `penhub dev` (a child process of this
// binary) in dir, on free loopback ports: demo authorities and tokens from
// cluster.json, each node a separate process with fsync on.
type benchCluster struct {
	dir   string
	base  int
	state *clusterFile
	hubID [32]byte
	dev   *benchProc   // penhub dev, which owns the 3 node processes
	extra []*benchProc // nodes the bench started itself (catchup)
	log   io.Writer
}

// benchProc is a child process; done closes when it has been reaped.
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

// startBenchCluster runs `penhub dev --nodes 3` on a new directory dir and
// waits for its cluster.json and for the nodes to agree on a leader. One
// more node's ports (base+4, base+104) are free for catchup.
func startBenchCluster(ctx context.Context, dir string, log io.Writer) (*benchCluster, error) {
	base, err := benchFreeBase(4)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	dev, err := startBenchProc("penhub dev", filepath.Join(dir, "dev.log"), "dev", "--nodes", "3", "--dir", dir, "--base-port", strconv.Itoa(base))
	if err != nil {
		return nil, err
	}
	c := &benchCluster{dir: dir, base: base, dev: dev, log: log}
	fail := func(err error) (*benchCluster, error) {
		c.stop()
		return nil, err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		raw, err := os.ReadFile(filepath.Join(dir, "cluster.json"))
		if err == nil {
			var st clusterFile
			if err := json.Unmarshal(raw, &st); err != nil {
				return fail(fmt.Errorf("parsing cluster.json: %w", err))
			}
			c.state = &st
			break
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("penhub dev wrote no cluster.json within 2 minutes (see %s)", filepath.Join(dir, "dev.log")))
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-dev.done:
			return fail(fmt.Errorf("penhub dev exited (see %s)", filepath.Join(dir, "dev.log")))
		case <-time.After(100 * time.Millisecond):
		}
	}
	hub, err := hex.DecodeString(c.state.HubID)
	if err != nil || len(hub) != 32 {
		return fail(fmt.Errorf("cluster.json: bad hub id %q", c.state.HubID))
	}
	copy(c.hubID[:], hub)
	// Every node must see the same leader before the load starts.
	deadline = time.Now().Add(30 * time.Second)
	for {
		leaders := map[string]bool{}
		for i := range c.state.Nodes {
			if st, err := c.status(ctx, i); err == nil && st.Leader != "" {
				leaders[st.Leader] = true
			} else {
				leaders[""] = true
			}
		}
		if len(leaders) == 1 && !leaders[""] {
			return c, nil
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("waiting for the bench cluster to agree on a leader: %v", leaders))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startBenchProc starts this binary with args, output appended to logPath.
func startBenchProc(id, logPath string, args ...string) (*benchProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the penhub binary: %w", err)
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", logPath, err)
	}
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// A child does not outlive a killed bench (dev then stops its nodes).
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

// stop stops the nodes the bench started, then penhub dev (which stops its
// nodes cleanly within 20 s), with SIGTERM; what is still running after
// 30 s is killed. It may be called more than once.
func (c *benchCluster) stop() {
	for _, p := range append(slices.Clone(c.extra), c.dev) {
		select {
		case <-p.done:
			continue
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			fmt.Fprintf(c.log, "bench: %s (pid %d) did not stop in 30 s; killing it\n", p.id, p.cmd.Process.Pid)
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

// clockTicks is USER_HZ, the unit of the CPU times in /proc (100 on every
// Linux architecture Go supports).
const clockTicks = 100

// cpuSample is the CPU time used so far by each watched process and by the
// whole machine, from /proc.
type cpuSample struct {
	at    time.Time
	procs map[string]time.Duration // name → user + system time
	busy  time.Duration            // machine: all CPUs, not idle or iowait
}

// sampleCPU reads the CPU time of the processes (name → pid; pid 0 is this
// process) and of the machine. Processes that cannot be read are left out.
func sampleCPU(pids map[string]int) cpuSample {
	s := cpuSample{at: time.Now(), procs: map[string]time.Duration{}}
	for name, pid := range pids {
		path := "/proc/self/stat"
		if pid != 0 {
			path = fmt.Sprintf("/proc/%d/stat", pid)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses and may hold spaces.
		i := strings.LastIndexByte(string(raw), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(raw[i+1:]))
		if len(f) < 13 {
			continue
		}
		ut, err1 := strconv.ParseInt(f[11], 10, 64) // utime, field 14
		st, err2 := strconv.ParseInt(f[12], 10, 64) // stime, field 15
		if err1 == nil && err2 == nil {
			s.procs[name] = time.Duration(ut+st) * time.Second / clockTicks
		}
	}
	if raw, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(raw), "\n")
		f := strings.Fields(line)
		var total, idle int64
		for i, v := range f[1:] {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				continue
			}
			if i < 8 { // user nice system idle iowait irq softirq steal (guest is inside user)
				total += n
			}
			if i == 3 || i == 4 {
				idle += n
			}
		}
		s.busy = time.Duration(total-idle) * time.Second / clockTicks
	}
	return s
}

// cpuUse describes the CPU spent between two samples: per process in
// milliseconds per operation, and how busy the machine was (percent of all
// its CPUs) in total and outside the watched processes.
func cpuUse(a, b cpuSample, ops int) map[string]any {
	out := map[string]any{}
	if ops <= 0 {
		return out
	}
	var ours time.Duration
	for name, t := range b.procs {
		if t0, ok := a.procs[name]; ok {
			out[name+"_cpu_ms_per_op"] = round(float64(t-t0)/float64(time.Millisecond)/float64(ops), 3)
			ours += t - t0
		}
	}
	out["all_cpu_ms_per_op"] = round(float64(ours)/float64(time.Millisecond)/float64(ops), 3)
	if wall := b.at.Sub(a.at); wall > 0 && b.busy > a.busy {
		capacity := float64(wall) * float64(runtime.NumCPU())
		out["machine_busy_pct"] = round(100*float64(b.busy-a.busy)/capacity, 1)
		out["other_processes_pct"] = round(100*max(0, float64(b.busy-a.busy-ours))/capacity, 1)
	}
	return out
}
