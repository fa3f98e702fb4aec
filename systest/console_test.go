package systest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// System test of the web console (SPEC §7, docs/console.md): a real headless
// Chromium driven by chromedp against a real `penhub dev`. It signs in with
// tokens, composes a notice through the form (inline validation error, then
// success), answers it from another authority's node in another browser
// context, renders hostile content as text, watches the live feed, reads the
// dashboard's SVG chart and signs out.

// chromiumPath finds a Chromium or Chrome binary (PENHUB_CHROME overrides).
// Without one the test is skipped, except on CI (CI=true), where .ci/run
// installs Chromium and a missing browser is a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PENHUB_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH: .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH (apt-get install chromium, or set PENHUB_CHROME)")
	return ""
}

// browserPage is one signed-in console: its own browser context (cookie jar).
type browserPage struct {
	t    *testing.T
	ctx  context.Context
	base string // the node's API URL, which serves the console
	name string
}

// pageProblems collects what must never happen in a console page: uncaught
// exceptions, Content-Security-Policy violations and JavaScript dialogs (an
// alert() would mean injected script ran).
type pageProblems struct {
	mu   sync.Mutex
	list []string
}

func (p *pageProblems) listen(name string) func(ev any) {
	return func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg = "uncaught exception: " + d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
		case *page.EventJavascriptDialogOpening:
			msg = fmt.Sprintf("a JavaScript %s dialog opened: %q", ev.Type, ev.Message)
		case *log.EventEntryAdded:
			if strings.Contains(ev.Entry.Text, "Content Security Policy") {
				msg = "CSP violation: " + ev.Entry.Text
			}
		}
		if msg != "" {
			p.mu.Lock()
			p.list = append(p.list, name+": "+msg)
			p.mu.Unlock()
		}
	}
}

func (p *pageProblems) check(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.list {
		t.Error(m)
	}
}

// run runs steps with a time limit, failing the test with what was being done.
func (b *browserPage) run(what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.screenshot("failed-" + b.name)
		b.t.Fatalf("%s (%s): %v", what, b.name, err)
	}
}

func evalJS[T any](b *browserPage, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluating %s (%s): %v", expr, b.name, err)
	}
	return v
}

// waitJS polls a JavaScript predicate until it is true.
func (b *browserPage) waitJS(what, predicate string, timeout time.Duration) {
	b.t.Helper()
	b.run(what, timeout+time.Second, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond))(ctx, t)
		return err
	}))
}

// goTo switches the console to a hash route (a same-document navigation).
func (b *browserPage) goTo(hash string) {
	b.t.Helper()
	evalJS[string](b, fmt.Sprintf("location.hash = %q", hash))
}

func (b *browserPage) screenshot(name string) string {
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	dir := os.Getenv("PENHUB_SCREENSHOTS")
	if dir == "" {
		dir = b.t.TempDir()
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("writing screenshot: %v", err)
		return ""
	}
	b.t.Logf("screenshot: %s", path)
	return path
}

func (b *browserPage) cookies() []*network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/"}})
	if err != nil {
		b.t.Fatalf("reading cookies: %v", err)
	}
	return res.Cookies
}

func TestConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("system test: starts real node processes and a browser")
	}
	chrome := chromiumPath(t)
	c := startDev(t, 3)
	de := c.info.Nodes[c.homeOf("DE")]
	nl := c.info.Nodes[c.homeOf("NL")]
	deToken := c.token("DE", "focal_point", de.ID)
	nlToken := c.token("NL", "focal_point", nl.ID)

	// The console pages carry a CSP that forbids inline script.
	code, hdr, _ := rawRequest(t, "GET", de.API+"/", "", nil, nil)
	if code != http.StatusOK || !strings.Contains(hdr.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("GET / = %d, Content-Security-Policy %q", code, hdr.Get("Content-Security-Policy"))
	}

	// Chromium's helper processes can write to the profile for a moment after
	// the browser exits, so the profile is removed with retries, not by t.TempDir.
	profile, err := os.MkdirTemp("", "penhub-console-chromium")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	// Sign-in refuses unknown tokens and other origins; sign-out other origins.
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if code, _, body := rawRequest(t, "POST", de.API+"/console/login", "", []byte("token=nope"), form); code != http.StatusUnauthorized {
		t.Errorf("login with an unknown token: %d %s", code, body)
	}
	form["Origin"] = "http://evil.example"
	if code, hdr, body := rawRequest(t, "POST", de.API+"/console/login", "", []byte("token="+deToken), form); code != http.StatusForbidden || hdr.Get("Set-Cookie") != "" {
		t.Errorf("cross-origin login: %d, Set-Cookie %q, %s", code, hdr.Get("Set-Cookie"), body)
	}
	if code, _, body := rawRequest(t, "POST", de.API+"/console/logout", "", nil, form); code != http.StatusForbidden {
		t.Errorf("cross-origin logout: %d %s", code, body)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900), chromedp.UserDataDir(profile))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting %s: %v", chrome, err)
	}
	problems := &pageProblems{}
	defer problems.check(t)

	// open makes a fresh browser context (its own cookies) and signs in.
	open := func(name, base, token, landing string) *browserPage {
		ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext(), chromedp.WithListener(problems.listen(name)))
		t.Cleanup(cancel)
		b := &browserPage{t: t, ctx: ctx, base: base, name: name}
		// The first run opens the tab, which lives as long as ctx: no timeout here.
		if err := chromedp.Do(ctx); err != nil {
			t.Fatalf("opening a tab: %v", err)
		}
		if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
			t.Fatalf("enabling the log domain: %v", err)
		}
		b.run("signing in", 30*time.Second,
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(chromedp.ID("token")),
			chromedp.SendKeys(chromedp.ID("token"), token),
			chromedp.Click(chromedp.ID("login-submit")),
			chromedp.WaitVisible(chromedp.ID(landing)))
		return b
	}

	// 1. DE signs in: the token is only in an HttpOnly, SameSite=Strict cookie.
	deb := open("DE", de.API, deToken, "inbox-table")
	var session *network.Cookie
	for _, ck := range deb.cookies() {
		if ck.Name == "penhub_session" {
			session = ck
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict {
		t.Fatalf("session cookie after sign-in: %+v", session)
	}
	if leaked := evalJS[bool](deb, fmt.Sprintf(`document.cookie.includes(%q) || JSON.stringify(localStorage).includes(%q) || JSON.stringify(sessionStorage).includes(%q) || location.href.includes(%q)`,
		deToken, deToken, deToken, deToken)); leaked {
		t.Fatal("the token is readable by the page (document.cookie, web storage or URL)")
	}
	if who := evalJS[string](deb, `document.getElementById("who").textContent`); !strings.Contains(who, "DE") {
		t.Errorf("header shows %q, want the signed-in authority DE", who)
	}

	// 2. Compose a pre_export with a wrong CAS check digit: the API's field
	// error shows next to the CAS input; fix it and send.
	deb.goTo("#compose/pre_export")
	deb.run("opening the pre_export form", 15*time.Second, chromedp.WaitVisible(chromedp.ID("f-body-items-0-cas")))
	departure := time.Now().UTC().AddDate(0, 2, 0).Format("2006-01-02")
	deadline := time.Now().UTC().AddDate(0, 1, 0).Format("2006-01-02")
	fields := map[string]string{
		"f-body-exporter-name": "Chemiehandel Rhein GmbH", "f-body-exporter-address": "Industriestraße 12, Köln", "f-body-exporter-country": "DE",
		"f-body-importer-name": "Van Dijk Farmaceutica B.V.", "f-body-importer-address": "Havenweg 4, Rotterdam", "f-body-importer-country": "NL",
		"f-body-items-0-substance": "Pseudoephedrine", "f-body-items-0-form": "hydrochloride", "f-body-items-0-quantity": "250",
		"f-body-export-authorization": "DE-BFARM-2026-0412", "f-body-transport-route": "DE, NL",
		"f-body-transport-departure-date": departure, "f-body-response-deadline": deadline,
	}
	var fill []chromedp.Action[chromedp.Void]
	for id, v := range fields {
		fill = append(fill, chromedp.SetValue(chromedp.ID(id), v))
	}
	fill = append(fill,
		chromedp.SetValue(chromedp.ID("f-body-items-0-unit"), "kg"),
		chromedp.SetValue(chromedp.ID("f-body-transport-mode"), "road"),
		chromedp.Click(chromedp.ID("recipient-NL")),
		chromedp.SendKeys(chromedp.ID("f-body-items-0-cas"), "345-78-9"), // right is 345-78-8
		chromedp.Click(chromedp.ID("compose-submit")),
		chromedp.WaitVisible(chromedp.ID("f-body-items-0-cas-error")))
	deb.run("submitting the form with a wrong CAS", 20*time.Second, fill...)
	casErr := evalJS[string](deb, `document.getElementById("f-body-items-0-cas-error").textContent`)
	if !strings.Contains(casErr, "check digit") {
		t.Errorf("CAS error shown %q, want the API's check digit problem", casErr)
	}
	if next := evalJS[bool](deb, `(() => { const e = document.getElementById("f-body-items-0-cas-error"), i = document.getElementById("f-body-items-0-cas");
		return e.parentElement === i.parentElement && i.getAttribute("aria-invalid") === "true" && i.getAttribute("aria-describedby").includes(e.id); })()`); !next {
		t.Error("the CAS error is not next to (and linked from) the CAS input")
	}
	if others := evalJS[int](deb, `[...document.querySelectorAll(".field-error")].filter((e) => e.textContent && e.id !== "f-body-items-0-cas-error").length`); others != 0 {
		t.Errorf("%d other fields show errors; only the CAS is wrong", others)
	}
	deb.screenshot("compose-error")
	evalJS[string](deb, `document.getElementById("f-body-items-0-cas").value = ""`)
	deb.run("fixing the CAS and sending", 30*time.Second,
		chromedp.SendKeys(chromedp.ID("f-body-items-0-cas"), "345-78-8"),
		chromedp.Click(chromedp.ID("compose-submit")),
		chromedp.WaitVisible(chromedp.ID("notice-status")))
	noticeID := strings.TrimPrefix(evalJS[string](deb, `decodeURIComponent(location.hash)`), "#notice/")
	if flash := evalJS[string](deb, `document.getElementById("flash").textContent`); !strings.Contains(flash, "DE-") {
		t.Errorf("after sending, the page says %q; want the notice's reference", flash)
	}

	// The other compose forms: an empty submission shows the API's
	// "required" problems next to their inputs; a filled alert is sent.
	for _, f := range [][2]string{{"incident", "f-body-category"}, {"suspicious_transaction", "f-body-narrative"}, {"alert", "f-body-title"}} { // alert last: it is sent next
		typ, field := f[0], f[1]
		deb.goTo("#compose/" + typ)
		deb.run("submitting an empty "+typ, 20*time.Second,
			chromedp.WaitVisible(chromedp.CSS(`#compose-form[data-type="`+typ+`"]`)),
			chromedp.Click(chromedp.ID("recipient-NL")),
			chromedp.Click(chromedp.ID("compose-submit")),
			chromedp.WaitVisible(chromedp.ID(field+"-error")))
		if msg := evalJS[string](deb, `document.getElementById("`+field+`-error").textContent`); !strings.Contains(msg, "required") {
			t.Errorf("%s form: %s shows %q, want a required-field problem", typ, field, msg)
		}
	}
	deb.run("sending an alert through its form", 20*time.Second,
		chromedp.SendKeys(chromedp.ID("f-body-title"), "Mislabelled drums of APAAN"),
		chromedp.SendKeys(chromedp.ID("f-body-summary"), "Drums declared as 'industrial solvent' found to contain APAAN."),
		chromedp.Click(chromedp.ID("f-body-substances-add")),
		chromedp.SendKeys(chromedp.ID("f-body-substances-0-substance"), "APAAN"),
		chromedp.Click(chromedp.ID("compose-submit")),
		chromedp.WaitVisible(chromedp.ID("notice-status")))

	// 3. NL (its own node, a fresh browser context) finds it in its inbox,
	// opens it and objects with a reason.
	nlb := open("NL", nl.API, nlToken, "inbox-table")
	row := fmt.Sprintf(`#inbox-rows tr[data-id=%q]`, noticeID)
	for i := 0; ; i++ { // NL's node applies the entry shortly after DE's answered
		nlb.goTo(fmt.Sprintf("#inbox?type=pre_export&country=NL&r=%d", i))
		ok := evalJS[bool](nlb, fmt.Sprintf(`new Promise((res) => { const t0 = Date.now(); const f = () => document.querySelector(%q) ? res(true) : Date.now() - t0 > 1000 ? res(false) : setTimeout(f, 50); f(); })`, row))
		if ok {
			break
		}
		if i == 20 {
			nlb.screenshot("nl-inbox")
			t.Fatalf("notice %s not in NL's inbox", noticeID)
		}
	}
	reason := "No import authorisation on file for this importer"
	nlb.run("objecting", 30*time.Second,
		chromedp.Click(chromedp.CSS(row+" a")),
		chromedp.WaitVisible(chromedp.ID("respond-objection")),
		chromedp.SendKeys(chromedp.ID("respond-reason"), reason),
		chromedp.Click(chromedp.ID("respond-objection")))
	nlb.waitJS("NL sees status objection", `document.querySelector("#notice-status")?.dataset.status === "objection"`, 15*time.Second)
	if !evalJS[bool](nlb, `[...document.querySelectorAll("button[data-decision]")].length > 0 && !!document.getElementById("respond-no_objection")`) {
		t.Error("respond buttons missing on the recipient's page")
	}

	// A partner of NL reads the notice but may neither compose nor respond;
	// an auditor lands on the log audit.
	pb := open("NL partner", nl.API, c.token("NL", "partner", nl.ID), "inbox-table")
	if evalJS[bool](pb, `!document.querySelector('nav a[data-page="compose"]').hidden`) {
		t.Error("a partner sees the Compose tab")
	}
	pb.goTo("#notice/" + noticeID)
	pb.run("opening the notice as a partner", 15*time.Second, chromedp.WaitVisible(chromedp.ID("notice-body")))
	if n := evalJS[int](pb, `document.querySelectorAll("button[data-decision]").length`); n != 0 {
		t.Errorf("a partner sees %d respond buttons", n)
	}
	open("DE auditor", de.API, c.token("DE", "auditor", de.ID), "log-size")

	// 4. Back as DE: the inbox (filtered by status) and the notice say objection.
	for i := 0; ; i++ {
		deb.goTo(fmt.Sprintf("#inbox?status=objection&r=%d", i))
		if evalJS[bool](deb, fmt.Sprintf(`new Promise((res) => { const t0 = Date.now(); const f = () => document.querySelector(%q) ? res(true) : Date.now() - t0 > 1000 ? res(false) : setTimeout(f, 50); f(); })`, row)) {
			break
		}
		if i == 20 {
			t.Fatalf("DE's inbox never lists %s as objection", noticeID)
		}
	}
	// The substance filter matches catalogue names however they are written.
	deb.run("filtering the inbox by substance", 15*time.Second,
		chromedp.SetValue(chromedp.ID("filter-status"), ""),
		chromedp.SetValue(chromedp.ID("filter-substance"), "PSEUDOEPHEDRINE"),
		chromedp.Click(chromedp.CSS(`#inbox-filters button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(row)))
	if n := evalJS[int](deb, `document.querySelectorAll("#inbox-rows tr[data-id]").length`); n != 1 {
		t.Errorf("substance filter PSEUDOEPHEDRINE lists %d notices, want 1", n)
	}
	deb.goTo("#inbox?substance=" + "Acetic%20anhydride")
	deb.waitJS("filtering by a substance no notice names", `document.getElementById("inbox-count")?.textContent === "0 notices"`, 10*time.Second)
	deb.goTo("#inbox?status=objection")
	deb.run("opening the notice as DE", 20*time.Second,
		chromedp.Click(chromedp.CSS(row+" a")),
		chromedp.WaitVisible(chromedp.ID("notice-responses")))
	if st := evalJS[string](deb, `document.querySelector("#notice-status").dataset.status`); st != "objection" {
		t.Errorf("DE sees status %q, want objection", st)
	}
	if resp := evalJS[string](deb, `document.getElementById("notice-responses").textContent`); !strings.Contains(resp, "NL") || !strings.Contains(resp, reason) {
		t.Errorf("responses as DE sees them: %q; want NL's objection with its reason", resp)
	}
	if rc := evalJS[string](deb, `document.getElementById("notice-receipts").textContent`); !strings.Contains(rc, "NL read it") {
		t.Errorf("receipts as DE sees them: %q; want NL's", rc)
	}
	deb.run("verifying inclusion in the browser", 20*time.Second,
		chromedp.Click(chromedp.CSS("#inclusion button")),
		chromedp.WaitVisible(chromedp.CSS("#inclusion [data-verified]")))
	if v := evalJS[string](deb, `document.querySelector("#inclusion [data-verified]").dataset.verified`); v != "true" {
		t.Errorf("inclusion proof checked in the browser: verified=%s: %s", v, evalJS[string](deb, `document.getElementById("inclusion").textContent`))
	}
	deb.screenshot("notice")

	// 5. Live feed: NL watches; a notice posted through the API shows up.
	// Its content is hostile markup, which must stay text, in the feed and
	// on the notice page.
	nlb.goTo("#feed")
	nlb.waitJS("feed connects", `document.getElementById("feed-status")?.textContent.startsWith("Connected")`, 15*time.Second)
	hostile := `<img src=x onerror=alert(1)>`
	alert, _ := json.Marshal(map[string]any{"type": "alert", "recipients": []string{"NL"}, "body": map[string]any{
		"title": hostile, "summary": hostile + ` <script>window.pwned = 1</script>`}})
	code, _, body := rawRequest(t, "POST", de.API+"/v1/notices", deToken, alert, nil)
	if code != http.StatusCreated {
		t.Fatalf("posting the hostile alert: %d %s", code, body)
	}
	var posted struct{ ID string }
	_ = json.Unmarshal(body, &posted)
	posted0 := time.Now()
	nlb.waitJS("the feed shows the posted notice", fmt.Sprintf(`!!document.querySelector('#feed-list li[data-id=%q]')`, posted.ID), 8*time.Second)
	t.Logf("feed: notice on the page %v after its 201", time.Since(posted0).Round(time.Millisecond))
	if txt := evalJS[string](nlb, fmt.Sprintf(`document.querySelector('#feed-list li[data-id=%q]').textContent`, posted.ID)); !strings.Contains(txt, hostile) {
		t.Errorf("feed entry text %q does not show the title as text", txt)
	}
	deb.goTo("#notice/" + posted.ID)
	deb.run("opening the hostile notice", 15*time.Second, chromedp.WaitVisible(chromedp.ID("notice-body")))
	if txt := evalJS[string](deb, `document.getElementById("notice-body").textContent`); !strings.Contains(txt, hostile) || !strings.Contains(txt, "<script>") {
		t.Errorf("notice body text %q: hostile markup not shown as text", txt)
	}
	for _, b := range []*browserPage{deb, nlb} {
		if n := evalJS[int](b, `document.querySelectorAll("#view img, #view script").length`); n != 0 {
			t.Errorf("%s: %d img/script elements were created from notice content", b.name, n)
		}
		if evalJS[bool](b, `window.pwned === 1`) {
			t.Errorf("%s: injected script ran", b.name)
		}
	}

	// 6. Dashboard: a few more notices, then the type chart's bar for
	// pre_export carries the count the API gives.
	for _, ex := range []string{"incident", "suspicious_transaction"} {
		raw, err := os.ReadFile(filepath.Join("..", "docs", "examples", ex+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var req map[string]any
		if err := json.Unmarshal(raw, &req); err != nil {
			t.Fatal(err)
		}
		delete(req, "id")
		req["recipients"] = []string{"NL"}
		b, _ := json.Marshal(req)
		if code, _, body := rawRequest(t, "POST", de.API+"/v1/notices", deToken, b, nil); code != http.StatusCreated {
			t.Fatalf("posting the %s example: %d %s", ex, code, body)
		}
	}
	want := map[string]int{}
	code, _, body = rawRequest(t, "GET", de.API+"/v1/notices?limit=500", deToken, nil, nil)
	var list struct{ Notices []struct{ Type string } }
	if code != http.StatusOK || json.Unmarshal(body, &list) != nil {
		t.Fatalf("listing DE's notices: %d %s", code, body)
	}
	for _, n := range list.Notices {
		want[n.Type]++
	}
	deb.goTo("#dashboard")
	deb.run("opening the dashboard", 15*time.Second, chromedp.WaitVisible(chromedp.CSS(`svg#chart-type rect[data-label="pre_export"]`)))
	for typ, n := range want {
		got := evalJS[string](deb, fmt.Sprintf(`document.querySelector('svg#chart-type rect[data-label=%q]')?.getAttribute("data-count") ?? "none"`, typ))
		if got != fmt.Sprint(n) {
			t.Errorf("dashboard bar for %s: count %s, want %d", typ, got, n)
		}
	}
	if bars := evalJS[int](deb, `document.querySelectorAll("svg.chart rect.bar").length`); bars < 8 {
		t.Errorf("dashboard draws %d bars in all; want type, month, substance and country charts", bars)
	}
	deb.screenshot("dashboard")
	deb.goTo("#inbox")
	deb.run("opening the inbox", 15*time.Second, chromedp.WaitVisible(chromedp.ID("inbox-table")))
	if rows := evalJS[int](deb, `document.querySelectorAll("#inbox-rows tr[data-id]").length`); rows != len(list.Notices) {
		t.Errorf("inbox lists %d notices, the API %d", rows, len(list.Notices))
	}
	if txt := evalJS[string](deb, fmt.Sprintf(`document.querySelector('#inbox-rows tr[data-id=%q]').textContent`, posted.ID)); !strings.Contains(txt, hostile) {
		t.Errorf("inbox row of the hostile alert: %q; want its title as text", txt)
	}
	if n := evalJS[int](deb, `document.querySelectorAll("#view img, #view script").length`); n != 0 {
		t.Errorf("inbox: %d img/script elements were created from notice content", n)
	}
	deb.screenshot("inbox")

	// 7. Directory and log audit pages render from the API.
	nlb.goTo("#directory")
	nlb.run("opening the directory", 15*time.Second, chromedp.WaitVisible(chromedp.ID("directory-nodes")))
	if txt := evalJS[string](nlb, `document.getElementById("directory-authorities").textContent`); !strings.Contains(txt, "INT-INCB") || !strings.Contains(txt, "NL") {
		t.Errorf("directory page: %q", txt)
	}
	// Voters cosign every 100 entries in penhub dev: fill the log past that so
	// the page has cosignatures to check with consistency proofs.
	fillLog(t, de.API, deToken, 110)
	waitCosigned(t, nl.API, nlToken)
	nlb.goTo("#log")
	nlb.run("opening the log audit", 15*time.Second, chromedp.WaitVisible(chromedp.ID("log-size")))
	if size := evalJS[string](nlb, `document.getElementById("log-size").textContent`); size == "" || size == "0" {
		t.Errorf("log size shown: %q", size)
	}
	nlb.waitJS("cosignature checks finish", `![...document.querySelectorAll("#log-cosignatures td")].some((td) => td.textContent === "checking…")`, 15*time.Second)
	if bad := evalJS[string](nlb, `[...document.querySelectorAll('#log-cosignatures [data-verified="false"]')].map((e) => e.textContent).join("; ")`); bad != "" {
		t.Errorf("cosignatures not verified in the browser: %s", bad)
	}
	if ok := evalJS[int](nlb, `document.querySelectorAll('#log-cosignatures [data-verified="true"]').length`); ok == 0 {
		t.Error("no cosignature was shown as verified")
	}
	nlb.screenshot("log")

	// 8. Signing out clears the cookie; the API then refuses the page.
	deb.run("signing out", 15*time.Second,
		chromedp.Click(chromedp.ID("logout")),
		chromedp.WaitVisible(chromedp.ID("login-form")))
	for _, ck := range deb.cookies() {
		if ck.Name == "penhub_session" {
			t.Errorf("session cookie still set after sign-out: %+v", ck)
		}
	}
	if st := evalJS[int](deb, `fetch("/console/api/session").then((r) => r.status)`); st != http.StatusUnauthorized {
		t.Errorf("after sign-out the session endpoint answers %d, want 401", st)
	}
}

// fillLog posts alerts from DE to NL (8 at a time) until the log holds at
// least size entries.
func fillLog(t *testing.T, api, token string, size int) {
	t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second}
	post := func(i int) error {
		b, _ := json.Marshal(map[string]any{"type": "alert", "recipients": []string{"NL"},
			"body": map[string]any{"title": fmt.Sprintf("filler %d", i), "summary": "log filler for the console test"}})
		req, _ := http.NewRequest("POST", api+"/v1/notices", strings.NewReader(string(b)))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("posting filler %d: status %d", i, resp.StatusCode)
		}
		return nil
	}
	var cp struct {
		Size         int
		Cosignatures []json.RawMessage
	}
	code, _, body := rawRequest(t, "GET", api+"/v1/log/checkpoint", token, nil, nil)
	if code != http.StatusOK || json.Unmarshal(body, &cp) != nil {
		t.Fatalf("reading the checkpoint: %d %s", code, body)
	}
	var wg sync.WaitGroup
	errs := make(chan error, size)
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := post(i); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := cp.Size; i < size; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// waitCosigned waits until the node at api holds a cosignature.
func waitCosigned(t *testing.T, api, token string) {
	t.Helper()
	var cp struct {
		Size         int
		Cosignatures []json.RawMessage
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, _, body := rawRequest(t, "GET", api+"/v1/log/checkpoint", token, nil, nil)
		if code == http.StatusOK && json.Unmarshal(body, &cp) == nil && len(cp.Cosignatures) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds no cosignature at log size %d: %s", api, cp.Size, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
