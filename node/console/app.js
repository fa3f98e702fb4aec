// penhub web console (SPEC §7, docs/console.md).
//
// A single page with hash routes, talking to the API of the node that served
// it. The token lives only in the HttpOnly session cookie set by
// POST /console/login: this script never sees it and never stores anything.
//
// Notice content is untrusted (a hostile sender's node may put markup in any
// field), so nothing is ever inserted as HTML: every element is built with
// el()/svg(), and every string becomes a text node or an attribute value.
"use strict";

// ---------- DOM helpers ----------

const $ = (id) => document.getElementById(id);

// el builds an element: attrs are attributes (on* keys add listeners, false
// and null skip the attribute), children are nodes or strings (as text).
function el(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

function svg(tag, attrs, ...children) {
  return build(document.createElementNS("http://www.w3.org/2000/svg", tag), attrs, children);
}

function build(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  append(node, children);
  return node;
}

function append(node, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function show(...nodes) {
  $("view").replaceChildren();
  append($("view"), nodes);
}

function flash(msg) { $("flash").textContent = msg || ""; }
let pendingFlash = ""; // shown by the next route()

const fmtTime = (s) => (s ? String(s).replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC") : "");
const idFor = (path) => "f-" + String(path).replace(/[^A-Za-z0-9]+/g, "-");
const label = (s) => String(s).replace(/_/g, " ");
// keyLabel names a body field for display (notice pages).
const KEY_LABELS = {cas: "CAS", hs_code: "HS code", url: "URL", concentration_percent: "concentration %", non_scheduled: "non-scheduled"};
const keyLabel = (k) => KEY_LABELS[k] || label(k);
const capital = (s) => { const t = label(s); return t.charAt(0).toUpperCase() + t.slice(1); };

// ---------- API ----------

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || ("HTTP " + status));
    this.status = status;
    this.code = e.code || "";
    this.fields = Array.isArray(e.fields) ? e.fields : [];
  }
}

async function api(method, path, body) {
  const opts = {method, credentials: "same-origin", headers: {}};
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const err = new ApiError(r.status, data);
    if (r.status === 401) signedOut();
    throw err;
  }
  return data;
}

// uuid4 draws a client id (crypto.randomUUID needs a secure context).
function uuid4() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---------- session ----------

let session = null;      // GET /console/api/session
let catalogue = null;    // substance names for suggestions
let directory = null;    // GET /v1/directory, cached per sign-in
let feedSocket = null;   // the live feed's websocket while its page is open

function signedOut() {
  session = null; directory = null;
  closeFeed();
  $("app").hidden = true;
  $("logout").hidden = true;
  $("who").textContent = "";
  $("login").hidden = false;
}

async function start() {
  try {
    session = await api("GET", "/console/api/session");
  } catch (e) {
    signedOut();
    if (!(e instanceof ApiError)) $("login-error").textContent = "The node did not answer: " + e.message;
    return;
  }
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  $("who").textContent = `${session.authority || "(no authority)"} · ${label(session.role)} · ${session.node}`;
  for (const a of document.querySelectorAll("nav [data-needs]")) a.hidden = session.role !== a.dataset.needs;
  route();
}

async function login(ev) {
  ev.preventDefault();
  const input = $("token");
  const r = await fetch("/console/login", {method: "POST", credentials: "same-origin",
    body: new URLSearchParams({token: input.value})}).catch(() => null);
  input.value = "";
  if (!r || !r.ok) {
    $("login-error").textContent = r ? "That token was not accepted (unknown, expired or revoked)." : "The node did not answer.";
    input.focus();
    return;
  }
  $("login-error").textContent = "";
  start();
}

async function logout() {
  await fetch("/console/logout", {method: "POST", credentials: "same-origin"}).catch(() => null);
  history.replaceState(null, "", "#");
  signedOut();
  $("token").focus();
}

// ---------- router ----------

