package ledger

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/penhub/penhub/crypto"
)

// history is what the verification rules need to know about the log before
// the entry being decided. The apply path reads the bbolt write transaction
// (which sees the batch's own earlier writes); VerifyStore reads the stored
// entries plus what it has replayed so far.
type history interface {
	// lookupID returns the log index of an applied entry id.
	lookupID(id [16]byte) (uint64, bool, error)
	// entry returns the envelope bytes at an applied index (valid for the
	// transaction).
	entry(index uint64) ([]byte, error)
	// treeHash returns the Merkle root at size (≤ the current size).
	treeHash(size uint64) (tlog.Hash, error)
}

// item is one command of a batch on its way through the rules.
type item struct {
	env    *crypto.Envelope
	rej    *RejectedError // parse-level rejection (stateless)
	sigRej *RejectedError // result of verifySigs (non-directory kinds)
	sigDir *Directory     // the directory sigRej was computed against (nil: not yet)
	pos    int            // position in the caller's batch
	leaf   tlog.Hash      // tlog.RecordHash(env.Raw), once leafOK
	leafOK bool
}

// leafHash returns the Merkle leaf hash of the item's envelope (computed by
// the verify workers where they ran).
func (it *item) leafHash() tlog.Hash {
	if !it.leafOK {
		it.leaf, it.leafOK = tlog.RecordHash(it.env.Raw), true
	}
	return it.leaf
}

// verifyItem is the parallel part of deciding an item: its signatures
// against dir, and its leaf hash.
func verifyItem(it *item, dir *Directory) {
	it.sigRej, it.sigDir = verifySigs(it.env, dir), dir
	if it.sigRej == nil {
		it.leafHash()
	}
}

// decision is the outcome of the rules for one entry at one position. It is
// computed without writing; the caller commits it.
type decision struct {
	rej        *RejectedError
	dup        *DuplicateError
	dir        *Directory // kind 4: the directory after the entry
	prev       *Directory // kind 4: the directory before it
	alarms     []Alarm
	checkpoint *checkpointRecord
}

type checkpointRecord struct {
	size uint64
	node string
	note []byte
}

// parseCommand turns a raft command into an item. Only the first byte 0x01
// (one envelope) is defined; other first bytes are reserved.
func parseCommand(data []byte) *item {
	if len(data) == 0 {
		return &item{rej: reject(CodeMalformed, "empty command")}
	}
	if data[0] != cmdEnvelope {
		return &item{rej: reject(CodeMalformed, "unknown command type 0x%02x", data[0])}
	}
	return parseEnvelope(data[1:])
}

func parseEnvelope(raw []byte) *item {
	e, err := crypto.Parse(raw)
	if err != nil {
		return &item{rej: reject(CodeMalformed, "%v", err)}
	}
	return &item{env: e}
}

// verifySigs checks rule 3 and the author part of rule 4 for a
// non-directory entry against dir: every signature's key is its signer's
// current key (an active authority's, or a node's), both halves verify, and
// the author signed. It is a pure function of (envelope, dir), so batches
// may run it on several goroutines.
func verifySigs(e *crypto.Envelope, dir *Directory) *RejectedError {
	signedByAuthor := false
	for i, s := range e.Sigs {
		key, rej := dir.signerKey(s.Signer, s.KeyID)
		if rej != nil {
			return rej
		}
		if err := e.VerifySignature(i, key); err != nil {
			return reject(CodeBadSignature, "signature %d by %q does not verify", i, s.Signer)
		}
		signedByAuthor = signedByAuthor || s.Signer == e.Author
	}
	if !signedByAuthor {
		return reject(CodeNotAuthorized, "the author %q did not sign", e.Author)
	}
	return nil
}

