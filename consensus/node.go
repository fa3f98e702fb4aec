package consensus

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/penhub/penhub/consensus/ledger"
	"github.com/penhub/penhub/crypto"
)

// File layout under Config.DataDir. Changing these breaks existing data directories.
// raft's FileSnapshotStore keeps its snapshots in raftDir/snapshots/<id>/ (the
// "snapshots" component is raft's own).
const (
	fsmFile     = "fsm.db"  // the ledger (bbolt)
	raftDir     = "raft"    // raft state
	raftLogFile = "raft.db" // raft-boltdb/v2 log and stable store, under raftDir
)

// Raft tuning that is not in Config (docs/consensus.md, "Configuration").
const (
	logCacheSize       = 512
	snapshotRetain     = 2
	maxAppendEntries   = 64
	transportPool      = 3
	transportTimeout   = 10 * time.Second
	enqueueTimeout     = 10 * time.Second // bound on handing an Apply to raft's leader loop (no ctx deadline)
	transferTimeout    = 5 * time.Second  // leadership transfer on Close
	readyLag           = 512              // raft entries a follower may trail and still be Ready
	proposeWaitDefault = 30 * time.Second
)

// Node is one running consensus member: raft, its stores, the mTLS transport, leader
// forwarding, the membership reconciler and the checkpoint cosigner. All methods are safe
// for concurrent use.
type Node struct {
	cfg    Config
	log    *slog.Logger
	ledger *ledger.Ledger
	fsm    *fsm
	raft   *raft.Raft
	logs   *raftboltdb.BoltStore
	snaps  *liveSnapshots // raft's snapshot store (snapshots.go)
	cache  raft.LogStore
	trans  *raft.NetworkTransport
	mux    *mux
	rpc    *rpcClient

	genesis *ledger.GenesisBody // parsed Config.Genesis, nil without one
	trusted map[string]bool     // TLS fingerprints of the genesis' nodes and Config.TrustedPeers

	closed    chan struct{}
	closedCtx context.Context // cancelled with closed; bounds calls made for callers
	cancel    context.CancelFunc
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup

	counters proposeCounters

	peersMu sync.Mutex
	peers   map[string]peerStat // leader only: last status poll of each peer

	acceptAnyOnce sync.Once

	// readyTerm is the term in which this node, as leader, has committed and applied a
	// barrier (set by onLeadership); before that its commit index may still be behind
	// entries committed by the previous leader, so it does not answer read-index requests.
	readyTerm atomic.Uint64

	// stalled is set by the leader's stall watch (membership.go) and reported in Status.
	stalled atomic.Bool
}

// peerStat is the last answer of a peer to the leader's status poll.
type peerStat struct {
	applied uint64 // the peer's applied raft index
	size    uint64 // the peer's ledger size
	at      time.Time
}

