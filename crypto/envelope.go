package crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"

	"github.com/cloudflare/circl/hpke"
)

// Kind is the kind of a log entry (docs/protocol.md §2). It selects the
// payload form (sealed or plain) and the signature context.
type Kind uint8

// Entry kinds. The numbers are part of the wire format.
const (
	KindNotice      Kind = 1 // sealed; subtype = notice type
	KindResponse    Kind = 2 // sealed; ref_id = notice id
	KindReceipt     Kind = 3 // sealed; ref_id = notice id
	KindDirectory   Kind = 4 // plain JSON; subtype = op
	KindCosignature Kind = 5 // plain signed-note text
)

// String returns the kind's name as used in the feed ("notice", ...).
func (k Kind) String() string {
	switch k {
	case KindNotice:
		return "notice"
	case KindResponse:
		return "response"
	case KindReceipt:
		return "receipt"
	case KindDirectory:
		return "directory"
	case KindCosignature:
		return "cosignature"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Valid reports whether k is one of the five kinds.
func (k Kind) Valid() bool { return k >= KindNotice && k <= KindCosignature }

// Sealed reports whether entries of kind k carry an encrypted payload.
func (k Kind) Sealed() bool { return k == KindNotice || k == KindResponse || k == KindReceipt }

// ContextFor returns the composite-signature context string of kind k
// ("penhub/v1/notice", ...), or "" for an unknown kind.
func ContextFor(k Kind) string {
	if !k.Valid() {
		return ""
	}
	return "penhub/v1/" + k.String()
}

// Format limits of suite 1 (docs/protocol.md §2). Parse rejects anything
// beyond them; Seal and SignPlain refuse to produce it.
const (
	Suite1          uint16 = 1
	MaxRecipients          = 256
	MaxSignatures          = 16
	MaxNameLen             = 64      // author, recipient, signer
	MaxSubtypeLen          = 32      //
	MaxPlainBody           = 1 << 20 // plain payload body
	MinPaddedLen           = 1 << 10 // smallest sealed payload
	MaxPaddedLen           = 1 << 21 // largest sealed payload
	MaxPlaintext           = MaxPaddedLen - 4
	dekSize                = 32
	wrappedDEKSize         = dekSize + 16
	gcmTagSize             = 16
	keyCommitSize          = 32
	maxStanzas             = MaxRecipients + 1
	stanzaFixedSize        = 16 + EncSize + wrappedDEKSize
	sigFixedSize           = 16 + SignatureSize
	envelopeMagic          = "PHE1"
)

// Derivation labels (docs/protocol.md §2). Changing one breaks every log.
const (
	labelPayload = "penhub/v1/payload"
	labelCommit  = "penhub/v1/commit"
	labelStanza  = "penhub/v1/stanza"
)

var stanzaSuite = hpke.NewSuite(hpke.KEM_XWING, hpke.KDF_HKDF_SHA256, hpke.AEAD_AES256GCM)

// Header is the signed header of an envelope. For sealed kinds it is also
// part of the payload's AEAD associated data.
type Header struct {
	Kind      Kind
	HubID     [32]byte // zero only in the genesis entry
	EntryID   [16]byte // must not be zero once sealed
	CreatedMS int64    // proposer's clock, Unix milliseconds, ≥ 0
	Author    string   // sender authority, signer of record or node id
	Subtype   string   // notice type, directory op, or ""
	Handling  uint8    // 0–3 for notices (H0–H3), 0 otherwise
	RefID     [16]byte // notice id for responses and receipts, zero otherwise
	// Recipients are the addressed authorities, in order, without "*" and
	// without duplicates; at least one for sealed kinds, none for plain kinds.
	Recipients []string
}

// Recipient is one stanza's addressee and the KEM key to wrap the DEK to.
type Recipient struct {
	ID  string
	Key *KEMPublicKey
}

// Signer is a signing authority (or node) and its composite key.
type Signer struct {
	ID  string
	Key *SigningKey
}

// Signature is one signature of an envelope.
type Signature struct {
	Signer string
	KeyID  KeyID
	Sig    []byte // 3373 bytes, aliases Envelope.Raw
}

// Stanza is one recipient's wrapped copy of the DEK.
type Stanza struct {
	Recipient  string
	KeyID      KeyID  // id of the recipient's X-Wing key
	Enc        []byte // 1120 bytes, aliases Envelope.Raw
	WrappedDEK []byte // 48 bytes, aliases Envelope.Raw
}

// Envelope is a parsed log entry. All byte slices alias Raw; treat them as
// read-only.
type Envelope struct {
	Header
	Raw    []byte // the exact bytes given to Parse
	Signed []byte // header ‖ payload: the message every signature signs
	Sigs   []Signature
	// Sealed kinds only:
	Stanzas    []Stanza
	KeyCommit  [32]byte
	PaddedLen  uint32
	Ciphertext []byte // padded_len + 16 bytes
	// Plain kinds only:
	Body []byte

	headerLen int // Raw[:headerLen] is the header
	aadLen    int // Raw[:aadLen] is the payload AEAD's associated data
}

// validName: 1..MaxNameLen bytes of [A-Za-z0-9._-].
func validName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// validSubtype: 0..MaxSubtypeLen bytes of [a-z0-9_-].
func validSubtype(s string) bool {
	if len(s) > MaxSubtypeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// check returns the first rule of docs/protocol.md §2 that h breaks, wrapped
// in ErrMalformed (ErrSuite-free: a Header has no suite).
func (h *Header) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("checking header: %w: "+format, append([]any{ErrMalformed}, args...)...)
	}
	if !h.Kind.Valid() {
		return bad("unknown kind %d", h.Kind)
	}
	if h.EntryID == [16]byte{} {
		return bad("zero entry id")
	}
	if h.CreatedMS < 0 {
		return bad("negative created_ms")
	}
	if !validName(h.Author) {
		return bad("author %q", h.Author)
	}
	if !validSubtype(h.Subtype) {
		return bad("subtype %q", h.Subtype)
	}
	if h.Kind == KindNotice && h.Handling > 3 || h.Kind != KindNotice && h.Handling != 0 {
		return bad("handling %d for kind %s", h.Handling, h.Kind)
	}
	needRef := h.Kind == KindResponse || h.Kind == KindReceipt
	if needRef == (h.RefID == [16]byte{}) {
		if needRef {
			return bad("zero ref_id for kind %s", h.Kind)
		}
		return bad("non-zero ref_id for kind %s", h.Kind)
	}
	if h.Kind.Sealed() {
		if len(h.Recipients) == 0 || len(h.Recipients) > MaxRecipients {
			return bad("%d recipients, want 1–%d", len(h.Recipients), MaxRecipients)
		}
	} else if len(h.Recipients) != 0 {
		return bad("%d recipients for plain kind %s", len(h.Recipients), h.Kind)
	}
	seen := make(map[string]bool, len(h.Recipients))
	for _, r := range h.Recipients {
		if !validName(r) {
			return bad("recipient %q", r)
		}
		if seen[r] {
			return bad("recipient %q listed twice", r)
		}
		seen[r] = true
	}
	return nil
}

// stanzaOrder is the recipients as listed, then the author if not listed.
func (h *Header) stanzaOrder() []string {
	order := append([]string(nil), h.Recipients...)
	for _, r := range h.Recipients {
		if r == h.Author {
			return order
		}
	}
	return append(order, h.Author)
}

func appendStr8(b []byte, s string) []byte { return append(append(b, byte(len(s))), s...) }

// appendHeader encodes h (already checked) after b.
func appendHeader(b []byte, h *Header) []byte {
	b = append(b, envelopeMagic...)
	b = binary.BigEndian.AppendUint16(b, Suite1)
	b = append(b, byte(h.Kind))
	b = append(b, h.HubID[:]...)
	b = append(b, h.EntryID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(h.CreatedMS))
	b = appendStr8(b, h.Author)
	b = appendStr8(b, h.Subtype)
	b = append(b, h.Handling)
	b = append(b, h.RefID[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.Recipients)))
	for _, r := range h.Recipients {
		b = appendStr8(b, r)
	}
	return b
}