function parseHash() {
  const h = location.hash.replace(/^#/, "");
  const [path, query] = h.split("?");
  return {path: path || defaultPage(), params: new URLSearchParams(query || "")};
}

function defaultPage() {
  return session && (session.role === "auditor" || session.role === "admin") ? "log" : "inbox";
}

async function route(ev) {
  if (!session) return;
  const {path, params} = parseHash();
  const [page, arg] = path.split("/");
  if (page !== "feed") closeFeed();
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.page === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  flash(pendingFlash);
  pendingFlash = "";
  show(el("p", {class: "muted"}, "Loading…"));
  try {
    switch (page) {
      case "notice": await showNotice(decodeURIComponent(arg || "")); break;
      case "compose": await showCompose(arg || "pre_export"); break;
      case "feed": await showFeed(params); break;
      case "dashboard": await showDashboard(); break;
      case "directory": await showDirectory(); break;
      case "log": await showLog(); break;
      default: await showInbox(params);
    }
    // After a navigation, move focus to the new page's heading (screen readers
    // announce it); the first page after sign-in keeps the natural order.
    const h2 = ev && ev.type === "hashchange" ? $("view").querySelector("h2") : null;
    if (h2) { h2.tabIndex = -1; h2.focus({preventScroll: true}); }
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    show(el("h2", {}, "Something went wrong"), el("p", {class: "error", role: "alert"}, e.message));
  }
}

// ---------- inbox ----------

const STATUSES = ["pending", "acknowledged", "no_objection", "objection", "info_requested", "no_response", "cancelled", "shipped", "open", "closed"];

async function loadCatalogue() {
  if (!catalogue) catalogue = (await api("GET", "/console/api/substances")).substances || [];
  return catalogue;
}

function substanceList(id) {
  const dl = el("datalist", {id});
  loadCatalogue().then((subs) => append(dl, subs.map((s) => el("option", {value: s.name}, s.cas ? `${s.name} (${s.cas})` : s.name)))).catch(() => {});
  return dl;
}

function select(attrs, options, value) {
  return el("select", attrs, options.map(([v, text]) => el("option", {value: v, selected: v === value}, text)));
}

async function showInbox(params) {
  const q = new URLSearchParams();
  for (const k of ["type", "status", "substance", "country"]) if (params.get(k)) q.set(k, params.get(k));
  q.set("limit", "200");
  const data = await api("GET", "/console/api/notices?" + q);
  const form = el("form", {role: "search", class: "filters", "aria-label": "Filter notices", id: "inbox-filters",
    onsubmit: (ev) => {
      ev.preventDefault();
      const fd = new URLSearchParams();
      for (const [k, v] of new FormData(ev.target)) if (String(v).trim()) fd.set(k, String(v).trim());
      location.hash = "#inbox" + (fd.toString() ? "?" + fd : "");
    }},
  el("div", {}, el("label", {for: "filter-type"}, "Type"),
    select({id: "filter-type", name: "type"}, [["", "any"], ...session.types.map((t) => [t, label(t)])], params.get("type") || "")),
  el("div", {}, el("label", {for: "filter-status"}, "Status"),
    select({id: "filter-status", name: "status"}, [["", "any"], ...STATUSES.map((s) => [s, label(s)])], params.get("status") || "")),
  el("div", {}, el("label", {for: "filter-substance"}, "Substance"),
    el("input", {id: "filter-substance", name: "substance", list: "substances", value: params.get("substance") || "", placeholder: "name, synonym or CAS"}),
    substanceList("substances")),
  el("div", {}, el("label", {for: "filter-country"}, "Country"),
    el("input", {id: "filter-country", name: "country", value: params.get("country") || "", placeholder: "ISO code, e.g. NL", maxlength: 2, size: 4})),
  el("div", {class: "actions"}, el("button", {type: "submit"}, "Filter"), " ",
    el("a", {href: "#inbox", class: "button secondary"}, "Clear")));

  const rows = data.notices.map((n) => el("tr", {"data-id": n.id},
    el("td", {class: "nowrap"}, el("a", {href: "#notice/" + encodeURIComponent(n.id)}, n.reference || n.id), n.flagged ? el("span", {class: "flag", title: "failed re-validation"}, " ⚠") : null),
    el("td", {}, label(n.type), n.category ? el("div", {class: "muted"}, label(n.category)) : null, n.title ? el("div", {class: "subject"}, n.title) : null),
    el("td", {}, statusBadge(n.status)),
    el("td", {}, n.sender),
    el("td", {}, n.recipients.join(", ")),
    el("td", {}, n.substances.join(", ")),
    el("td", {}, n.countries.join(", ")),
    el("td", {class: "nowrap"}, n.deadline || ""),
    el("td", {}, el("time", {datetime: n.created_at}, fmtTime(n.created_at)))));
  const count = data.total === data.notices.length ? `${data.total} notice${data.total === 1 ? "" : "s"}` : `showing ${data.notices.length} of ${data.total} notices`;
  show(el("h2", {}, "Inbox"), form,
    el("table", {class: "list", id: "inbox-table"},
      el("caption", {id: "inbox-count"}, count + (data.truncated ? " (only the newest notices were searched)" : "")),
      el("thead", {}, el("tr", {}, ["Reference", "Type", "Status", "From", "To", "Substances", "Countries", "Deadline", "Created"].map((h) => el("th", {scope: "col"}, h)))),
      el("tbody", {id: "inbox-rows"}, rows.length ? rows : el("tr", {}, el("td", {colspan: 9, class: "muted"}, "No notices match.")))));
}

function statusBadge(s) { return el("span", {class: "badge status-" + String(s).replace(/[^a-z_]/g, "")}, label(s)); }

// ---------- one notice ----------

// renderValue shows any JSON value as nested definition lists (text only).
function renderValue(v) {
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== "object")) return v.map(String).join(", ");
    return el("ol", {class: "items"}, v.map((x) => el("li", {}, renderValue(x))));
  }
  if (v && typeof v === "object") {
    return el("dl", {class: "kv"}, Object.entries(v).map(([k, x]) => [el("dt", {}, keyLabel(k)), el("dd", {}, renderValue(x))]));
  }
  if (typeof v === "boolean") return v ? "yes" : "no";
  return v === null ? "" : String(v);
}

function deadlineText(deadline) {
  if (!deadline) return null;
  const end = Date.parse(deadline + "T23:59:59Z");
  const days = Math.ceil((end - Date.now()) / 86400000);
  const rel = isNaN(end) ? "" : days < 0 ? ` (passed ${-days} day${days === -1 ? "" : "s"} ago)` : days === 0 ? " (today)" : ` (in ${days} day${days === 1 ? "" : "s"})`;
  return deadline + " 23:59:59 UTC" + rel;
}

const SENDER_DECISIONS = ["info", "cancelled", "shipped"];
const RECIPIENT_DECISIONS = ["acknowledged", "no_objection", "objection", "request_info", "info"];

async function showNotice(id) {
  const n = await api("GET", "/v1/notices/" + encodeURIComponent(id));
  const meta = el("dl", {class: "meta"},
    el("dt", {}, "Status"), el("dd", {id: "notice-status", "data-status": n.status}, statusBadge(n.status)),
    n.deadline ? [el("dt", {}, "Response deadline"), el("dd", {id: "notice-deadline"}, deadlineText(n.deadline))] : null,
    el("dt", {}, "From"), el("dd", {id: "notice-sender"}, n.sender),
    el("dt", {}, "To"), el("dd", {}, n.recipients.join(", ")),
    el("dt", {}, "Handling"), el("dd", {}, n.handling),
    el("dt", {}, "Created"), el("dd", {}, el("time", {datetime: n.created_at}, fmtTime(n.created_at))),
    el("dt", {}, "Log index"), el("dd", {}, String(n.index)),
    el("dt", {}, "Notice id"), el("dd", {class: "mono"}, n.id));
  const flags = (n.flags || []).length ? el("div", {class: "warning", role: "alert"},
    el("p", {}, "This notice failed re-validation on this node (its sender's node may have skipped it):"),
    el("ul", {}, n.flags.map((f) => el("li", {}, el("code", {}, f.field), ": ", f.problem)))) : null;

  const responses = n.responses.length ? el("table", {class: "list", id: "notice-responses"},
    el("thead", {}, el("tr", {}, ["When", "Authority", "Decision", "Reason", "Quantity"].map((h) => el("th", {scope: "col"}, h)))),
    el("tbody", {}, n.responses.map((r) => el("tr", {"data-decision": r.decision},
      el("td", {}, el("time", {datetime: r.created_at}, fmtTime(r.created_at))), el("td", {}, r.author),
      el("td", {}, statusBadge(r.decision)), el("td", {class: "prewrap"}, r.reason || ""),
      el("td", {}, r.quantity !== undefined ? `${r.quantity} ${r.unit || ""}` : ""))))) : el("p", {class: "muted", id: "notice-responses"}, "No responses yet.");
  const receipts = n.receipts.length ? el("ul", {id: "notice-receipts"}, n.receipts.map((r) =>
    el("li", {}, `${r.authority} read it at `, el("time", {datetime: r.read_at}, fmtTime(r.read_at))))) : el("p", {class: "muted", id: "notice-receipts"}, "Not read by a recipient's focal point yet.");

  const verify = el("p", {id: "inclusion"}, el("button", {type: "button", class: "secondary", onclick: () => verifyInclusion(n.index, verify)}, "Verify inclusion in the log"));
  show(el("h2", {}, `${n.reference || n.id} — ${label(n.type)}`), meta, flags,
    el("section", {"aria-labelledby": "body-title"}, el("h3", {id: "body-title"}, "Content"),
      el("div", {id: "notice-body", class: "body"}, renderValue(n.body)),
      el("details", {}, el("summary", {}, "Raw JSON"), el("pre", {id: "notice-raw"}, JSON.stringify(n.body, null, 2)))),
    el("section", {"aria-labelledby": "resp-title"}, el("h3", {id: "resp-title"}, "Responses"), responses),
    el("section", {"aria-labelledby": "rcpt-title"}, el("h3", {id: "rcpt-title"}, "Read receipts"), receipts),
    respondForm(n), verify);
}

