package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/penhub/penhub/consensus"
)

func init() {
	register("bench", "load generator and benchmark report (SPEC §8)", runBench)
}

// Scenarios of penhub bench, in the order they run (SPEC §8). The cluster
// scenarios share one 3-node cluster started for the run; verify runs last,
// on a stopped node's store.
const (
	scCrypto   = "crypto_ceiling" // seal + sign + 3 verifies per notice, all cores, no I/O
	scRaft     = "raft_baseline"  // bare hashicorp/raft, raft-boltdb, no-op FSM
	scIngest   = "ingest"         // closed loop, --concurrency posters
	scLatency  = "latency"        // open loop at 50 % of the measured ingest rate
	scFeed     = "feed"           // --subscribers websocket subscribers, --feed-rate notices/s
	scFill     = "fill"           // posts until --notices notices are stored
	scMemory   = "memory"         // RssAnon of every node with --notices stored
	scIngestN  = "ingest_at_n"    // ingest again with --notices stored (linear cost)
	scCatchUp  = "catchup"        // a new non-voter joins the log of --notices
	scVerify   = "verify"         // penhub verify of a stopped node's store
	scDefaults = scCrypto + "," + scRaft + "," + scIngest + "," + scLatency + "," + scFeed + "," + scVerify
	scLong     = scFill + "," + scMemory + "," + scIngestN + "," + scCatchUp
)

var allScenarios = []string{scCrypto, scRaft, scIngest, scLatency, scFeed, scFill, scMemory, scIngestN, scCatchUp, scVerify}

// benchConfig is what the flags of penhub bench select.
type benchConfig struct {
	scenarios   map[string]bool
	duration    time.Duration // of ingest, latency, feed, ingest_at_n, raft_baseline
	cryptoDur   time.Duration
	concurrency int     // closed-loop posters (and raft_baseline proposers)
	subscribers int     // feed subscribers
	feedRate    float64 // notices/s during the feed scenario
	latencyRate float64 // open-loop rate; 0 = half the measured ingest rate
	notices     int     // stored notices for fill, memory, ingest_at_n, catchup
	bodySize    int     // bytes of the notice body JSON
	senders     []string
	dir         string
	keep        bool
	quick       bool
}

