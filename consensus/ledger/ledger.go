package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/penhub/penhub/crypto"
)

// cmdEnvelope is the first byte of a raft command holding one envelope.
// Other values are reserved (batched envelopes, later); Apply rejects them.
const cmdEnvelope = 0x01

// EncodeCommand returns the raft command for one envelope: 0x01 ‖ envelope.
func EncodeCommand(envelope []byte) []byte {
	out := make([]byte, 0, 1+len(envelope))
	return append(append(out, cmdEnvelope), envelope...)
}

// DefaultInitialMmapSize is the bbolt map size reserved at Open (1 GiB of
// address space, not memory): a read transaction held open by a snapshot
// blocks a write that must grow the map, so it should rarely have to.
const DefaultInitialMmapSize = 1 << 30

// Options configures a Ledger. The zero value is usable.
type Options struct {
	// Logger receives alarms and restore events. Default: slog.Default().
	Logger *slog.Logger
	// VerifyWorkers is the number of goroutines verifying signatures within
	// a batch. Default: GOMAXPROCS.
	VerifyWorkers int
	// InitialMmapSize is bbolt's initial map size in bytes. Default:
	// DefaultInitialMmapSize.
	InitialMmapSize int
	// HubID, if set, is the hub this node belongs to (from `init --join
	// --hub-id`): a genesis entry of another hub is rejected, and Open and
	// Restore refuse a store of another hub, so the node never takes on
	// another hub's history.
	HubID *[32]byte
	// NoSync turns off fsync of fsm.db: for tests and benchmarks only (a
	// crash may then lose applied entries that raft will not replay).
	NoSync bool
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.VerifyWorkers <= 0 {
		o.VerifyWorkers = runtime.GOMAXPROCS(0)
	}
	if o.InitialMmapSize <= 0 {
		o.InitialMmapSize = DefaultInitialMmapSize
	}
	return o
}

// Applied is the apply response of an accepted entry.
type Applied struct {
	Index     uint64   // log index (Merkle leaf number)
	ID        [16]byte // entry id
	Reference string   // notices: "DE-2026-000123"; "" otherwise
	LeafHash  [32]byte // tlog.RecordHash(envelope)
	Kind      crypto.Kind
}

// Entry is one applied entry as stored.
type Entry struct {
	Index     uint64
	Raw       []byte // envelope bytes; owned by the caller
	Reference string // notices only
}

// StoredCheckpoint is a cosigned checkpoint applied through the log.
type StoredCheckpoint struct {
	Size uint64
	Node string
	Note []byte // signed-note text
}

// Alarm kinds.
const (
	// AlarmCheckpointMismatch: a node's signed checkpoint has another root
	// than our tree at that size (a fork or a corrupt store).
	AlarmCheckpointMismatch = "checkpoint_mismatch"
	// AlarmKeyReset: the secretariat reset an authority's keys; Node is the
	// authority's home node, which must tell its operators.
	AlarmKeyReset = "key_reset"
)

// Alarm is raised by an applied entry; alarms are part of the replicated
// state (every node raises the same ones, and they survive restarts).
type Alarm struct {
	Index   uint64 `json:"index"`   // log index of the entry that raised it
	Kind    string `json:"kind"`    // AlarmCheckpointMismatch or AlarmKeyReset
	Node    string `json:"node"`    // the node it concerns
	Message string `json:"message"` // human-readable
}

func (a Alarm) String() string {
	return fmt.Sprintf("log index %d: %s (node %s): %s", a.Index, a.Kind, a.Node, a.Message)
}

// state is the in-memory image of the committed store, replaced (never
// modified) after every batch.
type state struct {
	applied uint64
	size    uint64
	root    tlog.Hash
	hub     [32]byte
	dir     *Directory
	alarms  []Alarm
	changed chan struct{} // closed when a newer state is published
}

// Ledger is the replicated state machine: a raft.BatchingFSM over its own
// bbolt file. See the package documentation for the rules and threads.
type Ledger struct {
	path string
	opts Options
	log  *slog.Logger

	wmu sync.Mutex // serializes ApplyBatch, Restore and Close (raft calls them from one goroutine anyway)

	mu     sync.RWMutex // guards db: readers hold RLock for a read tx, Restore and Close hold Lock
	db     *bolt.DB
	closed bool

	st atomic.Pointer[state]

	statsMu sync.Mutex
	stats   Stats
}

