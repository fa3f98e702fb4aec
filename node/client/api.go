package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// PostNotice posts a notice request (SPEC §5). req is the request as JSON
// (json.RawMessage or []byte, sent as is) or any value that marshals to it,
// such as a *schema.NoticeRequest. A request with a client id ("id") is
// retried on 503 outcome_unknown too — the server answers a repeat with the
// original result (Existing set); without one, only on 503 unavailable and
// 429, which write nothing.
func (c *Client) PostNotice(ctx context.Context, req any) (*PostResult, error) {
	var body []byte
	switch r := req.(type) {
	case json.RawMessage:
		body = r
	case []byte:
		body = r
	default:
		b, err := json.Marshal(req)
		if err != nil {
			return nil, fmt.Errorf("posting notice: encoding request: %w", err)
		}
		body = b
	}
	var id struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &id) // a malformed body gets the server's 400
	var res PostResult
	status, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/notices", body: body, safe: id.ID != ""}, &res)
	if err != nil {
		return nil, fmt.Errorf("posting notice: %w", err)
	}
	res.Existing = status == http.StatusOK
	return &res, nil
}

// ListNotices returns one page of the notices the token may read, newest
// first. Follow NextCursor (in opts.Cursor) for the next page.
func (c *Client) ListNotices(ctx context.Context, opts ListOptions) (*NoticePage, error) {
	q := url.Values{}
	if opts.Type != "" {
		q.Set("type", opts.Type)
	}
	if opts.Status != "" {
		q.Set("status", opts.Status)
	}
	if opts.Since != nil {
		q.Set("since", strconv.FormatUint(*opts.Since, 10))
	}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Cursor != "" {
		q.Set("cursor", opts.Cursor)
	}
	var page NoticePage
	if err := c.getJSON(ctx, "/v1/notices", q, &page); err != nil {
		return nil, fmt.Errorf("listing notices: %w", err)
	}
	return &page, nil
}

// Notice returns one notice with its responses, receipts and status. A notice
// this token may not read is a 404 not_found, as is one that does not exist.
func (c *Client) Notice(ctx context.Context, id string) (*NoticeView, error) {
	var v NoticeView
	if err := c.getJSON(ctx, "/v1/notices/"+url.PathEscape(id), nil, &v); err != nil {
		return nil, fmt.Errorf("reading notice %q: %w", id, err)
	}
	return &v, nil
}

// Respond posts a response to a notice. Give req.ID (a UUID) to make
// retries of 503 outcome_unknown safe.
func (c *Client) Respond(ctx context.Context, noticeID string, req ResponseRequest) (*ResponseResult, error) {
	var res ResponseResult
	if _, err := c.postJSON(ctx, "/v1/notices/"+url.PathEscape(noticeID)+"/responses", req, req.ID != "", &res); err != nil {
		return nil, fmt.Errorf("responding to notice %q: %w", noticeID, err)
	}
	return &res, nil
}

// Directory returns the directory: authorities with their keys, and nodes.
func (c *Client) Directory(ctx context.Context) (*Directory, error) {
	var d Directory
	if err := c.getJSON(ctx, "/v1/directory", nil, &d); err != nil {
		return nil, fmt.Errorf("reading directory: %w", err)
	}
	return &d, nil
}

// AdmitAuthority asks the secretariat's node to admit authority id, homed on
// node, with the self-signed public key file publicKeys (as written by
// `penhub keygen`; sent as its text).
func (c *Client) AdmitAuthority(ctx context.Context, id, node string, publicKeys []byte) (*DirectoryResult, error) {
	req := struct {
		ID         string `json:"id"`
		Node       string `json:"node"`
		PublicKeys string `json:"public_keys"`
	}{id, node, string(publicKeys)}
	var res DirectoryResult
	if _, err := c.postJSON(ctx, "/v1/directory/authorities", req, false, &res); err != nil {
		return nil, fmt.Errorf("admitting authority %q: %w", id, err)
	}
	return &res, nil
}

// RotateAuthority asks the authority's home node to rotate its keys (reason
// may be empty).
func (c *Client) RotateAuthority(ctx context.Context, id, reason string) (*DirectoryResult, error) {
	req := struct {
		Reason string `json:"reason,omitempty"`
	}{reason}
	var res DirectoryResult
	if _, err := c.postJSON(ctx, "/v1/directory/authorities/"+url.PathEscape(id)+"/rotate", req, false, &res); err != nil {
		return nil, fmt.Errorf("rotating keys of %q: %w", id, err)
	}
	return &res, nil
}

