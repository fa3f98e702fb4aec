package ledger

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/penhub/penhub/crypto"
)

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Writer(tWriter{t}), nil))
}

func TestGenesisNoticeResponse(t *testing.T) {
	f := newFixture(t)
	l := openTest(t)
	g := l.mustApply(f.genesis)
	if g.Index != 0 || l.HubID() != f.hub || g.Kind != crypto.KindDirectory {
		t.Fatalf("genesis: %+v, hub %x", g, l.HubID())
	}
	n := f.notice("DE", "NL", "FR")
	a := l.mustApply(n)
	if a.Index != 1 || a.Reference != "DE-2026-000001" {
		t.Fatalf("notice: %+v", a)
	}
	r := l.mustApply(f.response("NL", n, "DE", "FR"))
	if r.Index != 2 {
		t.Fatalf("response: %+v", r)
	}
	refs, err := l.Refs(a.ID)
	if err != nil || len(refs) != 1 || refs[0] != 2 {
		t.Fatalf("refs: %v %v", refs, err)
	}
	list, err := l.ListByAuthority("DE", Newest, 10)
	if err != nil || len(list) != 2 || list[0] != 2 || list[1] != 1 {
		t.Fatalf("list DE: %v %v", list, err)
	}
	var dup *DuplicateError
	if err := l.Check(n); !errors.As(err, &dup) || dup.Index != 1 {
		t.Fatalf("Check of a duplicate: %v", err)
	}
	if err := l.Check(f.notice("NL", "DE")); err != nil {
		t.Fatalf("Check of a valid notice: %v", err)
	}
	if d := l.apply(n); d.(*DuplicateError).Index != 1 {
		t.Fatalf("dup: %v", d)
	}
	if err := closeAndVerify(t, l); err != nil {
		t.Fatal(err)
	}
}

// closeAndVerify closes l and runs VerifyStore on its file with its hub id.
func closeAndVerify(t *testing.T, l *testLedger) error {
	t.Helper()
	hub := l.HubID()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return VerifyStore(l.path, &hub, nil)
}

