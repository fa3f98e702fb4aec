package consensus

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/penhub/penhub/crypto"
)

// TestNemesis is the long robustness run (PENHUB_LONG=1, not with -short): writers
// propose through random nodes and retry ambiguous outcomes with the same envelope, as a
// client must, while a nemesis kills (no leadership transfer) or gracefully restarts a
// random node every couple of seconds. At the end every acknowledged entry is present
// exactly once on every node and all logs and Merkle roots are identical.
//
//	PENHUB_LONG=1 go test -race -run TestNemesis -v ./consensus/
func TestNemesis(t *testing.T) {
	if testing.Short() || os.Getenv("PENHUB_LONG") == "" {
		t.Skip("long run: set PENHUB_LONG=1")
	}
	const (
		nodes    = 5
		writers  = 8
		duration = 60 * time.Second
	)
	c := newTestCluster(t, nodes)
	c.leader(10 * time.Second)
	stop := make(chan struct{})
	var mu sync.Mutex // guards members' node fields against the nemesis
	pick := func() *Node {
		mu.Lock()
		defer mu.Unlock()
		r := c.running()
		return r[rand.N(len(r))].node
	}
	var acked sync.Map // entry id → log index
	var ackCount, ambiguous atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				env := makeNotice(t, c.hub, c.auth, fmt.Sprintf("w%d-%d", w, i), 512)
				e, _ := crypto.Parse(env)
				for try := 0; try < 20; try++ {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					a, err := pick().Propose(ctx, env)
					cancel()
					var dup *DuplicateError
					switch {
					case err == nil:
						acked.Store(e.EntryID, a.Index)
					case errors.As(err, &dup):
						acked.Store(e.EntryID, dup.Index)
					case errors.Is(err, ErrOutcomeUnknown), errors.Is(err, ErrUnavailable), errors.Is(err, ErrClosed):
						ambiguous.Add(1)
						time.Sleep(50 * time.Millisecond)
						continue
					default:
						t.Errorf("propose: %v", err)
					}
					ackCount.Add(1)
					break
				}
			}
		}()
	}
	deadline := time.Now().Add(duration)
	for time.Now().Before(deadline) {
		time.Sleep(time.Duration(1500+rand.N(1500)) * time.Millisecond)
		i := rand.N(nodes)
		mu.Lock()
		if rand.N(2) == 0 {
			t.Logf("nemesis: kill %s", c.members[i].id)
			c.kill(i)
		} else {
			t.Logf("nemesis: stop %s", c.members[i].id)
			c.stop(i)
		}
		mu.Unlock()
		time.Sleep(time.Duration(500+rand.N(1500)) * time.Millisecond)
		mu.Lock()
		c.start(i)
		mu.Unlock()
	}
	close(stop)
	wg.Wait()
	c.leader(10 * time.Second)
	c.checkIdentical()
	l := c.members[0].node.Ledger()
	missing := 0
	acked.Range(func(k, v any) bool {
		e, err := l.EntryByID(k.([16]byte))
		if err != nil || e.Index != v.(uint64) {
			missing++
		}
		return true
	})
	t.Logf("acknowledged %d entries, %d ambiguous attempts retried, log size %d", ackCount.Load(), ambiguous.Load(), l.Size())
	if missing > 0 {
		t.Fatalf("%d acknowledged entries missing or at another index", missing)
	}
}