function respondForm(n) {
  if (session.role !== "focal_point") return null;
  const mine = n.sender === session.authority;
  const decisions = mine ? SENDER_DECISIONS : RECIPIENT_DECISIONS;
  const msg = el("div", {id: "respond-result", role: "alert"});
  const qty = el("div", {class: "row", hidden: !mine},
    el("div", {}, el("label", {for: "respond-quantity"}, "Quantity shipped"), el("input", {id: "respond-quantity", type: "number", step: "any", min: "0"})),
    el("div", {}, el("label", {for: "respond-unit"}, "Unit"), select({id: "respond-unit"}, [["", "—"], ...session.units.map((u) => [u, u])], "")));
  const send = async (decision, buttons) => {
    const req = {id: uuid4(), decision};
    const reason = $("respond-reason").value.trim();
    if (reason) req.reason = reason;
    if (decision === "shipped") {
      const q = $("respond-quantity").value;
      if (q !== "") req.quantity = Number(q);
      if ($("respond-unit").value) req.unit = $("respond-unit").value;
    }
    buttons.forEach((b) => { b.disabled = true; });
    msg.replaceChildren();
    try {
      const res = await api("POST", `/v1/notices/${encodeURIComponent(n.id)}/responses`, req);
      flash(`Response "${label(decision)}" recorded; the notice is now ${label(res.status)}.`);
      await showNotice(n.id);
    } catch (e) {
      buttons.forEach((b) => { b.disabled = false; });
      if (e.status === 401) return;
      append(msg, el("p", {class: "error"}, e.message), e.fields.length ? el("ul", {class: "error"}, e.fields.map((f) => el("li", {}, el("code", {}, f.field), ": ", f.problem))) : null);
    }
  };
  const buttons = decisions.map((d) => el("button", {type: "button", id: "respond-" + d, "data-decision": d,
    class: d === "objection" || d === "cancelled" ? "danger" : ""}, capital(d)));
  buttons.forEach((b) => b.addEventListener("click", () => send(b.dataset.decision, buttons)));
  return el("section", {"aria-labelledby": "respond-title", class: "respond"},
    el("h3", {id: "respond-title"}, "Respond"),
    el("label", {for: "respond-reason"}, "Reason or information (optional)"),
    el("textarea", {id: "respond-reason", rows: 3}),
    qty,
    el("div", {class: "buttons", role: "group", "aria-label": "Decision"}, buttons),
    msg);
}

// ---------- Merkle proofs (RFC 6962 / RFC 9162 §2.1.3, §2.1.4) ----------

const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const hexBytes = (h) => Uint8Array.from(h.match(/../g).map((x) => parseInt(x, 16)));
const sameBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

async function nodeHash(left, right) {
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = 1; buf.set(left, 1); buf.set(right, 1 + left.length);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
}

async function verifyInclusionProof(index, size, leaf, proof, root) {
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameBytes(r, root);
}

async function verifyConsistencyProof(first, second, firstHash, secondHash, proof) {
  if (first === second) return proof.length === 0 && sameBytes(firstHash, secondHash);
  if (first === 0 || first > second || proof.length === 0) return false;
  let path = proof.slice();
  if ((first & (first - 1)) === 0) path = [firstHash, ...path];
  let fn = first - 1, sn = second - 1;
  while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
  let fr = path[0], sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await nodeHash(c, fr); sr = await nodeHash(c, sr);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sameBytes(fr, firstHash) && sameBytes(sr, secondHash) && sn === 0;
}

function canHash() { return !!(window.crypto && crypto.subtle); }

async function verifyInclusion(index, out) {
  if (!canHash()) { out.replaceChildren("This browser only hashes on HTTPS or localhost; use penhub verify."); return; }
  out.replaceChildren("Checking…");
  try {
    const cp = await api("GET", "/v1/log/checkpoint");
    const p = await api("GET", `/v1/log/proof/inclusion?index=${index}&size=${cp.size}`);
    const ok = p.root === cp.root && await verifyInclusionProof(index, cp.size, hexBytes(p.leaf_hash), p.proof.map(b64), b64(cp.root));
    out.replaceChildren(el("span", {class: ok ? "ok" : "error", "data-verified": String(ok)},
      ok ? `✓ Included at log index ${index} in this node's signed tree of size ${cp.size} (proof checked in the browser).`
        : `✗ The inclusion proof for log index ${index} does not match this node's tree of size ${cp.size}.`));
  } catch (e) {
    out.replaceChildren(el("span", {class: "error"}, "Could not check: " + e.message));
  }
}

// ---------- compose ----------

const COUNTRY_HINT = "ISO 3166 code, e.g. NL";
const MODES = ["sea", "air", "road", "rail", "post", "courier", "multimodal"];
const CATEGORIES = ["seizure", "stopped_shipment", "suspended_shipment", "suspicious_shipment", "diversion", "attempted_diversion", "illicit_laboratory", "equipment", "online_offer", "online_request"];
const SECTORS = ["platform", "manufacturer", "distributor", "broker", "carrier", "other"];
const INDICATORS = ["unusual_quantity", "no_plausible_end_use", "cash_or_crypto_payment", "inconsistent_end_user", "anonymous_contact", "repackaging_or_mislabelling_request", "new_customer_urgent", "shell_company", "other"];