// verifyParallel runs verifySigs for every verifiable item of its against
// dir, on up to workers goroutines. Results land in the items, so the
// outcome does not depend on scheduling.
func verifyParallel(its []*item, dir *Directory, workers int) {
	var todo []*item
	for _, it := range its {
		if it.rej == nil && it.sigDir != dir && it.env.Kind != crypto.KindDirectory {
			todo = append(todo, it)
		}
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(todo))
	if workers <= 1 {
		for _, it := range todo {
			verifyItem(it, dir)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(todo) {
					return
				}
				verifyItem(todo[i], dir)
			}
		})
	}
	wg.Wait()
}

// process decides the items in order. Consecutive non-directory items have
// their signatures verified in parallel against the directory they all see
// (only directory entries change keys); each item is then decided and
// committed in order by decide, which may change the directory cur returns.
func process(its []*item, workers int, cur func() *Directory, decide func(*item) error) error {
	for i := 0; i < len(its); {
		j := i
		for j < len(its) && (its[j].rej != nil || its[j].env.Kind != crypto.KindDirectory) {
			j++
		}
		if j > i {
			verifyParallel(its[i:j], cur(), workers)
			for _, it := range its[i:j] {
				if err := decide(it); err != nil {
					return err
				}
			}
			i = j
			continue
		}
		if err := decide(its[i]); err != nil {
			return err
		}
		i++
	}
	return nil
}

// decideEntry applies the rules of docs/protocol.md §3 to the item at log
// index (the position it would get) against the directory dir and hub id
// hub. At index 0, hub is the expected hub id of the genesis entry (zero:
// any). The error is a storage failure, never a
// rejection.
func decideEntry(it *item, index uint64, hub [32]byte, dir *Directory, h history) (decision, error) {
	if it.rej != nil {
		return decision{rej: it.rej}, nil
	}
	e := it.env
	// Rule 2: the hub id (genesis: zero, and only first).
	if index == 0 {
		if e.Kind != crypto.KindDirectory || e.Subtype != OpGenesis || e.HubID != ([32]byte{}) {
			return decision{rej: reject(CodeWrongHub, "the first entry must be a genesis entry with a zero hub id")}, nil
		}
		if hub != ([32]byte{}) && hubIDOf(e.Raw) != hub {
			return decision{rej: reject(CodeWrongHub, "genesis of hub %x, this node belongs to %x", hubIDOf(e.Raw), hub)}, nil
		}
	} else if e.HubID != hub {
		return decision{rej: reject(CodeWrongHub, "hub id %x is not this hub's", e.HubID[:8])}, nil
	}
	// Rule 6 first, so a retry after an ambiguous outcome is answered as a
	// duplicate even if the directory changed since.
	if idx, ok, err := h.lookupID(e.EntryID); err != nil {
		return decision{}, err
	} else if ok {
		return decision{dup: &DuplicateError{Index: idx}}, nil
	}
	switch e.Kind {
	case crypto.KindDirectory:
		nd, alarms, rej := applyOp(e, dir, index)
		if rej != nil {
			return decision{rej: rej}, nil
		}
		if e.Subtype == OpGenesis {
			nd.HubID = hubIDOf(e.Raw)
		}
		return decision{dir: nd, prev: dir, alarms: alarms}, nil
	case crypto.KindCosignature:
		if it.sigDir != dir {
			verifyItem(it, dir)
		}
		if it.sigRej != nil {
			return decision{rej: it.sigRej}, nil
		}
		return decideCosignature(e, index, hub, dir, h)
	default:
		if it.sigDir != dir {
			verifyItem(it, dir)
		}
		if it.sigRej != nil {
			return decision{rej: it.sigRej}, nil
		}
		rej, err := checkSealed(e, dir, h)
		return decision{rej: rej}, err
	}
}