// paddedLen is the next power of two ≥ max(MinPaddedLen, 4+n).
func paddedLen(n int) int {
	need := max(MinPaddedLen, 4+n)
	return 1 << bits.Len(uint(need-1))
}

func deriveKeys(dek []byte, entryID [16]byte) (payloadKey, commit []byte, err error) {
	payloadKey, err = hkdf.Key(sha256.New, dek, entryID[:], labelPayload, 32)
	if err != nil {
		return nil, nil, err
	}
	commit, err = hkdf.Key(sha256.New, dek, entryID[:], labelCommit, keyCommitSize)
	return payloadKey, commit, err
}

func stanzaInfo(entryID [16]byte) []byte {
	return append([]byte(labelStanza), entryID[:]...)
}

func stanzaAAD(recipient string, id KeyID) []byte {
	return append(appendStr8(nil, recipient), id[:]...)
}

func payloadAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts plaintext to recipients and signs the result as signer,
// returning the envelope bytes (docs/protocol.md §2).
//
// h.Kind must be a sealed kind and h.Author must equal signer.ID. If
// h.Recipients is empty it is filled with the ids of recipients, in order,
// without the author. recipients must hold exactly one key for each
// recipient in h.Recipients and one for the author (the author's stanza lets
// the sender read its own entry); any other entry is an error.
//
// If h.EntryID is zero, Seal draws a UUIDv4 from rand first. It then reads
// the 32-byte DEK and, for each stanza in order, the 64-byte X-Wing
// encapsulation seed from rand: with a fixed rand every byte before the
// signatures is reproducible. The signature itself is hedged with
// crypto/rand (see [SigningKey.Sign]).
func Seal(rand io.Reader, h Header, recipients []Recipient, plaintext []byte, signer Signer) ([]byte, error) {
	if !h.Kind.Sealed() {
		return nil, fmt.Errorf("sealing: %w: kind %s has no sealed payload", ErrMalformed, h.Kind)
	}
	if signer.Key == nil || signer.ID != h.Author {
		return nil, fmt.Errorf("sealing: %w: signer %q is not the author %q", ErrKeyMismatch, signer.ID, h.Author)
	}
	if len(plaintext) > MaxPlaintext {
		return nil, fmt.Errorf("sealing: %w: plaintext of %d bytes exceeds %d", ErrMalformed, len(plaintext), MaxPlaintext)
	}
	keys := make(map[string]*KEMPublicKey, len(recipients))
	for _, r := range recipients {
		if r.Key == nil {
			return nil, fmt.Errorf("sealing: %w: no key for recipient %q", ErrMalformed, r.ID)
		}
		if _, dup := keys[r.ID]; dup {
			return nil, fmt.Errorf("sealing: %w: recipient %q given twice", ErrMalformed, r.ID)
		}
		keys[r.ID] = r.Key
	}
	if len(h.Recipients) == 0 {
		for _, r := range recipients {
			if r.ID != h.Author {
				h.Recipients = append(h.Recipients, r.ID)
			}
		}
	} else {
		h.Recipients = append([]string(nil), h.Recipients...)
	}
	if h.EntryID == [16]byte{} {
		id, err := NewEntryID(rand)
		if err != nil {
			return nil, fmt.Errorf("sealing: %w", err)
		}
		h.EntryID = id
	}
	if err := h.check(); err != nil {
		return nil, fmt.Errorf("sealing: %w", err)
	}
	order := h.stanzaOrder()
	if len(order) != len(keys) {
		return nil, fmt.Errorf("sealing: %w: %d recipient keys for %d stanzas (recipients plus author)", ErrMalformed, len(keys), len(order))
	}
	for _, id := range order {
		if keys[id] == nil {
			return nil, fmt.Errorf("sealing: %w: no key for stanza of %q", ErrMalformed, id)
		}
	}

	dek := make([]byte, dekSize)
	if _, err := io.ReadFull(rand, dek); err != nil {
		return nil, fmt.Errorf("sealing: drawing dek: %w", err)
	}
	defer clear(dek)
	payloadKey, commit, err := deriveKeys(dek, h.EntryID)
	if err != nil {
		return nil, fmt.Errorf("sealing: deriving keys: %w", err)
	}
	defer clear(payloadKey)

	plen := paddedLen(len(plaintext))
	size := 0 // rough capacity: header + stanzas + ciphertext + one signature
	size += 128 + len(h.Recipients)*(MaxNameLen+1)
	size += len(order)*(1+MaxNameLen+stanzaFixedSize) + plen + gcmTagSize + 1 + 1 + MaxNameLen + sigFixedSize
	b := make([]byte, 0, size)
	b = appendHeader(b, &h)
	b = append(b, commit...)
	b = binary.BigEndian.AppendUint32(b, uint32(plen))
	b = binary.BigEndian.AppendUint16(b, uint16(len(order)))
	info := stanzaInfo(h.EntryID)
	for _, id := range order {
		pk := keys[id]
		snd, err := stanzaSuite.NewSender(pk.pk, info)
		if err != nil {
			return nil, fmt.Errorf("sealing: wrapping dek for %q: %w", id, err)
		}
		enc, sealer, err := snd.Setup(rand)
		if err != nil {
			return nil, fmt.Errorf("sealing: wrapping dek for %q: %w", id, err)
		}
		wrapped, err := sealer.Seal(dek, stanzaAAD(id, pk.id))
		if err != nil {
			return nil, fmt.Errorf("sealing: wrapping dek for %q: %w", id, err)
		}
		if len(enc) != EncSize || len(wrapped) != wrappedDEKSize {
			return nil, fmt.Errorf("sealing: wrapping dek for %q: unexpected sizes %d/%d", id, len(enc), len(wrapped))
		}
		b = appendStr8(b, id)
		b = append(b, pk.id[:]...)
		b = append(b, enc...)
		b = append(b, wrapped...)
	}
	aead, err := payloadAEAD(payloadKey)
	if err != nil {
		return nil, fmt.Errorf("sealing: %w", err)
	}
	padded := make([]byte, plen)
	binary.BigEndian.PutUint32(padded, uint32(len(plaintext)))
	copy(padded[4:], plaintext)
	defer clear(padded)
	nonce := make([]byte, aead.NonceSize())
	b = aead.Seal(b, nonce, padded, b)
	return appendSignatures(b, h.Kind, signer)
}

