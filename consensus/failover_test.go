package consensus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/penhub/penhub/consensus/ledger"
)

func TestLeaderCrashReelection(t *testing.T) {
	c := newTestCluster(t, 3)
	lead := c.leader(10 * time.Second)
	for i := 0; i < 5; i++ {
		c.propose(lead, c.notice(fmt.Sprintf("a%d", i), 1024))
	}
	c.kill(lead)
	// A surviving node keeps accepting writes: Propose holds until a new leader is
	// elected (ForwardHold) and forwards to it.
	other := (lead + 1) % 3
	for i := 0; i < 5; i++ {
		c.propose(other, c.notice(fmt.Sprintf("b%d", i), 1024))
	}
	newLead := c.leader(10 * time.Second)
	if newLead == lead {
		t.Fatal("killed node still leads")
	}
	// The old leader comes back from disk and catches up.
	c.start(lead)
	c.waitSize(11, 20*time.Second)
	c.checkIdentical()
}

func TestLeaderCloseTransfersLeadership(t *testing.T) {
	c := newTestCluster(t, 3)
	lead := c.leader(10 * time.Second)
	c.propose(lead, c.notice("x", 1024))
	start := time.Now()
	c.stop(lead) // graceful: leadership transfer first
	newLead := c.leader(10 * time.Second)
	t.Logf("new leader %s after %v", c.members[newLead].id, time.Since(start))
	c.propose(newLead, c.notice("y", 1024))
	c.start(lead)
	c.waitSize(3, 20*time.Second)
	c.checkIdentical()
	// Close is idempotent.
	n := c.members[lead].node
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Propose(context.Background(), c.notice("z", 10)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Propose after Close: %v, want ErrClosed", err)
	}
	c.members[lead].node = nil
}

func TestFollowerRestartFromDisk(t *testing.T) {
	c := newTestCluster(t, 3)
	lead := c.leader(10 * time.Second)
	f := c.follower()
	for i := 0; i < 5; i++ {
		c.propose(lead, c.notice(fmt.Sprintf("a%d", i), 1024))
	}
	c.waitSize(6, 10*time.Second)
	c.stop(f)
	for i := 0; i < 5; i++ {
		c.propose(lead, c.notice(fmt.Sprintf("b%d", i), 1024))
	}
	n := c.start(f)
	if got := n.Ledger().Size(); got < 6 {
		t.Fatalf("restarted follower has %d entries on disk, want ≥ 6", got)
	}
	c.waitSize(11, 20*time.Second)
	c.checkIdentical()
	// Writes through the restarted follower work.
	c.propose(f, c.notice("c", 1024))
	c.checkIdentical()
}

func TestNoLeaderUnavailable(t *testing.T) {
	c := newTestCluster(t, 3, withTune(func(cfg *Config) { cfg.ForwardHold = time.Second }))
	lead := c.leader(10 * time.Second)
	f := c.follower()
	for i := range c.members {
		if i != f {
			c.kill(i)
		}
	}
	_ = lead
	start := time.Now()
	_, err := c.members[f].node.Propose(context.Background(), c.notice("u", 100))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Propose without quorum: %v, want ErrUnavailable", err)
	}
	t.Logf("ErrUnavailable after %v", time.Since(start))
	if !waitFor(5*time.Second, func() bool { return !c.members[f].node.Ready() }) {
		t.Fatal("Ready without a leader")
	}
}

