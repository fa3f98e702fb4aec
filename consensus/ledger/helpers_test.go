package ledger

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/penhub/penhub/crypto"
)

// testCreated is the created_ms of test entries (2026-03-01 UTC).
var testCreated = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli()

// fixture holds the keys of a test hub: authorities INT-INCB (secretariat),
// DE, NL, FR on nodes n1..n3, and builds entries for it.
type fixture struct {
	t       testing.TB
	auth    map[string]*crypto.Identity
	nodes   map[string]*crypto.SigningKey
	home    map[string]string
	genesis []byte
	hub     [32]byte
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{t: t, auth: map[string]*crypto.Identity{}, nodes: map[string]*crypto.SigningKey{}, home: map[string]string{}}
	for _, n := range []string{"n1", "n2", "n3"} {
		k, err := crypto.GenerateSigningKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		f.nodes[n] = k
	}
	for _, a := range [][2]string{{"INT-INCB", "n1"}, {"DE", "n1"}, {"NL", "n2"}, {"FR", "n3"}} {
		f.auth[a[0]] = f.newIdentity(a[0])
		f.home[a[0]] = a[1]
	}
	f.genesis = f.signDir(OpGenesis, "INT-INCB", f.genesisBody(), true, f.signer("INT-INCB"))
	f.hub = sha256.Sum256(f.genesis)
	return f
}

