"use strict";
// the commodity page's end-use chart: each partner's consumption split by end-use sector
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("enduse-data");
  if (!el || !document.getElementById("enduse-chart")) return;
  const d = critmin.readJSON("enduse-data");
  Plotly.newPlot("enduse-chart", d.series.map(sec => ({ type: "bar", orientation: "h", name: sec, y: d.partners,
    x: d.share[sec].map(v => 100 * v), hovertemplate: `${sec}: %{x:.0f}%<extra></extra>` })),
    { barmode: "stack", xaxis: { title: { text: "% of consumption" }, range: [0, 100] },
      margin: { l: 50, r: 10, t: 10, b: 40 }, legend: { orientation: "h" }, height: 260 }, critmin.PLOTLY_CONFIG);
});
