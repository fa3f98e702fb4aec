package systest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/penhub/penhub/node/client"
)

// composeHub is deploy/docker-compose.yml brought up under a unique project name.
type composeHub struct {
	t       *testing.T
	project string
	hubDir  string
	env     []string
	ports   [3]int
	state   clusterFile
}

func requireDocker(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"docker", "docker-compose"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required in CI: %v", tool, err)
			}
			t.Skipf("%s not installed", tool)
		}
	}
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the Docker engine is required in CI: %v\n%s", err, out)
		}
		t.Skipf("no Docker engine: %v", err)
	}
}

func (h *composeHub) compose(args ...string) string {
	h.t.Helper()
	_, file, _, _ := runtime.Caller(0)
	composeFile := filepath.Join(filepath.Dir(filepath.Dir(file)), "deploy", "docker-compose.yml")
	cmd := exec.Command("docker-compose", append([]string{"-f", composeFile, "-p", h.project}, args...)...)
	cmd.Env = append(os.Environ(), h.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		h.t.Fatalf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// startCompose builds the FROM-scratch image around the test's static binary
// and brings the three-node compose hub up.
func startCompose(t *testing.T) *composeHub {
	ctxDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ctxDir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(penhubBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "bin", "penhub"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	_, file, _, _ := runtime.Caller(0)
	dockerfile := filepath.Join(filepath.Dir(filepath.Dir(file)), "deploy", "Dockerfile")
	docker(t, "build", "-q", "-f", dockerfile, "-t", "penhub:dev", ctxDir)

	h := &composeHub{t: t, project: "penhubtest" + strings.ReplaceAll(uuid.NewString(), "-", "")[:8], hubDir: t.TempDir()}
	base := freeBase(t, 3)
	for i := range h.ports {
		h.ports[i] = base + i + 1
	}
	h.env = []string{"HUB_DIR=" + h.hubDir,
		"PORT1=" + strconv.Itoa(h.ports[0]), "PORT2=" + strconv.Itoa(h.ports[1]), "PORT3=" + strconv.Itoa(h.ports[2])}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("compose logs:\n%s", h.compose("logs", "--no-color", "--tail", "40"))
		}
		h.compose("down", "-v", "--remove-orphans")
	})
	h.compose("up", "-d")
	raw, err := os.ReadFile(filepath.Join(h.hubDir, "dev-state.json"))
	if err != nil {
		t.Fatalf("reading the prepared hub: %v", err)
	}
	if err := json.Unmarshal(raw, &h.state); err != nil {
		t.Fatal(err)
	}
	for i := range h.ports {
		waitFor(t, 90*time.Second, fmt.Sprintf("node%d ready", i+1), func() bool {
			ok, err := client.New(h.api(i), "").Ready(context.Background())
			return err == nil && ok
		})
	}
	return h
}

func (h *composeHub) api(i int) string { return "http://127.0.0.1:" + strconv.Itoa(h.ports[i]) }

func (h *composeHub) token(authority, role, node string) string {
	for _, tk := range h.state.Tokens {
		if tk.Authority == authority && tk.Role == role && tk.Node == node {
			return tk.Token
		}
	}
	h.t.Fatalf("no %s token for %q on %s", role, authority, node)
	return ""
}

func (h *composeHub) container(i int) string {
	return docker(h.t, "ps", "-q", "--filter", "label=com.docker.compose.project="+h.project,
		"--filter", "label=com.docker.compose.service=n"+strconv.Itoa(i+1))
}

// poster returns a focal point client of an authority hosted on node i.
func (h *composeHub) poster(i int, opts ...client.Option) *client.Client {
	authority := map[int]string{0: "DE", 1: "NL", 2: "IN"}[i]
	return client.New(h.api(i), h.token(authority, "focal_point", "node"+strconv.Itoa(i+1)), opts...)
}

// TestDockerPartition runs the hub as three containers on a private network,
// cuts the leader off with `docker network disconnect`, and checks that the
// majority keeps accepting notices, the cut-off node refuses writes (nothing
// written), and that after reconnecting it catches up.
func TestDockerPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("system test: containers")
	}
	requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	h := startCompose(t)

	if _, err := h.poster(0).PostNotice(ctx, alert(uuid.NewString(), "before partition")); err != nil {
		t.Fatalf("posting before the partition: %v", err)
	}
	var leader = -1
	waitFor(t, 30*time.Second, "a leader", func() bool {
		st, err := client.New(h.api(0), h.token("", "admin", "node1")).Status(ctx)
		if err != nil || st.Leader == "" {
			return false
		}
		leader, _ = strconv.Atoi(strings.TrimPrefix(st.Leader, "node"))
		leader--
		return leader >= 0
	})
	network := h.project + "_hub"
	cut := h.container(leader)
	docker(t, "network", "disconnect", network, cut)
	t.Logf("disconnected node%d (the leader) from %s", leader+1, network)

	// The majority elects a new leader and accepts posts.
	majority := (leader + 1) % 3
	var last *client.PostResult
	waitFor(t, 30*time.Second, "the majority to accept a post", func() bool {
		res, err := h.poster(majority, client.WithRetryBudget(0)).PostNotice(ctx, alert(uuid.NewString(), "during partition"))
		if err == nil {
			last = res
		}
		return err == nil
	})
	// The cut-off node cannot commit: 503, and the majority's log never sees it.
	id := uuid.NewString()
	_, err := h.poster(leader, client.WithRetryBudget(0), client.WithTimeout(40*time.Second)).PostNotice(ctx, alert(id, "minority"))
	if !isAPIError(err, 503, "unavailable") && !isAPIError(err, 503, "outcome_unknown") {
		t.Fatalf("posting on the cut-off node: want 503, got %v", err)
	}

	// Reconnect: the node rejoins and catches up with what the majority wrote.
	docker(t, "network", "connect", "--alias", "node"+strconv.Itoa(leader+1), network, cut)
	waitFor(t, 60*time.Second, "the reconnected node to catch up", func() bool {
		st, err := client.New(h.api(leader), h.token("", "admin", "node"+strconv.Itoa(leader+1))).Status(ctx)
		return err == nil && st.AppliedIndex >= int64(last.Index) && st.Leader != ""
	})
	// And it accepts writes again (forwarded to the new leader); the retried
	// minority post lands once.
	res, err := h.poster(leader, client.WithRetryBudget(30*time.Second)).PostNotice(ctx, alert(id, "minority"))
	if err != nil {
		t.Fatalf("posting on the reconnected node: %v", err)
	}
	again, err := h.poster(leader).PostNotice(ctx, alert(id, "minority"))
	if err != nil || again.Index != res.Index {
		t.Fatalf("retrying the same client id: %+v %v, want index %d", again, err, res.Index)
	}
}
