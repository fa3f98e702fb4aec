package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"

	"github.com/google/uuid"

	"github.com/penhub/penhub/crypto"
)

// Directory operations: the subtype of a kind-4 entry (docs/protocol.md §4).
const (
	OpGenesis         = "genesis"
	OpAdmitAuthority  = "admit_authority"
	OpRotateKeys      = "rotate_keys"
	OpRevokeAuthority = "revoke_authority"
	OpMoveAuthority   = "move_authority"
	OpAddNode         = "add_node"
	OpSetSuffrage     = "set_suffrage"
	OpRemoveNode      = "remove_node"
	OpCosignAdmission = "cosign_admission"
)

// AuthorityRecord is an authority as written in genesis and admit_authority
// bodies. Keys are the public-key bytes (base64 in JSON).
type AuthorityRecord struct {
	ID      string `json:"id"`
	Node    string `json:"node"`
	SignKey []byte `json:"sign_key"`
	KEMKey  []byte `json:"kem_key"`
}

// NodeRecord is a node as written in genesis and add_node bodies.
type NodeRecord struct {
	ID             string `json:"id"`
	Raft           string `json:"raft"`
	API            string `json:"api"`
	TLSFingerprint string `json:"tls_fingerprint"`
	CheckpointKey  []byte `json:"checkpoint_key"`
	Voter          bool   `json:"voter"`
}

// GenesisBody is the body of the genesis entry (log index 0).
type GenesisBody struct {
	HubName            string            `json:"hub_name"`
	CreatedAt          string            `json:"created_at"`
	Secretariat        string            `json:"secretariat"`
	Admission          Admission         `json:"admission"`
	CopyTo             []string          `json:"copy_to"`
	CheckpointInterval uint64            `json:"checkpoint_interval"`
	Authorities        []AuthorityRecord `json:"authorities"`
	Nodes              []NodeRecord      `json:"nodes"`
}

// AdmitBody admits a new authority.
type AdmitBody struct {
	Authority AuthorityRecord `json:"authority"`
}

// RotateBody replaces an authority's keys.
type RotateBody struct {
	ID      string `json:"id"`
	SignKey []byte `json:"sign_key"`
	KEMKey  []byte `json:"kem_key"`
	Reason  string `json:"reason"`
}

// RevokeBody revokes an authority.
type RevokeBody struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// MoveBody moves an authority to another home node.
type MoveBody struct {
	ID   string `json:"id"`
	Node string `json:"node"`
}

// AddNodeBody adds a node.
type AddNodeBody struct {
	Node NodeRecord `json:"node"`
}

// SetSuffrageBody makes a node a voter or a non-voter.
type SetSuffrageBody struct {
	ID    string `json:"id"`
	Voter bool   `json:"voter"`
}

// RemoveNodeBody removes a node for good (its id is never reused).
type RemoveNodeBody struct {
	ID string `json:"id"`
}

// CosignAdmissionBody adds the signers' countries to a pending admission.
// Proposal is the entry id of the admit_authority entry that opened it, as a
// canonical UUID string (lowercase 8-4-4-4-12 hex, as the node API shows
// entry ids).
type CosignAdmissionBody struct {
	Proposal string `json:"proposal"`
}

