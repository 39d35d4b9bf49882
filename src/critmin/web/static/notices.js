// Every logged-in page: a banner when visibility changes of joint records await your government
// (or were just made), and the Approvals page's approve/reject buttons. No inline script (CSP).
"use strict";
(() => {
  // the page's message catalogue (as critmin.t in app.js, which not every page loads)
  const MSG = (() => { const el = document.getElementById("i18n-messages"); try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; } })();
  const tr = (msg, vars = {}) => (MSG[msg] || msg).replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  async function call(path, method = "GET") {
    const init = { method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (method !== "GET") init.headers["X-CSRF-Token"] = csrf();
    const r = await fetch(path, init);
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(`${r.status}: ${data.detail || r.statusText}`);
    return data;
  }
  document.addEventListener("DOMContentLoaded", async () => {
    if (!csrf()) return;  // not logged in
    try {
      const n = await call("/api/notices");
      const main = document.querySelector("main");
      if (main && (n.awaiting_you > 0 || n.notices.length)) {
        const div = document.createElement("div");
        div.className = "card notice-banner";
        div.id = "notice-banner";
        const a = document.createElement("a");
        a.href = "/approvals";
        a.textContent = n.awaiting_you > 0
          ? tr("{n} visibility change(s) of joint records await your government's approval", { n: n.awaiting_you })
          : tr("Latest: {text}", { text: n.notices[0].text });
        div.appendChild(a);
        main.prepend(div);
      }
    } catch (e) { /* the banner is a convenience; the Approvals page lists everything */ }
    document.querySelectorAll("#approvals button[data-decide]").forEach(b => b.addEventListener("click", async () => {
      const id = b.closest("tr").dataset.id;
      const out = document.getElementById("apr-status");
      try {
        const r = await call(`/api/approvals/${encodeURIComponent(id)}/${b.dataset.decide}`, "POST");
        out.textContent = `${id}: ${r.status}`;
        setTimeout(() => location.reload(), 500);
      } catch (e) { out.textContent = e.message; out.className = "status error"; }
    }));
  });
})();