// Open opens (or creates) the node's stores under cfg.DataDir, starts the raft port and
// raft. With cfg.Bootstrap and no existing raft state it bootstraps the cluster from the
// genesis' voter nodes. Open does not wait for a leader: use Ready or WaitSize. ctx bounds
// only the opening itself.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:    cfg,
		log:    cfg.Logger.With("node", cfg.NodeID),
		closed: make(chan struct{}),
		peers:  make(map[string]peerStat),
	}
	n.closedCtx, n.cancel = context.WithCancel(context.Background())
	if len(cfg.Genesis) > 0 {
		g, err := parseGenesis(cfg.Genesis)
		if err != nil {
			return nil, err
		}
		n.genesis = g
	}
	n.trusted = make(map[string]bool)
	if n.genesis != nil {
		for _, nr := range n.genesis.Nodes {
			n.trusted[nr.TLSFingerprint] = true
		}
	}
	for _, fp := range cfg.TrustedPeers {
		n.trusted[fp] = true
	}
	cleanup := []func(){n.cancel}
	fail := func(err error) (*Node, error) {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, raftDir), 0o700); err != nil {
		return fail(fmt.Errorf("creating data directory: %w", err))
	}
	l, err := ledger.Open(filepath.Join(cfg.DataDir, fsmFile), ledger.Options{Logger: n.log, VerifyWorkers: cfg.VerifyWorkers, NoSync: cfg.ledgerNoSync})
	if err != nil {
		return fail(fmt.Errorf("opening ledger: %w", err))
	}
	n.ledger = l
	cleanup = append(cleanup, func() { l.Close() })
	n.fsm = newFSM(l, n.log)
	if len(cfg.Genesis) > 0 {
		hub := sha256.Sum256(cfg.Genesis)
		n.fsm.wantHub = &hub
	}

	logs, err := raftboltdb.New(raftboltdb.Options{
		Path: filepath.Join(cfg.DataDir, raftDir, raftLogFile),
		BoltOptions: &bolt.Options{
			Timeout:        time.Second,
			NoFreelistSync: true,
			FreelistType:   bolt.FreelistMapType,
		},
	})
	if err != nil {
		return fail(fmt.Errorf("opening raft log store: %w", err))
	}
	n.logs = logs
	cleanup = append(cleanup, func() { logs.Close() })
	cache, err := raft.NewLogCache(logCacheSize, logs)
	if err != nil {
		return fail(fmt.Errorf("creating raft log cache: %w", err))
	}
	n.cache = cache
	hl := newHCLog(n.log, "raft")
	files, err := raft.NewFileSnapshotStoreWithLogger(filepath.Join(cfg.DataDir, raftDir), snapshotRetain, hl.Named("snapshots"))
	if err != nil {
		return fail(fmt.Errorf("opening raft snapshot store: %w", err))
	}
	snaps := &liveSnapshots{FileSnapshotStore: files, ledger: l}
	n.snaps = snaps

	if err := n.restoreIfBehind(snaps); err != nil {
		return fail(err)
	}

	ln := cfg.listener
	if ln == nil {
		var err error
		if ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.RaftBind); err != nil {
			return fail(fmt.Errorf("listening on raft port: %w", err))
		}
	}
	cleanup = append(cleanup, func() { ln.Close() })
	advertise, err := advertiseAddr(cfg.RaftAdvertise, ln.Addr())
	if err != nil {
		return fail(err)
	}
	serverTLS := crypto.ServerTLSConfig(cfg.CACert, cfg.Cert, n.allowPeer)
	clientTLS := func(addr string) *tls.Config {
		return crypto.ClientTLSConfig(cfg.CACert, cfg.Cert, n.nodeIDByAddr(addr), n.allowPeer)
	}
	n.mux = newMux(ln, advertise, serverTLS, clientTLS, n.log.With("component", "mux"))
	n.mux.serveRPC = n.serveRPC
	cleanup = append(cleanup, n.mux.close)
	n.rpc = newRPCClient(n.mux)
	n.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  newStreamLayer(n.mux),
		MaxPool: transportPool,
		Timeout: transportTimeout,
		Logger:  hl.Named("net"),
	})
	cleanup = append(cleanup, func() { n.trans.Close() })

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.CommitTimeout
	rc.BatchApplyCh = true
	rc.MaxAppendEntries = maxAppendEntries
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.TrailingLogs = cfg.TrailingLogs
	rc.SnapshotInterval = cfg.SnapshotInterval
	// The ledger's bbolt file is durable by itself and skips entries it has already
	// applied, so a restart need not rebuild it from the newest snapshot (Vault does the
	// same): raft resumes applying after the snapshot index.
	rc.NoSnapshotRestoreOnStart = true
	rc.Logger = hl
	if err := raft.ValidateConfig(rc); err != nil {
		return fail(fmt.Errorf("validating raft config: %w", err))
	}

	if cfg.Bootstrap {
		has, err := raft.HasExistingState(cache, logs, snaps)
		if err != nil {
			return fail(fmt.Errorf("checking raft state: %w", err))
		}
		if !has {
			conf, err := n.bootstrapConfiguration()
			if err != nil {
				return fail(err)
			}
			if err := raft.BootstrapCluster(rc, cache, logs, snaps, n.trans, conf); err != nil {
				return fail(fmt.Errorf("bootstrapping raft cluster: %w", err))
			}
			n.log.Info("bootstrapped raft cluster", "voters", len(conf.Servers))
		}
	}
	r, err := raft.NewRaft(rc, n.fsm, cache, logs, snaps, n.trans)
	if err != nil {
		return fail(fmt.Errorf("starting raft: %w", err))
	}
	n.raft = r
	n.mux.start()
	n.goFunc(n.runLeaderDuties)
	n.goFunc(n.runCosigner)
	n.log.Info("consensus node open", "raft", advertise.String(), "applied_raft_index", n.fsm.last.Load(), "size", l.Size())
	return n, nil
}

