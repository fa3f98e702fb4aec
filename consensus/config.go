package consensus

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/penhub/penhub/crypto"
)

// Config configures one consensus node. Zero values are replaced by the defaults of
// [DefaultConfig] in [Config.Validate]; NodeID, DataDir, RaftBind, CACert, Cert and
// NodeKey have no default.
type Config struct {
	// NodeID is this node's id in the directory and its raft server id. Required.
	NodeID string
	// DataDir holds fsm.db (the ledger) and raft/ (raft.db, snapshots/). Required.
	DataDir string
	// RaftBind is the TCP address the raft/RPC port listens on, e.g. "127.0.0.1:7501"
	// (port 0 picks a free port; see Node.Addr). Required.
	RaftBind string
	// RaftAdvertise is the address other nodes dial; it must equal this node's "raft"
	// field in the directory. Default: the bound address of RaftBind. An unspecified host
	// (0.0.0.0, ::) is refused.
	RaftAdvertise string
	// CACert is the hub CA pool that every peer certificate must chain to. Required.
	CACert *x509.CertPool
	// Cert is this node's TLS certificate issued by the hub CA. Required.
	Cert tls.Certificate
	// NodeKey is this node's checkpoint-signing key (the directory's checkpoint_key); used
	// to cosign checkpoints. Required.
	NodeKey *crypto.SigningKey
	// Bootstrap makes this node create the raft cluster from Genesis on first start (no
	// existing raft state). Exactly one node of a new hub bootstraps.
	Bootstrap bool
	// Genesis is the signed genesis envelope. Required with Bootstrap; a joining node may
	// give it too (checked by the caller against the hub id), which narrows who may connect
	// before the genesis entry is applied locally (docs/consensus.md, "Peer check").
	Genesis []byte
	// TrustedPeers lists TLS fingerprints (lowercase hex SHA-256 of the SPKI) of nodes to
	// accept before this node's own ledger lists them: a joining node should pass the
	// fingerprints of the directory's nodes as fetched at join time, so it accepts a
	// leader that joined the hub after the genesis. Once the local directory lists a
	// node, the directory decides (a removed node is refused).
	TrustedPeers []string
	// Logger receives raft and consensus logs. Default: slog.Default().
	Logger *slog.Logger
	// HeartbeatTimeout and ElectionTimeout are raft's; default 1 s each (Consul and Vault
	// "multiplier 1").
	HeartbeatTimeout, ElectionTimeout time.Duration
	// LeaderLeaseTimeout is how long a leader keeps leading without hearing from a quorum;
	// default 500 ms (raft's), at most HeartbeatTimeout.
	LeaderLeaseTimeout time.Duration
	// CommitTimeout is how long the leader waits, when no new entries flow, before it
	// sends each follower an append that carries the new commit index. A forwarded
	// Propose returns only once the follower has applied the entry, so this bounds its
	// extra latency (on average 1.5 × CommitTimeout). Default 10 ms (raft's is 50 ms);
	// the idle cost is one small message per follower per 10–20 ms.
	CommitTimeout time.Duration
	// ForwardHold bounds how long Propose waits for a leader to appear (retrying with
	// jitter) before returning ErrUnavailable. Default 5 s.
	ForwardHold time.Duration

	// SnapshotThreshold is the number of raft log entries between snapshots; default
	// 8192. TrailingLogs is how many entries are kept after a snapshot; default 10240.
	// SnapshotInterval is how often raft checks the threshold; default 30 s (raft's
	// 120 s default is too slow for small thresholds in tests).
	SnapshotThreshold, TrailingLogs uint64
	SnapshotInterval                time.Duration
	// VerifyWorkers is passed to the ledger (parallel signature checks per batch);
	// default 0 = the ledger's choice.
	VerifyWorkers int

	// listener, when set (tests), is used instead of listening on RaftBind.
	listener net.Listener
	// ledgerNoSync turns off the ledger's fsync (benchmarks only: measures its cost).
	ledgerNoSync bool
}

