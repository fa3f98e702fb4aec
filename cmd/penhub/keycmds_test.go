package main

import (
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/penhub/penhub/crypto"
	"github.com/penhub/penhub/node"
	"github.com/penhub/penhub/node/tokens"
)

func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := cliRun(t, runToken, "create", "--data-dir", dir, "--authority", "DE", "--role", "focal_point", "--label", "Jane, BfArM", "--expires", "30d")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	secret := strings.TrimSpace(out)
	if !strings.HasPrefix(secret, tokens.SecretPrefix) || strings.Count(out, "\n") != 1 || !strings.Contains(errOut, "only this once") {
		t.Fatalf("stdout %q, stderr %q", out, errOut)
	}
	store, err := tokens.Open(filepath.Join(dir, node.TokensFile))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := store.Authenticate(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if tok.Authority != "DE" || tok.Role != tokens.RoleFocalPoint || tok.Expires == nil || tok.Expires.Sub(tok.Created) != 30*24*time.Hour {
		t.Fatalf("stored %+v", tok)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, node.TokensFile))
	if strings.Contains(string(raw), strings.TrimPrefix(secret, tokens.SecretPrefix)) {
		t.Fatal("the token file holds the secret")
	}

	code, out, _ = cliRun(t, runToken, "create", "--data-dir", dir, "--role", "admin", "--label", "ops", "--json")
	var created struct {
		ID, Role, Token, State string
		Expires                *time.Time
	}
	if code != 0 || json.Unmarshal([]byte(out), &created) != nil || created.Role != "admin" || created.Expires != nil || created.State != "active" {
		t.Fatalf("create --json: exit %d, %q", code, out)
	}
	store, err = tokens.Open(filepath.Join(dir, node.TokensFile)) // no need to wait for the reload
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Authenticate(created.Token, time.Now()); err != nil {
		t.Fatalf("--json token: %v", err)
	}

	if code, _, errOut := cliRun(t, runToken, "revoke", "--data-dir", dir, tok.ID); code != 0 {
		t.Fatalf("revoke: %s", errOut)
	}
	code, out, _ = cliRun(t, runToken, "list", "--data-dir", dir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[1], "revoked") || !strings.Contains(lines[2], "active") || strings.Contains(out, "phk_") {
		t.Fatalf("list:\n%s", out)
	}
	code, out, _ = cliRun(t, runToken, "list", "--data-dir", dir, "--json")
	var list []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || list[0]["hash"] != nil || list[0]["token"] != nil {
		t.Fatalf("list --json: %s", out)
	}

	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{nil, 2, "subcommand"},
		{[]string{"frobnicate", "--data-dir", dir}, 2, "unknown subcommand"},
		{[]string{"create", "--authority", "DE", "--role", "partner", "--label", "x"}, 2, "--data-dir"},
		{[]string{"create", "--data-dir", dir, "--authority", "DE", "--role", "root", "--label", "x"}, 2, "parsing role"},
		{[]string{"create", "--data-dir", dir, "--authority", "DE", "--role", "partner"}, 2, "--label"},
		{[]string{"create", "--data-dir", dir, "--authority", "de", "--role", "partner", "--label", "x"}, 2, "bad authority"},
		{[]string{"create", "--data-dir", dir, "--authority", "DE", "--role", "partner", "--label", "x", "--expires", "soon"}, 2, "--expires"},
		{[]string{"create", "--data-dir", filepath.Join(dir, "nope"), "--authority", "DE", "--role", "partner", "--label", "x"}, 1, "not a directory"},
		{[]string{"revoke", "--data-dir", dir}, 2, "exactly one"},
		{[]string{"revoke", "--data-dir", dir, "000000000000"}, 1, "no such token"},
	} {
		code, out, errOut := cliRun(t, runToken, c.args...)
		if code != c.code || out != "" {
			t.Fatalf("token %q: exit %d (want %d), stdout %q, stderr %q", c.args, code, c.code, out, errOut)
		}
		wantOneErrorLine(t, errOut, c.err)
	}
}

