package penhub_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/penhub/penhub"

// allowedImports lists, per package (prefix match on our import paths), the
// packages of this module it may import directly. It keeps the dependency
// direction of docs/architecture.md true.
var allowedImports = map[string][]string{
	"schema":                 {},
	"crypto":                 {},
	"consensus/ledger":       {"crypto", "schema"},
	"consensus":              {"consensus/ledger", "crypto", "schema"},
	"node/client":            {"schema"},
	"node/client/clienttest": {"node/client", "schema"},
	"node/tokens":            {},
	"node/feed":              {},
	"node":                   {"consensus", "consensus/ledger", "crypto", "schema", "node/tokens", "node/feed"},
	"cmd/penhub":             {"node", "node/client", "node/tokens", "consensus", "consensus/ledger", "crypto", "schema"},
	"systest":                {"node/client"},
}

// onlyHere lists third-party packages that only the given packages may import.
var onlyHere = map[string][]string{
	"github.com/hashicorp/raft": {"consensus", "consensus/ledger"},
	"go.etcd.io/bbolt":          {"consensus", "consensus/ledger"},
}

type goPackage struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if rel == "" {
			continue
		}
		allowed, ok := allowedImports[rel]
		if !ok {
			t.Errorf("package %s has no entry in allowedImports: add one (and to docs/architecture.md)", rel)
			continue
		}
		checked++
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module+"/") {
				dep := strings.TrimPrefix(imp, module+"/")
				if !contains(allowed, dep) {
					t.Errorf("%s imports %s: not allowed by the dependency direction", rel, dep)
				}
			}
			for third, users := range onlyHere {
				if (imp == third || strings.HasPrefix(imp, third+"/")) && !contains(users, rel) {
					t.Errorf("%s imports %s, which only %v may import", rel, imp, users)
				}
			}
		}
	}
	if checked < 8 {
		t.Fatalf("checked only %d packages; go list output changed?", checked)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
