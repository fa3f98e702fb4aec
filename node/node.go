// Package node is the penhub daemon's composition root: it wires the
// replicated log (consensus), the authorities' private keys (crypto keyring),
// node-local API tokens (node/tokens), the HTTP API v1, websocket feeds
// (node/feed), metrics and the automatic entries a node appends on its own
// (read receipts).
//
// Dependency direction: node → consensus, crypto, schema, node/tokens,
// node/feed. Nothing below imports node.
//
// # Threads
//
//   - the HTTP server's goroutines serve requests; writes block in
//     consensus.Node.Propose until committed and applied locally;
//   - the feed hub's goroutine (feed.Hub.Run) watches the ledger and fans
//     out; each websocket connection has one writer goroutine;
//   - receipt proposals run in short-lived goroutines tracked by n.wg.
//
// # Shutdown order
//
// Run stops the HTTP listener first (no new requests), waits for in-flight
// requests and receipt proposals, stops the feed hub, then closes consensus
// (which transfers leadership when this node leads) last.
package node

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/penhub/penhub/consensus"
	"github.com/penhub/penhub/consensus/ledger"
	"github.com/penhub/penhub/crypto"
	"github.com/penhub/penhub/node/feed"
	"github.com/penhub/penhub/node/tokens"
)

// Node is one running penhub node.
type Node struct {
	cfg     *Config
	log     *slog.Logger
	hubID   [32]byte
	cons    *consensus.Node
	keyring *crypto.Keyring
	tokens  *tokens.Store
	feed    *feed.Hub
	metrics *metrics
	views   *viewCache
	limits  *limiter
	handler http.Handler
	nodeKey *crypto.SigningKey // signs this node's checkpoints

	checkpoints checkpointCache // this node's signature of the latest tree head
	respLocks   stripedLock     // postResponse: one check-and-propose per notice at a time
	rotateMu    sync.Mutex      // rotateAuthority: one key rotation at a time

	// now and rand are the node's clock and randomness (the FSM never sees
	// them: time and ids travel in the entries).
	now  func() time.Time
	rand io.Reader

	wg       sync.WaitGroup     // receipt proposals
	bg       context.Context    // their context, cancelled at shutdown
	stopBg   context.CancelFunc // cancels bg
	receipts sync.Map           // receipt id → struct{}: receipt proposals in flight
}

