package ledger

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/penhub/penhub/crypto"
)

// Authority status values.
const (
	StatusActive  = "active"
	StatusRevoked = "revoked"
)

// Directory is the replicated list of authorities and nodes plus the hub
// policy, as of some log position. A *Directory handed out by [Ledger] is an
// immutable snapshot: neither the ledger nor the caller may modify it, its
// maps or the values they point to (the ledger builds a new one for every
// directory entry it applies).
type Directory struct {
	HubID       [32]byte
	Policy      Policy
	Authorities map[string]*Authority
	Nodes       map[string]*NodeInfo
	// Admissions holds every admission proposal collected through the log
	// (open and closed), by proposal id; see [Directory.PendingAdmissions].
	Admissions map[string]*PendingAdmission
}

// PendingAdmission is an admit_authority entry signed by fewer than
// Admission.K countries of the quorum (and not by the secretariat): the
// authority is not admitted yet; cosign_admission entries add countries
// until K have signed, which admits it at that entry's position.
type PendingAdmission struct {
	// ID is the entry id of the admit_authority entry, as a canonical UUID
	// string; cosign_admission names the proposal by it.
	ID        string          `json:"id"`
	Index     uint64          `json:"index"`    // log index of the admit_authority entry
	Proposer  string          `json:"proposer"` // its author
	Authority AuthorityRecord `json:"authority"`
	// Countries are the distinct countries of the quorum that have signed,
	// sorted.
	Countries []string `json:"countries"`
	// Closed is the log index of the entry that closed the proposal: the
	// cosign_admission that completed it, or another admission of the same
	// authority id. 0: still open.
	Closed uint64 `json:"closed"`
}

func (p *PendingAdmission) clone() *PendingAdmission {
	c := *p
	c.Countries = slices.Clone(p.Countries)
	return &c
}

// PendingAdmissions returns the open admission proposals, sorted by the
// log index of their admit_authority entry.
func (d *Directory) PendingAdmissions() []*PendingAdmission {
	var out []*PendingAdmission
	for _, p := range d.Admissions {
		if p.Closed == 0 {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *PendingAdmission) int { return cmpU64(a.Index, b.Index) })
	return out
}

// Admission returns the admission proposal with this id (open or closed).
func (d *Directory) Admission(id string) (*PendingAdmission, bool) {
	p, ok := d.Admissions[id]
	return p, ok
}

