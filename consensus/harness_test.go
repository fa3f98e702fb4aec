package consensus

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/penhub/penhub/consensus/ledger"
	"github.com/penhub/penhub/crypto"
)

// testCluster is a hub of real nodes in one process: real TCP on 127.0.0.1, mutual TLS
// from a fresh hub CA, bbolt files in t.TempDir(), real composite keys, and a genesis
// built with crypto and checked by the ledger.
type testCluster struct {
	t       testing.TB
	ca      *crypto.CA
	genesis []byte
	hub     [32]byte
	auth    map[string]*crypto.Identity // INT-INCB (secretariat, on node1), DE, NL
	members []*testMember
	tune    func(*Config)
	// interval is the genesis checkpoint_interval (default 1000).
	interval uint64
}

type testMember struct {
	id   string
	dir  string
	addr string
	cert tls.Certificate
	fp   string
	key  *crypto.SigningKey
	node *Node // nil while stopped
	// trusted is passed as Config.TrustedPeers.
	trusted []string
}

// testLogger writes through t.Log, so logs show only for failing tests. Set
// PENHUB_TEST_LOG=1 style verbosity by changing the level here when debugging.
func testLogger(t testing.TB, id string) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})).With("t", id)
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

type clusterOption func(*testCluster)

// withTune adjusts every member's Config before Open.
func withTune(f func(*Config)) clusterOption { return func(c *testCluster) { c.tune = f } }

// withInterval sets the genesis checkpoint interval.
func withInterval(n uint64) clusterOption { return func(c *testCluster) { c.interval = n } }

// largestOdd is the number of voters for n nodes: the largest odd number ≤ min(n, 7).
func largestOdd(n int) int {
	v := min(n, maxVoters)
	if v%2 == 0 {
		v--
	}
	return v
}

// newTestCluster creates and starts an n-node hub (genesis voters: largestOdd(n)) and
// waits until every node has applied the genesis entry.
func newTestCluster(t *testing.T, n int, opts ...clusterOption) *testCluster {
	t.Helper()
	return newTestClusterTB(t, n, opts...)
}

// newTestClusterTB is newTestCluster for tests and benchmarks.
func newTestClusterTB(t testing.TB, n int, opts ...clusterOption) *testCluster {
	t.Helper()
	c := &testCluster{t: t, auth: make(map[string]*crypto.Identity), interval: 1000}
	for _, o := range opts {
		o(c)
	}
	ca, err := crypto.NewCA("penhub test hub")
	if err != nil {
		t.Fatal(err)
	}
	c.ca = ca
	for i := 1; i <= n; i++ {
		c.members = append(c.members, c.newMember(fmt.Sprintf("node%d", i)))
	}
	for _, id := range []string{"INT-INCB", "DE", "NL"} {
		ident, err := crypto.GenerateIdentity(rand.Reader, id)
		if err != nil {
			t.Fatal(err)
		}
		c.auth[id] = ident
	}
	body := ledger.GenesisBody{
		HubName:            "test hub",
		CreatedAt:          "2026-11-28T00:00:00Z",
		Secretariat:        "INT-INCB",
		CopyTo:             []string{},
		CheckpointInterval: c.interval,
	}
	homes := map[string]string{"INT-INCB": "node1", "DE": "node1", "NL": c.members[min(1, n-1)].id}
	for _, id := range []string{"INT-INCB", "DE", "NL"} {
		a := c.auth[id]
		body.Authorities = append(body.Authorities, ledger.AuthorityRecord{ID: id, Node: homes[id], SignKey: a.Sign.Public().Bytes(), KEMKey: a.KEM.Public().Bytes()})
	}
	voters := largestOdd(n)
	for i, m := range c.members {
		body.Nodes = append(body.Nodes, m.record(i < voters))
	}
	c.genesis = c.signDirectory(ledger.OpGenesis, body, [32]byte{})
	c.hub = sha256.Sum256(c.genesis)
	for i := range c.members {
		c.start(i)
	}
	t.Cleanup(c.closeAll)
	c.waitSize(1, 20*time.Second)
	return c
}