// TestSnapshotInstallNewNonvoter adds a node after the leader has compacted its log, so
// the newcomer can only catch up through an InstallSnapshot of the ledger.
func TestSnapshotInstallNewNonvoter(t *testing.T) {
	c := newTestCluster(t, 3, withTune(func(cfg *Config) {
		cfg.SnapshotThreshold = 16
		cfg.TrailingLogs = 4
		cfg.SnapshotInterval = 100 * time.Millisecond
	}))
	lead := c.leader(10 * time.Second)
	for i := 0; i < 40; i++ {
		c.propose(lead, c.notice(fmt.Sprintf("s%d", i), 2048))
	}
	// Wait until the leader has taken a snapshot and truncated its log.
	deadline := time.Now().Add(20 * time.Second)
	for {
		first, err := c.members[lead].node.logs.FirstIndex()
		if err != nil {
			t.Fatal(err)
		}
		if first > 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leader log not compacted (first index %d)", first)
		}
		time.Sleep(50 * time.Millisecond)
	}
	i4 := c.addMember("node4")
	c.directory(lead, ledger.OpAddNode, ledger.AddNodeBody{Node: c.members[i4].record(false)})
	n4 := c.start(i4)
	c.waitConverged(30 * time.Second)
	// The ledger is restored before raft records the installed snapshot.
	if !waitFor(10*time.Second, func() bool { return n4.raft.Stats()["last_snapshot_index"] != "0" }) {
		t.Fatalf("node4 caught up without a snapshot install: %v", n4.raft.Stats())
	}
	// The installed snapshot holds data (a live stream of the leader's
	// ledger), unlike the leader's own O(1) marker snapshots.
	list, err := n4.snaps.List()
	if err != nil || len(list) == 0 {
		t.Fatalf("node4 snapshots: %v %v", list, err)
	}
	if live, err := n4.snaps.isLive(list[len(list)-1].ID); err != nil || live {
		t.Fatalf("node4's installed snapshot is a marker (%v, %v), want data", live, err)
	}
	leadList, _ := c.members[lead].node.snaps.List()
	if len(leadList) == 0 {
		t.Fatal("leader has no snapshot")
	}
	if live, err := c.members[lead].node.snaps.isLive(leadList[0].ID); err != nil || !live {
		t.Fatalf("leader's own snapshot is not a live marker (%v, %v)", live, err)
	}
	if !waitFor(10*time.Second, n4.Ready) {
		t.Fatal("node4 not ready")
	}
	// The newcomer is a non-voter and serves reads; later writes reach it.
	if s := serverSuffrage(t, c.members[lead].node, "node4"); s != raft.Nonvoter {
		t.Fatalf("node4 suffrage %v, want nonvoter", s)
	}
	c.propose(i4, c.notice("after", 2048))
	c.checkIdentical()
	// Snapshots live under DataDir/raft/snapshots.
	if ents, err := os.ReadDir(filepath.Join(c.members[lead].dir, raftDir, "snapshots")); err != nil || len(ents) == 0 {
		t.Fatalf("no snapshots on the leader: %v", err)
	}
}

func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

func serverSuffrage(t *testing.T, n *Node, id string) raft.ServerSuffrage {
	t.Helper()
	for _, s := range n.configuration() {
		if string(s.ID) == id {
			return s.Suffrage
		}
	}
	return -1
}

func voterCount(n *Node) int {
	v := 0
	for _, s := range n.configuration() {
		if s.Suffrage == raft.Voter {
			v++
		}
	}
	return v
}

// TestMembershipFollowsDirectory: add_node (voter) joins as a non-voter and is promoted
// once caught up, two at a time so the voter count stays odd; set_suffrage false demotes;
// remove_node removes, and the removed node's certificate is refused afterwards.
func TestMembershipFollowsDirectory(t *testing.T) {
	c := newTestCluster(t, 3)
	lead := c.leader(10 * time.Second)
	i4, i5 := c.addMember("node4"), c.addMember("node5")
	c.directory(lead, ledger.OpAddNode, ledger.AddNodeBody{Node: c.members[i4].record(true)})
	c.start(i4)
	// One caught-up voter candidate alone is not promoted: 4 voters would be even.
	if !waitFor(15*time.Second, func() bool {
		return serverSuffrage(t, c.members[c.leader(5*time.Second)].node, "node4") == raft.Nonvoter
	}) {
		t.Fatal("node4 did not join as a non-voter")
	}
	time.Sleep(3 * reconcileEvery)
	if v := voterCount(c.members[c.leader(5*time.Second)].node); v != 3 {
		t.Fatalf("%d voters with one candidate, want 3", v)
	}
	c.directory(lead, ledger.OpAddNode, ledger.AddNodeBody{Node: c.members[i5].record(true)})
	c.start(i5)
	if !waitFor(20*time.Second, func() bool { return voterCount(c.members[c.leader(5*time.Second)].node) == 5 }) {
		t.Fatalf("not promoted: %+v", c.members[c.leader(5*time.Second)].node.Status().Peers)
	}
	for i := 0; i < 5; i++ {
		c.propose(i4, c.notice(fmt.Sprintf("m%d", i), 1024))
	}
	c.checkIdentical()

	// set_suffrage false demotes node5.
	lead = c.leader(5 * time.Second)
	c.directory(lead, ledger.OpSetSuffrage, ledger.SetSuffrageBody{ID: "node5", Voter: false})
	if !waitFor(15*time.Second, func() bool {
		return serverSuffrage(t, c.members[c.leader(5*time.Second)].node, "node5") == raft.Nonvoter
	}) {
		t.Fatal("node5 not demoted")
	}
	// remove_node removes node4 from raft.
	lead = c.leader(5 * time.Second)
	if lead == i4 {
		c.stop(i4) // hand leadership away first so the test keeps a stable leader
		lead = c.leader(10 * time.Second)
	}
	c.directory(lead, ledger.OpRemoveNode, ledger.RemoveNodeBody{ID: "node4"})
	if !waitFor(15*time.Second, func() bool {
		return serverSuffrage(t, c.members[c.leader(5*time.Second)].node, "node4") == -1
	}) {
		t.Fatal("node4 not removed from raft")
	}
	c.stop(i4)
	for i := 0; i < 3; i++ {
		c.propose(c.leader(5*time.Second), c.notice(fmt.Sprintf("r%d", i), 1024))
	}
	c.checkIdentical()
	// The removed node's certificate no longer opens the raft port.
	if err := probeRPC(c, c.members[i4], c.members[c.leader(5*time.Second)].addr); err == nil {
		t.Fatal("removed node's certificate still accepted")
	}
}