// A field: {p: path under its group, l: label, t: kind, o: options, h: hint}.
// Kinds: text (default), area, date, num, bool, sel, list (comma separated), checks.
const f = (p, l, t, extra) => Object.assign({p, l, t: t || "text"}, extra || {});
const party = (p, l, required) => ({group: p, legend: l, fields: [f("name", "Name"), f("address", "Address"), f("country", "Country", "text", {h: COUNTRY_HINT, size: 4})], optional: !required});
const ITEM_PRE = [f("substance", "Substance", "text", {list: "substances"}), f("form", "Form", "text", {h: "base, a salt or preparation"}), f("cas", "CAS number"), f("hs_code", "HS code"),
  f("quantity", "Quantity", "num"), f("unit", "Unit", "sel", {o: () => session.units}), f("concentration_percent", "Concentration %", "num"), f("packaging", "Packaging")];
const ITEM_OTHER = [f("substance", "Substance", "text", {list: "substances"}), f("cas", "CAS number"), f("quantity", "Quantity", "num"),
  f("unit", "Unit", "sel", {o: () => session.units}), f("non_scheduled", "Not in the catalogue (non-scheduled)", "bool")];

const FORMS = {
  pre_export: [
    party("exporter", "Exporter", true), party("importer", "Importer", true), party("consignee", "Consignee (optional)"),
    {repeat: "items", legend: "Items", item: "Item", fields: ITEM_PRE},
    {group: "", legend: "Authorisations", fields: [f("export_authorization", "Export authorisation"), f("import_authorization", "Import authorisation (optional)")]},
    {group: "transport", legend: "Transport", fields: [f("mode", "Mode", "sel", {o: () => MODES}), f("route", "Route (countries, comma separated)", "list"),
      f("point_of_exit", "Point of exit"), f("point_of_entry", "Point of entry"), f("departure_date", "Departure date", "date")]},
    {group: "", legend: "Dates and remarks", fields: [f("response_deadline", "Response deadline", "date"), f("valid_until", "Valid until (multi-shipment)", "date"),
      f("notify_transit", "Copy the authorities of the route's countries", "bool"), f("end_use", "End use", "area"), f("remarks", "Remarks", "area")]},
  ],
  incident: [
    {group: "", legend: "Incident", fields: [f("category", "Category", "sel", {o: () => CATEGORIES}), f("occurred_on", "Occurred on", "date")]},
    {group: "location", legend: "Location", fields: [f("country", "Country", "text", {h: COUNTRY_HINT, size: 4}), f("place", "Place")]},
    {repeat: "items", legend: "Items", item: "Item", fields: ITEM_OTHER},
    {repeat: "companies", legend: "Companies", item: "Company", optional: true, fields: [f("name", "Name"), f("country", "Country", "text", {h: COUNTRY_HINT, size: 4}), f("role", "Role")]},
    {group: "online", legend: "Online (required for online offers and requests)", fields: [f("platform", "Platform"), f("url", "URL"), f("account", "Account"), f("contact", "Contact"), f("payment_method", "Payment method")]},
    {group: "", legend: "Details", fields: [f("modus_operandi", "Modus operandi", "area"), f("action_taken", "Action taken", "area"), f("follow_up", "Follow-up", "area"),
      f("related", "Related notice ids (comma separated)", "list")]},
  ],
  suspicious_transaction: [
    {group: "reported_by", legend: "Reported by", fields: [f("sector", "Sector", "sel", {o: () => SECTORS}), f("name", "Name"), f("country", "Country", "text", {h: COUNTRY_HINT, size: 4})]},
    {group: "order", legend: "Order", fields: [f("placed_on", "Placed on", "date"), f("delivery_country", "Delivery country", "text", {h: COUNTRY_HINT, size: 4}),
      f("payment_method", "Payment method"), f("platform", "Platform"), f("url", "URL")]},
    {repeat: "order.items", legend: "Ordered items", item: "Item", fields: ITEM_OTHER},
    {group: "order.buyer", legend: "Buyer", fields: [f("name", "Name"), f("country", "Country", "text", {h: COUNTRY_HINT, size: 4}), f("contact", "Contact")]},
    {group: "", legend: "Assessment", fields: [f("indicators", "Indicators", "checks", {o: () => INDICATORS}), f("narrative", "Narrative", "area")]},
  ],
  alert: [
    {group: "", legend: "Alert", fields: [f("title", "Title"), f("summary", "Summary", "area"), f("modus_operandi", "Modus operandi", "area"), f("valid_until", "Valid until (special alert)", "date")]},
    {repeat: "substances", legend: "Substances", item: "Substance", optional: true, fields: [f("substance", "Substance", "text", {list: "substances"}), f("cas", "CAS number"), f("non_scheduled", "Not in the catalogue (non-scheduled)", "bool")]},
  ],
};

// fieldBox builds one labelled input bound to a JSON path, with its error slot.
function fieldBox(path, spec) {
  const id = idFor(path);
  const errId = id + "-error";
  const hintId = spec.h ? id + "-hint" : null;
  const common = {id, name: path, "data-path": path, "data-kind": spec.t, "aria-describedby": [hintId, errId].filter(Boolean).join(" ")};
  let input;
  switch (spec.t) {
    case "area": input = el("textarea", Object.assign({rows: 3}, common)); break;
    case "date": input = el("input", Object.assign({type: "date"}, common)); break;
    case "num": input = el("input", Object.assign({type: "number", step: "any", inputmode: "decimal"}, common)); break;
    case "bool": input = el("input", Object.assign({type: "checkbox"}, common)); break;
    case "sel": input = select(common, [["", "—"], ...spec.o().map((v) => [v, label(v)])], ""); break;
    case "checks": {
      const boxes = spec.o().map((v) => el("label", {class: "check"}, el("input", {type: "checkbox", value: v, "data-check-of": path}), " ", label(v)));
      return el("fieldset", {class: "field checks", "data-field": path},
        el("legend", {}, spec.l), boxes, el("p", {class: "field-error", id: errId, "data-error-for": path}));
    }
    default: input = el("input", Object.assign({type: "text", list: spec.list || false, size: spec.size || false}, common));
  }
  if (spec.t === "bool") {
    return el("div", {class: "field bool", "data-field": path}, el("label", {for: id}, input, " ", spec.l),
      el("p", {class: "field-error", id: errId, "data-error-for": path}));
  }
  return el("div", {class: spec.t === "area" ? "field wide" : "field", "data-field": path}, el("label", {for: id}, spec.l), input,
    hintId ? el("p", {class: "hint", id: hintId}, spec.h) : null,
    el("p", {class: "field-error", id: errId, "data-error-for": path}));
}

