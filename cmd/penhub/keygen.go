package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/penhub/penhub/crypto"
	"github.com/penhub/penhub/schema"
)

const keygenUsage = `usage: penhub keygen --id A --out DIR [--json]

Generates a new key pair (composite ML-DSA-65 + Ed25519 signing key, X-Wing KEM
key) for authority A and writes
  DIR/A.key   the private keys (mode 0600): keep it secret; it belongs in the
              keyring of A's home node
  DIR/A.pub   the self-signed public keys: send it to the secretariat, which
              admits A with "penhub authority add --id A --node N --keys A.pub"
and prints the fingerprint, which the secretariat and A compare out of band
(by phone) before the admission. Existing files are never overwritten.
`

func init() {
	register("keygen", "generate an authority's key pair", runKeygen)
}

// runKeygen implements `penhub keygen`.
func runKeygen(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("keygen", flag.ContinueOnError)
	id := fset.String("id", "", "")
	out := fset.String("out", "", "")
	asJSON := fset.Bool("json", false, "")
	rest, code, ok := parseCommand(fset, "keygen", keygenUsage, args, stdout, stderr)
	if !ok {
		return code
	}
	switch {
	case len(rest) > 0:
		return usageError(stderr, "keygen", "unexpected argument %q", rest[0])
	case *id == "" || *out == "":
		return usageError(stderr, "keygen", "--id and --out are required")
	case !schema.ValidAuthorityID(*id):
		return usageError(stderr, "keygen", "%q is not an authority id (DE, NL-CUSTOMS, INT-INCB)", *id)
	}
	privPath := filepath.Join(*out, *id+".key")
	pubPath := filepath.Join(*out, *id+".pub")
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			return fail(stderr, "keygen", fmt.Errorf("%s already exists; keys are never overwritten", p))
		}
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fail(stderr, "keygen", fmt.Errorf("creating output directory: %w", err))
	}
	ident, err := crypto.GenerateIdentity(rand.Reader, *id)
	if err != nil {
		return fail(stderr, "keygen", err)
	}
	pub, err := ident.PublicFile()
	if err != nil {
		return fail(stderr, "keygen", err)
	}
	parsed, err := crypto.ParsePublicFile(pub) // check what we hand out
	if err != nil {
		return fail(stderr, "keygen", fmt.Errorf("checking the public key file: %w", err))
	}
	if err := crypto.WriteIdentityFile(privPath, ident); err != nil {
		return fail(stderr, "keygen", err)
	}
	if err := writeNewFile(pubPath, pub, 0o644); err != nil {
		return fail(stderr, "keygen", fmt.Errorf("writing public key file: %w", err))
	}
	fp := parsed.Fingerprint()
	if *asJSON {
		err := printJSON(stdout, map[string]string{"id": *id, "private_file": privPath, "public_file": pubPath,
			"fingerprint": fp, "sign_key_id": parsed.SignKey.ID().String(), "kem_key_id": parsed.KEMKey.ID().String()})
		if err != nil {
			return fail(stderr, "keygen", err)
		}
		return 0
	}
	fmt.Fprintf(stdout, "private keys: %s (mode 0600; keep it secret)\n", privPath)
	fmt.Fprintf(stdout, "public keys:  %s (send it to the secretariat)\n", pubPath)
	fmt.Fprintf(stdout, "fingerprint:  %s\n", fp)
	fmt.Fprintln(stdout, "Read the fingerprint to the secretariat out of band (by phone) before it admits these keys.")
	return 0
}

// writeNewFile creates path (failing if it exists), writes data and fsyncs.
func writeNewFile(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