// runBench is `penhub bench` (SPEC §8): it runs the selected scenarios in
// the order of allScenarios and prints one JSON line per scenario on stdout,
// starting {"scenario","ops_per_s","p50_ms","p99_ms"} and followed by
// scenario fields, "target" and "meets_target" where SPEC §8 sets one.
// Progress goes to stderr. The cluster scenarios share one `penhub dev`
// cluster of 3 node processes in the work directory. docs/performance.md
// describes each scenario and the figures measured.
//
// Exit status: 0 when every selected scenario ran (whether or not it met
// its target), 1 when one could not run, 2 on wrong usage.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scen := fs.String("scenarios", "", "comma-separated scenarios to run, or \"all\" (default: "+scDefaults+", plus "+scLong+" when --notices > 0 or --quick)")
	quick := fs.Bool("quick", false, "smoke test: every duration and size shrunk so the whole run takes well under a minute")
	dur := fs.Duration("duration", 20*time.Second, "length of the ingest, latency, feed, ingest_at_n and raft_baseline runs (--quick: 3s)")
	cryptoDur := fs.Duration("crypto-duration", 10*time.Second, "length of the crypto_ceiling run (--quick: 2s)")
	conc := fs.Int("concurrency", 64, "concurrent posters in the closed-loop runs (and raft_baseline proposers)")
	subs := fs.Int("subscribers", 1000, "websocket subscribers of the feed run, spread over the nodes (--quick: 100)")
	feedRate := fs.Float64("feed-rate", 50, "notices per second posted during the feed run")
	latRate := fs.Float64("latency-rate", 0, "open-loop rate of the latency run in notices/s (default: 50% of the measured ingest rate)")
	notices := fs.Int("notices", 0, "stored notices for the fill, memory, ingest_at_n and catchup runs (SPEC: 100000; --quick: 500)")
	bodySize := fs.Int("body-size", 2048, "size in bytes of each notice body (JSON, padded in remarks)")
	senders := fs.String("senders", "DE,NL,IN", "sending authorities (each posts to its home node), from DE, NL and IN")
	dir := fs.String("dir", "", "work directory for the cluster and the raft baseline, new or empty; removed at the end unless --keep (default: a new temporary directory)")
	keep := fs.Bool("keep", false, "keep the work directory (node logs and stores) after the run")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg := benchConfig{
		duration: *dur, cryptoDur: *cryptoDur, concurrency: *conc, subscribers: *subs,
		feedRate: *feedRate, latencyRate: *latRate, notices: *notices, bodySize: *bodySize,
		dir: *dir, keep: *keep, quick: *quick, scenarios: map[string]bool{},
	}
	if *quick {
		if !flagSet(fs, "duration") {
			cfg.duration = 3 * time.Second
		}
		if !flagSet(fs, "crypto-duration") {
			cfg.cryptoDur = 2 * time.Second
		}
		if !flagSet(fs, "subscribers") {
			cfg.subscribers = 100
		}
		if !flagSet(fs, "notices") {
			cfg.notices = 500
		}
	}
	usage := "usage: penhub bench [--quick] [--scenarios LIST] [--duration D] [--concurrency N] [--subscribers N] [--feed-rate R] [--notices N] [--dir DIR] [--keep]"
	list := *scen
	switch list {
	case "":
		list = scDefaults
		if cfg.notices > 0 {
			list += "," + scLong
		}
	case "all":
		list = strings.Join(allScenarios, ",")
	}
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(allScenarios, s) {
			fmt.Fprintf(stderr, "penhub: bench: unknown scenario %q (known: %s)\n%s\n", s, strings.Join(allScenarios, ", "), usage)
			return 2
		}
		cfg.scenarios[s] = true
	}
	for _, s := range strings.Split(*senders, ",") {
		s = strings.TrimSpace(s)
		if _, ok := benchSenders[s]; !ok {
			fmt.Fprintf(stderr, "penhub: bench: --senders: %q is not one of DE, NL, IN\n%s\n", s, usage)
			return 2
		}
		cfg.senders = append(cfg.senders, s)
	}
	if fs.NArg() > 0 || cfg.duration <= 0 || cfg.cryptoDur <= 0 || cfg.concurrency < 1 || cfg.subscribers < 1 ||
		cfg.feedRate <= 0 || cfg.latencyRate < 0 || cfg.notices < 0 || cfg.bodySize < 512 || cfg.bodySize > 512<<10 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if (cfg.scenarios[scFill] || cfg.scenarios[scMemory] || cfg.scenarios[scIngestN] || cfg.scenarios[scCatchUp]) && cfg.notices == 0 {
		fmt.Fprintln(stderr, "penhub: bench: fill, memory, ingest_at_n and catchup need --notices N")
		return 2
	}

	if cfg.dir == "" {
		d, err := os.MkdirTemp("", "penhub-bench-")
		if err != nil {
			return fail(stderr, "creating work directory", err)
		}
		cfg.dir = d
	} else {
		d, err := filepath.Abs(cfg.dir)
		if err != nil {
			return fail(stderr, "resolving --dir", err)
		}
		cfg.dir = d
		// The work directory is removed at the end (unless --keep): never
		// take one that holds anything else.
		if ents, err := os.ReadDir(d); err == nil && len(ents) > 0 {
			fmt.Fprintf(stderr, "penhub: bench: --dir %s is not empty\n", d)
			return 2
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fail(stderr, "creating work directory", err)
		}
	}
	if !cfg.keep {
		defer os.RemoveAll(cfg.dir)
	} else {
		defer fmt.Fprintf(stderr, "bench: work directory kept: %s\n", cfg.dir)
	}
	out := json.NewEncoder(stdout)
	out.SetEscapeHTML(false)
	b := &bencher{cfg: cfg, out: out, log: stderr}
	if err := b.run(ctx); err != nil {
		return fail(stderr, "bench", err)
	}
	return 0
}

// bencher runs the selected scenarios and prints their lines.
type bencher struct {
	cfg benchConfig
	out *json.Encoder
	log io.Writer

	notice     benchNotice // the notice every scenario uses, for sizes
	cryptoOps  float64     // crypto_ceiling notices/s, 0 when not measured
	ingestOps  float64     // ingest notices/s on the (nearly) empty log
	posted     int         // notices committed so far in this run
	cluster    *benchCluster
	hubID      [32]byte
	finalIndex int64 // applied index of the log when the cluster stopped
}

func (b *bencher) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

func (b *bencher) emit(r *benchResult) error { return b.out.Encode(r) }

func (b *bencher) run(ctx context.Context) error {
	sc := b.cfg.scenarios
	b.logf("work directory %s, GOMAXPROCS %d, scenarios %s", b.cfg.dir, runtime.GOMAXPROCS(0), strings.Join(selected(sc), ","))
	var err error
	if b.notice, err = newBenchNotice(b.cfg.bodySize); err != nil {
		return err
	}
	if sc[scCrypto] {
		if err := b.runCrypto(ctx); err != nil {
			return err
		}
	}
	if sc[scRaft] {
		if err := b.runRaftBaseline(ctx); err != nil {
			return err
		}
	}
	needCluster := false
	for _, s := range []string{scIngest, scLatency, scFeed, scFill, scMemory, scIngestN, scCatchUp, scVerify} {
		needCluster = needCluster || sc[s]
	}
	if !needCluster {
		return nil
	}
	b.logf("starting a 3-node cluster with penhub dev (separate node processes, fsync on)")
	c, err := startBenchCluster(ctx, filepath.Join(b.cfg.dir, "cluster"), b.log)
	if err != nil {
		return err
	}
	b.cluster = c
	defer c.stop()
	b.hubID = c.hubID
	if err := b.clusterScenarios(ctx); err != nil {
		return err
	}
	if st, err := c.status(ctx, 0); err == nil {
		b.finalIndex = st.AppliedIndex
	}
	b.logf("stopping the cluster")
	c.stop()
	if sc[scVerify] {
		return b.runVerify(ctx)
	}
	return nil
}

