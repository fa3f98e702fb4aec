package ledger

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/penhub/penhub/crypto"
)

// uuidOf is the proposal id of an admit_authority entry id.
func uuidOf(t testing.TB, id [16]byte) string {
	t.Helper()
	return uuid.UUID(id).String()
}

// withPolicy re-signs the fixture's genesis after change (by the
// secretariat INT-INCB) and resets the hub id the later entries carry.
func (f *fixture) withPolicy(change func(*GenesisBody)) {
	g := f.genesisBody()
	change(&g)
	f.genesis = f.signDir(OpGenesis, "INT-INCB", g, true, f.signer("INT-INCB"))
	f.hub = sha256.Sum256(f.genesis)
}

// addIdentity creates an authority identity homed on node for the fixture.
func (f *fixture) addIdentity(id, node string) AuthorityRecord {
	f.auth[id], f.home[id] = f.newIdentity(id), node
	return f.authorityRecord(id)
}

func (f *fixture) cosignAdmission(author, proposal string, signers ...string) []byte {
	f.t.Helper()
	var ss []crypto.Signer
	for _, s := range signers {
		ss = append(ss, f.signer(s))
	}
	return f.dir(OpCosignAdmission, author, CosignAdmissionBody{Proposal: proposal}, ss...)
}

func TestAdmissionCollectedThroughTheLog(t *testing.T) {
	f := newFixture(t) // secretariat INT-INCB, k=2 of DE, NL, FR
	l := genesisLedger(t, f)
	s := f.signer
	bka := f.addIdentity("DE-BKA", "n1")

	// One country of the quorum (with the proof of possession): pending.
	prop := l.mustApply(f.dir(OpAdmitAuthority, "DE", AdmitBody{Authority: bka}, s("DE"), s("DE-BKA")))
	id := uuidOf(t, prop.ID)
	d := l.Directory()
	if _, ok := d.Authority("DE-BKA"); ok {
		t.Fatal("admitted by one country")
	}
	want := PendingAdmission{ID: id, Index: prop.Index, Proposer: "DE", Authority: bka, Countries: []string{"DE"}}
	if p := d.PendingAdmissions(); len(p) != 1 || !samePending(*p[0], want) {
		t.Fatalf("pending: %+v", p)
	}
	// Not admitted: it can neither send nor be addressed.
	l.mustReject(f.notice("DE-BKA", "NL"), CodeUnknownSigner)
	l.mustReject(f.notice("NL", "DE-BKA"), CodeUnknownRecipient)
	// A second proposal for the same id while one is open.
	l.mustReject(f.dir(OpAdmitAuthority, "FR", AdmitBody{Authority: bka}, s("FR")), CodeInvalidOp)

	// Rejections of cosign_admission.
	other := uuid.UUID(entryID(t, f.notice("DE", "NL"))).String()
	l.mustReject(f.cosignAdmission("NL", other, "NL"), CodeUnknownProposal)
	l.mustReject(f.cosignAdmission("NL", strings.ToUpper(id), "NL"), CodeMalformed)
	l.mustReject(f.cosignAdmission("NL", strings.ReplaceAll(id, "-", ""), "NL"), CodeMalformed)
	l.mustReject(f.dir(OpCosignAdmission, "NL", map[string]any{"proposal": id, "x": 1}, s("NL")), CodeMalformed)
	l.mustReject(f.cosignAdmission("DE", id, "DE"), CodeAlreadySigned)
	l.mustReject(f.cosignAdmission("INT-INCB", id, "INT-INCB"), CodeNotAuthorized) // the secretariat is not in of
	l.mustReject(f.cosignAdmission("n2", id, "n2"), CodeNotAuthorized)
	l.mustReject(f.cosignAdmission("DE", id, "NL"), CodeNotAuthorized)         // the author did not sign
	l.mustReject(f.cosignAdmission("DE-BKA", id, "DE-BKA"), CodeUnknownSigner) // not admitted yet
	if p := l.Directory().PendingAdmissions(); len(p) != 1 || !samePending(*p[0], want) {
		t.Fatalf("rejections changed the proposal: %+v", p)
	}

	// The second country completes it: admitted at the cosignature's index.
	co := l.mustApply(f.cosignAdmission("NL", id, "NL"))
	d = l.Directory()
	a, ok := d.Authority("DE-BKA")
	if !ok || !a.Active() || a.Node != "n1" || len(a.Keys) != 1 || a.Keys[0].From != co.Index ||
		!a.Keys[0].Sign.Equal(f.auth["DE-BKA"].Sign.Public()) {
		t.Fatalf("admitted: %+v", a)
	}
	if len(d.PendingAdmissions()) != 0 {
		t.Fatalf("pending after completion: %+v", d.PendingAdmissions())
	}
	want.Countries, want.Closed = []string{"DE", "NL"}, co.Index
	if p, ok := d.Admission(id); !ok || !samePending(*p, want) {
		t.Fatalf("closed proposal: %+v", p)
	}
	l.mustReject(f.cosignAdmission("FR", id, "FR"), CodeProposalClosed)
	l.mustApply(f.notice("DE-BKA", "NL"))

	// A proposal whose conditions no longer hold at completion: its home
	// node is removed meanwhile. The cosignature is rejected and the
	// proposal stays open.
	k4, err := crypto.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.nodes["n4"] = k4
	l.mustApply(f.dir(OpAddNode, "INT-INCB", AddNodeBody{Node: f.nodeRecord("n4", false)}, s("INT-INCB")))
	dou := f.addIdentity("FR-DOUANE", "n4")
	p2 := l.mustApply(f.dir(OpAdmitAuthority, "FR", AdmitBody{Authority: dou}, s("FR")))
	l.mustApply(f.dir(OpRemoveNode, "INT-INCB", RemoveNodeBody{ID: "n4"}, s("INT-INCB")))
	l.mustReject(f.cosignAdmission("DE-BKA", uuidOf(t, p2.ID), "DE-BKA"), CodeUnknownNode) // DE-BKA counts for DE
	if p := l.Directory().PendingAdmissions(); len(p) != 1 || p[0].ID != uuidOf(t, p2.ID) || !slices.Equal(p[0].Countries, []string{"FR"}) {
		t.Fatalf("pending after failed completion: %+v", p)
	}

	// Proposals that do not fit are rejected like admit_authority.
	l.mustReject(f.dir(OpAdmitAuthority, "DE", AdmitBody{Authority: f.authorityRecord("NL")}, s("DE")), CodeInvalidOp)
	l.mustReject(f.dir(OpAdmitAuthority, "DE", AdmitBody{Authority: bka}, s("DE")), CodeInvalidOp)
	far := f.addIdentity("NL-FAR", "n9")
	l.mustReject(f.dir(OpAdmitAuthority, "NL", AdmitBody{Authority: far}, s("NL")), CodeUnknownNode)

	// A fully signed envelope still admits at once, and closes the open
	// proposal of the same id.
	dou.Node = "n2"
	f.home["FR-DOUANE"] = "n2"
	full := l.mustApply(f.dir(OpAdmitAuthority, "FR", AdmitBody{Authority: dou}, s("FR"), s("DE")))
	if a, ok := l.Directory().Authority("FR-DOUANE"); !ok || a.Node != "n2" || a.Keys[0].From != full.Index {
		t.Fatalf("direct admission: %+v", a)
	}
	if p, _ := l.Directory().Admission(uuidOf(t, p2.ID)); p.Closed != full.Index || len(l.Directory().PendingAdmissions()) != 0 {
		t.Fatalf("proposal after direct admission: %+v", p)
	}
	l.mustReject(f.cosignAdmission("NL", uuidOf(t, p2.ID), "NL"), CodeProposalClosed)

	if err := closeAndVerify(t, l); err != nil {
		t.Fatal(err)
	}
}

