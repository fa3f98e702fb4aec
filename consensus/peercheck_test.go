package consensus

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/penhub/penhub/consensus/ledger"
)

// TestAllowPeerRules checks the peer check's decision table directly.
func TestAllowPeerRules(t *testing.T) {
	c := newTestCluster(t, 3)
	lead := c.leader(10 * time.Second)
	stranger := c.newMember("stranger")
	n := c.members[lead].node
	for _, m := range c.members {
		if err := n.allowPeer(m.fp); err != nil {
			t.Fatalf("member %s refused: %v", m.id, err)
		}
	}
	if err := n.allowPeer(stranger.fp); !errors.Is(err, ErrNotMember) {
		t.Fatalf("stranger: %v", err)
	}
	// A removed node is refused even when listed in TrustedPeers.
	c.directory(lead, ledger.OpRemoveNode, ledger.RemoveNodeBody{ID: "node3"})
	n.trusted[c.members[2].fp] = true
	if err := n.allowPeer(c.members[2].fp); !errors.Is(err, ErrNotMember) {
		t.Fatalf("removed node: %v", err)
	}

	// A node whose ledger is still empty.
	l, err := ledger.Open(filepath.Join(t.TempDir(), "fsm.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fresh := &Node{ledger: l, log: slog.New(slog.DiscardHandler), trusted: map[string]bool{c.members[0].fp: true}}
	if err := fresh.allowPeer(c.members[0].fp); err != nil {
		t.Fatalf("trusted peer refused before genesis: %v", err)
	}
	if err := fresh.allowPeer(stranger.fp); !errors.Is(err, ErrNotMember) {
		t.Fatalf("stranger accepted before genesis: %v", err)
	}
	open := &Node{ledger: l, log: slog.New(slog.DiscardHandler), trusted: map[string]bool{}}
	if err := open.allowPeer(stranger.fp); err != nil {
		t.Fatalf("without genesis or trusted peers any CA peer is accepted until genesis: %v", err)
	}
}

// TestJoinAcceptsLaterLeader: a node joining a hub whose leader joined after the genesis
// is stuck with the genesis' nodes as its only trusted peers, and catches up once it is
// given the current directory's fingerprints as TrustedPeers.
func TestJoinAcceptsLaterLeader(t *testing.T) {
	c := newTestCluster(t, 3)
	lead := c.leader(10 * time.Second)
	i4, i5 := c.addMember("node4"), c.addMember("node5")
	c.directory(lead, ledger.OpAddNode, ledger.AddNodeBody{Node: c.members[i4].record(true)})
	c.directory(lead, ledger.OpAddNode, ledger.AddNodeBody{Node: c.members[i5].record(true)})
	c.start(i4)
	c.start(i5)
	if !waitFor(30*time.Second, func() bool { return voterCount(c.members[c.leader(5*time.Second)].node) == 5 }) {
		t.Fatal("node4 and node5 not promoted")
	}
	// Hand leadership to node4, which is not in the genesis.
	lead = c.leader(5 * time.Second)
	if lead != i4 {
		f := c.members[lead].node.raft.LeadershipTransferToServer(raft.ServerID("node4"), raft.ServerAddress(c.members[i4].addr))
		if err := f.Error(); err != nil {
			t.Fatalf("leadership transfer to node4: %v", err)
		}
	}
	if got := c.leader(10 * time.Second); got != i4 {
		t.Fatalf("leader is %s, want node4", c.members[got].id)
	}
	for i := 0; i < 3; i++ {
		c.propose(i4, c.notice(fmt.Sprintf("j%d", i), 512))
	}
	i6 := c.addMember("node6")
	c.directory(i4, ledger.OpAddNode, ledger.AddNodeBody{Node: c.members[i6].record(false)})
	// Genesis only: node4's connections are refused, nothing arrives.
	n6 := c.start(i6)
	time.Sleep(3 * time.Second)
	if got := n6.Ledger().Size(); got != 0 {
		t.Fatalf("node6 applied %d entries while trusting only the genesis' nodes", got)
	}
	c.stop(i6)
	// With the directory's fingerprints it catches up.
	for _, m := range c.members[:i6] {
		c.members[i6].trusted = append(c.members[i6].trusted, m.fp)
	}
	c.start(i6)
	c.waitConverged(30 * time.Second)
	c.checkIdentical()
}