func (c *testCluster) newMember(id string) *testMember {
	c.t.Helper()
	cert, err := c.ca.Issue(id, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		c.t.Fatal(err)
	}
	fp, err := crypto.CertificateFingerprint(cert)
	if err != nil {
		c.t.Fatal(err)
	}
	key, err := crypto.GenerateSigningKey(rand.Reader)
	if err != nil {
		c.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return &testMember{id: id, dir: c.t.TempDir(), addr: addr, cert: cert, fp: fp, key: key}
}

func (m *testMember) record(voter bool) ledger.NodeRecord {
	return ledger.NodeRecord{ID: m.id, Raft: m.addr, API: "http://" + m.id + ".invalid", TLSFingerprint: m.fp, CheckpointKey: m.key.Public().Bytes(), Voter: voter}
}

// signDirectory returns a kind-4 envelope with op and body, signed by the secretariat.
func (c *testCluster) signDirectory(op string, body any, hub [32]byte) []byte {
	c.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		c.t.Fatal(err)
	}
	sec := c.auth["INT-INCB"]
	h := crypto.Header{Kind: crypto.KindDirectory, HubID: hub, CreatedMS: time.Now().UnixMilli(), Author: "INT-INCB", Subtype: op}
	env, err := crypto.SignPlain(rand.Reader, h, b, crypto.Signer{ID: "INT-INCB", Key: sec.Sign})
	if err != nil {
		c.t.Fatal(err)
	}
	return env
}

// notice returns a sealed pre_export notice from DE to NL with a body of about size bytes.
func (c *testCluster) notice(clientID string, size int) []byte {
	c.t.Helper()
	return makeNotice(c.t, c.hub, c.auth, clientID, size)
}

func makeNotice(t testing.TB, hub [32]byte, auth map[string]*crypto.Identity, clientID string, size int) []byte {
	de, nl := auth["DE"], auth["NL"]
	h := crypto.Header{
		Kind:       crypto.KindNotice,
		HubID:      hub,
		EntryID:    crypto.NoticeID(hub, "DE", clientID),
		CreatedMS:  time.Now().UnixMilli(),
		Author:     "DE",
		Subtype:    "pre_export",
		Recipients: []string{"NL"},
	}
	pt := []byte(`{"body":{"remarks":"` + strings.Repeat("x", max(size-24, 0)) + `"}}`)
	env, err := crypto.Seal(rand.Reader, h, []crypto.Recipient{{ID: "NL", Key: nl.KEM.Public()}, {ID: "DE", Key: de.KEM.Public()}}, pt, crypto.Signer{ID: "DE", Key: de.Sign})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// addMember creates a member that is not in the genesis (not started).
func (c *testCluster) addMember(id string) int {
	c.members = append(c.members, c.newMember(id))
	return len(c.members) - 1
}

// directory proposes a secretariat-signed directory operation on member i.
func (c *testCluster) directory(i int, op string, body any) *Applied {
	c.t.Helper()
	return c.propose(i, c.signDirectory(op, body, c.hub))
}

func (c *testCluster) config(i int) Config {
	m := c.members[i]
	cfg := DefaultConfig()
	cfg.NodeID = m.id
	cfg.DataDir = m.dir
	cfg.RaftBind = m.addr
	cfg.CACert = c.ca.Pool()
	cfg.Cert = m.cert
	cfg.NodeKey = m.key
	cfg.Genesis = c.genesis
	cfg.Bootstrap = i == 0
	cfg.TrustedPeers = m.trusted
	cfg.Logger = testLogger(c.t, m.id)
	// Production timeouts with a longer lease: tests share two cores with other packages'
	// tests, and a starved leader should not step down every few hundred milliseconds.
	cfg.HeartbeatTimeout = time.Second
	cfg.ElectionTimeout = time.Second
	cfg.LeaderLeaseTimeout = time.Second
	if c.tune != nil {
		c.tune(&cfg)
	}
	return cfg
}

// start opens member i (again) from its data directory.
func (c *testCluster) start(i int) *Node {
	c.t.Helper()
	m := c.members[i]
	if m.node != nil {
		c.t.Fatalf("%s already running", m.id)
	}
	var node *Node
	var err error
	// The port was free a moment ago; after a restart it may be in TIME_WAIT briefly.
	for try := 0; try < 50; try++ {
		node, err = Open(context.Background(), c.config(i))
		if err == nil || !strings.Contains(err.Error(), "listening") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatalf("opening %s: %v", m.id, err)
	}
	m.node = node
	return node
}

// stop closes member i gracefully (leadership transfer if it leads).
func (c *testCluster) stop(i int) {
	c.t.Helper()
	m := c.members[i]
	if m.node == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.node.Close(ctx); err != nil {
		c.t.Errorf("closing %s: %v", m.id, err)
	}
	m.node = nil
}

// kill stops member i abruptly: raft shuts down without a leadership transfer and the
// port closes, as in a crash (the stores are closed so the test can reopen them).
func (c *testCluster) kill(i int) {
	c.t.Helper()
	m := c.members[i]
	if m.node == nil {
		return
	}
	m.node.closeOnce.Do(func() { m.node.closeErr = m.node.shutdown() })
	m.node = nil
}

func (c *testCluster) closeAll() {
	var wg sync.WaitGroup
	for i := range c.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.kill(i)
		}()
	}
	wg.Wait()
}