func samePending(a, b PendingAdmission) bool {
	return a.ID == b.ID && a.Index == b.Index && a.Proposer == b.Proposer && a.Closed == b.Closed &&
		slices.Equal(a.Countries, b.Countries) && a.Authority.ID == b.Authority.ID && a.Authority.Node == b.Authority.Node &&
		bytes.Equal(a.Authority.SignKey, b.Authority.SignKey) && bytes.Equal(a.Authority.KEMKey, b.Authority.KEMKey)
}

func TestAdmissionNeedsAQuorumPolicy(t *testing.T) {
	f := newFixture(t)
	f.withPolicy(func(g *GenesisBody) { g.Admission = Admission{} })
	l := genesisLedger(t, f)
	bka := f.addIdentity("DE-BKA", "n1")
	// Without k-of-n, one authority's signature is no proposal.
	l.mustReject(f.dir(OpAdmitAuthority, "DE", AdmitBody{Authority: bka}, f.signer("DE")), CodeNotAuthorized)
	l.mustReject(f.dir(OpAdmitAuthority, "DE", AdmitBody{Authority: bka}, f.signer("DE"), f.signer("NL"), f.signer("FR")), CodeNotAuthorized)
	if len(l.Directory().Admissions) != 0 {
		t.Fatal("proposal recorded")
	}
	l.mustApply(f.dir(OpAdmitAuthority, "INT-INCB", AdmitBody{Authority: bka}, f.signer("INT-INCB")))
}