// Defaults used by DefaultConfig and Validate.
const (
	defaultHeartbeat         = time.Second
	defaultElection          = time.Second
	defaultLease             = 500 * time.Millisecond
	defaultCommitTimeout     = 10 * time.Millisecond
	defaultForwardHold       = 5 * time.Second
	defaultSnapshotThreshold = 8192
	defaultTrailingLogs      = 10240
	defaultSnapshotInterval  = 30 * time.Second
)

// DefaultConfig returns a Config with every defaultable field set. The caller fills
// NodeID, DataDir, RaftBind, CACert, Cert, NodeKey and, for a new hub, Bootstrap and
// Genesis.
func DefaultConfig() Config {
	return Config{
		Logger:             slog.Default(),
		HeartbeatTimeout:   defaultHeartbeat,
		ElectionTimeout:    defaultElection,
		LeaderLeaseTimeout: defaultLease,
		ForwardHold:        defaultForwardHold,
		SnapshotThreshold:  defaultSnapshotThreshold,
		TrailingLogs:       defaultTrailingLogs,
		SnapshotInterval:   defaultSnapshotInterval,
	}
}

// Validate fills zero-valued fields with defaults and returns the first broken rule,
// naming the field.
func (c *Config) Validate() error {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.HeartbeatTimeout == 0 {
		c.HeartbeatTimeout = defaultHeartbeat
	}
	if c.ElectionTimeout == 0 {
		c.ElectionTimeout = defaultElection
	}
	if c.LeaderLeaseTimeout == 0 {
		c.LeaderLeaseTimeout = min(defaultLease, c.HeartbeatTimeout)
	}
	if c.ForwardHold == 0 {
		c.ForwardHold = defaultForwardHold
	}
	if c.CommitTimeout == 0 {
		c.CommitTimeout = defaultCommitTimeout
	}
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = defaultSnapshotThreshold
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = defaultTrailingLogs
	}
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = defaultSnapshotInterval
	}
	switch {
	case c.NodeID == "":
		return errors.New("consensus config: NodeID is required")
	case c.DataDir == "":
		return errors.New("consensus config: DataDir is required")
	case c.RaftBind == "":
		return errors.New("consensus config: RaftBind is required")
	case c.CACert == nil:
		return errors.New("consensus config: CACert is required")
	case len(c.Cert.Certificate) == 0:
		return errors.New("consensus config: Cert is required")
	case c.NodeKey == nil:
		return errors.New("consensus config: NodeKey is required")
	case c.Bootstrap && len(c.Genesis) == 0:
		return errors.New("consensus config: Bootstrap needs Genesis")
	case c.HeartbeatTimeout < 5*time.Millisecond || c.ElectionTimeout < c.HeartbeatTimeout:
		return fmt.Errorf("consensus config: HeartbeatTimeout %v must be ≥ 5ms and ≤ ElectionTimeout %v", c.HeartbeatTimeout, c.ElectionTimeout)
	case c.LeaderLeaseTimeout < 5*time.Millisecond || c.LeaderLeaseTimeout > c.HeartbeatTimeout:
		return fmt.Errorf("consensus config: LeaderLeaseTimeout %v must be ≥ 5ms and ≤ HeartbeatTimeout %v", c.LeaderLeaseTimeout, c.HeartbeatTimeout)
	case c.CommitTimeout < time.Millisecond:
		return fmt.Errorf("consensus config: CommitTimeout %v must be ≥ 1ms", c.CommitTimeout)
	case c.ForwardHold < 0:
		return errors.New("consensus config: ForwardHold must not be negative")
	case c.TrailingLogs < 1:
		return errors.New("consensus config: TrailingLogs must be ≥ 1")
	}
	if _, _, err := net.SplitHostPort(c.RaftBind); err != nil {
		return fmt.Errorf("consensus config: RaftBind %q: %w", c.RaftBind, err)
	}
	if c.RaftAdvertise != "" {
		host, _, err := net.SplitHostPort(c.RaftAdvertise)
		if err != nil {
			return fmt.Errorf("consensus config: RaftAdvertise %q: %w", c.RaftAdvertise, err)
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			return fmt.Errorf("consensus config: RaftAdvertise %q is an unspecified address", c.RaftAdvertise)
		}
	}
	return nil
}
