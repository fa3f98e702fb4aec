package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/kem"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
)

// Sizes of suite 1 keys and signatures, in bytes.
const (
	// SigningKeySize is the private composite key: ML-DSA-65 seed ‖ Ed25519 seed.
	SigningKeySize = mldsa65.SeedSize + ed25519.SeedSize // 64
	// VerifyKeySize is the public composite key: ML-DSA-65 pk ‖ Ed25519 pk.
	VerifyKeySize = mldsa65.PublicKeySize + ed25519.PublicKeySize // 1984
	// SignatureSize is a composite signature: ML-DSA-65 sig ‖ Ed25519 sig.
	SignatureSize = mldsa65.SignatureSize + ed25519.SignatureSize // 3373
	// KEMKeySize is an X-Wing private key (its seed).
	KEMKeySize = 32
	// KEMPublicKeySize is an X-Wing public key.
	KEMPublicKeySize = 1216
	// EncSize is an X-Wing encapsulation (the HPKE enc of a stanza).
	EncSize = 1120
)

// Algorithm names that enter key ids (docs/protocol.md §1). Changing one
// changes every key id.
const (
	algComposite = "mldsa65-ed25519"
	algXWing     = "xwing"
)

// Composite signature constants of draft-ietf-lamps-pq-composite-sigs
// (id-MLDSA65-Ed25519-SHA512).
var (
	compositePrefix = []byte("CompositeAlgorithmSignatures2025")
	compositeLabel  = []byte("COMPSIG-MLDSA65-Ed25519-SHA512")
)

var kemScheme = hpke.KEM_XWING.Scheme()

// KeyID names a public key: SHA-256("penhub/v1/key-id" ‖ 0x00 ‖ alg ‖ 0x00 ‖
// public key)[:16] (docs/protocol.md §1). Key ids are names, not proofs: keys
// are always resolved through the directory.
type KeyID [16]byte

// String returns the key id as 32 lowercase hex digits.
func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is all zero (no key).
func (id KeyID) IsZero() bool { return id == KeyID{} }

// ParseKeyID parses 32 hex digits (either case) as written by [KeyID.String].
func ParseKeyID(s string) (KeyID, error) {
	var id KeyID
	if len(s) != 2*len(id) {
		return id, fmt.Errorf("parsing key id %q: %w: want %d hex digits", s, ErrMalformed, 2*len(id))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("parsing key id %q: %w: not hex", s, ErrMalformed)
	}
	return id, nil
}

func keyID(alg string, pub []byte) KeyID {
	h := sha256.New()
	h.Write([]byte("penhub/v1/key-id"))
	h.Write([]byte{0})
	h.Write([]byte(alg))
	h.Write([]byte{0})
	h.Write(pub)
	var id KeyID
	copy(id[:], h.Sum(nil))
	return id
}

// SigningKey is a composite ML-DSA-65 + Ed25519 private key. Its serialized
// form is the 64-byte seed pair; both halves are independent random seeds.
type SigningKey struct {
	seed [SigningKeySize]byte
	ml   *mldsa65.PrivateKey
	ed   ed25519.PrivateKey
	pub  *VerifyKey
}

// GenerateSigningKey reads 64 bytes from rand (two independent seeds) and
// derives a composite key. Pass crypto/rand.Reader outside tests.
func GenerateSigningKey(rand io.Reader) (*SigningKey, error) {
	var seed [SigningKeySize]byte
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return nil, fmt.Errorf("generating signing key: %w", err)
	}
	return newSigningKey(seed), nil
}

func newSigningKey(seed [SigningKeySize]byte) *SigningKey {
	var mlSeed [mldsa65.SeedSize]byte
	copy(mlSeed[:], seed[:mldsa65.SeedSize])
	mlPub, ml := mldsa65.NewKeyFromSeed(&mlSeed)
	ed := ed25519.NewKeyFromSeed(seed[mldsa65.SeedSize:])
	pub := &VerifyKey{ml: mlPub, ed: ed.Public().(ed25519.PublicKey)}
	pub.raw = append(mlPub.Bytes(), pub.ed...)
	pub.id = keyID(algComposite, pub.raw)
	return &SigningKey{seed: seed, ml: ml, ed: ed, pub: pub}
}

// ParseSigningKey parses the 64-byte form written by [SigningKey.Bytes].
func ParseSigningKey(b []byte) (*SigningKey, error) {
	if len(b) != SigningKeySize {
		return nil, fmt.Errorf("parsing signing key: %w: %d bytes, want %d", ErrMalformed, len(b), SigningKeySize)
	}
	var seed [SigningKeySize]byte
	copy(seed[:], b)
	return newSigningKey(seed), nil
}

