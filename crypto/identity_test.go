package crypto

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestIdentityFiles(t *testing.T) {
	dir := t.TempDir()
	id, err := GenerateIdentity(rand.Reader, "DE")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "DE.key")
	if err := WriteIdentityFile(path, id); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if !bytes.Contains(data, []byte("-----BEGIN PENHUB-SECRET-KEY-1-----")) {
		t.Fatalf("no armour in:\n%s", data)
	}
	got, err := ReadIdentityFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(id) {
		t.Fatal("read identity differs")
	}
	if err := WriteIdentityFile(path, id); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("overwrite: %v, want fs.ErrExist", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadIdentityFile(path); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("world-readable file: %v, want fs.ErrPermission", err)
	}

	// Node identity without KEM key.
	node := &Identity{ID: "node1", Sign: id.Sign}
	if got, err := ParseSecret(node.MarshalSecret()); err != nil || !got.Equal(node) || got.KEM != nil {
		t.Fatalf("node identity round trip: %v", err)
	}
	// Strictness: trailing data, other block types.
	sec := id.MarshalSecret()
	for name, bad := range map[string][]byte{
		"trailing": append(slices.Clone(sec), "junk\n"...),
		"public":   mustPublic(t, id),
		"empty":    nil,
		"junk":     append([]byte("junk line\n"), sec...),
	} {
		if _, err := ParseSecret(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func mustPublic(t *testing.T, id *Identity) []byte {
	t.Helper()
	b, err := id.PublicFile()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPublicFile(t *testing.T) {
	id := testIdentity(t, "NL", true)
	pub := mustPublic(t, id)
	p, err := ParsePublicFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "NL" || !p.SignKey.Equal(id.Sign.Public()) || !p.KEMKey.Equal(id.KEM.Public()) {
		t.Fatal("public keys differ")
	}
	if !bytes.Contains(pub, []byte(p.Fingerprint())) {
		t.Fatalf("fingerprint %s not shown in file:\n%s", p.Fingerprint(), pub)
	}
	if fp := p.Fingerprint(); len(fp) != 49 {
		t.Fatalf("fingerprint %q", fp)
	}
	// Another key's self-signature must not verify: swap the signature for
	// one made by a different key over the same body.
	other := testIdentity(t, "XX", true)
	body := id.Public().signedBody()
	sig, _ := other.Sign.Sign(publicKeysContext, body)
	forged := armourPublic(append(slices.Clone(body), sig...))
	if _, err := ParsePublicFile(forged); !errors.Is(err, ErrSignature) {
		t.Fatalf("forged self-signature: %v, want ErrSignature", err)
	}
	// A flipped byte anywhere in the block is rejected.
	raw, _ := decodeArmour(pub, publicKeyType)
	for i := 0; i < len(raw); i += 97 {
		bad := slices.Clone(raw)
		bad[i] ^= 0x01
		if _, err := ParsePublicFile(armourPublic(bad)); err == nil {
			t.Fatalf("flipped byte %d accepted", i)
		}
	}
	// Node public file (no KEM key).
	node := &Identity{ID: "node1", Sign: id.Sign}
	np, err := ParsePublicFile(mustPublic(t, node))
	if err != nil || np.KEMKey != nil {
		t.Fatalf("node public file: %v", err)
	}
	if np.Fingerprint() == p.Fingerprint() {
		t.Fatal("fingerprint ignores the kem key or id")
	}
}

func armourPublic(raw []byte) []byte {
	var buf bytes.Buffer
	buf.WriteString("-----BEGIN " + publicKeyType + "-----\n")
	enc := make([]byte, 0)
	enc = append(enc, []byte(b64(raw))...)
	for len(enc) > 64 {
		buf.Write(enc[:64])
		buf.WriteByte('\n')
		enc = enc[64:]
	}
	buf.Write(enc)
	buf.WriteString("\n-----END " + publicKeyType + "-----\n")
	return buf.Bytes()
}

func TestKeyring(t *testing.T) {
	dir := t.TempDir()
	kr, err := OpenKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := testIdentity(t, "DE", true)
	newer, err := GenerateIdentity(rand.Reader, "DE")
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Add(old); err != nil {
		t.Fatal(err)
	}
	if err := kr.Add(old); err != nil {
		t.Fatalf("re-adding the same identity: %v", err)
	}
	if err := kr.Add(newer); err != nil {
		t.Fatal(err)
	}
	if cur, ok := kr.Current("DE"); !ok || !cur.Equal(old) {
		t.Fatal("first identity is not current")
	}
	if err := kr.SetCurrent("DE", newer.Sign.ID()); err != nil {
		t.Fatal(err)
	}
	if err := kr.SetCurrent("DE", KeyID{1}); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown key: %v", err)
	}
	if err := kr.Add(&Identity{ID: "node1", Sign: newer.Sign}); err != nil {
		t.Fatal(err)
	}

	// Reopen: everything survives.
	kr, err = OpenKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := kr.Authorities(); !slices.Equal(got, []string{"DE", "node1"}) {
		t.Fatalf("authorities %q", got)
	}
	if cur, ok := kr.Current("DE"); !ok || !cur.Equal(newer) {
		t.Fatal("current identity not kept")
	}
	if ids := kr.Identities("DE"); len(ids) != 2 || !ids[0].Equal(newer) {
		t.Fatal("identities: current not first")
	}
	if k, ok := kr.KEMKeyByID("DE", old.KEM.ID()); !ok || !k.Equal(old.KEM) {
		t.Fatal("retired kem key not found")
	}
	if k, ok := kr.SigningKeyByID("DE", old.Sign.ID()); !ok || !k.Equal(old.Sign) {
		t.Fatal("retired signing key not found")
	}
	if _, ok := kr.KEMKeyByID("NL", old.KEM.ID()); ok {
		t.Fatal("key found under another authority")
	}
	if err := kr.Forget("DE", newer.KEM.ID()); !errors.Is(err, ErrCurrentKey) {
		t.Fatalf("forgetting current: %v", err)
	}
	if err := kr.Forget("DE", old.KEM.ID()); err != nil {
		t.Fatal(err)
	}
	if err := kr.Forget("DE", old.KEM.ID()); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("forgetting twice: %v", err)
	}
	if _, ok := kr.KEMKeyByID("DE", old.KEM.ID()); ok {
		t.Fatal("forgotten key still there")
	}
	if _, err := os.Stat(filepath.Join(dir, "DE", old.Sign.ID().String()+".key")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("forgotten key file: %v", err)
	}
	kr, err = OpenKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := kr.KEMKeyByID("DE", old.KEM.ID()); ok {
		t.Fatal("forgotten key back after reopen")
	}
	if err := kr.Add(&Identity{ID: "../x", Sign: old.Sign}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("path-like id: %v", err)
	}
}
