package node

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestConsoleHeaders(t *testing.T) {
	h := consoleHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, tc := range []struct {
		host, ws string // ws: the websocket source expected in connect-src, "" for none
	}{
		{"127.0.0.1:7401", " ws://127.0.0.1:7401"},
		{"penhub.example.org", " ws://penhub.example.org"},
		{"[::1]:7401", " ws://[::1]:7401"},
		{"evil; script-src *", ""},
		{"a'b", ""},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = tc.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		csp := w.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "connect-src 'self'"+tc.ws+";") {
			t.Errorf("host %q: CSP %q, want connect-src 'self'%s", tc.host, csp, tc.ws)
		}
		if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") || strings.Count(csp, "script-src") != 1 {
			t.Errorf("host %q: CSP %q allows more script than this origin's files", tc.host, csp)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("host %q: missing nosniff or frame denial: %v", tc.host, w.Header())
		}
	}
}

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		origin string
		want   bool
	}{
		{"", true}, // not a browser: bearer-token clients send no Origin
		{"http://127.0.0.1:7401", true},
		{"https://127.0.0.1:7401", true},
		{"http://127.0.0.1:7402", false},
		{"http://evil.example", false},
		{"null", false},
	} {
		r := httptest.NewRequest("POST", "/console/login", nil)
		r.Host = "127.0.0.1:7401"
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if got := sameOrigin(r); got != tc.want {
			t.Errorf("Origin %q: sameOrigin = %v, want %v", tc.origin, got, tc.want)
		}
	}
}

func TestAlertTitle(t *testing.T) {
	long := strings.Repeat("ä", 250)
	for _, tc := range []struct {
		typ, body, want string
	}{
		{"alert", `{"title":"<b>x</b>","summary":"s"}`, "<b>x</b>"},
		{"pre_export", `{"title":"no"}`, ""},
		{"alert", `not json`, ""},
		{"alert", `{"title":"` + long + `"}`, strings.Repeat("ä", 200) + "…"},
	} {
		if got := alertTitle(tc.typ, []byte(tc.body)); got != tc.want {
			t.Errorf("alertTitle(%s, %.30s) = %.40q, want %.40q", tc.typ, tc.body, got, tc.want)
		}
	}
}