func (b *bencher) clusterScenarios(ctx context.Context) error {
	sc := b.cfg.scenarios
	if sc[scIngest] || (sc[scLatency] && b.cfg.latencyRate == 0) {
		if err := b.runIngest(ctx, scIngest); err != nil {
			return err
		}
	}
	if sc[scLatency] {
		if err := b.runLatency(ctx); err != nil {
			return err
		}
	}
	if sc[scFeed] {
		if err := b.runFeed(ctx); err != nil {
			return err
		}
	}
	if sc[scFill] || sc[scMemory] || sc[scIngestN] || sc[scCatchUp] {
		if err := b.runFill(ctx); err != nil {
			return err
		}
	}
	if sc[scMemory] {
		if err := b.runMemory(); err != nil {
			return err
		}
	}
	if sc[scIngestN] {
		if err := b.runIngest(ctx, scIngestN); err != nil {
			return err
		}
	}
	if sc[scCatchUp] {
		if err := b.runCatchUp(ctx); err != nil {
			return err
		}
	}
	return nil
}

func selected(sc map[string]bool) []string {
	var out []string
	for _, s := range allScenarios {
		if sc[s] {
			out = append(out, s)
		}
	}
	return out
}

func (b *bencher) runRaftBaseline(ctx context.Context) error {
	size := b.notice.envelopeSize
	b.logf("%s: 3 raft voters in-process, raft-boltdb, no-op FSM, %d proposers, %d-byte entries, %v", scRaft, b.cfg.concurrency, size, b.cfg.duration)
	dir := filepath.Join(b.cfg.dir, "raft-baseline")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	defer os.RemoveAll(dir)
	res, err := consensus.RunRaftBaseline(ctx, dir, b.cfg.concurrency, size, b.cfg.duration)
	if err != nil {
		return err
	}
	lat := newLatencies(res.Latencies)
	return b.emit(newResult(scRaft, float64(res.Entries)/res.Elapsed.Seconds(), lat).
		add("entries", res.Entries).add("failed", res.Failed).add("leader_changes", res.LeaderChanges).add("entry_bytes", size).
		add("concurrency", b.cfg.concurrency).add("duration_s", res.Elapsed.Seconds()))
}

func (b *bencher) runVerify(ctx context.Context) error {
	dataDir := b.cluster.state.Nodes[0].DataDir
	b.logf("%s: penhub verify --data-dir %s (stopped node)", scVerify, dataDir)
	var total uint64
	hub := b.hubID
	start := time.Now()
	err := consensus.VerifyStore(dataDir, &hub, func(done, t uint64) { total = t })
	elapsed := time.Since(start)
	if err != nil {
		return fmt.Errorf("verifying %s: %w", dataDir, err)
	}
	if total == 0 && b.finalIndex >= 0 {
		total = uint64(b.finalIndex + 1)
	}
	ops := float64(total) / elapsed.Seconds()
	return b.emit(newResult(scVerify, ops, latencies{}).add("entries", total).
		add("seconds", round(elapsed.Seconds(), 3)).add("target", ">= 10000 entries/s").add("meets_target", ops >= 10000))
}

// benchResult is one JSON line: scenario, ops_per_s, p50_ms and p99_ms first,
// then scenario-specific fields in the order they were added.
type benchResult struct {
	keys []string
	vals []any
}

func newResult(scenario string, ops float64, lat latencies) *benchResult {
	r := &benchResult{}
	r.add("scenario", scenario).add("ops_per_s", round(ops, 1)).add("p50_ms", lat.ms(0.50)).add("p99_ms", lat.ms(0.99))
	if lat.n() > 0 {
		r.add("max_ms", lat.ms(1))
	}
	return r
}

func (r *benchResult) add(k string, v any) *benchResult {
	r.keys, r.vals = append(r.keys, k), append(r.vals, v)
	return r
}

// addAll adds the fields of m in the order of their names.
func (r *benchResult) addAll(m map[string]any) *benchResult {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		r.add(k, m[k])
	}
	return r
}

// MarshalJSON writes the fields in insertion order.
func (r *benchResult) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // targets say ">=" and "<="
	buf.WriteByte('{')
	for i, k := range r.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := enc.Encode(k); err != nil {
			return nil, fmt.Errorf("encoding bench field name: %w", err)
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		buf.WriteByte(':')
		if err := enc.Encode(r.vals[i]); err != nil {
			return nil, fmt.Errorf("encoding bench field %s: %w", k, err)
		}
		buf.Truncate(buf.Len() - 1)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// latencies is a sorted set of durations.
type latencies []time.Duration

func newLatencies(d []time.Duration) latencies {
	l := slices.Clone(d)
	slices.Sort(l)
	return l
}

func (l latencies) n() int { return len(l) }

// ms returns the q-quantile (nearest rank) in milliseconds, 0 when empty.
func (l latencies) ms(q float64) float64 {
	if len(l) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(l)))) - 1
	i = max(0, min(i, len(l)-1))
	return round(float64(l[i])/float64(time.Millisecond), 3)
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
