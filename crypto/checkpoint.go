package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Signed-note constants (docs/protocol.md §6). Changing one invalidates
// every stored checkpoint signature.
const (
	// checkpointContext is the composite signature context of a checkpoint
	// line.
	checkpointContext = "penhub/v1/checkpoint"
	// pqNameSuffix is appended to the node id to name the composite line.
	// note forbids '+' in key names, so it is "/pq".
	pqNameSuffix = "/pq"
	// noteAlgEd25519 is the signed-note signature type of Ed25519.
	noteAlgEd25519 = 0x01
	// noteAlgOther is C2SP's type for unlisted algorithms; an identifier
	// string follows it in the key-id hash.
	noteAlgOther = 0xff
	noteIdentPQ  = "penhub-mldsa65-ed25519"
	// maxNoteSize caps a signed checkpoint (text plus up to 100 lines).
	maxNoteSize = 1 << 20
	// maxOriginLen caps a checkpoint's origin line.
	maxOriginLen = 256
)

// Checkpoint is a tree head of the log in c2sp tlog-checkpoint form:
//
//	<origin>\n<size>\n<base64 root>\n
//
// Origin is "penhub/<hub id hex>" ([CheckpointOrigin]); Size the number of
// applied entries; Root the RFC 6962 tree hash (tlog.TreeHash) over the
// entries. No extension lines.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// CheckpointOrigin returns the origin line of a hub's checkpoints.
func CheckpointOrigin(hubID [32]byte) string { return "penhub/" + hex.EncodeToString(hubID[:]) }

// String returns the checkpoint text (three lines, each ending in '\n').
func (c Checkpoint) String() string {
	return fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
}

// FormatCheckpoint returns c.String() as bytes.
func FormatCheckpoint(c Checkpoint) []byte { return []byte(c.String()) }

func validOrigin(s string) bool {
	if len(s) == 0 || len(s) > maxOriginLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// ParseCheckpoint parses checkpoint text strictly: exactly three lines,
// origin of printable non-space ASCII (at most 256 bytes), a canonical
// decimal size (no sign, no leading zeros) ≤ 2^63−1, and the canonical
// standard base64 of a 32-byte root. Errors wrap [ErrMalformed].
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	var c Checkpoint
	bad := func(what string) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("parsing checkpoint: %w: %s", ErrMalformed, what)
	}
	if len(text) > maxOriginLen+64 {
		return bad("too long")
	}
	lines := bytes.Split(text, []byte("\n"))
	if len(lines) != 4 || len(lines[3]) != 0 {
		return bad("want exactly three lines ending in newline")
	}
	if !validOrigin(string(lines[0])) {
		return bad("origin")
	}
	c.Origin = string(lines[0])
	sz := string(lines[1])
	n, err := strconv.ParseInt(sz, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != sz {
		return bad("size")
	}
	c.Size = n
	root, err := base64.StdEncoding.Strict().DecodeString(string(lines[2]))
	if err != nil || len(root) != len(c.Root) {
		return bad("root hash")
	}
	copy(c.Root[:], root)
	return c, nil
}

// noteKeyHash is the C2SP signed-note key id: SHA-256(name ‖ "\n" ‖ key)[:4].
func noteKeyHash(name string, key []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte("\n"))
	h.Write(key)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// edNoteKey is a note Signer and Verifier for the Ed25519 line; it is
// byte-compatible with note.NewSigner/NewVerifier keys of type 0x01.
type edNoteKey struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey // nil when verifying
}

var (
	_ note.Signer   = (*edNoteKey)(nil)
	_ note.Verifier = (*edNoteKey)(nil)
)

func newEdNoteKey(nodeID string, pub ed25519.PublicKey, priv ed25519.PrivateKey) *edNoteKey {
	return &edNoteKey{name: nodeID, hash: noteKeyHash(nodeID, append([]byte{noteAlgEd25519}, pub...)), pub: pub, priv: priv}
}

func (k *edNoteKey) Name() string    { return k.name }
func (k *edNoteKey) KeyHash() uint32 { return k.hash }
func (k *edNoteKey) Sign(msg []byte) ([]byte, error) {
	return ed25519.Sign(k.priv, msg), nil
}
func (k *edNoteKey) Verify(msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(k.pub, msg, sig)
}

// pqNoteKey is a note Signer and Verifier for the composite line.
type pqNoteKey struct {
	name string
	hash uint32
	pub  *VerifyKey
	priv *SigningKey // nil when verifying
}

var (
	_ note.Signer   = (*pqNoteKey)(nil)
	_ note.Verifier = (*pqNoteKey)(nil)
)

func newPQNoteKey(nodeID string, pub *VerifyKey, priv *SigningKey) *pqNoteKey {
	name := nodeID + pqNameSuffix
	key := append(append([]byte{noteAlgOther}, noteIdentPQ...), pub.Bytes()...)
	return &pqNoteKey{name: name, hash: noteKeyHash(name, key), pub: pub, priv: priv}
}

func (k *pqNoteKey) Name() string    { return k.name }
func (k *pqNoteKey) KeyHash() uint32 { return k.hash }
func (k *pqNoteKey) Sign(msg []byte) ([]byte, error) {
	return k.priv.Sign(checkpointContext, msg)
}
func (k *pqNoteKey) Verify(msg, sig []byte) bool {
	return k.pub.Verify(checkpointContext, msg, sig) == nil
}

