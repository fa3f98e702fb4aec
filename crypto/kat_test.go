package crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	stdhpke "crypto/hpke"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/google/uuid"
)

// Known-answer tests. The constants below were produced by this code and
// pin the formats: a change to any of them means old logs no longer verify
// or open. Do not update them without a new suite or file version.
//
// ML-DSA signing is hedged and circl draws the hedge from crypto/rand (not
// from the reader Seal gets), so the ML-DSA half of every signature varies
// from run to run. The KATs therefore pin (a) every envelope byte before the
// signatures (Envelope.Signed) and (b) the deterministic Ed25519 half of each
// composite signature, and check the ML-DSA half by verifying it.

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

const (
	katSignPub   = "2adc0e5c6c9dcf6125dff8126fb9bf93d387d81ff8acda5c7a9dec648e4621a2"
	katSignID    = "70e5accd42bd3cdae8418bf69974e57f"
	katKEMPub    = "4adbc8d79f3c227bfe7c4718f7516c91f1589db5f853972aa8c9ec7ee2ba15b1"
	katKEMID     = "5b75a355f123b9f3958ae2102d6f4eb6"
	katEdHalf    = "65da4d45d265d69de4de924521be0073e6369390f49db0c5621995745c8b538fb7f654e67a625f68b8f91d89b99f04d487ec74d7246f7cb6722bb506b43ac60a"
	katSealed    = "abddde0b9ff150eb8c6d000c54445c8cfbe1377c453a76a34baf8f308a37e1f3"
	katSealedEd  = "039230a654c7bfec911b1292d7657ccc2d26e9ed3820ee60f2ab22506e25c8d03859ba5d28a13510405b5a7825cf557d9fdff96f89d7175c010d6bf8a0388b07"
	katPlain     = "c4037d98d95490fd00edcd178deb3248c8fe36fdfce4c945ace48ec1f2d2e8ef"
	katNoticeID  = "eecf4735-9c2a-8640-a36f-3a03a91db9ce"
	katReceiptID = "961e6914-3f65-8e95-9ea5-0c4074d9e2d1"
)

func TestKeyKAT(t *testing.T) {
	id := testIdentity(t, "DE", true)
	check(t, "sign public key", sum(id.Sign.Public().Bytes()), katSignPub)
	check(t, "sign key id", id.Sign.ID().String(), katSignID)
	check(t, "kem public key", sum(id.KEM.Public().Bytes()), katKEMPub)
	check(t, "kem key id", id.KEM.ID().String(), katKEMID)
	if n := len(id.Sign.Public().Bytes()); n != VerifyKeySize {
		t.Fatalf("verify key %d bytes", n)
	}
	if n := len(id.KEM.Public().Bytes()); n != KEMPublicKeySize {
		t.Fatalf("kem public key %d bytes", n)
	}
	// Parse round trips give the same keys.
	sk, err := ParseSigningKey(id.Sign.Bytes())
	if err != nil || !sk.Public().Equal(id.Sign.Public()) {
		t.Fatalf("signing key round trip: %v", err)
	}
	vk, err := ParseVerifyKey(id.Sign.Public().Bytes())
	if err != nil || vk.ID() != id.Sign.ID() {
		t.Fatalf("verify key round trip: %v", err)
	}
	kk, err := ParseKEMKey(id.KEM.Bytes())
	if err != nil || !kk.Public().Equal(id.KEM.Public()) {
		t.Fatalf("kem key round trip: %v", err)
	}
	kp, err := ParseKEMPublicKey(id.KEM.Public().Bytes())
	if err != nil || kp.ID() != id.KEM.ID() {
		t.Fatalf("kem public key round trip: %v", err)
	}
}

