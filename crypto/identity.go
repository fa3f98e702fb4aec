package crypto

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Armour types of key files. The "-1" is the file format version; a new
// layout gets a new type and old readers reject it.
const (
	secretKeyType = "PENHUB-SECRET-KEY-1"
	publicKeyType = "PENHUB-PUBLIC-KEYS-1"
	// publicKeysContext is the signature context of a public file's
	// self-signature.
	publicKeysContext = "penhub/v1/public-keys"
)

// Identity is one authority's (or node's) private key set: a composite
// signing key and, for authorities, an X-Wing KEM key. Nodes have KEM nil.
type Identity struct {
	ID   string
	Sign *SigningKey
	KEM  *KEMKey // nil for nodes
}

// GenerateIdentity draws a fresh signing key and KEM key from rand (64 then
// 32 bytes). id must be 1–64 bytes of [A-Za-z0-9._-]. For a node identity,
// use GenerateSigningKey alone.
func GenerateIdentity(rand io.Reader, id string) (*Identity, error) {
	if !validName(id) {
		return nil, fmt.Errorf("generating identity: %w: id %q", ErrMalformed, id)
	}
	sk, err := GenerateSigningKey(rand)
	if err != nil {
		return nil, fmt.Errorf("generating identity %q: %w", id, err)
	}
	kk, err := GenerateKEMKey(rand)
	if err != nil {
		return nil, fmt.Errorf("generating identity %q: %w", id, err)
	}
	return &Identity{ID: id, Sign: sk, KEM: kk}, nil
}

// Public returns the public half of the identity.
func (id *Identity) Public() *PublicKeys {
	p := &PublicKeys{ID: id.ID, SignKey: id.Sign.Public()}
	if id.KEM != nil {
		p.KEMKey = id.KEM.Public()
	}
	return p
}

// Equal reports whether two identities hold the same id and keys.
func (id *Identity) Equal(o *Identity) bool {
	if o == nil || id.ID != o.ID || !id.Sign.Equal(o.Sign) || (id.KEM == nil) != (o.KEM == nil) {
		return false
	}
	return id.KEM == nil || id.KEM.Equal(o.KEM)
}

// marshalSecret encodes id ‖ sign seed[64] ‖ has_kem:u8 ‖ [kem seed[32]].
func (id *Identity) marshalSecret() []byte {
	b := appendStr8(nil, id.ID)
	b = append(b, id.Sign.seed[:]...)
	if id.KEM == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	return append(b, id.KEM.seed[:]...)
}

func unmarshalSecret(b []byte) (*Identity, error) {
	r := &reader{b: b}
	id := &Identity{ID: r.str8("id")}
	seed := r.bytes(SigningKeySize, "signing seed")
	hasKEM := r.u8("kem flag")
	var kemSeed []byte
	switch {
	case r.err != nil:
	case hasKEM == 1:
		kemSeed = r.bytes(KEMKeySize, "kem seed")
	case hasKEM != 0:
		r.fail("kem flag %d", hasKEM)
	}
	if r.err == nil && r.off != len(b) {
		r.fail("%d trailing bytes", len(b)-r.off)
	}
	if r.err == nil && !validName(id.ID) {
		r.fail("id %q", id.ID)
	}
	if r.err != nil {
		return nil, r.err
	}
	id.Sign, _ = ParseSigningKey(seed)
	if kemSeed != nil {
		id.KEM, _ = ParseKEMKey(kemSeed)
	}
	return id, nil
}

// MarshalSecret returns the armoured private key file (PEM block of type
// PENHUB-SECRET-KEY-1 after '#' comment lines naming the id and key ids).
// It contains the private keys: write it only to a 0600 file.
func (id *Identity) MarshalSecret() []byte {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# penhub secret keys of %s: keep private, never send\n", id.ID)
	fmt.Fprintf(&buf, "# sign key id: %s\n", id.Sign.ID())
	if id.KEM != nil {
		fmt.Fprintf(&buf, "# kem key id: %s\n", id.KEM.ID())
	}
	raw := id.marshalSecret()
	_ = pem.Encode(&buf, &pem.Block{Type: secretKeyType, Bytes: raw})
	clear(raw)
	return buf.Bytes()
}

