package client

import (
	"encoding/json"
	"time"

	"github.com/penhub/penhub/schema"
)

// The JSON shapes of docs/api.md. Unknown fields in answers are ignored, so a
// newer server does not break an older client.

// PostResult answers POST /v1/notices.
type PostResult struct {
	ID        string    `json:"id"`
	Index     uint64    `json:"index"`
	Reference string    `json:"reference"`
	LeafHash  string    `json:"leaf_hash"`
	CreatedAt time.Time `json:"created_at"`
	// Existing is true when the server answered 200: the same client id and
	// content had been posted before, and this is the original result.
	Existing bool `json:"existing,omitempty"`
}

// NoticeView is one notice as a token may read it (GET /v1/notices/{id} and
// the items of GET /v1/notices).
type NoticeView struct {
	ID         string    `json:"id"`
	Index      uint64    `json:"index"`
	Reference  string    `json:"reference"`
	Type       string    `json:"type"`
	Sender     string    `json:"sender"`
	Recipients []string  `json:"recipients"`
	Handling   string    `json:"handling"`
	CreatedAt  time.Time `json:"created_at"`
	Status     string    `json:"status"`
	// Deadline is the current response deadline (YYYY-MM-DD) of a
	// pre_export notice; empty for other types.
	Deadline string `json:"deadline,omitempty"`
	// Body is the decrypted notice body, as the sender wrote it.
	Body json.RawMessage `json:"body"`
	// Flags are the problems the reader's node found when it re-validated
	// the body after decrypting it (a sender's node may have skipped
	// validation).
	Flags     []schema.FieldError `json:"flags,omitempty"`
	Responses []ResponseView      `json:"responses"`
	Receipts  []ReceiptView       `json:"receipts"`
}

