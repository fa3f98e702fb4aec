package tokens

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

func TestCreateAuthenticate(t *testing.T) {
	s, path := openTemp(t)
	secret, tok, err := s.Create("DE", RoleFocalPoint, "Jane, BfArM", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, SecretPrefix) || len(secret) != len(SecretPrefix)+43 {
		t.Fatalf("secret %q: want phk_ + 43 base64url characters", secret)
	}
	if len(tok.ID) != 12 || tok.Authority != "DE" || tok.Role != RoleFocalPoint || tok.Expires != nil || tok.Revoked {
		t.Fatalf("token %+v", tok)
	}
	got, err := s.Authenticate(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != tok.ID || got.Authority != "DE" || got.Label != "Jane, BfArM" {
		t.Fatalf("authenticated %+v, want %+v", got, tok)
	}

	for _, bad := range []string{"", "phk_", secret + "x", secret[:len(secret)-1], strings.TrimPrefix(secret, SecretPrefix), "Bearer " + secret, tok.Hash, tok.ID} {
		if _, err := s.Authenticate(bad, time.Now()); !errors.Is(err, ErrUnknown) {
			t.Errorf("Authenticate(%q) = %v, want ErrUnknown", bad, err)
		}
	}

	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", st.Mode().Perm())
	}
	// A fresh store on the same file knows the token too.
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Authenticate(secret, time.Now()); err != nil {
		t.Fatalf("second store: %v", err)
	}
}

func TestHashOnlyStorage(t *testing.T) {
	s, path := openTemp(t)
	var secrets []string
	for i := range 5 {
		secret, _, err := s.Create("NL", RolePartner, fmt.Sprintf("partner %d", i), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, secret)
	}
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range secrets {
			body := strings.TrimPrefix(secret, SecretPrefix)
			if bytes.Contains(b, []byte(body)) || bytes.Contains(b, []byte(body[:16])) {
				t.Fatalf("%s contains (part of) a secret", e.Name())
			}
		}
	}
	if len(entries) != 2 { // tokens.json and tokens.json.lock; no temp files left
		t.Errorf("directory holds %d files, want tokens.json and its lock", len(entries))
	}
}

func TestCreateRejects(t *testing.T) {
	s, _ := openTemp(t)
	cases := []struct {
		name      string
		authority string
		role      Role
		label     string
		ttl       time.Duration
	}{
		{"unknown role", "DE", "root", "x", 0},
		{"admin with authority", "DE", RoleAdmin, "x", 0},
		{"focal point without authority", "", RoleFocalPoint, "x", 0},
		{"bad authority", "de", RoleFocalPoint, "x", 0},
		{"bad authority suffix", "DE-", RolePartner, "x", 0},
		{"empty label", "DE", RoleFocalPoint, "", 0},
		{"blank label", "DE", RoleFocalPoint, "   ", 0},
		{"control in label", "DE", RoleFocalPoint, "a\nb", 0},
		{"long label", "DE", RoleFocalPoint, strings.Repeat("x", 201), 0},
		{"negative ttl", "DE", RoleFocalPoint, "x", -time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := s.Create(c.authority, c.role, c.label, c.ttl); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Create = %v, want ErrInvalid", err)
			}
		})
	}
	if n := len(s.List()); n != 0 {
		t.Fatalf("%d tokens after rejected creates", n)
	}
	for _, ok := range []struct {
		a string
		r Role
	}{{"", RoleAdmin}, {"INT-INCB", RoleFocalPoint}, {"NL-CUSTOMS", RolePartner}, {"IN", RoleAuditor}} {
		if _, _, err := s.Create(ok.a, ok.r, "ok", 0); err != nil {
			t.Errorf("Create(%q, %q): %v", ok.a, ok.r, err)
		}
	}
}

func TestExpiry(t *testing.T) {
	s, _ := openTemp(t)
	secret, tok, err := s.Create("DE", RolePartner, "temp", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Expires == nil || !tok.Expires.Equal(tok.Created.Add(time.Hour)) {
		t.Fatalf("expires %v, created %v", tok.Expires, tok.Created)
	}
	if _, err := s.Authenticate(secret, tok.Expires.Add(-time.Nanosecond)); err != nil {
		t.Fatalf("just before expiry: %v", err)
	}
	if _, err := s.Authenticate(secret, *tok.Expires); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expiry: %v, want ErrExpired", err)
	}
	if got := tok.State(tok.Expires.Add(time.Minute)); got != "expired" {
		t.Errorf("State = %q", got)
	}
}

