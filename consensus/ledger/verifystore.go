package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/penhub/penhub/crypto"
)

// verifyChunk is how many entries VerifyStore reads and verifies at once
// (a variable for tests).
var verifyChunk uint64 = 512

// VerifyStore audits a ledger file offline (the node must be stopped, or at
// least not hold the file open for writing): it replays every stored entry
// from genesis through the same rules as apply, each against the directory
// as of that entry, and checks the stored ids, references, Merkle hashes
// and checkpoints against the replay. A cosigned checkpoint whose root
// differs from the tree fails the audit. If hubID is not nil the store
// must belong to that hub. progress, if not nil, is called after each chunk
// of entries. The first problem is returned as *VerifyError naming its log
// index; other errors are I/O failures.
func VerifyStore(path string, hubID *[32]byte, progress func(done, total uint64)) error {
	db, err := bolt.Open(path, fsmFileMode, boltOptions(Options{}.withDefaults(), true))
	if err != nil {
		return fmt.Errorf("opening %s for verification: %w", path, err)
	}
	defer db.Close()
	// Two read transactions of the read-only file: the main one decides
	// entries in order, the other feeds a goroutine that reads the next
	// chunk and verifies its signatures ahead (speculatively, against the
	// directory of the moment; decide re-verifies an item whose directory
	// changed since).
	tx, err := db.Begin(false)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	defer tx.Rollback()
	ahead, err := db.Begin(false)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	defer ahead.Rollback()
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return &VerifyError{Index: 0, Reason: fmt.Sprintf("missing bucket %q", name)}
		}
	}
	v := &verifier{w: newReadOnlyWriter(tx), seen: map[[16]byte]uint64{}, seq: map[string]uint64{}, cps: map[string][]byte{}, dir: emptyDirectory()}
	v.cur.Store(v.dir)
	return v.run(ahead.Bucket(bucketEntries), hubID, progress)
}

type verifier struct {
	w      *writer // read-only use of the buckets
	seen   map[[16]byte]uint64
	seq    map[string]uint64 // refSeqKey → last sequence
	hashes []tlog.Hash       // recomputed stored hashes
	cps    map[string][]byte // checkpointKey → note of the first cosignature replayed
	dir    *Directory
	cur    atomic.Pointer[Directory] // dir, for the read-ahead goroutine
	hub    [32]byte
}

var _ history = (*verifier)(nil)

func (v *verifier) lookupID(id [16]byte) (uint64, bool, error) {
	i, ok := v.seen[id]
	return i, ok, nil
}

func (v *verifier) entry(index uint64) ([]byte, error) { return v.w.entry(index) }

func (v *verifier) treeHash(size uint64) (tlog.Hash, error) {
	return tlog.TreeHash(int64(size), v)
}

// ReadHashes implements tlog.HashReader over the recomputed hashes.
func (v *verifier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		if idx < 0 || idx >= int64(len(v.hashes)) {
			return nil, errMissingHash
		}
		out[i] = v.hashes[idx]
	}
	return out, nil
}

func newReadOnlyWriter(tx *bolt.Tx) *writer {
	return &writer{
		tx: tx, meta: tx.Bucket(bucketMeta), entries: tx.Bucket(bucketEntries), ids: tx.Bucket(bucketIDs),
		byAuthor: tx.Bucket(bucketByAuthor), byRecipient: tx.Bucket(bucketByRecipient), refs: tx.Bucket(bucketRefs),
		seq: tx.Bucket(bucketRefSeq), refsByIndex: tx.Bucket(bucketRefsByIndex), tree: tx.Bucket(bucketTree),
		directory: tx.Bucket(bucketDirectory), checkpoints: tx.Bucket(bucketCheckpoints), alarms: tx.Bucket(bucketAlarms),
	}
}

