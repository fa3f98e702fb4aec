package crypto

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// directory is a test stand-in for the replicated directory: it resolves
// (signer, key id) and requires the key's owner to be the signer.
type directory map[KeyID]*PublicKeys

func dirOf(ids ...*Identity) directory {
	d := directory{}
	for _, id := range ids {
		d[id.Sign.ID()] = id.Public()
	}
	return d
}

var errUnknownSigner = errors.New("no such key for this signer")

func (d directory) lookup(signer string, id KeyID) (*VerifyKey, error) {
	p, ok := d[id]
	if !ok || p.ID != signer {
		return nil, errUnknownSigner
	}
	return p.SignKey, nil
}

// region names the byte ranges of an envelope for error messages.
func region(e *Envelope, i int) string {
	switch {
	case i < e.headerLen:
		return "header"
	case i < len(e.Signed)-len(e.Ciphertext)-len(e.Body):
		return "key commitment/stanzas"
	case i < len(e.Signed):
		return "ciphertext/body"
	}
	return "signatures"
}

// accept runs what a node and a recipient do with an entry: strict parse,
// verify every signature against the directory, open as the recipient.
func accept(raw []byte, d directory, who *Identity) error {
	e, err := Parse(raw)
	if err != nil {
		return err
	}
	if err := e.Verify(d.lookup); err != nil {
		return err
	}
	if who != nil && e.Kind.Sealed() {
		_, err = e.Open(who.ID, who.KEM)
	}
	return err
}

func TestEnvelopeTamper(t *testing.T) {
	de := testIdentity(t, "DE", true)
	nl := testIdentity(t, "NL", true)
	sec := testIdentity(t, "INT-INCB", true)
	d := dirOf(de, nl, sec)
	sealed, err := Seal(rand.Reader, testHeader(KindNotice), []Recipient{recipientOf(nl), recipientOf(de)}, []byte("secret"), signerOf(de))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := SignPlain(rand.Reader, testHeader(KindDirectory), []byte(`{"x":1}`), signerOf(sec), signerOf(nl))
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string][]byte{"sealed": sealed, "plain": plain} {
		t.Run(name, func(t *testing.T) {
			if err := accept(raw, d, nl); err != nil {
				t.Fatalf("untouched envelope rejected: %v", err)
			}
			e, _ := Parse(raw)
			// Every byte, one bit flipped (two different bits on a sample),
			// in every region: header, commitment, stanzas, ciphertext,
			// signature count, signer names, key ids, signatures.
			step := 1
			if testing.Short() {
				step = 7
			}
			for i := 0; i < len(raw); i += step {
				for _, bit := range []byte{0x01, 0x80} {
					if bit == 0x80 && i%5 != 0 {
						continue
					}
					bad := slices.Clone(raw)
					bad[i] ^= bit
					if err := accept(bad, d, nl); err == nil {
						t.Fatalf("flipping bit %#x of byte %d (%s) was accepted", bit, i, region(e, i))
					}
				}
			}
			// Every truncation.
			for n := 0; n < len(raw); n++ {
				if _, err := Parse(raw[:n]); !errors.Is(err, ErrMalformed) {
					t.Fatalf("truncated to %d bytes: %v, want ErrMalformed", n, err)
				}
			}
			// Extensions.
			for _, tail := range [][]byte{{0}, {1}, []byte("trailing"), make([]byte, SignatureSize)} {
				if _, err := Parse(append(slices.Clone(raw), tail...)); !errors.Is(err, ErrMalformed) {
					t.Fatalf("extended by %d bytes: %v, want ErrMalformed", len(tail), err)
				}
			}
		})
	}
	// Unknown suite and magic give distinct errors.
	bad := slices.Clone(sealed)
	bad[5] = 2
	if _, err := Parse(bad); !errors.Is(err, ErrSuite) {
		t.Fatalf("suite 2: %v, want ErrSuite", err)
	}
	bad = slices.Clone(sealed)
	bad[0] = 'X'
	if _, err := Parse(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad magic: %v, want ErrMalformed", err)
	}
}