func TestRevoke(t *testing.T) {
	s, path := openTemp(t)
	secret, tok, err := s.Create("DE", RoleFocalPoint, "a", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := s.Create("DE", RoleFocalPoint, "b", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(tok.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(tok.ID); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := s.Authenticate(secret, time.Now()); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked token: %v", err)
	}
	// Revoked wins over expired.
	if _, err := s.Authenticate(secret, time.Now().Add(2*time.Hour)); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked and expired token: %v", err)
	}
	if _, err := s.Authenticate(other, time.Now()); err != nil {
		t.Fatalf("other token: %v", err)
	}
	if err := s.Revoke("000000000000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	list := s2.List()
	if len(list) != 2 || !list[0].Revoked || list[1].Revoked {
		t.Fatalf("list after revoke: %+v", list)
	}
}

func TestSecondStoreSeesChanges(t *testing.T) {
	s1, path := openTemp(t)
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s2.reloadEvery = 0 // stat on every call; the 500 ms bound is tested below

	secret, tok, err := s1.Create("NL", RoleFocalPoint, "from the CLI", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Authenticate(secret, time.Now()); err != nil {
		t.Fatalf("s2 does not see a token created through s1: %v", err)
	}
	if err := s1.Revoke(tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Authenticate(secret, time.Now()); !errors.Is(err, ErrRevoked) {
		t.Fatalf("s2 does not see the revocation: %v", err)
	}
	// Writes through s2 keep s1's token.
	if _, _, err := s2.Create("NL", RolePartner, "from the node", 0); err != nil {
		t.Fatal(err)
	}
	if n := len(s1.List()); n != 2 {
		t.Fatalf("s1 lists %d tokens, want 2", n)
	}
}

// TestReloadThrottled: a known token does not cost a stat per request (a
// revocation by another process shows within reloadEvery), while an unknown
// secret re-checks the file at once, so a token just created works at once.
func TestReloadThrottled(t *testing.T) {
	s1, path := openTemp(t)
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s2.reloadEvery = time.Hour
	s2.Authenticate("phk_x", time.Now()) // sets lastCheck
	time.Sleep(60 * time.Millisecond)    // unknown secrets force a check at most every 50 ms
	secret, tok, err := s1.Create("NL", RoleFocalPoint, "x", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Authenticate(secret, time.Now()); err != nil {
		t.Fatalf("a token created by another process does not work at once: %v", err)
	}
	if err := s1.Revoke(tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Authenticate(secret, time.Now()); err != nil {
		t.Fatalf("throttled store reloaded early for a known token: %v", err)
	}
	s2.reloadEvery = reloadEvery
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s2.Authenticate(secret, time.Now())
		if errors.Is(err, ErrRevoked) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revocation not seen after 10 s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCorruptFileNotOverwritten(t *testing.T) {
	s, path := openTemp(t)
	secret, _, err := s.Create("DE", RoleFocalPoint, "x", 0)
	if err != nil {
		t.Fatal(err)
	}
	bad := []byte(`{"version":1,"tokens":[{"id":"a","hash":"zz"}]}`)
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open corrupt file: %v, want ErrCorrupt", err)
	}
	if _, _, err := s.Create("DE", RoleFocalPoint, "y", 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Create over corrupt file: %v, want ErrCorrupt", err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, bad) {
		t.Fatal("corrupt file was overwritten")
	}
	// The running store keeps its last good state.
	s.reloadEvery = 0
	if _, err := s.Authenticate(secret, time.Now()); err != nil {
		t.Fatalf("last good state lost: %v", err)
	}
	for _, doc := range []string{
		`{"version":2,"tokens":[]}`,
		`{"version":1,"tokens":[],"extra":1}`,
		`{"version":1,"tokens":[]} {}`,
		`{"version":1,"tokens":[{"id":"a","role":"root","hash":"` + strings.Repeat("00", 32) + `"}]}`,
	} {
		if _, err := parse([]byte(doc)); err == nil {
			t.Errorf("parse(%s) accepted", doc)
		}
	}
}

func TestConcurrentWriters(t *testing.T) {
	_, path := openTemp(t)
	const stores, each = 4, 15
	var wg sync.WaitGroup
	secrets := make(chan string, stores*each)
	errs := make(chan error, stores*each)
	for i := range stores {
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for j := range each {
				secret, _, err := s.Create("DE", RolePartner, fmt.Sprintf("w%d-%d", i, j), 0)
				if err != nil {
					errs <- err
					return
				}
				secrets <- secret
			}
		})
	}
	wg.Wait()
	close(errs)
	close(secrets)
	for err := range errs {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.List()); n != stores*each {
		t.Fatalf("%d tokens stored, want %d (writers lost tokens)", n, stores*each)
	}
	for secret := range secrets {
		if _, err := s.Authenticate(secret, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConcurrentProcesses runs writers in child processes (this test binary
// re-executed), as the CLI and the node are.
func TestConcurrentProcesses(t *testing.T) {
	if os.Getenv("PENHUB_TOKENS_CHILD") != "" {
		return
	}
	_, path := openTemp(t)
	const procs, each = 3, 10
	var cmds []*exec.Cmd
	for i := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestChildWriter$")
		cmd.Env = append(os.Environ(), "PENHUB_TOKENS_CHILD="+path, "PENHUB_TOKENS_N="+strconv.Itoa(each), "PENHUB_TOKENS_W="+strconv.Itoa(i))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Log(out.String())
			}
		})
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.List()); n != procs*each {
		t.Fatalf("%d tokens stored, want %d", n, procs*each)
	}
}

func TestChildWriter(t *testing.T) {
	path := os.Getenv("PENHUB_TOKENS_CHILD")
	if path == "" {
		t.Skip("only run as a child of TestConcurrentProcesses")
	}
	n, _ := strconv.Atoi(os.Getenv("PENHUB_TOKENS_N"))
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for j := range n {
		if _, _, err := s.Create("IN", RoleAuditor, "child "+os.Getenv("PENHUB_TOKENS_W")+"-"+strconv.Itoa(j), 0); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range Roles {
		if got, err := ParseRole(string(r)); err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	if _, err := ParseRole("Admin"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseRole(Admin) = %v", err)
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	path := filepath.Join(b.TempDir(), FileName)
	s, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	var secret string
	for i := range 50 {
		secret, _, err = s.Create("DE", RolePartner, "p"+strconv.Itoa(i), 0)
		if err != nil {
			b.Fatal(err)
		}
	}
	now := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Authenticate(secret, now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
