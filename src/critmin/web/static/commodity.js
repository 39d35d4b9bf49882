"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // the stage and year selectors submit the form on change (no inline handlers: see the CSP)
  document.querySelectorAll("select[data-autosubmit]").forEach(sel => sel.addEventListener("change", () => {
    if (sel.dataset.autosubmit === "stage" && sel.form.year) sel.form.year.disabled = true;
    sel.form.submit();
  }));
  const m = critmin.readJSON("map-data");
  if (m && document.getElementById("map")) {
    Plotly.newPlot("map", [{ type: "choropleth", locationmode: "ISO-3", locations: m.locations,
      z: m.share.map(s => s === null ? null : 100 * s), text: m.text, hoverinfo: "text",
      colorscale: "YlOrRd", reversescale: true, zmin: 0, colorbar: { title: { text: critmin.t("% of world") } } }],
      { geo: { projection: { type: "natural earth" }, showframe: false, showcoastlines: true, coastlinecolor: "#999",
          showcountries: true, countrycolor: "#ccc", fitbounds: false, lonaxis: { range: [-180, 180] }, lataxis: { range: [-58, 84] } },
        margin: { l: 0, r: 0, t: 0, b: 0 } }, critmin.PLOTLY_CONFIG);
  }
  const t = critmin.readJSON("trend-data");
  if (t && document.getElementById("trend")) {
    Plotly.newPlot("trend", t.series.map(s => ({ type: "scatter", mode: "lines+markers", name: s.country, x: t.years,
      y: s.share.map(v => v === null ? null : 100 * v) })),
      { yaxis: { title: { text: "% of world production" }, rangemode: "tozero" }, xaxis: { dtick: 1 },
        margin: { l: 50, r: 10, t: 10, b: 40 }, legend: { orientation: "h" } }, critmin.PLOTLY_CONFIG);
  }
  const dlg = document.getElementById("prov");
  document.querySelectorAll("a.provlink").forEach(a => a.addEventListener("click", async ev => {
    ev.preventDefault();
    try {
      const p = await critmin.api(a.getAttribute("href"));
      const d = p.dataset;
      document.getElementById("prov-body").textContent =
        `${d.title}\n${d.publisher} · ${d.vintage} · ${d.licence}\n${critmin.t("file")}: ${d.source_path}, ${critmin.t("line")} ${p.source_line}\n` +
        `sha256: ${d.sha256}\n${d.url || ""}\n\n` + (p.line_text !== null ? `${critmin.t("row as published:")}\n${p.line_text}` : `(${p.line_note})`);
    } catch (e) { document.getElementById("prov-body").textContent = String(e); }
    dlg.showModal();
  }));
});
