package crypto

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// reencode rebuilds an envelope from its parsed fields. Parse is canonical
// if reencode(Parse(b)) == b for every b that parses.
func reencode(e *Envelope) []byte {
	b := appendHeader(nil, &e.Header)
	if e.Kind.Sealed() {
		b = append(b, e.KeyCommit[:]...)
		b = binary.BigEndian.AppendUint32(b, e.PaddedLen)
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.Stanzas)))
		for _, s := range e.Stanzas {
			b = appendStr8(b, s.Recipient)
			b = append(b, s.KeyID[:]...)
			b = append(b, s.Enc...)
			b = append(b, s.WrappedDEK...)
		}
		b = append(b, e.Ciphertext...)
	} else {
		b = binary.BigEndian.AppendUint32(b, uint32(len(e.Body)))
		b = append(b, e.Body...)
	}
	b = append(b, byte(len(e.Sigs)))
	for _, s := range e.Sigs {
		b = appendStr8(b, s.Signer)
		b = append(b, s.KeyID[:]...)
		b = append(b, s.Sig...)
	}
	return b
}

// envelopeSeeds returns deterministic seed envelopes (identical in every
// fuzz worker up to ML-DSA's hedge): a notice, a response and a
// cosignature, all by DE, the sealed ones addressed to NL.
func envelopeSeeds(f *testing.F) (de, nl *Identity, sealed, plain, response []byte) {
	f.Helper()
	de = testIdentity(f, "DE", true)
	nl = testIdentity(f, "NL", true)
	sealed, err := Seal(detRand("fuzz/sealed"), testHeader(KindNotice), []Recipient{recipientOf(nl), recipientOf(de)}, []byte("fuzz"), signerOf(de))
	if err != nil {
		f.Fatal(err)
	}
	plain, err = SignPlain(detRand("fuzz/plain"), testHeader(KindCosignature), []byte("text\n"), signerOf(de))
	if err != nil {
		f.Fatal(err)
	}
	resp := testHeader(KindResponse)
	response, err = Seal(detRand("fuzz/response"), resp, []Recipient{recipientOf(nl), recipientOf(de)}, nil, signerOf(de))
	if err != nil {
		f.Fatal(err)
	}
	return de, nl, sealed, plain, response
}

// FuzzParse feeds arbitrary bytes to the strict envelope parser: it must
// never panic, and whatever parses must re-encode to exactly its input
// (one encoding per envelope). No cryptography here, so the fuzzer runs
// fast; FuzzOpen covers verification and decryption of mutated envelopes.
func FuzzParse(f *testing.F) {
	_, _, sealed, plain, response := envelopeSeeds(f)
	for _, s := range [][]byte{sealed, plain, response, sealed[:200], []byte("PHE1\x00\x01"), {}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Parse(b)
		if err != nil {
			if e != nil {
				t.Fatal("envelope returned with an error")
			}
			return
		}
		if !bytes.Equal(reencode(e), b) {
			t.Fatal("parse is not canonical: re-encoding differs")
		}
		if !bytes.Equal(e.Signed, b[:len(e.Signed)]) {
			t.Fatal("Signed is not a prefix of Raw")
		}
	})
}

// patch overwrites b at off (mod len(b)) with p (clipped to fit) and then
// drops cut (mod len(b)+1) bytes from the end: a small fuzz input describes
// a mutation of a large seed, so the fuzzer's input minimization stays
// cheap even though every execution does real cryptography.
func patch(seed []byte, off uint16, p []byte, cut uint16) []byte {
	b := bytes.Clone(seed)
	if len(b) == 0 {
		return b
	}
	o := int(off) % len(b)
	copy(b[o:], p)
	return b[:len(b)-int(cut)%(len(b)+1)]
}

