"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("outform");
  const fmt = v => Math.round(v).toLocaleString();
  async function load() {
    const scen = form.querySelector("input[name=scenario]:checked").value;
    const scope = form.scope.value;
    const q = new URLSearchParams({ commodity: form.commodity.value, stage: form.stage.value, scenario: scen });
    document.getElementById("status").textContent = "computing…";
    try {
      const r = await critmin.api("/api/outlook?" + q.toString());
      const years = r.years, d = r.demand[`${scope}|${scen}`];
      Plotly.react("demand", Object.entries(d.by_technology).map(([t, v]) => ({ type: "scatter", mode: "lines", stackgroup: "one", name: t, x: years, y: v })),
        { yaxis: { title: "t/yr" }, margin: { t: 10 }, legend: { orientation: "h" } }, critmin.PLOTLY_CONFIG);
      const rows = r.gap.filter(g => g.scope === scope && g.scenario === scen);
      const sup = scope === "WORLD"
        ? Object.entries(r.supply.by_country).map(([c, v]) => ({ type: "scatter", mode: "lines", stackgroup: "s", name: c, x: years.slice(-v.length), y: v.slice(-years.length) }))
        : [{ type: "scatter", mode: "lines", stackgroup: "s", name: "secure base (domestic + allied share)", x: rows.map(g => g.year), y: rows.map(g => g.secure_base_t) },
           { type: "scatter", mode: "lines", stackgroup: "s", name: "expected from pipeline projects", x: rows.map(g => g.year), y: rows.map(g => g.expected_added_t) }];
      sup.push({ type: "scatter", mode: "lines", name: "demand", line: { color: "black", dash: "dash" }, x: rows.map(g => g.year), y: rows.map(g => g.demand_t) });
      Plotly.react("supply", sup, { yaxis: { title: `t/yr (${r.supply.product})` }, margin: { t: 10 }, legend: { orientation: "h" } }, critmin.PLOTLY_CONFIG);
      Plotly.react("gap", [
        { type: "scatter", mode: "lines", name: "95 %", x: rows.map(g => g.year), y: rows.map(g => g.gap_p95_t), line: { width: 0 }, showlegend: false },
        { type: "scatter", mode: "lines", name: "5–95 %", x: rows.map(g => g.year), y: rows.map(g => g.gap_p05_t), fill: "tonexty", line: { width: 0 } },
        { type: "scatter", mode: "lines", name: "expected gap", x: rows.map(g => g.year), y: rows.map(g => g.expected_gap_t) },
        { type: "scatter", mode: "lines", name: "without projects", x: rows.map(g => g.year), y: rows.map(g => g.gap_without_projects_t), line: { dash: "dot" } }],
        { yaxis: { title: "t/yr" }, margin: { t: 10 }, legend: { orientation: "h" } }, critmin.PLOTLY_CONFIG);
      const tb = document.querySelector("#projects tbody"); tb.textContent = "";
      for (const p of r.projects) { const tr = tb.insertRow(); for (const v of [p.project, p.host, fmt(p.capacity_t), p.start_year, p.probability, p.development_stage]) tr.insertCell().textContent = v; }
      const ul = document.getElementById("notin"); ul.textContent = "";
      for (const e of r.projects_not_in_pipeline) { const li = document.createElement("li"); li.textContent = `${e.project}: ${e.reason}`; ul.appendChild(li); }
      document.getElementById("status").textContent = `${r.draws.toLocaleString()} draws, seed ${r.random_state}`;
    } catch (e) { document.getElementById("status").textContent = e.message; }
  }
  form.addEventListener("submit", ev => { ev.preventDefault(); load(); });
  load();
});