func (c *testCluster) running() []*testMember {
	var out []*testMember
	for _, m := range c.members {
		if m.node != nil {
			out = append(out, m)
		}
	}
	return out
}

// leader waits for a running member that leads and returns its index.
func (c *testCluster) leader(timeout time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for i, m := range c.members {
			if m.node != nil && m.node.IsLeader() {
				return i
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("no leader within %v", timeout)
	return -1
}

// follower returns the index of a running member that does not lead.
func (c *testCluster) follower() int {
	c.t.Helper()
	for i, m := range c.members {
		if m.node != nil && !m.node.IsLeader() {
			return i
		}
	}
	c.t.Fatal("no running follower")
	return -1
}

// waitSize waits until every running member's ledger holds at least size entries.
func (c *testCluster) waitSize(size uint64, timeout time.Duration) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, m := range c.running() {
		if err := m.node.WaitSize(ctx, size); err != nil {
			c.t.Fatalf("%s: %v", m.id, err)
		}
	}
}

// waitConverged waits until every running member has the same tree size and root and
// returns the size.
func (c *testCluster) waitConverged(timeout time.Duration) uint64 {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ms := c.running()
		size0, root0 := ms[0].node.Ledger().TreeHead()
		same := true
		for _, m := range ms[1:] {
			s, r := m.node.Ledger().TreeHead()
			same = same && s == size0 && r == root0
		}
		if same {
			return size0
		}
		if time.Now().After(deadline) {
			for _, m := range ms {
				s, r := m.node.Ledger().TreeHead()
				c.t.Logf("%s: size %d root %x", m.id, s, r[:8])
			}
			c.t.Fatalf("members did not converge within %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkIdentical compares every stored entry, byte for byte, and the Merkle roots of all
// running members.
func (c *testCluster) checkIdentical() {
	c.t.Helper()
	size := c.waitConverged(30 * time.Second)
	ms := c.running()
	for idx := uint64(0); idx < size; idx++ {
		e0, err := ms[0].node.Ledger().Entry(idx)
		if err != nil {
			c.t.Fatalf("%s entry %d: %v", ms[0].id, idx, err)
		}
		for _, m := range ms[1:] {
			e, err := m.node.Ledger().Entry(idx)
			if err != nil {
				c.t.Fatalf("%s entry %d: %v", m.id, idx, err)
			}
			if !bytes.Equal(e.Raw, e0.Raw) || e.Reference != e0.Reference {
				c.t.Fatalf("entry %d differs between %s and %s", idx, ms[0].id, m.id)
			}
		}
	}
}

// propose proposes env on member i as a client would: an ambiguous outcome or no leader
// is retried with the same envelope, and a duplicate answer then means an earlier attempt
// was committed (the result then carries only the index). Other errors fail the test.
func (c *testCluster) propose(i int, env []byte) *Applied {
	c.t.Helper()
	var err error
	for try := 0; try < 8; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		var a *Applied
		a, err = c.members[i].node.Propose(ctx, env)
		cancel()
		var dup *DuplicateError
		switch {
		case err == nil:
			return a
		case try > 0 && errors.As(err, &dup):
			return &Applied{Index: dup.Index}
		case errors.Is(err, ErrOutcomeUnknown), errors.Is(err, ErrUnavailable):
			c.t.Logf("propose on %s (retrying): %v", c.members[i].id, err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		break
	}
	c.t.Fatalf("propose on %s: %v", c.members[i].id, err)
	return nil
}
