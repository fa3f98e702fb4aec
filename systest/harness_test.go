// Package systest holds system tests: they build the real penhub binary,
// start `penhub dev` as a user would (separate node processes, real Raft over
// mutual TLS, real bbolt files) and drive it through node/client and raw HTTP.
package systest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/penhub/penhub/node/client"
)

// penhubBin is the binary built once by TestMain.
var penhubBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "penhub-systest-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	penhubBin = filepath.Join(dir, "penhub")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	build := exec.Command("go", "build", "-o", penhubBin, "./cmd/penhub")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building penhub: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cluster is a running `penhub dev`.
type cluster struct {
	t    *testing.T
	dir  string
	base int
	dev  *exec.Cmd
	out  *bytes.Buffer
	info clusterFile
	// extra holds nodes restarted by the test with `penhub node`.
	extra map[string]*exec.Cmd
}

type clusterFile struct {
	HubID string `json:"hub_id"`
	Nodes []struct {
		ID          string   `json:"id"`
		API         string   `json:"api"`
		Raft        string   `json:"raft"`
		DataDir     string   `json:"data_dir"`
		Authorities []string `json:"authorities"`
		PID         int      `json:"pid"`
	} `json:"nodes"`
	Tokens []struct {
		Authority string `json:"authority"`
		Role      string `json:"role"`
		Node      string `json:"node"`
		Token     string `json:"token"`
	} `json:"tokens"`
}

// freeBase finds a base port P such that P+1..P+n and P+101..P+100+n are free.
func freeBase(t *testing.T, n int) int {
	for try := 0; try < 50; try++ {
		base := 20000 + rand.IntN(2000)*10
		ok := true
		for i := 1; i <= n && ok; i++ {
			for _, p := range []int{base + i, base + 100 + i} {
				ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
				if err != nil {
					ok = false
					break
				}
				ln.Close()
			}
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port range found")
	return 0
}

// startDev runs `penhub dev` in a fresh directory and waits for cluster.json.
// The port range is free for one more node (tests that join a node use it).
func startDev(t *testing.T, nodes int) *cluster {
	t.Helper()
	c := &cluster{t: t, dir: t.TempDir(), base: freeBase(t, nodes+1), out: &bytes.Buffer{}, extra: map[string]*exec.Cmd{}}
	c.start(nodes)
	t.Cleanup(c.stop)
	return c
}

func (c *cluster) start(nodes int) {
	c.t.Helper()
	os.Remove(filepath.Join(c.dir, "cluster.json"))
	c.dev = exec.Command(penhubBin, "dev", "--nodes", strconv.Itoa(nodes), "--dir", c.dir, "--base-port", strconv.Itoa(c.base))
	c.dev.Stdout, c.dev.Stderr = c.out, c.out
	c.dev.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.dev.Start(); err != nil {
		c.t.Fatalf("starting penhub dev: %v", err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		raw, err := os.ReadFile(filepath.Join(c.dir, "cluster.json"))
		if err == nil {
			if err := json.Unmarshal(raw, &c.info); err != nil {
				c.t.Fatalf("parsing cluster.json: %v", err)
			}
			return
		}
		if time.Now().After(deadline) {
			c.dumpLogs()
			c.t.Fatalf("penhub dev did not write cluster.json within 2 minutes; output:\n%s", c.out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop sends SIGINT to dev (as Ctrl-C would) and waits for it to exit.
func (c *cluster) stop() {
	for id, cmd := range c.extra {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		delete(c.extra, id)
	}
	if c.dev == nil || c.dev.ProcessState != nil {
		return
	}
	_ = c.dev.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- c.dev.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			c.t.Logf("penhub dev exited: %v", err)
		}
	case <-time.After(40 * time.Second):
		_ = syscall.Kill(-c.dev.Process.Pid, syscall.SIGKILL)
		<-done
		c.t.Errorf("penhub dev did not stop within 40 s of SIGINT")
	}
	if c.t.Failed() {
		c.dumpLogs()
	}
}

func (c *cluster) dumpLogs() {
	c.t.Logf("penhub dev output:\n%s", c.out)
	for _, n := range c.info.Nodes {
		raw, _ := os.ReadFile(filepath.Join(n.DataDir, "node.log"))
		if len(raw) > 8000 {
			raw = raw[len(raw)-8000:]
		}
		c.t.Logf("%s node.log (tail):\n%s", n.ID, raw)
	}
}

// token returns the token of authority/role ("" authority: the admin of node).
func (c *cluster) token(authority, role, node string) string {
	for _, tk := range c.info.Tokens {
		if tk.Authority == authority && tk.Role == role && (node == "" || tk.Node == node) {
			return tk.Token
		}
	}
	c.t.Fatalf("no %s token for %q", role, authority)
	return ""
}

// homeOf returns the node hosting authority.
func (c *cluster) homeOf(authority string) int {
	for i, n := range c.info.Nodes {
		for _, a := range n.Authorities {
			if a == authority {
				return i
			}
		}
	}
	c.t.Fatalf("no node hosts %q", authority)
	return -1
}

// client returns a client of authority's home node with its token of role.
func (c *cluster) client(authority, role string) *client.Client {
	n := c.info.Nodes[c.homeOf(authority)]
	return client.New(n.API, c.token(authority, role, n.ID), client.WithRetryBudget(20*time.Second))
}

func (c *cluster) admin(i int) *client.Client {
	n := c.info.Nodes[i]
	return client.New(n.API, c.token("", "admin", n.ID))
}

// leader returns the index of the node that currently leads, asking node from.
func (c *cluster) leader(ctx context.Context, skip int) int {
	c.t.Helper()
	for {
		for i := range c.info.Nodes {
			if i == skip {
				continue
			}
			st, err := c.admin(i).Status(ctx)
			if err != nil || st.Leader == "" {
				continue
			}
			for j, n := range c.info.Nodes {
				if n.ID == st.Leader && j != skip {
					return j
				}
			}
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("no leader found: %v", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// rawRequest sends an HTTP request and returns status, headers and body.
func rawRequest(t *testing.T, method, url, token string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, buf.Bytes()
}

// errorCode extracts error.code from an API error body.
func errorCode(body []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Error.Code
}