// CosignAdmission adds the token's authority's signature (its country) to an
// open k-of-n admission proposal.
func (c *Client) CosignAdmission(ctx context.Context, proposal string) (*DirectoryResult, error) {
	var res DirectoryResult
	if _, err := c.postJSON(ctx, "/v1/directory/admissions/"+url.PathEscape(proposal)+"/cosign", struct{}{}, false, &res); err != nil {
		return nil, fmt.Errorf("cosigning admission %q: %w", proposal, err)
	}
	return &res, nil
}

// AdmitNode asks the secretariat's node to add a node to the directory;
// record is the node-request.json `penhub init --join` wrote.
func (c *Client) AdmitNode(ctx context.Context, record json.RawMessage) (*DirectoryResult, error) {
	var res DirectoryResult
	if _, err := c.postJSON(ctx, "/v1/directory/nodes", record, false, &res); err != nil {
		return nil, fmt.Errorf("admitting node: %w", err)
	}
	return &res, nil
}

// Genesis returns the hub's genesis entry (any token); a joining node checks
// its SHA-256 against the hub id it was given.
func (c *Client) Genesis(ctx context.Context) ([]byte, error) {
	var out struct {
		Entry []byte `json:"entry"`
	}
	if err := c.getJSON(ctx, "/v1/log/genesis", nil, &out); err != nil {
		return nil, fmt.Errorf("fetching the genesis entry: %w", err)
	}
	return out.Entry, nil
}

// RevokeAuthority asks the secretariat's node to revoke authority id.
func (c *Client) RevokeAuthority(ctx context.Context, id, reason string) (*DirectoryResult, error) {
	req := struct {
		Reason string `json:"reason"`
	}{reason}
	var res DirectoryResult
	if _, err := c.postJSON(ctx, "/v1/directory/authorities/"+url.PathEscape(id)+"/revoke", req, false, &res); err != nil {
		return nil, fmt.Errorf("revoking authority %q: %w", id, err)
	}
	return &res, nil
}

// Status returns the node's status (admin token).
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var s Status
	if err := c.getJSON(ctx, "/v1/status", nil, &s); err != nil {
		return nil, fmt.Errorf("reading status: %w", err)
	}
	return &s, nil
}

// Checkpoint returns the node's latest checkpoint and the cosignatures the
// log holds.
func (c *Client) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	var cp Checkpoint
	if err := c.getJSON(ctx, "/v1/log/checkpoint", nil, &cp); err != nil {
		return nil, fmt.Errorf("reading checkpoint: %w", err)
	}
	return &cp, nil
}

// Entry returns the raw log entry at index (auditor or admin token).
func (c *Client) Entry(ctx context.Context, index uint64) (*Entry, error) {
	var e Entry
	if err := c.getJSON(ctx, "/v1/log/entries/"+strconv.FormatUint(index, 10), nil, &e); err != nil {
		return nil, fmt.Errorf("reading log entry %d: %w", index, err)
	}
	return &e, nil
}

// InclusionProof returns the proof that entry index is in the tree of size.
func (c *Client) InclusionProof(ctx context.Context, index, size uint64) (*InclusionProof, error) {
	q := url.Values{"index": {strconv.FormatUint(index, 10)}, "size": {strconv.FormatUint(size, 10)}}
	var p InclusionProof
	if err := c.getJSON(ctx, "/v1/log/proof/inclusion", q, &p); err != nil {
		return nil, fmt.Errorf("reading inclusion proof of %d in %d: %w", index, size, err)
	}
	return &p, nil
}

// ConsistencyProof returns the proof that the tree of size from is a prefix
// of the tree of size to.
func (c *Client) ConsistencyProof(ctx context.Context, from, to uint64) (*ConsistencyProof, error) {
	q := url.Values{"from": {strconv.FormatUint(from, 10)}, "to": {strconv.FormatUint(to, 10)}}
	var p ConsistencyProof
	if err := c.getJSON(ctx, "/v1/log/proof/consistency", q, &p); err != nil {
		return nil, fmt.Errorf("reading consistency proof %d→%d: %w", from, to, err)
	}
	return &p, nil
}

// Ready reports whether the node answers /readyz with 200 (it has a leader
// and is caught up). A node that cannot be reached is an error.
func (c *Client) Ready(ctx context.Context) (bool, error) {
	_, err := c.once(ctx, call{method: http.MethodGet, path: "/readyz"}, nil)
	if err == nil {
		return true, nil
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return false, nil
	}
	return false, fmt.Errorf("checking readiness: %w", err)
}
