package crypto

import (
	"crypto/rand"
	"fmt"
	"testing"
)

// benchEnvelope seals a 2 KiB notice from DE to n recipients (n+1 stanzas
// with the author's own).
func benchEnvelope(b *testing.B, n int) (raw []byte, de *Identity, rcpts []Recipient, first *Identity) {
	b.Helper()
	de = testIdentity(b, "DE", true)
	for i := range n {
		id := testIdentity(b, fmt.Sprintf("R%d", i), true)
		if i == 0 {
			first = id
		}
		rcpts = append(rcpts, recipientOf(id))
	}
	rcpts = append(rcpts, recipientOf(de))
	raw, err := Seal(rand.Reader, testHeader(KindNotice), rcpts, make([]byte, 2048), signerOf(de))
	if err != nil {
		b.Fatal(err)
	}
	return raw, de, rcpts, first
}

func BenchmarkSeal(b *testing.B) {
	for _, n := range []int{1, 3, 30} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			raw, de, rcpts, _ := benchEnvelope(b, n)
			pt := make([]byte, 2048)
			for b.Loop() {
				if _, err := Seal(rand.Reader, testHeader(KindNotice), rcpts, pt, signerOf(de)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw)), "B/envelope")
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, n := range []int{1, 30} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			raw, de, _, _ := benchEnvelope(b, n)
			pub := de.Sign.Public()
			for b.Loop() {
				e, err := Parse(raw)
				if err != nil {
					b.Fatal(err)
				}
				if err := e.VerifySignature(0, pub); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	raw, _, _, _ := benchEnvelope(b, 30)
	for b.Loop() {
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{1, 30} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			raw, _, _, r := benchEnvelope(b, n)
			e, err := Parse(raw)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := e.Open(r.ID, r.KEM); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCompositeSign(b *testing.B) {
	id := testIdentity(b, "DE", false)
	msg := make([]byte, 64)
	for b.Loop() {
		if _, err := id.Sign.Sign("penhub/bench", msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompositeVerify(b *testing.B) {
	id := testIdentity(b, "DE", false)
	msg := make([]byte, 64)
	sig, _ := id.Sign.Sign("penhub/bench", msg)
	pub := id.Sign.Public()
	for b.Loop() {
		if err := pub.Verify("penhub/bench", msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckpointSign(b *testing.B) {
	n := testIdentity(b, "node1", false)
	c := testCheckpoint()
	msg, _ := SignCheckpoint(c, "node1", n.Sign)
	for b.Loop() {
		if _, err := SignCheckpoint(c, "node1", n.Sign); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(msg)), "B/note")
}

func BenchmarkCheckpointVerify(b *testing.B) {
	n := testIdentity(b, "node1", false)
	msg, _ := SignCheckpoint(testCheckpoint(), "node1", n.Sign)
	pub := n.Sign.Public()
	for b.Loop() {
		if _, err := VerifyCheckpoint(msg, "node1", pub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenerateIdentity(b *testing.B) {
	for b.Loop() {
		if _, err := GenerateIdentity(rand.Reader, "DE"); err != nil {
			b.Fatal(err)
		}
	}
}
