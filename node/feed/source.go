package feed

import (
	"context"
	"encoding/json"
)

// Source is what the feed needs from the node: the size of the applied log, a signal when it
// grows, and one entry as a given authority may see it. The node implements it over the
// replicated store and its keyring.
type Source interface {
	// Changed returns the number of applied log entries (log indexes are 0..size-1) and a
	// channel that is closed after the next applied batch. It must not block. Calls after the
	// channel closed return a larger (or equal) size and a fresh channel; the size never
	// shrinks.
	Changed() (size uint64, changed <-chan struct{})

	// View returns entry index as authority may see it (decrypted), or (nil, nil) when that
	// authority may not read it. index is always < a size Changed has returned. It is called
	// from the hub's goroutine (live entries) and from connection goroutines (replay after
	// since), concurrently, so it must be safe for concurrent use; the hub calls it at most
	// once per (index, authority) however many subscribers that authority has. The returned
	// Message is owned by the feed afterwards (the feed sets its Index) and must not be
	// modified by the Source. An error means the entry could not be read now (store failure,
	// ctx done); the feed closes the affected connections with a resume point instead of
	// skipping the entry.
	View(ctx context.Context, index uint64, authority string) (*Message, error)
}

// Message is one feed message: a log entry as one authority sees it. The JSON fields are the
// wire format (docs/api.md, Feed); the fields marked `json:"-"` are only used by filters and
// the H2 rule and never leave the node.
type Message struct {
	Index      uint64          `json:"index"`
	ID         string          `json:"id,omitempty"`
	Kind       string          `json:"kind"` // notice, response, receipt or directory
	Type       string          `json:"type,omitempty"`
	NoticeID   string          `json:"notice_id,omitempty"`
	Sender     string          `json:"sender,omitempty"`
	Recipients []string        `json:"recipients,omitempty"`
	CreatedAt  string          `json:"created_at,omitempty"`
	Reference  string          `json:"reference,omitempty"`
	Body       json.RawMessage `json:"body,omitempty"`

	// Handling is the notice's handling code (H0..H3); "H2" never reaches partner subscribers.
	// Responses and receipts of an H2 notice should carry "H2" too.
	Handling string `json:"-"`
	// Substances (canonical names and CAS numbers) and Countries (ISO 3166-1 alpha-2) named in
	// the body, and the incident Category, for the substances/countries/categories filters.
	Substances, Countries []string `json:"-"`
	Category              string   `json:"-"`
}

// Kinds of [Message].
const (
	KindNotice    = "notice"
	KindResponse  = "response"
	KindReceipt   = "receipt"
	KindDirectory = "directory"
	// KindHeartbeat is the kind of the heartbeat frame the feed itself sends.
	KindHeartbeat = "heartbeat"
)

// HandlingNoPartners is the handling code partner subscribers never receive.
const HandlingNoPartners = "H2"
