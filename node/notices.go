package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/penhub/penhub/consensus"
	"github.com/penhub/penhub/consensus/ledger"
	"github.com/penhub/penhub/crypto"
	"github.com/penhub/penhub/schema"
)

// noticePlain is the plaintext sealed inside a notice envelope. Its
// request_digest lets the sender's node answer a retry with the same client id
// (200, same content) or a conflict (409, other content) without keeping
// plaintext anywhere.
type noticePlain struct {
	ClientID string          `json:"client_id"`
	Digest   string          `json:"request_digest"`
	Body     json.RawMessage `json:"body"`
}

// postResult is the answer to POST /v1/notices.
type postResult struct {
	ID        string `json:"id"`
	Index     uint64 `json:"index"`
	Reference string `json:"reference"`
	LeafHash  string `json:"leaf_hash"`
	CreatedAt string `json:"created_at"`
}

func (n *Node) postNotice(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	req, err := schema.DecodeNoticeRequest(requestBody(r))
	if err != nil {
		return errorf(http.StatusBadRequest, codeBadRequest, err.Error())
	}
	// 403 before 422 (SPEC §4.1).
	sender := c.Authority
	sign, ok := n.signer(sender)
	if !ok {
		return errorf(http.StatusForbidden, codeForbidden, fmt.Sprintf("authority %q has no signing key on this node", sender))
	}
	dir := n.ledger().Directory()
	if a, ok := dir.Authority(sender); !ok || !a.Active() {
		// Not admitted (yet) or revoked: the log would refuse the entry, and
		// sealing needs the sender's directory keys.
		return errorf(http.StatusForbidden, codeForbidden, fmt.Sprintf("authority %q is not an active authority of this hub", sender))
	}
	clientID := req.ID
	if clientID == "" {
		clientID = uuid.NewString()
	}
	body, err := compactJSON(req.Body)
	if err != nil {
		return errorf(http.StatusBadRequest, codeBadRequest, "body: "+err.Error())
	}
	digest := requestDigest(req.Type, req.Handling, req.Recipients, body)
	id := crypto.NoticeID(n.hubID, sender, clientID)
	// A retry of a notice already in the log gets its original result even
	// when the same request would no longer validate (its response deadline
	// has passed since, a recipient was revoked): same content → 200.
	if req.ID != "" {
		if res, e, found := n.existingNotice(id, sender, digest); found && e == nil {
			writeJSON(w, http.StatusOK, res)
			return nil
		}
	}
	now := n.now().UTC()
	if fe := schema.ValidateNotice(req, now); len(fe) > 0 {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeValidationFailed,
			Message: problemCount(len(fe), "notice"), Fields: fe}
	}
	recipients, e := n.resolveRecipients(dir, sender, req)
	if e != nil {
		return e
	}
	if res, e, found := n.existingNotice(id, sender, digest); found {
		if e != nil {
			return e
		}
		writeJSON(w, http.StatusOK, res)
		return nil
	}
	plain, err := json.Marshal(noticePlain{ClientID: clientID, Digest: digest, Body: body})
	if err != nil {
		return errorf(http.StatusInternalServerError, codeInternal, "encoding notice: "+err.Error())
	}
	hdr := crypto.Header{
		Kind:       crypto.KindNotice,
		HubID:      n.hubID,
		EntryID:    id,
		CreatedMS:  now.UnixMilli(),
		Author:     sender,
		Subtype:    req.Type,
		Handling:   handlingCode(req.Handling),
		Recipients: recipients,
	}
	env, err := crypto.Seal(n.rand, hdr, sealRecipients(dir, sender, recipients), plain, crypto.Signer{ID: sender, Key: sign.Sign})
	if err != nil {
		return errorf(http.StatusInternalServerError, codeInternal, "sealing notice: "+err.Error())
	}
	applied, err := n.submit(r.Context(), env)
	if err != nil {
		var dup *consensus.DuplicateError
		if errors.As(err, &dup) {
			// A concurrent retry won the race: answer as for any retry.
			if res, e, found := n.existingNotice(id, sender, digest); found {
				if e != nil {
					return e
				}
				writeJSON(w, http.StatusOK, res)
				return nil
			}
		}
		return n.proposeError(err)
	}
	n.metrics.noticesPosted.Inc()
	writeJSON(w, http.StatusCreated, postResult{
		ID:        uuid.UUID(id).String(),
		Index:     applied.Index,
		Reference: applied.Reference,
		LeafHash:  hex.EncodeToString(applied.LeafHash[:]),
		CreatedAt: time.UnixMilli(hdr.CreatedMS).UTC().Format(time.RFC3339Nano),
	})
	return nil
}

