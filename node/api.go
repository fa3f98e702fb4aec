package node

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/penhub/penhub/node/tokens"
)

// caller is the authenticated token of a request.
type caller struct {
	tokens.Token
}

func (c caller) is(roles ...tokens.Role) bool {
	for _, r := range roles {
		if c.Role == r {
			return true
		}
	}
	return false
}

// handlerFunc is an API handler: it returns an error answer or writes its own.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c caller) *apiError

// route describes one authenticated endpoint.
type route struct {
	pattern string        // net/http ServeMux pattern, e.g. "GET /v1/notices/{id}"
	roles   []tokens.Role // roles that may call it; nil = any token
	body    bool          // reads a request body (size limit applies)
	h       handlerFunc
}

func (n *Node) routes(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	fp, pa, au, ad := tokens.RoleFocalPoint, tokens.RolePartner, tokens.RoleAuditor, tokens.RoleAdmin
	for _, rt := range []route{
		{"POST /v1/notices", []tokens.Role{fp}, true, n.postNotice},
		{"GET /v1/notices", []tokens.Role{fp, pa}, false, n.listNotices},
		{"GET /v1/notices/{id}", []tokens.Role{fp, pa}, false, n.getNotice},
		{"POST /v1/notices/{id}/responses", []tokens.Role{fp}, true, n.postResponse},
		{"GET /v1/feed", []tokens.Role{fp, pa}, false, n.serveFeed},
		{"GET /v1/directory", nil, false, n.getDirectory},
		{"POST /v1/directory/authorities", []tokens.Role{fp}, true, n.admitAuthority},
		{"POST /v1/directory/authorities/{id}/rotate", []tokens.Role{fp, ad}, true, n.rotateAuthority},
		{"POST /v1/directory/authorities/{id}/revoke", []tokens.Role{fp}, true, n.revokeAuthority},
		{"POST /v1/directory/admissions/{id}/cosign", []tokens.Role{fp}, true, n.cosignAdmission},
		{"POST /v1/directory/nodes", []tokens.Role{fp}, true, n.admitNode},
		{"GET /v1/log/genesis", nil, false, n.getGenesis},
		{"GET /v1/log/checkpoint", nil, false, n.getCheckpoint},
		{"GET /v1/log/entries/{index}", []tokens.Role{au, ad}, false, n.getEntry},
		{"GET /v1/log/proof/inclusion", nil, false, n.getInclusionProof},
		{"GET /v1/log/proof/consistency", nil, false, n.getConsistencyProof},
		{"GET /v1/status", []tokens.Role{ad}, false, n.getStatus},
	} {
		mux.Handle(rt.pattern, n.metrics.instrument(rt.pattern, n.authenticated(rt)))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !n.cons.Ready() {
			writeError(w, &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: "node has no leader or is catching up", RetryAfter: time.Second})
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ready\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(http.StatusNotFound, codeNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path))
	})
	n.mountConsole(mux)
	return mux
}

