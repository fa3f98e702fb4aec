// penhub console: talks to the API of the node that served it, authenticated by
// the HttpOnly session cookie set at sign-in. No external assets.
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"}[c]));

async function api(path) {
  const r = await fetch(path, {credentials: "same-origin"});
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((body.error && body.error.message) || r.statusText);
  return body;
}

async function showInbox() {
  const page = await api("/v1/notices?limit=100");
  const rows = page.notices.map((n) => `<tr><td><a href="#notice/${esc(n.id)}">${esc(n.reference)}</a></td><td>${esc(n.type)}</td><td>${esc(n.sender)}</td><td>${esc(n.recipients.join(", "))}</td><td>${esc(n.status)}</td><td>${esc(n.created_at)}</td></tr>`);
  $("view").innerHTML = `<h2>Inbox</h2><table><thead><tr><th>Reference</th><th>Type</th><th>From</th><th>To</th><th>Status</th><th>Created</th></tr></thead><tbody id="inbox-rows">${rows.join("")}</tbody></table>`;
}

async function showNotice(id) {
  const n = await api("/v1/notices/" + encodeURIComponent(id));
  const resp = n.responses.map((r) => `<li>${esc(r.author)}: ${esc(r.decision)} ${esc(r.reason)}</li>`).join("");
  $("view").innerHTML = `<h2>${esc(n.reference)} — ${esc(n.type)}</h2><p>Status: <strong id="notice-status">${esc(n.status)}</strong> ${n.deadline ? "· deadline " + esc(n.deadline) : ""}</p><pre id="notice-body">${esc(JSON.stringify(n.body, null, 2))}</pre><h3>Responses</h3><ul>${resp}</ul>`;
}

async function showDirectory() {
  const d = await api("/v1/directory");
  const rows = d.authorities.map((a) => `<tr><td>${esc(a.id)}</td><td>${esc(a.node)}</td><td>${esc(a.status)}</td></tr>`);
  $("view").innerHTML = `<h2>Directory</h2><table><tbody>${rows.join("")}</tbody></table>`;
}

async function showLog() {
  const c = await api("/v1/log/checkpoint");
  $("view").innerHTML = `<h2>Log</h2><p>Size ${esc(c.size)}</p><pre>${esc(c.checkpoint)}</pre>`;
}

async function route() {
  const h = location.hash.slice(1) || "inbox";
  try {
    if (h.startsWith("notice/")) await showNotice(h.slice(7));
    else if (h === "directory") await showDirectory();
    else if (h === "log") await showLog();
    else await showInbox();
    $("login").hidden = true; $("app").hidden = false;
  } catch (e) {
    $("login").hidden = false; $("app").hidden = true;
  }
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const r = await fetch("/console/login", {method: "POST", body: new URLSearchParams({token: $("token").value}), credentials: "same-origin"});
  if (!r.ok) { $("login-error").textContent = "That token was not accepted."; return; }
  $("login-error").textContent = ""; route();
});
$("logout").addEventListener("click", async () => { await fetch("/console/logout", {method: "POST"}); location.hash = ""; route(); });
window.addEventListener("hashchange", route);
route();