// resign replaces the signatures of raw by a fresh one from s, as a
// malicious but legitimate sender could.
func resign(t *testing.T, raw []byte, s Signer) []byte {
	t.Helper()
	e, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	out, err := appendSignatures(slices.Clone(e.Signed), e.Kind, s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStanzaSwapKeyCommitment(t *testing.T) {
	de := testIdentity(t, "DE", true)
	nl := testIdentity(t, "NL", true)
	in := testIdentity(t, "IN", true)
	h := testHeader(KindNotice) // same entry id in both envelopes
	rcpts := []Recipient{recipientOf(nl), recipientOf(in), recipientOf(de)}
	a, err := Seal(rand.Reader, h, rcpts, []byte("what NL and IN should read"), signerOf(de))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Seal(rand.Reader, h, rcpts, []byte("what DE wants NL alone to read"), signerOf(de))
	if err != nil {
		t.Fatal(err)
	}
	ea, _ := Parse(a)
	eb, _ := Parse(b)
	// Put b's stanza for NL (another DEK) into a, then re-sign, as a
	// malicious sender would: the signature is valid, the HPKE unwrap
	// succeeds, and only the key commitment catches it.
	mixed := slices.Clone(ea.Signed)
	off := bytes.Index(mixed, ea.Stanzas[0].Enc)
	copy(mixed[off:], eb.Stanzas[0].Enc)
	copy(mixed[off+EncSize:], eb.Stanzas[0].WrappedDEK)
	mixed = resign(t, append(mixed, a[len(ea.Signed):]...), signerOf(de))
	em, err := Parse(mixed)
	if err != nil {
		t.Fatal(err)
	}
	if err := em.VerifySignature(0, de.Sign.Public()); err != nil {
		t.Fatalf("re-signed envelope: %v", err)
	}
	if _, err := em.Open("NL", nl.KEM); !errors.Is(err, ErrKeyCommitment) {
		t.Fatalf("open with swapped stanza: %v, want ErrKeyCommitment", err)
	}
	if pt, err := em.Open("IN", in.KEM); err == nil {
		// IN's stanza is intact but the AEAD's associated data covers every
		// stanza, so even IN cannot be shown a payload that NL's stanza
		// does not match.
		t.Fatalf("IN opened a tampered envelope: %q", pt)
	}
	// A stanza from an envelope with another entry id fails earlier: the
	// HPKE info binds the entry id.
	h2 := h
	h2.EntryID[0] ^= 1
	c, err := Seal(rand.Reader, h2, rcpts, []byte("other"), signerOf(de))
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := Parse(c)
	mixed2 := slices.Clone(a)
	copy(mixed2[off:], ec.Stanzas[0].Enc)
	copy(mixed2[off+EncSize:], ec.Stanzas[0].WrappedDEK)
	e2, err := Parse(mixed2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e2.Open("NL", nl.KEM); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("stanza from another entry: %v, want ErrDecrypt", err)
	}
}

func TestOpenRejections(t *testing.T) {
	de := testIdentity(t, "DE", true)
	nl := testIdentity(t, "NL", true)
	in := testIdentity(t, "IN", true)
	raw, err := Seal(rand.Reader, testHeader(KindNotice), []Recipient{recipientOf(nl), recipientOf(de)}, []byte("x"), signerOf(de))
	if err != nil {
		t.Fatal(err)
	}
	e, _ := Parse(raw)
	cases := []struct {
		who  string
		key  *KEMKey
		want error
	}{
		{"IN", in.KEM, ErrNotRecipient}, // not addressed
		{"NL", in.KEM, ErrNotRecipient}, // addressed, wrong key id
		{"IN", nl.KEM, ErrNotRecipient}, // someone else's key under another name
		{"NL", nil, ErrNotRecipient},    // no key
		{"DE", de.KEM, nil},             // the author's stanza
		{"NL", nl.KEM, nil},             // the recipient
	}
	for _, c := range cases {
		_, err := e.Open(c.who, c.key)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("open as %s: %v, want %v", c.who, err, c.want)
		}
	}
	// A stanza naming NL's key id but carrying another key's
	// encapsulation: X-Wing's implicit rejection lets the HPKE setup pass,
	// the AEAD then fails.
	other, _ := Seal(rand.Reader, testHeader(KindNotice), []Recipient{recipientOf(in), recipientOf(de)}, []byte("x"), signerOf(de))
	eo, _ := Parse(other)
	bad := slices.Clone(raw)
	off := bytes.Index(bad, e.Stanzas[0].Enc)
	copy(bad[off:], eo.Stanzas[0].Enc)
	eb, _ := Parse(bad)
	if _, err := eb.Open("NL", nl.KEM); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("foreign encapsulation: %v, want ErrDecrypt", err)
	}
	// Plain kinds have nothing to open.
	p, _ := SignPlain(rand.Reader, testHeader(KindDirectory), []byte("{}"), signerOf(de))
	ep, _ := Parse(p)
	if _, err := ep.Open("DE", de.KEM); !errors.Is(err, ErrNotRecipient) {
		t.Fatalf("open plain: %v", err)
	}
}