func TestAdmissionOutsideTheQuorum(t *testing.T) {
	f := newFixture(t)
	// Of lists NL, FR and the authority id DE-BKA (not its country DE).
	f.withPolicy(func(g *GenesisBody) { g.Admission = Admission{K: 2, Of: []string{"NL", "FR", "DE-BKA"}} })
	l := genesisLedger(t, f)
	bka := f.addIdentity("DE-BKA", "n1")
	l.mustReject(f.dir(OpAdmitAuthority, "DE", AdmitBody{Authority: bka}, f.signer("DE")), CodeNotAuthorized)
	p := l.mustApply(f.dir(OpAdmitAuthority, "NL", AdmitBody{Authority: bka}, f.signer("NL")))
	l.mustReject(f.cosignAdmission("DE", uuidOf(t, p.ID), "DE"), CodeNotAuthorized)
	l.mustApply(f.cosignAdmission("FR", uuidOf(t, p.ID), "FR"))
	if _, ok := l.Directory().Authority("DE-BKA"); !ok {
		t.Fatal("not admitted")
	}
	// DE-BKA is listed by id: it counts for country DE.
	cus := f.addIdentity("NL-CUSTOMS", "n2")
	p = l.mustApply(f.dir(OpAdmitAuthority, "DE-BKA", AdmitBody{Authority: cus}, f.signer("DE-BKA")))
	if got := l.Directory().PendingAdmissions(); len(got) != 1 || !slices.Equal(got[0].Countries, []string{"DE"}) {
		t.Fatalf("pending: %+v", got)
	}
}

// admissionHistory is a log with k=3 of DE, NL, FR: open, cosigned,
// completed and rejected admission entries mixed with notices.
func admissionHistory(t *testing.T, f *fixture) (envs [][]byte, open string) {
	f.withPolicy(func(g *GenesisBody) { g.Admission = Admission{K: 3, Of: []string{"DE", "NL", "FR"}} })
	bka := f.addIdentity("DE-BKA", "n1")
	cus := f.addIdentity("NL-CUSTOMS", "n2")
	p1 := f.dir(OpAdmitAuthority, "DE", AdmitBody{Authority: bka}, f.signer("DE"))
	p2 := f.dir(OpAdmitAuthority, "NL", AdmitBody{Authority: cus}, f.signer("NL"))
	id1, id2 := uuidOf(t, entryID(t, p1)), uuidOf(t, entryID(t, p2))
	envs = [][]byte{
		f.genesis, p1, f.notice("DE", "NL"),
		f.cosignAdmission("NL", id1, "NL"),
		f.cosignAdmission("NL", id1, "NL"), // already signed (another entry id)
		p2,
		f.cosignAdmission("FR", id2, "FR"),       // still pending: k=3
		f.cosignAdmission("FR", id1, "FR", "DE"), // completes id1 (DE already counted)
		f.notice("DE-BKA", "NL"),
		f.cosignAdmission("DE", id1, "DE"), // closed
		f.cosignAdmission("DE", uuid.UUID(entryID(t, f.notice("DE", "FR"))).String(), "DE"), // unknown
	}
	return envs, id2
}

