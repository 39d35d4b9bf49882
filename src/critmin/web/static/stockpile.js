"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("planform");
  const m = v => v === null || v === undefined ? "–" : (v / 1e6).toFixed(1);
  const summary = s => `<div class="kpi"><div><div class="v">${m(s.objective)}</div><div class="l">${critmin.t("objective (US$ m)")}</div></div>` +
    `<div><div class="v">${m(s.expected_loss)}</div><div class="l">${critmin.t("expected loss (US$ m)")}</div></div><div><div class="v">${m(s.cvar)}</div><div class="l">${critmin.t("CVaR (US$ m)")}</div></div></div>` +
    `<table class="data"><thead><tr><th>${critmin.t("commodity / partner")}</th><th class="num">${critmin.t("stock (t)")}</th></tr></thead><tbody>` +
    Object.entries(s.stock_t).filter(([, v]) => v > 1e-6).map(([k, v]) => `<tr><td>${k}</td><td class="num">${v.toFixed(1)}</td></tr>`).join("") + "</tbody></table>";
  if (!form || !document.getElementById("planrun")) return;
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    const box = document.getElementById("job"), err = document.getElementById("err");
    box.hidden = false; err.textContent = ""; document.getElementById("planrun").disabled = true;
    try {
      const body = { budgets_usd: { USA: 1e6 * +form.USA.value, JPN: 1e6 * +form.JPN.value }, runs: +form.runs.value, seed: +form.seed.value };
      if (form.run_id.value) body.run_id = form.run_id.value;
      if (form.lossmult.value) body.loss_multiple = { "*": +form.lossmult.value };
      if (form.loss_model.value) body.loss_model = form.loss_model.value;
      if (form.visibility.value) body.visibility = form.visibility.value;
      const started = await critmin.api("/api/stockpile/plans", { method: "POST", body });
      const job = await critmin.pollJob(started.url, j => critmin.progressBar(box, j));
      if (job.status !== "done") throw new Error(job.error || job.status);
      const r = job.result;
      document.getElementById("planresult").hidden = false;
      document.getElementById("coo").innerHTML = summary(r.side_by_side.coordinated);
      document.getElementById("ind").innerHTML = summary(r.side_by_side.independent);
      const skipped = Object.entries(r.not_planned || {});
      document.getElementById("skipped").textContent = skipped.length ? `Not planned: ${skipped.map(([c, why]) => `${c} (${why})`).join("; ")}` : "";
      const voc = r.plan.value_of_coordination;
      document.getElementById("coo").insertAdjacentHTML("beforeend", `<p>Value of coordination: <b>US$ ${m(voc.usd)} m</b>${voc.pct !== null ? ` (${voc.pct.toFixed(1)}%)` : ""}</p>`);
      const targets = [...r.plan.targets].sort((a, b) => b.stock_t - a.stock_t || b.expected_shortfall_without_t - a.expected_shortfall_without_t);
      document.querySelector("#targets tbody").innerHTML = targets.map(t => `<tr><td>${t.commodity}</td><td>${t.partner}</td><td class="num">${t.stock_t.toFixed(1)}</td><td class="num">${t.days_of_cover === null ? "–" : t.days_of_cover.toFixed(0)}</td><td class="num">${m(t.cost_usd)}</td><td class="num">${t.expected_shortfall_t.toFixed(1)}</td><td class="num">${t.expected_shortfall_without_t.toFixed(1)}</td></tr>`).join("");
      const n = v => v === null || v === undefined ? "–" : Math.round(v).toLocaleString("en-US");
      document.querySelector("#why tbody").innerHTML = (r.why || []).map(w => `<tr><td>${w.commodity}</td><td>${w.partner}</td><td class="num">${m(w.cost_usd)}</td><td class="num">${w.expected_shortfall_without_t.toFixed(1)}</td><td class="num">${w.expected_shortfall_t.toFixed(1)}</td><td class="num">${n(w.loss_per_t)}</td><td class="num">${n(w.partner_loss_per_t)}</td><td>${w.basis || "–"}</td><td class="num">${w.marginal_value_per_usd.toFixed(3)}</td><td>${(w.lists || []).join(", ")}</td></tr>`).join("");
      const modes = [...new Set(r.frontier.map(f => f.mode))];
      Plotly.newPlot("frontier", modes.map(md => { const f = r.frontier.filter(x => x.mode === md); return { type: "scatter", mode: "lines+markers", name: md, x: f.map(x => x.total_budget_usd / 1e6), y: f.map(x => x.expected_loss / 1e6) }; }),
        { xaxis: { title: { text: "total budget (US$ m)" } }, yaxis: { title: { text: "expected loss (US$ m)" }, rangemode: "tozero" }, margin: { l: 60, r: 10, t: 10, b: 50 }, legend: { orientation: "h" } }, critmin.PLOTLY_CONFIG);
    } catch (e) { err.textContent = e.message; }
    document.getElementById("planrun").disabled = false;
  });
});
