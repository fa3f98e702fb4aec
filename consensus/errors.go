package consensus

import (
	"errors"

	"github.com/penhub/penhub/consensus/ledger"
)

// Errors returned by [Node] methods. Callers match them with errors.Is; none of them
// requires importing raft or bbolt. Raft's own errors are translated at this boundary
// (see translateApplyError).
var (
	// ErrNotLeader: the operation needs the leader and this node is not it. Propose never
	// returns it (it forwards); it is returned by leader-only internal operations.
	ErrNotLeader = errors.New("consensus: not the leader")

	// ErrUnavailable: no leader could be reached within the hold time (Config.ForwardHold),
	// or there is no quorum. Nothing was written; retrying later is safe.
	ErrUnavailable = errors.New("consensus: no leader available")

	// ErrOutcomeUnknown: the proposal reached raft but leadership was lost or a deadline
	// ran out before the result came back. The entry may or may not be committed. Retrying
	// with the same envelope is safe: the ledger rejects a second copy of an entry id with
	// a [DuplicateError] naming the original index.
	ErrOutcomeUnknown = errors.New("consensus: outcome unknown")

	// ErrClosed: the node is closed or closing.
	ErrClosed = errors.New("consensus: node closed")

	// ErrNotFound: no such entry (the ledger's sentinel).
	ErrNotFound = ledger.ErrNotFound

	// ErrNotMember: a TLS peer's key fingerprint is not that of a node in the directory
	// (or, before genesis is applied, in the genesis).
	ErrNotMember = errors.New("consensus: peer is not a directory node")

	// ErrInconsistentStore: Open found the ledger behind this node's own
	// (live) raft snapshot, which only a replaced or damaged fsm.db explains.
	ErrInconsistentStore = errors.New("consensus: ledger behind its own snapshot")
)

// RejectedError is returned by Propose when every node's ledger refused the entry
// (signature, directory or schema rule). Nothing was written to the log of entries.
type RejectedError = ledger.RejectedError

// DuplicateError is returned by Propose when an entry with the same id is already in the
// log, at Index. Proposers use it to answer a retry idempotently.
type DuplicateError = ledger.DuplicateError

// Applied describes an accepted entry: its log index, id, reference and Merkle leaf hash.
type Applied = ledger.Applied

// Directory is the replicated directory of authorities and nodes.
type Directory = ledger.Directory
