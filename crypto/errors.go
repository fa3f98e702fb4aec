package crypto

import "errors"

// Sentinel errors. Every error returned by this package that stems from one of
// these checks wraps exactly one of them, so callers can branch with
// [errors.Is]; the message around it says which field or check failed.
var (
	// ErrMalformed: bytes that do not follow the format (lengths, caps,
	// magic, canonical encoding, trailing bytes, bad field values).
	ErrMalformed = errors.New("malformed")
	// ErrSuite: a well-formed envelope of a suite this version does not
	// implement. Unknown suites are rejected, never negotiated.
	ErrSuite = errors.New("unsupported suite")
	// ErrSignature: a signature does not verify (either half of a composite
	// signature, a signed-note line, a self-signature), or a required
	// signature is missing.
	ErrSignature = errors.New("signature verification failed")
	// ErrKeyCommitment: the DEK unwrapped from a recipient's stanza does not
	// match the key commitment in the signed header (a sender gave this
	// recipient a different key than the others).
	ErrKeyCommitment = errors.New("key commitment mismatch")
	// ErrNotRecipient: the envelope has no stanza for this recipient and key,
	// or the kind carries no encrypted payload.
	ErrNotRecipient = errors.New("not a recipient")
	// ErrDecrypt: an AEAD (HPKE stanza or payload) failed to open: wrong
	// private key or tampered ciphertext.
	ErrDecrypt = errors.New("decryption failed")
	// ErrUnknownKey: a keyring holds no key with this authority and id.
	ErrUnknownKey = errors.New("unknown key")
	// ErrCurrentKey: the operation would destroy or shadow an authority's
	// current key.
	ErrCurrentKey = errors.New("key is current")
	// ErrKeyMismatch: a key or file whose parts do not belong together
	// (an identity whose id differs from what the caller asked for, two
	// different keys with the same id).
	ErrKeyMismatch = errors.New("key mismatch")
	// ErrPeerRejected: a TLS peer presented a certificate that the CA did not
	// issue or that carries no usable public key. Rejections by the caller's
	// own allow function are returned as the caller's error, wrapped.
	ErrPeerRejected = errors.New("tls peer rejected")
)
