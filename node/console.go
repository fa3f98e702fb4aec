package node

import (
	"embed"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// sessionCookie carries the console's token; HttpOnly and SameSite=Strict so
// scripts and other sites cannot read or send it.
const sessionCookie = "penhub_session"

//go:embed console
var consoleFiles embed.FS

// mountConsole serves the web console (SPEC §7): static files embedded in the
// binary, talking to the same API with the session cookie.
func (n *Node) mountConsole(mux *http.ServeMux) {
	static, _ := fs.Sub(consoleFiles, "console")
	files := http.FileServerFS(static)
	mux.Handle("GET /{$}", files)
	mux.Handle("GET /console/", http.StripPrefix("/console/", files))
	mux.HandleFunc("POST /console/login", n.consoleLogin)
	mux.HandleFunc("POST /console/logout", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/", http.StatusSeeOther)
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
	if _, err := n.tokens.Authenticate(secret, n.now()); err != nil {
		writeError(w, errorf(http.StatusUnauthorized, codeUnauthorized, "unknown, expired or revoked token"))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: url.QueryEscape(secret), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, Expires: time.Now().Add(12 * time.Hour)})
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
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
