package node

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"
)

// Files inside a node's data directory. Changing a name breaks existing data dirs.
const (
	ConfigFile   = "penhub.yaml"   // this node's configuration (Config)
	NodeKeyFile  = "node.key"      // the node's checkpoint-signing identity (crypto.Identity without KEM)
	GenesisFile  = "genesis.entry" // the signed genesis envelope (bootstrap and join)
	KeyringDir   = "keyring"       // private keys of the authorities this node hosts
	TLSDir       = "tls"           // ca.pem, node.pem, node-key.pem
	TokensFile   = "tokens.json"   // node-local API tokens (hashes only)
	caCertFile   = "ca.pem"
	nodeCertFile = "node.pem"
	nodeKeyPEM   = "node-key.pem"
)

// Config is one node's configuration, read from DataDir/penhub.yaml. Every
// field is documented in the file that penhub init writes (see configTemplate).
type Config struct {
	// NodeID names this node in the directory and in Raft. Required.
	NodeID string `yaml:"node_id"`
	// DataDir is the directory holding this file, keys, TLS material and the
	// stores. Not read from the file: it is where the file is.
	DataDir string `yaml:"-"`
	// API is the host:port the HTTP API and console listen on. Required.
	API string `yaml:"api"`
	// Raft is the host:port of the mutual-TLS port carrying Raft and
	// node-to-node forwarding. Required.
	Raft string `yaml:"raft"`
	// RaftAdvertise is the address other nodes dial; default Raft.
	RaftAdvertise string `yaml:"raft_advertise"`
	// Bootstrap is true on the one node that founds a hub: it starts Raft
	// with the genesis entry's voters. Default false (join an existing hub).
	Bootstrap bool `yaml:"bootstrap"`
	// HubID is the hex SHA-256 of the genesis entry; a node never accepts
	// another hub's history. Required.
	HubID string `yaml:"hub_id"`
	// Authorities lists the authorities whose private keys this node hosts
	// (in DataDir/keyring). May be empty for a relay node.
	Authorities []string `yaml:"authorities"`
	// TrustedPeers lists TLS fingerprints of nodes this node accepts on its
	// Raft port before its own copy of the directory knows them (a node that
	// joins accepts the hub's current nodes, including ones added after
	// genesis). penhub init --join fills it from the hub's directory.
	TrustedPeers []string `yaml:"trusted_peers"`
	// APICert and APIKey, when both set, serve the API over TLS (PEM files,
	// relative to DataDir). Default: plain HTTP, allowed on loopback only
	// unless InsecureHTTP.
	APICert string `yaml:"api_cert"`
	APIKey  string `yaml:"api_key"`
	// InsecureHTTP allows plain HTTP on a non-loopback address. Default false.
	InsecureHTTP bool `yaml:"insecure_http"`
	// RatePerSecond and RateBurst limit each token's requests. Defaults 2000 and 4000.
	RatePerSecond float64 `yaml:"rate_per_second"`
	RateBurst     int     `yaml:"rate_burst"`
	// MaxBodyBytes caps request bodies. Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// RequestTimeout bounds every API request (writes wait for commit within
	// it). Default 15s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
}

// DefaultConfig returns the defaults of every optional field.
func DefaultConfig() Config {
	return Config{
		RatePerSecond:  2000,
		RateBurst:      4000,
		MaxBodyBytes:   1 << 20,
		RequestTimeout: 15 * time.Second,
		LogLevel:       "info",
	}
}