// Bytes returns the 64-byte private seed pair (ML-DSA-65 seed ‖ Ed25519 seed).
// The caller owns the returned slice and should wipe it after use.
func (k *SigningKey) Bytes() []byte { return bytes.Clone(k.seed[:]) }

// Public returns the composite public key.
func (k *SigningKey) Public() *VerifyKey { return k.pub }

// ID returns the id of the public key.
func (k *SigningKey) ID() KeyID { return k.pub.id }

// Ed25519 returns the classical half, for the Ed25519 line of a signed note.
// Never use it to sign anything that the composite key also signs under a
// different label: the halves are bound by the composite construction only.
func (k *SigningKey) Ed25519() ed25519.PrivateKey { return k.ed }

// Equal reports whether k and o are the same private key.
func (k *SigningKey) Equal(o *SigningKey) bool {
	return o != nil && subtle.ConstantTimeCompare(k.seed[:], o.seed[:]) == 1
}

// compositeMessage builds M' = Prefix ‖ Label ‖ len(ctx) ‖ ctx ‖ SHA-512(M).
func compositeMessage(ctx string, msg []byte) []byte {
	ph := sha512.Sum512(msg)
	m := make([]byte, 0, len(compositePrefix)+len(compositeLabel)+1+len(ctx)+len(ph))
	m = append(m, compositePrefix...)
	m = append(m, compositeLabel...)
	m = append(m, byte(len(ctx)))
	m = append(m, ctx...)
	return append(m, ph[:]...)
}

// Sign returns a 3373-byte composite signature over msg under the context
// string ctx (at most 255 bytes). The ML-DSA half is hedged: circl draws its
// 32 random bytes from crypto/rand, so two signatures of one message differ;
// the Ed25519 half is deterministic.
func (k *SigningKey) Sign(ctx string, msg []byte) ([]byte, error) {
	if len(ctx) > 255 {
		return nil, fmt.Errorf("signing: %w: context of %d bytes", ErrMalformed, len(ctx))
	}
	mp := compositeMessage(ctx, msg)
	sig := make([]byte, SignatureSize)
	if err := mldsa65.SignTo(k.ml, mp, compositeLabel, true, sig[:mldsa65.SignatureSize]); err != nil {
		return nil, fmt.Errorf("signing with ml-dsa-65: %w", err)
	}
	copy(sig[mldsa65.SignatureSize:], ed25519.Sign(k.ed, mp))
	return sig, nil
}

// VerifyKey is a composite ML-DSA-65 + Ed25519 public key.
type VerifyKey struct {
	raw []byte
	ml  *mldsa65.PublicKey
	ed  ed25519.PublicKey
	id  KeyID
}

// ParseVerifyKey parses the 1984-byte form written by [VerifyKey.Bytes].
func ParseVerifyKey(b []byte) (*VerifyKey, error) {
	if len(b) != VerifyKeySize {
		return nil, fmt.Errorf("parsing verify key: %w: %d bytes, want %d", ErrMalformed, len(b), VerifyKeySize)
	}
	var ml mldsa65.PublicKey
	if err := ml.UnmarshalBinary(b[:mldsa65.PublicKeySize]); err != nil {
		return nil, fmt.Errorf("parsing verify key: %w: ml-dsa-65 half: %v", ErrMalformed, err)
	}
	raw := bytes.Clone(b)
	return &VerifyKey{
		raw: raw,
		ml:  &ml,
		ed:  ed25519.PublicKey(raw[mldsa65.PublicKeySize:]),
		id:  keyID(algComposite, raw),
	}, nil
}

// Bytes returns the 1984-byte public key (ML-DSA-65 pk ‖ Ed25519 pk). The
// caller must not modify it.
func (k *VerifyKey) Bytes() []byte { return k.raw }

// ID returns the key id (alg "mldsa65-ed25519").
func (k *VerifyKey) ID() KeyID { return k.id }

// Ed25519 returns the classical half of the public key.
func (k *VerifyKey) Ed25519() ed25519.PublicKey { return k.ed }

// Equal reports whether k and o are the same public key.
func (k *VerifyKey) Equal(o *VerifyKey) bool { return o != nil && bytes.Equal(k.raw, o.raw) }