// New opens a node's stores and starts consensus. The caller then calls Run.
func New(ctx context.Context, cfg *Config, logger *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("validating config: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	n := &Node{cfg: cfg, log: logger, now: time.Now, rand: rand.Reader}
	n.bg, n.stopBg = context.WithCancel(context.Background())
	hub, err := hex.DecodeString(cfg.HubID)
	if err != nil || len(hub) != 32 {
		return nil, fmt.Errorf("decoding hub_id %q: not 32 hex bytes", cfg.HubID)
	}
	copy(n.hubID[:], hub)

	nodeIdent, err := crypto.ReadIdentityFile(filepath.Join(cfg.DataDir, NodeKeyFile))
	if err != nil {
		return nil, fmt.Errorf("reading node key: %w", err)
	}
	genesis, err := os.ReadFile(filepath.Join(cfg.DataDir, GenesisFile))
	if err != nil {
		return nil, fmt.Errorf("reading genesis entry: %w", err)
	}
	if got := sha256.Sum256(genesis); got != n.hubID {
		return nil, fmt.Errorf("genesis entry in %s has hub id %x, config says %s", GenesisFile, got, cfg.HubID)
	}
	caPool, cert, err := loadNodeTLS(filepath.Join(cfg.DataDir, TLSDir))
	if err != nil {
		return nil, err
	}
	if n.keyring, err = crypto.OpenKeyring(filepath.Join(cfg.DataDir, KeyringDir)); err != nil {
		return nil, fmt.Errorf("opening keyring: %w", err)
	}
	for _, a := range cfg.Authorities {
		if _, ok := n.keyring.Current(a); !ok {
			return nil, fmt.Errorf("authority %q is configured but has no key in %s", a, KeyringDir)
		}
	}
	if n.tokens, err = tokens.Open(filepath.Join(cfg.DataDir, TokensFile)); err != nil {
		return nil, fmt.Errorf("opening token store: %w", err)
	}

	reg := prometheus.NewRegistry()
	n.metrics = newMetrics(reg)
	n.views = newViewCache(4096)
	n.limits = newLimiter(cfg.RatePerSecond, cfg.RateBurst)

	ccfg := consensus.DefaultConfig()
	ccfg.NodeID = cfg.NodeID
	ccfg.DataDir = cfg.DataDir
	ccfg.RaftBind = cfg.Raft
	ccfg.RaftAdvertise = cfg.RaftAdvertise
	ccfg.CACert = caPool
	ccfg.Cert = cert
	ccfg.NodeKey = nodeIdent.Sign
	n.nodeKey = nodeIdent.Sign
	ccfg.Bootstrap = cfg.Bootstrap
	ccfg.Genesis = genesis
	ccfg.TrustedPeers = cfg.TrustedPeers
	ccfg.Logger = logger.With("component", "consensus")
	if n.cons, err = consensus.Open(ctx, ccfg); err != nil {
		return nil, fmt.Errorf("starting consensus: %w", err)
	}
	n.metrics.watch(n.cons)

	n.feed = feed.NewHub(feedSource{n}, feed.Config{
		CheckOrigin: sameOrigin,
		Metrics:     feed.NewMetrics(reg),
	}, logger.With("component", "feed"))
	n.handler = n.routes(reg)
	return n, nil
}

// Handler returns the HTTP handler of the API (for tests and embedding).
func (n *Node) Handler() http.Handler { return n.handler }

// Consensus returns the node's replicated log.
func (n *Node) Consensus() *consensus.Node { return n.cons }

// Run serves the API until ctx is done, then shuts the node down in order
// (see the package doc). It returns nil after a clean shutdown.
func (n *Node) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", n.cfg.API)
	if err != nil {
		n.closeConsensus()
		return fmt.Errorf("listening on api address %s: %w", n.cfg.API, err)
	}
	srv := &http.Server{
		Handler:           n.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelWarn),
	}
	feedCtx, stopFeed := context.WithCancel(context.Background())
	feedDone := make(chan struct{})
	go func() { defer close(feedDone); n.feed.Run(feedCtx) }()

	serveErr := make(chan error, 1)
	go func() {
		if n.cfg.APICert != "" {
			serveErr <- srv.ServeTLS(ln, filepath.Join(n.cfg.DataDir, n.cfg.APICert), filepath.Join(n.cfg.DataDir, n.cfg.APIKey))
		} else {
			serveErr <- srv.Serve(ln)
		}
	}()
	n.log.Info("node serving", "node_id", n.cfg.NodeID, "api", ln.Addr().String(), "raft", n.cfg.RaftAdvertise)

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("serving api: %w", err)
		}
	}
	// 1. client-facing listener first: no new requests, wait for in-flight ones.
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutCtx)
	// 2. our own background proposals (receipts): cancel and wait.
	n.stopBg()
	n.wg.Wait()
	// 3. feeds.
	stopFeed()
	<-feedDone
	// 4. the store last (leadership transfer if we lead).
	n.closeConsensus()
	n.log.Info("node stopped", "node_id", n.cfg.NodeID)
	return runErr
}

func (n *Node) closeConsensus() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.cons.Close(ctx); err != nil {
		n.log.Warn("closing consensus", "err", err)
	}
}

func (n *Node) ledger() *ledger.Ledger { return n.cons.Ledger() }

// loadNodeTLS reads the hub CA and this node's certificate from dir.
func loadNodeTLS(dir string) (*x509.CertPool, tls.Certificate, error) {
	caPEM, err := os.ReadFile(filepath.Join(dir, caCertFile))
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("reading hub CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, tls.Certificate{}, fmt.Errorf("parsing hub CA certificate %s: no certificate found", filepath.Join(dir, caCertFile))
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, nodeCertFile), filepath.Join(dir, nodeKeyPEM))
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("loading node certificate: %w", err)
	}
	return pool, cert, nil
}
