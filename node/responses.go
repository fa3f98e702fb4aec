package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/penhub/penhub/consensus"
	"github.com/penhub/penhub/crypto"
	"github.com/penhub/penhub/schema"
)

// responsePlain is the plaintext sealed inside a response envelope: the
// decision is confidential like the notice (SPEC §6.1). The client id lets a
// retry be answered with the original.
type responsePlain struct {
	ClientID string `json:"client_id,omitempty"`
	schema.Response
}

// receiptPlain is the plaintext of a read receipt.
type receiptPlain struct {
	ReadAt     string `json:"read_at"`
	ReaderRole string `json:"reader_role"`
}

type responseView struct {
	ID        string          `json:"id"`
	Index     uint64          `json:"index"`
	Author    string          `json:"author"`
	Decision  string          `json:"decision"`
	Reason    string          `json:"reason,omitempty"`
	Quantity  *float64        `json:"quantity,omitempty"`
	Unit      string          `json:"unit,omitempty"`
	ShippedOn string          `json:"shipped_on,omitempty"`
	Changes   json.RawMessage `json:"changes,omitempty"`
	CreatedAt string          `json:"created_at"`
	created   time.Time
}

type receiptView struct {
	ID        string `json:"id"`
	Index     uint64 `json:"index"`
	Authority string `json:"authority"`
	ReadAt    string `json:"read_at"`
}

// refsOf decrypts the responses and receipts of notice env for reader, in log order.
func (n *Node) refsOf(notice *crypto.Envelope, reader string) ([]responseView, []receiptView) {
	responses, receipts := []responseView{}, []receiptView{}
	led := n.ledger()
	idx, err := led.Refs(notice.EntryID)
	if err != nil {
		return responses, receipts
	}
	for _, i := range idx {
		entry, err := led.Entry(i)
		if err != nil {
			continue
		}
		env, err := crypto.Parse(entry.Raw)
		if err != nil {
			continue
		}
		plain, err := n.open(i, env, reader)
		if err != nil {
			continue
		}
		created := time.UnixMilli(env.CreatedMS).UTC()
		switch env.Kind {
		case crypto.KindResponse:
			var p responsePlain
			if json.Unmarshal(plain, &p) != nil {
				continue
			}
			responses = append(responses, responseView{ID: uuid.UUID(env.EntryID).String(), Index: i, Author: env.Author,
				Decision: p.Decision, Reason: p.Reason, Quantity: p.Quantity, Unit: p.Unit, ShippedOn: p.ShippedOn, Changes: p.Changes,
				CreatedAt: created.Format(time.RFC3339Nano), created: created})
		case crypto.KindReceipt:
			var p receiptPlain
			if json.Unmarshal(plain, &p) != nil {
				continue
			}
			receipts = append(receipts, receiptView{ID: uuid.UUID(env.EntryID).String(), Index: i, Authority: env.Author, ReadAt: p.ReadAt})
		}
	}
	return responses, receipts
}

// stripedLock serialises work per key byte (64 stripes); lock gives up when
// ctx is done.
type stripedLock struct {
	once sync.Once
	ch   [64]chan struct{}
}

func (s *stripedLock) lock(ctx context.Context, key byte) (unlock func(), err error) {
	s.once.Do(func() {
		for i := range s.ch {
			s.ch[i] = make(chan struct{}, 1)
		}
	})
	ch := s.ch[int(key)%len(s.ch)]
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the notice's lock: %w", ctx.Err())
	}
}