// ResponseView is one response to a notice.
type ResponseView struct {
	ID        string          `json:"id"`
	Index     uint64          `json:"index"`
	Author    string          `json:"author"`
	Decision  string          `json:"decision"`
	Reason    string          `json:"reason,omitempty"`
	Quantity  *float64        `json:"quantity,omitempty"`
	Unit      string          `json:"unit,omitempty"`
	Changes   json.RawMessage `json:"changes,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}

// ReceiptView records that a focal point of Authority first opened the
// notice at ReadAt.
type ReceiptView struct {
	ID        string    `json:"id"`
	Index     uint64    `json:"index"`
	Authority string    `json:"authority"`
	ReadAt    time.Time `json:"read_at"`
}

// NoticePage is one page of GET /v1/notices, newest first. NextCursor is
// empty on the last page.
type NoticePage struct {
	Notices    []NoticeView `json:"notices"`
	NextCursor string       `json:"next_cursor"`
}

// ListOptions filters GET /v1/notices. Zero fields are not sent.
type ListOptions struct {
	Type   string  // notice type
	Status string  // notice status
	Since  *uint64 // only notices with log index ≥ *Since
	Limit  int     // page size; the server defaults to 50 and clamps to 500
	Cursor string  // NextCursor of the previous page
}

// ResponseRequest is the body of POST /v1/notices/{id}/responses.
type ResponseRequest struct {
	// ID is an optional client id (a UUID): with one, a retry cannot
	// create a second response.
	ID       string          `json:"id,omitempty"`
	Decision string          `json:"decision"`
	Reason   string          `json:"reason,omitempty"`
	Quantity *float64        `json:"quantity,omitempty"`
	Unit     string          `json:"unit,omitempty"`
	Changes  json.RawMessage `json:"changes,omitempty"`
}

// ResponseResult answers a response: its entry id, log index, creation time
// and the notice's status after it.
type ResponseResult struct {
	ID        string    `json:"id"`
	Index     uint64    `json:"index"`
	CreatedAt time.Time `json:"created_at"`
	Status    string    `json:"status"`
}

// Directory answers GET /v1/directory.
type Directory struct {
	HubID       string               `json:"hub_id"`
	Secretariat string               `json:"secretariat"`
	Authorities []DirectoryAuthority `json:"authorities"`
	Nodes       []DirectoryNode      `json:"nodes"`
	// PendingAdmissions are open k-of-n admission proposals (hubs whose
	// genesis replaced the secretariat by a quorum of countries).
	PendingAdmissions []PendingAdmission `json:"pending_admissions"`
}

// PendingAdmission is an admission waiting for more countries' signatures.
type PendingAdmission struct {
	ID        string   `json:"id"` // the proposal id, for CosignAdmission
	Index     uint64   `json:"index"`
	Proposer  string   `json:"proposer"`
	Authority string   `json:"authority"`
	Node      string   `json:"node"`
	Countries []string `json:"countries"` // countries that have signed
	Needed    int      `json:"needed"`
}

// DirectoryAuthority is one authority of the directory.
type DirectoryAuthority struct {
	ID     string `json:"id"`
	Node   string `json:"node"`
	Status string `json:"status"` // active or revoked
	// Keys are every key generation, current and retired.
	Keys []DirectoryKey `json:"keys"`
}

// DirectoryKey is one key generation of an authority, valid for entries at
// log indexes From ≤ i < To (To 0: still current).
type DirectoryKey struct {
	SignKeyID   string `json:"sign_key_id"`
	KEMKeyID    string `json:"kem_key_id"`
	Fingerprint string `json:"fingerprint"`
	From        uint64 `json:"from"`
	To          uint64 `json:"to,omitempty"`
}

// DirectoryNode is one node of the directory.
type DirectoryNode struct {
	ID             string `json:"id"`
	API            string `json:"api"`
	Raft           string `json:"raft"`
	TLSFingerprint string `json:"tls_fingerprint"`
	Voter          bool   `json:"voter"`
	Removed        bool   `json:"removed,omitempty"`
}

// DirectoryResult answers a directory change (admit, rotate, revoke): the
// directory entry's id, its log index and the operation.
type DirectoryResult struct {
	ID    string `json:"id"`
	Index uint64 `json:"index"`
	Op    string `json:"op"`
	// For k-of-n admissions: Pending is true while fewer than Needed
	// countries have signed (Signatures so far).
	Pending    bool `json:"pending,omitempty"`
	Signatures int  `json:"signatures,omitempty"`
	Needed     int  `json:"needed,omitempty"`
}

// Status answers GET /v1/status (admin).
type Status struct {
	NodeID string `json:"node_id"`
	State  string `json:"state"`
	// Leader is the leader's node id (empty when there is none).
	Leader string `json:"leader"`
	Term   uint64 `json:"term"`
	// AppliedIndex is the log index of the last applied entry, -1 when the
	// log is empty.
	AppliedIndex int64             `json:"applied_index"`
	HubID        string            `json:"hub_id"`
	Peers        []Peer            `json:"peers"`
	Alarms       []json.RawMessage `json:"alarms"`
}

// Peer is one Raft member as the answering node sees it.
type Peer struct {
	ID       string `json:"id"`
	Suffrage string `json:"suffrage"`
	Lag      int64  `json:"lag"`
}

// Checkpoint answers GET /v1/log/checkpoint.
type Checkpoint struct {
	Size uint64 `json:"size"`
	// Root is the Merkle root, base64.
	Root string `json:"root"`
	// Checkpoint is the node's signed note (docs/protocol.md §6).
	Checkpoint   string            `json:"checkpoint"`
	Cosignatures []Cosignature     `json:"cosignatures"`
	Alarms       []json.RawMessage `json:"alarms,omitempty"`
}

// Cosignature is a voter's checkpoint as recorded in the log.
type Cosignature struct {
	Node string `json:"node"`
	Size uint64 `json:"size"`
	Note string `json:"note"`
}

// Entry is a raw log entry (GET /v1/log/entries/{index}, auditor or admin).
type Entry struct {
	Index  uint64 `json:"index"`
	Kind   string `json:"kind"`
	Author string `json:"author"`
	// Entry is the envelope as stored (ciphertext for sealed kinds).
	Entry []byte `json:"entry"`
}

// InclusionProof answers GET /v1/log/proof/inclusion. Hashes are as the
// server sends them: LeafHash hex, Root base64, Proof base64-decoded.
type InclusionProof struct {
	Index    uint64   `json:"index"`
	Size     uint64   `json:"size"`
	LeafHash string   `json:"leaf_hash"`
	Root     string   `json:"root"`
	Proof    [][]byte `json:"proof"`
}

// ConsistencyProof answers GET /v1/log/proof/consistency.
type ConsistencyProof struct {
	From     uint64   `json:"from"`
	To       uint64   `json:"to"`
	RootFrom string   `json:"root_from"`
	RootTo   string   `json:"root_to"`
	Proof    [][]byte `json:"proof"`
}

// FeedMessage is one frame of the feed (SPEC §4.2).
type FeedMessage struct {
	// Index is the entry's log index; for a heartbeat, every entry the
	// subscription wants up to Index has been sent (-1: none yet).
	Index int64  `json:"index"`
	ID    string `json:"id,omitempty"`
	// Kind is notice, response, receipt, directory or heartbeat.
	Kind string `json:"kind"`
	// Type is the notice type, the response decision or the directory op.
	Type       string          `json:"type,omitempty"`
	NoticeID   string          `json:"notice_id,omitempty"`
	Sender     string          `json:"sender,omitempty"`
	Recipients []string        `json:"recipients,omitempty"`
	CreatedAt  string          `json:"created_at,omitempty"`
	Reference  string          `json:"reference,omitempty"`
	Body       json.RawMessage `json:"body,omitempty"`
	// Raw is the frame exactly as received (the CLI prints it).
	Raw json.RawMessage `json:"-"`
}

// KindHeartbeat is the Kind of heartbeat frames.
const KindHeartbeat = "heartbeat"
