package ledger

import (
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"

	"github.com/penhub/penhub/crypto"
)

// FuzzApply feeds arbitrary command bytes to a ledger holding a small
// history. Apply must never panic, and input it does not accept must
// change nothing but the applied raft index.
func FuzzApply(f *testing.F) {
	fx := newFixture(f)
	n := fx.notice("DE", "NL", "FR")
	seeds := [][]byte{
		{}, {0x01}, {0x02, 'P', 'H', 'E', '1'},
		EncodeCommand(n), // a duplicate once applied
		EncodeCommand(fx.response("NL", n, "DE", "FR")),
		EncodeCommand(fx.notice("NL", "DE")),
		EncodeCommand(fx.dir(OpRevokeAuthority, "FR", RevokeBody{ID: "FR"}, fx.signer("FR"))),
		EncodeCommand(fx.cosign("n1", 1, [32]byte{})),
		EncodeCommand(fx.genesis),
		EncodeCommand(n[:len(n)-1]),
		EncodeCommand(append(n[:len(n):len(n)], 0)),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	l, err := Open(filepath.Join(f.TempDir(), "fsm.db"), Options{NoSync: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { l.Close() })
	next := uint64(1)
	for _, env := range [][]byte{fx.genesis, n} {
		if _, ok := l.ApplyBatch([]*raft.Log{{Index: next, Type: raft.LogCommand, Data: EncodeCommand(env)}})[0].(*Applied); !ok {
			f.Fatal("setup entry rejected")
		}
		next++
	}
	f.Fuzz(func(t *testing.T, cmd []byte) {
		size, root := l.TreeHead()
		dir, alarms, ids := l.Directory(), l.AlarmCount(), idCount(t, l)
		r := l.ApplyBatch([]*raft.Log{{Index: next, Type: raft.LogCommand, Data: cmd}})[0]
		next++
		if l.AppliedRaftIndex() != next-1 {
			t.Fatalf("applied raft index %d, want %d", l.AppliedRaftIndex(), next-1)
		}
		switch r.(type) {
		case *Applied:
			return // a valid entry (a seed): state changes legitimately
		case *RejectedError, *DuplicateError:
		default:
			t.Fatalf("response %T %v", r, r)
		}
		if s2, r2 := l.TreeHead(); s2 != size || r2 != root {
			t.Fatal("rejected input changed the tree")
		}
		if l.Directory() != dir || l.AlarmCount() != alarms || idCount(t, l) != ids {
			t.Fatal("rejected input changed the state")
		}
		if _, err := l.Entry(size); err == nil {
			t.Fatal("rejected input stored an entry")
		}
	})
}

func idCount(t *testing.T, l *Ledger) int {
	var n int
	if err := l.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketIDs).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// FuzzDirectoryOp feeds arbitrary ops and JSON bodies, properly signed by
// the secretariat (so the op code itself is reached), to a ledger after
// genesis. Apply must never panic; a rejected op changes nothing.
func FuzzDirectoryOp(f *testing.F) {
	fx := newFixture(f)
	bka := fx.newIdentity("DE-BKA")
	k4, err := crypto.GenerateSigningKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	fx.nodes["n4"] = k4
	enc := func(v any) []byte {
		b, _ := json.Marshal(v)
		return b
	}
	f.Add(OpAdmitAuthority, enc(AdmitBody{Authority: AuthorityRecord{ID: "DE-BKA", Node: "n1", SignKey: bka.Sign.Public().Bytes(), KEMKey: bka.KEM.Public().Bytes()}}))
	f.Add(OpRotateKeys, enc(RotateBody{ID: "FR", SignKey: bka.Sign.Public().Bytes(), KEMKey: bka.KEM.Public().Bytes()}))
	f.Add(OpRevokeAuthority, enc(RevokeBody{ID: "NL"}))
	f.Add(OpMoveAuthority, enc(MoveBody{ID: "DE", Node: "n2"}))
	f.Add(OpAddNode, enc(AddNodeBody{Node: fx.nodeRecord("n4", false)}))
	f.Add(OpSetSuffrage, enc(SetSuffrageBody{ID: "n3", Voter: false}))
	f.Add(OpRemoveNode, enc(RemoveNodeBody{ID: "n3"}))
	f.Add(OpGenesis, enc(fx.genesisBody()))
	f.Add(OpAdmitAuthority, []byte(`{"authority":null}`))
	f.Add(OpCosignAdmission, []byte(`{"proposal":"00000000-0000-4000-8000-000000000000"}`))
	f.Add(OpRotateKeys, []byte(`{"id":"FR","sign_key":"","kem_key":null} `))
	l, err := Open(filepath.Join(f.TempDir(), "fsm.db"), Options{NoSync: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { l.Close() })
	next := uint64(1)
	if _, ok := l.Apply(&raft.Log{Index: next, Type: raft.LogCommand, Data: EncodeCommand(fx.genesis)}).(*Applied); !ok {
		f.Fatal("genesis rejected")
	}
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		if len(op) > crypto.MaxSubtypeLen || len(body) > 1<<16 {
			return
		}
		h := crypto.Header{Kind: crypto.KindDirectory, HubID: fx.hub, Author: "INT-INCB", Subtype: op, CreatedMS: testCreated}
		env, err := crypto.SignPlain(rand.Reader, h, body, fx.signer("INT-INCB"))
		if err != nil {
			return // not a valid header (subtype characters)
		}
		size, root := l.TreeHead()
		dir := l.Directory()
		next++
		r := l.Apply(&raft.Log{Index: next, Type: raft.LogCommand, Data: EncodeCommand(env)})
		switch r.(type) {
		case *Applied:
			if l.Directory() == dir {
				t.Fatal("accepted op left the directory as it was")
			}
			return
		case *RejectedError:
		default:
			t.Fatalf("response %T %v", r, r)
		}
		if s2, r2 := l.TreeHead(); s2 != size || r2 != root || l.Directory() != dir {
			t.Fatal("rejected op changed the state")
		}
	})
}
