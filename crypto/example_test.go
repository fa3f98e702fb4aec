package crypto_test

import (
	"crypto/rand"
	"fmt"

	"github.com/penhub/penhub/crypto"
)

// A notice from DE to NL: DE's node seals it (with a stanza for DE itself),
// every node parses and verifies it with DE's public key from the directory,
// and NL's node opens it.
func ExampleSeal() {
	de, _ := crypto.GenerateIdentity(rand.Reader, "DE")
	nl, _ := crypto.GenerateIdentity(rand.Reader, "NL")
	hubID := [32]byte{1}
	h := crypto.Header{
		Kind:       crypto.KindNotice,
		HubID:      hubID,
		EntryID:    crypto.NoticeID(hubID, "DE", "client-id-1"),
		CreatedMS:  1_790_000_000_000,
		Author:     "DE",
		Subtype:    "pre_export",
		Recipients: []string{"NL"},
	}
	raw, err := crypto.Seal(rand.Reader, h, []crypto.Recipient{
		{ID: "NL", Key: nl.KEM.Public()},
		{ID: "DE", Key: de.KEM.Public()},
	}, []byte(`{"body":{}}`), crypto.Signer{ID: "DE", Key: de.Sign})
	if err != nil {
		panic(err)
	}

	e, err := crypto.Parse(raw)
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Kind, e.Author, "→", e.Recipients, "stanzas:", len(e.Stanzas))
	fmt.Println("signature:", e.VerifySignature(0, de.Sign.Public()))

	pt, err := e.Open("NL", nl.KEM)
	fmt.Printf("NL reads %s (%v)\n", pt, err)
	// Output:
	// notice DE → [NL] stanzas: 2
	// signature: <nil>
	// NL reads {"body":{}} (<nil>)
}
