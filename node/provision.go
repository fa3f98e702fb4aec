package node

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/penhub/penhub/consensus/ledger"
	"github.com/penhub/penhub/crypto"
)

// GenesisPlan describes a new hub: its policy, founding authorities (with
// their home nodes) and founding nodes.
type GenesisPlan struct {
	HubName            string
	Secretariat        string   // signs the genesis entry and, by default, directory changes
	CopyTo             []string // receive a copy of every pre_export (default: the secretariat)
	CheckpointInterval uint64   // entries between cosigned checkpoints
	Admission          ledger.Admission
	Authorities        []*crypto.Identity
	HomeNode           map[string]string // authority id → node id
	Nodes              []ledger.NodeRecord
	Created            time.Time
}

// BuildGenesis signs the genesis entry of plan with the secretariat's keys
// (which must be among plan.Authorities). It returns the entry and the hub id.
func BuildGenesis(rand io.Reader, plan GenesisPlan) ([]byte, [32]byte, error) {
	body := ledger.GenesisBody{
		HubName:            plan.HubName,
		CreatedAt:          plan.Created.UTC().Format(time.RFC3339),
		Secretariat:        plan.Secretariat,
		Admission:          plan.Admission,
		CopyTo:             plan.CopyTo,
		CheckpointInterval: plan.CheckpointInterval,
		Nodes:              plan.Nodes,
	}
	var secretariat *crypto.Identity
	for _, a := range plan.Authorities {
		body.Authorities = append(body.Authorities, ledger.AuthorityRecord{
			ID: a.ID, Node: plan.HomeNode[a.ID], SignKey: a.Sign.Public().Bytes(), KEMKey: a.KEM.Public().Bytes(),
		})
		if a.ID == plan.Secretariat {
			secretariat = a
		}
	}
	if secretariat == nil {
		return nil, [32]byte{}, fmt.Errorf("building genesis: secretariat %q is not among the founding authorities", plan.Secretariat)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("encoding genesis body: %w", err)
	}
	var id [16]byte
	if _, err := io.ReadFull(rand, id[:]); err != nil {
		return nil, [32]byte{}, fmt.Errorf("drawing genesis id: %w", err)
	}
	hdr := crypto.Header{Kind: crypto.KindDirectory, EntryID: id, CreatedMS: plan.Created.UnixMilli(), Author: plan.Secretariat, Subtype: ledger.OpGenesis}
	env, err := crypto.SignPlain(rand, hdr, raw, crypto.Signer{ID: secretariat.ID, Key: secretariat.Sign})
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("signing genesis: %w", err)
	}
	return env, sha256.Sum256(env), nil
}

// NodeRecordFor returns the directory record of a node from its keys and certificate.
func NodeRecordFor(id, api, raft string, voter bool, nodeKey *crypto.Identity, cert tls.Certificate) (ledger.NodeRecord, error) {
	fp, err := crypto.CertificateFingerprint(cert)
	if err != nil {
		return ledger.NodeRecord{}, err
	}
	return ledger.NodeRecord{ID: id, Raft: raft, API: api, TLSFingerprint: fp, CheckpointKey: nodeKey.Sign.Public().Bytes(), Voter: voter}, nil
}

// Provision is everything a new node data dir holds before its first start.
type Provision struct {
	Config      Config             // Config.DataDir is where to write
	NodeKey     *crypto.Identity   // the node's checkpoint-signing identity
	CACert      []byte             // PEM of the hub CA
	Cert        tls.Certificate    // this node's TLS certificate and key, issued by the hub CA
	Authorities []*crypto.Identity // private keys of the authorities hosted here
	Genesis     []byte             // the hub's genesis entry
}

// WriteDataDir lays out a new node data dir (mode 0700; secrets 0600). It
// refuses a directory that already holds a config.
func WriteDataDir(p Provision) error {
	dir := p.Config.DataDir
	if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil {
		return fmt.Errorf("data dir %s is already initialised", dir)
	}
	for _, d := range []string{dir, filepath.Join(dir, TLSDir), filepath.Join(dir, KeyringDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	if err := crypto.WriteIdentityFile(filepath.Join(dir, NodeKeyFile), p.NodeKey); err != nil {
		return fmt.Errorf("writing node key: %w", err)
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{filepath.Join(dir, TLSDir, caCertFile), p.CACert, 0o644},
		{filepath.Join(dir, GenesisFile), p.Genesis, 0o644},
	}
	for _, f := range files {
		if err := WriteFileAtomic(f.name, f.data, f.mode); err != nil {
			return err
		}
	}
	if err := crypto.WriteCertificate(filepath.Join(dir, TLSDir, nodeCertFile), filepath.Join(dir, TLSDir, nodeKeyPEM), p.Cert); err != nil {
		return err
	}
	ring, err := crypto.OpenKeyring(filepath.Join(dir, KeyringDir))
	if err != nil {
		return fmt.Errorf("opening keyring: %w", err)
	}
	for _, a := range p.Authorities {
		if err := ring.Add(a); err != nil {
			return fmt.Errorf("storing keys of %s: %w", a.ID, err)
		}
	}
	cfg := p.Config
	return WriteConfig(&cfg)
}

// HubIDHex formats a hub id.
func HubIDHex(id [32]byte) string { return hex.EncodeToString(id[:]) }

// IPsOf returns the IP of a host:port address when it is a literal IP (for
// the node certificate's SANs).
func IPsOf(addrs ...string) []net.IP {
	var out []net.IP
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			continue
		}
		if ip := net.ParseIP(host); ip != nil {
			out = append(out, ip)
		}
	}
	return out
}