// SignPlain builds and signs an envelope of a plain kind (directory,
// cosignature) whose payload is body in the clear. h.Recipients must be
// empty. If h.EntryID is zero a UUIDv4 is drawn from rand. Each signer signs
// header ‖ payload with the kind's context; signers must have distinct keys.
func SignPlain(rand io.Reader, h Header, body []byte, signers ...Signer) ([]byte, error) {
	if !h.Kind.Valid() || h.Kind.Sealed() {
		return nil, fmt.Errorf("signing plain entry: %w: kind %s is not plain", ErrMalformed, h.Kind)
	}
	if len(body) > MaxPlainBody {
		return nil, fmt.Errorf("signing plain entry: %w: body of %d bytes exceeds %d", ErrMalformed, len(body), MaxPlainBody)
	}
	if h.EntryID == [16]byte{} {
		id, err := NewEntryID(rand)
		if err != nil {
			return nil, fmt.Errorf("signing plain entry: %w", err)
		}
		h.EntryID = id
	}
	if err := h.check(); err != nil {
		return nil, fmt.Errorf("signing plain entry: %w", err)
	}
	b := appendHeader(nil, &h)
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
	b = append(b, body...)
	return appendSignatures(b, h.Kind, signers...)
}

// appendSignatures signs signed (header ‖ payload) once per signer and
// appends the sigs section.
func appendSignatures(signed []byte, kind Kind, signers ...Signer) ([]byte, error) {
	if len(signers) == 0 || len(signers) > MaxSignatures {
		return nil, fmt.Errorf("signing: %w: %d signers, want 1–%d", ErrMalformed, len(signers), MaxSignatures)
	}
	seen := make(map[KeyID]bool, len(signers))
	for _, s := range signers {
		if s.Key == nil || !validName(s.ID) {
			return nil, fmt.Errorf("signing: %w: signer %q", ErrMalformed, s.ID)
		}
		if seen[s.Key.ID()] {
			return nil, fmt.Errorf("signing: %w: key %s signs twice", ErrMalformed, s.Key.ID())
		}
		seen[s.Key.ID()] = true
	}
	n := len(signed)
	out := append(signed, byte(len(signers)))
	for _, s := range signers {
		sig, err := s.Key.Sign(ContextFor(kind), signed[:n])
		if err != nil {
			return nil, fmt.Errorf("signing as %q: %w", s.ID, err)
		}
		id := s.Key.ID()
		out = appendStr8(out, s.ID)
		out = append(out, id[:]...)
		out = append(out, sig...)
	}
	return out, nil
}

