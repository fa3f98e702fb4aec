package ledger

import (
	"crypto/rand"
	"reflect"
	"slices"
	"testing"

	"github.com/penhub/penhub/crypto"
)

// genesisLedger returns a ledger with the fixture's genesis applied.
func genesisLedger(t *testing.T, f *fixture) *testLedger {
	t.Helper()
	l := openTest(t)
	l.mustApply(f.genesis)
	return l
}

func TestDirectoryRejections(t *testing.T) {
	f := newFixture(t)
	bka := f.newIdentity("DE-BKA")
	bkaRec := AuthorityRecord{ID: "DE-BKA", Node: "n1", SignKey: bka.Sign.Public().Bytes(), KEMKey: bka.KEM.Public().Bytes()}
	newNode, err := crypto.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n4 := NodeRecord{ID: "n4", Raft: "127.0.0.1:14", API: "http://127.0.0.1:24", TLSFingerprint: fingerprint("n4"), CheckpointKey: newNode.Public().Bytes()}
	other := f.newIdentity("NL") // a key NL never had
	s := f.signer

	tests := []struct {
		name string
		env  func() []byte
		code string
	}{
		{"admission signed only by a node", func() []byte {
			return f.dir(OpAdmitAuthority, "n1", AdmitBody{Authority: bkaRec}, s("n1"))
		}, CodeNotAuthorized},
		{"admission signed only by the new authority", func() []byte {
			return f.dir(OpAdmitAuthority, "DE-BKA", AdmitBody{Authority: bkaRec}, crypto.Signer{ID: "DE-BKA", Key: bka.Sign})
		}, CodeNotAuthorized},
		{"admission of an existing authority id", func() []byte {
			return f.dir(OpAdmitAuthority, "INT-INCB", AdmitBody{Authority: f.authorityRecord("NL")}, s("INT-INCB"))
		}, CodeInvalidOp},
		{"admission of an authority id that is a bad pattern", func() []byte {
			r := bkaRec
			r.ID = "de-bka"
			return f.dir(OpAdmitAuthority, "INT-INCB", AdmitBody{Authority: r}, s("INT-INCB"))
		}, CodeInvalidOp},
		{"admission to an unknown node", func() []byte {
			r := bkaRec
			r.Node = "n9"
			return f.dir(OpAdmitAuthority, "INT-INCB", AdmitBody{Authority: r}, s("INT-INCB"))
		}, CodeUnknownNode},
		{"admission with a broken key", func() []byte {
			r := bkaRec
			r.SignKey = r.SignKey[:100]
			return f.dir(OpAdmitAuthority, "INT-INCB", AdmitBody{Authority: r}, s("INT-INCB"))
		}, CodeInvalidOp},
		{"admission body with an unknown field", func() []byte {
			return f.dir(OpAdmitAuthority, "INT-INCB", map[string]any{"authority": bkaRec, "extra": 1}, s("INT-INCB"))
		}, CodeMalformed},
		{"admission signed by the secretariat but authored by another", func() []byte {
			return f.dir(OpAdmitAuthority, "DE", AdmitBody{Authority: bkaRec}, s("INT-INCB"))
		}, CodeNotAuthorized},
		{"rotation not signed by the old key", func() []byte {
			return f.dir(OpRotateKeys, "NL", RotateBody{ID: "NL", SignKey: other.Sign.Public().Bytes(), KEMKey: other.KEM.Public().Bytes()},
				crypto.Signer{ID: "NL", Key: other.Sign})
		}, CodeNotAuthorized},
		{"rotation not signed by the new key", func() []byte {
			return f.dir(OpRotateKeys, "NL", RotateBody{ID: "NL", SignKey: other.Sign.Public().Bytes(), KEMKey: other.KEM.Public().Bytes()}, s("NL"))
		}, CodeNotAuthorized},
		{"rotation of another authority", func() []byte {
			return f.dir(OpRotateKeys, "DE", RotateBody{ID: "NL", SignKey: other.Sign.Public().Bytes(), KEMKey: other.KEM.Public().Bytes()},
				s("DE"), crypto.Signer{ID: "NL", Key: other.Sign})
		}, CodeNotAuthorized},
		{"rotation to the current key", func() []byte {
			return f.dir(OpRotateKeys, "NL", RotateBody{ID: "NL", SignKey: f.auth["NL"].Sign.Public().Bytes(), KEMKey: other.KEM.Public().Bytes()}, s("NL"))
		}, CodeInvalidOp},
		{"rotation of an unknown authority", func() []byte {
			return f.dir(OpRotateKeys, "INT-INCB", RotateBody{ID: "XX", SignKey: other.Sign.Public().Bytes(), KEMKey: other.KEM.Public().Bytes()}, s("INT-INCB"))
		}, CodeInvalidOp},
		{"revocation by a non-secretariat", func() []byte {
			return f.dir(OpRevokeAuthority, "NL", RevokeBody{ID: "DE", Reason: "x"}, s("NL"))
		}, CodeNotAuthorized},
		{"revocation of the secretariat", func() []byte {
			return f.dir(OpRevokeAuthority, "INT-INCB", RevokeBody{ID: "INT-INCB"}, s("INT-INCB"))
		}, CodeInvalidOp},
		{"revocation of an unknown authority", func() []byte {
			return f.dir(OpRevokeAuthority, "INT-INCB", RevokeBody{ID: "XX"}, s("INT-INCB"))
		}, CodeInvalidOp},
		{"move by a non-secretariat", func() []byte {
			return f.dir(OpMoveAuthority, "DE", MoveBody{ID: "DE", Node: "n2"}, s("DE"))
		}, CodeNotAuthorized},
		{"move to an unknown node", func() []byte {
			return f.dir(OpMoveAuthority, "INT-INCB", MoveBody{ID: "DE", Node: "n9"}, s("INT-INCB"))
		}, CodeUnknownNode},
		{"move to the same node", func() []byte {
			return f.dir(OpMoveAuthority, "INT-INCB", MoveBody{ID: "DE", Node: "n1"}, s("INT-INCB"))
		}, CodeInvalidOp},
		{"add_node by a non-secretariat", func() []byte {
			return f.dir(OpAddNode, "DE", AddNodeBody{Node: n4}, s("DE"))
		}, CodeNotAuthorized},
		{"add_node by a node", func() []byte {
			return f.dir(OpAddNode, "n1", AddNodeBody{Node: n4}, s("n1"))
		}, CodeNotAuthorized},
		{"add_node with a used id", func() []byte {
			r := n4
			r.ID = "n2"
			return f.dir(OpAddNode, "INT-INCB", AddNodeBody{Node: r}, s("INT-INCB"))
		}, CodeInvalidOp},
		{"add_node with a used fingerprint", func() []byte {
			r := n4
			r.TLSFingerprint = fingerprint("n2")
			return f.dir(OpAddNode, "INT-INCB", AddNodeBody{Node: r}, s("INT-INCB"))
		}, CodeInvalidOp},
		{"add_node with an authority's id", func() []byte {
			r := n4
			r.ID = "FR"
			return f.dir(OpAddNode, "INT-INCB", AddNodeBody{Node: r}, s("INT-INCB"))
		}, CodeInvalidOp},
		{"add_node with a bad fingerprint", func() []byte {
			r := n4
			r.TLSFingerprint = "ABC"
			return f.dir(OpAddNode, "INT-INCB", AddNodeBody{Node: r}, s("INT-INCB"))
		}, CodeInvalidOp},
		{"set_suffrage of an unknown node", func() []byte {
			return f.dir(OpSetSuffrage, "INT-INCB", SetSuffrageBody{ID: "n9", Voter: true}, s("INT-INCB"))
		}, CodeUnknownNode},
		{"set_suffrage by an authority", func() []byte {
			return f.dir(OpSetSuffrage, "DE", SetSuffrageBody{ID: "n3", Voter: false}, s("DE"))
		}, CodeNotAuthorized},
		{"set_suffrage that changes nothing", func() []byte {
			return f.dir(OpSetSuffrage, "n1", SetSuffrageBody{ID: "n3", Voter: true}, s("n1"))
		}, CodeInvalidOp},
		{"remove_node of an unknown node", func() []byte {
			return f.dir(OpRemoveNode, "INT-INCB", RemoveNodeBody{ID: "n9"}, s("INT-INCB"))
		}, CodeUnknownNode},
		{"remove_node of a home node", func() []byte {
			return f.dir(OpRemoveNode, "INT-INCB", RemoveNodeBody{ID: "n2"}, s("INT-INCB"))
		}, CodeInvalidOp},
		{"remove_node by a non-secretariat", func() []byte {
			return f.dir(OpRemoveNode, "DE", RemoveNodeBody{ID: "n2"}, s("DE"))
		}, CodeNotAuthorized},
		{"unknown op", func() []byte {
			return f.dir("rename_hub", "INT-INCB", map[string]string{}, s("INT-INCB"))
		}, CodeMalformed},
		{"second genesis", func() []byte {
			return f.signDir(OpGenesis, "INT-INCB", f.genesisBody(), true, s("INT-INCB"))
		}, CodeWrongHub},
		{"genesis body with this hub's id", func() []byte {
			return f.dir(OpGenesis, "INT-INCB", f.genesisBody(), s("INT-INCB"))
		}, CodeWrongHub},
		{"directory entry signed by an unknown key", func() []byte {
			return f.dir(OpRevokeAuthority, "NL", RevokeBody{ID: "NL"}, crypto.Signer{ID: "NL", Key: other.Sign})
		}, CodeUnknownSigner},
		{"directory entry signed by an unknown signer", func() []byte {
			return f.dir(OpRevokeAuthority, "XX", RevokeBody{ID: "NL"}, crypto.Signer{ID: "XX", Key: other.Sign})
		}, CodeUnknownSigner},
	}
	l := genesisLedger(t, f)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l.t = t
			size, root := l.TreeHead()
			dir := l.Directory()
			l.mustReject(tc.env(), tc.code)
			if s2, r2 := l.TreeHead(); s2 != size || r2 != root || l.Directory() != dir {
				t.Fatalf("rejected entry changed the state")
			}
		})
	}
}