// Stats counts the apply outcomes on this node since Open (local counters
// for metrics, not replicated state).
type Stats struct {
	Batches    uint64            // ApplyBatch calls that committed a transaction
	Accepted   uint64            // entries accepted
	Duplicates uint64            // entries answered with *DuplicateError
	Rejected   map[string]uint64 // entries rejected, by code
}

// Stats returns a copy of the apply counters.
func (l *Ledger) Stats() Stats {
	l.statsMu.Lock()
	defer l.statsMu.Unlock()
	s := l.stats
	s.Rejected = make(map[string]uint64, len(l.stats.Rejected))
	for k, v := range l.stats.Rejected {
		s.Rejected[k] = v
	}
	return s
}

func (l *Ledger) count(resp []interface{}) {
	l.statsMu.Lock()
	defer l.statsMu.Unlock()
	if l.stats.Rejected == nil {
		l.stats.Rejected = map[string]uint64{}
	}
	l.stats.Batches++
	for _, r := range resp {
		switch r := r.(type) {
		case *Applied:
			l.stats.Accepted++
		case *DuplicateError:
			l.stats.Duplicates++
		case *RejectedError:
			l.stats.Rejected[r.Code]++
		}
	}
}

var (
	_ raft.FSM         = (*Ledger)(nil)
	_ raft.BatchingFSM = (*Ledger)(nil)
)

// Open opens (or creates) the ledger file at path.
func Open(path string, opts Options) (*Ledger, error) {
	opts = opts.withDefaults()
	db, err := openDB(path, opts, false)
	if err != nil {
		return nil, err
	}
	l := &Ledger{path: path, opts: opts, log: opts.Logger, db: db}
	s, err := loadState(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening ledger %s: %w", path, err)
	}
	if err := opts.checkHub(s); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening ledger %s: %w", path, err)
	}
	l.st.Store(s)
	return l, nil
}

// checkHub refuses a non-empty state of another hub than Options.HubID.
func (o Options) checkHub(s *state) error {
	if o.HubID != nil && s.size > 0 && s.hub != *o.HubID {
		return fmt.Errorf("store of hub %x, want %x: %w", s.hub, *o.HubID, ErrWrongHub)
	}
	return nil
}

// expectedHub is the hub id decideEntry checks at index 0.
func (o Options) expectedHub() [32]byte {
	if o.HubID == nil {
		return [32]byte{}
	}
	return *o.HubID
}

func boltOptions(opts Options, readOnly bool) *bolt.Options {
	return &bolt.Options{
		Timeout:         time.Second,
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: opts.InitialMmapSize,
		NoSync:          opts.NoSync,
		ReadOnly:        readOnly,
	}
}

func openDB(path string, opts Options, readOnly bool) (*bolt.DB, error) {
	db, err := bolt.Open(path, fsmFileMode, boltOptions(opts, readOnly))
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if readOnly {
		return db, nil
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := createBuckets(tx); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if meta.Get(metaFormat) == nil {
			return meta.Put(metaFormat, u64(storeFormat))
		}
		if f := getU64(meta, metaFormat); f != storeFormat {
			return fmt.Errorf("store format %d, want %d: %w", f, storeFormat, ErrFormat)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initializing %s: %w", path, err)
	}
	return db, nil
}

// loadState reads the committed state of db.
func loadState(db *bolt.DB) (*state, error) {
	s := &state{changed: make(chan struct{})}
	err := db.View(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("missing bucket %q: %w", name, ErrCorrupt)
			}
		}
		meta := tx.Bucket(bucketMeta)
		if f := getU64(meta, metaFormat); f != storeFormat {
			return fmt.Errorf("store format %d, want %d: %w", f, storeFormat, ErrFormat)
		}
		s.applied = getU64(meta, metaAppliedRaftIndex)
		s.size = getU64(meta, metaLogSize)
		copy(s.hub[:], meta.Get(metaHubID))
		dir, err := loadDirectory(tx, s.hub)
		if err != nil {
			return err
		}
		s.dir = dir
		if s.root, err = treeRoot(tx.Bucket(bucketTree), s.size); err != nil {
			return err
		}
		return tx.Bucket(bucketAlarms).ForEach(func(_, v []byte) error {
			var a Alarm
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("decoding alarm: %w", err)
			}
			s.alarms = append(s.alarms, a)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("loading state: %w", err)
	}
	return s, nil
}

