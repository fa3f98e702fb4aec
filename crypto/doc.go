// Package crypto holds penhub's cryptography: composite ML-DSA-65 + Ed25519
// signing keys, X-Wing KEM keys, key files and keyrings, the signed and
// per-recipient encrypted log entry (the envelope), signed checkpoints of
// the Merkle log, and the TLS material for mutual TLS between nodes.
//
// It is a leaf package: it imports nothing of penhub. The byte layouts are
// specified in docs/protocol.md (§1 identifiers, §2 envelope, §6
// checkpoints); the reasons behind them in docs/crypto.md.
//
// # Keys
//
// An authority has an [Identity]: a composite [SigningKey] (both halves must
// verify, draft-ietf-lamps-pq-composite-sigs id-MLDSA65-Ed25519-SHA512) and
// an X-Wing [KEMKey] (ML-KEM-768 + X25519, through HPKE). A node's identity
// has a signing key only. Keys are named by a [KeyID] (a truncated,
// domain-separated SHA-256 of the public key). Private keys live in 0600
// files ([WriteIdentityFile]) inside a [Keyring] that keeps retired keys
// until [Keyring.Forget] destroys them; public keys travel in a self-signed
// file ([Identity.PublicFile], [ParsePublicFile]) whose
// [PublicKeys.Fingerprint] is compared out of band.
//
// # Envelopes
//
// The sending node:
//
//  1. builds a [Header] (kind, hub id, entry id, author, recipients...);
//  2. calls [Seal] with the recipients' KEM public keys, the author's own
//     key included, and the author's [Signer] (or [SignPlain] for directory
//     and cosignature entries);
//  3. proposes the returned bytes.
//
// Every node calls [Parse] (strict) and [Envelope.VerifySignature] (or
// [Envelope.Verify]) with keys from the directory, never from the envelope.
// A recipient's node calls [Envelope.Open] with the KEM key that the
// stanza's key id names. Errors wrap the sentinels in errors.go and say
// which check failed.
//
// # Checkpoints
//
// [Checkpoint] is a c2sp tlog-checkpoint body over the RFC 6962 tree of
// applied entries. [SignCheckpoint] makes a signed note with two lines from
// one node (Ed25519 and composite); [VerifyCheckpoint] requires both.
// [CosignCheckpoint] adds another node's two lines to an existing note.
//
// # TLS
//
// [NewCA] makes the hub CA (ECDSA P-256), [CA.Issue] a node certificate
// (SAN DNS = node id). [ServerTLSConfig] and [ClientTLSConfig] build TLS 1.3
// mutual-TLS configs that also pass the peer's [SPKIFingerprint] to a
// caller-supplied check (the directory's pinned fingerprint).
//
// # Randomness
//
// Functions that take an io.Reader draw every random byte of their output
// from it, except ML-DSA's hedging randomness, which circl always takes
// from crypto/rand: with a fixed reader every envelope byte before the
// signatures is reproducible, and the Ed25519 half of each signature too.
package crypto