func TestGenesisRejections(t *testing.T) {
	f := newFixture(t)
	s := f.signer
	dupAuth := f.genesisBody()
	dupAuth.Authorities = append(dupAuth.Authorities, f.authorityRecord("DE"))
	badHome := f.genesisBody()
	badHome.Authorities[1].Node = "n9"
	noVoter := f.genesisBody()
	for i := range noVoter.Nodes {
		noVoter.Nodes[i].Voter = false
	}
	noSecretariat := f.genesisBody()
	noSecretariat.Secretariat = "XX"
	tests := []struct {
		name string
		env  []byte
		code string
	}{
		{"not signed by the secretariat", f.signDir(OpGenesis, "DE", f.genesisBody(), true, s("DE")), CodeNotAuthorized},
		{"duplicate authority ids", f.signDir(OpGenesis, "INT-INCB", dupAuth, true, s("INT-INCB")), CodeInvalidOp},
		{"unknown home node", f.signDir(OpGenesis, "INT-INCB", badHome, true, s("INT-INCB")), CodeUnknownNode},
		{"no voter", f.signDir(OpGenesis, "INT-INCB", noVoter, true, s("INT-INCB")), CodeInvalidOp},
		{"secretariat not an authority", f.signDir(OpGenesis, "INT-INCB", noSecretariat, true, s("INT-INCB")), CodeInvalidOp},
		{"not a directory entry", f.notice("DE", "NL"), CodeWrongHub},
		{"another op first", f.signDir(OpRevokeAuthority, "INT-INCB", RevokeBody{ID: "DE"}, true, s("INT-INCB")), CodeWrongHub},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := openTest(t)
			l.t = t
			l.mustReject(tc.env, tc.code)
			if l.Size() != 0 || l.HubID() != ([32]byte{}) {
				t.Fatal("rejected genesis changed the state")
			}
		})
	}
}

