"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("incident-charts");
  if (!el) return;
  const data = critmin.readJSON("incident-charts");
  (data.commodities || []).forEach(c => {
    const s = document.getElementById(`short-${c.commodity}`);
    if (s) Plotly.newPlot(s, c.partners.map(p => ({ type: "bar", name: p.partner, x: c.months, y: p.shortfall_t })),
      { title: { text: critmin.t("{commodity}: shortfall by month (t)", { commodity: c.commodity }) }, barmode: "group", xaxis: { title: { text: critmin.t("month") }, dtick: 1 },
        yaxis: { rangemode: "tozero" }, margin: { l: 50, r: 10, t: 40, b: 40 }, legend: { orientation: "h" } }, critmin.PLOTLY_CONFIG);
    const p = document.getElementById(`price-${c.commodity}`);
    if (p) Plotly.newPlot(p, [
      { type: "scatter", mode: "lines+markers", name: "restricted pool", x: c.months, y: c.restricted_pct },
      { type: "scatter", mode: "lines+markers", name: "open pool", x: c.months, y: c.open_pct }],
      { title: { text: critmin.t("{commodity}: price change (%)", { commodity: c.commodity }) }, xaxis: { title: { text: critmin.t("month") }, dtick: 1 },
        margin: { l: 50, r: 10, t: 40, b: 40 }, legend: { orientation: "h" } }, critmin.PLOTLY_CONFIG);
  });
});
