package consensus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
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
