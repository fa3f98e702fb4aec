package crypto

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func testCheckpoint() Checkpoint {
	return Checkpoint{Origin: CheckpointOrigin([32]byte{7}), Size: 1234, Root: tlog.Hash(sha256.Sum256([]byte("root")))}
}

func TestCheckpointFormat(t *testing.T) {
	c := testCheckpoint()
	text := c.String()
	want := "penhub/0700000000000000000000000000000000000000000000000000000000000000\n1234\n" +
		"SBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I=\n"
	if text != want {
		t.Fatalf("text\n%q\nwant\n%q", text, want)
	}
	got, err := ParseCheckpoint([]byte(text))
	if err != nil || got != c {
		t.Fatalf("round trip: %v %+v", err, got)
	}
	for _, bad := range []string{
		"", "\n\n\n", text[:len(text)-1], text + "ext\n",
		strings.Replace(text, "1234", "01234", 1),
		strings.Replace(text, "1234", "+1234", 1),
		strings.Replace(text, "1234", "-1", 1),
		strings.Replace(text, "1234", "9223372036854775808", 1),
		strings.Replace(text, "penhub/", "pen hub/", 1),
		strings.Replace(text, "=\n", "\n", 1),
		strings.Replace(text, "7I=", "7J=", 1), // non-canonical padding bits
		"o\n1\nAAAA\n",
	} {
		if _, err := ParseCheckpoint([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseCheckpoint(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestCheckpointSignVerify(t *testing.T) {
	n1 := testIdentity(t, "node1", false)
	n2 := testIdentity(t, "node2", false)
	c := testCheckpoint()
	msg, err := SignCheckpoint(c, "node1", n1.Sign)
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifyCheckpoint(msg, "node1", n1.Sign.Public())
	if err != nil || got != c {
		t.Fatalf("verify: %v", err)
	}
	if _, err := VerifyCheckpoint(msg, "node1", n2.Sign.Public()); !errors.Is(err, ErrSignature) {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := VerifyCheckpoint(msg, "node2", n1.Sign.Public()); !errors.Is(err, ErrSignature) {
		t.Fatalf("wrong node name: %v", err)
	}

	// The Ed25519 line is a standard note line: x/mod's own verifier opens it.
	vkey, err := note.NewEd25519VerifierKey("node1", n1.Sign.Public().Ed25519())
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
		t.Fatalf("standard ed25519 verifier: %v", err)
	}

	// Each line alone is not enough (note.Open would accept either).
	lines := strings.SplitAfter(string(msg), "\n")
	// lines: 3 text lines, "", ed line, pq line, "".
	if len(lines) != 7 {
		t.Fatalf("note lines: %q", lines)
	}
	text := strings.Join(lines[:4], "")
	for name, only := range map[string]string{"ed25519 only": lines[4], "pq only": lines[5]} {
		if _, err := VerifyCheckpoint([]byte(text+only), "node1", n1.Sign.Public()); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: %v, want ErrSignature", name, err)
		}
	}
	// A changed text fails.
	bad := bytes.Replace(msg, []byte("1234"), []byte("1235"), 1)
	if _, err := VerifyCheckpoint(bad, "node1", n1.Sign.Public()); !errors.Is(err, ErrSignature) {
		t.Fatalf("changed size: %v", err)
	}

	// Cosigning keeps the first node's lines and both verify.
	co, err := CosignCheckpoint(msg, "node2", n2.Sign)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*Identity{n1, n2} {
		if _, err := VerifyCheckpoint(co, n.ID, n.Sign.Public()); err != nil {
			t.Fatalf("cosigned note, %s: %v", n.ID, err)
		}
	}
	ids, err := CheckpointSigners(co)
	if err != nil || !slices.Equal(ids, []string{"node1", "node2"}) {
		t.Fatalf("signers %q, %v", ids, err)
	}
	if len(msg) > 5000 {
		t.Logf("signed checkpoint: %d bytes", len(msg))
	}
}