func (f *fixture) newIdentity(id string) *crypto.Identity {
	f.t.Helper()
	ident, err := crypto.GenerateIdentity(rand.Reader, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return ident
}

func fingerprint(node string) string {
	s := sha256.Sum256([]byte("tls " + node))
	return hex.EncodeToString(s[:])
}

func (f *fixture) nodeRecord(id string, voter bool) NodeRecord {
	return NodeRecord{
		ID: id, Raft: "127.0.0.1:1" + id[1:], API: "http://127.0.0.1:2" + id[1:],
		TLSFingerprint: fingerprint(id), CheckpointKey: f.nodes[id].Public().Bytes(), Voter: voter,
	}
}

func (f *fixture) authorityRecord(id string) AuthorityRecord {
	ident := f.auth[id]
	return AuthorityRecord{ID: id, Node: f.home[id], SignKey: ident.Sign.Public().Bytes(), KEMKey: ident.KEM.Public().Bytes()}
}

func (f *fixture) genesisBody() GenesisBody {
	g := GenesisBody{
		HubName: "test hub", CreatedAt: "2026-03-01T00:00:00Z", Secretariat: "INT-INCB",
		Admission: Admission{K: 2, Of: []string{"DE", "NL", "FR"}}, CopyTo: []string{"INT-INCB"},
		CheckpointInterval: 4,
	}
	for _, id := range []string{"INT-INCB", "DE", "NL", "FR"} {
		g.Authorities = append(g.Authorities, f.authorityRecord(id))
	}
	g.Nodes = []NodeRecord{f.nodeRecord("n1", true), f.nodeRecord("n2", true), f.nodeRecord("n3", true)}
	return g
}

func (f *fixture) signer(id string) crypto.Signer {
	if k, ok := f.nodes[id]; ok {
		return crypto.Signer{ID: id, Key: k}
	}
	return crypto.Signer{ID: id, Key: f.auth[id].Sign}
}

// signDir builds a directory entry; genesis entries carry a zero hub id.
func (f *fixture) signDir(op, author string, body any, genesis bool, signers ...crypto.Signer) []byte {
	f.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.signPlain(crypto.KindDirectory, op, author, b, genesis, signers...)
}

func (f *fixture) signPlain(kind crypto.Kind, subtype, author string, body []byte, genesis bool, signers ...crypto.Signer) []byte {
	f.t.Helper()
	h := crypto.Header{Kind: kind, Author: author, Subtype: subtype, CreatedMS: testCreated}
	if !genesis {
		h.HubID = f.hub
	}
	env, err := crypto.SignPlain(rand.Reader, h, body, signers...)
	if err != nil {
		f.t.Fatal(err)
	}
	return env
}

func (f *fixture) dir(op, author string, body any, signers ...crypto.Signer) []byte {
	f.t.Helper()
	return f.signDir(op, author, body, false, signers...)
}

// sealed builds a notice (ref zero) or a response/receipt.
func (f *fixture) sealed(kind crypto.Kind, subtype, author string, ref [16]byte, recipients ...string) []byte {
	f.t.Helper()
	return f.sealedAt(kind, subtype, author, ref, testCreated, recipients...)
}

func (f *fixture) sealedAt(kind crypto.Kind, subtype, author string, ref [16]byte, created int64, recipients ...string) []byte {
	f.t.Helper()
	h := crypto.Header{Kind: kind, HubID: f.hub, Author: author, Subtype: subtype, RefID: ref, CreatedMS: created, Recipients: recipients}
	var rs []crypto.Recipient
	for _, r := range recipients {
		rs = append(rs, crypto.Recipient{ID: r, Key: f.auth[r].KEM.Public()})
	}
	if !slices.Contains(recipients, author) {
		rs = append(rs, crypto.Recipient{ID: author, Key: f.auth[author].KEM.Public()})
	}
	env, err := crypto.Seal(rand.Reader, h, rs, []byte(`{"body":{"x":1}}`), f.signer(author))
	if err != nil {
		f.t.Fatal(err)
	}
	return env
}

func (f *fixture) notice(sender string, recipients ...string) []byte {
	return f.sealed(crypto.KindNotice, "pre_export", sender, [16]byte{}, recipients...)
}

func (f *fixture) response(author string, notice []byte, recipients ...string) []byte {
	return f.sealed(crypto.KindResponse, "", author, entryID(f.t, notice), recipients...)
}

func (f *fixture) cosign(node string, size int64, root [32]byte) []byte {
	f.t.Helper()
	note, err := crypto.SignCheckpoint(crypto.Checkpoint{Origin: crypto.CheckpointOrigin(f.hub), Size: size, Root: root}, node, f.nodes[node])
	if err != nil {
		f.t.Fatal(err)
	}
	return f.signPlain(crypto.KindCosignature, "", node, note, false, f.signer(node))
}

func entryID(t testing.TB, env []byte) [16]byte {
	t.Helper()
	e, err := crypto.Parse(env)
	if err != nil {
		t.Fatal(err)
	}
	return e.EntryID
}

// testLedger is a Ledger plus the raft index of its next log.
type testLedger struct {
	*Ledger
	t    testing.TB
	path string
	next uint64
}

func openTest(t testing.TB) *testLedger {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fsm.db")
	l, err := Open(path, Options{NoSync: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &testLedger{Ledger: l, t: t, path: path, next: 1}
}

// logs wraps envelopes as raft command logs with the next raft indexes.
func (l *testLedger) logs(envs ...[]byte) []*raft.Log {
	out := make([]*raft.Log, len(envs))
	for i, e := range envs {
		out[i] = &raft.Log{Index: l.next, Term: 1, Type: raft.LogCommand, Data: EncodeCommand(e)}
		l.next++
	}
	return out
}

// batch applies envelopes as one batch.
func (l *testLedger) batch(envs ...[]byte) []interface{} {
	return l.ApplyBatch(l.logs(envs...))
}

// apply applies one envelope.
func (l *testLedger) apply(env []byte) interface{} { return l.batch(env)[0] }

// mustApply applies env and fails unless it was accepted.
func (l *testLedger) mustApply(env []byte) *Applied {
	l.t.Helper()
	r := l.apply(env)
	a, ok := r.(*Applied)
	if !ok {
		l.t.Fatalf("apply: got %v, want *Applied", r)
	}
	return a
}

// mustReject applies env and fails unless it was rejected with code.
func (l *testLedger) mustReject(env []byte, code string) {
	l.t.Helper()
	r := l.apply(env)
	rej, ok := r.(*RejectedError)
	if !ok {
		l.t.Fatalf("apply: got %v, want rejection %s", r, code)
	}
	if rej.Code != code {
		l.t.Fatalf("apply: rejected with %s (%s), want %s", rej.Code, rej.Reason, code)
	}
}

func storedIndex(n int64) int64 { return tlog.StoredHashIndex(0, n) }
