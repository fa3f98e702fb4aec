package ledger

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// Storage layout of fsm.db (docs/protocol.md §5, docs/ledger.md). Changing
// any bucket name, key or value encoding here breaks compatibility with
// existing stores.
var (
	bucketMeta        = []byte("meta")          // metaKey* → value
	bucketEntries     = []byte("entries")       // index u64 BE → envelope bytes
	bucketIDs         = []byte("ids")           // entry id [16] → index u64 BE
	bucketByAuthor    = []byte("by_author")     // authority 0x00 index → empty
	bucketByRecipient = []byte("by_recipient")  // authority 0x00 index → empty
	bucketRefs        = []byte("refs")          // notice id [16] ‖ index → empty
	bucketRefSeq      = []byte("refseq")        // sender 0x00 year u16 BE → last sequence u64 BE
	bucketRefsByIndex = []byte("refs_by_index") // index → reference string
	bucketTree        = []byte("tree")          // tlog stored hash index u64 BE → 32-byte hash
	bucketDirectory   = []byte("directory")     // "authority/<id>" | "node/<id>" | "policy" → JSON
	bucketCheckpoints = []byte("checkpoints")   // size u64 BE ‖ node id → signed note text
	bucketAlarms      = []byte("alarms")        // index u64 BE ‖ seq u8 → JSON Alarm

	allBuckets = [][]byte{
		bucketMeta, bucketEntries, bucketIDs, bucketByAuthor, bucketByRecipient,
		bucketRefs, bucketRefSeq, bucketRefsByIndex, bucketTree, bucketDirectory,
		bucketCheckpoints, bucketAlarms,
	}

	metaAppliedRaftIndex = []byte("applied_raft_index") // u64 BE
	metaLogSize          = []byte("log_size")           // u64 BE
	metaHubID            = []byte("hub_id")             // [32]
	metaFormat           = []byte("format")             // u64 BE, storeFormat
)

// storeFormat is the version of the layout above, written when a store is
// created; Open refuses a store of another version.
const storeFormat = 1

// fsmFileMode is the permission of fsm.db.
const fsmFileMode = 0o600

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func getU64(b *bolt.Bucket, key []byte) uint64 {
	v := b.Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// authorityKey is the key of the by_author and by_recipient buckets.
func authorityKey(authority string, index uint64) []byte {
	k := make([]byte, 0, len(authority)+9)
	k = append(k, authority...)
	k = append(k, 0)
	return append(k, u64(index)...)
}

func refKey(notice [16]byte, index uint64) []byte {
	k := make([]byte, 0, 24)
	k = append(k, notice[:]...)
	return append(k, u64(index)...)
}

func refSeqKey(sender string, year int) []byte {
	k := make([]byte, 0, len(sender)+3)
	k = append(k, sender...)
	k = append(k, 0, byte(year>>8), byte(year))
	return k
}

func checkpointKey(size uint64, node string) []byte {
	return append(u64(size), node...)
}

// createBuckets makes every bucket of the layout; it is idempotent.
func createBuckets(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("creating bucket %q: %w", name, err)
		}
	}
	return nil
}

// treeReader reads stored Merkle hashes from the tree bucket of tx; it sees
// the writes of tx itself, so it serves appends within a write transaction.
type treeReader struct{ b *bolt.Bucket }

var _ tlog.HashReader = treeReader{}

// ReadHashes implements tlog.HashReader.
func (r treeReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		v := r.b.Get(u64(uint64(idx)))
		if len(v) != tlog.HashSize {
			return nil, fmt.Errorf("reading stored hash %d: %w", idx, errMissingHash)
		}
		copy(out[i][:], v)
	}
	return out, nil
}

// appendLeaf stores the hashes of record n, whose leaf hash is
// tlog.RecordHash(envelope), and returns the leaf hash.
func appendLeaf(tree *bolt.Bucket, n uint64, leaf tlog.Hash) (tlog.Hash, error) {
	hs, err := tlog.StoredHashesForRecordHash(int64(n), leaf, treeReader{tree})
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("computing stored hashes of leaf %d: %w", n, err)
	}
	base := tlog.StoredHashIndex(0, int64(n))
	for i, h := range hs {
		if err := tree.Put(u64(uint64(base+int64(i))), h[:]); err != nil {
			return tlog.Hash{}, fmt.Errorf("storing hash of leaf %d: %w", n, err)
		}
	}
	return hs[0], nil
}

func treeRoot(tree *bolt.Bucket, size uint64) (tlog.Hash, error) {
	if size == 0 {
		return tlog.TreeHash(0, treeReader{tree})
	}
	h, err := tlog.TreeHash(int64(size), treeReader{tree})
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("computing tree hash at size %d: %w", size, err)
	}
	return h, nil
}