func TestSignatureRejections(t *testing.T) {
	de := testIdentity(t, "DE", true)
	nl := testIdentity(t, "NL", true)
	raw, err := Seal(rand.Reader, testHeader(KindNotice), []Recipient{recipientOf(nl), recipientOf(de)}, []byte("x"), signerOf(de))
	if err != nil {
		t.Fatal(err)
	}
	e, _ := Parse(raw)
	// Another key than the one named.
	if err := e.VerifySignature(0, nl.Sign.Public()); !errors.Is(err, ErrSignature) || !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("other key: %v", err)
	}
	if err := e.VerifySignature(1, de.Sign.Public()); !errors.Is(err, ErrSignature) {
		t.Fatalf("no such signature: %v", err)
	}
	// Signed by another key that claims DE's key id.
	forged := slices.Clone(raw)
	sig, _ := nl.Sign.Sign(ContextFor(KindNotice), e.Signed)
	copy(forged[len(forged)-SignatureSize:], sig)
	ef, _ := Parse(forged)
	if err := ef.VerifySignature(0, de.Sign.Public()); !errors.Is(err, ErrSignature) {
		t.Fatalf("signature by another key: %v", err)
	}
	// Each half alone is not enough: mix DE's ML-DSA half with NL's Ed25519
	// half and vice versa.
	own := e.Sigs[0].Sig
	for name, mix := range map[string][]byte{
		"ed25519 half":   append(slices.Clone(own[:SignatureSize-64]), sig[SignatureSize-64:]...),
		"ml-dsa-65 half": append(slices.Clone(sig[:SignatureSize-64]), own[SignatureSize-64:]...),
	} {
		m := slices.Clone(raw)
		copy(m[len(m)-SignatureSize:], mix)
		em, _ := Parse(m)
		err := em.VerifySignature(0, de.Sign.Public())
		if !errors.Is(err, ErrSignature) || !bytes.Contains([]byte(err.Error()), []byte(name)) {
			t.Errorf("bad %s: %v", name, err)
		}
	}
	// A signature under another kind's context does not verify.
	m := slices.Clone(raw)
	rs, _ := de.Sign.Sign(ContextFor(KindResponse), e.Signed)
	copy(m[len(m)-SignatureSize:], rs)
	em, _ := Parse(m)
	if err := em.VerifySignature(0, de.Sign.Public()); !errors.Is(err, ErrSignature) {
		t.Fatalf("signature under another context: %v", err)
	}
	// A signer name that does not own the key is refused by the directory.
	d := dirOf(de, nl)
	if err := e.Verify(d.lookup); err != nil {
		t.Fatal(err)
	}
	renamed := bytes.Replace(slices.Clone(raw), append([]byte{1, 2}, "DE"...), append([]byte{1, 2}, "NL"...), 1)
	if bytes.Equal(renamed, raw) {
		t.Fatal("test bug: signer name not found")
	}
	er, err := Parse(renamed)
	if err != nil {
		t.Fatal(err)
	}
	if err := er.Verify(d.lookup); !errors.Is(err, errUnknownSigner) {
		t.Fatalf("renamed signer: %v", err)
	}
}

