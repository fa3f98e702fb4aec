package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/penhub/penhub/consensus/ledger"
	"github.com/penhub/penhub/crypto"
	"github.com/penhub/penhub/node"
	"github.com/penhub/penhub/node/client"
	"github.com/penhub/penhub/schema"
)

func init() {
	register("init", "create one node's data dir: keys, TLS, config (--bootstrap a new hub, or --join one)", runInit)
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// nodeRequestFile is what init --join writes for the secretariat: the new
// node's directory record (see penhub admit-node).
const nodeRequestFile = "node-request.json"

func runInit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "the new node's data directory")
	nodeID := fs.String("node-id", "", "this node's id in the directory (e.g. node-fr)")
	api := fs.String("api", "", "host:port of the HTTP API")
	raftAddr := fs.String("raft", "", "host:port of the mutual-TLS raft port (also what peers dial)")
	bootstrap := fs.Bool("bootstrap", false, "found a new hub with this node as its only voter")
	join := fs.String("join", "", "API URL of a node of the hub to join")
	hubID := fs.String("hub-id", "", "hex id of the hub to join (checked against its genesis entry)")
	caDir := fs.String("ca", "", "directory with the hub CA (ca.crt and ca.key); with --bootstrap a new CA is created there when empty")
	secretariat := fs.String("secretariat", "INT-INCB", "with --bootstrap: the authority that signs directory changes (must be among --authority)")
	checkpointEvery := fs.Uint64("checkpoint-interval", 1000, "with --bootstrap: entries between cosigned checkpoints")
	token := fs.String("token", os.Getenv("PENHUB_TOKEN"), "with --join: any token of the hub (to fetch its genesis entry)")
	var authorities stringList
	fs.Var(&authorities, "authority", "an authority this node hosts (repeatable); its keys are generated here")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	usage := "usage: penhub init --data-dir D --node-id ID --api ADDR --raft ADDR (--bootstrap | --join URL --hub-id H) [--ca DIR] [--authority A]..."
	if *dataDir == "" || *nodeID == "" || *api == "" || *raftAddr == "" || fs.NArg() > 0 || *bootstrap == (*join != "") || (*join != "" && (*hubID == "" || *caDir == "")) {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	for _, a := range authorities {
		if !schema.ValidAuthorityID(a) {
			fmt.Fprintf(stderr, "penhub: --authority: %q is not an authority id (DE, NL-CUSTOMS, INT-INCB)\n", a)
			return 2
		}
	}
	abs, err := filepath.Abs(*dataDir)
	if err != nil {
		return fail(stderr, "resolving --data-dir", err)
	}
	ca, err := loadOrCreateCA(*caDir, *bootstrap, abs)
	if err != nil {
		return fail(stderr, "hub CA", err)
	}
	nodeKey, err := crypto.GenerateIdentity(rand.Reader, *nodeID)
	if err != nil {
		return fail(stderr, "generating node key", err)
	}
	cert, err := ca.Issue(*nodeID, node.IPsOf(*raftAddr))
	if err != nil {
		return fail(stderr, "issuing node certificate", err)
	}
	var idents []*crypto.Identity
	for _, a := range authorities {
		ident, err := crypto.GenerateIdentity(rand.Reader, a)
		if err != nil {
			return fail(stderr, "generating keys of "+a, err)
		}
		idents = append(idents, ident)
	}
	rec, err := node.NodeRecordFor(*nodeID, apiURL(*api), *raftAddr, *bootstrap, nodeKey, cert)
	if err != nil {
		return fail(stderr, "building node record", err)
	}

	var genesis []byte
	var hub [32]byte
	var trusted []string // TLS fingerprints of the hub's current nodes (join)
	if *bootstrap {
		plan := node.GenesisPlan{
			HubName: "penhub hub", Secretariat: *secretariat, CopyTo: []string{*secretariat},
			CheckpointInterval: *checkpointEvery, Authorities: idents, HomeNode: map[string]string{},
			Nodes: []ledger.NodeRecord{rec}, Created: time.Now(),
		}
		for _, a := range authorities {
			plan.HomeNode[a] = *nodeID
		}
		if genesis, hub, err = node.BuildGenesis(rand.Reader, plan); err != nil {
			return fail(stderr, "building genesis", err)
		}
	} else {
		if *token == "" {
			fmt.Fprintln(stderr, "penhub: init: --join needs a token of the hub: pass --token or set PENHUB_TOKEN")
			return 2
		}
		hubClient := client.New(*join, *token)
		if genesis, err = hubClient.Genesis(ctx); err != nil {
			return fail(stderr, "fetching the hub's genesis entry", err)
		}
		hub = sha256.Sum256(genesis)
		if want := strings.ToLower(*hubID); hex.EncodeToString(hub[:]) != want {
			return fail(stderr, "joining", fmt.Errorf("%s serves hub %x, not %s", *join, hub, want))
		}
		if trusted, err = fetchNodeFingerprints(ctx, hubClient); err != nil {
			return fail(stderr, "fetching the hub's directory", err)
		}
	}
	cfg := node.DefaultConfig()
	cfg.NodeID, cfg.DataDir, cfg.API, cfg.Raft, cfg.RaftAdvertise = *nodeID, abs, *api, *raftAddr, *raftAddr
	cfg.Bootstrap = *bootstrap
	cfg.HubID = node.HubIDHex(hub)
	cfg.Authorities = authorities
	cfg.TrustedPeers = trusted
	if err := cfg.Validate(); err != nil {
		return fail(stderr, "checking the configuration", err)
	}
	if err := node.WriteDataDir(node.Provision{Config: cfg, NodeKey: nodeKey, CACert: ca.CertPEM(), Cert: cert, Authorities: idents, Genesis: genesis}); err != nil {
		return fail(stderr, "writing data dir", err)
	}
	for _, ident := range idents {
		pub, err := ident.PublicFile()
		if err != nil {
			return fail(stderr, "writing public keys", err)
		}
		path := filepath.Join(abs, ident.ID+".pub")
		if err := os.WriteFile(path, pub, 0o644); err != nil {
			return fail(stderr, "writing public keys", err)
		}
		fmt.Fprintf(stdout, "authority %s: public keys in %s (fingerprint %s)\n", ident.ID, path, ident.Public().Fingerprint())
	}
	fmt.Fprintf(stdout, "node %s initialised in %s for hub %s\n", *nodeID, abs, cfg.HubID)
	if !*bootstrap {
		reqPath := filepath.Join(abs, nodeRequestFile)
		if err := writeJSONFile(reqPath, rec); err != nil {
			return fail(stderr, "writing node request", err)
		}
		fmt.Fprintf(stdout, "hand %s to the secretariat (penhub admit-node --request FILE), then start: penhub node --data-dir %s\n", reqPath, abs)
	} else {
		fmt.Fprintf(stdout, "start it with: penhub node --data-dir %s\n", abs)
	}
	return 0
}

