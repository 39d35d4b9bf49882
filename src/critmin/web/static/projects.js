"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const ps = critmin.readJSON("projects-data").filter(p => p.latitude !== null && p.longitude !== null);
  const colour = { US: "#1f4e9a", JP: "#b3262d", joint: "#2f7d4f" };
  const traces = ["joint", "US", "JP"].map(v => {
    const sel = ps.filter(p => p.visibility === v);
    return { type: "scattergeo", mode: "markers", name: v === "joint" ? "joint" : `${v} only`, lat: sel.map(p => p.latitude), lon: sel.map(p => p.longitude),
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
      const m = v => v === null || v === undefined ? "–" : (v / 1e6).toFixed(0);
      const used = sel.budget_used || {};
      out.innerHTML = `<h3>Selected (${chosen.length}) · value US$ ${m(sel.risk_reduction)} m · budget used USA ${m(used.USA)} m, JPN ${m(used.JPN)} m</h3>` +
        `<table class="data" id="selected"><thead><tr><th>project</th><th>commodity</th><th>financing</th><th class="num">value (US$ m)</th><th class="num">US cost (US$ m)</th><th class="num">JP cost (US$ m)</th></tr></thead><tbody>` +
        chosen.map(s => `<tr><td><a href="/projects/${s.project}">${s.project}</a></td><td>${s.commodity} · ${s.stage}</td><td>${s.option}</td><td class="num">${m(s.value_usd)}</td><td class="num">${m((s.cost_usd || {}).USA)}</td><td class="num">${m((s.cost_usd || {}).JPN)}</td></tr>`).join("") +
        `</tbody></table><h3>Excluded (${(sel.excluded || []).length})</h3><ul>` + (sel.excluded || []).map(e => `<li>${e.project}: ${e.reason}</li>`).join("") + "</ul>";
    } catch (e) { out.innerHTML = `<p class="error">${e.message}</p>`; }
    document.getElementById("selrun").disabled = false;
  });
});