func (n *Node) postResponse(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	// 403 before 400/422 (SPEC §4.1).
	sign, ok := n.signer(c.Authority)
	if !ok {
		return errorf(http.StatusForbidden, codeForbidden, fmt.Sprintf("authority %q has no signing key on this node", c.Authority))
	}
	req, err := schema.DecodeResponseRequest(requestBody(r))
	if err != nil {
		return errorf(http.StatusBadRequest, codeBadRequest, err.Error())
	}
	if fe := schema.ValidateResponse(req); len(fe) > 0 {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeValidationFailed, Message: problemCount(len(fe), "response"), Fields: fe}
	}
	// Check and propose under the notice's lock: two decisions raced on one
	// notice would both pass the transition check against the same state,
	// and both be recorded (the log cannot read decisions to refuse one).
	if u, err := uuid.Parse(r.PathValue("id")); err == nil {
		unlock, err := n.respLocks.lock(r.Context(), u[0])
		if err != nil {
			return &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: "busy with other responses to this notice; nothing was written, retry", RetryAfter: time.Second}
		}
		defer unlock()
	}
	notice, e := n.loadNotice(r.Context(), r.PathValue("id"), c, true)
	if e != nil {
		return e
	}
	now := n.now().UTC()
	plain := responsePlain{ClientID: req.ID, Response: req.Response()}
	noticeID, _ := uuid.Parse(notice.ID)
	var id [16]byte
	if req.ID != "" {
		// A retry with the same client id answers the original response
		// (before the transition check, which the original already passed).
		id = crypto.DerivedID("penhub/v1/response-id", noticeID[:], []byte(c.Authority), []byte(req.ID))
		if e, found := n.existingResponse(w, id, c.Authority, plain, notice); found {
			return e
		}
	} else if _, err := n.rand.Read(id[:]); err != nil {
		return errorf(http.StatusInternalServerError, codeInternal, "drawing response id: "+err.Error())
	}
	if e := checkTransition(notice, c.Authority, plain.Response, now); e != nil {
		return e
	}
	body, err := json.Marshal(plain)
	if err != nil {
		return errorf(http.StatusInternalServerError, codeInternal, "encoding response: "+err.Error())
	}
	applied, dup, e := n.proposeRef(r.Context(), crypto.KindResponse, id, [16]byte(noticeID), notice, c.Authority, sign.Sign, body, now)
	if e != nil {
		return e
	}
	if dup {
		// A concurrent request with the same client id got there first:
		// answer as its retry (200 same content, 409 other).
		fresh, e := n.loadNotice(r.Context(), notice.ID, c, true)
		if e != nil {
			return e
		}
		if e, found := n.existingResponse(w, id, c.Authority, plain, fresh); found {
			return e
		}
	}
	notice.Responses = append(notice.Responses, responseView{Author: c.Authority, Decision: plain.Decision, Quantity: plain.Quantity, created: now})
	status, _ := deriveStatusFrom(schema.BodySummary(notice.Type, notice.Body), notice.Sender, notice.Responses, now)
	writeJSON(w, http.StatusCreated, map[string]any{
		"id": uuid.UUID(id).String(), "index": applied.Index,
		"created_at": now.Format(time.RFC3339Nano), "status": status,
	})
	return nil
}

// proposeRef seals and proposes a response or receipt of notice: encrypted to
// the notice's sender and recipients (and the author's own copy). dup is true
// when an entry with this id was already in the log (applied then names it).
func (n *Node) proposeRef(ctx context.Context, kind crypto.Kind, id, noticeID [16]byte, notice *noticeView, author string, key *crypto.SigningKey, plain []byte, now time.Time) (applied *consensus.Applied, dup bool, e *apiError) {
	// Revoked parties are left out: they can no longer be addressed (the log
	// requires the notice's other parties that are still active).
	dir := n.ledger().Directory()
	var recipients []string
	for _, a := range append([]string{notice.Sender}, notice.Recipients...) {
		if a == author || slices.Contains(recipients, a) {
			continue
		}
		if auth, ok := dir.Authority(a); ok && auth.Active() {
			recipients = append(recipients, a)
		}
	}
	hdr := crypto.Header{Kind: kind, HubID: n.hubID, EntryID: id, CreatedMS: now.UnixMilli(), Author: author, RefID: noticeID, Recipients: recipients}
	env, err := crypto.Seal(n.rand, hdr, sealRecipients(dir, author, recipients), plain, crypto.Signer{ID: author, Key: key})
	if err != nil {
		return nil, false, errorf(http.StatusInternalServerError, codeInternal, "sealing entry: "+err.Error())
	}
	applied, err = n.submit(ctx, env)
	if err != nil {
		if d, ok := asDuplicate(err); ok {
			entry, err := n.ledger().Entry(d.Index)
			if err == nil {
				return &consensus.Applied{Index: entry.Index, ID: id}, true, nil
			}
		}
		return nil, false, n.proposeError(err)
	}
	return applied, false, nil
}

