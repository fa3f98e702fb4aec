package crypto

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	mrand "math/rand/v2"
	"testing"
)

// detRand is a deterministic byte stream for known-answer tests: ChaCha8
// keyed with SHA-256(label).
func detRand(label string) io.Reader {
	return mrand.NewChaCha8(sha256.Sum256([]byte(label)))
}

// testIdentity derives a fixed identity from a label.
func testIdentity(t testing.TB, id string, withKEM bool) *Identity {
	t.Helper()
	r := detRand("identity/" + id)
	sk, err := GenerateSigningKey(r)
	if err != nil {
		t.Fatal(err)
	}
	ident := &Identity{ID: id, Sign: sk}
	if withKEM {
		if ident.KEM, err = GenerateKEMKey(r); err != nil {
			t.Fatal(err)
		}
	}
	return ident
}

func recipientOf(id *Identity) Recipient { return Recipient{ID: id.ID, Key: id.KEM.Public()} }

func signerOf(id *Identity) Signer { return Signer{ID: id.ID, Key: id.Sign} }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