// existingNotice answers a retry: found is true when the id is already in the
// log; then either the original result (same digest) or a 409.
func (n *Node) existingNotice(id [16]byte, sender, digest string) (postResult, *apiError, bool) {
	entry, err := n.ledger().EntryByID(id)
	if err != nil {
		return postResult{}, nil, false
	}
	env, err := crypto.Parse(entry.Raw)
	if err != nil {
		return postResult{}, errorf(http.StatusInternalServerError, codeInternal, "parsing stored entry: "+err.Error()), true
	}
	plain, err := n.open(entry.Index, env, sender)
	if err != nil {
		return postResult{}, errorf(http.StatusInternalServerError, codeInternal, "opening stored notice: "+err.Error()), true
	}
	var p noticePlain
	if err := json.Unmarshal(plain, &p); err != nil || p.Digest != digest {
		return postResult{}, errorf(http.StatusConflict, codeConflict, "a different notice was already posted with this client id"), true
	}
	leaf := leafHash(entry.Raw)
	return postResult{
		ID:        uuid.UUID(id).String(),
		Index:     entry.Index,
		Reference: entry.Reference,
		LeafHash:  hex.EncodeToString(leaf[:]),
		CreatedAt: time.UnixMilli(env.CreatedMS).UTC().Format(time.RFC3339Nano),
	}, nil, true
}

// signer returns the keys an authority hosted here signs with: those whose
// signing key the committed directory names as current, so a rotation whose
// answer was lost (outcome unknown) or a restart between commit and keyring
// switch cannot leave this node signing with a retired key. It falls back to
// the keyring's current keys for an authority not yet in the directory.
func (n *Node) signer(authority string) (*crypto.Identity, bool) {
	if a, ok := n.ledger().Directory().Authority(authority); ok {
		want := a.Current().Sign.ID()
		if cur, ok := n.keyring.Current(authority); ok && cur.Sign.ID() == want {
			return cur, true
		}
		for _, id := range n.keyring.Identities(authority) {
			if id.Sign.ID() == want {
				if err := n.keyring.SetCurrent(authority, want); err != nil {
					n.log.Warn("switching keyring to the directory's current key", "err", err)
				}
				return id, true
			}
		}
		return nil, false
	}
	return n.keyring.Current(authority)
}