func TestParseLifetime(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "never": 0, "0": 0, "720h": 720 * time.Hour, "90d": 90 * 24 * time.Hour, "1h30m": 90 * time.Minute} {
		if got, err := parseLifetime(in); err != nil || got != want {
			t.Errorf("parseLifetime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"-1h", "0d", "-3d", "d", "1y", "soon"} {
		if _, err := parseLifetime(in); err == nil {
			t.Errorf("parseLifetime(%q) accepted", in)
		}
	}
}

func TestKeygenCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "keys")
	code, stdout, errOut := cliRun(t, runKeygen, "--id", "DE-BKA", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	priv, pub := filepath.Join(out, "DE-BKA.key"), filepath.Join(out, "DE-BKA.pub")
	st, err := os.Stat(priv)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("private file mode %v", st.Mode().Perm())
	}
	ident, err := crypto.ReadIdentityFile(priv)
	if err != nil || ident.ID != "DE-BKA" {
		t.Fatalf("private file: %v", err)
	}
	b, _ := os.ReadFile(pub)
	pk, err := crypto.ParsePublicFile(b)
	if err != nil {
		t.Fatalf("public file: %v", err)
	}
	if pk.ID != "DE-BKA" || !pk.SignKey.Equal(ident.Sign.Public()) {
		t.Fatal("public file does not match the private keys")
	}
	if !strings.Contains(stdout, "fingerprint:  "+pk.Fingerprint()+"\n") {
		t.Fatalf("stdout lacks the fingerprint %s:\n%s", pk.Fingerprint(), stdout)
	}
	// Never overwrite.
	code, _, errOut = cliRun(t, runKeygen, "--id", "DE-BKA", "--out", out)
	if code != 1 {
		t.Fatalf("second keygen: exit %d", code)
	}
	wantOneErrorLine(t, errOut, "already exists")
	if again, _ := crypto.ReadIdentityFile(priv); again == nil || !again.Sign.Equal(ident.Sign) {
		t.Fatal("private file changed")
	}
	for _, args := range [][]string{{"--id", "de", "--out", out}, {"--id", "DE"}, {"--out", out}} {
		if code, _, errOut := cliRun(t, runKeygen, args...); code != 2 {
			t.Fatalf("keygen %q: exit %d, %s", args, code, errOut)
		}
	}
	code, stdout, _ = cliRun(t, runKeygen, "--id", "NL", "--out", out, "--json")
	var j map[string]string
	if code != 0 || json.Unmarshal([]byte(stdout), &j) != nil || j["fingerprint"] == "" || j["kem_key_id"] == "" {
		t.Fatalf("--json: %q", stdout)
	}
}

