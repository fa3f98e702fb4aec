// Package ledger is penhub's deterministic replicated state machine: the
// raft FSM that verifies and stores the signed log of notices, responses,
// receipts, directory changes and checkpoint cosignatures, and maintains
// the RFC 6962 Merkle tree over them.
//
// It imports crypto (envelope parsing, signature and checkpoint
// verification), hashicorp/raft (the FSM interfaces), bbolt and
// golang.org/x/mod/sumdb/tlog; nothing of the node layer. Package
// consensus runs raft with a [Ledger] as its FSM and serves reads from it.
//
// # Commands
//
// raft.Log.Data of a command is 0x01 ‖ envelope ([EncodeCommand]): one
// envelope (docs/protocol.md §2) per raft entry. Other first bytes are
// reserved and rejected as malformed.
//
// # Rules
//
// Every entry is verified at apply, on every node, against the directory as
// of its position (docs/protocol.md §3, §4): strict parse, hub id, each
// signature's key resolved from the directory (never from the envelope),
// required signers, recipients and stanza keys, the notice a response or
// receipt refers to, and entry-id deduplication. An accepted entry gets the
// next log index (= Merkle leaf number) and answers [*Applied]; a rejected
// one changes nothing and answers [*RejectedError] or [*DuplicateError].
// Apply reads no clock, no randomness and no network, and never depends on
// map iteration order: time and ids come from the entry.
//
// # Batches
//
// [Ledger.ApplyBatch] applies raft's whole commit batch in one bbolt write
// transaction (one fsync pair per batch instead of per entry), which also
// stores applied_raft_index; a replay of logs at or below it after a
// restart is skipped. Signatures of consecutive non-directory entries are
// verified in parallel against the directory they share; directory entries
// split the batch because they change keys.
//
// # Snapshots
//
// The bbolt file is the durable state. [Ledger.Snapshot] opens a read
// transaction; Persist streams it; [Ledger.Restore] writes the stream to a
// temporary file, fsyncs it and renames it over the live file.
//
// # Threads
//
// raft's FSM goroutine is the only writer (ApplyBatch, Snapshot, Restore).
// Readers (the API, feeds, proofs) run bbolt read transactions on their own
// goroutines and read the in-memory head (size, root, directory, alarms)
// through an atomic pointer that each batch replaces. See docs/ledger.md.
package ledger