// Verify checks a composite signature over msg under ctx. Both halves must
// verify; the error wraps [ErrSignature] (naming the failing half) or
// [ErrMalformed] for a signature of the wrong length.
func (k *VerifyKey) Verify(ctx string, msg, sig []byte) error {
	if len(sig) != SignatureSize {
		return fmt.Errorf("verifying signature: %w: %d bytes, want %d", ErrMalformed, len(sig), SignatureSize)
	}
	if len(ctx) > 255 {
		return fmt.Errorf("verifying signature: %w: context of %d bytes", ErrMalformed, len(ctx))
	}
	mp := compositeMessage(ctx, msg)
	mlOK := mldsa65.Verify(k.ml, mp, compositeLabel, sig[:mldsa65.SignatureSize])
	edOK := ed25519.Verify(k.ed, mp, sig[mldsa65.SignatureSize:])
	switch {
	case !mlOK && !edOK:
		return fmt.Errorf("verifying signature by key %s: %w: both halves", k.id, ErrSignature)
	case !mlOK:
		return fmt.Errorf("verifying signature by key %s: %w: ml-dsa-65 half", k.id, ErrSignature)
	case !edOK:
		return fmt.Errorf("verifying signature by key %s: %w: ed25519 half", k.id, ErrSignature)
	}
	return nil
}

// KEMKey is an X-Wing (ML-KEM-768 + X25519) private key, stored as its
// 32-byte seed.
type KEMKey struct {
	seed [KEMKeySize]byte
	sk   kem.PrivateKey
	pub  *KEMPublicKey
}

// GenerateKEMKey reads a 32-byte seed from rand and derives an X-Wing key.
func GenerateKEMKey(rand io.Reader) (*KEMKey, error) {
	var seed [KEMKeySize]byte
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return nil, fmt.Errorf("generating kem key: %w", err)
	}
	return newKEMKey(seed), nil
}

// newKEMKey loads the 32-byte X-Wing decapsulation key. It must not go
// through kem.Scheme.DeriveKeyPair: circl's HPKE wrapper hashes the seed once
// more there, which would make our private key differ from the standard
// X-Wing key that crypto/hpke.MLKEM768X25519().NewPrivateKey and other
// implementations load from the same 32 bytes.
func newKEMKey(seed [KEMKeySize]byte) *KEMKey {
	sk, err := kemScheme.UnmarshalBinaryPrivateKey(seed[:])
	if err != nil {
		panic("crypto: x-wing private key does not load: " + err.Error())
	}
	pk := sk.Public()
	raw, err := pk.MarshalBinary()
	if err != nil {
		panic("crypto: x-wing public key does not marshal: " + err.Error())
	}
	return &KEMKey{seed: seed, sk: sk, pub: &KEMPublicKey{pk: pk, raw: raw, id: keyID(algXWing, raw)}}
}

// ParseKEMKey parses the 32-byte seed written by [KEMKey.Bytes].
func ParseKEMKey(b []byte) (*KEMKey, error) {
	if len(b) != KEMKeySize {
		return nil, fmt.Errorf("parsing kem key: %w: %d bytes, want %d", ErrMalformed, len(b), KEMKeySize)
	}
	var seed [KEMKeySize]byte
	copy(seed[:], b)
	return newKEMKey(seed), nil
}

// Bytes returns the 32-byte private seed. The caller owns the slice.
func (k *KEMKey) Bytes() []byte { return bytes.Clone(k.seed[:]) }

// Public returns the X-Wing public key.
func (k *KEMKey) Public() *KEMPublicKey { return k.pub }

// ID returns the id of the public key.
func (k *KEMKey) ID() KeyID { return k.pub.id }

// Equal reports whether k and o are the same private key.
func (k *KEMKey) Equal(o *KEMKey) bool {
	return o != nil && subtle.ConstantTimeCompare(k.seed[:], o.seed[:]) == 1
}

// KEMPublicKey is an X-Wing public key (1216 bytes).
type KEMPublicKey struct {
	pk  kem.PublicKey
	raw []byte
	id  KeyID
}

// ParseKEMPublicKey parses the 1216-byte form written by [KEMPublicKey.Bytes].
func ParseKEMPublicKey(b []byte) (*KEMPublicKey, error) {
	if len(b) != KEMPublicKeySize {
		return nil, fmt.Errorf("parsing kem public key: %w: %d bytes, want %d", ErrMalformed, len(b), KEMPublicKeySize)
	}
	pk, err := kemScheme.UnmarshalBinaryPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("parsing kem public key: %w: %v", ErrMalformed, err)
	}
	raw := bytes.Clone(b)
	return &KEMPublicKey{pk: pk, raw: raw, id: keyID(algXWing, raw)}, nil
}

// Bytes returns the 1216-byte public key. The caller must not modify it.
func (k *KEMPublicKey) Bytes() []byte { return k.raw }

// ID returns the key id (alg "xwing").
func (k *KEMPublicKey) ID() KeyID { return k.id }

// Equal reports whether k and o are the same public key.
func (k *KEMPublicKey) Equal(o *KEMPublicKey) bool { return o != nil && bytes.Equal(k.raw, o.raw) }
