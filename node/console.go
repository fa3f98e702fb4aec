package node

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/penhub/penhub/crypto"
	"github.com/penhub/penhub/node/tokens"
	"github.com/penhub/penhub/schema"
)

// The web console (SPEC §7, docs/console.md) is a static single-page app
// embedded in the binary. It talks to the same /v1 API as every client,
// authenticated by the session cookie instead of a bearer token, plus three
// read-only helpers under /console/api/ that only the console needs:
//
//	GET  /                      index.html (the app)
//	GET  /console/{file}        app.js, style.css, favicon.svg
//	POST /console/login         form "token" → sets the session cookie (same origin only)
//	POST /console/logout        clears the session cookie
//	GET  /console/api/session   who the cookie (or bearer token) is
//	GET  /console/api/notices   inbox rows and dashboard counts, with substance and country filters
//	GET  /console/api/substances the substance catalogue (names, CAS) for the compose forms
//
// The token lives only in the HttpOnly cookie: scripts never see it, so the
// app cannot leak it to localStorage or a URL.

// sessionCookie carries the console's token; HttpOnly and SameSite=Strict so
// scripts and other sites cannot read or send it.
const sessionCookie = "penhub_session"

// sessionLifetime is how long a console sign-in lasts.
const sessionLifetime = 12 * time.Hour

