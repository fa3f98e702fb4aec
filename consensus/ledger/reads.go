package ledger

import (
	"bytes"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// Newest is the `before` bound of [Ledger.ListByAuthority] that starts at
// the newest entry.
const Newest uint64 = math.MaxUint64

// view runs fn in a read transaction of the current database. Slices read
// inside are valid only until fn returns.
func (l *Ledger) view(fn func(tx *bolt.Tx) error) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	return l.db.View(fn)
}

// Size returns the number of applied entries (the Merkle tree size).
func (l *Ledger) Size() uint64 { return l.st.Load().size }

// HubID returns the hub id (zero before genesis is applied).
func (l *Ledger) HubID() [32]byte { return l.st.Load().hub }

// AppliedRaftIndex returns the highest raft index applied (accepted,
// rejected or skipped).
func (l *Ledger) AppliedRaftIndex() uint64 { return l.st.Load().applied }

// Directory returns the current directory. It is immutable (see
// [Directory]); before genesis it is empty.
func (l *Ledger) Directory() *Directory { return l.st.Load().dir }

// TreeHead returns the size and Merkle root of the applied log.
func (l *Ledger) TreeHead() (uint64, tlog.Hash) {
	s := l.st.Load()
	return s.size, s.root
}

// Changed returns the current size and a channel that is closed after the
// next batch is applied (or a snapshot restored). Waiters re-read the
// store by index; the ledger never pushes entries.
func (l *Ledger) Changed() (uint64, <-chan struct{}) {
	s := l.st.Load()
	return s.size, s.changed
}

// Alarms returns every alarm raised by applied entries, oldest first, as
// text.
func (l *Ledger) Alarms() []string {
	s := l.st.Load()
	out := make([]string, len(s.alarms))
	for i, a := range s.alarms {
		out[i] = a.String()
	}
	return out
}

// AlarmList returns every alarm raised by applied entries, oldest first.
// The slice is shared: do not modify it.
func (l *Ledger) AlarmList() []Alarm { return l.st.Load().alarms }

// AlarmCount returns the number of alarms (a monotonic counter for
// metrics).
func (l *Ledger) AlarmCount() uint64 { return uint64(len(l.st.Load().alarms)) }

// Entry returns the entry at a log index, or ErrNotFound.
func (l *Ledger) Entry(index uint64) (*Entry, error) {
	var e *Entry
	err := l.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketEntries).Get(u64(index))
		if v == nil {
			return fmt.Errorf("entry %d: %w", index, ErrNotFound)
		}
		e = &Entry{Index: index, Raw: bytes.Clone(v), Reference: string(tx.Bucket(bucketRefsByIndex).Get(u64(index)))}
		return nil
	})
	return e, err
}

// EntryByID returns the entry with this entry id, or ErrNotFound.
func (l *Ledger) EntryByID(id [16]byte) (*Entry, error) {
	var e *Entry
	err := l.view(func(tx *bolt.Tx) error {
		idx, ok, err := lookupID(tx.Bucket(bucketIDs), id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("entry %x: %w", id, ErrNotFound)
		}
		v := tx.Bucket(bucketEntries).Get(u64(idx))
		if v == nil {
			return fmt.Errorf("entry %d of id %x: %w", idx, id, ErrCorrupt)
		}
		e = &Entry{Index: idx, Raw: bytes.Clone(v), Reference: string(tx.Bucket(bucketRefsByIndex).Get(u64(idx)))}
		return nil
	})
	return e, err
}

// Reference returns the reference of the notice at index ("" for other
// kinds and unknown indexes).
func (l *Ledger) Reference(index uint64) (string, error) {
	var ref string
	err := l.view(func(tx *bolt.Tx) error {
		ref = string(tx.Bucket(bucketRefsByIndex).Get(u64(index)))
		return nil
	})
	return ref, err
}

// ListByAuthority returns up to limit log indexes below before of the
// entries an authority wrote or was addressed by (notices, responses,
// receipts; directory entries it signed of record), newest first. Pass
// [Newest] for the first page and the last index returned for the next;
// limit ≤ 0 returns nothing.
func (l *Ledger) ListByAuthority(authority string, before uint64, limit int) ([]uint64, error) {
	if limit <= 0 || before == 0 {
		return nil, nil
	}
	var out []uint64
	err := l.view(func(tx *bolt.Tx) error {
		a := newDescCursor(tx.Bucket(bucketByAuthor), authority, before)
		r := newDescCursor(tx.Bucket(bucketByRecipient), authority, before)
		for len(out) < limit {
			ai, aok := a.peek()
			ri, rok := r.peek()
			switch {
			case !aok && !rok:
				return nil
			case aok && (!rok || ai > ri):
				out = append(out, ai)
				a.next()
			case rok && (!aok || ri > ai):
				out = append(out, ri)
				r.next()
			default: // equal
				out = append(out, ai)
				a.next()
				r.next()
			}
		}
		return nil
	})
	return out, err
}

// descCursor walks the keys "authority 0x00 index" of one authority in
// descending index order, starting below before.
type descCursor struct {
	c      *bolt.Cursor
	prefix []byte
	k      []byte
}

