// The Users page (joint-admin): user actions, lockouts, audit checkpoints, through the JSON API.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("users-status");
  const secret = document.getElementById("secret");
  const say = (text, ok = true) => { status.textContent = text; status.className = ok ? "status ok" : "status error"; };
  const run = async (fn) => { try { await fn(); } catch (e) { say(e.message, false); } };
  document.querySelectorAll("#users button[data-action]").forEach(b => b.addEventListener("click", () => run(async () => {
    const user = b.closest("tr").dataset.user, action = b.dataset.action;
    const r = await critmin.api(`/api/users/${encodeURIComponent(user)}/${action}`, { method: "POST" });
    if (action === "tokens") { secret.textContent = critmin.t("token for {user} (shown once): {secret}", { user, secret: r.secret }); return; }
    say(`${critmin.t("{user}: {action} done", { user, action })} ${JSON.stringify(r)}`);
    setTimeout(() => location.reload(), 600);
  })));
  document.querySelectorAll("button[data-lift]").forEach(b => b.addEventListener("click", () => run(async () => {
    await critmin.api("/api/lockouts/lift", { method: "POST", body: { key: b.dataset.lift } });
    location.reload();
  })));
  const add = document.getElementById("adduser");
  add.addEventListener("submit", ev => { ev.preventDefault(); run(async () => {
    const r = await critmin.api("/api/users", { method: "POST", body: { name: add.name.value, role: add.role.value } });
    secret.textContent = critmin.t("password for {user} (shown once): {secret}", { user: r.name, secret: r.secret });
    say(critmin.t("user {user} created", { user: r.name }));
  }); });
  document.getElementById("checkpoint").addEventListener("click", () => run(async () => {
    const cp = await critmin.api("/api/audit/checkpoint", { method: "POST" });
    say(critmin.t("checkpoint written: seq {seq} at {at}", { seq: cp.seq, at: cp.at }));
  }));
});
