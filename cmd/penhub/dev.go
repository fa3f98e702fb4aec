package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/penhub/penhub/crypto"
	"github.com/penhub/penhub/node"
	"github.com/penhub/penhub/node/tokens"
)

func init() {
	register("dev", "run a local cluster of N nodes with demo authorities until Ctrl-C", runDev)
}

// devAuthorities returns the demo authorities hosted by node k (1-based), SPEC §3.1.
func devAuthorities(k int) []string {
	switch k {
	case 1:
		return []string{"INT-INCB", "DE"}
	case 2:
		return []string{"NL", "NL-CUSTOMS"}
	case 3:
		return []string{"IN"}
	}
	extra := []string{"CN", "US", "MX", "ZA", "BR", "AU"}
	return []string{extra[k-4]}
}

// clusterFile is DIR/cluster.json (SPEC §3.1).
type clusterFile struct {
	HubID  string         `json:"hub_id"`
	Nodes  []clusterNode  `json:"nodes"`
	Tokens []clusterToken `json:"tokens"`
}

type clusterNode struct {
	ID          string   `json:"id"`
	API         string   `json:"api"`
	Raft        string   `json:"raft"`
	DataDir     string   `json:"data_dir"`
	Authorities []string `json:"authorities"`
	PID         int      `json:"pid,omitempty"`
}

type clusterToken struct {
	Authority string `json:"authority"`
	Role      string `json:"role"`
	Node      string `json:"node"`
	Token     string `json:"token"`
}