// restoreIfBehind restores the ledger from the newest raft snapshot when the ledger has
// applied less than that snapshot covers. raft is started with NoSnapshotRestoreOnStart,
// so it resumes after the snapshot's index and would never replay what lies below it; the
// ledger can only be behind an installed snapshot (real data, sent by a leader) after a
// crash between the snapshot being saved and the ledger's Restore finishing. A ledger
// behind one of this node's own live snapshots means fsm.db was replaced or damaged:
// Open refuses to start rather than serve a log with a hole.
func (n *Node) restoreIfBehind(snaps *liveSnapshots) error {
	list, err := snaps.List()
	if err != nil {
		return fmt.Errorf("listing raft snapshots: %w", err)
	}
	if len(list) == 0 || list[0].Index <= n.ledger.AppliedRaftIndex() {
		return nil
	}
	live, err := snaps.isLive(list[0].ID)
	if err != nil {
		return fmt.Errorf("reading raft snapshot %s: %w", list[0].ID, err)
	}
	if live {
		return fmt.Errorf("%w: the ledger (fsm.db) has applied raft index %d but this node's own snapshot covers %d: the file was replaced or damaged; move raft/ and fsm.db aside and restart to receive a copy from the hub",
			ErrInconsistentStore, n.ledger.AppliedRaftIndex(), list[0].Index)
	}
	meta, rc, err := snaps.Open(list[0].ID)
	if err != nil {
		return fmt.Errorf("opening raft snapshot %s: %w", list[0].ID, err)
	}
	n.log.Warn("ledger is behind the newest snapshot; restoring it", "ledger_applied", n.ledger.AppliedRaftIndex(), "snapshot_index", meta.Index)
	if err := n.fsm.Restore(rc); err != nil {
		return fmt.Errorf("restoring ledger from snapshot %s: %w", meta.ID, err)
	}
	return nil
}

// goFunc runs f on a goroutine that Close waits for.
func (n *Node) goFunc(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

func advertiseAddr(configured string, bound net.Addr) (net.Addr, error) {
	s := configured
	if s == "" {
		s = bound.String()
	}
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		return nil, fmt.Errorf("resolving raft advertise address %q: %w", s, err)
	}
	if a.IP == nil || a.IP.IsUnspecified() {
		return nil, fmt.Errorf("raft advertise address %q is not dialable: set RaftAdvertise", s)
	}
	return a, nil
}

func parseGenesis(b []byte) (*ledger.GenesisBody, error) {
	env, err := crypto.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("parsing genesis envelope: %w", err)
	}
	if env.Kind != crypto.KindDirectory || env.Subtype != ledger.OpGenesis {
		return nil, fmt.Errorf("parsing genesis envelope: kind %d subtype %q is not a genesis entry", env.Kind, env.Subtype)
	}
	var g ledger.GenesisBody
	if err := json.Unmarshal(env.Body, &g); err != nil {
		return nil, fmt.Errorf("decoding genesis body: %w", err)
	}
	return &g, nil
}

