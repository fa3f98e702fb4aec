package ledger

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/penhub/penhub/crypto"
)

// TestRandomHistoriesAgree generates a random history (valid and invalid
// notices, responses, receipts, duplicates, garbage, cosignatures with
// right and wrong roots, rotations) against a reference ledger, then
// replays it into ledgers that cut batches differently, use other worker
// counts, or restore from a snapshot midway. All must end identical, and
// the reference store must pass VerifyStore.
func TestRandomHistoriesAgree(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 80
	}
	f := newFixture(t)
	rng := rand.New(rand.NewPCG(1, 2))
	ref := openTest(t)
	ref.mustApply(f.genesis)
	history := [][]byte{f.genesis}
	var notices [][]byte
	parties := func(env []byte) []string {
		e, _ := crypto.Parse(env)
		return append([]string{e.Author}, e.Recipients...)
	}
	auths := []string{"INT-INCB", "DE", "NL", "FR"}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	for len(history) < n {
		var env []byte
		switch k := rng.IntN(100); {
		case k < 40: // notice
			s := pick(auths)
			var rs []string
			for _, a := range auths {
				if a != s && rng.IntN(2) == 0 {
					rs = append(rs, a)
				}
			}
			if len(rs) == 0 {
				rs = []string{pick(auths)}
			}
			env = f.notice(s, rs...)
			notices = append(notices, env)
		case k < 65 && len(notices) > 0: // response or receipt, sometimes by a non-party
			nt := notices[rng.IntN(len(notices))]
			ps := parties(nt)
			author := pick(auths)
			var rs []string
			for _, p := range ps {
				if p != author {
					rs = append(rs, p)
				}
			}
			if len(rs) == 0 {
				continue
			}
			kind := crypto.KindResponse
			if rng.IntN(2) == 0 {
				kind = crypto.KindReceipt
			}
			env = f.sealed(kind, "", author, entryID(t, nt), rs...)
		case k < 72 && len(history) > 1: // duplicate
			env = history[1+rng.IntN(len(history)-1)]
		case k < 77: // garbage or a flipped byte
			env = bytes.Clone(history[rng.IntN(len(history))])
			env[rng.IntN(len(env))] ^= byte(1 + rng.IntN(255))
		case k < 90: // cosignature, sometimes of a wrong root
			size, root := ref.TreeHead()
			if rng.IntN(5) == 0 {
				root[0] ^= 1
			}
			env = f.cosign(pick([]string{"n1", "n2", "n3"}), int64(size), root)
		case k < 93: // rotation of a non-secretariat authority by its own keys
			id := pick(auths[1:])
			fresh := f.newIdentity(id)
			env = f.dir(OpRotateKeys, id, RotateBody{ID: id, SignKey: fresh.Sign.Public().Bytes(), KEMKey: fresh.KEM.Public().Bytes()},
				f.signer(id), crypto.Signer{ID: id, Key: fresh.Sign})
			if _, ok := ref.apply(env).(*Applied); ok {
				f.auth[id] = fresh
			}
			history = append(history, env)
			continue
		default:
			continue
		}
		ref.apply(env)
		history = append(history, env)
	}
	t.Logf("%d commands, %d entries, %d alarms", len(history), ref.Size(), len(ref.Alarms()))

	// Random batch cuts, 1 worker.
	a := openTest(t)
	a.Ledger.opts.VerifyWorkers = 1
	logs := a.logs(history...)
	for i := 0; i < len(logs); {
		j := min(len(logs), i+1+rng.IntN(70))
		a.ApplyBatch(logs[i:j])
		i = j
	}
	assertSameLedger(t, ref.Ledger, a.Ledger)

	// Everything in one batch, 8 workers, with a snapshot and restore midway.
	b := openTest(t)
	b.Ledger.opts.VerifyWorkers = 8
	half := len(logs) / 2
	b.ApplyBatch(logs[:half])
	snap, err := b.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	c := openTest(t)
	if err := c.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	c.ApplyBatch(logs) // the first half is skipped by applied_raft_index
	b.ApplyBatch(logs[half:])
	assertSameLedger(t, ref.Ledger, b.Ledger)
	assertSameLedger(t, ref.Ledger, c.Ledger)
	for i, lg := range logs[:3] {
		if r := c.ApplyBatch([]*raft.Log{lg})[0]; r != nil {
			t.Fatalf("replayed log %d answered %v", i, r)
		}
	}

	// The store verifies unless a mismatching checkpoint was applied.
	err = closeAndVerify(t, ref)
	if len(ref.Alarms()) == 0 && err != nil {
		t.Fatal(err)
	}
	if len(ref.Alarms()) > 0 && err == nil {
		t.Fatal("VerifyStore passed a store with a mismatching checkpoint")
	}
}
