"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("depform");
  // the legend names each layer as the form does (the USGS publication), never its source code
  const LAYER = Object.fromEntries([...form.layer.options].filter(o => o.value).map(o => [o.value, o.textContent]));
  const map = document.getElementById("dmap");
  async function load() {
    const q = new URLSearchParams();
    for (const k of ["commodity", "country", "layer"]) if (form[k].value) q.set(k, form[k].value);
    try {
      const fc = await critmin.api("/api/deposits?" + q.toString());
      map.dataset.download = "/api/deposits?" + q.toString(); map.dataset.downloadLabel = "the deposits shown"; critmin.downloadLinks(map);
      const feats = fc.features.filter(f => f.geometry);
      document.getElementById("count").textContent = `${fc.features.length} deposits (${fc.features.length - feats.length} without coordinates)`;
      const layers = [...new Set(feats.map(f => f.properties.layer))];
      Plotly.react("dmap", layers.map(l => { const fs = feats.filter(f => f.properties.layer === l); return { type: "scattergeo", mode: "markers", name: LAYER[l] || l,
        lon: fs.map(f => f.geometry.coordinates[0]), lat: fs.map(f => f.geometry.coordinates[1]), marker: { size: 5, opacity: 0.7 },
        text: fs.map(f => `${f.properties.name || "(unnamed)"} · ${f.properties.country_iso3 || ""}<br>${(f.properties.commodity_ids || []).join(", ").replace(/_/g, " ")}<br>${f.properties.deposit_type || ""} ${f.properties.status || ""}<br>dataset ${f.properties.dataset_id}, line ${f.properties.source_line}`), hoverinfo: "text" }; }),
        { geo: { projection: { type: "natural earth" }, showcountries: true, countrycolor: "#bbb", showland: true, landcolor: "#f3f1ea", fitbounds: false, lonaxis: { range: [-180, 180] }, lataxis: { range: [-58, 84] } },
          margin: { l: 0, r: 0, t: 0, b: 0 }, legend: { orientation: "h" } }, critmin.PLOTLY_CONFIG);
    } catch (e) { document.getElementById("count").textContent = e.message; }
  }
  form.addEventListener("submit", ev => { ev.preventDefault(); load(); });
  load();
});
