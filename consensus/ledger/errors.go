package ledger

import (
	"errors"
	"fmt"
)

// Sentinel errors of the ledger. Callers branch with [errors.Is].
var (
	// ErrNotFound: no entry with this index or id, or a proof for a size the
	// log has not reached.
	ErrNotFound = errors.New("not found")
	// ErrClosed: the ledger was closed.
	ErrClosed = errors.New("ledger closed")
	// ErrFormat: fsm.db was written by another storage format version.
	ErrFormat = errors.New("unsupported store format")
	// ErrWrongHub: a store or snapshot of another hub than Options.HubID.
	ErrWrongHub = errors.New("store of another hub")
	// ErrCorrupt: the store contradicts itself (a missing stored hash, a
	// truncated value). Apply panics on it; reads return it.
	ErrCorrupt = errors.New("store corrupt")

	errMissingHash = fmt.Errorf("missing stored hash: %w", ErrCorrupt)
)

// Rejection codes of [RejectedError]. They are part of the node API (the
// proposer shows them to clients) and of the determinism contract: every
// node rejects a given entry at a given position with the same code.
const (
	CodeMalformed        = "malformed"         // the command or envelope does not parse strictly
	CodeWrongHub         = "wrong_hub"         // hub id of the header is not this hub's (or genesis misplaced)
	CodeBadSignature     = "bad_signature"     // a signature does not verify
	CodeUnknownSigner    = "unknown_signer"    // a signature names a key the directory does not give its signer
	CodeUnknownRecipient = "unknown_recipient" // a recipient is unknown or revoked, or a stanza names a wrong KEM key
	CodeRevoked          = "revoked"           // the author or a signer is revoked (or a removed node)
	CodeNotAuthorized    = "not_authorized"    // required signers missing, or the author may not write this
	CodeUnknownNotice    = "unknown_notice"    // ref_id names no applied notice
	CodeDuplicate        = "duplicate"         // the entry id is already applied (see DuplicateError)
	CodeInvalidOp        = "invalid_op"        // a directory operation that does not fit the directory
	CodeUnknownNode      = "unknown_node"      // a directory operation names a node that does not exist
	CodeBadCheckpoint    = "bad_checkpoint"    // a cosignature whose note does not verify or names a future size
	CodeUnknownProposal  = "unknown_proposal"  // cosign_admission names no admission proposal
	CodeAlreadySigned    = "already_signed"    // cosign_admission adds no country the proposal lacks
	CodeProposalClosed   = "proposal_closed"   // cosign_admission names a proposal already completed (or whose id was admitted otherwise)
)

// RejectedError is the apply response for an entry that was not accepted.
// The entry got no log index and changed nothing.
type RejectedError struct {
	Code   string // one of the Code constants
	Reason string // human-readable detail; may quote the offending value
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("entry rejected: %s: %s", e.Code, e.Reason)
}

func reject(code, format string, args ...any) *RejectedError {
	return &RejectedError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// DuplicateError is the apply response for an entry whose id is already
// applied; Index is the log index of the existing entry, so a proposer
// retrying after an ambiguous outcome can answer idempotently (after
// comparing the stored bytes with its own).
type DuplicateError struct {
	Index uint64
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("entry rejected: %s: entry id already applied at log index %d", CodeDuplicate, e.Index)
}

// VerifyError is returned by [VerifyStore] for the first log index whose
// entry, index or hashes do not hold.
type VerifyError struct {
	Index  uint64
	Reason string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("verifying log index %d: %s", e.Index, e.Reason)
}