// Validate fills zero-valued optional fields with their defaults and returns
// the first broken rule, naming the field.
func (c *Config) Validate() error {
	d := DefaultConfig()
	if c.NodeID == "" {
		return errors.New("node_id: required")
	}
	if c.DataDir == "" {
		return errors.New("data dir: required")
	}
	if _, _, err := net.SplitHostPort(c.API); err != nil {
		return fmt.Errorf("api: %q is not host:port: %w", c.API, err)
	}
	if _, _, err := net.SplitHostPort(c.Raft); err != nil {
		return fmt.Errorf("raft: %q is not host:port: %w", c.Raft, err)
	}
	if c.RaftAdvertise == "" {
		c.RaftAdvertise = c.Raft
	}
	if len(c.HubID) != 64 {
		return fmt.Errorf("hub_id: %q is not 64 hex digits", c.HubID)
	}
	if (c.APICert == "") != (c.APIKey == "") {
		return errors.New("api_cert and api_key: set both or neither")
	}
	if c.APICert == "" && !c.InsecureHTTP && !isLoopback(c.API) {
		return fmt.Errorf("api: refusing plain HTTP on non-loopback address %q (set api_cert/api_key, or insecure_http: true, or run with --insecure-http)", c.API)
	}
	if c.RatePerSecond < 0 || c.RateBurst < 0 || c.MaxBodyBytes < 0 || c.RequestTimeout < 0 {
		return errors.New("rate_per_second, rate_burst, max_body_bytes, request_timeout: must not be negative (0 = default)")
	}
	if c.RatePerSecond == 0 {
		c.RatePerSecond = d.RatePerSecond
	}
	if c.RateBurst == 0 {
		c.RateBurst = d.RateBurst
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	if c.LogLevel == "" {
		c.LogLevel = d.LogLevel
	}
	return nil
}

func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LoadConfig reads DataDir/penhub.yaml strictly (unknown fields are errors).
func LoadConfig(dataDir string) (*Config, error) { return LoadConfigWith(dataDir, nil) }

// LoadConfigWith is LoadConfig with command-line overrides: adjust (if not
// nil) changes the decoded file before it is validated.
func LoadConfigWith(dataDir string, adjust func(*Config)) (*Config, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("resolving data dir %q: %w", dataDir, err)
	}
	raw, err := os.ReadFile(filepath.Join(abs, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", filepath.Join(abs, ConfigFile), err)
	}
	cfg.DataDir = abs
	if adjust != nil {
		adjust(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid %s: %w", ConfigFile, err)
	}
	return &cfg, nil
}

// WriteConfig writes cfg to DataDir/penhub.yaml with a comment on every field.
func WriteConfig(cfg *Config) error {
	authorities, err := yaml.Marshal(cfg.Authorities)
	if err != nil {
		return fmt.Errorf("encoding authorities: %w", err)
	}
	if len(cfg.Authorities) == 0 {
		authorities = []byte("[]\n")
	} else {
		authorities = append([]byte("\n"), bytes.TrimRight(indent(authorities), " ")...)
	}
	trusted := []byte("[]\n")
	if len(cfg.TrustedPeers) > 0 {
		t, err := yaml.Marshal(cfg.TrustedPeers)
		if err != nil {
			return fmt.Errorf("encoding trusted peers: %w", err)
		}
		trusted = append([]byte("\n"), bytes.TrimRight(indent(t), " ")...)
	}
	text := fmt.Sprintf(configTemplate, q(cfg.NodeID), q(cfg.API), q(cfg.Raft), q(cfg.RaftAdvertise),
		cfg.Bootstrap, q(cfg.HubID), authorities, trusted, q(cfg.APICert), q(cfg.APIKey), cfg.InsecureHTTP,
		cfg.RatePerSecond, cfg.RateBurst, cfg.MaxBodyBytes, cfg.RequestTimeout, q(cfg.LogLevel))
	return WriteFileAtomic(filepath.Join(cfg.DataDir, ConfigFile), []byte(text), 0o600)
}

func q(s string) string { return fmt.Sprintf("%q", s) }

func indent(b []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n")) {
		out.WriteString("  ")
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

const configTemplate = `# penhub node configuration. Written by "penhub init"; read by "penhub node --data-dir".
# Paths are relative to this file's directory (the data dir).

# node_id: this node's id in the hub directory and in Raft (required).
node_id: %s
# api: host:port of the HTTP API and web console (required).
api: %s
# raft: host:port of the mutual-TLS port for Raft and node-to-node forwarding (required).
raft: %s
# raft_advertise: the address other nodes dial to reach raft (default: raft).
raft_advertise: %s
# bootstrap: true only on the node that founded the hub from genesis.entry.
bootstrap: %t
# hub_id: hex SHA-256 of the genesis entry; this node refuses any other hub's history.
hub_id: %s
# authorities: the authorities whose private keys live in keyring/ on this node.
authorities: %s# trusted_peers: TLS key fingerprints of nodes accepted on the raft port before this node's
# copy of the directory lists them (filled by "penhub init --join" from the hub's directory).
trusted_peers: %s
# api_cert, api_key: PEM certificate and key to serve the API over TLS (both or neither).
api_cert: %s
api_key: %s
# insecure_http: allow plain HTTP on a non-loopback api address (default false).
insecure_http: %t
# rate_per_second, rate_burst: per-token request rate limit (defaults 2000 and 4000).
rate_per_second: %g
rate_burst: %d
# max_body_bytes: largest accepted request body (default 1048576).
max_body_bytes: %d
# request_timeout: upper bound of one API request, including waiting for commit (default 15s).
request_timeout: %s
# log_level: debug, info, warn or error (default info). Logs never contain notice content.
log_level: %s
`

// WriteFileAtomic writes data to path via a synced temporary file and a rename:
// a reader sees the old file or the new one, never a part.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("creating temporary file for %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("setting mode of %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("renaming into %s: %w", path, err)
	}
	return nil
}
