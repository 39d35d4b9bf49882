// critmin dashboard helpers: API calls with CSRF, job polling, sortable tables, sparklines.
"use strict";
const critmin = (() => {
  // the page's JSON message catalogue (critmin.i18n.js_messages; empty in English): t("msg {x}", {x: 1})
  const MSG = (() => { const el = document.getElementById("i18n-messages"); try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; } })();
  const t = (msg, vars = {}) => (MSG[msg] || msg).replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  // Plotly's own export: the camera button saves PNG; the added button saves SVG
  const SVG_BUTTON = { name: "downloadSvg", title: t("Download plot as SVG"), icon: typeof Plotly !== "undefined" ? Plotly.Icons.disk : undefined,
    click: gd => Plotly.downloadImage(gd, { format: "svg", filename: gd.id ? `critmin-${gd.id}` : "critmin-chart" }) };
  const PLOTLY_CONFIG = { topojsonURL: "/vendor/topojson/", displaylogo: false, responsive: true,
    toImageButtonOptions: { format: "png", scale: 2 }, modeBarButtonsToAdd: typeof Plotly !== "undefined" ? [SVG_BUTTON] : [] };

  async function api(path, opts = {}) {
    const init = { method: opts.method || "GET", headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (opts.body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(opts.body); }
    if (init.method !== "GET") init.headers["X-CSRF-Token"] = csrf();
    const r = await fetch(path, init);
    const data = await r.json().catch(() => ({ detail: r.statusText }));
    if (!r.ok) {
      const d = data.detail;
      const msg = Array.isArray(d) ? d.map(e => `${(e.loc || []).join(".")}: ${e.msg}`).join("; ") : (d || r.statusText);
      throw new Error(`${r.status}: ${msg}`);
    }
    return data;
  }

  async function pollJob(url, onProgress) {
    for (;;) {
      const job = await api(url);
      onProgress(job);
      if (["done", "failed", "interrupted"].includes(job.status)) return job;
      await new Promise(res => setTimeout(res, 400));
    }
  }

  function progressBar(el, job) {
    el.querySelector(".progress > div").style.width = `${Math.round(100 * job.progress)}%`;
    el.querySelector(".status").textContent = `${job.status} ${Math.round(100 * job.progress)}%` + (job.message ? ` · ${job.message}` : "") + (job.error ? ` · ${job.error}` : "");
  }

  function makeSortable(table) {
    const head = table.tHead.rows[table.tHead.rows.length - 1];  // a group row above is not sortable
    const ths = head.querySelectorAll("th");
    ths.forEach((th, i) => th.addEventListener("click", () => {
      const asc = !th.classList.contains("sorted-asc");
      ths.forEach(t => t.classList.remove("sorted-asc", "sorted-desc"));
      th.classList.add(asc ? "sorted-asc" : "sorted-desc");
      const body = table.tBodies[0];
      const rows = Array.from(body.rows);
      const key = r => { const c = r.cells[i]; const v = c.dataset.sort ?? c.textContent.trim(); const n = parseFloat(v); return (v !== "" && !isNaN(n) && isFinite(v)) ? n : v.toLowerCase(); };
      rows.sort((a, b) => { const x = key(a), y = key(b); const nx = typeof x === "number", ny = typeof y === "number";
        if (nx && ny) return asc ? x - y : y - x; if (nx) return -1; if (ny) return 1; return asc ? (x < y ? -1 : x > y) : (x > y ? -1 : x < y); });
      rows.forEach(r => body.appendChild(r));
    }));
  }

  function sparkline(el, values) {
    const pts = values.filter(v => v !== null);
    if (pts.length < 2) { el.textContent = "–"; return; }
    const w = 90, h = 22, lo = Math.min(...pts), hi = Math.max(...pts), span = (hi - lo) || 1;
    const xy = values.map((v, i) => v === null ? null : [i * w / (values.length - 1), h - 2 - (v - lo) / span * (h - 4)]).filter(p => p);
    el.innerHTML = `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="trend ${values.map(v => v === null ? "n/a" : (100 * v).toFixed(0) + "%").join(", ")}">` +
      `<polyline fill="none" stroke="#1f5fa8" stroke-width="1.5" points="${xy.map(p => p.join(",")).join(" ")}"/>` +
      `<circle cx="${xy[xy.length - 1][0]}" cy="${xy[xy.length - 1][1]}" r="2" fill="#1f5fa8"/></svg>`;
  }

  // "Download: CSV · Excel" above every element with data-download (the API route whose rows it
  // shows; web/downloads.py converts the route's answer). Called again after a table is redrawn.
  function downloadLinks(el) {
    const url = el.dataset.download;
    let bar = el.previousElementSibling;
    if (!bar || !bar.classList.contains("downloads")) {
      bar = document.createElement("div"); bar.className = "downloads";
      el.parentNode.insertBefore(bar, el);
    }
    if (!url) { bar.hidden = true; return; }
    const sep = url.includes("?") ? "&" : "?";
    const what = t(el.dataset.downloadLabel || (el.tagName === "TABLE" ? "table" : "chart data"));
    bar.hidden = false;
    bar.innerHTML = `${t("Download {what}:", { what })} <a class="dl-csv" href="${url}${sep}download=csv" download>CSV</a> · ` +
      `<a class="dl-xlsx" href="${url}${sep}download=xlsx" download>Excel</a>`;
  }

  // The browser's half of critmin.web.formatting (same rules; tests/browser compares the two)
  const NB = "\u00a0", DASH = "–";
  const missing = v => v === null || v === undefined || (typeof v === "number" && !isFinite(v));
  function sig3(v) {
    const r = Number(v.toPrecision(3));
    if (Math.abs(r) >= 100) return Math.round(r).toLocaleString("en-US");
    const dec = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(r))));
    return r.toLocaleString("en-US", { minimumFractionDigits: dec, maximumFractionDigits: dec });
  }
  const fmt = {
    number: v => missing(v) ? DASH : (v === 0 ? "0" : (Number.isInteger(v) ? v.toLocaleString("en-US") : sig3(v))),
    qty: (v, unit) => missing(v) ? DASH : (Math.abs(v) >= 1000 ? Math.round(v).toLocaleString("en-US") : (v === 0 ? "0" : sig3(v))) + (unit ? NB + unit : ""),
    pct: v => { if (missing(v)) return DASH; const p = 100 * v; if (p === 0) return "0%"; if (Math.abs(p) < 0.1) return "<0.1%";
      return (Math.abs(p) >= 10 ? p.toFixed(0) : p.toFixed(1)) + "%"; },
    score: v => missing(v) ? DASH : (Math.abs(v) < 0.1 && v !== 0 ? v.toFixed(3) : v.toFixed(2)),
    usd: v => { if (missing(v)) return DASH; for (const [s, x] of [[1e12, "tn"], [1e9, "bn"], [1e6, "m"], [1e3, "k"]]) if (Math.abs(v) >= s) return `US$${sig3(v / s)}${NB}${x}`;
      return v ? `US$${sig3(v)}` : "US$0"; },
  };

  function readJSON(id) { return JSON.parse(document.getElementById(id).textContent); }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("table.sortable").forEach(makeSortable);
    document.querySelectorAll("[data-spark]").forEach(el => sparkline(el, JSON.parse(el.dataset.spark)));
    document.querySelectorAll("[data-download]").forEach(downloadLinks);
  });
  return { t, api, pollJob, progressBar, sparkline, readJSON, downloadLinks, fmt, PLOTLY_CONFIG };
})();