// decodeArmour finds exactly one PEM block of type typ; only '#' comment
// lines and blank lines may surround it.
func decodeArmour(b []byte, typ string) ([]byte, error) {
	rest := b
	for len(rest) > 0 {
		line, after, _ := bytes.Cut(rest, []byte("\n"))
		t := bytes.TrimSpace(line)
		if len(t) != 0 && t[0] != '#' {
			break
		}
		rest = after
	}
	if !bytes.HasPrefix(rest, []byte("-----BEGIN ")) {
		return nil, fmt.Errorf("%w: no %s block (only '#' lines may precede it)", ErrMalformed, typ)
	}
	block, rest := pem.Decode(rest)
	if block == nil {
		return nil, fmt.Errorf("%w: no %s block", ErrMalformed, typ)
	}
	if block.Type != typ {
		return nil, fmt.Errorf("%w: block type %q, want %q", ErrMalformed, block.Type, typ)
	}
	if len(block.Headers) != 0 {
		return nil, fmt.Errorf("%w: unexpected armour headers", ErrMalformed)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: trailing data after %s block", ErrMalformed, typ)
	}
	return block.Bytes, nil
}

// ParseSecret parses the output of [Identity.MarshalSecret].
func ParseSecret(b []byte) (*Identity, error) {
	raw, err := decodeArmour(b, secretKeyType)
	if err != nil {
		return nil, fmt.Errorf("parsing secret key file: %w", err)
	}
	defer clear(raw)
	id, err := unmarshalSecret(raw)
	if err != nil {
		return nil, fmt.Errorf("parsing secret key file: %w", err)
	}
	return id, nil
}

// WriteIdentityFile writes id's private keys to path with mode 0600,
// atomically and durably (temporary file, fsync, link into place, fsync of
// the directory). It never replaces an existing file: if path exists the
// error wraps [fs.ErrExist].
func WriteIdentityFile(path string, id *Identity) error {
	data := id.MarshalSecret()
	defer clear(data)
	if err := writeFileNoClobber(path, data, 0o600); err != nil {
		return fmt.Errorf("writing identity file: %w", err)
	}
	return nil
}

// ReadIdentityFile reads a file written by [WriteIdentityFile]. A file that
// group or others may read is refused (the error wraps [fs.ErrPermission]).
func ReadIdentityFile(path string) (*Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading identity file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading identity file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("reading identity file %q: mode %v: %w (want 0600)", path, st.Mode().Perm(), fs.ErrPermission)
	}
	data, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("reading identity file: %w", err)
	}
	defer clear(data)
	id, err := ParseSecret(data)
	if err != nil {
		return nil, fmt.Errorf("reading identity file %q: %w", path, err)
	}
	return id, nil
}

// writeFileNoClobber writes data to a temporary file in path's directory,
// fsyncs it, hard-links it to path (failing with fs.ErrExist if path
// exists), removes the temporary name and fsyncs the directory.
func writeFileNoClobber(path string, data []byte, perm os.FileMode) error {
	return writeFileVia(path, data, perm, os.Link)
}

// writeFileAtomic is writeFileNoClobber but replaces an existing file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	return writeFileVia(path, data, perm, os.Rename)
}

// writeFileVia writes data to a synced temporary file next to path, puts it
// in place with place(tmp, path) (a link or a rename), and syncs the directory.
func writeFileVia(path string, data []byte, perm os.FileMode, place func(oldpath, newpath string) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := place(tmpName, path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return err
	}
	return nil
}

// PublicKeys is the public half of an identity, as published in the
// directory and handed to the secretariat in a self-signed public file.
type PublicKeys struct {
	ID      string
	SignKey *VerifyKey
	KEMKey  *KEMPublicKey // nil for nodes
}

// signedBody encodes id ‖ sign_pk[1984] ‖ has_kem:u8 ‖ [kem_pk[1216]].
func (p *PublicKeys) signedBody() []byte {
	b := appendStr8(nil, p.ID)
	b = append(b, p.SignKey.Bytes()...)
	if p.KEMKey == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	return append(b, p.KEMKey.Bytes()...)
}