func apiURL(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	return "http://" + addr
}

// loadOrCreateCA loads the hub CA from dir; with bootstrap and an empty or
// missing dir it creates one there (default: DATA_DIR/../hub-ca).
func loadOrCreateCA(dir string, bootstrap bool, dataDir string) (*crypto.CA, error) {
	if dir == "" {
		dir = filepath.Join(filepath.Dir(dataDir), "hub-ca")
	}
	ca, err := crypto.LoadCA(dir)
	if err == nil || !bootstrap {
		return ca, err
	}
	if _, statErr := os.Stat(filepath.Join(dir, crypto.CACertFile)); statErr == nil {
		return nil, err
	}
	if ca, err = crypto.NewCA("penhub hub CA"); err != nil {
		return nil, err
	}
	if err := ca.WriteFiles(dir); err != nil {
		return nil, err
	}
	return ca, nil
}

// fetchNodeFingerprints returns the TLS fingerprints of the hub's current
// nodes, which the joining node trusts until its own directory catches up.
// (They are checked again against the directory once it has applied it; the
// hub CA must have signed them either way.)
func fetchNodeFingerprints(ctx context.Context, c *client.Client) ([]string, error) {
	dir, err := c.Directory(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range dir.Nodes {
		if !n.Removed && n.TLSFingerprint != "" {
			out = append(out, n.TLSFingerprint)
		}
	}
	return out, nil
}