const join = (a, b) => (a ? (b ? a + "." + b : a) : b);

function groupBox(section) {
  const base = join("body", section.group);
  return el("fieldset", {class: "group", "data-field": section.group ? base : false},
    el("legend", {}, section.legend),
    el("div", {class: "grid"}, section.fields.map((s) => fieldBox(join(base, s.p), s))),
    section.group ? el("p", {class: "field-error", id: idFor(base) + "-error", "data-error-for": base}) : null);
}

function repeatBox(section) {
  const base = join("body", section.repeat);
  const rows = el("div", {class: "rows"});
  const renumber = () => {
    [...rows.children].forEach((row, i) => {
      row.querySelector("legend").textContent = `${section.item} ${i + 1}`;
      for (const n of row.querySelectorAll("[data-path],[data-field],[data-error-for],[data-check-of]")) {
        for (const a of ["data-path", "data-field", "data-error-for", "name", "data-check-of"]) {
          if (n.hasAttribute(a)) n.setAttribute(a, n.getAttribute(a).replace(new RegExp("^" + base.replace(/[.[\]]/g, "\\$&") + "\\[\\d+\\]"), `${base}[${i}]`));
        }
        if (n.hasAttribute("data-path")) n.id = idFor(n.dataset.path);
        if (n.hasAttribute("data-error-for")) n.id = idFor(n.dataset.errorFor) + "-error";
      }
      for (const box of row.querySelectorAll(".field[data-field]")) {
        const id = idFor(box.dataset.field);
        const hint = box.querySelector(".hint");
        if (hint) hint.id = id + "-hint";
        const input = box.querySelector("[data-path]");
        if (input) input.setAttribute("aria-describedby", (hint ? id + "-hint " : "") + id + "-error");
      }
      for (const l of row.querySelectorAll("label[for]")) {
        const input = l.parentElement.querySelector("[data-path]");
        if (input) l.setAttribute("for", input.id);
      }
    });
  };
  const addRow = () => {
    const i = rows.children.length;
    const p = `${base}[${i}]`;
    const row = el("fieldset", {class: "item", "data-field": p},
      el("legend", {}, `${section.item} ${i + 1}`),
      el("div", {class: "grid"}, section.fields.map((s) => fieldBox(join(p, s.p), s))),
      el("p", {class: "field-error", id: idFor(p) + "-error", "data-error-for": p}),
      el("button", {type: "button", class: "secondary small", onclick: () => { row.remove(); renumber(); }}, `Remove ${section.item.toLowerCase()}`));
    rows.append(row);
  };
  if (!section.optional) addRow();
  return el("fieldset", {class: "group", "data-field": base, "data-repeat": base},
    el("legend", {}, section.legend), rows,
    el("p", {class: "field-error", id: idFor(base) + "-error", "data-error-for": base}),
    el("button", {type: "button", class: "secondary small", id: idFor(base) + "-add", onclick: addRow}, `Add ${section.item.toLowerCase()}`));
}

// setPath stores v at a path like body.items[0].cas in obj.
function setPath(obj, path, v) {
  const keys = path.replace(/\[(\d+)\]/g, ".$1").split(".");
  let o = obj;
  keys.forEach((k, i) => {
    const last = i === keys.length - 1;
    if (last) { o[k] = v; return; }
    if (o[k] === undefined) o[k] = /^\d+$/.test(keys[i + 1]) ? [] : {};
    o = o[k];
  });
}

// prune drops empty strings and, inside objects, empty objects and arrays.
// Array elements stay (as {}) so field paths keep their indexes.
function prune(v) {
  if (Array.isArray(v)) return Array.from(v, (x) => (x === undefined ? {} : prune(x) ?? {}));
  if (v && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      const p = prune(x);
      if (p === undefined || (Array.isArray(p) && !p.length) || (p && typeof p === "object" && !Array.isArray(p) && !Object.keys(p).length)) continue;
      out[k] = p;
    }
    return out;
  }
  return v === "" || v === null ? undefined : v;
}

function collect(form) {
  const obj = {};
  const local = [];
  for (const input of form.querySelectorAll("[data-path]")) {
    const path = input.dataset.path, kind = input.dataset.kind;
    let v;
    if (kind === "bool") v = input.checked ? true : undefined;
    else if (kind === "num") {
      const s = input.value.trim();
      if (s === "") v = input.validity && input.validity.badInput ? NaN : undefined;
      else v = Number(s);
      if (Number.isNaN(v)) { local.push({field: path, problem: "must be a number"}); v = undefined; }
    } else if (kind === "list") v = input.value.split(/[,\s]+/).map((s) => s.trim()).filter(Boolean);
    else v = input.value.trim();
    if (v !== undefined) setPath(obj, path, v);
  }
  for (const box of form.querySelectorAll("fieldset.checks")) {
    const vals = [...box.querySelectorAll("input:checked")].map((c) => c.value);
    if (vals.length) setPath(obj, box.dataset.field, vals);
  }
  return {req: prune(obj) || {}, local};
}

function clearErrors(form) {
  for (const p of form.querySelectorAll(".field-error")) p.textContent = "";
  for (const n of form.querySelectorAll("[aria-invalid]")) n.removeAttribute("aria-invalid");
  for (const n of form.querySelectorAll(".invalid")) n.classList.remove("invalid");
}