// resolveRecipients expands "*", adds the secretariat's copy of pre-export
// notices and transit countries when asked, and checks every recipient is an
// active authority. The sender is never listed (it keeps its own stanza).
func (n *Node) resolveRecipients(dir *consensus.Directory, sender string, req *schema.NoticeRequest) ([]string, *apiError) {
	var out []string
	add := func(id string) {
		if id != sender && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(req.Recipients) == 1 && req.Recipients[0] == "*" {
		for _, id := range dir.ActiveAuthorities() {
			add(id)
		}
		if len(out) == 0 {
			return nil, errorf(http.StatusUnprocessableEntity, codeUnknownRecipient, "no active authority besides the sender to send to")
		}
		return out, nil
	}
	var unknown []schema.FieldError
	for i, id := range req.Recipients {
		a, ok := dir.Authority(id)
		if !ok || a.Status != "active" {
			why := "is not an authority of this hub"
			if ok {
				why = "has been revoked"
			}
			unknown = append(unknown, schema.FieldError{Field: "recipients[" + strconv.Itoa(i) + "]", Code: codeUnknownRecipient, Problem: fmt.Sprintf("recipient %q %s", id, why)})
			continue
		}
		add(id)
	}
	if len(unknown) > 0 {
		return nil, &apiError{Status: http.StatusUnprocessableEntity, Code: codeUnknownRecipient, Message: problemCount(len(unknown), "recipient list"), Fields: unknown}
	}
	if req.Type == "pre_export" {
		for _, id := range dir.Policy.CopyTo {
			if a, ok := dir.Authority(id); ok && a.Status == "active" {
				add(id)
			}
		}
		if transit := preExportTransit(req.Body); transit != nil {
			for _, cc := range transit {
				if a, ok := dir.Authority(cc); ok && a.Status == "active" {
					add(cc)
				}
			}
		}
	}
	if len(out) == 0 {
		// Only the sender was named: it keeps its own copy, and a sealed
		// entry needs a recipient (this was a 500 from the sealer).
		return nil, &apiError{Status: http.StatusUnprocessableEntity, Code: codeValidationFailed, Message: problemCount(1, "recipient list"),
			Fields: []schema.FieldError{{Field: "recipients", Code: "sender_only", Problem: fmt.Sprintf("%s is the sender and keeps its own copy; name at least one other recipient", sender)}}}
	}
	return out, nil
}

// sealRecipients returns the KEM keys of the recipients and of the sender.
func sealRecipients(dir *consensus.Directory, sender string, recipients []string) []crypto.Recipient {
	out := make([]crypto.Recipient, 0, len(recipients)+1)
	for _, id := range append(slices.Clone(recipients), sender) {
		a, _ := dir.Authority(id)
		out = append(out, crypto.Recipient{ID: id, Key: a.Current().KEM})
	}
	return out
}

func handlingCode(h string) uint8 {
	switch h {
	case "H1":
		return 1
	case "H2":
		return 2
	case "H3":
		return 3
	}
	return 0
}

func handlingName(code uint8) string { return "H" + strconv.Itoa(int(code)) }

func requestDigest(typ, handling string, recipients []string, body []byte) string {
	if handling == "" {
		handling = "H0"
	}
	h := sha256.New()
	fmt.Fprintf(h, "penhub/v1/request\n%s\n%s\n", typ, handling)
	for _, r := range recipients {
		fmt.Fprintf(h, "%s\n", r)
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func compactJSON(raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func problemCount(k int, what string) string {
	if k == 1 {
		return "1 problem in the " + what
	}
	return strconv.Itoa(k) + " problems in the " + what
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// proposeError maps consensus errors to API answers (SPEC §4.1).
// submit checks env against this node's view of the log (an early, advisory
// refusal that spends no Raft entry), then proposes it. Every node still
// decides again at apply.
func (n *Node) submit(ctx context.Context, env []byte) (*consensus.Applied, error) {
	if err := n.ledger().Check(env); err != nil {
		return nil, err
	}
	return n.cons.Propose(ctx, env)
}

func (n *Node) proposeError(err error) *apiError {
	var rej *consensus.RejectedError
	if errors.As(err, &rej) {
		n.metrics.rejected.WithLabelValues(rej.Code).Inc()
	}
	return proposeError(err)
}

func proposeError(err error) *apiError {
	var rej *consensus.RejectedError
	switch {
	case errors.Is(err, consensus.ErrUnavailable), errors.Is(err, consensus.ErrNotLeader), errors.Is(err, consensus.ErrClosed):
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: "the hub has no leader or not enough voters; nothing was written, retry later", RetryAfter: 2 * time.Second}
	case errors.Is(err, consensus.ErrOutcomeUnknown), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeOutcomeUnknown, Message: "the write may or may not have been committed; retry with the same client id, it is safe", RetryAfter: time.Second}
	case errors.As(err, &rej):
		// Every node rejected the entry identically; nothing was written.
		msg := "the log rejected the entry: " + rej.Reason
		switch rej.Code {
		case ledger.CodeUnknownRecipient:
			return errorf(http.StatusUnprocessableEntity, codeUnknownRecipient, msg)
		case ledger.CodeRevoked, ledger.CodeUnknownSigner, ledger.CodeNotAuthorized, ledger.CodeBadSignature:
			return errorf(http.StatusForbidden, codeForbidden, msg)
		case ledger.CodeUnknownNotice:
			return errorf(http.StatusNotFound, codeNotFound, msg)
		}
		return errorf(http.StatusUnprocessableEntity, codeValidationFailed, msg)
	}
	return errorf(http.StatusInternalServerError, codeInternal, "proposing entry: "+err.Error())
}

// ---- reading ----

// noticeView is a decrypted notice as the API shows it (docs/api.md).
type noticeView struct {
	ID         string              `json:"id"`
	Index      uint64              `json:"index"`
	Reference  string              `json:"reference"`
	Type       string              `json:"type"`
	Sender     string              `json:"sender"`
	Recipients []string            `json:"recipients"`
	Handling   string              `json:"handling"`
	CreatedAt  string              `json:"created_at"`
	Status     string              `json:"status"`
	Deadline   string              `json:"deadline,omitempty"`
	Body       json.RawMessage     `json:"body"`
	Flags      []schema.FieldError `json:"flags,omitempty"`
	Responses  []responseView      `json:"responses"`
	Receipts   []receiptView       `json:"receipts"`
}

// mayRead reports whether caller c may read an entry with this header. Partner
// tokens never read H2 notices (SPEC §5).
func mayRead(c caller, h *crypto.Header, noticeHandling uint8) bool {
	if c.Role == "partner" && noticeHandling == 2 {
		return false
	}
	return c.Authority != "" && (h.Author == c.Authority || slices.Contains(h.Recipients, c.Authority))
}

func (n *Node) getNotice(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	v, e := n.loadNotice(r.Context(), r.PathValue("id"), c, true)
	if e != nil {
		return e
	}
	if c.Role == "focal_point" && c.Authority != v.Sender {
		n.ensureReceipt(v.ID, c.Authority)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// loadNotice reads, authorizes and decrypts notice id for c. Any id that names
// no notice c may read gives the same 404.
func (n *Node) loadNotice(ctx context.Context, id string, c caller, withRefs bool) (*noticeView, *apiError) {
	notFound := errorf(http.StatusNotFound, codeNotFound, "no notice with this id is readable with this token")
	u, err := uuid.Parse(id)
	if err != nil {
		return nil, notFound
	}
	entry, err := n.ledger().EntryByID(u)
	if err != nil {
		return nil, notFound
	}
	env, err := crypto.Parse(entry.Raw)
	if err != nil || env.Kind != crypto.KindNotice || !mayRead(c, &env.Header, env.Handling) {
		return nil, notFound
	}
	return n.noticeView(entry.Index, entry.Reference, env, c.Authority, withRefs)
}

// noticeView decrypts a notice for authority reader and derives its status.
func (n *Node) noticeView(index uint64, reference string, env *crypto.Envelope, reader string, withRefs bool) (*noticeView, *apiError) {
	plain, err := n.open(index, env, reader)
	if err != nil {
		return nil, errorf(http.StatusNotFound, codeNotFound, "this notice cannot be opened on this node: "+err.Error())
	}
	var p noticePlain
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, errorf(http.StatusInternalServerError, codeInternal, "decoding notice plaintext: "+err.Error())
	}
	created := time.UnixMilli(env.CreatedMS).UTC()
	v := &noticeView{
		ID:         uuid.UUID(env.EntryID).String(),
		Index:      index,
		Reference:  reference,
		Type:       env.Subtype,
		Sender:     env.Author,
		Recipients: env.Recipients,
		Handling:   handlingName(env.Handling),
		CreatedAt:  created.Format(time.RFC3339Nano),
		Body:       p.Body,
		Responses:  []responseView{},
		Receipts:   []receiptView{},
	}
	// Recipients re-validate: a hostile sender's node could have skipped it.
	// Date rules are judged as of the notice's signed creation time.
	v.Flags = schema.ValidateNoticeBody(env.Subtype, p.Body, created)
	// Every type's status depends on its responses (an alert is acknowledged
	// or closed too), so they are always read; lists show them for
	// pre_export only.
	v.Responses, v.Receipts = n.refsOf(env, reader)
	v.Status, v.Deadline = deriveStatus(env, p.Body, v.Responses, n.now().UTC())
	if !withRefs && env.Subtype != "pre_export" {
		v.Responses, v.Receipts = []responseView{}, []receiptView{}
	}
	return v, nil
}

// noticeStatuses are the statuses GET /v1/notices?status= accepts.
var noticeStatuses = []string{statusPending, statusAcknowledged, statusNoObjection, statusObjection, statusInfoRequested,
	statusNoResponse, statusCancelled, statusShipped, statusOpen, statusClosed}

// listScanBudget bounds the log entries one list request reads; a page can
// then hold fewer than limit notices and still have a next_cursor. (A
// variable for tests.)
var listScanBudget = 10000

// listByteBudget bounds the notice bodies of one list page (notices can be
// 1 MiB each); the page that reaches it ends there, with a next_cursor.
var listByteBudget = 16 << 20

func (n *Node) listNotices(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	q := r.URL.Query()
	limit := 50
	if s := q.Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			return errorf(http.StatusBadRequest, codeBadRequest, "limit: must be a positive whole number")
		}
		limit = min(v, 500)
	}
	before := uint64(1<<63 - 1)
	if s := q.Get("cursor"); s != "" {
		v, err := strconv.ParseUint(s, 10, 63)
		if err != nil {
			return errorf(http.StatusBadRequest, codeBadRequest, "cursor: not a cursor returned by this API")
		}
		before = v
	}
	var since uint64
	if s := q.Get("since"); s != "" {
		v, err := strconv.ParseUint(s, 10, 63)
		if err != nil {
			return errorf(http.StatusBadRequest, codeBadRequest, "since: must be a log index")
		}
		since = v
	}
	typ, status := q.Get("type"), q.Get("status")
	if typ != "" && !slices.Contains(schema.NoticeTypes(), typ) {
		return errorf(http.StatusBadRequest, codeBadRequest, fmt.Sprintf("type: %q is not a notice type", typ))
	}
	if status != "" && !slices.Contains(noticeStatuses, status) {
		return errorf(http.StatusBadRequest, codeBadRequest, fmt.Sprintf("status: %q is not a notice status", status))
	}
	if c.Authority == "" {
		return errorf(http.StatusForbidden, codeForbidden, "this token has no authority")
	}
	page := struct {
		Notices    []*noticeView `json:"notices"`
		NextCursor string        `json:"next_cursor"`
	}{Notices: []*noticeView{}}
	led := n.ledger()
	scanned, bodyBytes, truncated := 0, 0, false
	for len(page.Notices) < limit && before > since && !truncated {
		idx, err := led.ListByAuthority(c.Authority, before, 256)
		if err != nil {
			return errorf(http.StatusInternalServerError, codeInternal, "listing notices: "+err.Error())
		}
		if len(idx) == 0 {
			before = since
			break
		}
		for _, i := range idx {
			before = i
			if i < since {
				break
			}
			scanned++
			entry, err := led.Entry(i)
			if err != nil {
				continue
			}
			env, err := crypto.Parse(entry.Raw)
			if err != nil || env.Kind != crypto.KindNotice || (typ != "" && env.Subtype != typ) || !mayRead(c, &env.Header, env.Handling) {
				continue
			}
			v, e := n.noticeView(i, entry.Reference, env, c.Authority, false)
			if e != nil || (status != "" && v.Status != status) {
				continue
			}
			page.Notices = append(page.Notices, v)
			bodyBytes += len(v.Body)
			if len(page.Notices) == limit || bodyBytes >= listByteBudget {
				break
			}
		}
		// A filter that matches little must not make one request read the
		// whole history, nor 500 large notices build a gigabyte answer: past
		// the scan or byte budget (or the request timeout) the page ends
		// early and next_cursor continues from where it stopped.
		truncated = scanned >= listScanBudget || bodyBytes >= listByteBudget || r.Context().Err() != nil
	}
	if (len(page.Notices) == limit || truncated) && before > since {
		page.NextCursor = strconv.FormatUint(before, 10)
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// open decrypts env (log index index) for authority reader with the key named
// by its stanza, current or retired. Plaintexts are cached per (index, reader).
func (n *Node) open(index uint64, env *crypto.Envelope, reader string) ([]byte, error) {
	if p, ok := n.views.get(index, reader); ok {
		return p, nil
	}
	var keyID crypto.KeyID
	found := false
	for _, s := range env.Stanzas {
		if s.Recipient == reader {
			keyID, found = s.KeyID, true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("authority %q is not a recipient", reader)
	}
	key, ok := n.keyring.KEMKeyByID(reader, keyID)
	if !ok {
		return nil, fmt.Errorf("the key %s of %q is not on this node (destroyed or never here)", keyID, reader)
	}
	plain, err := env.Open(reader, key)
	if err != nil {
		return nil, fmt.Errorf("opening entry %d: %w", index, err)
	}
	n.views.put(index, reader, plain)
	return plain, nil
}

// transitFields are the pre_export fields for copying transit countries.
type transitFields struct {
	NotifyTransit bool `json:"notify_transit"`
	Transport     struct {
		Route []string `json:"route"`
	} `json:"transport"`
}

func preExportTransit(body json.RawMessage) []string {
	var f transitFields
	if json.Unmarshal(body, &f) != nil || !f.NotifyTransit {
		return nil
	}
	out := slices.Clone(f.Transport.Route)
	sort.Strings(out)
	return slices.Compact(out)
}

// leafHash is the RFC 6962 leaf hash of an entry (its Merkle tree leaf).
func leafHash(raw []byte) tlog.Hash { return tlog.RecordHash(raw) }
