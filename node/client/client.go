// Package client is the Go client of the penhub HTTP API v1 and its websocket
// feed (docs/api.md). The command-line client and the system tests use it.
//
// It imports nothing of penhub's but schema: never consensus, raft or bbolt.
//
// # Usage
//
//  1. c := client.New("http://127.0.0.1:7401", token)
//  2. res, err := c.PostNotice(ctx, requestJSON) — give the request a client id
//     ("id") so that retries are safe; res.Existing is true when the same
//     request had been posted before.
//  3. page, err := c.ListNotices(ctx, client.ListOptions{Type: "pre_export"}),
//     then c.Notice(ctx, id) and c.Respond(ctx, id, client.ResponseRequest{...}).
//  4. err := c.Subscribe(ctx, client.SubscribeOptions{}, fn) follows the live
//     feed until ctx ends, reconnecting by itself.
//
// # Errors
//
// A non-2xx answer is an [*APIError] carrying the status, the error code of
// SPEC §4.1 (the Code* constants), the message, the field problems and
// Retry-After. Match it with errors.As. Transport failures are returned
// wrapped, as they come from net/http.
//
// # Retries
//
// Requests that the server did not carry out — 429 rate_limited and 503
// unavailable — are retried after Retry-After (or a short backoff) until the
// retry budget (default 30 s, [WithRetryBudget]) is spent. 503
// outcome_unknown (the write may or may not have committed) is retried only
// when a retry cannot duplicate anything: for reads, and for writes that carry
// a client id, which the server uses to answer a repeat with the original
// result. Transport errors are not retried.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of the options.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultRetryBudget = 30 * time.Second
	DefaultUserAgent   = "penhub-client/1"
)

// maxResponse bounds the size of an answer the client reads (a page of 500
// notices with large bodies still fits).
const maxResponse = 256 << 20

// Client talks to one node's API. It is safe for concurrent use.
type Client struct {
	base        *url.URL
	token       string
	hc          *http.Client
	tlsConfig   *tls.Config
	timeout     time.Duration
	retryBudget time.Duration
	userAgent   string
	// backoff is the first retry delay when the server gives no Retry-After,
	// and the first reconnect delay of Subscribe; it doubles up to maxBackoff.
	backoff    time.Duration
	maxBackoff time.Duration
	// feedIdle is how long Subscribe waits for any frame (heartbeats come
	// every 15 s) before it takes the connection for dead and reconnects.
	feedIdle time.Duration
}

// Option configures a Client.
type Option func(*Client)

// WithTimeout bounds every request attempt (connect, send, receive the whole
// answer); default 30 s. It does not bound Subscribe, which runs until its
// context ends, but it bounds each websocket handshake.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithRetryBudget bounds how long retries of 429/503 answers may go on in
// total (default 30 s); 0 disables retries.
func WithRetryBudget(d time.Duration) Option { return func(c *Client) { c.retryBudget = d } }

// WithHTTPClient replaces the HTTP client (its transport's TLS settings are
// not used by Subscribe; give those with WithTLSConfig).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTLSConfig sets the TLS configuration of both the HTTP requests and the
// websocket feed (for example RootCAs = the hub CA).
func WithTLSConfig(cfg *tls.Config) Option { return func(c *Client) { c.tlsConfig = cfg } }

// WithUserAgent sets the User-Agent header (default "penhub-client/1").
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithBackoff sets the first and the largest retry and reconnect delay used
// when the server says nothing (defaults 250 ms and 10 s).
func WithBackoff(first, max time.Duration) Option {
	return func(c *Client) { c.backoff, c.maxBackoff = first, max }
}

// WithFeedIdleTimeout sets how long Subscribe waits for any frame before it
// reconnects (default 45 s, three missed heartbeats).
func WithFeedIdleTimeout(d time.Duration) Option { return func(c *Client) { c.feedIdle = d } }

// New returns a client of the node whose API base URL is baseURL
// ("http://127.0.0.1:7401"; a path prefix is kept), authenticating with the
// bearer token (may be empty for /healthz and /readyz). A baseURL that does
// not parse makes every call fail with that error.
func New(baseURL, token string, opts ...Option) *Client {
	c := &Client{
		token:       token,
		timeout:     DefaultTimeout,
		retryBudget: DefaultRetryBudget,
		userAgent:   DefaultUserAgent,
		backoff:     250 * time.Millisecond,
		maxBackoff:  10 * time.Second,
		feedIdle:    45 * time.Second,
	}
	c.base, _ = parseBase(baseURL)
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		if c.tlsConfig != nil {
			tr.TLSClientConfig = c.tlsConfig.Clone()
		}
		c.hc = &http.Client{Transport: tr}
	}
	return c
}