// AppendSignature adds one more signature to an existing envelope (for
// entries that need several signers who do not share a machine). The
// envelope is parsed strictly first; existing signatures are kept as they
// are (not verified here). The signer's key must not have signed already.
func AppendSignature(envelope []byte, s Signer) ([]byte, error) {
	e, err := Parse(envelope)
	if err != nil {
		return nil, fmt.Errorf("appending signature: %w", err)
	}
	if len(e.Sigs) >= MaxSignatures {
		return nil, fmt.Errorf("appending signature: %w: already %d signatures", ErrMalformed, len(e.Sigs))
	}
	if s.Key == nil || !validName(s.ID) {
		return nil, fmt.Errorf("appending signature: %w: signer %q", ErrMalformed, s.ID)
	}
	for _, old := range e.Sigs {
		if old.KeyID == s.Key.ID() {
			return nil, fmt.Errorf("appending signature: %w: key %s already signed", ErrMalformed, old.KeyID)
		}
	}
	sig, err := s.Key.Sign(ContextFor(e.Kind), e.Signed)
	if err != nil {
		return nil, fmt.Errorf("appending signature as %q: %w", s.ID, err)
	}
	n := len(e.Signed)
	out := make([]byte, 0, len(envelope)+1+len(s.ID)+sigFixedSize)
	out = append(out, e.Signed...)
	out = append(out, byte(len(e.Sigs)+1))
	out = append(out, envelope[n+1:]...)
	id := s.Key.ID()
	out = appendStr8(out, s.ID)
	out = append(out, id[:]...)
	return append(out, sig...), nil
}