// bootstrapConfiguration is the genesis' voters, ids = node ids, addresses = raft addresses.
func (n *Node) bootstrapConfiguration() (raft.Configuration, error) {
	var conf raft.Configuration
	self := false
	for _, nr := range n.genesis.Nodes {
		if !nr.Voter {
			continue
		}
		self = self || nr.ID == n.cfg.NodeID
		conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(nr.ID), Address: raft.ServerAddress(nr.Raft)})
	}
	if !self {
		return conf, fmt.Errorf("bootstrapping: node %q is not a voter of the genesis", n.cfg.NodeID)
	}
	return conf, nil
}

// allowPeer is the TLS peer check on both ends of every connection of the raft port: the
// certificate (already chained to the hub CA) must carry the key of a node of the local
// directory that is not removed. A key the local directory does not list yet is accepted
// if it is one of the genesis' nodes or of Config.TrustedPeers (a joining node replays
// the log from the start, so for a while its directory lags the hub's). A node the local
// directory marks removed is refused even then. A node started with neither Genesis nor
// TrustedPeers accepts any hub-CA certificate until its ledger holds the genesis
// (docs/consensus.md, "Peer check").
func (n *Node) allowPeer(fp string) error {
	if n.ledger.Size() > 0 {
		dir := n.ledger.Directory()
		if _, ok := dir.NodeByFingerprint(fp); ok {
			return nil
		}
		for _, ni := range dir.Nodes {
			if ni.TLSFingerprint == fp { // listed, and removed
				return ErrNotMember
			}
		}
	}
	if n.trusted[fp] {
		return nil
	}
	if len(n.trusted) == 0 && n.ledger.Size() == 0 {
		n.acceptAnyOnce.Do(func() {
			n.log.Warn("no genesis or trusted peers configured: accepting any hub-CA peer until the genesis entry is applied")
		})
		return nil
	}
	return ErrNotMember
}

// nodeIDByAddr names the node whose raft address is addr (for the TLS server name), or "".
func (n *Node) nodeIDByAddr(addr string) string {
	if n.ledger.Size() > 0 {
		dir := n.ledger.Directory()
		for _, id := range dir.NodeIDs() {
			if dir.Nodes[id].Raft == addr {
				return id
			}
		}
		return ""
	}
	if n.genesis != nil {
		for _, nr := range n.genesis.Nodes {
			if nr.Raft == addr {
				return nr.ID
			}
		}
	}
	return ""
}

// Addr is the advertised raft address (useful with RaftBind port 0).
func (n *Node) Addr() string { return n.mux.advertise.String() }

// Ledger returns the local ledger for reads. It stays valid until Close.
func (n *Node) Ledger() *ledger.Ledger { return n.ledger }

// IsLeader reports whether this node is the raft leader right now.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Close leaves the cluster gracefully: if this node leads, it first transfers leadership
// (bounded by ~5 s and ctx), then shuts raft down and closes the transport and the stores.
// Idempotent; later calls return the first call's result.
func (n *Node) Close(ctx context.Context) error {
	n.closeOnce.Do(func() {
		if n.raft.State() == raft.Leader {
			tctx, cancel := context.WithTimeout(ctx, transferTimeout)
			f := n.raft.LeadershipTransfer()
			if err := waitFuture(tctx, f); err != nil {
				n.log.Warn("leadership transfer on close", "err", err)
			} else {
				n.log.Info("transferred leadership on close")
			}
			cancel()
		}
		n.closeErr = n.shutdown()
	})
	return n.closeErr
}

// shutdown stops everything without a leadership transfer, in dependency order: our
// goroutines, raft, the raft port, then the stores.
func (n *Node) shutdown() error {
	close(n.closed)
	n.cancel()
	var errs []error
	if err := n.raft.Shutdown().Error(); err != nil {
		errs = append(errs, fmt.Errorf("shutting down raft: %w", err))
	}
	n.wg.Wait()
	n.rpc.close()
	n.mux.close()
	if err := n.trans.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing raft transport: %w", err))
	}
	if err := n.logs.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing raft log store: %w", err))
	}
	if err := n.ledger.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing ledger: %w", err))
	}
	n.log.Info("consensus node closed")
	return errors.Join(errs...)
}

