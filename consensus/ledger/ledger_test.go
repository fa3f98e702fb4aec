package ledger

import (
	"io"
	"log/slog"
	"testing"

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
	if d := l.apply(n); d.(*DuplicateError).Index != 1 {
		t.Fatalf("dup: %v", d)
	}
	if err := VerifyStoreOpen(t, l); err != nil {
		t.Fatal(err)
	}
}

// VerifyStoreOpen closes l and runs VerifyStore on its file.
func VerifyStoreOpen(t *testing.T, l *testLedger) error {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	hub := l.HubID()
	return VerifyStore(l.path, &hub, nil)
}