// showFieldErrors puts each problem next to the input of its path, or of the
// nearest enclosing path that has a slot (body.items → the items group,
// recipients[2] → the recipients box), and lists them all in the summary.
function showFieldErrors(form, summary, message, fields) {
  const slots = new Map([...form.querySelectorAll("[data-error-for]")].map((p) => [p.dataset.errorFor, p]));
  const items = [];
  for (const fe of fields) {
    let path = fe.field || "";
    while (path && !slots.has(path)) path = path.replace(/(\[\d+\]|\.[^.[\]]*|^[^.[\]]*)$/, "");
    const slot = slots.get(path);
    const text = fe.problem || fe.code || "invalid";
    if (slot) {
      const own = path === fe.field ? text : `${fe.field.slice(path.length).replace(/^\./, "")}: ${text}`;
      slot.textContent = slot.textContent ? slot.textContent + "; " + own : own;
      const box = slot.closest("[data-field]");
      if (box) box.classList.add("invalid");
      const input = form.querySelector(`[data-path="${CSS.escape(path)}"]`);
      if (input) input.setAttribute("aria-invalid", "true");
    }
    const target = slot ? form.querySelector(`[data-path="${CSS.escape(path)}"]`) || slot : null;
    items.push(el("li", {}, target ? el("a", {href: "#", onclick: (ev) => { ev.preventDefault(); target.focus(); target.scrollIntoView({block: "center"}); }}, el("code", {}, fe.field)) : el("code", {}, fe.field), ": ", text));
  }
  summary.replaceChildren(el("p", {}, message), items.length ? el("ul", {}, items) : null);
  summary.hidden = false;
  summary.focus();
}

async function showCompose(type) {
  if (!FORMS[type]) type = "pre_export";
  if (!directory) directory = await api("GET", "/v1/directory");
  const others = directory.authorities.filter((a) => a.status === "active" && a.id !== session.authority).map((a) => a.id);
  const tabs = el("nav", {class: "subtabs", "aria-label": "Notice type"}, Object.keys(FORMS).map((t) =>
    el("a", {href: "#compose/" + t, "aria-current": t === type ? "page" : false}, label(t))));
  const summary = el("div", {class: "error-summary", id: "compose-errors", role: "alert", tabindex: "-1", hidden: true});
  const recips = el("fieldset", {class: "group", "data-field": "recipients"},
    el("legend", {}, "Recipients"),
    type === "alert" ? el("label", {class: "check"}, el("input", {type: "checkbox", id: "recipient-all", value: "*", "data-recipient": "*"}), " every active authority (*)") : null,
    el("div", {class: "checks"}, others.map((id) => el("label", {class: "check"}, el("input", {type: "checkbox", value: id, "data-recipient": id, id: "recipient-" + id}), " ", id))),
    type === "pre_export" ? el("p", {class: "hint"}, `The importing country's authority must be among them; ${directory.secretariat || "the secretariat"} gets a copy automatically.`) : null,
    el("p", {class: "field-error", id: "f-recipients-error", "data-error-for": "recipients"}));
  const handling = el("fieldset", {class: "group"}, el("legend", {}, "Handling"),
    el("div", {class: "grid"},
      el("div", {class: "field", "data-field": "handling"}, el("label", {for: "f-handling"}, "Handling code"),
        select({id: "f-handling", "aria-describedby": "f-handling-error"}, [["H0", "H0 — law-enforcement and regulatory use"], ["H1", "H1 — not as evidence without consent"],
          ["H2", "H2 — no onward dissemination (focal points only)"], ["H3", "H3 — restrictions in the handling note"]], "H0"),
        el("p", {class: "field-error", id: "f-handling-error", "data-error-for": "handling"})),
      fieldBox("body.handling_note", f("handling_note", "Handling note (required for H3)", "area"))));
  const sections = FORMS[type].map((s) => (s.repeat ? repeatBox(s) : groupBox(s)));
  let clientID = uuid4();
  const form = el("form", {id: "compose-form", novalidate: true, "data-type": type, "aria-labelledby": "compose-title"},
    summary, recips, sections, handling, substanceList("substances"),
    el("div", {class: "actions"}, el("button", {type: "submit", id: "compose-submit"}, "Send notice")));
  form.addEventListener("input", () => { clientID = uuid4(); });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    summary.hidden = true;
    const {req: body, local} = collect(form);
    const recipients = [...form.querySelectorAll("[data-recipient]:checked")].map((c) => c.value);
    const req = {id: clientID, type, recipients: recipients.includes("*") ? ["*"] : recipients, handling: $("f-handling").value, body: body.body || {}};
    if (local.length) { showFieldErrors(form, summary, "Please correct these fields:", local); return; }
    const submit = $("compose-submit");
    submit.disabled = true;
    try {
      const res = await api("POST", "/v1/notices", req);
      pendingFlash = `Notice ${res.reference} sent (log index ${res.index}).`;
      location.hash = "#notice/" + encodeURIComponent(res.id);
    } catch (e) {
      submit.disabled = false;
      if (e.status === 401) return;
      showFieldErrors(form, summary, e.message, e.fields);
    }
  });
  show(el("h2", {id: "compose-title"}, "Compose a notice"), tabs, form);
}

// ---------- live feed ----------

const FEED_REPLAY = 50; // log entries replayed when the feed page opens

function closeFeed() {
  if (feedSocket) {
    const s = feedSocket;
    feedSocket = null;
    s.onclose = null;
    s.close(1000, "page closed");
  }
}

async function showFeed(params) {
  closeFeed();
  const types = params.get("types") || "";
  const status = el("p", {id: "feed-status", role: "status"}, "Connecting…");
  const list = el("ol", {id: "feed-list", class: "feed", "aria-live": "polite", reversed: true});
  const form = el("form", {class: "filters", onsubmit: (ev) => {
    ev.preventDefault();
    const v = $("feed-types").value;
    location.hash = "#feed" + (v ? "?types=" + encodeURIComponent(v) : "");
  }}, el("div", {}, el("label", {for: "feed-types"}, "Notice types"),
    select({id: "feed-types"}, [["", "all"], ...session.types.map((t) => [t, label(t)])], types)),
  el("div", {class: "actions"}, el("button", {type: "submit"}, "Apply")));
  show(el("h2", {}, "Live feed"), el("p", {class: "muted"}, `The last ${FEED_REPLAY} log entries you may read, then new ones as they are committed (newest first).`), form, status, list);

  // Start with a replay of the recent log, then resume from the last index seen.
  let next = null;
  try {
    const cp = await api("GET", "/v1/log/checkpoint");
    next = Math.max(0, cp.size - FEED_REPLAY);
  } catch (e) {
    if (e.status === 401) return;
  }
  if (!list.isConnected) return; // the user left the page meanwhile
  let retry = 500;
  const connect = () => {
    const q = new URLSearchParams();
    if (types) q.set("types", types);
    if (next !== null) q.set("since", String(next));
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/v1/feed" + (q.toString() ? "?" + q : "");
    const ws = new WebSocket(url);
    feedSocket = ws;
    ws.onopen = () => { retry = 500; status.textContent = "Connected: waiting for new entries."; status.className = "ok"; };
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch { return; }
      if (m.kind === "heartbeat") { status.textContent = `Connected; the log is at index ${m.index}.`; return; }
      next = m.index + 1;
      status.textContent = `Connected; last entry at log index ${m.index}.`;
      list.prepend(feedItem(m));
      while (list.children.length > 200) list.lastChild.remove();
    };
    ws.onclose = (ev) => {
      if (feedSocket !== ws) return;
      status.className = "error";
      status.textContent = `Disconnected (${ev.code}${ev.reason ? ": " + ev.reason : ""}); reconnecting…`;
      setTimeout(() => { if (feedSocket === ws) connect(); }, retry);
      retry = Math.min(retry * 2, 15000);
    };
  };
  connect();
}