// devStateFile keeps what dev created on its first run (the same shape as
// cluster.json without pids), so later runs resume the same cluster.
const devStateFile = "dev-state.json"

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nodes := fs.Int("nodes", 3, "number of nodes, 1-9")
	dir := fs.String("dir", "./penhub-dev", "data directory of the cluster")
	basePort := fs.Int("base-port", 7400, "node i serves its API on base+i and Raft on base+100+i")
	prepare := fs.Bool("prepare", false, "create the cluster's data dirs and tokens, then exit without starting nodes")
	docker := fs.Bool("docker", false, "with --prepare: lay nodes out for containers named node1..nodeN (API :7401 and Raft :7501 on every host; see deploy/)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *nodes < 1 || *nodes > 9 || *basePort < 1 || *basePort > 65535-110 || (*docker && !*prepare) {
		fmt.Fprintln(stderr, "usage: penhub dev [--nodes N (1-9)] [--dir DIR] [--base-port P] [--prepare [--docker]]")
		return 2
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return fail(stderr, "resolving --dir", err)
	}
	state, err := loadDevState(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(stdout, "creating a new %d-node dev hub in %s\n", *nodes, abs)
		if state, err = bootstrapDev(abs, *nodes, *basePort, *docker); err != nil {
			return fail(stderr, "creating dev cluster", err)
		}
	case err != nil:
		return fail(stderr, "reading dev cluster state", err)
	default:
		if len(state.Nodes) != *nodes && flagSet(fs, "nodes") {
			return fail(stderr, "resuming dev cluster", fmt.Errorf("%s holds a %d-node cluster; use another --dir for %d nodes", abs, len(state.Nodes), *nodes))
		}
		fmt.Fprintf(stdout, "resuming the %d-node dev hub in %s\n", len(state.Nodes), abs)
	}
	if *prepare {
		fmt.Fprintf(stdout, "prepared hub %s; start each node with: penhub node --data-dir %s/nodeK\n", state.HubID, abs)
		return 0
	}

	self, err := os.Executable()
	if err != nil {
		return fail(stderr, "finding the penhub binary", err)
	}
	procs := make([]*exec.Cmd, len(state.Nodes))
	var wg sync.WaitGroup
	defer func() { stopNodes(procs, stderr); wg.Wait() }()
	for i := range state.Nodes {
		nd := &state.Nodes[i]
		logf, err := os.OpenFile(filepath.Join(nd.DataDir, "node.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fail(stderr, "opening node log", err)
		}
		cmd := exec.Command(self, "node", "--data-dir", nd.DataDir)
		cmd.Stdout, cmd.Stderr = logf, logf
		// A node outlives neither a killed dev (Pdeathsig) nor Ctrl-C.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		if err := cmd.Start(); err != nil {
			logf.Close()
			return fail(stderr, "starting "+nd.ID, err)
		}
		procs[i] = cmd
		nd.PID = cmd.Process.Pid
		wg.Add(1)
		go func(id string, cmd *exec.Cmd, logf *os.File) {
			defer wg.Done()
			err := cmd.Wait()
			logf.Close()
			if ctx.Err() == nil {
				fmt.Fprintf(stderr, "penhub dev: %s (pid %d) exited: %v; restart it with: penhub node --data-dir %s\n", id, cmd.Process.Pid, err, filepath.Dir(logf.Name()))
			}
		}(nd.ID, cmd, logf)
	}
	if err := waitReady(ctx, state.Nodes, 90*time.Second); err != nil {
		return fail(stderr, "waiting for the nodes to become ready (see node.log in each node's data dir)", err)
	}
	if err := writeJSONFile(filepath.Join(abs, "cluster.json"), state); err != nil {
		return fail(stderr, "writing cluster.json", err)
	}
	fmt.Fprintf(stdout, "penhub dev hub %s is ready with %d nodes\n", state.HubID, len(state.Nodes))
	for _, nd := range state.Nodes {
		fmt.Fprintf(stdout, "  %s  %s  authorities %v  pid %d\n", nd.ID, nd.API, nd.Authorities, nd.PID)
	}
	fmt.Fprintf(stdout, "web console: %s/\ntokens:      %s (mode 0600)\nexample:     export PENHUB_NODE=%s PENHUB_TOKEN=$(jq -r '.tokens[]|select(.authority==\"DE\" and .role==\"focal_point\").token' %s)\n",
		state.Nodes[0].API, filepath.Join(abs, "cluster.json"), state.Nodes[0].API, filepath.Join(abs, "cluster.json"))
	fmt.Fprintln(stdout, "press Ctrl-C to stop")
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping nodes...")
	return 0
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// stopNodes sends SIGTERM to every node still running and waits up to 20 s
// for clean shutdowns before killing what is left.
func stopNodes(procs []*exec.Cmd, stderr io.Writer) {
	deadline := time.Now().Add(20 * time.Second)
	for _, p := range procs {
		if p != nil && p.ProcessState == nil {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, p := range procs {
		if p == nil {
			continue
		}
		for p.ProcessState == nil && time.Now().Before(deadline) {
			if err := p.Process.Signal(syscall.Signal(0)); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := p.Process.Signal(syscall.Signal(0)); err == nil && time.Now().After(deadline) {
			fmt.Fprintf(stderr, "penhub dev: pid %d did not stop in time; killing it\n", p.Process.Pid)
			_ = p.Process.Kill()
		}
	}
}

func waitReady(ctx context.Context, nodes []clusterNode, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for _, nd := range nodes {
		for {
			resp, err := client.Get(nd.API + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s at %s is not ready: %w", nd.ID, nd.API, ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

func loadDevState(dir string) (*clusterFile, error) {
	raw, err := os.ReadFile(filepath.Join(dir, devStateFile))
	if err != nil {
		return nil, err
	}
	var st clusterFile
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", devStateFile, err)
	}
	return &st, nil
}

// bootstrapDev creates keys, TLS material, the genesis entry, node data dirs
// and tokens for a new dev hub of n nodes.
//
// With docker, node k is the host "nodek": it binds its API on 0.0.0.0:7401
// (plain HTTP, allowed by insecure_http for the container network) and Raft
// on 0.0.0.0:7501, advertised as nodek:7501.
func bootstrapDev(dir string, n, basePort int, docker bool) (*clusterFile, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	ca, err := crypto.NewCA("penhub dev hub CA")
	if err != nil {
		return nil, err
	}
	if err := ca.WriteFiles(filepath.Join(dir, "ca")); err != nil {
		return nil, fmt.Errorf("writing hub CA: %w", err)
	}
	voters := min(n, 7)
	if voters%2 == 0 {
		voters--
	}
	type plannedNode struct {
		id, api, raft string
		bindAPI       string // what the node listens on
		bindRaft      string
		key           *crypto.Identity
		cert          tls.Certificate
		authorities   []*crypto.Identity
	}
	planned := make([]plannedNode, n)
	plan := node.GenesisPlan{
		HubName:            "penhub dev hub",
		Secretariat:        "INT-INCB",
		CopyTo:             []string{"INT-INCB"},
		CheckpointInterval: 100,
		HomeNode:           map[string]string{},
		Created:            time.Now(),
	}
	for i := range planned {
		k := i + 1
		p := &planned[i]
		p.id = "node" + strconv.Itoa(k)
		p.api = "127.0.0.1:" + strconv.Itoa(basePort+k)
		p.raft = "127.0.0.1:" + strconv.Itoa(basePort+100+k)
		p.bindAPI, p.bindRaft = p.api, p.raft
		if docker {
			p.api, p.raft = p.id+":7401", p.id+":7501"
			p.bindAPI, p.bindRaft = "0.0.0.0:7401", "0.0.0.0:7501"
		}
		if p.key, err = crypto.GenerateIdentity(rand.Reader, p.id); err != nil {
			return nil, err
		}
		if p.cert, err = ca.Issue(p.id, node.IPsOf(p.raft)); err != nil {
			return nil, err
		}
		rec, err := node.NodeRecordFor(p.id, "http://"+p.api, p.raft, i < voters, p.key, p.cert)
		if err != nil {
			return nil, err
		}
		plan.Nodes = append(plan.Nodes, rec)
		for _, a := range devAuthorities(k) {
			ident, err := crypto.GenerateIdentity(rand.Reader, a)
			if err != nil {
				return nil, err
			}
			p.authorities = append(p.authorities, ident)
			plan.Authorities = append(plan.Authorities, ident)
			plan.HomeNode[a] = p.id
		}
	}
	genesis, hubID, err := node.BuildGenesis(rand.Reader, plan)
	if err != nil {
		return nil, err
	}
	state := &clusterFile{HubID: node.HubIDHex(hubID)}
	for i, p := range planned {
		nodeDir := filepath.Join(dir, p.id)
		cfg := node.DefaultConfig()
		cfg.NodeID, cfg.DataDir, cfg.API, cfg.Raft, cfg.RaftAdvertise = p.id, nodeDir, p.bindAPI, p.bindRaft, p.raft
		cfg.InsecureHTTP = docker
		cfg.Bootstrap = i == 0
		cfg.HubID = state.HubID
		var ids []string
		for _, a := range p.authorities {
			ids = append(ids, a.ID)
		}
		cfg.Authorities = ids
		if err := node.WriteDataDir(node.Provision{Config: cfg, NodeKey: p.key, CACert: ca.CertPEM(), Cert: p.cert, Authorities: p.authorities, Genesis: genesis}); err != nil {
			return nil, fmt.Errorf("provisioning %s: %w", p.id, err)
		}
		store, err := tokens.Open(filepath.Join(nodeDir, node.TokensFile))
		if err != nil {
			return nil, err
		}
		for _, a := range ids {
			for _, role := range []tokens.Role{tokens.RoleFocalPoint, tokens.RolePartner, tokens.RoleAuditor} {
				secret, _, err := store.Create(a, role, "dev "+string(role)+" of "+a, 0)
				if err != nil {
					return nil, fmt.Errorf("creating token: %w", err)
				}
				state.Tokens = append(state.Tokens, clusterToken{Authority: a, Role: string(role), Node: p.id, Token: secret})
			}
		}
		secret, _, err := store.Create("", tokens.RoleAdmin, "dev admin of "+p.id, 0)
		if err != nil {
			return nil, fmt.Errorf("creating token: %w", err)
		}
		state.Tokens = append(state.Tokens, clusterToken{Role: string(tokens.RoleAdmin), Node: p.id, Token: secret})
		state.Nodes = append(state.Nodes, clusterNode{ID: p.id, API: "http://" + p.api, Raft: p.raft, DataDir: nodeDir, Authorities: ids})
	}
	if err := writeJSONFile(filepath.Join(dir, devStateFile), state); err != nil {
		return nil, err
	}
	return state, nil
}

// writeJSONFile writes v as indented JSON, atomically, mode 0600.
func writeJSONFile(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", filepath.Base(path), err)
	}
	return node.WriteFileAtomic(path, append(raw, '\n'), 0o600)
}