func TestAuthorityCommand(t *testing.T) {
	s := cliServer(t)
	keys := t.TempDir()
	if code, _, errOut := cliRun(t, runKeygen, "--id", "DE-BKA", "--out", keys); code != 0 {
		t.Fatal(errOut)
	}
	pubPath := filepath.Join(keys, "DE-BKA.pub")
	pub, _ := os.ReadFile(pubPath)
	pk, _ := crypto.ParsePublicFile(pub)

	t.Setenv("PENHUB_TOKEN", cliTokINCB)
	code, out, errOut := cliRun(t, runAuthority, "add", "--id", "DE-BKA", "--node", "node1", "--keys", pubPath)
	if code != 0 || !strings.Contains(out, pk.Fingerprint()) {
		t.Fatalf("add: exit %d, %q, %q", code, out, errOut)
	}
	if got, _ := s.Admitted("DE-BKA"); got != string(pub) {
		t.Fatal("public_keys not sent as the file's text")
	}
	code, _, errOut = cliRun(t, runAuthority, "add", "--id", "NL-CUSTOMS", "--node", "node1", "--keys", pubPath)
	if code != 1 {
		t.Fatalf("keys of another authority: exit %d", code)
	}
	wantOneErrorLine(t, errOut, `holds the keys of "DE-BKA"`)
	code, _, errOut = cliRun(t, runAuthority, "add", "--id", "DE-BKA", "--node", s.URL, "--keys", pubPath)
	if code != 2 {
		t.Fatalf("URL as home node: exit %d", code)
	}
	wantOneErrorLine(t, errOut, "home node id")

	code, out, _ = cliRun(t, runAuthority, "revoke", "--id", "DE-BKA", "--reason", "test over", "--json")
	var res struct {
		Op    string `json:"op"`
		Index uint64 `json:"index"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Op != "revoke_authority" {
		t.Fatalf("revoke --json: exit %d, %q", code, out)
	}
	if code, _, _ := cliRun(t, runAuthority, "revoke", "--id", "NL"); code != 2 {
		t.Fatal("revoke without reason accepted")
	}
	t.Setenv("PENHUB_TOKEN", cliTokDE)
	code, _, errOut = cliRun(t, runAuthority, "revoke", "--id", "NL", "--reason", "x")
	if code != 1 {
		t.Fatalf("revoke by DE: exit %d", code)
	}
	wantOneErrorLine(t, errOut, "forbidden")
	code, out, errOut = cliRun(t, runAuthority, "rotate", "--id", "DE", "--reason", "yearly")
	if code != 0 || !strings.Contains(out, "rotated the keys of DE") {
		t.Fatalf("rotate: exit %d, %q, %q", code, out, errOut)
	}
	reqs := s.Requests()
	if last := reqs[len(reqs)-1]; last.Path != "/v1/directory/authorities/DE/rotate" || string(last.Body) != `{"reason":"yearly"}` {
		t.Fatalf("rotate sent %s %s", last.Path, last.Body)
	}
	for _, args := range [][]string{nil, {"frob", "--id", "DE"}, {"rotate"}, {"rotate", "--id", "de"}} {
		if code, _, errOut := cliRun(t, runAuthority, args...); code != 2 {
			t.Fatalf("authority %q: exit %d, %s", args, code, errOut)
		}
	}
}

func TestForgetKey(t *testing.T) {
	dataDir := t.TempDir()
	ring, err := crypto.OpenKeyring(filepath.Join(dataDir, node.KeyringDir))
	if err != nil {
		t.Fatal(err)
	}
	old, err := crypto.GenerateIdentity(rand.Reader, "DE")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := crypto.GenerateIdentity(rand.Reader, "DE")
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.Add(old); err != nil {
		t.Fatal(err)
	}
	if err := ring.Add(cur); err != nil {
		t.Fatal(err)
	}
	if err := ring.SetCurrent("DE", cur.Sign.ID()); err != nil {
		t.Fatal(err)
	}
	oldKEM, curKEM := old.KEM.ID().String(), cur.KEM.ID().String()

	code, _, errOut := cliRun(t, runAuthority, "forget-key", "--data-dir", dataDir, "--id", "DE", "--key", curKEM)
	if code != 1 {
		t.Fatalf("forgetting the current key: exit %d", code)
	}
	wantOneErrorLine(t, errOut, "rotate first")
	code, out, errOut := cliRun(t, runAuthority, "forget-key", "--data-dir", dataDir, "--id", "DE", "--key", oldKEM)
	if code != 0 || !strings.Contains(out, oldKEM) {
		t.Fatalf("forget: exit %d, %q, %q", code, out, errOut)
	}
	reopened, err := crypto.OpenKeyring(filepath.Join(dataDir, node.KeyringDir))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := reopened.KEMKeyByID("DE", old.KEM.ID()); ok {
		t.Fatal("the forgotten key is still in the keyring")
	}
	if _, ok := reopened.KEMKeyByID("DE", cur.KEM.ID()); !ok {
		t.Fatal("the current key was lost")
	}
	code, _, errOut = cliRun(t, runAuthority, "forget-key", "--data-dir", dataDir, "--id", "DE", "--key", oldKEM)
	if code != 1 {
		t.Fatalf("forgetting twice: exit %d", code)
	}
	wantOneErrorLine(t, errOut, "holds no KEM key")
	if code, _, _ := cliRun(t, runAuthority, "forget-key", "--data-dir", dataDir, "--id", "DE", "--key", "xyz"); code != 2 {
		t.Fatal("bad key id accepted")
	}
	if code, _, _ := cliRun(t, runAuthority, "forget-key", "--data-dir", t.TempDir(), "--id", "DE", "--key", oldKEM); code != 1 {
		t.Fatal("data dir without keyring accepted")
	}
}