func TestAdmissionStateAgreesAcrossLedgers(t *testing.T) {
	f := newFixture(t)
	envs, open := admissionHistory(t, f)

	// One entry per batch.
	a := openTest(t)
	for _, e := range envs {
		a.apply(e)
	}
	if _, ok := a.Directory().Authority("DE-BKA"); !ok {
		t.Fatal("DE-BKA not admitted")
	}
	if p := a.Directory().PendingAdmissions(); len(p) != 1 || p[0].ID != open || !slices.Equal(p[0].Countries, []string{"FR", "NL"}) {
		t.Fatalf("pending: %+v", p)
	}
	if got := a.Size(); got != 8 {
		t.Fatalf("size %d, want 8", got)
	}

	// One batch, many workers: identical.
	b := openTest(t)
	b.Ledger.opts.VerifyWorkers = 8
	b.batch(envs...)
	assertSameLedger(t, a.Ledger, b.Ledger)

	// Snapshot midway (with an open proposal), restore, replay the rest.
	c := openTest(t)
	logs := c.logs(envs...)
	c.ApplyBatch(logs[:4])
	snap, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	r := openTest(t)
	if err := r.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if p := r.Directory().PendingAdmissions(); len(p) != 1 || !slices.Equal(p[0].Countries, []string{"DE", "NL"}) {
		t.Fatalf("restored pending: %+v", p)
	}
	r.ApplyBatch(logs) // the first four are skipped by applied_raft_index
	assertSameLedger(t, a.Ledger, r.Ledger)

	// Restart keeps the state.
	before := a.Directory()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a2, err := Open(a.path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	assertSameDirectory(t, before, a2.Directory())
	if err := a2.Close(); err != nil {
		t.Fatal(err)
	}

	// VerifyStore replays the proposals and cosignatures.
	hub := sha256.Sum256(envs[0])
	if err := VerifyStore(a.path, &hub, nil); err != nil {
		t.Fatal(err)
	}
	if err := closeAndVerify(t, r); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyStoreCatchesTamperedAdmissions(t *testing.T) {
	f := newFixture(t)
	envs, open := admissionHistory(t, f)
	for _, tamper := range []struct {
		name string
		do   func(b *bolt.Bucket) error
	}{
		{"countries changed", func(b *bolt.Bucket) error {
			v := b.Get([]byte(dirAdmissionPrefix + open))
			return b.Put([]byte(dirAdmissionPrefix+open), bytes.Replace(v, []byte(`"FR","NL"`), []byte(`"DE","NL"`), 1))
		}},
		{"proposal deleted", func(b *bolt.Bucket) error { return b.Delete([]byte(dirAdmissionPrefix + open)) }},
		{"proposal invented", func(b *bolt.Bucket) error {
			id := "00000000-0000-4000-8000-000000000000"
			return b.Put([]byte(dirAdmissionPrefix+id), []byte(`{"id":"`+id+`"}`))
		}},
	} {
		t.Run(tamper.name, func(t *testing.T) {
			l := openTest(t)
			l.batch(envs...)
			hub := l.HubID()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			db, err := bolt.Open(l.path, fsmFileMode, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(func(tx *bolt.Tx) error { return tamper.do(tx.Bucket(bucketDirectory)) }); err != nil {
				t.Fatal(err)
			}
			db.Close()
			var ve *VerifyError
			if err := VerifyStore(l.path, &hub, nil); !errors.As(err, &ve) {
				t.Fatalf("VerifyStore: %v, want *VerifyError", err)
			}
		})
	}
}
