package client

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the dependency direction of docs/architecture.md: the
// client imports schema and nothing else of penhub, and never raft or bbolt.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/penhub/penhub/node/client").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case strings.Contains(dep, "hashicorp/raft"), strings.Contains(dep, "bbolt"), strings.Contains(dep, "boltdb"):
			t.Errorf("node/client depends on %s", dep)
		case strings.HasPrefix(dep, "github.com/penhub/penhub/") &&
			dep != "github.com/penhub/penhub/schema" && dep != "github.com/penhub/penhub/node/client":
			t.Errorf("node/client depends on %s; only schema is allowed", dep)
		}
	}
}