func TestAppendSignature(t *testing.T) {
	a := testIdentity(t, "DE", true)
	b := testIdentity(t, "NL", true)
	raw, err := SignPlain(rand.Reader, testHeader(KindDirectory), []byte("{}"), signerOf(a))
	if err != nil {
		t.Fatal(err)
	}
	two, err := AppendSignature(raw, signerOf(b))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Parse(two)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Sigs) != 2 || !e.SignedBy("DE") || !e.SignedBy("NL") {
		t.Fatalf("sigs %+v", e.Sigs)
	}
	if err := e.Verify(dirOf(a, b).lookup); err != nil {
		t.Fatal(err)
	}
	if _, err := AppendSignature(two, signerOf(b)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("same key twice: %v", err)
	}
}

func TestSealRejects(t *testing.T) {
	de := testIdentity(t, "DE", true)
	nl := testIdentity(t, "NL", true)
	in := testIdentity(t, "IN", true)
	ok := []Recipient{recipientOf(nl), recipientOf(de)}
	cases := map[string]struct {
		mod   func(h *Header) []Recipient
		plain []byte
		want  error
	}{
		"author's key missing": {mod: func(h *Header) []Recipient { return ok[:1] }, want: ErrMalformed},
		"extra key":            {mod: func(h *Header) []Recipient { h.Recipients = []string{"NL"}; return append(ok, recipientOf(in)) }, want: ErrMalformed},
		"duplicate recipient":  {mod: func(h *Header) []Recipient { h.Recipients = []string{"NL", "NL"}; return ok }, want: ErrMalformed},
		"star":                 {mod: func(h *Header) []Recipient { h.Recipients = []string{"*"}; return ok }, want: ErrMalformed},
		"author not signer":    {mod: func(h *Header) []Recipient { h.Author = "NL"; return ok }, want: ErrKeyMismatch},
		"plain kind":           {mod: func(h *Header) []Recipient { h.Kind = KindDirectory; return ok }, want: ErrMalformed},
		"handling 4":           {mod: func(h *Header) []Recipient { h.Handling = 4; return ok }, want: ErrMalformed},
		"ref id on notice":     {mod: func(h *Header) []Recipient { h.RefID[0] = 1; return ok }, want: ErrMalformed},
		"no recipients":        {mod: func(h *Header) []Recipient { return ok[1:] }, want: ErrMalformed},
		"too large":            {mod: func(h *Header) []Recipient { return ok }, plain: make([]byte, MaxPlaintext+1), want: ErrMalformed},
		"bad subtype":          {mod: func(h *Header) []Recipient { h.Subtype = "Pre Export"; return ok }, want: ErrMalformed},
		"negative time":        {mod: func(h *Header) []Recipient { h.CreatedMS = -1; return ok }, want: ErrMalformed},
	}
	for name, c := range cases {
		h := testHeader(KindNotice)
		r := c.mod(&h)
		_, err := Seal(rand.Reader, h, r, c.plain, signerOf(de))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// 256 recipients plus the author is the largest envelope.
	h := testHeader(KindNotice)
	var many []Recipient
	for i := range MaxRecipients {
		many = append(many, Recipient{ID: fmt.Sprintf("R%d", i), Key: nl.KEM.Public()})
	}
	if testing.Short() {
		return
	}
	if _, err := Seal(rand.Reader, h, append(many, recipientOf(de)), nil, signerOf(de)); err != nil {
		t.Fatalf("256 recipients: %v", err)
	}
	many = append(many, Recipient{ID: "R256", Key: nl.KEM.Public()})
	if _, err := Seal(rand.Reader, h, append(many, recipientOf(de)), nil, signerOf(de)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("257 recipients: %v", err)
	}
}