function feedItem(m) {
  const target = m.kind === "notice" ? m.id : m.notice_id;
  const what = m.kind === "notice" ? label(m.type) : m.kind === "response" ? `response: ${label(m.type)}` : m.kind === "receipt" ? "read receipt" : `directory: ${label(m.type)}`;
  let detail = "";
  if (m.kind === "notice" && m.body) detail = m.body.title || m.body.summary || (m.body.items || (m.body.order && m.body.order.items) || []).map((i) => i.substance).filter(Boolean).join(", ");
  if (m.kind === "response" && m.body && m.body.reason) detail = m.body.reason;
  return el("li", {"data-kind": m.kind, "data-id": m.id, "data-index": m.index},
    el("span", {class: "muted"}, `#${m.index} `, el("time", {datetime: m.created_at}, fmtTime(m.created_at)), " "),
    el("strong", {}, what), " ",
    target && m.kind !== "directory" ? el("a", {href: "#notice/" + encodeURIComponent(target)}, m.reference || target) : (m.reference || ""),
    ` ${m.sender || ""}${m.recipients && m.recipients.length ? " → " + m.recipients.join(", ") : ""}`,
    detail ? el("div", {class: "detail"}, String(detail).slice(0, 300)) : null);
}

// ---------- dashboard ----------