func TestEntryRejections(t *testing.T) {
	f := newFixture(t)
	l := genesisLedger(t, f)
	n := f.notice("DE", "NL", "FR")
	nA := l.mustApply(n)
	l.mustApply(f.response("NL", n, "DE", "FR")) // entry 2
	stranger := f.newIdentity("DE")              // a DE key the directory does not know
	xx := f.newIdentity("XX")
	f.auth["XX"] = xx

	flip := func(b []byte, at int) []byte {
		c := bytes.Clone(b)
		if at < 0 {
			at += len(c)
		}
		c[at] ^= 0x01
		return c
	}
	otherHub := func() []byte {
		g := *f
		g.hub[0] ^= 1
		return g.notice("DE", "NL")
	}
	strangerNotice := func() []byte {
		g := *f
		g.auth = map[string]*crypto.Identity{"DE": stranger, "NL": f.auth["NL"]}
		return g.notice("DE", "NL")
	}
	var random [16]byte
	random[0] = 7
	tests := []struct {
		name string
		cmd  []byte // a raw command (nil: EncodeCommand(env))
		env  []byte
		code string
	}{
		{name: "empty command", cmd: []byte{}, code: CodeMalformed},
		{name: "unknown command type", cmd: append([]byte{0x02}, f.notice("DE", "NL")...), code: CodeMalformed},
		{name: "truncated envelope", env: f.notice("DE", "NL")[:200], code: CodeMalformed},
		{name: "trailing byte", env: append(f.notice("DE", "NL"), 0), code: CodeMalformed},
		{name: "other hub", env: otherHub(), code: CodeWrongHub},
		{name: "flipped signature byte", env: flip(f.notice("DE", "NL"), -1), code: CodeBadSignature},
		{name: "flipped ciphertext byte", env: flip(f.notice("DE", "NL"), -3400), code: CodeBadSignature},
		{name: "flipped ML-DSA half", env: flip(f.notice("DE", "NL"), -100), code: CodeBadSignature},
		{name: "unknown signing key", env: strangerNotice(), code: CodeUnknownSigner},
		{name: "unknown author", env: f.notice("XX", "DE"), code: CodeUnknownSigner},
		{name: "unknown recipient", env: f.notice("DE", "XX"), code: CodeUnknownRecipient},
		{name: "response to an unknown notice", env: f.sealed(crypto.KindResponse, "", "NL", random, "DE", "FR"), code: CodeUnknownNotice},
		{name: "response to a response", env: f.sealed(crypto.KindResponse, "", "DE", entryID(t, l.mustEntry(2)), "NL"), code: CodeUnknownNotice},
		{name: "response by a non-party", env: f.response("INT-INCB", n, "DE", "NL", "FR"), code: CodeNotAuthorized},
		{name: "response with wrong recipients", env: f.response("NL", n, "DE"), code: CodeUnknownRecipient},
		{name: "response with an extra recipient", env: f.response("NL", n, "DE", "FR", "INT-INCB"), code: CodeUnknownRecipient},
		{name: "receipt with a subtype", env: f.sealed(crypto.KindReceipt, "read", "NL", nA.ID, "DE", "FR"), code: CodeMalformed},
		{name: "notice without a type", env: f.sealed(crypto.KindNotice, "", "DE", [16]byte{}, "NL"), code: CodeMalformed},
		{name: "cosignature by an authority", env: f.signPlain(crypto.KindCosignature, "", "DE", []byte("x"), false, f.signer("DE")), code: CodeNotAuthorized},
		{name: "cosignature not signed by its author", env: f.signPlain(crypto.KindCosignature, "", "n1", []byte("x"), false, f.signer("n2")), code: CodeNotAuthorized},
		{name: "cosignature of a future size", env: f.cosign("n1", 99, [32]byte{}), code: CodeBadCheckpoint},
		{name: "cosignature with a garbage note", env: f.signPlain(crypto.KindCosignature, "", "n1", []byte("not a note"), false, f.signer("n1")), code: CodeBadCheckpoint},
		{name: "cosignature note by another node", env: func() []byte {
			g := *f
			g.nodes = map[string]*crypto.SigningKey{"n1": f.nodes["n2"]}
			note, _ := crypto.SignCheckpoint(crypto.Checkpoint{Origin: crypto.CheckpointOrigin(f.hub), Size: 1, Root: [32]byte{}}, "n1", f.nodes["n2"])
			return f.signPlain(crypto.KindCosignature, "", "n1", note, false, f.signer("n1"))
		}(), code: CodeBadCheckpoint},
		{name: "cosignature of another hub's tree", env: func() []byte {
			note, _ := crypto.SignCheckpoint(crypto.Checkpoint{Origin: "penhub/00", Size: 1, Root: [32]byte{}}, "n1", f.nodes["n1"])
			return f.signPlain(crypto.KindCosignature, "", "n1", note, false, f.signer("n1"))
		}(), code: CodeBadCheckpoint},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l.t = t
			size, root := l.TreeHead()
			if tc.cmd == nil {
				var rej *RejectedError
				if err := l.Check(tc.env); !errors.As(err, &rej) || rej.Code != tc.code {
					t.Fatalf("Check: %v, want %s", err, tc.code)
				}
			}
			cmd := tc.cmd
			if cmd == nil {
				cmd = EncodeCommand(tc.env)
			}
			r := l.ApplyBatch([]*raft.Log{{Index: l.next, Type: raft.LogCommand, Data: cmd}})[0]
			l.next++
			rej, ok := r.(*RejectedError)
			if !ok || rej.Code != tc.code {
				t.Fatalf("got %v, want %s", r, tc.code)
			}
			if s2, r2 := l.TreeHead(); s2 != size || r2 != root {
				t.Fatal("rejected entry changed the tree")
			}
			if l.AppliedRaftIndex() != l.next-1 {
				t.Fatal("applied raft index not advanced")
			}
		})
	}
}

func (l *testLedger) mustEntry(i uint64) []byte {
	l.t.Helper()
	e, err := l.Entry(i)
	if err != nil {
		l.t.Fatal(err)
	}
	return e.Raw
}

