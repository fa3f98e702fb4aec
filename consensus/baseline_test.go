package consensus

import (
	"context"
	"testing"
	"time"
)

// TestRunRaftBaseline runs the bare-raft baseline briefly: it must elect a
// leader, commit entries with no failures and report one latency per entry.
func TestRunRaftBaseline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := RunRaftBaseline(ctx, t.TempDir(), 4, 1024, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Entries == 0 || res.Failed != 0 || len(res.Latencies) != res.Entries {
		t.Fatalf("got %d entries, %d failed, %d latencies", res.Entries, res.Failed, len(res.Latencies))
	}
	for _, l := range res.Latencies {
		if l <= 0 {
			t.Fatalf("latency %v is not positive", l)
		}
	}
	t.Logf("%d entries in %v", res.Entries, res.Elapsed)
}

func TestRunRaftBaselineArgs(t *testing.T) {
	if _, err := RunRaftBaseline(context.Background(), t.TempDir(), 0, 1024, time.Second); err == nil {
		t.Fatal("concurrency 0 accepted")
	}
}
