package node

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/penhub/penhub/consensus/ledger"
	"github.com/penhub/penhub/crypto"
	"github.com/penhub/penhub/schema"
)

type directoryView struct {
	HubID       string          `json:"hub_id"`
	Secretariat string          `json:"secretariat"`
	Authorities []authorityView `json:"authorities"`
	Nodes       []nodeView      `json:"nodes"`
	// PendingAdmissions are the open k-of-n admission proposals, oldest first.
	PendingAdmissions []admissionView `json:"pending_admissions"`
}

type admissionView struct {
	ID        string   `json:"id"` // the proposal: entry id of its admit_authority entry
	Index     uint64   `json:"index"`
	Proposer  string   `json:"proposer"`
	Authority string   `json:"authority"`
	Node      string   `json:"node"`
	Countries []string `json:"countries"`
	Needed    int      `json:"needed"`
}

type authorityView struct {
	ID     string    `json:"id"`
	Node   string    `json:"node"`
	Status string    `json:"status"`
	Keys   []keyView `json:"keys"`
}

type keyView struct {
	SignKeyID   string `json:"sign_key_id"`
	KEMKeyID    string `json:"kem_key_id"`
	Fingerprint string `json:"fingerprint"`
	From        uint64 `json:"from"`
	To          uint64 `json:"to,omitempty"`
}

type nodeView struct {
	ID             string `json:"id"`
	API            string `json:"api"`
	Raft           string `json:"raft"`
	TLSFingerprint string `json:"tls_fingerprint"`
	Voter          bool   `json:"voter"`
	Removed        bool   `json:"removed,omitempty"`
}