func TestCompositeKAT(t *testing.T) {
	id := testIdentity(t, "DE", true)
	msg := []byte("The quick brown fox jumps over the lazy dog.")
	s1, err := id.Sign.Sign("penhub/test", msg)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := id.Sign.Sign("penhub/test", msg)
	if len(s1) != SignatureSize {
		t.Fatalf("signature %d bytes", len(s1))
	}
	ed1, ed2 := s1[SignatureSize-ed25519.SignatureSize:], s2[SignatureSize-ed25519.SignatureSize:]
	check(t, "ed25519 half", hex.EncodeToString(ed1), katEdHalf)
	if !bytes.Equal(ed1, ed2) {
		t.Fatal("ed25519 half is not deterministic")
	}
	if bytes.Equal(s1[:100], s2[:100]) {
		t.Fatal("ml-dsa half is not hedged: two signatures are equal")
	}
	// The Ed25519 half is a plain Ed25519 signature of M'.
	if !ed25519.Verify(id.Sign.Public().Ed25519(), compositeMessage("penhub/test", msg), ed1) {
		t.Fatal("ed25519 half does not verify over M'")
	}
	for _, s := range [][]byte{s1, s2} {
		if err := id.Sign.Public().Verify("penhub/test", msg, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := id.Sign.Public().Verify("penhub/other", msg, s1); err == nil {
		t.Fatal("signature verified under another context")
	}
}

func katEnvelope(t *testing.T) (raw []byte, de, nl, in *Identity) {
	t.Helper()
	de = testIdentity(t, "DE", true)
	nl = testIdentity(t, "NL", true)
	in = testIdentity(t, "IN", true)
	h := testHeader(KindNotice)
	h.Recipients = []string{"NL", "IN"}
	raw, err := Seal(detRand("kat/seal"), h, []Recipient{recipientOf(in), recipientOf(de), recipientOf(nl)},
		[]byte(`{"body":{"title":"known answer"}}`), signerOf(de))
	if err != nil {
		t.Fatal(err)
	}
	return raw, de, nl, in
}

func TestSealKAT(t *testing.T) {
	raw, de, nl, in := katEnvelope(t)
	e, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "sealed envelope before signatures", sum(e.Signed), katSealed)
	check(t, "sealed envelope ed25519 half", hex.EncodeToString(e.Sigs[0].Sig[SignatureSize-64:]), katSealedEd)
	if err := e.VerifySignature(0, de.Sign.Public()); err != nil {
		t.Fatal(err)
	}
	for _, who := range []*Identity{de, nl, in} {
		pt, err := e.Open(who.ID, who.KEM)
		if err != nil || string(pt) != `{"body":{"title":"known answer"}}` {
			t.Fatalf("open as %s: %q, %v", who.ID, pt, err)
		}
	}
	if got := []string{e.Stanzas[0].Recipient, e.Stanzas[1].Recipient, e.Stanzas[2].Recipient}; got[0] != "NL" || got[1] != "IN" || got[2] != "DE" {
		t.Fatalf("stanza order %q", got)
	}
	// The same reader gives the same bytes before the signature.
	raw2, _, _, _ := katEnvelope(t)
	e2, _ := Parse(raw2)
	if !bytes.Equal(e.Signed, e2.Signed) {
		t.Fatal("seal with a fixed reader is not reproducible")
	}
	if want := len(e.Signed) + 1 + 1 + 2 + 16 + SignatureSize; len(raw) != want {
		t.Fatalf("envelope %d bytes, want %d", len(raw), want)
	}
}

func TestSignPlainKAT(t *testing.T) {
	sec := testIdentity(t, "INT-INCB", true)
	h := testHeader(KindDirectory)
	raw, err := SignPlain(detRand("kat/plain"), h, []byte(`{"authority":{"id":"NL"}}`), signerOf(sec))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "plain envelope before signatures", sum(e.Signed), katPlain)
	if err := e.VerifySignature(0, sec.Sign.Public()); err != nil {
		t.Fatal(err)
	}
	if string(e.Body) != `{"authority":{"id":"NL"}}` {
		t.Fatalf("body %q", e.Body)
	}
}

func TestIDKAT(t *testing.T) {
	nid := NoticeID([32]byte{1}, "DE", "6f1c1f43-3a57-4b3e-9d55-0c3f1c8b1d2e")
	check(t, "notice id", uuid.UUID(nid).String(), katNoticeID)
	if u := uuid.UUID(nid); u.Version() != 8 || u.Variant() != uuid.RFC4122 {
		t.Fatalf("notice id version %d variant %v", u.Version(), u.Variant())
	}
	rid := DerivedID("penhub/v1/receipt-id", nid[:], []byte("NL"))
	check(t, "receipt id", uuid.UUID(rid).String(), katReceiptID)
	if NoticeID([32]byte{1}, "DE", "a") == NoticeID([32]byte{1}, "D", "Ea") {
		t.Fatal("notice id encoding is ambiguous")
	}
	if DerivedID("l", []byte("ab"), []byte("c")) == DerivedID("l", []byte("a"), []byte("bc")) {
		t.Fatal("derived id encoding is ambiguous")
	}
	e, err := NewEntryID(detRand("x"))
	if err != nil || uuid.UUID(e).Version() != 4 {
		t.Fatalf("entry id %v %v", uuid.UUID(e), err)
	}
}

// TestStanzaInterop opens a sealed envelope with Go's standard library only
// (crypto/hpke, crypto/hkdf, crypto/aes): the wire format does not depend on
// circl, and a second implementation agrees with ours.
func TestStanzaInterop(t *testing.T) {
	raw, _, nl, _ := katEnvelope(t)
	e, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	st := e.Stanzas[0] // NL
	sk, err := stdhpke.MLKEM768X25519().NewPrivateKey(nl.KEM.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sk.PublicKey().Bytes(), nl.KEM.Public().Bytes()) {
		t.Fatal("crypto/hpke derives another X-Wing public key from the same 32-byte private key")
	}
	info := append([]byte("penhub/v1/stanza"), e.EntryID[:]...)
	r, err := stdhpke.NewRecipient(st.Enc, sk, stdhpke.HKDFSHA256(), stdhpke.AES256GCM(), info)
	if err != nil {
		t.Fatal(err)
	}
	aad := append([]byte{2, 'N', 'L'}, st.KeyID[:]...)
	dek, err := r.Open(aad, st.WrappedDEK)
	if err != nil {
		t.Fatalf("std hpke open: %v", err)
	}
	commit, _ := hkdf.Key(sha256.New, dek, e.EntryID[:], "penhub/v1/commit", 32)
	if !bytes.Equal(commit, e.KeyCommit[:]) {
		t.Fatal("key commitment differs")
	}
	pk, _ := hkdf.Key(sha256.New, dek, e.EntryID[:], "penhub/v1/payload", 32)
	block, _ := aes.NewCipher(pk)
	gcm, _ := cipher.NewGCM(block)
	aadLen := len(e.Signed) - len(e.Ciphertext)
	padded, err := gcm.Open(nil, make([]byte, 12), e.Ciphertext, raw[:aadLen])
	if err != nil {
		t.Fatalf("payload: %v", err)
	}
	n := binary.BigEndian.Uint32(padded)
	if got := string(padded[4 : 4+n]); got != `{"body":{"title":"known answer"}}` {
		t.Fatalf("plaintext %q", got)
	}
}

func check(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n got %s\nwant %s", what, got, want)
	}
}