// SignCheckpoint returns c as a signed note with two signature lines by the
// node: "— <node id> …" (Ed25519, with key's classical half) and
// "— <node id>/pq …" (composite, context "penhub/v1/checkpoint").
func SignCheckpoint(c Checkpoint, nodeID string, key *SigningKey) ([]byte, error) {
	if _, err := ParseCheckpoint(FormatCheckpoint(c)); err != nil {
		return nil, fmt.Errorf("signing checkpoint: %w", err)
	}
	if !validName(nodeID) {
		return nil, fmt.Errorf("signing checkpoint: %w: node id %q", ErrMalformed, nodeID)
	}
	msg, err := note.Sign(&note.Note{Text: c.String()}, nodeSigners(nodeID, key)...)
	if err != nil {
		return nil, fmt.Errorf("signing checkpoint: %w", err)
	}
	return msg, nil
}

func nodeSigners(nodeID string, key *SigningKey) []note.Signer {
	return []note.Signer{
		newEdNoteKey(nodeID, key.Public().Ed25519(), key.Ed25519()),
		newPQNoteKey(nodeID, key.Public(), key),
	}
}

// CosignCheckpoint adds nodeID's two lines to a signed checkpoint, keeping
// the lines already there (not verified here: verify them with
// [VerifyCheckpoint] per signer). Lines by the same key are replaced.
func CosignCheckpoint(msg []byte, nodeID string, key *SigningKey) ([]byte, error) {
	n, err := openNote(msg, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		if err == nil {
			err = fmt.Errorf("%w: unexpected verified line", ErrMalformed)
		}
		return nil, fmt.Errorf("cosigning checkpoint: %w", err)
	}
	n = unverified.Note
	if _, err := ParseCheckpoint([]byte(n.Text)); err != nil {
		return nil, fmt.Errorf("cosigning checkpoint: %w", err)
	}
	if !validName(nodeID) {
		return nil, fmt.Errorf("cosigning checkpoint: %w: node id %q", ErrMalformed, nodeID)
	}
	out, err := note.Sign(n, nodeSigners(nodeID, key)...)
	if err != nil {
		return nil, fmt.Errorf("cosigning checkpoint: %w", err)
	}
	return out, nil
}

// openNote wraps note.Open with the size cap and maps its errors.
func openNote(msg []byte, known note.Verifiers) (*note.Note, error) {
	if len(msg) > maxNoteSize {
		return nil, fmt.Errorf("opening signed note: %w: %d bytes", ErrMalformed, len(msg))
	}
	n, err := note.Open(msg, known)
	var (
		unverified *note.UnverifiedNoteError
		invalid    *note.InvalidSignatureError
	)
	switch {
	case err == nil:
		return n, nil
	case errors.As(err, &unverified):
		return nil, err
	case errors.As(err, &invalid):
		return nil, fmt.Errorf("opening signed note: %w: line %s", ErrSignature, invalid.Name)
	default:
		return nil, fmt.Errorf("opening signed note: %w: %v", ErrMalformed, err)
	}
}

// VerifyCheckpoint opens a signed checkpoint and requires BOTH lines of
// nodeID (Ed25519 and composite) to verify under key; lines by other keys
// are ignored. Errors wrap [ErrSignature] (a line missing or bad) or
// [ErrMalformed] (note or checkpoint text).
func VerifyCheckpoint(msg []byte, nodeID string, key *VerifyKey) (Checkpoint, error) {
	if key == nil {
		return Checkpoint{}, fmt.Errorf("verifying checkpoint of %q: %w: no key", nodeID, ErrSignature)
	}
	ed := newEdNoteKey(nodeID, key.Ed25519(), nil)
	pq := newPQNoteKey(nodeID, key, nil)
	n, err := openNote(msg, note.VerifierList(ed, pq))
	var unverified *note.UnverifiedNoteError
	if errors.As(err, &unverified) {
		return Checkpoint{}, fmt.Errorf("verifying checkpoint of %q: %w: no line by its key", nodeID, ErrSignature)
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("verifying checkpoint of %q: %w", nodeID, err)
	}
	// note.Open accepts a note if any one known line verifies: require both.
	var haveEd, havePQ bool
	for _, s := range n.Sigs {
		haveEd = haveEd || s.Name == ed.name && s.Hash == ed.hash
		havePQ = havePQ || s.Name == pq.name && s.Hash == pq.hash
	}
	if !haveEd || !havePQ {
		missing := pq.name
		if !haveEd {
			missing = ed.name
		}
		return Checkpoint{}, fmt.Errorf("verifying checkpoint of %q: %w: line %s missing", nodeID, ErrSignature, missing)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("verifying checkpoint of %q: %w", nodeID, err)
	}
	return c, nil
}

// CheckpointSigners returns the node ids that have a composite line on a
// signed checkpoint, in order, without verifying anything (to decide which
// keys to fetch before [VerifyCheckpoint]).
func CheckpointSigners(msg []byte) ([]string, error) {
	_, err := openNote(msg, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		if err == nil {
			err = fmt.Errorf("%w: unexpected verified line", ErrMalformed)
		}
		return nil, fmt.Errorf("listing checkpoint signers: %w", err)
	}
	var ids []string
	seen := map[string]bool{}
	for _, s := range unverified.Note.UnverifiedSigs {
		id, ok := bytes.CutSuffix([]byte(s.Name), []byte(pqNameSuffix))
		if ok && !seen[string(id)] {
			seen[string(id)] = true
			ids = append(ids, string(id))
		}
	}
	return ids, nil
}