// ensureReceipt appends a signed read receipt the first time a focal point of
// reader opens the notice on this node. It runs in the background: reading
// never waits for the log.
func (n *Node) ensureReceipt(noticeIDStr, reader string) {
	noticeID, err := uuid.Parse(noticeIDStr)
	if err != nil {
		return
	}
	id := crypto.DerivedID("penhub/v1/receipt-id", noticeID[:], []byte(reader))
	if _, err := n.ledger().EntryByID(id); err == nil {
		return
	}
	key, ok := n.signer(reader)
	if !ok {
		return
	}
	if _, loaded := n.receipts.LoadOrStore(id, struct{}{}); loaded {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		// Once proposed (applied here) the log itself answers "already
		// read"; on failure the next read retries. Either way the marker
		// goes, so the map holds only proposals in flight.
		defer n.receipts.Delete(id)
		ctx, cancel := context.WithTimeout(n.bg, 30*time.Second)
		defer cancel()
		entry, err := n.ledger().EntryByID(noticeID)
		if err != nil {
			return
		}
		env, err := crypto.Parse(entry.Raw)
		if err != nil {
			return
		}
		notice := &noticeView{Sender: env.Author, Recipients: env.Recipients}
		// The log refuses a receipt addressed to a revoked party (protocol
		// §3.5); do not seal and propose a doomed entry on every read.
		dir := n.ledger().Directory()
		for _, p := range append([]string{env.Author}, env.Recipients...) {
			if a, ok := dir.Authority(p); !ok || !a.Active() {
				return
			}
		}
		now := n.now().UTC()
		plain, _ := json.Marshal(receiptPlain{ReadAt: now.Format(time.RFC3339Nano), ReaderRole: "focal_point"})
		if _, _, e := n.proposeRef(ctx, crypto.KindReceipt, id, noticeID, notice, reader, key.Sign, plain, now); e != nil {
			n.log.Warn("appending read receipt failed; will retry on next read", "code", e.Code)
		}
	}()
}

// sameJSON reports whether a and b are the same JSON text up to insignificant
// whitespace (both empty counts as the same).
func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	ca, err1 := compactJSON(a)
	cb, err2 := compactJSON(b)
	return err1 == nil && err2 == nil && bytes.Equal(ca, cb)
}

func asDuplicate(err error) (*consensus.DuplicateError, bool) {
	var dup *consensus.DuplicateError
	ok := errors.As(err, &dup)
	return dup, ok
}

// existingResponse answers a retried response: found is true when id is
// already in the log; then 200 with the original (same content) or 409.
func (n *Node) existingResponse(w http.ResponseWriter, id [16]byte, author string, want responsePlain, notice *noticeView) (*apiError, bool) {
	entry, err := n.ledger().EntryByID(id)
	if err != nil {
		return nil, false
	}
	for _, r := range notice.Responses {
		if r.Index != entry.Index {
			continue
		}
		same := r.Author == author && r.Decision == want.Decision && r.Reason == want.Reason &&
			((r.Quantity == nil) == (want.Quantity == nil)) && (r.Quantity == nil || *r.Quantity == *want.Quantity) && r.Unit == want.Unit &&
			r.ShippedOn == want.ShippedOn && sameJSON(r.Changes, want.Changes)
		if !same {
			return errorf(http.StatusConflict, codeConflict, "a different response was already given with this client id"), true
		}
		status, _ := deriveStatusFrom(schema.BodySummary(notice.Type, notice.Body), notice.Sender, notice.Responses, n.now().UTC())
		writeJSON(w, http.StatusOK, map[string]any{"id": r.ID, "index": r.Index, "created_at": r.CreatedAt, "status": status})
		return nil, true
	}
	return errorf(http.StatusConflict, codeConflict, "this client id was already used for another entry"), true
}