// reader is a strict cursor over an envelope; the first failure sticks.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("parsing envelope at byte %d: %w: "+format, append([]any{r.off, ErrMalformed}, args...)...)
	}
}

func (r *reader) bytes(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b)-r.off < n {
		r.fail("truncated %s", what)
		return nil
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s
}

func (r *reader) u8(what string) uint8 {
	if s := r.bytes(1, what); s != nil {
		return s[0]
	}
	return 0
}

func (r *reader) u16(what string) uint16 {
	if s := r.bytes(2, what); s != nil {
		return binary.BigEndian.Uint16(s)
	}
	return 0
}

func (r *reader) u32(what string) uint32 {
	if s := r.bytes(4, what); s != nil {
		return binary.BigEndian.Uint32(s)
	}
	return 0
}

func (r *reader) str8(what string) string {
	n := r.u8(what + " length")
	return string(r.bytes(int(n), what))
}

func (r *reader) array(dst []byte, what string) {
	copy(dst, r.bytes(len(dst), what))
}

// Parse decodes an envelope strictly: magic, suite 1, known kind, every
// length exact and within the caps of docs/protocol.md §2, the header rules,
// the stanza order (recipients as listed, then the author), distinct signer
// keys, and no trailing bytes. It verifies no signature and decrypts
// nothing. Errors wrap [ErrMalformed] or [ErrSuite]. The returned Envelope
// aliases b.
func Parse(b []byte) (*Envelope, error) {
	r := &reader{b: b}
	e := &Envelope{Raw: b}
	if magic := r.bytes(4, "magic"); r.err == nil && string(magic) != envelopeMagic {
		r.fail("magic %q", magic)
	}
	suite := r.u16("suite")
	if r.err != nil {
		return nil, r.err
	}
	if suite != Suite1 {
		return nil, fmt.Errorf("parsing envelope: %w: suite %d", ErrSuite, suite)
	}
	h := &e.Header
	h.Kind = Kind(r.u8("kind"))
	if r.err == nil && !h.Kind.Valid() {
		r.fail("unknown kind %d", h.Kind)
	}
	r.array(h.HubID[:], "hub id")
	r.array(h.EntryID[:], "entry id")
	if s := r.bytes(8, "created_ms"); s != nil {
		h.CreatedMS = int64(binary.BigEndian.Uint64(s))
	}
	h.Author = r.str8("author")
	h.Subtype = r.str8("subtype")
	h.Handling = r.u8("handling")
	r.array(h.RefID[:], "ref id")
	n := int(r.u16("recipient count"))
	if n > MaxRecipients {
		r.fail("%d recipients exceeds %d", n, MaxRecipients)
	}
	for i := 0; i < n && r.err == nil; i++ {
		h.Recipients = append(h.Recipients, r.str8("recipient"))
	}
	if r.err != nil {
		return nil, r.err
	}
	if err := h.check(); err != nil {
		return nil, fmt.Errorf("parsing envelope: %w", err)
	}
	e.headerLen = r.off

	if h.Kind.Sealed() {
		r.array(e.KeyCommit[:], "key commitment")
		e.PaddedLen = r.u32("padded length")
		if r.err == nil && (e.PaddedLen < MinPaddedLen || e.PaddedLen > MaxPaddedLen || e.PaddedLen&(e.PaddedLen-1) != 0) {
			r.fail("padded length %d is not a power of two in [%d, %d]", e.PaddedLen, MinPaddedLen, MaxPaddedLen)
		}
		order := h.stanzaOrder()
		ns := int(r.u16("stanza count"))
		if r.err == nil && ns != len(order) {
			r.fail("%d stanzas, want %d (recipients plus author)", ns, len(order))
		}
		for i := 0; i < ns && r.err == nil; i++ {
			var st Stanza
			st.Recipient = r.str8("stanza recipient")
			if r.err == nil && st.Recipient != order[i] {
				r.fail("stanza %d is for %q, want %q", i, st.Recipient, order[i])
			}
			r.array(st.KeyID[:], "stanza key id")
			st.Enc = r.bytes(EncSize, "stanza enc")
			st.WrappedDEK = r.bytes(wrappedDEKSize, "wrapped dek")
			e.Stanzas = append(e.Stanzas, st)
		}
		e.aadLen = r.off
		e.Ciphertext = r.bytes(int(e.PaddedLen)+gcmTagSize, "ciphertext")
	} else {
		l := r.u32("body length")
		if r.err == nil && l > MaxPlainBody {
			r.fail("body of %d bytes exceeds %d", l, MaxPlainBody)
		}
		e.Body = r.bytes(int(l), "body")
	}
	if r.err != nil {
		return nil, r.err
	}
	e.Signed = b[:r.off:r.off]

	ns := int(r.u8("signature count"))
	if r.err == nil && (ns < 1 || ns > MaxSignatures) {
		r.fail("%d signatures, want 1–%d", ns, MaxSignatures)
	}
	seen := make(map[KeyID]bool, ns)
	for i := 0; i < ns && r.err == nil; i++ {
		var s Signature
		s.Signer = r.str8("signer")
		if r.err == nil && !validName(s.Signer) {
			r.fail("signer %q", s.Signer)
		}
		r.array(s.KeyID[:], "signing key id")
		if r.err == nil && seen[s.KeyID] {
			r.fail("key %s signs twice", s.KeyID)
		}
		seen[s.KeyID] = true
		s.Sig = r.bytes(SignatureSize, "signature")
		e.Sigs = append(e.Sigs, s)
	}
	if r.err == nil && r.off != len(b) {
		r.fail("%d trailing bytes", len(b)-r.off)
	}
	if r.err != nil {
		return nil, r.err
	}
	return e, nil
}