// Fingerprint is what owner and secretariat compare out of band (read
// aloud, by phone): the first 20 bytes of SHA-256("penhub/v1/fingerprint" ‖
// id ‖ public keys) as ten dash-separated groups of four hex digits.
func (p *PublicKeys) Fingerprint() string {
	h := sha256.New()
	h.Write([]byte("penhub/v1/fingerprint"))
	h.Write(p.signedBody())
	x := hex.EncodeToString(h.Sum(nil)[:20])
	groups := make([]string, 0, 10)
	for i := 0; i < len(x); i += 4 {
		groups = append(groups, x[i:i+4])
	}
	return strings.Join(groups, "-")
}

// PublicFile returns the self-signed public key file: '#' comment lines
// (id, key ids, fingerprint) and a PENHUB-PUBLIC-KEYS-1 block holding
// id ‖ sign_pk ‖ has_kem ‖ [kem_pk] ‖ composite signature of all that under
// context "penhub/v1/public-keys". The self-signature proves possession of
// the signing key; the fingerprint ties the file to its owner.
func (id *Identity) PublicFile() ([]byte, error) {
	p := id.Public()
	body := p.signedBody()
	sig, err := id.Sign.Sign(publicKeysContext, body)
	if err != nil {
		return nil, fmt.Errorf("self-signing public keys of %q: %w", id.ID, err)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# penhub public keys of %s\n", p.ID)
	fmt.Fprintf(&buf, "# sign key id: %s\n", p.SignKey.ID())
	if p.KEMKey != nil {
		fmt.Fprintf(&buf, "# kem key id:  %s\n", p.KEMKey.ID())
	}
	fmt.Fprintf(&buf, "# fingerprint: %s\n", p.Fingerprint())
	fmt.Fprintf(&buf, "# compare the fingerprint with the owner out of band before admitting these keys\n")
	_ = pem.Encode(&buf, &pem.Block{Type: publicKeyType, Bytes: append(body, sig...)})
	return buf.Bytes(), nil
}

// ParsePublicFile parses a public key file and verifies its self-signature
// (errors wrap [ErrMalformed] or [ErrSignature]). The comment lines are
// ignored: callers show [PublicKeys.Fingerprint], computed from the keys.
func ParsePublicFile(b []byte) (*PublicKeys, error) {
	raw, err := decodeArmour(b, publicKeyType)
	if err != nil {
		return nil, fmt.Errorf("parsing public key file: %w", err)
	}
	r := &reader{b: raw}
	p := &PublicKeys{ID: r.str8("id")}
	signRaw := r.bytes(VerifyKeySize, "signing key")
	hasKEM := r.u8("kem flag")
	var kemRaw []byte
	switch {
	case r.err != nil:
	case hasKEM == 1:
		kemRaw = r.bytes(KEMPublicKeySize, "kem key")
	case hasKEM != 0:
		r.fail("kem flag %d", hasKEM)
	}
	bodyLen := r.off
	sig := r.bytes(SignatureSize, "self-signature")
	if r.err == nil && r.off != len(raw) {
		r.fail("%d trailing bytes", len(raw)-r.off)
	}
	if r.err == nil && !validName(p.ID) {
		r.fail("id %q", p.ID)
	}
	if r.err != nil {
		return nil, fmt.Errorf("parsing public key file: %w", r.err)
	}
	if p.SignKey, err = ParseVerifyKey(signRaw); err != nil {
		return nil, fmt.Errorf("parsing public key file: %w", err)
	}
	if kemRaw != nil {
		if p.KEMKey, err = ParseKEMPublicKey(kemRaw); err != nil {
			return nil, fmt.Errorf("parsing public key file: %w", err)
		}
	}
	if err := p.SignKey.Verify(publicKeysContext, raw[:bodyLen], sig); err != nil {
		return nil, fmt.Errorf("parsing public key file of %q: self-signature: %w", p.ID, err)
	}
	return p, nil
}