// FuzzOpen mutates valid envelopes (overwrite bytes at an offset, truncate)
// and parses, verifies and opens the result: nothing may panic, and a
// mutated envelope may verify under DE's key only if its signed bytes and
// signature are untouched (the unsigned signer name may change; the
// directory lookup catches that, see TestSignatureRejections).
func FuzzOpen(f *testing.F) {
	de, nl, sealed, plain, response := envelopeSeeds(f)
	seeds := [][]byte{sealed, plain, response}
	f.Add(uint8(0), uint16(0), []byte{}, uint16(0))
	f.Add(uint8(0), uint16(100), []byte{0xff}, uint16(0))
	f.Add(uint8(1), uint16(60), []byte("NL"), uint16(0))
	f.Add(uint8(2), uint16(2000), []byte{0, 0, 0, 0}, uint16(3))
	f.Add(uint8(0), uint16(len(sealed)-SignatureSize-20), []byte{2, 'N', 'L'}, uint16(0))
	f.Fuzz(func(t *testing.T, which uint8, off uint16, p []byte, cut uint16) {
		seed := seeds[int(which)%len(seeds)]
		b := patch(seed, off, p, cut)
		e, err := Parse(b)
		if err != nil {
			return
		}
		verr := e.VerifySignature(0, de.Sign.Public())
		_, oerr := e.Open("NL", nl.KEM)
		if bytes.Equal(b, seed) {
			if verr != nil || (e.Kind.Sealed() && oerr != nil) {
				t.Fatalf("seed rejected: %v / %v", verr, oerr)
			}
			return
		}
		if verr == nil {
			n := len(e.Signed)
			if !bytes.Equal(b[:n], seed[:n]) || !bytes.Equal(e.Sigs[0].Sig, seed[len(seed)-SignatureSize:]) {
				t.Fatal("a mutated envelope verifies")
			}
		}
		if oerr == nil && e.Kind.Sealed() && !bytes.Equal(b[:len(e.Signed)], seed[:min(len(seed), len(e.Signed))]) {
			t.Fatal("a mutated envelope opens")
		}
	})
}

// isSigStart reports whether s[n:] is where a seed's signatures begin.
func isSigStart(s []byte, n int) bool {
	e, err := Parse(s)
	return err == nil && len(e.Signed) == n
}

// FuzzParseCheckpoint: the checkpoint text parser never panics and is
// canonical (what parses formats back to the same bytes).
func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte(testCheckpoint().String()))
	f.Add([]byte("o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"))
	f.Add([]byte("penhub/x\n18446744073709551616\n\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCheckpoint(b)
		if err != nil {
			return
		}
		if c.String() != string(b) {
			t.Fatalf("not canonical: %q formats as %q", b, c.String())
		}
	})
}

// FuzzVerifyCheckpoint mutates signed checkpoints (node1's, and node1's
// cosigned by node2): nothing may panic, and whatever still verifies as
// node1's must carry node1's original text.
func FuzzVerifyCheckpoint(f *testing.F) {
	n1 := testIdentity(f, "node1", false)
	n2 := testIdentity(f, "node2", false)
	msg, err := SignCheckpoint(testCheckpoint(), "node1", n1.Sign)
	if err != nil {
		f.Fatal(err)
	}
	co, err := CosignCheckpoint(msg, "node2", n2.Sign)
	if err != nil {
		f.Fatal(err)
	}
	seeds := [][]byte{msg, co}
	f.Add(uint8(0), uint16(0), []byte{}, uint16(0))
	f.Add(uint8(1), uint16(80), []byte("9"), uint16(0))
	f.Add(uint8(0), uint16(120), []byte("\n— node1/pq "), uint16(10))
	f.Fuzz(func(t *testing.T, which uint8, off uint16, p []byte, cut uint16) {
		b := patch(seeds[int(which)%len(seeds)], off, p, cut)
		c, err := VerifyCheckpoint(b, "node1", n1.Sign.Public())
		_, _ = CheckpointSigners(b)
		if err != nil {
			return
		}
		if !strings.HasPrefix(string(b), c.String()+"\n") || c != testCheckpoint() {
			t.Fatalf("verified a checkpoint that node1 did not sign: %+v", c)
		}
	})
}