// TestLedgerBehindSnapshot: a node's own snapshots are live markers, so a ledger behind
// one of them can only be a replaced or damaged fsm.db: Open refuses it with
// ErrInconsistentStore instead of resuming after the snapshot with a hole in the log. A
// ledger behind a snapshot installed from the leader (a crash between saving it and the
// ledger's Restore) is restored from it at Open.
func TestLedgerBehindSnapshot(t *testing.T) {
	c := newTestCluster(t, 3, withTune(func(cfg *Config) {
		cfg.SnapshotThreshold = 16
		cfg.TrailingLogs = 4
		cfg.SnapshotInterval = 100 * time.Millisecond
	}))
	lead := c.leader(10 * time.Second)
	for i := 0; i < 5; i++ {
		c.propose(lead, c.notice(fmt.Sprintf("o%d", i), 512))
	}
	c.waitSize(6, 10*time.Second)
	f := c.follower()
	c.stop(f)
	fsmPath := FSMPath(c.members[f].dir)
	old, err := os.ReadFile(fsmPath)
	if err != nil {
		t.Fatal(err)
	}
	c.start(f)
	lead = c.leader(10 * time.Second)
	for i := 0; i < 40; i++ {
		c.propose(lead, c.notice(fmt.Sprintf("n%d", i), 512))
	}
	c.waitSize(46, 20*time.Second)
	if !waitFor(20*time.Second, func() bool {
		list, err := c.members[f].node.snaps.List()
		return err == nil && len(list) > 0 && list[0].Index > 20
	}) {
		t.Fatal("follower took no snapshot")
	}
	c.stop(f)
	if err := os.WriteFile(fsmPath, old, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), c.config(f)); !errors.Is(err, ErrInconsistentStore) {
		t.Fatalf("Open with fsm.db behind the node's own snapshot: %v, want ErrInconsistentStore", err)
	}

	// Moving raft/ and fsm.db aside makes the node a newcomer: it receives the
	// leader's state as an installed snapshot. Then a crash right after
	// installing (simulated: fsm.db replaced by an empty one) is repaired at Open.
	if err := os.RemoveAll(filepath.Join(c.members[f].dir, raftDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(fsmPath); err != nil {
		t.Fatal(err)
	}
	n := c.start(f)
	if !waitFor(20*time.Second, func() bool { return n.raft.Stats()["last_snapshot_index"] != "0" }) {
		t.Fatal("the emptied follower got no snapshot")
	}
	installed := n.Ledger().AppliedRaftIndex()
	c.stop(f)
	if err := os.Remove(fsmPath); err != nil {
		t.Fatal(err)
	}
	n = c.start(f)
	if got := n.Ledger().AppliedRaftIndex(); got < installed || got == 0 {
		t.Fatalf("ledger at raft index %d after Open, want ≥ %d (restored from the installed snapshot)", got, installed)
	}
	c.propose(f, c.notice("after", 512))
	c.checkIdentical()
}