func (n *Node) getDirectory(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	d := n.ledger().Directory()
	v := directoryView{HubID: n.cfg.HubID, Secretariat: d.Policy.Secretariat, Authorities: []authorityView{}, Nodes: []nodeView{}}
	ids := make([]string, 0, len(d.Authorities))
	for id := range d.Authorities {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := d.Authorities[id]
		av := authorityView{ID: a.ID, Node: a.Node, Status: a.Status}
		for _, k := range a.Keys {
			pk := crypto.PublicKeys{ID: a.ID, SignKey: k.Sign, KEMKey: k.KEM}
			av.Keys = append(av.Keys, keyView{SignKeyID: k.Sign.ID().String(), KEMKeyID: k.KEM.ID().String(), Fingerprint: pk.Fingerprint(), From: k.From, To: k.To})
		}
		v.Authorities = append(v.Authorities, av)
	}
	for _, id := range d.NodeIDs() {
		nd, _ := d.Node(id)
		v.Nodes = append(v.Nodes, nodeView{ID: nd.ID, API: nd.API, Raft: nd.Raft, TLSFingerprint: nd.TLSFingerprint, Voter: nd.Voter, Removed: nd.Removed})
	}
	v.PendingAdmissions = []admissionView{}
	for _, p := range d.PendingAdmissions() {
		v.PendingAdmissions = append(v.PendingAdmissions, admissionView{ID: p.ID, Index: p.Index, Proposer: p.Proposer,
			Authority: p.Authority.ID, Node: p.Authority.Node, Countries: p.Countries, Needed: d.Policy.Admission.K})
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// proposeDirectory signs a directory operation with signers and proposes it.
func (n *Node) proposeDirectory(w http.ResponseWriter, r *http.Request, op string, author string, body any, signers ...crypto.Signer) (uint64, *apiError) {
	id, index, e := n.submitDirectory(r, op, author, body, signers...)
	if e != nil {
		return 0, e
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": uuid.UUID(id).String(), "index": index, "op": op})
	return index, nil
}

// submitDirectory signs a directory operation and proposes it; it returns
// the entry id and log index without answering the request.
func (n *Node) submitDirectory(r *http.Request, op string, author string, body any, signers ...crypto.Signer) ([16]byte, uint64, *apiError) {
	var id [16]byte
	raw, err := json.Marshal(body)
	if err != nil {
		return id, 0, errorf(http.StatusInternalServerError, codeInternal, "encoding directory entry: "+err.Error())
	}
	if _, err := n.rand.Read(id[:]); err != nil {
		return id, 0, errorf(http.StatusInternalServerError, codeInternal, "drawing entry id: "+err.Error())
	}
	hdr := crypto.Header{Kind: crypto.KindDirectory, HubID: n.hubID, EntryID: id, CreatedMS: n.now().UnixMilli(), Author: author, Subtype: op}
	env, err := crypto.SignPlain(n.rand, hdr, raw, signers...)
	if err != nil {
		return id, 0, errorf(http.StatusInternalServerError, codeInternal, "signing directory entry: "+err.Error())
	}
	applied, err := n.submit(r.Context(), env)
	if err != nil {
		return id, 0, n.proposeError(err)
	}
	return id, applied.Index, nil
}

// secretariat returns the secretariat's signer when c is its focal point on this node.
func (n *Node) secretariat(c caller) (crypto.Signer, *apiError) {
	d := n.ledger().Directory()
	if c.Role != "focal_point" || c.Authority == "" || c.Authority != d.Policy.Secretariat {
		return crypto.Signer{}, errorf(http.StatusForbidden, codeForbidden, "only the secretariat's focal point may change the directory this way")
	}
	id, ok := n.signer(c.Authority)
	if !ok {
		return crypto.Signer{}, errorf(http.StatusForbidden, codeForbidden, "the secretariat's key is not on this node")
	}
	return crypto.Signer{ID: c.Authority, Key: id.Sign}, nil
}

// quorumMember returns the signer of c's authority when the hub admits by k
// of n and c is the focal point of an active authority of Admission.Of whose
// key is on this node.
func (n *Node) quorumMember(c caller) (crypto.Signer, *apiError) {
	d := n.ledger().Directory()
	a, ok := d.Authority(c.Authority)
	if c.Role != "focal_point" || d.Policy.Admission.K <= 0 || !ok || !a.Active() || !d.Policy.InAdmissionQuorum(c.Authority) {
		return crypto.Signer{}, errorf(http.StatusForbidden, codeForbidden, "only the focal point of an authority of the hub's admission quorum may do this")
	}
	id, ok := n.signer(c.Authority)
	if !ok {
		return crypto.Signer{}, errorf(http.StatusForbidden, codeForbidden, fmt.Sprintf("the keys of %q are not on this node", c.Authority))
	}
	return crypto.Signer{ID: c.Authority, Key: id.Sign}, nil
}

// admitAuthority admits an authority signed by the secretariat, or, on a
// k-of-n hub, proposes its admission signed by a quorum member (pending
// until cosign_admission entries of k-1 other countries).
func (n *Node) admitAuthority(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	signer, e := n.secretariat(c)
	if e != nil {
		var qe *apiError
		if signer, qe = n.quorumMember(c); qe != nil {
			return e
		}
		e = nil
	}
	var req struct {
		ID         string `json:"id"`
		Node       string `json:"node"`
		PublicKeys string `json:"public_keys"`
	}
	if e := decodeStrict(requestBody(r), &req); e != nil {
		return e
	}
	var fields []schema.FieldError
	if !schema.ValidAuthorityID(req.ID) {
		fields = append(fields, schema.FieldError{Field: "id", Code: "authority_id", Problem: fmt.Sprintf("%q is not an authority id (DE, NL-CUSTOMS, INT-INCB)", req.ID)})
	}
	d := n.ledger().Directory()
	if _, ok := d.Authority(req.ID); ok {
		fields = append(fields, schema.FieldError{Field: "id", Code: "duplicate", Problem: fmt.Sprintf("authority %q already exists", req.ID)})
	}
	if nd, ok := d.Node(req.Node); !ok || nd.Removed {
		fields = append(fields, schema.FieldError{Field: "node", Code: "unknown_node", Problem: fmt.Sprintf("node %q is not in the directory", req.Node)})
	}
	pk, err := crypto.ParsePublicFile([]byte(req.PublicKeys))
	if err != nil {
		fields = append(fields, schema.FieldError{Field: "public_keys", Code: "public_keys", Problem: "not a valid self-signed public key file: " + err.Error()})
	} else if pk.ID != req.ID {
		fields = append(fields, schema.FieldError{Field: "public_keys", Code: "public_keys", Problem: fmt.Sprintf("the key file is for %q, not %q", pk.ID, req.ID)})
	}
	if len(fields) > 0 {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeValidationFailed, Message: problemCount(len(fields), "admission"), Fields: fields}
	}
	if p, ok := openAdmissionFor(d, req.ID); ok {
		return errorf(http.StatusConflict, codeConflict, fmt.Sprintf("the admission of %q is already proposed (%s); cosign it instead", req.ID, p.ID))
	}
	body := ledger.AdmitBody{Authority: ledger.AuthorityRecord{ID: req.ID, Node: req.Node, SignKey: pk.SignKey.Bytes(), KEMKey: pk.KEMKey.Bytes()}}
	k := d.Policy.Admission.K
	if signer.ID == d.Policy.Secretariat || k <= 1 {
		_, e = n.proposeDirectory(w, r, ledger.OpAdmitAuthority, signer.ID, body, signer)
		return e
	}
	id, index, e := n.submitDirectory(r, ledger.OpAdmitAuthority, signer.ID, body, signer)
	if e != nil {
		return e
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": uuid.UUID(id).String(), "index": index, "op": ledger.OpAdmitAuthority,
		"pending": true, "signatures": 1, "needed": k})
	return nil
}

func openAdmissionFor(d *ledger.Directory, authority string) (*ledger.PendingAdmission, bool) {
	for _, p := range d.PendingAdmissions() {
		if p.Authority.ID == authority {
			return p, true
		}
	}
	return nil, false
}

// cosignAdmission adds the caller's country to a pending k-of-n admission
// (cosign_admission); the k-th country admits the authority. signatures
// and pending in the answer are as of this node's directory before the
// entry (the log decides).
func (n *Node) cosignAdmission(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	signer, e := n.quorumMember(c)
	if e != nil {
		return e
	}
	if body := requestBody(r); len(strings.TrimSpace(string(body))) > 0 {
		var req struct{}
		if e := decodeStrict(body, &req); e != nil {
			return e
		}
	}
	pid := r.PathValue("id")
	u, err := uuid.Parse(pid)
	if err != nil {
		return errorf(http.StatusNotFound, codeNotFound, fmt.Sprintf("no admission proposal %q", pid))
	}
	pid = u.String()
	d := n.ledger().Directory()
	p, ok := d.Admission(pid)
	switch {
	case !ok:
		return errorf(http.StatusNotFound, codeNotFound, fmt.Sprintf("no admission proposal %s", pid))
	case p.Closed != 0:
		return errorf(http.StatusConflict, codeConflict, fmt.Sprintf("admission proposal %s was closed at log index %d", pid, p.Closed))
	case slices.Contains(p.Countries, ledger.CountryOf(signer.ID)):
		return errorf(http.StatusConflict, codeConflict, fmt.Sprintf("country %s already signed admission proposal %s", ledger.CountryOf(signer.ID), pid))
	}
	id, index, e := n.submitDirectory(r, ledger.OpCosignAdmission, signer.ID, ledger.CosignAdmissionBody{Proposal: pid}, signer)
	if e != nil {
		return e
	}
	k, got := d.Policy.Admission.K, len(p.Countries)+1
	writeJSON(w, http.StatusCreated, map[string]any{"id": uuid.UUID(id).String(), "index": index, "op": ledger.OpCosignAdmission,
		"proposal": pid, "authority": p.Authority.ID, "pending": got < k, "signatures": got, "needed": k})
	return nil
}

// rotateAuthority generates new keys for an authority hosted here, stores them
// (fsynced) in the keyring, proposes the rotation signed by the old and the
// new keys, and makes the new keys current once the log has accepted them.
// The old private keys stay in the keyring to open old notices.
func (n *Node) rotateAuthority(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	target := r.PathValue("id")
	d := n.ledger().Directory()
	a, ok := d.Authority(target)
	// 403 before 404 (SPEC §4.1).
	allowed := (c.Role == "focal_point" && c.Authority == target) || (c.Role == "admin" && ok && a.Node == n.cfg.NodeID)
	if !allowed {
		return errorf(http.StatusForbidden, codeForbidden, "only the authority's focal point or its home node's admin may rotate its keys")
	}
	if !ok || !a.Active() {
		return errorf(http.StatusNotFound, codeNotFound, fmt.Sprintf("no active authority %q", target))
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if body := requestBody(r); len(strings.TrimSpace(string(body))) > 0 {
		if e := decodeStrict(body, &req); e != nil {
			return e
		}
	}
	// One rotation at a time: a second one started meanwhile would take the
	// first's old key as current and switch the keyring back to it after the
	// first committed, leaving a retired key current (every later entry of
	// the authority refused by the log).
	n.rotateMu.Lock()
	defer n.rotateMu.Unlock()
	old, ok := n.signer(target)
	if !ok {
		return errorf(http.StatusForbidden, codeForbidden, fmt.Sprintf("the keys of %q are not on this node", target))
	}
	next, err := crypto.GenerateIdentity(n.rand, target)
	if err != nil {
		return errorf(http.StatusInternalServerError, codeInternal, "generating keys: "+err.Error())
	}
	if err := n.keyring.Add(next); err != nil {
		return errorf(http.StatusInternalServerError, codeInternal, "storing new keys: "+err.Error())
	}
	// Add may make the new identity current; the old one stays current until
	// the rotation is committed.
	if err := n.keyring.SetCurrent(target, old.Sign.ID()); err != nil {
		return errorf(http.StatusInternalServerError, codeInternal, "keeping old keys current: "+err.Error())
	}
	body := ledger.RotateBody{ID: target, SignKey: next.Sign.Public().Bytes(), KEMKey: next.KEM.Public().Bytes(), Reason: req.Reason}
	if _, e := n.proposeDirectory(w, r, ledger.OpRotateKeys, target, body,
		crypto.Signer{ID: target, Key: old.Sign}, crypto.Signer{ID: target, Key: next.Sign}); e != nil {
		return e
	}
	if err := n.keyring.SetCurrent(target, next.Sign.ID()); err != nil {
		n.log.Error("rotation committed but switching the keyring failed; restart the node", "err", err)
	}
	n.log.Info("authority keys rotated", "authority", target, "sign_key", next.Sign.ID().String(), "at", time.Now().UTC().Format(time.RFC3339))
	return nil
}

func (n *Node) revokeAuthority(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	signer, e := n.secretariat(c)
	if e != nil {
		return e
	}
	target := r.PathValue("id")
	var req struct {
		Reason string `json:"reason"`
	}
	if e := decodeStrict(requestBody(r), &req); e != nil {
		return e
	}
	if strings.TrimSpace(req.Reason) == "" {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeValidationFailed, Message: "1 problem in the revocation",
			Fields: []schema.FieldError{{Field: "reason", Code: "required", Problem: "say why the authority is revoked"}}}
	}
	if a, ok := n.ledger().Directory().Authority(target); !ok || !a.Active() {
		return errorf(http.StatusNotFound, codeNotFound, fmt.Sprintf("no active authority %q", target))
	}
	_, e = n.proposeDirectory(w, r, ledger.OpRevokeAuthority, signer.ID, ledger.RevokeBody{ID: target, Reason: req.Reason}, signer)
	return e
}

// decodeStrict decodes a small JSON request body: unknown fields, wrong types
// and trailing data are 400 bad_request.
func decodeStrict(body []byte, v any) *apiError {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, codeBadRequest, "malformed JSON: "+err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(http.StatusBadRequest, codeBadRequest, "malformed JSON: trailing data after the object")
	}
	return nil
}

