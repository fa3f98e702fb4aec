package consensus

import (
	"fmt"
	"testing"
	"time"

	"github.com/penhub/penhub/crypto"
)

// TestCosignaturesAtIntervals: every voter cosigns the tree at each multiple of the
// checkpoint interval; every node stores the same verified checkpoints; an idle hub stops
// writing (cosignatures do not trigger further cosignatures).
func TestCosignaturesAtIntervals(t *testing.T) {
	c := newTestCluster(t, 3, withInterval(5))
	lead := c.leader(10 * time.Second)
	for i := 0; i < 4; i++ { // genesis + 4 notices = size 5
		c.propose(lead, c.notice(fmt.Sprintf("c%d", i), 512))
	}
	// 3 cosignatures at size 5 → size 8.
	c.waitSize(8, 20*time.Second)
	for i := 0; i < 3; i++ { // size 11: crosses 10
		c.propose(lead, c.notice(fmt.Sprintf("d%d", i), 512))
	}
	c.waitSize(14, 20*time.Second)
	// Idle: nothing more is written.
	size := c.waitConverged(10 * time.Second)
	time.Sleep(2*cosignRetry + time.Second)
	if again := c.waitConverged(10 * time.Second); again != size {
		t.Fatalf("idle hub kept writing: size %d then %d", size, again)
	}
	c.checkIdentical()
	for _, m := range c.running() {
		bySize := map[uint64]map[string]bool{}
		for _, cp := range m.node.Ledger().Checkpoints() {
			if bySize[cp.Size] == nil {
				bySize[cp.Size] = map[string]bool{}
			}
			bySize[cp.Size][cp.Node] = true
			// Each stored note verifies with the node's checkpoint key and matches the tree.
			key := c.members[nodeIndex(c, cp.Node)].key.Public()
			got, err := crypto.VerifyCheckpoint(cp.Note, cp.Node, key)
			if err != nil {
				t.Fatalf("%s: checkpoint of %s at %d: %v", m.id, cp.Node, cp.Size, err)
			}
			root, err := m.node.Ledger().TreeHash(cp.Size)
			if err != nil || root != got.Root {
				t.Fatalf("%s: checkpoint root at %d differs from the tree (%v)", m.id, cp.Size, err)
			}
		}
		for _, s := range []uint64{5, 10} {
			if len(bySize[s]) != 3 {
				t.Fatalf("%s: cosigners at size %d: %v, want all 3 voters", m.id, s, bySize[s])
			}
		}
		if alarms := m.node.Status().Alarms; len(alarms) != 0 {
			t.Fatalf("%s alarms: %v", m.id, alarms)
		}
	}
}

func nodeIndex(c *testCluster, id string) int {
	for i, m := range c.members {
		if m.id == id {
			return i
		}
	}
	c.t.Fatalf("no member %q", id)
	return -1
}