// consoleCSP is the Content-Security-Policy of every console page and file:
// only this origin's scripts (no inline script, no eval), styles, images and
// connections (fetch and the feed's websocket), and no framing. %s is the
// websocket origin of this host (ws://host or wss://host), named explicitly
// for browsers whose 'self' does not cover ws: URLs.
const consoleCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'%s; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// hostShape is what a Host header must look like to be named in the CSP.
var hostShape = regexp.MustCompile(`^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)

// consoleScanLimit bounds how many notices one /console/api/notices call
// reads (newest first); the answer says "truncated" when it stopped there.
const consoleScanLimit = 5000

//go:embed console
var consoleFiles embed.FS

// mountConsole serves the web console (SPEC §7): static files embedded in the
// binary, talking to the same API with the session cookie.
func (n *Node) mountConsole(mux *http.ServeMux) {
	static, _ := fs.Sub(consoleFiles, "console")
	files := consoleHeaders(http.FileServerFS(static))
	mux.Handle("GET /{$}", files)
	mux.Handle("GET /console/", http.StripPrefix("/console/", files))
	mux.Handle("POST /console/login", consoleHeaders(http.HandlerFunc(n.consoleLogin)))
	mux.Handle("POST /console/logout", consoleHeaders(http.HandlerFunc(consoleLogout)))
	fp, pa := tokens.RoleFocalPoint, tokens.RolePartner
	for _, rt := range []route{
		{"GET /console/api/session", nil, false, n.consoleSession},
		{"GET /console/api/notices", []tokens.Role{fp, pa}, false, n.consoleNotices},
		{"GET /console/api/substances", nil, false, consoleSubstances},
	} {
		mux.Handle(rt.pattern, n.metrics.instrument(rt.pattern, consoleHeaders(n.authenticated(rt))))
	}
}

// consoleHeaders adds the console's security headers.
func consoleHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		ws := ""
		if hostShape.MatchString(r.Host) {
			ws = " ws://" + r.Host
			if r.TLS != nil {
				ws = " wss://" + r.Host
			}
		}
		h.Set("Content-Security-Policy", fmt.Sprintf(consoleCSP, ws))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// consoleLogin checks a token typed into the login form and sets the session cookie.
func (n *Node) consoleLogin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeError(w, errorf(http.StatusForbidden, codeForbidden, "cross-origin login refused"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		writeError(w, errorf(http.StatusBadRequest, codeBadRequest, "malformed login form"))
		return
	}
	secret := strings.TrimSpace(r.PostForm.Get("token"))
	tok, err := n.tokens.Authenticate(secret, n.now())
	if err != nil {
		writeError(w, errorf(http.StatusUnauthorized, codeUnauthorized, "unknown, expired or revoked token"))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: url.QueryEscape(secret), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, Expires: time.Now().Add(sessionLifetime)})
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		// A plain form post (the page's script did not run): back to the console.
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, n.sessionInfo(tok))
}

// consoleLogout clears the session cookie. Cross-origin requests are refused
// so another site cannot sign a user out.
func consoleLogout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeError(w, errorf(http.StatusForbidden, codeForbidden, "cross-origin logout refused"))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	writeJSON(w, http.StatusOK, map[string]string{"status": "signed out"})
}

// sessionView is the answer of GET /console/api/session and of a login.
type sessionView struct {
	Authority string   `json:"authority"`
	Role      string   `json:"role"`
	Label     string   `json:"label"`
	Node      string   `json:"node"`
	HubID     string   `json:"hub_id"`
	Types     []string `json:"types"`
	Decisions []string `json:"decisions"`
	Units     []string `json:"units"`
}

func (n *Node) sessionInfo(tok tokens.Token) sessionView {
	return sessionView{Authority: tok.Authority, Role: string(tok.Role), Label: tok.Label, Node: n.cfg.NodeID,
		HubID: n.cfg.HubID, Types: schema.NoticeTypes(), Decisions: schema.Decisions(), Units: schema.Units()}
}

func (n *Node) consoleSession(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	writeJSON(w, http.StatusOK, n.sessionInfo(c.Token))
	return nil
}

// consoleRow is one notice in the console's inbox: the notice's header, its
// status and the facets of its body (no body text).
type consoleRow struct {
	ID         string   `json:"id"`
	Index      uint64   `json:"index"`
	Reference  string   `json:"reference"`
	Type       string   `json:"type"`
	Sender     string   `json:"sender"`
	Recipients []string `json:"recipients"`
	Handling   string   `json:"handling"`
	CreatedAt  string   `json:"created_at"`
	Status     string   `json:"status"`
	Deadline   string   `json:"deadline,omitempty"`
	Substances []string `json:"substances"`
	Countries  []string `json:"countries"`
	Category   string   `json:"category,omitempty"`
	// Title is an alert's title (untrusted text, like every body field).
	Title   string `json:"title,omitempty"`
	Flagged bool   `json:"flagged,omitempty"`
}

// consoleCounts are the dashboard's tallies over every matching notice.
type consoleCounts struct {
	Type      map[string]int `json:"type"`
	Status    map[string]int `json:"status"`
	Substance map[string]int `json:"substance"`
	Country   map[string]int `json:"country"`
	Month     map[string]int `json:"month"`
}

// consoleNotices answers GET /console/api/notices?type=&status=&substance=&country=&limit=:
// the notices the caller may read, newest first, filtered; "notices" holds the
// first limit rows (default 100, at most 1000), "total" and "counts" cover
// every match among the newest consoleScanLimit notices. A substance matches
// by catalogue name, synonym or CAS (as the feed's substances filter); a
// country matches a country named in the body (as the feed's countries filter).
func (n *Node) consoleNotices(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	q := r.URL.Query()
	limit := 100
	if s := q.Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			return errorf(http.StatusBadRequest, codeBadRequest, "limit: must be a whole number ≥ 0")
		}
		limit = min(v, 1000)
	}
	typ, status := q.Get("type"), q.Get("status")
	if typ != "" && !slices.Contains(schema.NoticeTypes(), typ) {
		return errorf(http.StatusBadRequest, codeBadRequest, "type: "+strconv.Quote(typ)+" is not a notice type")
	}
	substance := strings.TrimSpace(q.Get("substance"))
	if s, ok := schema.LookupSubstance(substance); ok {
		substance = s.Name
	}
	country := strings.ToUpper(strings.TrimSpace(q.Get("country")))
	if c.Authority == "" {
		return errorf(http.StatusForbidden, codeForbidden, "this token has no authority")
	}
	out := struct {
		Notices   []consoleRow  `json:"notices"`
		Total     int           `json:"total"`
		Scanned   int           `json:"scanned"`
		Truncated bool          `json:"truncated"`
		Counts    consoleCounts `json:"counts"`
	}{Notices: []consoleRow{}, Counts: consoleCounts{Type: map[string]int{}, Status: map[string]int{},
		Substance: map[string]int{}, Country: map[string]int{}, Month: map[string]int{}}}
	led := n.ledger()
	before := uint64(1<<63 - 1)
	for before > 0 && !out.Truncated {
		idx, err := led.ListByAuthority(c.Authority, before, 256)
		if err != nil {
			return errorf(http.StatusInternalServerError, codeInternal, "listing notices: "+err.Error())
		}
		if len(idx) == 0 {
			break
		}
		for _, i := range idx {
			before = i
			entry, err := led.Entry(i)
			if err != nil {
				continue
			}
			env, err := crypto.Parse(entry.Raw)
			if err != nil || env.Kind != crypto.KindNotice || !mayRead(c, &env.Header, env.Handling) {
				continue
			}
			if out.Scanned == consoleScanLimit {
				out.Truncated = true
				break
			}
			out.Scanned++
			if typ != "" && env.Subtype != typ {
				continue
			}
			v, e := n.noticeView(i, entry.Reference, env, c.Authority, false)
			if e != nil || (status != "" && v.Status != status) {
				continue
			}
			sum := schema.BodySummary(v.Type, v.Body)
			if substance != "" && !slices.ContainsFunc(sum.Substances, func(s string) bool { return strings.EqualFold(s, substance) }) {
				continue
			}
			if country != "" && !slices.Contains(sum.Countries, country) {
				continue
			}
			out.Total++
			out.Counts.Type[v.Type]++
			out.Counts.Status[v.Status]++
			for _, s := range sum.Substances {
				out.Counts.Substance[s]++
			}
			for _, cc := range sum.Countries {
				out.Counts.Country[cc]++
			}
			if len(v.CreatedAt) >= 7 {
				out.Counts.Month[v.CreatedAt[:7]]++
			}
			if len(out.Notices) < limit {
				out.Notices = append(out.Notices, consoleRow{ID: v.ID, Index: v.Index, Reference: v.Reference, Type: v.Type,
					Sender: v.Sender, Recipients: v.Recipients, Handling: v.Handling, CreatedAt: v.CreatedAt, Status: v.Status,
					Deadline: v.Deadline, Substances: nonNil(sum.Substances), Countries: nonNil(sum.Countries),
					Category: sum.Category, Title: alertTitle(v.Type, v.Body), Flagged: len(v.Flags) > 0})
			}
		}
		if err := r.Context().Err(); err != nil {
			return errorf(http.StatusServiceUnavailable, codeUnavailable, "listing took too long")
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// alertTitle returns the title of an alert body, "" for other types.
func alertTitle(typ string, body []byte) string {
	if typ != schema.TypeAlert {
		return ""
	}
	var b struct {
		Title string `json:"title"`
	}
	_ = json.Unmarshal(body, &b)
	if r := []rune(b.Title); len(r) > 200 {
		return string(r[:200]) + "…"
	}
	return b.Title
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// consoleSubstances answers the substance catalogue for the compose forms'
// suggestions: name, table and CAS of every entry.
func consoleSubstances(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	type sub struct {
		Name  string `json:"name"`
		Table string `json:"table"`
		CAS   string `json:"cas,omitempty"`
	}
	out := []sub{}
	for _, s := range schema.Substances() {
		out = append(out, sub{Name: s.Name, Table: s.Table, CAS: s.CAS})
	}
	writeJSON(w, http.StatusOK, map[string]any{"substances": out})
	return nil
}

// sameOrigin accepts requests without an Origin header (non-browser clients,
// which authenticate with a bearer token) and browser requests whose Origin is
// this host.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}
