package consensus

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/penhub/penhub/consensus/ledger"
	"github.com/penhub/penhub/crypto"
)

// peerMux builds a mux that presents m's certificate and accepts any hub-CA server, as a
// stranger with a valid CA certificate would.
func peerMux(t testing.TB, c *testCluster, m *testMember) *mux {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pool := c.ca.Pool()
	mx := newMux(ln, ln.Addr(), crypto.ServerTLSConfig(pool, m.cert, nil),
		func(string) *tls.Config { return crypto.ClientTLSConfig(pool, m.cert, "", nil) }, testLogger(t, "probe"))
	mx.serveRPC = func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }
	mx.start()
	t.Cleanup(mx.close)
	return mx
}

// probeRPC asks the node at addr for its status with m's certificate.
func probeRPC(c *testCluster, m *testMember, addr string) error {
	mx := peerMux(c.t, c, m)
	rc := newRPCClient(mx)
	defer rc.close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp, err := rc.call(ctx, addr, opStatus, nil)
	if err != nil {
		return err
	}
	if resp.Status != stOK {
		return errors.New(resp.Status)
	}
	return nil
}

// TestNonMemberCertificateRefused: a certificate from the same hub CA whose key is not a
// directory node's can neither use the raft port (raft RPCs, reading) nor the internal
// RPC, and members refuse to talk to a server presenting it. A member's certificate, in
// the same setup, passes (so the refusal is the peer check, not the setup).
func TestNonMemberCertificateRefused(t *testing.T) {
	c := newTestCluster(t, 3)
	lead := c.leader(10 * time.Second)
	c.propose(lead, c.notice("secret", 1024))
	target := c.members[lead]
	intruder := c.newMember("intruder")

	// Control: a member's certificate gets an answer.
	if err := probeRPC(c, c.members[(lead+1)%3], target.addr); err != nil {
		t.Fatalf("member certificate refused: %v", err)
	}
	// Internal RPC (port type 2).
	if err := probeRPC(c, intruder, target.addr); err == nil {
		t.Fatal("non-member read the status RPC")
	}
	// Raw raft port (type 1): the handshake fails or the first read does; no byte of raft
	// traffic reaches the stranger.
	mx := peerMux(t, c, intruder)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if conn, err := mx.dial(ctx, muxRaft, target.addr); err == nil {
		_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 1)
		if n, err := conn.Read(buf); err == nil || n > 0 {
			t.Fatalf("non-member read %d bytes from the raft port", n)
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("raft port kept a non-member's connection open")
		}
		conn.Close()
	}
	// Raft RPCs over a real NetworkTransport: a vote request and an append (an attempt to
	// join or inject entries) both fail.
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: newStreamLayer(mx), MaxPool: 1, Timeout: 3 * time.Second, Logger: newHCLog(testLogger(t, "intruder"), "raft"),
	})
	defer trans.Close()
	var vresp raft.RequestVoteResponse
	err := trans.RequestVote(raft.ServerID(target.id), raft.ServerAddress(target.addr), &raft.RequestVoteRequest{
		RPCHeader: raft.RPCHeader{ID: []byte("intruder"), Addr: []byte(mx.advertise.String())}, Term: 1000, LastLogIndex: 1 << 40, LastLogTerm: 1000,
	}, &vresp)
	if err == nil {
		t.Fatalf("non-member's vote request answered: %+v", vresp)
	}
	var aresp raft.AppendEntriesResponse
	err = trans.AppendEntries(raft.ServerID(target.id), raft.ServerAddress(target.addr), &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ID: []byte("intruder"), Addr: []byte(mx.advertise.String())}, Term: 1000,
	}, &aresp)
	if err == nil {
		t.Fatalf("non-member's append answered: %+v", aresp)
	}
	// Members refuse a server that presents the stranger's certificate.
	if _, err := target.node.mux.dial(ctx, muxRPC, mx.advertise.String()); err == nil {
		t.Fatal("member accepted a non-member server")
	}
	// The cluster is unharmed.
	if got := target.node.raft.CurrentTerm(); got >= 1000 {
		t.Fatalf("term moved to %d", got)
	}
	c.propose(lead, c.notice("after", 1024))
	c.checkIdentical()
}

// TestBadSignatureRejectedEverywhere: a leader that proposes an entry with a broken
// signature (bypassing every API check) gets it rejected by every node's ledger at apply;
// no node stores it and the logs stay identical.
func TestBadSignatureRejectedEverywhere(t *testing.T) {
	c := newTestCluster(t, 3)
	lead := c.leader(10 * time.Second)
	c.propose(lead, c.notice("good", 1024))
	before := c.waitConverged(10 * time.Second)

	bad := c.notice("forged", 1024)
	bad[len(bad)-1] ^= 0x01 // last byte of the composite signature
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp := c.members[lead].node.applyLeader(ctx, bad) // straight into raft on the leader
	if resp.Status != stRejected || resp.Code != ledger.CodeBadSignature {
		t.Fatalf("leader apply of a forged entry: %+v", resp)
	}
	// Through a follower's Propose the caller sees a RejectedError.
	_, err := c.members[c.follower()].node.Propose(ctx, bad)
	var rej *RejectedError
	if !errors.As(err, &rej) || rej.Code != ledger.CodeBadSignature {
		t.Fatalf("Propose of a forged entry: %v", err)
	}
	// Every node has applied past the forged raft entries and stored nothing.
	commit := c.members[lead].node.raft.LastIndex()
	for _, m := range c.running() {
		if err := m.node.waitApplied(ctx, commit); err != nil {
			t.Fatal(err)
		}
		if got := m.node.Ledger().Size(); got != before {
			t.Fatalf("%s size %d after forged entries, want %d", m.id, got, before)
		}
		env, _ := crypto.Parse(bad)
		if _, err := m.node.Ledger().EntryByID(env.EntryID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s stored the forged entry: %v", m.id, err)
		}
	}
	c.propose(lead, c.notice("good2", 1024))
	c.checkIdentical()
}