// barChart draws horizontal bars for [label, count] pairs as inline SVG.
function barChart(id, title, pairs) {
  const rowH = 22, labelW = 190, width = 560, barMax = width - labelW - 50;
  const max = Math.max(1, ...pairs.map(([, c]) => c));
  const height = Math.max(1, pairs.length) * rowH + 8;
  const s = svg("svg", {id, class: "chart", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": id + "-title"},
    svg("title", {id: id + "-title"}, title));
  if (!pairs.length) append(s, svg("text", {x: 4, y: 16, class: "chart-empty"}, "no notices"));
  pairs.forEach(([name, count], i) => {
    const y = 4 + i * rowH;
    const w = Math.max(2, Math.round((count / max) * barMax));
    append(s,
      svg("text", {x: labelW - 6, y: y + 15, "text-anchor": "end", class: "chart-label"}, name.length > 28 ? name.slice(0, 27) + "…" : name),
      svg("rect", {x: labelW, y: y + 3, width: w, height: rowH - 6, rx: 2, class: "bar", "data-label": name, "data-count": count},
        svg("title", {}, `${name}: ${count}`)),
      svg("text", {x: labelW + w + 5, y: y + 15, class: "chart-value"}, String(count)));
  });
  return s;
}

// columnChart draws vertical columns for months in order.
function columnChart(id, title, pairs) {
  const width = 560, height = 200, top = 16, bottom = 40, left = 8;
  const n = Math.max(1, pairs.length);
  const colW = Math.min(48, (width - left * 2) / n);
  const max = Math.max(1, ...pairs.map(([, c]) => c));
  const s = svg("svg", {id, class: "chart", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": id + "-title"},
    svg("title", {id: id + "-title"}, title),
    svg("line", {x1: left, x2: width - left, y1: height - bottom, y2: height - bottom, class: "axis"}));
  if (!pairs.length) append(s, svg("text", {x: left, y: 40, class: "chart-empty"}, "no notices"));
  pairs.forEach(([name, count], i) => {
    const h = Math.max(2, Math.round((count / max) * (height - top - bottom)));
    const x = left + i * colW;
    append(s,
      svg("rect", {x: x + 4, y: height - bottom - h, width: colW - 8, height: h, rx: 2, class: "bar", "data-label": name, "data-count": count},
        svg("title", {}, `${name}: ${count}`)),
      svg("text", {x: x + colW / 2, y: height - bottom - h - 4, "text-anchor": "middle", class: "chart-value"}, String(count)),
      svg("text", {x: x + colW / 2, y: height - bottom + 14, "text-anchor": "middle", class: "chart-label"}, name));
  });
  return s;
}

function chartFigure(id, title, chart, pairs, linkKey) {
  return el("figure", {class: "card"},
    el("figcaption", {}, title), chart,
    el("details", {}, el("summary", {}, "Table"),
      el("table", {class: "list"}, el("thead", {}, el("tr", {}, el("th", {scope: "col"}, "Value"), el("th", {scope: "col"}, "Notices"))),
        el("tbody", {}, pairs.map(([k, c]) => el("tr", {}, el("td", {}, linkKey ? el("a", {href: `#inbox?${linkKey}=${encodeURIComponent(k)}`}, k) : k), el("td", {}, String(c))))))));
}

async function showDashboard() {
  const data = await api("GET", "/console/api/notices?limit=0");
  const c = data.counts;
  const top = (m, k) => Object.entries(m).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, k);
  const types = session.types.map((t) => [t, c.type[t] || 0]);
  const months = Object.entries(c.month).sort((a, b) => a[0].localeCompare(b[0])).slice(-12);
  const subs = top(c.substance, 12), countries = top(c.country, 15);
  show(el("h2", {}, "Dashboard"),
    el("p", {id: "dashboard-total"}, `${data.total} notice${data.total === 1 ? "" : "s"} readable by ${session.authority}` + (data.truncated ? " (the newest only)" : "") + "."),
    el("div", {class: "cards"},
      chartFigure("chart-type", "Notices by type", barChart("chart-type", "Notices by type", types), types, "type"),
      chartFigure("chart-month", "Notices by month (last 12)", columnChart("chart-month", "Notices by month", months), months, null),
      chartFigure("chart-substance", "Top substances", barChart("chart-substance", "Notices by substance", subs), subs, "substance"),
      chartFigure("chart-country", "Top countries named", barChart("chart-country", "Notices by country", countries), countries, "country")));
}

// ---------- directory ----------

async function showDirectory() {
  directory = await api("GET", "/v1/directory");
  const d = directory;
  show(el("h2", {}, "Directory"),
    el("p", {}, "Hub id ", el("code", {class: "mono"}, d.hub_id), " · secretariat ", el("strong", {}, d.secretariat || "")),
    el("h3", {}, "Authorities"),
    el("table", {class: "list", id: "directory-authorities"},
      el("thead", {}, el("tr", {}, ["Authority", "Home node", "Status", "Current key fingerprint", "Keys"].map((h) => el("th", {scope: "col"}, h)))),
      el("tbody", {}, d.authorities.map((a) => {
        const keys = a.keys || [];
        const cur = keys.length ? keys[keys.length - 1] : {};
        return el("tr", {}, el("td", {}, el("strong", {}, a.id)), el("td", {}, a.node), el("td", {}, statusBadge(a.status)),
          el("td", {class: "mono"}, cur.fingerprint || ""),
          el("td", {}, `${keys.length} (${keys.map((k) => `from #${k.from}${k.to ? " to #" + k.to : ""}`).join("; ")})`));
      }))),
    el("h3", {}, "Nodes"),
    el("table", {class: "list", id: "directory-nodes"},
      el("thead", {}, el("tr", {}, ["Node", "API", "Raft", "Suffrage", "TLS key fingerprint"].map((h) => el("th", {scope: "col"}, h)))),
      el("tbody", {}, d.nodes.map((nd) => el("tr", {}, el("td", {}, el("strong", {}, nd.id)), el("td", {}, nd.api), el("td", {}, nd.raft),
        el("td", {}, nd.removed ? "removed" : nd.voter ? "voter" : "non-voter"), el("td", {class: "mono"}, nd.tls_fingerprint))))));
}

// ---------- log audit ----------

function parseNote(text) {
  const lines = String(text).split("\n");
  return {origin: lines[0] || "", size: Number(lines[1]), root: lines[2] || ""};
}

// noteSigners lists the key names of a signed note's signature lines.
function noteSigners(text) {
  const sep = String(text).indexOf("\n\n");
  if (sep < 0) return [];
  return String(text).slice(sep + 2).split("\n").filter((l) => l.startsWith("— ")).map((l) => l.slice(2).split(" ")[0]);
}

async function showLog() {
  const cp = await api("GET", "/v1/log/checkpoint");
  const own = parseNote(cp.checkpoint);
  const alarms = cp.alarms || [];
  const cos = cp.cosignatures || [];
  const stateCells = cos.map(() => el("td", {class: "muted"}, canHash() ? "checking…" : "needs HTTPS or localhost to check"));
  show(el("h2", {}, "Log audit"),
    el("dl", {class: "meta"},
      el("dt", {}, "Log size"), el("dd", {id: "log-size"}, String(cp.size)),
      el("dt", {}, "Merkle root"), el("dd", {id: "log-root", class: "mono"}, cp.root),
      el("dt", {}, "Alarms"), el("dd", {id: "log-alarms"}, alarms.length ? el("ul", {class: "error"}, alarms.map((a) => el("li", {}, typeof a === "string" ? a : JSON.stringify(a)))) : el("span", {class: "ok"}, "none"))),
    el("h3", {}, "This node's signed checkpoint"),
    el("dl", {class: "meta"},
      el("dt", {}, "Origin"), el("dd", {class: "mono"}, own.origin),
      el("dt", {}, "Size"), el("dd", {}, String(own.size)),
      el("dt", {}, "Root"), el("dd", {class: "mono"}, own.root),
      el("dt", {}, "Signed by"), el("dd", {}, noteSigners(cp.checkpoint).join(", "))),
    el("details", {}, el("summary", {}, "Signed note text"), el("pre", {id: "log-checkpoint"}, cp.checkpoint)),
    own.root && own.root !== cp.root ? el("p", {class: "error"}, "The signed checkpoint's root differs from the reported root.") : null,
    el("h3", {}, "Cosignatures held in the log"),
    cos.length ? el("table", {class: "list", id: "log-cosignatures"},
      el("thead", {}, el("tr", {}, ["Node", "Size", "Root", "Consistent with this node's tree", "Note"].map((h) => el("th", {scope: "col"}, h)))),
      el("tbody", {}, cos.map((c, i) => el("tr", {}, el("td", {}, c.node), el("td", {}, String(c.size)), el("td", {class: "mono"}, parseNote(c.note).root),
        stateCells[i], el("td", {}, el("details", {}, el("summary", {}, "signed note"), el("pre", {}, c.note)))))))
      : el("p", {class: "muted", id: "log-cosignatures"}, "No cosignatures yet (voters cosign every N entries)."),
    el("p", {class: "muted"}, "Each cosigned root is checked against this node's current tree with a consistency proof, hashed in this browser. " +
      "Signatures are verified by every node as the log is applied, and offline by penhub verify."));
  if (!canHash()) return;
  for (const [i, c] of cos.entries()) {
    const note = parseNote(c.note);
    let ok = false, why = "";
    try {
      if (c.size > cp.size) why = "newer than this node's tree";
      else if (c.size === 0) ok = true;
      else {
        const p = await api("GET", `/v1/log/proof/consistency?from=${c.size}&to=${cp.size}`);
        ok = p.root_from === note.root && p.root_to === cp.root &&
          await verifyConsistencyProof(c.size, cp.size, b64(note.root), b64(cp.root), p.proof.map(b64));
        if (!ok) why = "proof does not match";
      }
    } catch (e) { why = e.message; }
    stateCells[i].className = ok ? "ok" : "error";
    stateCells[i].dataset.verified = String(ok);
    stateCells[i].textContent = ok ? "✓ consistent" : "✗ " + why;
  }
}

// ---------- start ----------

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  window.addEventListener("hashchange", route);
  start();
});
