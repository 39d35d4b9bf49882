"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const ps = critmin.readJSON("projects-data").filter(p => p.latitude !== null && p.longitude !== null);
  const colour = { US: "#1f4e9a", JP: "#b3262d", joint: "#2f7d4f" };
  const traces = ["joint", "US", "JP"].map(v => {
    const sel = ps.filter(p => p.visibility === v);
    return { type: "scattergeo", mode: "markers", name: v === "joint" ? critmin.t("joint") : critmin.t("{v} only", { v }), lat: sel.map(p => p.latitude), lon: sel.map(p => p.longitude),
      text: sel.map(p => `${p.name}<br>${p.commodity_id} · ${p.stage} · ${p.status}`), hoverinfo: "text", marker: { size: 9, color: colour[v], line: { width: 1, color: "#fff" } } };
  }).filter(t => t.lat.length);
  Plotly.newPlot("pmap", traces, { geo: { projection: { type: "natural earth" }, showcountries: true, countrycolor: "#bbb", showland: true, landcolor: "#f3f1ea" },
    margin: { l: 0, r: 0, t: 0, b: 0 }, legend: { orientation: "h" } }, critmin.PLOTLY_CONFIG);

  const form = document.getElementById("selform");
  if (!form) return;
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    const box = document.getElementById("seljob"), out = document.getElementById("selresult");
    box.hidden = false; out.innerHTML = ""; document.getElementById("selrun").disabled = true;
    try {
      const body = { budget_usd: { USA: 1e6 * +form.USA.value, JPN: 1e6 * +form.JPN.value } };
      if (form.visibility.value) body.visibility = form.visibility.value;
      const started = await critmin.api("/api/projects/selection", { method: "POST", body });
      const job = await critmin.pollJob(started.url, j => critmin.progressBar(box, j));
      if (job.status !== "done") throw new Error(job.error || job.status);
      const sel = job.result.selection;
      const chosen = sel.selected || sel.portfolio || [];
      const names = critmin.readJSON("names-data");
      const pname = Object.fromEntries(critmin.readJSON("projects-data").map(p => [p.id, p.name]));
      const esc = t => String(t).replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
      const usd = critmin.fmt.usd, used = sel.budget_used || {};
      out.innerHTML = `<h3>${critmin.t("Selected ({n})", { n: chosen.length })} · ${critmin.t("risk reduction {usd}", { usd: usd(sel.risk_reduction) })} · ${critmin.t("budget used: United States {us}, Japan {jp}", { us: usd(used.USA), jp: usd(used.JPN) })}</h3>` +
        `<table class="data" id="selected" data-download-label="selected projects"><thead><tr><th>${critmin.t("project")}</th><th>${critmin.t("commodity")}</th><th>${critmin.t("financing")}</th><th class="num">${critmin.t("risk reduction")}</th><th class="num">US budget cost</th><th class="num">Japan budget cost</th></tr></thead><tbody>` +
        chosen.map(s => `<tr><td><a href="/projects/${encodeURIComponent(s.project)}" title="${esc(s.project)}">${esc(pname[s.project] || s.project)}</a></td><td>${esc(names.commodities[s.commodity] || s.commodity)} · ${esc(s.stage)}</td><td>${esc(s.option)}</td><td class="num">${usd(s.value_usd)}</td><td class="num">${usd((s.cost_usd || {}).USA)}</td><td class="num">${usd((s.cost_usd || {}).JPN)}</td></tr>`).join("") +
        `</tbody></table><p class="prov">Budget cost as the US Federal Credit Reform Act counts it (2 U.S.C. 661a): a loan costs its amount × the credit subsidy rate ` +
        `(${critmin.fmt.pct(names.loan_subsidy_rate)}; a US$2.26 bn loan costs ${usd(2.26e9 * names.loan_subsidy_rate)}), a guarantee probability of default × loss given default × amount, a grant its amount.</p>` +
        `<h3>${critmin.t("Excluded ({n})", { n: (sel.excluded || []).length })}</h3><ul>` + (sel.excluded || []).map(e => `<li>${esc(pname[e.project] || e.project)}: ${esc(e.reason)}</li>`).join("") + "</ul>";
      const t = document.getElementById("selected");
      t.dataset.download = `${started.url}?table=result.selection.selected`;
      critmin.downloadLinks(t);
    } catch (e) { out.innerHTML = `<p class="error">${e.message}</p>`; }
    document.getElementById("selrun").disabled = false;
  });
});