// bound returns ctx, also cancelled when the node closes, so that calls in flight for a
// caller (a forwarded proposal, a read-index request) do not hold up Close.
func (n *Node) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(n.closedCtx, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// waitFuture waits for a raft future until ctx is done.
func waitFuture(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitSize blocks until the local ledger holds at least size entries.
func (n *Node) WaitSize(ctx context.Context, size uint64) error {
	for {
		cur, changed := n.ledger.Changed()
		if cur >= size {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for ledger size %d (at %d): %w", size, cur, ctx.Err())
		case <-n.closed:
			return ErrClosed
		}
	}
}

// waitApplied blocks until every raft entry up to index that the ledger must see has been
// applied by the local ledger.
func (n *Node) waitApplied(ctx context.Context, index uint64) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		_, changed := n.fsm.wait()
		if n.appliedThrough(index) {
			return nil
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		case <-n.closed:
			return ErrClosed
		}
	}
}

// appliedThrough reports whether the ledger has applied every command and configuration
// entry with a raft index ≤ index. Entries raft never hands to the FSM (no-ops, barriers)
// are skipped by looking at the log.
func (n *Node) appliedThrough(index uint64) bool {
	last := n.fsm.last.Load()
	if last >= index {
		return true
	}
	if n.raft.AppliedIndex() < index {
		return false
	}
	for i := last + 1; i <= index; i++ {
		var l raft.Log
		if err := n.cache.GetLog(i, &l); err != nil {
			return false
		}
		if l.Type == raft.LogCommand || l.Type == raft.LogConfiguration {
			return false
		}
	}
	return true
}

// Barrier waits until this node has applied everything the leader had committed when
// Barrier was called (a read-index barrier: the leader confirms its leadership with a
// quorum, no log entry is written). After it returns, local reads are at least as fresh as
// any write acknowledged before the call. Errors: ErrUnavailable (no leader within
// ForwardHold), ErrClosed, or ctx's error.
func (n *Node) Barrier(ctx context.Context) error {
	ctx, cancel := n.bound(ctx)
	defer cancel()
	commit, err := n.readIndex(ctx)
	if err != nil {
		return err
	}
	if err := n.waitApplied(ctx, commit); err != nil {
		return fmt.Errorf("waiting for local apply of raft index %d: %w", commit, err)
	}
	return nil
}

func (n *Node) readIndex(ctx context.Context) (uint64, error) {
	hold := time.Now().Add(n.cfg.ForwardHold)
	for {
		if n.IsLeader() {
			if idx, ok := n.leaderReadIndex(ctx); ok {
				return idx, nil
			}
		} else if addr, _ := n.raft.LeaderWithID(); addr != "" {
			cctx, cancel := context.WithTimeout(ctx, n.cfg.ForwardHold)
			resp, err := n.rpc.call(cctx, string(addr), opReadIndex, nil)
			cancel()
			if err == nil && resp.Status == stOK {
				return resp.CommitIndex, nil
			}
		}
		if err := n.holdOff(ctx, hold); err != nil {
			return 0, err
		}
	}
}

// leaderReadIndex confirms leadership with a quorum and returns the commit index, if this
// node leads and has committed a barrier in its current term.
func (n *Node) leaderReadIndex(ctx context.Context) (uint64, bool) {
	if n.readyTerm.Load() != n.raft.CurrentTerm() {
		return 0, false
	}
	if err := waitFuture(ctx, n.raft.VerifyLeader()); err != nil {
		return 0, false
	}
	return n.raft.CommitIndex(), true
}