// HeaderBytes returns the encoded header (a prefix of Raw).
func (e *Envelope) HeaderBytes() []byte { return e.Raw[:e.headerLen:e.headerLen] }

// VerifySignature checks signature i over e.Signed with the kind's context
// and key, which the caller resolved from the directory (never from the
// envelope). A key whose id differs from the signature's key id fails with
// an error wrapping both [ErrSignature] and [ErrKeyMismatch].
func (e *Envelope) VerifySignature(i int, key *VerifyKey) error {
	if i < 0 || i >= len(e.Sigs) {
		return fmt.Errorf("verifying signature %d: %w: envelope has %d", i, ErrSignature, len(e.Sigs))
	}
	s := e.Sigs[i]
	if key == nil || key.ID() != s.KeyID {
		return fmt.Errorf("verifying signature %d by %q: %w: %w: signature names key %s", i, s.Signer, ErrSignature, ErrKeyMismatch, s.KeyID)
	}
	if err := key.Verify(ContextFor(e.Kind), e.Signed, s.Sig); err != nil {
		return fmt.Errorf("verifying signature %d by %q: %w", i, s.Signer, err)
	}
	return nil
}

// Verify checks every signature, resolving each key with lookup (typically
// the directory as of the entry's log position). lookup's error is returned
// wrapped; it decides what an unknown or retired key means.
func (e *Envelope) Verify(lookup func(signer string, id KeyID) (*VerifyKey, error)) error {
	for i, s := range e.Sigs {
		key, err := lookup(s.Signer, s.KeyID)
		if err != nil {
			return fmt.Errorf("resolving key %s of %q: %w", s.KeyID, s.Signer, err)
		}
		if err := e.VerifySignature(i, key); err != nil {
			return err
		}
	}
	return nil
}