// openProposalFor returns the open proposal that admits authority id.
func (d *Directory) openProposalFor(id string) (*PendingAdmission, bool) {
	for _, p := range d.Admissions {
		if p.Closed == 0 && p.Authority.ID == id {
			return p, true // at most one is open per id
		}
	}
	return nil, false
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Policy holds the hub-wide rules fixed at genesis.
type Policy struct {
	HubName   string `json:"hub_name"`
	CreatedAt string `json:"created_at"`
	// Secretariat is the authority that signs directory changes ("" when
	// only the admission quorum may).
	Secretariat string `json:"secretariat"`
	// Admission is the k-of-n alternative to the secretariat: K distinct
	// countries among Of co-signing (see [Directory.CountryOf]).
	Admission Admission `json:"admission"`
	// CopyTo lists the authorities that get a copy of every pre_export
	// (enforced by the proposer, not at apply).
	CopyTo []string `json:"copy_to"`
	// CheckpointInterval is the number of entries between cosigned
	// checkpoints (used by the node layer).
	CheckpointInterval uint64 `json:"checkpoint_interval"`
}

// InAdmissionQuorum reports whether authority counts in the admission
// quorum (for its country, [CountryOf]): Admission.Of lists its country or
// its id. It says nothing about whether the authority is active.
func (p Policy) InAdmissionQuorum(authority string) bool {
	return slices.Contains(p.Admission.Of, CountryOf(authority)) || slices.Contains(p.Admission.Of, authority)
}

// Admission is the k-of-n co-signing rule of [Policy].
type Admission struct {
	K  int      `json:"k"`
	Of []string `json:"of"`
}

// Authority is one addressable participant.
type Authority struct {
	ID     string
	Node   string // home node id
	Status string // StatusActive or StatusRevoked
	// Keys holds every key the authority ever had, oldest first; the last
	// one is the current key (retired too once the authority is revoked).
	Keys []AuthorityKey
}

// AuthorityKey is one generation of an authority's keys and the log index
// range it was valid for: a key may sign entries at positions From..To
// inclusive (To = 0: still current). The entry that rotates or revokes a key
// is the last position it may sign, and the first of its successor.
type AuthorityKey struct {
	Sign *crypto.VerifyKey
	KEM  *crypto.KEMPublicKey
	From uint64
	To   uint64
}

// Current returns the authority's newest key generation.
func (a *Authority) Current() AuthorityKey { return a.Keys[len(a.Keys)-1] }

// Active reports whether the authority may send and be addressed.
func (a *Authority) Active() bool { return a.Status == StatusActive }

// NodeInfo is one raft member (or former member) of the hub.
type NodeInfo struct {
	ID             string
	Raft           string // raft address host:port
	API            string // API base URL or address
	TLSFingerprint string // lowercase hex SHA-256 of the certificate's SPKI
	CheckpointKey  *crypto.VerifyKey
	Voter          bool
	Removed        bool
}

// Authority returns the authority with this id (active or revoked).
func (d *Directory) Authority(id string) (*Authority, bool) {
	a, ok := d.Authorities[id]
	return a, ok
}

// ActiveAuthorities returns the ids of the active authorities, sorted.
func (d *Directory) ActiveAuthorities() []string {
	out := make([]string, 0, len(d.Authorities))
	for id, a := range d.Authorities {
		if a.Active() {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Node returns the node with this id (including removed nodes).
func (d *Directory) Node(id string) (*NodeInfo, bool) {
	n, ok := d.Nodes[id]
	return n, ok
}

// NodeIDs returns the ids of the nodes that are not removed, sorted.
func (d *Directory) NodeIDs() []string {
	out := make([]string, 0, len(d.Nodes))
	for id, n := range d.Nodes {
		if !n.Removed {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Voters returns the ids of the voting nodes, sorted.
func (d *Directory) Voters() []string {
	out := make([]string, 0, len(d.Nodes))
	for id, n := range d.Nodes {
		if n.Voter && !n.Removed {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// NodeByFingerprint returns the node (not removed) whose TLS fingerprint is
// fp (lowercase hex).
func (d *Directory) NodeByFingerprint(fp string) (*NodeInfo, bool) {
	for _, n := range d.Nodes {
		if !n.Removed && n.TLSFingerprint == fp {
			return n, true
		}
	}
	return nil, false
}

// AuthoritiesOn returns the ids of the active authorities homed on node,
// sorted.
func (d *Directory) AuthoritiesOn(node string) []string {
	var out []string
	for id, a := range d.Authorities {
		if a.Active() && a.Node == node {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// KeyAt returns the signing key with this id that signer (an authority or a
// node) held at log index, using the key validity ranges. It lets a reader
// verify an old entry against the current directory. Node keys never rotate.
func (d *Directory) KeyAt(signer string, id crypto.KeyID, index uint64) (*crypto.VerifyKey, bool) {
	if a, ok := d.Authorities[signer]; ok {
		for _, k := range a.Keys {
			if k.Sign.ID() == id && k.From <= index && (k.To == 0 || index <= k.To) {
				return k.Sign, true
			}
		}
		return nil, false
	}
	if n, ok := d.Nodes[signer]; ok && n.CheckpointKey.ID() == id {
		return n.CheckpointKey, true
	}
	return nil, false
}

// CountryOf returns the country an authority counts for in the admission
// quorum: the two letters before the first '-' ("DE-BKA" → "DE"), or the
// whole id for international bodies ("INT-INCB").
func CountryOf(authority string) string {
	if strings.HasPrefix(authority, "INT-") {
		return authority
	}
	if i := strings.IndexByte(authority, '-'); i >= 0 {
		return authority[:i]
	}
	return authority
}

// signerKey resolves a signature's (signer, key id) against the directory
// as it is now (the position being applied): the signer's current key if
// it is an active authority, or its checkpoint key if it is a node.
func (d *Directory) signerKey(signer string, id crypto.KeyID) (*crypto.VerifyKey, *RejectedError) {
	if a, ok := d.Authorities[signer]; ok {
		if !a.Active() {
			return nil, reject(CodeRevoked, "signer %q is revoked", signer)
		}
		cur := a.Current()
		if cur.Sign.ID() == id {
			return cur.Sign, nil
		}
		for _, k := range a.Keys {
			if k.Sign.ID() == id {
				return nil, reject(CodeUnknownSigner, "key %s of %q was retired at log index %d", id, signer, k.To)
			}
		}
		return nil, reject(CodeUnknownSigner, "key %s is not a key of %q", id, signer)
	}
	if n, ok := d.Nodes[signer]; ok {
		if n.Removed {
			return nil, reject(CodeRevoked, "signer node %q is removed", signer)
		}
		if n.CheckpointKey.ID() == id {
			return n.CheckpointKey, nil
		}
		return nil, reject(CodeUnknownSigner, "key %s is not the key of node %q", id, signer)
	}
	return nil, reject(CodeUnknownSigner, "unknown signer %q", signer)
}

// clone returns a copy whose maps may be changed; the values are shared, so
// a caller must replace (not modify) an Authority or NodeInfo it changes.
func (d *Directory) clone() *Directory {
	c := &Directory{
		HubID:       d.HubID,
		Policy:      d.Policy,
		Authorities: make(map[string]*Authority, len(d.Authorities)+1),
		Nodes:       make(map[string]*NodeInfo, len(d.Nodes)+1),
		Admissions:  make(map[string]*PendingAdmission, len(d.Admissions)+1),
	}
	for k, v := range d.Admissions {
		c.Admissions[k] = v
	}
	for k, v := range d.Authorities {
		c.Authorities[k] = v
	}
	for k, v := range d.Nodes {
		c.Nodes[k] = v
	}
	return c
}

func (a *Authority) clone() *Authority {
	c := *a
	c.Keys = slices.Clone(a.Keys)
	return &c
}

func emptyDirectory() *Directory {
	return &Directory{Authorities: map[string]*Authority{}, Nodes: map[string]*NodeInfo{}, Admissions: map[string]*PendingAdmission{}}
}

// Stored JSON forms of the directory bucket (changing them breaks
// compatibility).
type storedAuthority struct {
	ID     string      `json:"id"`
	Node   string      `json:"node"`
	Status string      `json:"status"`
	Keys   []storedKey `json:"keys"`
}

type storedKey struct {
	Sign []byte `json:"sign"`
	KEM  []byte `json:"kem"`
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
}

type storedNode struct {
	ID             string `json:"id"`
	Raft           string `json:"raft"`
	API            string `json:"api"`
	TLSFingerprint string `json:"tls_fingerprint"`
	CheckpointKey  []byte `json:"checkpoint_key"`
	Voter          bool   `json:"voter"`
	Removed        bool   `json:"removed"`
}

const (
	dirPolicyKey       = "policy"
	dirAuthorityPrefix = "authority/"
	dirNodePrefix      = "node/"
	dirAdmissionPrefix = "admission/"
)

func putAdmission(b *bolt.Bucket, p *PendingAdmission) error {
	v, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding admission proposal %s: %w", p.ID, err)
	}
	return b.Put([]byte(dirAdmissionPrefix+p.ID), v)
}

func putAuthority(b *bolt.Bucket, a *Authority) error {
	s := storedAuthority{ID: a.ID, Node: a.Node, Status: a.Status}
	for _, k := range a.Keys {
		s.Keys = append(s.Keys, storedKey{Sign: k.Sign.Bytes(), KEM: k.KEM.Bytes(), From: k.From, To: k.To})
	}
	v, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encoding authority %q: %w", a.ID, err)
	}
	return b.Put([]byte(dirAuthorityPrefix+a.ID), v)
}

func putNode(b *bolt.Bucket, n *NodeInfo) error {
	v, err := json.Marshal(storedNode{
		ID: n.ID, Raft: n.Raft, API: n.API, TLSFingerprint: n.TLSFingerprint,
		CheckpointKey: n.CheckpointKey.Bytes(), Voter: n.Voter, Removed: n.Removed,
	})
	if err != nil {
		return fmt.Errorf("encoding node %q: %w", n.ID, err)
	}
	return b.Put([]byte(dirNodePrefix+n.ID), v)
}

func putPolicy(b *bolt.Bucket, p Policy) error {
	v, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding policy: %w", err)
	}
	return b.Put([]byte(dirPolicyKey), v)
}

// loadDirectory reads the directory bucket.
func loadDirectory(tx *bolt.Tx, hubID [32]byte) (*Directory, error) {
	d := emptyDirectory()
	d.HubID = hubID
	b := tx.Bucket(bucketDirectory)
	err := b.ForEach(func(k, v []byte) error {
		key := string(k)
		switch {
		case key == dirPolicyKey:
			if err := json.Unmarshal(v, &d.Policy); err != nil {
				return fmt.Errorf("decoding policy: %w", err)
			}
		case strings.HasPrefix(key, dirAuthorityPrefix):
			var s storedAuthority
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("decoding %q: %w", key, err)
			}
			a := &Authority{ID: s.ID, Node: s.Node, Status: s.Status}
			for _, sk := range s.Keys {
				sign, err := crypto.ParseVerifyKey(sk.Sign)
				if err != nil {
					return fmt.Errorf("decoding sign key of %q: %w", key, err)
				}
				kem, err := crypto.ParseKEMPublicKey(sk.KEM)
				if err != nil {
					return fmt.Errorf("decoding kem key of %q: %w", key, err)
				}
				a.Keys = append(a.Keys, AuthorityKey{Sign: sign, KEM: kem, From: sk.From, To: sk.To})
			}
			if len(a.Keys) == 0 {
				return fmt.Errorf("decoding %q: no keys: %w", key, ErrCorrupt)
			}
			d.Authorities[a.ID] = a
		case strings.HasPrefix(key, dirNodePrefix):
			var s storedNode
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("decoding %q: %w", key, err)
			}
			ck, err := crypto.ParseVerifyKey(s.CheckpointKey)
			if err != nil {
				return fmt.Errorf("decoding checkpoint key of %q: %w", key, err)
			}
			d.Nodes[s.ID] = &NodeInfo{
				ID: s.ID, Raft: s.Raft, API: s.API, TLSFingerprint: s.TLSFingerprint,
				CheckpointKey: ck, Voter: s.Voter, Removed: s.Removed,
			}
		case strings.HasPrefix(key, dirAdmissionPrefix):
			var p PendingAdmission
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decoding %q: %w", key, err)
			}
			if p.ID != key[len(dirAdmissionPrefix):] {
				return fmt.Errorf("decoding %q: id %q: %w", key, p.ID, ErrCorrupt)
			}
			d.Admissions[p.ID] = &p
		default:
			return fmt.Errorf("unknown directory key %q: %w", key, ErrCorrupt)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading directory: %w", err)
	}
	return d, nil
}