func TestDirectoryOps(t *testing.T) {
	f := newFixture(t)
	s := f.signer
	l := genesisLedger(t, f)
	d := l.Directory()
	if got := d.ActiveAuthorities(); len(got) != 4 || got[0] != "DE" {
		t.Fatalf("active: %v", got)
	}
	if v := d.Voters(); len(v) != 3 {
		t.Fatalf("voters: %v", v)
	}
	if n, ok := d.NodeByFingerprint(fingerprint("n2")); !ok || n.ID != "n2" {
		t.Fatalf("by fingerprint: %v %v", n, ok)
	}

	// k-of-n admission: two countries of the quorum (DE and NL) suffice.
	bka := f.newIdentity("DE-BKA")
	f.auth["DE-BKA"], f.home["DE-BKA"] = bka, "n1"
	l.mustApply(f.dir(OpAdmitAuthority, "DE", AdmitBody{Authority: f.authorityRecord("DE-BKA")}, s("DE"), s("NL")))
	// DE and DE-BKA are one country: the entry only opens a pending
	// admission.
	cus := f.newIdentity("NL-CUSTOMS")
	f.auth["NL-CUSTOMS"], f.home["NL-CUSTOMS"] = cus, "n2"
	prop := l.mustApply(f.dir(OpAdmitAuthority, "DE", AdmitBody{Authority: f.authorityRecord("NL-CUSTOMS")}, s("DE"), s("DE-BKA")))
	if _, ok := l.Directory().Authority("NL-CUSTOMS"); ok {
		t.Fatal("admitted by one country")
	}
	if p := l.Directory().PendingAdmissions(); len(p) != 1 || p[0].Index != prop.Index || !slices.Equal(p[0].Countries, []string{"DE"}) {
		t.Fatalf("pending: %+v", p)
	}
	// The secretariat, with the new authority's proof of possession; it
	// closes the pending proposal.
	direct := l.mustApply(f.dir(OpAdmitAuthority, "INT-INCB", AdmitBody{Authority: f.authorityRecord("NL-CUSTOMS")}, s("INT-INCB"), s("NL-CUSTOMS")))
	if p := l.Directory().PendingAdmissions(); len(p) != 0 {
		t.Fatalf("pending after direct admission: %+v", p)
	}
	if p, ok := l.Directory().Admission(uuidOf(t, prop.ID)); !ok || p.Closed != direct.Index {
		t.Fatalf("proposal after direct admission: %+v", p)
	}

	// Move, add a node, promote it by a voter, remove a node.
	l.mustApply(f.dir(OpMoveAuthority, "INT-INCB", MoveBody{ID: "FR", Node: "n2"}, s("INT-INCB")))
	k4, _ := crypto.GenerateSigningKey(rand.Reader)
	f.nodes["n4"] = k4
	l.mustApply(f.dir(OpAddNode, "INT-INCB", AddNodeBody{Node: f.nodeRecord("n4", false)}, s("INT-INCB")))
	l.mustReject(f.dir(OpSetSuffrage, "n4", SetSuffrageBody{ID: "n4", Voter: true}, s("n4")), CodeNotAuthorized)
	l.mustApply(f.dir(OpSetSuffrage, "n1", SetSuffrageBody{ID: "n4", Voter: true}, s("n1")))
	l.mustApply(f.dir(OpRemoveNode, "INT-INCB", RemoveNodeBody{ID: "n3"}, s("INT-INCB")))
	l.mustReject(f.cosign("n3", 1, [32]byte{}), CodeRevoked)
	l.mustReject(f.dir(OpRemoveNode, "INT-INCB", RemoveNodeBody{ID: "n3"}, s("INT-INCB")), CodeUnknownNode)
	k5, _ := crypto.GenerateSigningKey(rand.Reader)
	f.nodes["n3"] = k5
	l.mustReject(f.dir(OpAddNode, "INT-INCB", AddNodeBody{Node: f.nodeRecord("n3", false)}, s("INT-INCB")), CodeInvalidOp)

	d = l.Directory()
	if a, _ := d.Authority("FR"); a.Node != "n2" {
		t.Fatalf("FR home %q", a.Node)
	}
	if v := d.Voters(); len(v) != 3 || v[2] != "n4" {
		t.Fatalf("voters %v", v)
	}
	if n, _ := d.Node("n3"); !n.Removed || n.Voter {
		t.Fatalf("n3 %+v", n)
	}
	if got := d.NodeIDs(); len(got) != 3 {
		t.Fatalf("nodes %v", got)
	}

	// Self-revocation; the revoked authority can neither send nor be
	// addressed, and cannot be revoked twice.
	l.mustApply(f.dir(OpRevokeAuthority, "NL-CUSTOMS", RevokeBody{ID: "NL-CUSTOMS", Reason: "merged"}, s("NL-CUSTOMS")))
	l.mustReject(f.notice("NL-CUSTOMS", "DE"), CodeRevoked)
	l.mustReject(f.notice("DE", "NL-CUSTOMS"), CodeUnknownRecipient)
	l.mustReject(f.dir(OpRevokeAuthority, "INT-INCB", RevokeBody{ID: "NL-CUSTOMS"}, s("INT-INCB")), CodeRevoked)
	l.mustReject(f.dir(OpAdmitAuthority, "INT-INCB", AdmitBody{Authority: f.authorityRecord("NL-CUSTOMS")}, s("INT-INCB")), CodeInvalidOp)

	// The directory survives a restart.
	before := l.Directory()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := Open(l.path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	assertSameDirectory(t, before, l2.Directory())
}

func assertSameDirectory(t *testing.T, a, b *Directory) {
	t.Helper()
	if a.HubID != b.HubID || a.Policy.Secretariat != b.Policy.Secretariat || a.Policy.Admission.K != b.Policy.Admission.K ||
		len(a.Authorities) != len(b.Authorities) || len(a.Nodes) != len(b.Nodes) {
		t.Fatalf("directories differ: %+v vs %+v", a, b)
	}
	for id, x := range a.Authorities {
		y, ok := b.Authorities[id]
		if !ok || x.Node != y.Node || x.Status != y.Status || len(x.Keys) != len(y.Keys) {
			t.Fatalf("authority %s differs: %+v vs %+v", id, x, y)
		}
		for i := range x.Keys {
			if !x.Keys[i].Sign.Equal(y.Keys[i].Sign) || !x.Keys[i].KEM.Equal(y.Keys[i].KEM) || x.Keys[i].From != y.Keys[i].From || x.Keys[i].To != y.Keys[i].To {
				t.Fatalf("key %d of %s differs", i, id)
			}
		}
	}
	if !reflect.DeepEqual(a.Admissions, b.Admissions) {
		t.Fatalf("admission proposals differ: %+v vs %+v", a.Admissions, b.Admissions)
	}
	for id, x := range a.Nodes {
		y, ok := b.Nodes[id]
		if !ok || x.Raft != y.Raft || x.API != y.API || x.TLSFingerprint != y.TLSFingerprint || x.Voter != y.Voter ||
			x.Removed != y.Removed || !x.CheckpointKey.Equal(y.CheckpointKey) {
			t.Fatalf("node %s differs: %+v vs %+v", id, x, y)
		}
	}
}

func TestRotationKeepsOldEntriesVerifiable(t *testing.T) {
	f := newFixture(t)
	l := genesisLedger(t, f)
	old := f.auth["NL"]
	n1 := l.mustApply(f.notice("NL", "DE"))
	toNL := f.notice("DE", "NL") // sealed to NL's old KEM key, applied after the rotation

	fresh := f.newIdentity("NL")
	rot := l.mustApply(f.dir(OpRotateKeys, "NL", RotateBody{ID: "NL", SignKey: fresh.Sign.Public().Bytes(), KEMKey: fresh.KEM.Public().Bytes(), Reason: "scheduled"},
		f.signer("NL"), crypto.Signer{ID: "NL", Key: fresh.Sign}))
	if len(l.Alarms()) != 0 {
		t.Fatalf("own rotation raised alarms: %v", l.Alarms())
	}
	// Old key: no longer accepted for new entries.
	l.mustReject(f.notice("NL", "DE"), CodeUnknownSigner)
	l.mustReject(toNL, CodeUnknownRecipient)
	f.auth["NL"] = fresh
	n3 := l.mustApply(f.notice("NL", "DE"))

	a, _ := l.Directory().Authority("NL")
	if len(a.Keys) != 2 || a.Keys[0].To != rot.Index || a.Keys[1].From != rot.Index || a.Keys[1].To != 0 {
		t.Fatalf("key ranges: %+v", a.Keys)
	}
	// The old entry verifies with the key valid at its position.
	e, err := l.Entry(n1.Index)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := crypto.Parse(e.Raw)
	k, ok := l.Directory().KeyAt("NL", env.Sigs[0].KeyID, n1.Index)
	if !ok || !k.Equal(old.Sign.Public()) || env.VerifySignature(0, k) != nil {
		t.Fatalf("old entry not verifiable with KeyAt")
	}
	if _, ok := l.Directory().KeyAt("NL", env.Sigs[0].KeyID, n3.Index); ok {
		t.Fatal("old key valid after its range")
	}
	if err := closeAndVerify(t, l); err != nil {
		t.Fatal(err)
	}
}

func TestSecretariatResetRaisesAlarm(t *testing.T) {
	f := newFixture(t)
	l := genesisLedger(t, f)
	fresh := f.newIdentity("FR")
	r := l.mustApply(f.dir(OpRotateKeys, "INT-INCB", RotateBody{ID: "FR", SignKey: fresh.Sign.Public().Bytes(), KEMKey: fresh.KEM.Public().Bytes(), Reason: "key lost"},
		f.signer("INT-INCB")))
	al := l.AlarmList()
	if len(al) != 1 || al[0].Kind != AlarmKeyReset || al[0].Node != "n3" || al[0].Index != r.Index || l.AlarmCount() != 1 {
		t.Fatalf("alarms: %+v", al)
	}
	// Alarms are state: they survive a restart.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := Open(l.path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if got := l2.Alarms(); len(got) != 1 {
		t.Fatalf("alarms after restart: %v", got)
	}
}