// Close closes the database. Reads afterwards return ErrClosed; Close is
// idempotent.
func (l *Ledger) Close() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if err := l.db.Close(); err != nil {
		return fmt.Errorf("closing ledger: %w", err)
	}
	return nil
}

// Apply implements raft.FSM; it is ApplyBatch of one log.
func (l *Ledger) Apply(lg *raft.Log) interface{} {
	return l.ApplyBatch([]*raft.Log{lg})[0]
}

// ApplyBatch implements raft.BatchingFSM. It is called by raft's FSM
// goroutine only (never concurrently with itself, Snapshot or Restore).
//
// The whole batch is applied in one bbolt write transaction, which also
// records the highest raft index of the batch as applied_raft_index; logs at
// or below the stored applied_raft_index (a replay after restart) and
// non-command logs answer nil. Each command answers *Applied,
// *RejectedError or *DuplicateError, identically on every node. A storage
// failure (disk error, a store that contradicts itself) panics: the state
// machine cannot skip an entry and stay deterministic.
func (l *Ledger) ApplyBatch(logs []*raft.Log) []interface{} {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.mu.RLock()
	defer l.mu.RUnlock()
	resp := make([]interface{}, len(logs))
	if l.closed {
		for i := range resp {
			resp[i] = ErrClosed
		}
		return resp
	}
	s := l.st.Load()
	var its []*item
	last := s.applied
	for i, lg := range logs {
		if lg.Index <= s.applied {
			continue
		}
		last = max(last, lg.Index)
		if lg.Type != raft.LogCommand {
			continue
		}
		it := parseCommand(lg.Data)
		it.pos = i
		its = append(its, it)
	}
	if last == s.applied {
		return resp
	}
	ns := &state{applied: last, size: s.size, root: s.root, hub: s.hub, dir: s.dir, alarms: slices.Clip(s.alarms), changed: make(chan struct{})}
	err := l.db.Update(func(tx *bolt.Tx) error {
		w := newWriter(tx)
		err := process(its, l.opts.VerifyWorkers, func() *Directory { return ns.dir }, func(it *item) error {
			hub := ns.hub
			if ns.size == 0 {
				hub = l.opts.expectedHub()
			}
			d, err := decideEntry(it, ns.size, hub, ns.dir, w)
			if err != nil {
				return err
			}
			switch {
			case d.rej != nil:
				resp[it.pos] = d.rej
			case d.dup != nil:
				resp[it.pos] = d.dup
			default:
				a, err := w.commit(it, ns.size, d)
				if err != nil {
					return err
				}
				resp[it.pos] = a
				ns.size++
				if d.dir != nil {
					ns.dir = d.dir
					ns.hub = d.dir.HubID
				}
				ns.alarms = append(ns.alarms, d.alarms...)
			}
			return nil
		})
		if err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(metaAppliedRaftIndex, u64(ns.applied)); err != nil {
			return err
		}
		if ns.size != s.size {
			if err := meta.Put(metaLogSize, u64(ns.size)); err != nil {
				return err
			}
			if ns.hub != s.hub {
				if err := meta.Put(metaHubID, ns.hub[:]); err != nil {
					return err
				}
			}
			if ns.root, err = treeRoot(w.tree, ns.size); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("ledger: applying raft logs up to %d: %v", last, err))
	}
	for _, a := range ns.alarms[len(s.alarms):] {
		l.log.Warn("ledger alarm", "index", a.Index, "kind", a.Kind, "node", a.Node, "message", a.Message)
	}
	l.publish(ns)
	l.count(resp)
	return resp
}

// publish makes ns the current state and wakes Changed waiters.
func (l *Ledger) publish(ns *state) {
	old := l.st.Swap(ns)
	if old != nil {
		close(old.changed)
	}
}

// writer commits accepted entries into a write transaction; it is also the
// history the rules read (bbolt transactions see their own writes).
type writer struct {
	tx                                                   *bolt.Tx
	meta, entries, ids, byAuthor, byRecipient, refs, seq *bolt.Bucket
	refsByIndex, tree, directory, checkpoints, alarms    *bolt.Bucket
}

func newWriter(tx *bolt.Tx) *writer {
	w := &writer{
		tx: tx, meta: tx.Bucket(bucketMeta), entries: tx.Bucket(bucketEntries), ids: tx.Bucket(bucketIDs),
		byAuthor: tx.Bucket(bucketByAuthor), byRecipient: tx.Bucket(bucketByRecipient), refs: tx.Bucket(bucketRefs),
		seq: tx.Bucket(bucketRefSeq), refsByIndex: tx.Bucket(bucketRefsByIndex), tree: tx.Bucket(bucketTree),
		directory: tx.Bucket(bucketDirectory), checkpoints: tx.Bucket(bucketCheckpoints), alarms: tx.Bucket(bucketAlarms),
	}
	// Keys of these buckets only grow: pack pages full.
	for _, b := range []*bolt.Bucket{w.entries, w.tree, w.refsByIndex, w.alarms} {
		b.FillPercent = 1.0
	}
	return w
}

var _ history = (*writer)(nil)

func (w *writer) lookupID(id [16]byte) (uint64, bool, error) {
	return lookupID(w.ids, id)
}

func beU64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func lookupID(ids *bolt.Bucket, id [16]byte) (uint64, bool, error) {
	v := ids.Get(id[:])
	if v == nil {
		return 0, false, nil
	}
	if len(v) != 8 {
		return 0, false, fmt.Errorf("id %x maps to %d bytes: %w", id, len(v), ErrCorrupt)
	}
	return beU64(v), true, nil
}

func (w *writer) entry(index uint64) ([]byte, error) {
	v := w.entries.Get(u64(index))
	if v == nil {
		return nil, fmt.Errorf("entry %d missing: %w", index, ErrCorrupt)
	}
	return v, nil
}

func (w *writer) treeHash(size uint64) (tlog.Hash, error) { return treeRoot(w.tree, size) }

// commit writes the accepted entry at log index n with its decision.
func (w *writer) commit(it *item, n uint64, d decision) (*Applied, error) {
	e := it.env
	key := u64(n)
	if err := w.entries.Put(key, e.Raw); err != nil {
		return nil, fmt.Errorf("storing entry %d: %w", n, err)
	}
	if err := w.ids.Put(e.EntryID[:], key); err != nil {
		return nil, fmt.Errorf("storing id of entry %d: %w", n, err)
	}
	leaf, err := appendLeaf(w.tree, n, it.leafHash())
	if err != nil {
		return nil, err
	}
	a := &Applied{Index: n, ID: e.EntryID, LeafHash: leaf, Kind: e.Kind}
	put := func(b *bolt.Bucket, k []byte) error { return b.Put(k, nil) }
	switch e.Kind {
	case crypto.KindNotice, crypto.KindResponse, crypto.KindReceipt:
		if err := put(w.byAuthor, authorityKey(e.Author, n)); err != nil {
			return nil, err
		}
		for _, r := range e.Recipients {
			if err := put(w.byRecipient, authorityKey(r, n)); err != nil {
				return nil, err
			}
		}
		if e.Kind != crypto.KindNotice {
			if err := put(w.refs, refKey(e.RefID, n)); err != nil {
				return nil, err
			}
			break
		}
		year := time.UnixMilli(e.CreatedMS).UTC().Year()
		sk := refSeqKey(e.Author, year)
		seq := getU64(w.seq, sk) + 1
		if err := w.seq.Put(sk, u64(seq)); err != nil {
			return nil, err
		}
		a.Reference = formatReference(e.Author, year, seq)
		if err := w.refsByIndex.Put(key, []byte(a.Reference)); err != nil {
			return nil, err
		}
	case crypto.KindDirectory:
		if _, ok := d.dir.Authorities[e.Author]; ok {
			if err := put(w.byAuthor, authorityKey(e.Author, n)); err != nil {
				return nil, err
			}
		}
		if err := w.putDirectory(d.prev, d.dir); err != nil {
			return nil, err
		}
	case crypto.KindCosignature:
		c := d.checkpoint
		ck := checkpointKey(c.size, c.node)
		if w.checkpoints.Get(ck) == nil {
			if err := w.checkpoints.Put(ck, c.note); err != nil {
				return nil, err
			}
		}
	}
	for i, al := range d.alarms {
		v, err := json.Marshal(al)
		if err != nil {
			return nil, err
		}
		if err := w.alarms.Put(append(u64(n), byte(i)), v); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// putDirectory writes the records of nd that are not those of prev (the
// ops replace changed records and share the others), in sorted order.
func (w *writer) putDirectory(prev, nd *Directory) error {
	if prev.Policy.HubName != nd.Policy.HubName || len(prev.Nodes) == 0 {
		if err := putPolicy(w.directory, nd.Policy); err != nil {
			return err
		}
	}
	ids := make([]string, 0, len(nd.Authorities))
	for id := range nd.Authorities {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if a := nd.Authorities[id]; prev.Authorities[id] != a {
			if err := putAuthority(w.directory, a); err != nil {
				return err
			}
		}
	}
	ids = ids[:0]
	for id := range nd.Nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if n := nd.Nodes[id]; prev.Nodes[id] != n {
			if err := putNode(w.directory, n); err != nil {
				return err
			}
		}
	}
	ids = ids[:0]
	for id := range nd.Admissions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if p := nd.Admissions[id]; prev.Admissions[id] != p {
			if err := putAdmission(w.directory, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func formatReference(sender string, year int, seq uint64) string {
	return fmt.Sprintf("%s-%04d-%06d", sender, year, seq)
}

func hubIDOf(genesis []byte) [32]byte { return sha256.Sum256(genesis) }

// Snapshot implements raft.FSM. It opens a read transaction of the live
// database, consistent with everything applied so far; Persist streams it
// (bbolt's tx.WriteTo) and Release ends it. While the transaction is open,
// writes that must grow bbolt's map beyond InitialMmapSize wait.
func (l *Ledger) Snapshot() (raft.FSMSnapshot, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	tx, err := l.db.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("starting snapshot transaction: %w", err)
	}
	return &fsmSnapshot{tx: tx}, nil
}

type fsmSnapshot struct {
	tx   *bolt.Tx
	once sync.Once
}

var _ raft.FSMSnapshot = (*fsmSnapshot)(nil)

// Persist writes the whole database as of Snapshot to sink.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.tx.WriteTo(sink); err != nil {
		sink.Cancel()
		return fmt.Errorf("persisting ledger snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("closing ledger snapshot: %w", err)
	}
	return nil
}

// Release ends the snapshot's read transaction.
func (s *fsmSnapshot) Release() {
	s.once.Do(func() { _ = s.tx.Rollback() })
}

// Restore implements raft.FSM: it replaces all state with the database in
// r (as written by Persist). The stream goes to a temporary file next to
// the ledger, which is fsynced and checked before it is renamed over the
// live file; on any error before the rename the current state is kept.
func (l *Ledger) Restore(r io.ReadCloser) error {
	defer r.Close()
	l.wmu.Lock()
	defer l.wmu.Unlock()
	tmp := l.path + ".restore"
	if err := writeFileSynced(tmp, r); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restoring ledger: %w", err)
	}
	check, err := bolt.Open(tmp, fsmFileMode, boltOptions(l.opts, true))
	if err == nil {
		var s *state
		if s, err = loadState(check); err == nil {
			err = l.opts.checkHub(s)
		}
		check.Close()
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restoring ledger: checking snapshot: %w", err)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		os.Remove(tmp)
		return ErrClosed
	}
	// From here on a failure leaves no usable database: the ledger reports
	// itself closed (raft treats a failed restore as fatal anyway).
	if err := l.db.Close(); err != nil {
		l.closed = true
		return fmt.Errorf("restoring ledger: closing current database: %w", err)
	}
	if err := os.Rename(tmp, l.path); err != nil {
		os.Remove(tmp)
		if db, err2 := openDB(l.path, l.opts, false); err2 == nil {
			l.db = db // the old file is intact: keep serving it
		} else {
			l.closed = true
		}
		return fmt.Errorf("restoring ledger: %w", err)
	}
	if err := syncDir(filepath.Dir(l.path)); err != nil {
		l.closed = true
		return fmt.Errorf("restoring ledger: %w", err)
	}
	db, err := openDB(l.path, l.opts, false)
	if err != nil {
		l.closed = true
		return fmt.Errorf("restoring ledger: reopening: %w", err)
	}
	s, err := loadState(db)
	if err != nil {
		db.Close()
		l.closed = true
		return fmt.Errorf("restoring ledger: %w", err)
	}
	l.db = db
	l.log.Info("ledger restored from snapshot", "size", s.size, "applied_raft_index", s.applied)
	l.publish(s)
	return nil
}

func writeFileSynced(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, fsmFileMode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
