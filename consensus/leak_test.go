package consensus

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestCloseLeavesNoGoroutines: after every node of a cluster is closed, the goroutines
// started by consensus, raft and the transport are gone.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	c := newTestCluster(t, 3)
	lead := c.leader(10 * time.Second)
	for i := 0; i < 3; i++ {
		c.propose((lead+i)%3, c.notice(fmt.Sprintf("g%d", i), 256))
	}
	for i := range c.members {
		c.stop(i)
	}
	if !waitFor(10*time.Second, func() bool { return runtime.NumGoroutine() <= before+2 }) {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		var ours []string
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, "penhub/consensus") || strings.Contains(g, "hashicorp/raft") {
				ours = append(ours, g)
			}
		}
		t.Fatalf("%d goroutines before, %d after close:\n%s", before, runtime.NumGoroutine(), strings.Join(ours, "\n\n"))
	}
}