func TestReferencesPerSenderAndYear(t *testing.T) {
	f := newFixture(t)
	l := genesisLedger(t, f)
	y2027 := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	want := []struct {
		env []byte
		ref string
	}{
		{f.notice("DE", "NL"), "DE-2026-000001"},
		{f.notice("NL", "DE"), "NL-2026-000001"},
		{f.notice("DE", "FR"), "DE-2026-000002"},
		{f.sealedAt(crypto.KindNotice, "alert", "DE", [16]byte{}, y2027-1, "FR"), "DE-2026-000003"},
		{f.sealedAt(crypto.KindNotice, "alert", "DE", [16]byte{}, y2027, "FR"), "DE-2027-000001"},
		{f.sealed(crypto.KindNotice, "incident", "INT-INCB", [16]byte{}, "FR"), "INT-INCB-2026-000001"},
	}
	for _, w := range want {
		a := l.mustApply(w.env)
		if a.Reference != w.ref {
			t.Fatalf("reference %q, want %q", a.Reference, w.ref)
		}
		e, err := l.EntryByID(a.ID)
		if err != nil || e.Reference != w.ref || e.Index != a.Index || !bytes.Equal(e.Raw, w.env) {
			t.Fatalf("EntryByID: %+v %v", e, err)
		}
	}
	if _, err := l.EntryByID([16]byte{1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := l.Entry(99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown index: %v", err)
	}
}

func TestListByAuthorityPaging(t *testing.T) {
	f := newFixture(t)
	l := genesisLedger(t, f)
	var de []uint64
	for i := range 12 {
		var env []byte
		switch i % 3 {
		case 0:
			env = f.notice("DE", "NL")
		case 1:
			env = f.notice("NL", "DE", "FR")
		default:
			env = f.notice("FR", "NL")
		}
		a := l.mustApply(env)
		if i%3 != 2 {
			de = append(de, a.Index)
		}
	}
	slices.Reverse(de)
	var got []uint64
	for before := Newest; ; {
		page, err := l.ListByAuthority("DE", before, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		before = page[len(page)-1]
	}
	if !slices.Equal(got, de) {
		t.Fatalf("paged %v, want %v", got, de)
	}
	if got, _ := l.ListByAuthority("D", Newest, 100); len(got) != 0 {
		t.Fatalf("prefix authority matched: %v", got)
	}
}

// history of mixed entries, some of them invalid, used by the equivalence
// tests.
func mixedHistory(t *testing.T, f *fixture) [][]byte {
	n1 := f.notice("DE", "NL", "FR")
	n2 := f.notice("NL", "DE")
	fresh := f.newIdentity("FR")
	oldFR := f.auth["FR"]
	defer func() { f.auth["FR"] = oldFR }()
	var h [][]byte
	h = append(h, f.genesis, n1, n2, n1, // n1 again: duplicate
		f.response("NL", n1, "DE", "FR"),
		f.response("FR", n1, "DE"), // wrong recipients
		f.dir(OpRotateKeys, "FR", RotateBody{ID: "FR", SignKey: fresh.Sign.Public().Bytes(), KEMKey: fresh.KEM.Public().Bytes()}, f.signer("FR"), crypto.Signer{ID: "FR", Key: fresh.Sign}),
		f.notice("FR", "DE"),       // old FR key: rejected after the rotation
		f.response("DE", n2, "NL"), // fine
		[]byte("garbage"),          // malformed
		f.notice("DE", "FR"),       // stanza for FR's old KEM key: rejected
		f.dir(OpRevokeAuthority, "INT-INCB", RevokeBody{ID: "NL"}, f.signer("INT-INCB")),
		f.response("DE", n1, "NL", "FR"), // NL revoked: rejected
	)
	f.auth["FR"] = fresh
	h = append(h, f.response("FR", n1, "DE"), f.notice("FR", "DE"))
	return h
}

func TestBatchEqualsOneByOne(t *testing.T) {
	f := newFixture(t)
	h := mixedHistory(t, f)
	one := openTest(t)
	var r1 []interface{}
	for _, e := range h {
		r1 = append(r1, one.apply(e))
	}
	all := openTest(t)
	r2 := all.batch(h...)
	chunks := openTest(t)
	var r3 []interface{}
	for i := 0; i < len(h); i += 4 {
		r3 = append(r3, chunks.batch(h[i:min(i+4, len(h))]...)...)
	}
	for i := range h {
		if !sameResponse(r1[i], r2[i]) || !sameResponse(r1[i], r3[i]) {
			t.Fatalf("entry %d: one by one %v, batch %v, chunks %v", i, r1[i], r2[i], r3[i])
		}
	}
	accepted := 0
	for _, r := range r1 {
		if _, ok := r.(*Applied); ok {
			accepted++
		}
	}
	if accepted != 9 {
		t.Fatalf("%d accepted, want 9: %v", accepted, r1)
	}
	assertSameLedger(t, one.Ledger, all.Ledger)
	assertSameLedger(t, one.Ledger, chunks.Ledger)
	st := all.Stats()
	if st.Batches != 1 || st.Accepted != 9 || st.Duplicates != 1 || st.Rejected[CodeUnknownRecipient] != 3 || st.Rejected[CodeMalformed] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func sameResponse(a, b interface{}) bool {
	switch x := a.(type) {
	case *Applied:
		y, ok := b.(*Applied)
		return ok && *x == *y
	case *RejectedError:
		y, ok := b.(*RejectedError)
		return ok && *x == *y
	case *DuplicateError:
		y, ok := b.(*DuplicateError)
		return ok && *x == *y
	}
	return a == b
}

// assertSameLedger compares the replicated state of two ledgers: tree,
// entries, references, directory, checkpoints, alarms, indexes.
func assertSameLedger(t *testing.T, a, b *Ledger) {
	t.Helper()
	sa, ra := a.TreeHead()
	sb, rb := b.TreeHead()
	if sa != sb || ra != rb || a.HubID() != b.HubID() {
		t.Fatalf("tree heads differ: %d %s vs %d %s", sa, ra, sb, rb)
	}
	for i := range sa {
		ea, err1 := a.Entry(i)
		eb, err2 := b.Entry(i)
		if err1 != nil || err2 != nil || !bytes.Equal(ea.Raw, eb.Raw) || ea.Reference != eb.Reference {
			t.Fatalf("entry %d differs", i)
		}
	}
	assertSameDirectory(t, a.Directory(), b.Directory())
	if !slices.Equal(a.Alarms(), b.Alarms()) {
		t.Fatalf("alarms differ: %v vs %v", a.Alarms(), b.Alarms())
	}
	ca, cb := a.Checkpoints(), b.Checkpoints()
	if len(ca) != len(cb) {
		t.Fatalf("checkpoints differ")
	}
	for i := range ca {
		if ca[i].Size != cb[i].Size || ca[i].Node != cb[i].Node || !bytes.Equal(ca[i].Note, cb[i].Note) {
			t.Fatalf("checkpoint %d differs", i)
		}
	}
	for _, id := range a.Directory().ActiveAuthorities() {
		la, _ := a.ListByAuthority(id, Newest, 1000)
		lb, _ := b.ListByAuthority(id, Newest, 1000)
		if !slices.Equal(la, lb) {
			t.Fatalf("lists of %s differ: %v vs %v", id, la, lb)
		}
	}
}

func TestRestartReplayIsHarmless(t *testing.T) {
	f := newFixture(t)
	h := mixedHistory(t, f)
	l := openTest(t)
	logs := l.logs(h...)
	l.ApplyBatch(logs[:8])
	l.ApplyBatch(logs[8:])
	size, root := l.TreeHead()
	applied := l.AppliedRaftIndex()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	re, err := Open(l.path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	if re.AppliedRaftIndex() != applied {
		t.Fatalf("applied raft index %d, want %d", re.AppliedRaftIndex(), applied)
	}
	// raft replays every log after its last snapshot: all of them here.
	resp := re.ApplyBatch(logs)
	for i, r := range resp {
		if r != nil {
			t.Fatalf("replayed log %d answered %v", i, r)
		}
	}
	if s2, r2 := re.TreeHead(); s2 != size || r2 != root {
		t.Fatal("replay changed the tree")
	}
	// A configuration log advances the applied index and nothing else.
	r := re.ApplyBatch([]*raft.Log{{Index: applied + 1, Type: raft.LogConfiguration}})
	if r[0] != nil || re.AppliedRaftIndex() != applied+1 || re.Size() != size {
		t.Fatalf("configuration log: %v, applied %d", r[0], re.AppliedRaftIndex())
	}
}

func TestTwoLedgersSameLogs(t *testing.T) {
	f := newFixture(t)
	h := mixedHistory(t, f)
	a, b := openTest(t), openTest(t)
	a.Ledger.opts.VerifyWorkers = 1
	b.Ledger.opts.VerifyWorkers = 8
	logs := a.logs(h...)
	for i := 0; i < len(logs); i += 3 { // a: batches of 3, b: batches of 5
		a.ApplyBatch(logs[i:min(i+3, len(logs))])
	}
	for i := 0; i < len(logs); i += 5 {
		b.ApplyBatch(logs[i:min(i+5, len(logs))])
	}
	assertSameLedger(t, a.Ledger, b.Ledger)
}

func TestSnapshotRestore(t *testing.T) {
	f := newFixture(t)
	h := mixedHistory(t, f)
	src := openTest(t)
	src.batch(h...)
	snap, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release() // Close waits for open read transactions
	// Entries applied after Snapshot are not in it.
	src.mustApply(f.notice("DE", "INT-INCB"))
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	if !sink.closed {
		t.Fatal("sink not closed")
	}

	dst := openTest(t)
	dst.mustApply(f.genesis) // prior state is thrown away
	_, changed := dst.Changed()
	if err := dst.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("Restore did not signal Changed")
	}
	if dst.Size() != src.Size()-1 {
		t.Fatalf("restored size %d, want %d", dst.Size(), src.Size()-1)
	}
	// Apply the same last entry: both are identical again.
	dst.next = src.next - 1
	dst.ApplyBatch([]*raft.Log{{Index: src.next - 1, Type: raft.LogCommand, Data: EncodeCommand(src.mustEntry(src.Size() - 1))}})
	assertSameLedger(t, src.Ledger, dst.Ledger)
	if dst.AppliedRaftIndex() != src.AppliedRaftIndex() {
		t.Fatalf("applied raft index %d vs %d", dst.AppliedRaftIndex(), src.AppliedRaftIndex())
	}
	// A broken stream leaves the state as it was.
	size, root := dst.TreeHead()
	if err := dst.Restore(io.NopCloser(bytes.NewReader([]byte("not a database")))); err == nil {
		t.Fatal("restored garbage")
	}
	if s2, r2 := dst.TreeHead(); s2 != size || r2 != root {
		t.Fatal("failed restore changed the state")
	}
	if _, err := dst.Entry(1); err != nil {
		t.Fatalf("reads after failed restore: %v", err)
	}
}

type memSink struct {
	bytes.Buffer
	closed, cancelled bool
}

func (s *memSink) ID() string    { return "test" }
func (s *memSink) Close() error  { s.closed = true; return nil }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }

func TestCosignatures(t *testing.T) {
	f := newFixture(t)
	l := genesisLedger(t, f)
	l.mustApply(f.notice("DE", "NL"))
	size, root := l.TreeHead()
	l.mustApply(f.cosign("n1", int64(size), root))
	l.mustApply(f.cosign("n2", int64(size), root))
	if len(l.Alarms()) != 0 {
		t.Fatalf("alarms: %v", l.Alarms())
	}
	// A checkpoint of another tree at the same size: accepted, alarm.
	bad := root
	bad[0] ^= 1
	a := l.mustApply(f.cosign("n3", int64(size), bad))
	al := l.AlarmList()
	if len(al) != 1 || al[0].Kind != AlarmCheckpointMismatch || al[0].Node != "n3" || al[0].Index != a.Index {
		t.Fatalf("alarms: %+v", al)
	}
	cps := l.Checkpoints()
	if len(cps) != 3 || cps[0].Size != size || cps[0].Node != "n1" || cps[2].Node != "n3" {
		t.Fatalf("checkpoints: %+v", cps)
	}
	if got := l.CheckpointsSince(size + 1); len(got) != 0 {
		t.Fatalf("checkpoints since %d: %+v", size+1, got)
	}
	if got := l.CheckpointsSince(size); len(got) != 3 {
		t.Fatalf("checkpoints since %d: %+v", size, got)
	}
	if _, err := crypto.VerifyCheckpoint(cps[0].Note, "n1", f.nodes["n1"].Public()); err != nil {
		t.Fatal(err)
	}
	// VerifyStore refuses a store that holds a mismatching checkpoint.
	err := closeAndVerify(t, l)
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Index != a.Index {
		t.Fatalf("VerifyStore: %v", err)
	}
}

func TestProofs(t *testing.T) {
	f := newFixture(t)
	l := genesisLedger(t, f)
	var leaves []tlog.Hash
	e0 := l.mustEntry(0)
	leaves = append(leaves, tlog.RecordHash(e0))
	for range 9 {
		a := l.mustApply(f.notice("DE", "NL"))
		if tlog.RecordHash(l.mustEntry(a.Index)) != a.LeafHash {
			t.Fatal("leaf hash")
		}
		leaves = append(leaves, a.LeafHash)
	}
	size, root := l.TreeHead()
	if size != 10 {
		t.Fatal(size)
	}
	for i := range size {
		p, err := l.InclusionProof(i, size)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(p, int64(size), root, int64(i), leaves[i]); err != nil {
			t.Fatalf("inclusion of %d: %v", i, err)
		}
	}
	for from := uint64(1); from <= size; from++ {
		old, err := l.TreeHash(from)
		if err != nil {
			t.Fatal(err)
		}
		p, err := l.ConsistencyProof(from, size)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckTree(p, int64(size), root, int64(from), old); err != nil {
			t.Fatalf("consistency %d..%d: %v", from, size, err)
		}
	}
	if _, err := l.InclusionProof(10, 10); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := l.ConsistencyProof(3, 11); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

func TestChanged(t *testing.T) {
	f := newFixture(t)
	l := openTest(t)
	size, ch := l.Changed()
	if size != 0 {
		t.Fatal(size)
	}
	done := make(chan uint64)
	go func() {
		<-ch
		s, _ := l.Changed()
		done <- s
	}()
	l.mustApply(f.genesis)
	if s := <-done; s != 1 {
		t.Fatalf("size after change %d", s)
	}
}

func TestSyncedLedger(t *testing.T) {
	// The default (fsync on) path, and reopening.
	f := newFixture(t)
	path := filepath.Join(t.TempDir(), "fsm.db")
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tl := &testLedger{Ledger: l, t: t, path: path, next: 1}
	tl.mustApply(f.genesis)
	tl.batch(f.notice("DE", "NL"), f.notice("NL", "DE"))
	if err := closeAndVerify(t, tl); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := l.Entry(0); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after Close: %v", err)
	}
}

func TestExpectedHubID(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t)
	path := filepath.Join(t.TempDir(), "fsm.db")
	l, err := Open(path, Options{NoSync: true, HubID: &f.hub})
	if err != nil {
		t.Fatal(err)
	}
	tl := &testLedger{Ledger: l, t: t, path: path, next: 1}
	tl.mustReject(other.genesis, CodeWrongHub)
	tl.mustApply(f.genesis)
	snap, _ := tl.Snapshot()
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	l.Close()
	if _, err := Open(path, Options{NoSync: true, HubID: &other.hub}); !errors.Is(err, ErrWrongHub) {
		t.Fatalf("Open of another hub's store: %v", err)
	}
	ol, err := Open(filepath.Join(t.TempDir(), "fsm.db"), Options{NoSync: true, HubID: &other.hub})
	if err != nil {
		t.Fatal(err)
	}
	defer ol.Close()
	if err := ol.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); !errors.Is(err, ErrWrongHub) {
		t.Fatalf("Restore of another hub's snapshot: %v", err)
	}
	if ol.Size() != 0 {
		t.Fatal("refused restore changed the state")
	}
}

// TestConcurrentReads runs readers against applies, a snapshot and a
// restore (for the race detector).
func TestConcurrentReads(t *testing.T) {
	f := newFixture(t)
	h := mixedHistory(t, f)
	extra := make([][]byte, 24)
	for i := range extra {
		extra[i] = f.notice("DE", "INT-INCB")
	}
	src := openTest(t)
	src.batch(h...)
	snap, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()

	l := openTest(t)
	l.mustApply(f.genesis)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				size, root := l.TreeHead()
				if size > 0 {
					if _, err := l.Entry(size - 1); err != nil && !errors.Is(err, ErrNotFound) {
						t.Error(err)
					}
					p, err1 := l.InclusionProof(0, size)
					e, err2 := l.Entry(0)
					if err1 == nil && err2 == nil {
						_ = tlog.CheckRecord(p, int64(size), root, 0, tlog.RecordHash(e.Raw))
					}
				}
				_, _ = l.ListByAuthority("DE", Newest, 5)
				_ = l.Directory().ActiveAuthorities()
				_ = l.Alarms()
				_ = l.Checkpoints()
			}
		})
	}
	for i := 0; i < len(extra); i += 4 {
		l.batch(extra[i : i+4]...)
	}
	if err := l.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if l.Size() != src.Size() {
		t.Fatalf("size %d after restore, want %d", l.Size(), src.Size())
	}
}