// BaseURL returns the API base URL the client was made with.
func (c *Client) BaseURL() string {
	if c.base == nil {
		return ""
	}
	return c.base.String()
}

func parseBase(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("want http(s)://host:port")
	}
	return u, nil
}

// endpoint returns the absolute URL of path (which starts with "/") and query.
func (c *Client) endpoint(path string, q url.Values) (string, error) {
	if c.base == nil {
		return "", fmt.Errorf("bad node URL: want http(s)://host:port")
	}
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// call describes one API request.
type call struct {
	method string
	path   string // escaped by the caller where it embeds ids
	query  url.Values
	body   []byte // nil: no body
	// safe reports whether an outcome_unknown answer may be retried.
	safe bool
}

// do sends the call, retrying as the package doc says, and decodes a 2xx JSON
// answer into out (if non-nil). It returns the final status code.
func (c *Client) do(ctx context.Context, cl call, out any) (int, error) {
	start := time.Now()
	delay := c.backoff
	for attempt := 0; ; attempt++ {
		status, err := c.once(ctx, cl, out)
		var apiErr *APIError
		if err == nil || !errors.As(err, &apiErr) || !c.retryable(apiErr, cl) {
			return status, err
		}
		wait := apiErr.RetryAfter
		if wait <= 0 {
			wait = jitter(delay)
			delay = min(2*delay, c.maxBackoff)
		}
		if time.Since(start)+wait > c.retryBudget {
			return status, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return status, fmt.Errorf("%w (while waiting to retry after: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

func (c *Client) retryable(e *APIError, cl call) bool {
	switch {
	case e.Status == http.StatusTooManyRequests:
		return true
	case e.Status == http.StatusServiceUnavailable && e.Code == CodeOutcomeUnknown:
		return cl.safe
	case e.Status == http.StatusServiceUnavailable:
		return true
	}
	return false
}

// once sends one attempt.
func (c *Client) once(ctx context.Context, cl call, out any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u, err := c.endpoint(cl.path, cl.query)
	if err != nil {
		return 0, err
	}
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, body)
	if err != nil {
		return 0, err
	}
	c.header(req.Header)
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("reading answer to %s %s: %w", cl.method, cl.path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, decodeError(resp, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decoding answer to %s %s: %w", cl.method, cl.path, err)
		}
	}
	return resp.StatusCode, nil
}

// header sets the authentication and identification headers.
func (c *Client) header(h http.Header) {
	if c.token != "" {
		h.Set("Authorization", "Bearer "+c.token)
	}
	h.Set("User-Agent", c.userAgent)
}

// decodeError turns a non-2xx answer into an *APIError. An answer that is not
// the JSON error shape (a proxy's HTML page) keeps its first line as Message.
func decodeError(resp *http.Response, data []byte) *APIError {
	e := &APIError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
	var doc struct {
		Error *struct {
			Code    string            `json:"code"`
			Message string            `json:"message"`
			Fields  []json.RawMessage `json:"fields"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &doc) == nil && doc.Error != nil {
		e.Code, e.Message = doc.Error.Code, doc.Error.Message
		for _, raw := range doc.Error.Fields {
			var fe fieldError
			if json.Unmarshal(raw, &fe) == nil {
				e.Fields = append(e.Fields, fe.FieldError())
			}
		}
		return e
	}
	msg := strings.TrimSpace(string(data))
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	e.Message = msg
	return e
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent or bad.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// jitter returns a duration uniformly in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// getJSON is a GET that may always be retried.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, out any) error {
	_, err := c.do(ctx, call{method: http.MethodGet, path: path, query: q, safe: true}, out)
	return err
}

// postJSON marshals in and posts it.
func (c *Client) postJSON(ctx context.Context, path string, in any, safe bool, out any) (int, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return 0, fmt.Errorf("encoding request: %w", err)
	}
	return c.do(ctx, call{method: http.MethodPost, path: path, body: body, safe: safe}, out)
}