// SignedBy reports whether some signature names signer (unverified).
func (e *Envelope) SignedBy(signer string) bool {
	for _, s := range e.Sigs {
		if s.Signer == signer {
			return true
		}
	}
	return false
}

// Open decrypts the payload as recipient with its KEM private key: it finds
// the stanza for (recipient, key id), unwraps the DEK with HPKE, checks the
// key commitment in the signed header, and opens the payload. It does not
// verify signatures: call [Envelope.VerifySignature] (or trust the log,
// which verified at apply). Errors wrap [ErrNotRecipient], [ErrDecrypt],
// [ErrKeyCommitment] or [ErrMalformed] (bad padding inside the AEAD).
func (e *Envelope) Open(recipient string, key *KEMKey) ([]byte, error) {
	if !e.Kind.Sealed() {
		return nil, fmt.Errorf("opening %s entry: %w: plain kind", e.Kind, ErrNotRecipient)
	}
	if key == nil {
		return nil, fmt.Errorf("opening as %q: %w: no key", recipient, ErrNotRecipient)
	}
	var st *Stanza
	for i := range e.Stanzas {
		if e.Stanzas[i].Recipient == recipient && e.Stanzas[i].KeyID == key.ID() {
			st = &e.Stanzas[i]
			break
		}
	}
	if st == nil {
		return nil, fmt.Errorf("opening as %q with key %s: %w", recipient, key.ID(), ErrNotRecipient)
	}
	rcv, err := stanzaSuite.NewReceiver(key.sk, stanzaInfo(e.EntryID))
	if err != nil {
		return nil, fmt.Errorf("opening as %q: %w", recipient, err)
	}
	opener, err := rcv.Setup(st.Enc)
	if err != nil {
		return nil, fmt.Errorf("opening as %q: unwrapping dek: %w: %v", recipient, ErrDecrypt, err)
	}
	dek, err := opener.Open(st.WrappedDEK, stanzaAAD(st.Recipient, st.KeyID))
	if err != nil || len(dek) != dekSize {
		return nil, fmt.Errorf("opening as %q: unwrapping dek: %w", recipient, ErrDecrypt)
	}
	defer clear(dek)
	payloadKey, commit, err := deriveKeys(dek, e.EntryID)
	if err != nil {
		return nil, fmt.Errorf("opening as %q: deriving keys: %w", recipient, err)
	}
	defer clear(payloadKey)
	if subtle.ConstantTimeCompare(commit, e.KeyCommit[:]) != 1 {
		return nil, fmt.Errorf("opening as %q: %w", recipient, ErrKeyCommitment)
	}
	aead, err := payloadAEAD(payloadKey)
	if err != nil {
		return nil, fmt.Errorf("opening as %q: %w", recipient, err)
	}
	nonce := make([]byte, aead.NonceSize())
	padded, err := aead.Open(nil, nonce, e.Ciphertext, e.Raw[:e.aadLen])
	if err != nil {
		return nil, fmt.Errorf("opening as %q: payload: %w", recipient, ErrDecrypt)
	}
	n := binary.BigEndian.Uint32(padded)
	if uint64(n) > uint64(len(padded)-4) {
		return nil, fmt.Errorf("opening as %q: %w: real length %d exceeds padded length", recipient, ErrMalformed, n)
	}
	pt, pad := padded[4:4+n], padded[4+n:]
	if !bytes.Equal(pad, make([]byte, len(pad))) {
		return nil, fmt.Errorf("opening as %q: %w: non-zero padding", recipient, ErrMalformed)
	}
	return pt, nil
}