func (v *verifier) run(entries *bolt.Bucket, hubID *[32]byte, progress func(done, total uint64)) error {
	size := getU64(v.w.meta, metaLogSize)
	var stored [32]byte
	copy(stored[:], v.w.meta.Get(metaHubID))
	if hubID != nil && size > 0 && stored != *hubID {
		return &VerifyError{Index: 0, Reason: fmt.Sprintf("store belongs to hub %x, not %x", stored, *hubID)}
	}
	if k, _ := v.w.entries.Cursor().Last(); k != nil && (len(k) != 8 || beU64(k) != size-1) || k == nil && size != 0 {
		return &VerifyError{Index: size, Reason: "the entries do not end at the stored log size"}
	}
	workers := Options{}.withDefaults().VerifyWorkers
	type chunk struct {
		its []*item
		err error
	}
	chunks := make(chan chunk, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	wg.Go(func() {
		defer close(chunks)
		for start := uint64(0); start < size; start += verifyChunk {
			end := min(start+verifyChunk, size)
			c := chunk{its: make([]*item, 0, end-start)}
			for i := start; i < end && c.err == nil; i++ {
				raw := entries.Get(u64(i))
				if raw == nil {
					c.err = &VerifyError{Index: i, Reason: "entry missing"}
					break
				}
				it := parseEnvelope(raw)
				it.pos = int(i)
				c.its = append(c.its, it)
			}
			if c.err == nil {
				verifyParallel(c.its, v.cur.Load(), workers)
			}
			select {
			case chunks <- c:
			case <-stop:
				return
			}
			if c.err != nil {
				return
			}
		}
	})
	for c := range chunks {
		if c.err != nil {
			return c.err
		}
		err := process(c.its, workers, func() *Directory { return v.dir }, func(it *item) error {
			return v.check(it, uint64(it.pos), hubID, stored)
		})
		if err != nil {
			return err
		}
		if progress != nil {
			progress(uint64(c.its[len(c.its)-1].pos)+1, size)
		}
	}
	// Every stored checkpoint must come from a cosignature in the log.
	n := 0
	err := v.w.checkpoints.ForEach(func(k, _ []byte) error {
		if _, ok := v.cps[string(k)]; !ok {
			return &VerifyError{Index: size, Reason: fmt.Sprintf("stored checkpoint %x has no cosignature entry in the log", k)}
		}
		n++
		return nil
	})
	if err != nil {
		return err
	}
	if n != len(v.cps) {
		return &VerifyError{Index: size, Reason: "the stored checkpoints do not match the cosignature entries"}
	}
	return v.checkAdmissions(size)
}

// checkAdmissions compares the stored admission proposals with the
// replayed ones.
func (v *verifier) checkAdmissions(size uint64) error {
	n := 0
	c := v.w.directory.Cursor()
	prefix := []byte(dirAdmissionPrefix)
	for k, val := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, val = c.Next() {
		p, ok := v.dir.Admissions[string(k[len(prefix):])]
		if !ok {
			return &VerifyError{Index: size, Reason: fmt.Sprintf("stored admission proposal %s has no admit_authority entry in the log", k[len(prefix):])}
		}
		want, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encoding admission proposal %s: %w", p.ID, err)
		}
		if !bytes.Equal(val, want) {
			return &VerifyError{Index: size, Reason: fmt.Sprintf("stored admission proposal %s differs from the replay", p.ID)}
		}
		n++
	}
	if n != len(v.dir.Admissions) {
		return &VerifyError{Index: size, Reason: "the stored admission proposals do not match the log"}
	}
	return nil
}

// check decides the entry at index like apply did and compares the
// stored derived data with the replay.
func (v *verifier) check(it *item, index uint64, hubID *[32]byte, stored [32]byte) error {
	bad := func(format string, args ...any) error {
		return &VerifyError{Index: index, Reason: fmt.Sprintf(format, args...)}
	}
	hub := v.hub
	if index == 0 && hubID != nil {
		hub = *hubID
	}
	d, err := decideEntry(it, index, hub, v.dir, v)
	if err != nil {
		var ve *VerifyError
		if errors.As(err, &ve) {
			return err
		}
		return bad("%v", err)
	}
	switch {
	case d.rej != nil:
		return bad("%s: %s", d.rej.Code, d.rej.Reason)
	case d.dup != nil:
		return bad("entry id already used at log index %d", d.dup.Index)
	}
	e := it.env
	if idx, ok, err := lookupID(v.w.ids, e.EntryID); err != nil || !ok || idx != index {
		return bad("the id index does not map entry id %x to this entry", e.EntryID)
	}
	v.seen[e.EntryID] = index
	hs, err := tlog.StoredHashesForRecordHash(int64(index), it.leafHash(), v)
	if err != nil {
		return bad("computing hashes: %v", err)
	}
	base := tlog.StoredHashIndex(0, int64(index))
	for i, h := range hs {
		if got := v.w.tree.Get(u64(uint64(base + int64(i)))); !bytes.Equal(got, h[:]) {
			return bad("stored Merkle hash %d differs from the recomputed one", base+int64(i))
		}
	}
	v.hashes = append(v.hashes, hs...)
	switch e.Kind {
	case crypto.KindNotice:
		year := time.UnixMilli(e.CreatedMS).UTC().Year()
		k := string(refSeqKey(e.Author, year))
		v.seq[k]++
		want := formatReference(e.Author, year, v.seq[k])
		if got := string(v.w.refsByIndex.Get(u64(index))); got != want {
			return bad("stored reference %q, want %q", got, want)
		}
	case crypto.KindResponse, crypto.KindReceipt:
		if v.w.refs.Get(refKey(e.RefID, index)) == nil {
			return bad("missing from the refs of notice %x", e.RefID)
		}
	case crypto.KindDirectory:
		v.dir = d.dir
		v.cur.Store(d.dir)
		if e.Subtype == OpGenesis {
			v.hub = d.dir.HubID
			if v.hub != stored {
				return bad("stored hub id %x is not the hash of the genesis entry", stored)
			}
			if hubID != nil && v.hub != *hubID {
				return bad("genesis of hub %x, not %x", v.hub, *hubID)
			}
		}
	case crypto.KindCosignature:
		c := d.checkpoint
		k := string(checkpointKey(c.size, c.node))
		if _, ok := v.cps[k]; !ok {
			v.cps[k] = c.note
			if !bytes.Equal(v.w.checkpoints.Get([]byte(k)), c.note) {
				return bad("checkpoint of node %q at size %d differs from (or is missing in) the stored checkpoints", c.node, c.size)
			}
		}
	}
	for _, a := range d.alarms {
		if a.Kind == AlarmCheckpointMismatch {
			return bad("%s", a.Message)
		}
	}
	return nil
}