// holdOff sleeps a jittered interval before the next attempt to reach a leader, or
// returns ErrUnavailable once the hold deadline has passed.
func (n *Node) holdOff(ctx context.Context, hold time.Time) error {
	if !time.Now().Before(hold) {
		return ErrUnavailable
	}
	step := max(n.cfg.ForwardHold/16, 20*time.Millisecond)
	d := step/2 + rand.N(step/2+1)
	d = min(d, time.Until(hold)+time.Millisecond)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	case <-n.closed:
		return ErrClosed
	}
}

// Ready reports whether the node has a leader, holds the genesis, and has applied what
// the leader last told it was committed (within readyLag raft entries).
func (n *Node) Ready() bool {
	select {
	case <-n.closed:
		return false
	default:
	}
	_, leader := n.raft.LeaderWithID()
	if leader == "" || n.ledger.Size() == 0 {
		return false
	}
	if n.raft.State() != raft.Leader && time.Since(n.raft.LastContact()) > n.cfg.HeartbeatTimeout {
		return false
	}
	commit := n.raft.CommitIndex()
	last := n.fsm.last.Load()
	return last+readyLag >= commit || n.appliedThrough(commit)
}

// Status is a point-in-time view of the node for /v1/status.
type Status struct {
	NodeID       string   `json:"node_id"`
	State        string   `json:"state"`  // "leader", "follower", "candidate", "shutdown"
	Leader       string   `json:"leader"` // the leader's node id, "" when unknown
	Term         uint64   `json:"term"`
	AppliedIndex int64    `json:"applied_index"` // log index of the last applied entry, -1 when empty
	HubID        string   `json:"hub_id"`        // hex, "" before genesis
	Peers        []Peer   `json:"peers"`
	Alarms       []string `json:"alarms"`
}

// Peer is one member of the raft configuration.
type Peer struct {
	ID       string `json:"id"`
	Suffrage string `json:"suffrage"` // "voter" or "nonvoter"
	// Lag is how many log entries the peer's ledger trails this node's, as of the
	// leader's last poll (about once a second); -1 when unknown (on followers, or the
	// peer did not answer).
	Lag int64 `json:"lag"`
}

// Status reports the node's raft and ledger state.
func (n *Node) Status() Status {
	_, leader := n.raft.LeaderWithID()
	size := n.ledger.Size()
	st := Status{
		NodeID:       n.cfg.NodeID,
		State:        strings.ToLower(n.raft.State().String()),
		Leader:       string(leader),
		Term:         n.raft.CurrentTerm(),
		AppliedIndex: int64(size) - 1,
		Alarms:       n.ledger.Alarms(),
		Peers:        []Peer{},
	}
	if size > 0 {
		h := n.ledger.HubID()
		st.HubID = hex.EncodeToString(h[:])
	}
	if st.Alarms == nil {
		st.Alarms = []string{}
	}
	if n.stalled.Load() {
		st.Alarms = append(st.Alarms, fmt.Sprintf("leader_stalled: commit index has not moved for %v with entries waiting; restart this node if it persists", stallAfter))
	}
	isLeader := n.raft.State() == raft.Leader
	n.peersMu.Lock()
	defer n.peersMu.Unlock()
	for _, s := range n.configuration() {
		p := Peer{ID: string(s.ID), Suffrage: suffrageName(s.Suffrage), Lag: -1}
		switch {
		case string(s.ID) == n.cfg.NodeID:
			p.Lag = 0
		case isLeader:
			if ps, ok := n.peers[string(s.ID)]; ok && time.Since(ps.at) < 5*time.Second {
				p.Lag = max(int64(size)-int64(ps.size), 0)
			}
		}
		st.Peers = append(st.Peers, p)
	}
	return st
}

func suffrageName(s raft.ServerSuffrage) string {
	switch s {
	case raft.Voter:
		return "voter"
	case raft.Nonvoter:
		return "nonvoter"
	default:
		return "staging"
	}
}

// configuration returns raft's latest configuration (nil if it cannot be read).
func (n *Node) configuration() []raft.Server {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil
	}
	return f.Configuration().Servers
}