func newDescCursor(b *bolt.Bucket, authority string, before uint64) *descCursor {
	d := &descCursor{c: b.Cursor(), prefix: append([]byte(authority), 0)}
	k, _ := d.c.Seek(authorityKey(authority, before))
	if k == nil {
		k, _ = d.c.Last()
	} else {
		k, _ = d.c.Prev()
	}
	d.k = k
	return d
}

func (d *descCursor) peek() (uint64, bool) {
	if d.k == nil || len(d.k) != len(d.prefix)+8 || !bytes.HasPrefix(d.k, d.prefix) {
		return 0, false
	}
	return beU64(d.k[len(d.prefix):]), true
}

func (d *descCursor) next() { d.k, _ = d.c.Prev() }

// Refs returns the log indexes of the responses and receipts of a notice,
// oldest first.
func (l *Ledger) Refs(noticeID [16]byte) ([]uint64, error) {
	var out []uint64
	err := l.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRefs).Cursor()
		for k, _ := c.Seek(noticeID[:]); k != nil && bytes.HasPrefix(k, noticeID[:]); k, _ = c.Next() {
			if len(k) == 24 {
				out = append(out, beU64(k[16:]))
			}
		}
		return nil
	})
	return out, err
}

// InclusionProof proves that the entry at index is in the tree of the
// given size (index < size ≤ Size()).
func (l *Ledger) InclusionProof(index, size uint64) (tlog.RecordProof, error) {
	if index >= size || size > l.Size() {
		return nil, fmt.Errorf("inclusion proof of %d in size %d (log size %d): %w", index, size, l.Size(), ErrNotFound)
	}
	var p tlog.RecordProof
	err := l.view(func(tx *bolt.Tx) error {
		var err error
		p, err = tlog.ProveRecord(int64(size), int64(index), treeReader{tx.Bucket(bucketTree)})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("proving inclusion of %d in size %d: %w", index, size, err)
	}
	return p, nil
}

// ConsistencyProof proves that the tree of size from is a prefix of the
// tree of size to (from ≤ to ≤ Size()).
func (l *Ledger) ConsistencyProof(from, to uint64) (tlog.TreeProof, error) {
	if from > to || to > l.Size() {
		return nil, fmt.Errorf("consistency proof %d..%d (log size %d): %w", from, to, l.Size(), ErrNotFound)
	}
	var p tlog.TreeProof
	err := l.view(func(tx *bolt.Tx) error {
		var err error
		p, err = tlog.ProveTree(int64(to), int64(from), treeReader{tx.Bucket(bucketTree)})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("proving consistency %d..%d: %w", from, to, err)
	}
	return p, nil
}

// TreeHash returns the Merkle root of the tree of size (≤ Size()).
func (l *Ledger) TreeHash(size uint64) (tlog.Hash, error) {
	if size > l.Size() {
		return tlog.Hash{}, fmt.Errorf("tree hash of size %d (log size %d): %w", size, l.Size(), ErrNotFound)
	}
	var h tlog.Hash
	err := l.view(func(tx *bolt.Tx) error {
		var err error
		h, err = treeRoot(tx.Bucket(bucketTree), size)
		return err
	})
	return h, err
}

// Checkpoints returns the cosigned checkpoints applied through the log,
// ordered by size, then node id (one per size and node: the first one
// applied).
func (l *Ledger) Checkpoints() []StoredCheckpoint { return l.CheckpointsSince(0) }

// CheckpointsSince returns the stored checkpoints of size ≥ size, ordered
// like [Ledger.Checkpoints].
func (l *Ledger) CheckpointsSince(size uint64) []StoredCheckpoint {
	var out []StoredCheckpoint
	_ = l.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketCheckpoints).Cursor()
		for k, v := c.Seek(u64(size)); k != nil; k, v = c.Next() {
			if len(k) > 8 {
				out = append(out, StoredCheckpoint{Size: beU64(k[:8]), Node: string(k[8:]), Note: bytes.Clone(v)})
			}
		}
		return nil
	})
	return out
}

// Check runs the apply rules on one envelope against the current state
// without applying it: nil if it would be accepted now, else the
// *RejectedError or *DuplicateError apply would answer. It lets a proposer
// refuse bad input before it costs a raft log entry. The answer is
// advisory: the state may change before the entry is applied, and apply
// decides again.
func (l *Ledger) Check(envelope []byte) error {
	it := parseEnvelope(envelope)
	// The head first, then the transaction: the transaction then sees at
	// least everything the head describes (a batch publishes after commit).
	s := l.st.Load()
	return l.view(func(tx *bolt.Tx) error {
		hub := s.hub
		if s.size == 0 {
			hub = l.opts.expectedHub()
		}
		d, err := decideEntry(it, s.size, hub, s.dir, newReadOnlyWriter(tx))
		switch {
		case err != nil:
			return fmt.Errorf("checking entry: %w", err)
		case d.rej != nil:
			return d.rej
		case d.dup != nil:
			return d.dup
		}
		return nil
	})
}
