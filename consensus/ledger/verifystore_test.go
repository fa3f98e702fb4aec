package ledger

import (
	"bytes"
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// tamper rewrites one value of a closed ledger file.
func tamper(t *testing.T, path string, bucket, key []byte, change func([]byte) []byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		v := b.Get(key)
		if v == nil {
			t.Fatalf("no key %x in %s", key, bucket)
		}
		return b.Put(key, change(bytes.Clone(v)))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestVerifyStoreCatchesTampering(t *testing.T) {
	f := newFixture(t)
	build := func(t *testing.T) *testLedger {
		l := openTest(t)
		l.batch(mixedHistory(t, f)...)
		size, root := l.TreeHead()
		l.mustApply(f.cosign("n1", int64(size), root))
		return l
	}
	{
		l := build(t)
		if err := closeAndVerify(t, l); err != nil {
			t.Fatalf("clean store: %v", err)
		}
	}
	flipAt := func(i int) func([]byte) []byte {
		return func(v []byte) []byte {
			if i < 0 {
				i += len(v)
			}
			v[i] ^= 0x40
			return v
		}
	}
	tests := []struct {
		name   string
		bucket []byte
		key    []byte
		change func([]byte) []byte
		index  uint64
	}{
		{"a byte of a notice's ciphertext", bucketEntries, u64(5), flipAt(-4000), 5},
		{"a byte of a signature", bucketEntries, u64(3), flipAt(-10), 3},
		{"a byte of a directory entry's body", bucketEntries, u64(4), flipAt(200), 4},
		{"a byte of the genesis entry", bucketEntries, u64(0), flipAt(300), 0},
		{"a stored Merkle hash", bucketTree, u64(uint64(storedIndex(6))), flipAt(0), 6},
		{"a reference", bucketRefsByIndex, u64(2), func([]byte) []byte { return []byte("NL-2026-000009") }, 2},
		{"the id index", bucketIDs, nil, nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := build(t)
			hub := l.HubID()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if tc.key == nil { // point entry 1's id at entry 2
				e := entryID(t, l.mustEntryClosed(1))
				tc.key = e[:]
				tc.change = func([]byte) []byte { return u64(2) }
			}
			tamper(t, l.path, tc.bucket, tc.key, tc.change)
			err := VerifyStore(l.path, &hub, nil)
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("VerifyStore: %v, want *VerifyError", err)
			}
			if ve.Index != tc.index {
				t.Fatalf("VerifyStore named index %d (%s), want %d", ve.Index, ve.Reason, tc.index)
			}
			t.Log(ve)
		})
	}
	t.Run("a stored checkpoint", func(t *testing.T) {
		l := build(t)
		size := l.Size()
		hub := l.HubID()
		cp := l.Checkpoints()[0]
		l.Close()
		tamper(t, l.path, bucketCheckpoints, checkpointKey(cp.Size, cp.Node), func(v []byte) []byte { return append(v, 'x') })
		var ve *VerifyError
		if err := VerifyStore(l.path, &hub, nil); !errors.As(err, &ve) || ve.Index != size-1 {
			t.Fatalf("VerifyStore: %v", err)
		}
	})
	t.Run("an extra checkpoint", func(t *testing.T) {
		l := build(t)
		hub := l.HubID()
		l.Close()
		db, err := bolt.Open(l.path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketCheckpoints).Put(checkpointKey(1, "n2"), []byte("note"))
		})
		db.Close()
		var ve *VerifyError
		if err := VerifyStore(l.path, &hub, nil); !errors.As(err, &ve) {
			t.Fatalf("VerifyStore: %v", err)
		}
	})
	t.Run("other hub", func(t *testing.T) {
		l := build(t)
		hub := l.HubID()
		hub[0] ^= 1
		l.Close()
		var ve *VerifyError
		if err := VerifyStore(l.path, &hub, nil); !errors.As(err, &ve) {
			t.Fatalf("VerifyStore: %v", err)
		}
	})
	t.Run("progress", func(t *testing.T) {
		l := build(t)
		size := l.Size()
		l.Close()
		var last, total uint64
		if err := VerifyStore(l.path, nil, func(d, n uint64) { last, total = d, n }); err != nil {
			t.Fatal(err)
		}
		if last != size || total != size {
			t.Fatalf("progress %d/%d, want %d", last, total, size)
		}
	})
}

// mustEntryClosed reads an entry of a closed ledger file.
func (l *testLedger) mustEntryClosed(i uint64) []byte {
	l.t.Helper()
	db, err := bolt.Open(l.path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		l.t.Fatal(err)
	}
	defer db.Close()
	var out []byte
	db.View(func(tx *bolt.Tx) error {
		out = bytes.Clone(tx.Bucket(bucketEntries).Get(u64(i)))
		return nil
	})
	return out
}

// TestVerifyStoreSmallChunks makes the read-ahead verify chunks against a
// directory that a rotation in an earlier chunk then changes: the entries
// signed with the new key must be re-verified, not reported.
func TestVerifyStoreSmallChunks(t *testing.T) {
	f := newFixture(t)
	l := openTest(t)
	l.batch(mixedHistory(t, f)...)
	hub := l.HubID()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	defer func(c uint64) { verifyChunk = c }(verifyChunk)
	for _, c := range []uint64{1, 2, 3, 5} {
		verifyChunk = c
		if err := VerifyStore(l.path, &hub, nil); err != nil {
			t.Fatalf("chunk %d: %v", c, err)
		}
	}
}