// authenticated applies, in the precedence order of SPEC §4.1: token (401),
// role (403), body size (413), rate limit (429), then the request timeout,
// and calls the handler.
func (n *Node) authenticated(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := n.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="penhub"`)
			writeError(w, errorf(http.StatusUnauthorized, codeUnauthorized, err.Error()))
			return
		}
		c := caller{tok}
		if rt.roles != nil && !c.is(rt.roles...) {
			writeError(w, errorf(http.StatusForbidden, codeForbidden, "a "+string(tok.Role)+" token may not "+describe(rt.pattern)))
			return
		}
		if rt.body {
			if r.ContentLength > n.cfg.MaxBodyBytes {
				writeError(w, tooLarge(n.cfg.MaxBodyBytes))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, n.cfg.MaxBodyBytes)
			body, err := io.ReadAll(r.Body)
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					writeError(w, tooLarge(n.cfg.MaxBodyBytes))
					return
				}
				writeError(w, errorf(http.StatusBadRequest, codeBadRequest, "reading request body: "+err.Error()))
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, body))
		}
		if !n.limits.allow(tok.ID) {
			writeError(w, &apiError{Status: http.StatusTooManyRequests, Code: codeRateLimited, Message: "too many requests for this token", RetryAfter: time.Second})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), n.cfg.RequestTimeout)
		defer cancel()
		if rt.pattern != "GET /v1/feed" {
			// The server has no WriteTimeout (feeds live long): a client that
			// stops reading must not hold its answer (a list page is up to
			// 16 MiB) and this goroutine forever.
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(n.cfg.RequestTimeout + answerWriteGrace))
		}
		// ?consistent=true: wait until this node has applied everything the
		// leader had committed when the request arrived.
		if r.Method == http.MethodGet && r.URL.Query().Get("consistent") == "true" {
			if err := n.cons.Barrier(ctx); err != nil {
				// A read: nothing to be unsure about (proposeError would call
				// a timeout outcome_unknown, "the write may have committed").
				writeError(w, &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable,
					Message: "cannot confirm this node is up to date (no leader, or catching up); retry", RetryAfter: time.Second})
				return
			}
		}
		if e := rt.h(w, r.WithContext(ctx), c); e != nil {
			writeError(w, e)
		}
	})
}

// answerWriteGrace is how long after the request timeout an answer may take
// to reach the client.
var answerWriteGrace = time.Minute // a variable for tests

type bodyKey struct{}

// requestBody returns the body read by authenticated (nil when the route reads none).
func requestBody(r *http.Request) []byte {
	b, _ := r.Context().Value(bodyKey{}).([]byte)
	return b
}

func tooLarge(limit int64) *apiError {
	return errorf(http.StatusRequestEntityTooLarge, codeTooLarge, "request body is larger than the limit of "+itoa(limit)+" bytes")
}

func describe(pattern string) string {
	method, path, _ := strings.Cut(pattern, " ")
	return "call " + method + " " + path
}

// authenticate resolves the bearer token (or the console's session cookie).
func (n *Node) authenticate(r *http.Request) (tokens.Token, error) {
	secret := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, s, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return tokens.Token{}, errors.New("authorization header is not a bearer token")
		}
		secret = strings.TrimSpace(s)
	} else if ck, err := r.Cookie(sessionCookie); err == nil {
		if !cookieAllowed(r) {
			return tokens.Token{}, errors.New("the session cookie is accepted only from this node's own console pages")
		}
		secret, _ = url.QueryUnescape(ck.Value)
	}
	if secret == "" {
		return tokens.Token{}, errors.New("no token: send Authorization: Bearer <token>")
	}
	tok, err := n.tokens.Authenticate(secret, n.now())
	switch {
	case errors.Is(err, tokens.ErrExpired):
		return tokens.Token{}, errors.New("token has expired")
	case errors.Is(err, tokens.ErrRevoked):
		return tokens.Token{}, errors.New("token has been revoked")
	case err != nil:
		return tokens.Token{}, errors.New("unknown token")
	}
	return tok, nil
}

// cookieAllowed reports whether a request may authenticate with the session
// cookie: the browser attaches it on its own, and SameSite=Strict still sends
// it from other ports and hosts of the same site, so the request must come
// from this origin (Origin, and Sec-Fetch-Site where the browser sends it).
// A write without either header is refused: browsers send Origin on every
// POST, and non-browser clients use a bearer token.
func cookieAllowed(r *http.Request) bool {
	if !sameOrigin(r) {
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
		return r.Method == http.MethodGet || r.Method == http.MethodHead || r.Header.Get("Origin") != ""
	}
	return false
}

// limiter holds one token bucket per API token.
type limiter struct {
	mu      sync.Mutex
	perSec  rate.Limit
	burst   int
	buckets map[string]*rate.Limiter
}

func newLimiter(perSec float64, burst int) *limiter {
	return &limiter{perSec: rate.Limit(perSec), burst: burst, buckets: map[string]*rate.Limiter{}}
}

func (l *limiter) allow(tokenID string) bool {
	l.mu.Lock()
	b, ok := l.buckets[tokenID]
	if !ok {
		b = rate.NewLimiter(l.perSec, l.burst)
		l.buckets[tokenID] = b
	}
	l.mu.Unlock()
	return b.Allow()
}
