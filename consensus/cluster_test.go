package consensus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestReplicationThreeNodes(t *testing.T) {
	c := newTestCluster(t, 3)
	lead := c.leader(10 * time.Second)
	// Writes through the leader and through a follower (forwarded over the mux).
	var last *Applied
	for i := 0; i < 10; i++ {
		on := lead
		if i%2 == 1 {
			on = (lead + 1) % 3
		}
		a := c.propose(on, c.notice(fmt.Sprintf("n%d", i), 2048))
		if last != nil && a.Index != last.Index+1 {
			t.Fatalf("index %d after %d", a.Index, last.Index)
		}
		// Applied locally on the proposing node when Propose returns.
		if _, err := c.members[on].node.Ledger().Entry(a.Index); err != nil {
			t.Fatalf("entry %d not readable on %s right after Propose: %v", a.Index, c.members[on].id, err)
		}
		last = a
	}
	// A retry of the same notice is a duplicate naming the original index.
	_, err := c.members[(lead+2)%3].node.Propose(context.Background(), c.notice("n3", 2048))
	var dup *DuplicateError
	if !errors.As(err, &dup) {
		t.Fatalf("second proposal of the same notice id: %v, want DuplicateError", err)
	}
	c.checkIdentical()
	if m := c.members[lead].node.Metrics(); !m.IsLeader || m.Voters != 3 || m.LedgerSize != last.Index+1 || m.FSMBatches == 0 {
		t.Fatalf("metrics %+v", m)
	}
	st := c.members[lead].node.Status()
	if st.State != "leader" || st.Leader != c.members[lead].id || st.AppliedIndex != int64(last.Index) || len(st.Peers) != 3 {
		t.Fatalf("status %+v", st)
	}
}

func TestReplicationFiveNodesConcurrent(t *testing.T) {
	c := newTestCluster(t, 5)
	c.leader(10 * time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for w := 0; w < 5; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_, err := c.members[w].node.Propose(ctx, c.notice(fmt.Sprintf("w%d-%d", w, i), 2048))
				cancel()
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c.waitSize(41, 20*time.Second)
	c.checkIdentical()
}

// TestBarrierReadYourWrites: after a write acknowledged anywhere, Barrier on any node
// makes a local read see it; Ready holds on every caught-up node.
func TestBarrierReadYourWrites(t *testing.T) {
	c := newTestCluster(t, 3)
	lead := c.leader(10 * time.Second)
	for i := 0; i < 5; i++ {
		a := c.propose(lead, c.notice(fmt.Sprintf("b%d", i), 512))
		for j, m := range c.members {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := m.node.Barrier(ctx)
			cancel()
			if err != nil {
				t.Fatalf("Barrier on %s: %v", m.id, err)
			}
			if _, err := c.members[j].node.Ledger().Entry(a.Index); err != nil {
				t.Fatalf("%s after Barrier: entry %d: %v", m.id, a.Index, err)
			}
		}
	}
	for _, m := range c.members {
		if !waitFor(5*time.Second, m.node.Ready) {
			t.Fatalf("%s not ready", m.id)
		}
	}
}

// TestVerifyStoreAfterStop: a stopped node's data directory passes the offline audit.
func TestVerifyStoreAfterStop(t *testing.T) {
	c := newTestCluster(t, 3)
	lead := c.leader(10 * time.Second)
	for i := 0; i < 5; i++ {
		c.propose(lead, c.notice(fmt.Sprintf("v%d", i), 512))
	}
	c.waitSize(6, 10*time.Second)
	f := c.follower()
	c.stop(f)
	var done uint64
	if err := VerifyStore(c.members[f].dir, &c.hub, func(d, _ uint64) { done = d }); err != nil {
		t.Fatal(err)
	}
	if done < 6 {
		t.Fatalf("progress reported %d entries", done)
	}
	wrong := c.hub
	wrong[0] ^= 1
	if err := VerifyStore(c.members[f].dir, &wrong, nil); err == nil {
		t.Fatal("VerifyStore accepted the wrong hub id")
	}
}

func TestCollectorsRegister(t *testing.T) {
	c := newTestCluster(t, 3)
	lead := c.leader(10 * time.Second)
	c.propose((lead+1)%3, c.notice("m", 256))
	reg := prometheus.NewRegistry()
	reg.MustRegister(c.members[(lead+1)%3].node.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
	}
	for _, want := range []string{"penhub_raft_commit_index", "penhub_fsm_batches_total", "penhub_propose_total", "penhub_propose_forwarded_total"} {
		if !got[want] {
			t.Errorf("metric %s missing (have %v)", want, got)
		}
	}
	if m := c.members[(lead+1)%3].node.Metrics(); m.ProposeOK != 1 || m.ProposeForwarded != 1 {
		t.Fatalf("propose counters %+v", m)
	}
}