// admitNode adds a node to the directory (secretariat): the leader then adds
// it to Raft as a non-voter, and it catches up. The request is the record
// `penhub init --join` wrote (node-request.json).
func (n *Node) admitNode(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	signer, e := n.secretariat(c)
	if e != nil {
		return e
	}
	var rec ledger.NodeRecord
	if e := decodeStrict(requestBody(r), &rec); e != nil {
		return e
	}
	d := n.ledger().Directory()
	var fields []schema.FieldError
	if rec.ID == "" {
		fields = append(fields, schema.FieldError{Field: "id", Code: "required", Problem: "the node id is required"})
	} else if _, ok := d.Node(rec.ID); ok {
		fields = append(fields, schema.FieldError{Field: "id", Code: "duplicate", Problem: fmt.Sprintf("node %q is already in the directory", rec.ID)})
	}
	if _, ok := d.NodeByFingerprint(rec.TLSFingerprint); ok {
		fields = append(fields, schema.FieldError{Field: "tls_fingerprint", Code: "duplicate", Problem: "another node already has this TLS key"})
	}
	if _, err := crypto.ParseVerifyKey(rec.CheckpointKey); err != nil {
		fields = append(fields, schema.FieldError{Field: "checkpoint_key", Code: "checkpoint_key", Problem: "not a composite public key: " + err.Error()})
	}
	if len(fields) > 0 {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeValidationFailed, Message: problemCount(len(fields), "node record"), Fields: fields}
	}
	rec.Voter = false // joins as a non-voter; promotion is a separate set_suffrage
	_, e = n.proposeDirectory(w, r, ledger.OpAddNode, signer.ID, ledger.AddNodeBody{Node: rec}, signer)
	return e
}
