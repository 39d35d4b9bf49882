"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const lib = critmin.readJSON("library");
  const sel = document.getElementById("lib"), spec = document.getElementById("spec");
  const showLib = () => { const s = lib.find(x => x.name === sel.value); document.getElementById("libdesc").textContent = s ? s.description : "";
    if (s) spec.value = JSON.stringify(s.spec, null, 2); };
  sel.addEventListener("change", showLib);
  if (lib.length) { sel.value = lib[0].name; showLib(); }
  const fmt = (v, d = 1) => v === null || v === undefined ? "–" : (+v).toFixed(d);

  function show(job) {
    const r = job.result;
    const rows = [...(r.results || [])].sort((a, b) => (b.mean_shortfall_pct ?? -1) - (a.mean_shortfall_pct ?? -1));
    document.getElementById("results").hidden = false;
    document.getElementById("restitle").textContent = `Result: ${r.scenario} · ${r.runs} run(s)` + (r.seed !== null ? ` · seed ${r.seed}` : "") + ` · job ${job.job_id}`;
    const tb = document.querySelector("#resulttable tbody");
    tb.innerHTML = rows.map(x => `<tr><td>${x.commodity}</td><td>${x.consumer}</td><td class="num">${fmt(x.mean_shortfall_t, 0)}</td><td class="num">${fmt(x.mean_shortfall_pct)}</td><td class="num">${fmt(x.cvar95_pct)}</td><td class="num">${fmt(x.p_shortfall_gt_10pct, 3)}</td><td class="num">${fmt(x.mean_price_change_pct)}</td></tr>`).join("");
    const lay = (t, x) => ({ title: { text: t }, xaxis: { title: { text: x } }, yaxis: { type: "log", title: { text: "probability (log)" } },
      margin: { l: 60, r: 10, t: 60, b: 50 }, legend: { orientation: "h", y: 1.12 }, barmode: "overlay" });
    if (r.distributions) {
      const top = [...rows].filter(x => x.mean_shortfall_pct !== null).sort((a, b) => b.mean_shortfall_pct - a.mean_shortfall_pct).slice(0, 4).map(x => `${x.commodity}/${x.consumer}`);
      const hs = r.distributions.shortfall_pct.filter(h => h.edges && top.includes(`${h.commodity}/${h.consumer}`));
      Plotly.newPlot("chart-short", hs.map(h => ({ type: "bar", opacity: 0.6, name: `${h.commodity} ${h.consumer}`, x: h.edges.slice(0, -1).map((e, i) => (e + h.edges[i + 1]) / 2), y: h.weights })),
        lay("Annual shortfall distribution (largest means)", "shortfall, % of consumption"), critmin.PLOTLY_CONFIG);
      const topc = [...new Set(top.map(t => t.split("/")[0]))];
      const ps = r.distributions.price_change_pct.filter(h => topc.includes(h.commodity));
      Plotly.newPlot("chart-price", ps.map(h => ({ type: "bar", opacity: 0.6, name: h.commodity, x: h.edges.slice(0, -1).map((e, i) => (e + h.edges[i + 1]) / 2), y: h.weights })),
        lay("Price change distribution", "price change, %"), critmin.PLOTLY_CONFIG);
    } else {
      const cons = [...new Set(rows.map(x => x.consumer))], coms = [...new Set(rows.map(x => x.commodity))];
      Plotly.newPlot("chart-short", cons.map(k => ({ type: "bar", name: k, x: coms, y: coms.map(c => (rows.find(x => x.commodity === c && x.consumer === k) || {}).mean_shortfall_pct) })),
        { ...lay("Shortfall over the horizon", "commodity"), barmode: "group", yaxis: { title: { text: "% of consumption" } } }, critmin.PLOTLY_CONFIG);
      Plotly.newPlot("chart-price", [{ type: "bar", x: coms, y: coms.map(c => (rows.find(x => x.commodity === c) || {}).mean_price_change_pct), marker: { color: "#b26a00" } }],
        { ...lay("Price change", "commodity"), yaxis: { title: { text: "%" } } }, critmin.PLOTLY_CONFIG);
    }
  }

  async function start(body) {
    const box = document.getElementById("job"), err = document.getElementById("err");
    err.textContent = ""; box.hidden = false;
    document.querySelectorAll("button").forEach(b => b.disabled = true);
    try {
      const vis = document.getElementById("vis").value; if (vis) body.visibility = vis;
      const started = await critmin.api("/api/simulations", { method: "POST", body });
      const job = await critmin.pollJob(started.url, j => critmin.progressBar(box, j));
      if (job.status !== "done") throw new Error(job.error || job.status);
      show(job);
    } catch (e) { err.textContent = e.message; }
    document.querySelectorAll("button").forEach(b => b.disabled = false);
  }
  const one = document.getElementById("runone"), mc = document.getElementById("runmc");
  if (one) one.addEventListener("click", () => {
    let doc; try { doc = JSON.parse(spec.value); } catch (e) { document.getElementById("err").textContent = `scenario JSON: ${e.message}`; return; }
    const libDoc = lib.find(x => x.name === sel.value);
    start(libDoc && JSON.stringify(libDoc.spec) === JSON.stringify(doc) ? { scenario: sel.value } : { spec: doc });
  });
  if (mc) mc.addEventListener("click", () => start({ monte_carlo: { runs: +document.getElementById("mcruns").value, seed: +document.getElementById("mcseed").value } }));
});