// checkSealed is rule 5 for notices, responses and receipts.
func checkSealed(e *crypto.Envelope, dir *Directory, h history) (*RejectedError, error) {
	if _, ok := dir.Authorities[e.Author]; !ok {
		return reject(CodeNotAuthorized, "author %q is not an authority", e.Author), nil
	}
	for _, r := range e.Recipients {
		if a, ok := dir.Authorities[r]; !ok || !a.Active() {
			return reject(CodeUnknownRecipient, "recipient %q is unknown or revoked", r), nil
		}
	}
	for _, st := range e.Stanzas {
		a, ok := dir.Authorities[st.Recipient]
		if !ok {
			return reject(CodeUnknownRecipient, "stanza for unknown %q", st.Recipient), nil
		}
		if cur := a.Current().KEM.ID(); st.KeyID != cur {
			return reject(CodeUnknownRecipient, "stanza for %q uses KEM key %s, the current one is %s", st.Recipient, st.KeyID, cur), nil
		}
	}
	switch e.Kind {
	case crypto.KindNotice:
		if e.Subtype == "" {
			return reject(CodeMalformed, "notice without a type"), nil
		}
		return nil, nil
	case crypto.KindResponse, crypto.KindReceipt:
		if e.Subtype != "" {
			return reject(CodeMalformed, "%s with subtype %q", e.Kind, e.Subtype), nil
		}
	default:
		return reject(CodeMalformed, "kind %s", e.Kind), nil
	}
	idx, ok, err := h.lookupID(e.RefID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return reject(CodeUnknownNotice, "no notice %x", e.RefID), nil
	}
	raw, err := h.entry(idx)
	if err != nil {
		return nil, err
	}
	n, err := crypto.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parsing stored entry %d: %w: %w", idx, ErrCorrupt, err)
	}
	if n.Kind != crypto.KindNotice {
		return reject(CodeUnknownNotice, "ref_id names a %s, not a notice", n.Kind), nil
	}
	// The parties of the notice: its sender and recipients. The author must
	// be one of them; the entry goes to all the others that are still
	// active.
	parties := append([]string{n.Author}, n.Recipients...)
	member := false
	want := map[string]bool{}
	for _, p := range parties {
		if p == e.Author {
			member = true
			continue
		}
		if a, ok := dir.Authorities[p]; ok && a.Active() {
			want[p] = true
		}
	}
	if !member {
		return reject(CodeNotAuthorized, "%q is neither the sender nor a recipient of the notice", e.Author), nil
	}
	if len(e.Recipients) != len(want) {
		return reject(CodeUnknownRecipient, "recipients must be the notice's other active parties (%d), got %d", len(want), len(e.Recipients)), nil
	}
	for _, r := range e.Recipients {
		if !want[r] {
			return reject(CodeUnknownRecipient, "%q is not a party of the notice", r), nil
		}
	}
	return nil, nil
}

// decideCosignature checks a kind-5 entry whose signatures verified: the
// note must verify with the author node's checkpoint key and name a size
// the log has reached; a root that differs from ours is accepted and raises
// an alarm.
func decideCosignature(e *crypto.Envelope, index uint64, hub [32]byte, dir *Directory, h history) (decision, error) {
	n, ok := dir.Nodes[e.Author]
	if !ok || n.Removed {
		return decision{rej: reject(CodeNotAuthorized, "author %q of a cosignature is not a node", e.Author)}, nil
	}
	if e.Subtype != "" {
		return decision{rej: reject(CodeMalformed, "cosignature with subtype %q", e.Subtype)}, nil
	}
	size, root, err := verifyCheckpoint(e.Body, e.Author, n.CheckpointKey, hub)
	if err != nil {
		return decision{rej: reject(CodeBadCheckpoint, "%v", err)}, nil
	}
	if size > index {
		return decision{rej: reject(CodeBadCheckpoint, "checkpoint of size %d beyond the log's %d", size, index)}, nil
	}
	d := decision{checkpoint: &checkpointRecord{size: size, node: e.Author, note: e.Body}}
	ours, err := h.treeHash(size)
	if err != nil {
		return decision{}, err
	}
	if ours != root {
		d.alarms = append(d.alarms, Alarm{
			Index: index, Kind: AlarmCheckpointMismatch, Node: e.Author,
			Message: fmt.Sprintf("checkpoint of node %q at size %d has root %s, ours is %s", e.Author, size, root, ours),
		})
	}
	return d, nil
}