var (
	authorityIDPattern = regexp.MustCompile(`^(?:[A-Z]{2}(?:-[A-Z0-9]{1,16})?|INT-[A-Z0-9]{1,16})$`)
	nodeIDPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	fingerprintPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// decodeStrict decodes exactly one JSON value with no unknown fields and no
// trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// sigSet is the set of verified signers of a directory entry.
type sigSet map[string]bool

// applyOp is the directory part of rule 3/4 and §4: it resolves and
// verifies the signatures of a kind-4 entry e at log index, checks the op
// against dir and returns the new directory and any alarms. It writes
// nothing; dir is not modified.
func applyOp(e *crypto.Envelope, dir *Directory, index uint64) (*Directory, []Alarm, *RejectedError) {
	switch e.Subtype {
	case OpGenesis:
		return opGenesis(e, index)
	case OpAdmitAuthority:
		var b AdmitBody
		if err := decodeStrict(e.Body, &b); err != nil {
			return nil, nil, reject(CodeMalformed, "decoding %s body: %v", e.Subtype, err)
		}
		return opAdmit(e, dir, index, b)
	case OpRotateKeys:
		var b RotateBody
		if err := decodeStrict(e.Body, &b); err != nil {
			return nil, nil, reject(CodeMalformed, "decoding %s body: %v", e.Subtype, err)
		}
		return opRotate(e, dir, index, b)
	case OpRevokeAuthority:
		var b RevokeBody
		if err := decodeStrict(e.Body, &b); err != nil {
			return nil, nil, reject(CodeMalformed, "decoding %s body: %v", e.Subtype, err)
		}
		return opRevoke(e, dir, index, b)
	case OpMoveAuthority:
		var b MoveBody
		if err := decodeStrict(e.Body, &b); err != nil {
			return nil, nil, reject(CodeMalformed, "decoding %s body: %v", e.Subtype, err)
		}
		return opMove(e, dir, b)
	case OpAddNode:
		var b AddNodeBody
		if err := decodeStrict(e.Body, &b); err != nil {
			return nil, nil, reject(CodeMalformed, "decoding %s body: %v", e.Subtype, err)
		}
		return opAddNode(e, dir, b)
	case OpSetSuffrage:
		var b SetSuffrageBody
		if err := decodeStrict(e.Body, &b); err != nil {
			return nil, nil, reject(CodeMalformed, "decoding %s body: %v", e.Subtype, err)
		}
		return opSetSuffrage(e, dir, b)
	case OpRemoveNode:
		var b RemoveNodeBody
		if err := decodeStrict(e.Body, &b); err != nil {
			return nil, nil, reject(CodeMalformed, "decoding %s body: %v", e.Subtype, err)
		}
		return opRemoveNode(e, dir, b)
	case OpCosignAdmission:
		var b CosignAdmissionBody
		if err := decodeStrict(e.Body, &b); err != nil {
			return nil, nil, reject(CodeMalformed, "decoding %s body: %v", e.Subtype, err)
		}
		return opCosignAdmission(e, dir, index, b)
	}
	return nil, nil, reject(CodeMalformed, "unknown directory op %q", e.Subtype)
}

// verifyDirSigs verifies every signature of e against dir, except that a
// signature by extra[signer] with that key's id is checked against it (a key
// the entry itself introduces). It returns the set of signers whose
// directory key verified (the approvals) and whether the extra key signed;
// the header author must have signed with one or the other.
func verifyDirSigs(e *crypto.Envelope, dir *Directory, extra map[string]*crypto.VerifyKey) (sigSet, bool, *RejectedError) {
	signers := sigSet{}
	extraSigned, authorSigned := false, false
	for i, s := range e.Sigs {
		var key *crypto.VerifyKey
		isExtra := false
		if k, ok := extra[s.Signer]; ok && k.ID() == s.KeyID {
			key, isExtra = k, true
		} else {
			k, rej := dir.signerKey(s.Signer, s.KeyID)
			if rej != nil {
				return nil, false, rej
			}
			key = k
		}
		if err := e.VerifySignature(i, key); err != nil {
			return nil, false, reject(CodeBadSignature, "signature %d by %q does not verify", i, s.Signer)
		}
		if isExtra {
			extraSigned = true
		} else {
			signers[s.Signer] = true
		}
		authorSigned = authorSigned || s.Signer == e.Author
	}
	if !authorSigned {
		return nil, false, reject(CodeNotAuthorized, "the author %q did not sign", e.Author)
	}
	return signers, extraSigned, nil
}

// secretariatApproves reports whether signers satisfy the hub's directory
// authority: the secretariat itself, or K distinct countries of
// Admission.Of (an entry of Of is a country code or an authority id).
func secretariatApproves(dir *Directory, signers sigSet) bool {
	p := dir.Policy
	if p.Secretariat != "" && signers[p.Secretariat] {
		if a, ok := dir.Authorities[p.Secretariat]; ok && a.Active() {
			return true
		}
	}
	return p.Admission.K > 0 && len(quorumCountries(dir, signers)) >= p.Admission.K
}

// quorumCountries returns the distinct countries, sorted, of the signers
// that are active authorities listed in Admission.Of.
func quorumCountries(dir *Directory, signers sigSet) []string {
	var out []string
	for s := range signers {
		a, ok := dir.Authorities[s]
		if !ok || !a.Active() || !dir.Policy.InAdmissionQuorum(s) {
			continue
		}
		if c := CountryOf(s); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

func needSecretariat(dir *Directory, signers sigSet, op string) *RejectedError {
	if secretariatApproves(dir, signers) {
		return nil
	}
	return reject(CodeNotAuthorized, "%s needs the secretariat or %d countries of the admission quorum", op, dir.Policy.Admission.K)
}

func parseAuthorityRecord(r AuthorityRecord) (*Authority, *RejectedError) {
	if !authorityIDPattern.MatchString(r.ID) {
		return nil, reject(CodeInvalidOp, "authority id %q", r.ID)
	}
	sign, err := crypto.ParseVerifyKey(r.SignKey)
	if err != nil {
		return nil, reject(CodeInvalidOp, "sign key of %q: %v", r.ID, err)
	}
	kem, err := crypto.ParseKEMPublicKey(r.KEMKey)
	if err != nil {
		return nil, reject(CodeInvalidOp, "kem key of %q: %v", r.ID, err)
	}
	return &Authority{ID: r.ID, Node: r.Node, Status: StatusActive, Keys: []AuthorityKey{{Sign: sign, KEM: kem}}}, nil
}

func parseNodeRecord(r NodeRecord) (*NodeInfo, *RejectedError) {
	if !nodeIDPattern.MatchString(r.ID) || authorityIDPattern.MatchString(r.ID) {
		return nil, reject(CodeInvalidOp, "node id %q", r.ID)
	}
	if r.Raft == "" || r.API == "" {
		return nil, reject(CodeInvalidOp, "node %q needs raft and api addresses", r.ID)
	}
	if !fingerprintPattern.MatchString(r.TLSFingerprint) {
		return nil, reject(CodeInvalidOp, "tls fingerprint of node %q", r.ID)
	}
	ck, err := crypto.ParseVerifyKey(r.CheckpointKey)
	if err != nil {
		return nil, reject(CodeInvalidOp, "checkpoint key of %q: %v", r.ID, err)
	}
	return &NodeInfo{ID: r.ID, Raft: r.Raft, API: r.API, TLSFingerprint: r.TLSFingerprint, CheckpointKey: ck, Voter: r.Voter}, nil
}

// checkNewNode checks that n fits next to the nodes and authorities of dir.
func checkNewNode(dir *Directory, n *NodeInfo) *RejectedError {
	if _, ok := dir.Nodes[n.ID]; ok {
		return reject(CodeInvalidOp, "node id %q already used", n.ID)
	}
	if _, ok := dir.Authorities[n.ID]; ok {
		return reject(CodeInvalidOp, "node id %q is an authority id", n.ID)
	}
	if _, ok := dir.NodeByFingerprint(n.TLSFingerprint); ok {
		return reject(CodeInvalidOp, "tls fingerprint of node %q already used", n.ID)
	}
	return nil
}

func checkHomeNode(dir *Directory, authority, node string) *RejectedError {
	n, ok := dir.Nodes[node]
	if !ok || n.Removed {
		return reject(CodeUnknownNode, "home node %q of %q", node, authority)
	}
	return nil
}

func opGenesis(e *crypto.Envelope, index uint64) (*Directory, []Alarm, *RejectedError) {
	if index != 0 {
		return nil, nil, reject(CodeWrongHub, "genesis at log index %d", index)
	}
	var b GenesisBody
	if err := decodeStrict(e.Body, &b); err != nil {
		return nil, nil, reject(CodeMalformed, "decoding genesis body: %v", err)
	}
	dir := emptyDirectory()
	dir.Policy = Policy{
		HubName: b.HubName, CreatedAt: b.CreatedAt, Secretariat: b.Secretariat,
		Admission: b.Admission, CopyTo: b.CopyTo, CheckpointInterval: b.CheckpointInterval,
	}
	for _, r := range b.Nodes {
		n, rej := parseNodeRecord(r)
		if rej != nil {
			return nil, nil, rej
		}
		if rej := checkNewNode(dir, n); rej != nil {
			return nil, nil, rej
		}
		dir.Nodes[n.ID] = n
	}
	if len(dir.Voters()) == 0 {
		return nil, nil, reject(CodeInvalidOp, "genesis names no voter")
	}
	for _, r := range b.Authorities {
		a, rej := parseAuthorityRecord(r)
		if rej != nil {
			return nil, nil, rej
		}
		if _, dup := dir.Authorities[a.ID]; dup {
			return nil, nil, reject(CodeInvalidOp, "authority %q listed twice", a.ID)
		}
		if _, clash := dir.Nodes[a.ID]; clash {
			return nil, nil, reject(CodeInvalidOp, "authority id %q is a node id", a.ID)
		}
		if rej := checkHomeNode(dir, a.ID, a.Node); rej != nil {
			return nil, nil, rej
		}
		dir.Authorities[a.ID] = a
	}
	p := dir.Policy
	if p.Secretariat == "" && p.Admission.K <= 0 {
		return nil, nil, reject(CodeInvalidOp, "genesis names neither a secretariat nor an admission quorum")
	}
	if _, ok := dir.Authorities[p.Secretariat]; p.Secretariat != "" && !ok {
		return nil, nil, reject(CodeInvalidOp, "secretariat %q is not among the authorities", p.Secretariat)
	}
	if p.Admission.K < 0 || p.Admission.K > len(p.Admission.Of) {
		return nil, nil, reject(CodeInvalidOp, "admission k=%d of %d", p.Admission.K, len(p.Admission.Of))
	}
	for _, c := range p.CopyTo {
		if _, ok := dir.Authorities[c]; !ok {
			return nil, nil, reject(CodeInvalidOp, "copy_to names unknown authority %q", c)
		}
	}
	signers, _, rej := verifyDirSigs(e, dir, nil)
	if rej != nil {
		return nil, nil, rej
	}
	if rej := needSecretariat(dir, signers, OpGenesis); rej != nil {
		return nil, nil, rej
	}
	return dir, nil, nil
}

func opAdmit(e *crypto.Envelope, dir *Directory, index uint64, b AdmitBody) (*Directory, []Alarm, *RejectedError) {
	a, rej := parseAuthorityRecord(b.Authority)
	if rej != nil {
		return nil, nil, rej
	}
	// The new authority may add its own signature (proof of possession);
	// it does not count towards the approval.
	signers, _, rej := verifyDirSigs(e, dir, map[string]*crypto.VerifyKey{a.ID: a.Keys[0].Sign})
	if rej != nil {
		return nil, nil, rej
	}
	if secretariatApproves(dir, signers) {
		if rej := checkAdmissible(dir, a); rej != nil {
			return nil, nil, rej
		}
		a.Keys[0].From = index
		nd := dir.clone()
		nd.Authorities[a.ID] = a
		closeProposalsFor(nd, a.ID, index)
		return nd, nil, nil
	}
	// Fewer than K countries of the quorum: the entry opens a pending
	// admission that cosign_admission entries complete.
	countries := quorumCountries(dir, signers)
	if dir.Policy.Admission.K <= 0 || len(countries) == 0 {
		return nil, nil, needSecretariat(dir, signers, OpAdmitAuthority)
	}
	if rej := checkAdmissible(dir, a); rej != nil {
		return nil, nil, rej
	}
	if p, ok := dir.openProposalFor(a.ID); ok {
		return nil, nil, reject(CodeInvalidOp, "the admission of %q is already proposed by entry %s", a.ID, p.ID)
	}
	id := uuid.UUID(e.EntryID).String()
	nd := dir.clone()
	nd.Admissions[id] = &PendingAdmission{ID: id, Index: index, Proposer: e.Author, Authority: b.Authority, Countries: countries}
	return nd, nil, nil
}

// checkAdmissible checks that a may join dir: its id is free (ids are never
// reused) and its home node exists.
func checkAdmissible(dir *Directory, a *Authority) *RejectedError {
	if _, dup := dir.Authorities[a.ID]; dup {
		return reject(CodeInvalidOp, "authority %q already exists", a.ID)
	}
	if _, clash := dir.Nodes[a.ID]; clash {
		return reject(CodeInvalidOp, "authority id %q is a node id", a.ID)
	}
	return checkHomeNode(dir, a.ID, a.Node)
}

// closeProposalsFor closes, at index, the open proposals of nd (a clone the
// caller owns) that admit authority id: the id is taken now.
func closeProposalsFor(nd *Directory, id string, index uint64) {
	for k, p := range nd.Admissions {
		if p.Closed == 0 && p.Authority.ID == id {
			c := p.clone()
			c.Closed = index
			nd.Admissions[k] = c
		}
	}
}

func opCosignAdmission(e *crypto.Envelope, dir *Directory, index uint64, b CosignAdmissionBody) (*Directory, []Alarm, *RejectedError) {
	signers, _, rej := verifyDirSigs(e, dir, nil)
	if rej != nil {
		return nil, nil, rej
	}
	if u, err := uuid.Parse(b.Proposal); err != nil || u.String() != b.Proposal {
		return nil, nil, reject(CodeMalformed, "proposal %q is not a canonical UUID string", b.Proposal)
	}
	p, ok := dir.Admissions[b.Proposal]
	if !ok {
		return nil, nil, reject(CodeUnknownProposal, "no admission proposal %s", b.Proposal)
	}
	if p.Closed != 0 {
		return nil, nil, reject(CodeProposalClosed, "admission proposal %s was closed at log index %d", b.Proposal, p.Closed)
	}
	countries := quorumCountries(dir, signers)
	if len(countries) == 0 {
		return nil, nil, reject(CodeNotAuthorized, "%s needs a signature by an active authority of the admission quorum", OpCosignAdmission)
	}
	np := p.clone()
	for _, c := range countries {
		if !slices.Contains(np.Countries, c) {
			np.Countries = append(np.Countries, c)
		}
	}
	if len(np.Countries) == len(p.Countries) {
		return nil, nil, reject(CodeAlreadySigned, "admission proposal %s is already signed by %v", b.Proposal, countries)
	}
	slices.Sort(np.Countries)
	nd := dir.clone()
	nd.Admissions[np.ID] = np
	if len(np.Countries) < dir.Policy.Admission.K {
		return nd, nil, nil
	}
	// The quorum is reached: admit exactly as admit_authority would here.
	a, rej := parseAuthorityRecord(p.Authority)
	if rej != nil {
		return nil, nil, rej
	}
	if rej := checkAdmissible(dir, a); rej != nil {
		return nil, nil, rej
	}
	a.Keys[0].From = index
	nd.Authorities[a.ID] = a
	closeProposalsFor(nd, a.ID, index)
	return nd, nil, nil
}

func opRotate(e *crypto.Envelope, dir *Directory, index uint64, b RotateBody) (*Directory, []Alarm, *RejectedError) {
	old, ok := dir.Authorities[b.ID]
	if !ok {
		return nil, nil, reject(CodeInvalidOp, "unknown authority %q", b.ID)
	}
	sign, err := crypto.ParseVerifyKey(b.SignKey)
	if err != nil {
		return nil, nil, reject(CodeInvalidOp, "new sign key of %q: %v", b.ID, err)
	}
	kem, err := crypto.ParseKEMPublicKey(b.KEMKey)
	if err != nil {
		return nil, nil, reject(CodeInvalidOp, "new kem key of %q: %v", b.ID, err)
	}
	signers, newSigned, rej := verifyDirSigs(e, dir, map[string]*crypto.VerifyKey{b.ID: sign})
	if rej != nil {
		return nil, nil, rej
	}
	if !old.Active() {
		return nil, nil, reject(CodeRevoked, "authority %q is revoked", b.ID)
	}
	for _, k := range old.Keys {
		if k.Sign.ID() == sign.ID() || k.KEM.ID() == kem.ID() {
			return nil, nil, reject(CodeInvalidOp, "rotation of %q reuses a key it already had", b.ID)
		}
	}
	var alarms []Alarm
	switch {
	case signers[b.ID] && newSigned: // signers[b.ID]: verified with its current key
	case secretariatApproves(dir, signers):
		alarms = append(alarms, Alarm{
			Index: index, Kind: AlarmKeyReset, Node: old.Node,
			Message: fmt.Sprintf("keys of %q were reset by the secretariat (reason %q); check with its focal point", b.ID, b.Reason),
		})
	default:
		return nil, nil, reject(CodeNotAuthorized, "rotation of %q needs its current key and the new sign key, or the secretariat", b.ID)
	}
	a := old.clone()
	a.Keys[len(a.Keys)-1].To = index
	a.Keys = append(a.Keys, AuthorityKey{Sign: sign, KEM: kem, From: index})
	nd := dir.clone()
	nd.Authorities[a.ID] = a
	return nd, alarms, nil
}

func opRevoke(e *crypto.Envelope, dir *Directory, index uint64, b RevokeBody) (*Directory, []Alarm, *RejectedError) {
	signers, _, rej := verifyDirSigs(e, dir, nil)
	if rej != nil {
		return nil, nil, rej
	}
	if !signers[b.ID] {
		if rej := needSecretariat(dir, signers, OpRevokeAuthority); rej != nil {
			return nil, nil, rej
		}
	}
	old, ok := dir.Authorities[b.ID]
	if !ok {
		return nil, nil, reject(CodeInvalidOp, "unknown authority %q", b.ID)
	}
	if !old.Active() {
		return nil, nil, reject(CodeRevoked, "authority %q is already revoked", b.ID)
	}
	if b.ID == dir.Policy.Secretariat {
		return nil, nil, reject(CodeInvalidOp, "the secretariat %q cannot be revoked", b.ID)
	}
	a := old.clone()
	a.Status = StatusRevoked
	a.Keys[len(a.Keys)-1].To = index
	nd := dir.clone()
	nd.Authorities[a.ID] = a
	return nd, nil, nil
}

func opMove(e *crypto.Envelope, dir *Directory, b MoveBody) (*Directory, []Alarm, *RejectedError) {
	signers, _, rej := verifyDirSigs(e, dir, nil)
	if rej != nil {
		return nil, nil, rej
	}
	if rej := needSecretariat(dir, signers, OpMoveAuthority); rej != nil {
		return nil, nil, rej
	}
	old, ok := dir.Authorities[b.ID]
	if !ok {
		return nil, nil, reject(CodeInvalidOp, "unknown authority %q", b.ID)
	}
	if !old.Active() {
		return nil, nil, reject(CodeRevoked, "authority %q is revoked", b.ID)
	}
	if rej := checkHomeNode(dir, b.ID, b.Node); rej != nil {
		return nil, nil, rej
	}
	if old.Node == b.Node {
		return nil, nil, reject(CodeInvalidOp, "authority %q is already on node %q", b.ID, b.Node)
	}
	a := old.clone()
	a.Node = b.Node
	nd := dir.clone()
	nd.Authorities[a.ID] = a
	return nd, nil, nil
}

func opAddNode(e *crypto.Envelope, dir *Directory, b AddNodeBody) (*Directory, []Alarm, *RejectedError) {
	signers, _, rej := verifyDirSigs(e, dir, nil)
	if rej != nil {
		return nil, nil, rej
	}
	if rej := needSecretariat(dir, signers, OpAddNode); rej != nil {
		return nil, nil, rej
	}
	n, rej := parseNodeRecord(b.Node)
	if rej != nil {
		return nil, nil, rej
	}
	if rej := checkNewNode(dir, n); rej != nil {
		return nil, nil, rej
	}
	nd := dir.clone()
	nd.Nodes[n.ID] = n
	return nd, nil, nil
}

func opSetSuffrage(e *crypto.Envelope, dir *Directory, b SetSuffrageBody) (*Directory, []Alarm, *RejectedError) {
	signers, _, rej := verifyDirSigs(e, dir, nil)
	if rej != nil {
		return nil, nil, rej
	}
	// A voting node may sign on its own: the leader promotes a caught-up
	// non-voter automatically. (The FSM cannot know who leads; any voter
	// is trusted as much as the leader for membership.)
	byVoter := false
	for s := range signers {
		if n, ok := dir.Nodes[s]; ok && n.Voter && !n.Removed {
			byVoter = true
		}
	}
	if !byVoter {
		if rej := needSecretariat(dir, signers, OpSetSuffrage); rej != nil {
			return nil, nil, reject(CodeNotAuthorized, "set_suffrage needs the secretariat or a voting node")
		}
	}
	old, ok := dir.Nodes[b.ID]
	if !ok || old.Removed {
		return nil, nil, reject(CodeUnknownNode, "node %q", b.ID)
	}
	if old.Voter == b.Voter {
		return nil, nil, reject(CodeInvalidOp, "node %q already has voter=%t", b.ID, b.Voter)
	}
	if !b.Voter && len(dir.Voters()) == 1 {
		return nil, nil, reject(CodeInvalidOp, "node %q is the last voter", b.ID)
	}
	n := *old
	n.Voter = b.Voter
	nd := dir.clone()
	nd.Nodes[n.ID] = &n
	return nd, nil, nil
}

func opRemoveNode(e *crypto.Envelope, dir *Directory, b RemoveNodeBody) (*Directory, []Alarm, *RejectedError) {
	signers, _, rej := verifyDirSigs(e, dir, nil)
	if rej != nil {
		return nil, nil, rej
	}
	if rej := needSecretariat(dir, signers, OpRemoveNode); rej != nil {
		return nil, nil, rej
	}
	old, ok := dir.Nodes[b.ID]
	if !ok || old.Removed {
		return nil, nil, reject(CodeUnknownNode, "node %q", b.ID)
	}
	if homed := dir.AuthoritiesOn(b.ID); len(homed) > 0 {
		return nil, nil, reject(CodeInvalidOp, "node %q is the home of %q; move them first", b.ID, homed)
	}
	if old.Voter && len(dir.Voters()) == 1 {
		return nil, nil, reject(CodeInvalidOp, "node %q is the last voter", b.ID)
	}
	n := *old
	n.Removed, n.Voter = true, false
	nd := dir.clone()
	nd.Nodes[n.ID] = &n
	return nd, nil, nil
}
