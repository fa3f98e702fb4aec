package crypto

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func testHeader(kind Kind) Header {
	h := Header{
		Kind:      kind,
		HubID:     [32]byte{1, 2, 3},
		EntryID:   [16]byte{0xaa, 0xbb},
		CreatedMS: 1_790_000_000_000,
		Author:    "DE",
	}
	switch kind {
	case KindNotice:
		h.Subtype = "pre_export"
		h.Handling = 2
	case KindResponse, KindReceipt:
		h.RefID = [16]byte{9}
	case KindDirectory:
		h.Subtype = "admit_authority"
		h.Author = "INT-INCB"
	}
	return h
}

func TestSealOpenRoundTrip(t *testing.T) {
	de := testIdentity(t, "DE", true)
	nl := testIdentity(t, "NL", true)
	in := testIdentity(t, "IN", true)
	for _, kind := range []Kind{KindNotice, KindResponse, KindReceipt} {
		for _, size := range []int{0, 1, 1019, 1020, 1021, 5000, 70000} {
			pt := bytes.Repeat([]byte{'x'}, size)
			raw, err := Seal(rand.Reader, testHeader(kind), []Recipient{recipientOf(nl), recipientOf(de)}, pt, signerOf(de))
			if err != nil {
				t.Fatalf("%s/%d: seal: %v", kind, size, err)
			}
			e, err := Parse(raw)
			if err != nil {
				t.Fatalf("%s/%d: parse: %v", kind, size, err)
			}
			if got, want := e.Recipients, []string{"NL"}; len(got) != 1 || got[0] != want[0] {
				t.Fatalf("recipients = %q, want %q", got, want)
			}
			if len(e.Stanzas) != 2 || e.Stanzas[1].Recipient != "DE" {
				t.Fatalf("stanzas = %+v", e.Stanzas)
			}
			if int(e.PaddedLen) != paddedLen(size) || e.PaddedLen&(e.PaddedLen-1) != 0 {
				t.Fatalf("padded len %d for %d", e.PaddedLen, size)
			}
			if err := e.VerifySignature(0, de.Sign.Public()); err != nil {
				t.Fatalf("verify: %v", err)
			}
			for _, who := range []*Identity{de, nl} {
				got, err := e.Open(who.ID, who.KEM)
				if err != nil {
					t.Fatalf("%s/%d: open as %s: %v", kind, size, who.ID, err)
				}
				if !bytes.Equal(got, pt) {
					t.Fatalf("open as %s: wrong plaintext", who.ID)
				}
			}
			if _, err := e.Open("IN", in.KEM); !errors.Is(err, ErrNotRecipient) {
				t.Fatalf("open by non-recipient: %v, want ErrNotRecipient", err)
			}
		}
	}
}
