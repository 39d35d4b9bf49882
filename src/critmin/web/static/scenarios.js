"use strict";
// The scenario builder (issue 19 section 5): a form of events with pickers from the warehouse,
// checked by the server as the analyst types (/api/scenarios/check: the same validation as
// `critmin simulate`), shown, downloadable and uploadable as TOML (/api/scenarios/parse), saved to
// the users' library with a visibility (/api/saved-scenarios) and opened from it.
// Run and save stay disabled, with the reason beside them, until every exporting-country picker
// has loaded and the server has found the form valid (a run before that was a 422).
document.addEventListener("DOMContentLoaded", () => {
  const lib = critmin.readJSON("library"), MSG = critmin.readJSON("scmsgs");
  const form = document.getElementById("scform"), body = document.querySelector("#events tbody");
  const sel = document.getElementById("lib");
  const PARTNERS = [["USA", MSG.partners.USA], ["JPN", MSG.partners.JPN]];
  let commodities = [], kept = { events: [], sources: [] };
  const esc = t => String(t ?? "").replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const producers = {};  // "cid|stage" -> [[iso3, name, share]] of the latest year

  async function countries(cid, stage) {
    const key = `${cid}|${stage}`;
    if (!producers[key]) {
      producers[key] = critmin.api(`/api/production/${encodeURIComponent(cid)}?stage=${stage}`).then(p => {
        const rows = p.rows.filter(r => r.country_iso3 && r.aggregate === null);
        const last = Math.max(...rows.map(r => r.year));
        const seen = new Map();
        rows.filter(r => r.year === last).sort((a, b) => (b.share ?? 0) - (a.share ?? 0))
          .forEach(r => { if (!seen.has(r.country_iso3)) seen.set(r.country_iso3, [r.country_iso3, r.country, r.share, last]); });
        return [...seen.values()];
      }).catch(() => []);
    }
    return producers[key];
  }

  // the gate of the run and save buttons: pickers still loading, the check's state, a run going on
  let loading = 0, state = "checking", running = false;
  function gate() {
    const reason = loading ? MSG.loading : state === "checking" ? MSG.checking : state === "invalid" ? MSG.invalid : "";
    ["runone", "savebtn", "saveasnew"].forEach(id => { const b = document.getElementById(id); if (b) b.disabled = !!reason || running; });
    const why = document.getElementById("runreason"); if (why) why.textContent = reason;
  }

  async function fillCountries(tr, chosen) {
    loading++; gate();
    try { await fillCountriesNow(tr, chosen); } finally { loading--; gate(); }
  }
  async function fillCountriesNow(tr, chosen) {
    const cid = tr.querySelector("[name=commodity]").value, stage = tr.querySelector("[name=stage]").value;
    const box = tr.querySelector("[name=country]");
    const list = cid ? await countries(cid, stage) : [];
    const want = chosen ?? box.value;
    box.innerHTML = list.map(([iso, name, share, year]) => `<option value="${iso}">${esc(name)} (${critmin.fmt.pct(share)}, ${year})</option>`).join("");
    if (want && !list.some(c => c[0] === want)) box.insertAdjacentHTML("afterbegin", `<option value="${esc(want)}">${esc(want)} ${esc(MSG.no_reported.replace("{stage}", MSG.stages[stage] || stage))}</option>`);
    if (!list.length && !want) box.innerHTML = `<option value="">${esc(MSG.no_production.replace("{stage}", MSG.stages[stage] || stage))}</option>`;
    box.value = want && [...box.options].some(o => o.value === want) ? want : (box.options[0] ? box.options[0].value : "");
  }

  function eventRow(ev = {}) {
    const i = body.rows.length, tr = document.createElement("tr");
    const opts = commodities.map(c => `<option value="${c.commodity_id}">${esc(c.name)}</option>`).join("");
    tr.innerHTML = `<td><select name="commodity" data-field="events[${i}].commodity">${opts}</select></td>` +
      `<td><select name="stage" data-field="events[${i}].stage"><option value="mine">${esc(MSG.stages.mine)}</option><option value="processing">${esc(MSG.stages.processing)}</option></select></td>` +
      `<td><select name="country" data-field="events[${i}].country"></select></td>` +
      `<td><input name="cut" type="number" min="0" max="100" step="1" data-field="events[${i}].export_cut"></td>` +
      `<td><input name="start" type="number" min="1" step="1" data-field="events[${i}].start_month"></td>` +
      `<td><input name="duration" type="number" min="1" step="1" data-field="events[${i}].duration_months"></td>` +
      `<td data-field="events[${i}].targets">` + PARTNERS.map(([k, n]) => `<label class="inline"><input type="checkbox" name="target" value="${k}"> ${n}</label>`).join("") + `</td>` +
      `<td><button type="button" class="secondary remove" title="${esc(MSG.remove)}">✕</button></td>`;
    body.appendChild(tr);
    tr.querySelector("[name=commodity]").value = ev.commodity || "gallium";
    tr.querySelector("[name=stage]").value = ev.stage || "processing";
    tr.querySelector("[name=cut]").value = ev.export_cut !== undefined ? Math.round(1e6 * 100 * ev.export_cut) / 1e6 : 100;
    tr.querySelector("[name=start]").value = ev.start_month || 1;
    tr.querySelector("[name=duration]").value = ev.duration_months || 12;
    (ev.targets || []).forEach(t => { const c = tr.querySelector(`[name=target][value="${t}"]`); if (c) c.checked = true; });
    tr.querySelector(".remove").addEventListener("click", () => { tr.remove(); renumber(); changed(); });
    ["commodity", "stage"].forEach(n => tr.querySelector(`[name=${n}]`).addEventListener("change", () => fillCountries(tr).then(changed)));
    return fillCountries(tr, ev.country || "CHN");
  }

  function renumber() {
    [...body.rows].forEach((tr, i) => tr.querySelectorAll("[data-field]").forEach(el => {
      el.dataset.field = el.dataset.field.replace(/^events\[\d+\]/, `events[${i}]`); }));
  }

  const num = el => el.value === "" ? null : Number(el.value);
  function spec() {
    const doc = { name: form.name.value.trim(), description: form.description.value.trim(),
      horizon_months: num(form.horizon_months), consumers: [...form.querySelectorAll("[name=consumer]:checked")].map(c => c.value) };
    if (kept.sources.length) doc.sources = kept.sources;
    doc.events = [...body.rows].map(tr => {
      const q = n => tr.querySelector(`[name=${n}]`);
      const ev = { country: q("country").value, commodity: q("commodity").value, stage: q("stage").value,
        export_cut: q("cut").value === "" ? null : Number(q("cut").value) / 100, start_month: num(q("start")), duration_months: num(q("duration")) };
      const t = [...tr.querySelectorAll("[name=target]:checked")].map(c => c.value);
      if (t.length) ev.targets = t;
      return ev;
    }).concat(kept.events);
    const ov = {};
    form.querySelectorAll("[name^=ov_]").forEach(el => { if (el.value !== "") ov[el.name.slice(3)] = Number(el.value); });
    if (Object.keys(ov).length) doc.overrides = { ...(kept.overrides || {}), ...ov };
    else if (kept.overrides) doc.overrides = kept.overrides;
    return doc;
  }

  async function fill(doc) {
    form.name.value = doc.name || ""; form.description.value = (doc.description || "").trim();
    form.horizon_months.value = doc.horizon_months || 12;
    const cons = doc.consumers || PARTNERS.map(p => p[0]);
    form.querySelectorAll("[name=consumer]").forEach(c => { c.checked = cons.includes(c.value); });
    const restr = (doc.events || []).filter(e => (e.kind || "export_restriction") === "export_restriction");
    kept = { events: (doc.events || []).filter(e => !restr.includes(e)), sources: doc.sources || [], overrides: null };
    const ov = Object.fromEntries(Object.entries(doc.overrides || {}).filter(([, v]) =>
      v !== null && !(typeof v === "object" && !Object.keys(v).length)));
    form.querySelectorAll("[name^=ov_]").forEach(el => { const k = el.name.slice(3); el.value = ov[k] ?? ""; delete ov[k]; });
    if (Object.keys(ov).length) kept.overrides = ov;  // per-country overrides: kept as given
    const note = document.getElementById("keptevents");
    note.hidden = !kept.events.length && !kept.sources.length && !kept.overrides;
    note.textContent = [kept.events.length ? MSG.kept_events.replace("{n}", kept.events.length) : "",
      kept.sources.length ? MSG.kept_sources.replace("{n}", kept.sources.length) : "", kept.overrides ? MSG.kept_overrides : ""].filter(Boolean).join(" · ");
    body.innerHTML = "";
    const pending = restr.map(ev => eventRow(ev));  // rows are added at once (a later fill replaces them whole)
    await Promise.all(pending);
    changed();
  }

  // live validation: the form's own ranges first (in the form's units), then the server's check
  const LOCAL = [["cut", 0, 100, MSG.v_cut], ["start", 1, null, MSG.v_start], ["duration", 1, null, MSG.v_duration]];
  function localErrors() {
    const out = [];
    if (!form.name.value.trim()) out.push(["name", MSG.v_name]);
    const h = num(form.horizon_months);
    if (h === null || !Number.isInteger(h) || h < 1 || h > 120) out.push(["horizon_months", MSG.v_horizon]);
    if (!form.querySelectorAll("[name=consumer]:checked").length) out.push(["consumers", MSG.v_consumers]);
    if (!body.rows.length && !kept.events.length) out.push(["events", MSG.v_events]);
    [...body.rows].forEach((tr, i) => {
      for (const [n, lo, hi, msg] of LOCAL) {
        const el = tr.querySelector(`[name=${n}]`), v = num(el);
        if (v === null || v < lo || (hi !== null && v > hi) || (n !== "cut" && !Number.isInteger(v))) out.push([el.dataset.field, msg]);
      }
      const st = num(tr.querySelector("[name=start]"));
      if (h !== null && st !== null && st > h) out.push([`events[${i}].start_month`, MSG.v_after.replace("{h}", h)]);
      if (!tr.querySelector("[name=country]").value) out.push([`events[${i}].country`, MSG.v_country]);
    });
    return out;
  }

  function showErrors(errors) {
    form.querySelectorAll(".field-error").forEach(e => e.remove());
    form.querySelectorAll(".invalid").forEach(e => e.classList.remove("invalid"));
    const general = [];
    for (const [field, message] of errors) {
      const el = form.querySelector(`[data-field="${CSS.escape(field)}"]`) || (field.startsWith("events") ? document.getElementById("events") : null);
      if (!el) { general.push(`${field}: ${message}`); continue; }
      el.classList.add("invalid");
      const m = document.createElement("span"); m.className = "field-error"; m.textContent = message;
      (el.closest("td") || el.closest("label") || el).appendChild(m);
    }
    const status = document.getElementById("formstatus");
    status.className = errors.length ? "error" : "ok";
    status.textContent = errors.length ? (general.length ? general.join("; ") : MSG.n_errors.replace("{n}", errors.length)) : MSG.valid;
  }

  // every change makes the last check stale (seq): only the answer to the newest form counts
  let timer = null, seq = 0;
  function changed() { seq++; state = "checking"; gate(); clearTimeout(timer); timer = setTimeout(check, 250); }
  async function check() {
    const mine = seq, local = localErrors();
    const pre = document.getElementById("toml"), dl = document.getElementById("tomldl");
    if (local.length) { showErrors(local); state = "invalid"; gate(); pre.textContent = ""; dl.hidden = true; return; }
    try {
      const r = await critmin.api("/api/scenarios/check", { method: "POST", body: { spec: spec() } });
      if (mine !== seq) return;
      showErrors(r.errors.map(e => [e.field, e.message]));
      state = r.ok && !loading ? "ok" : "invalid"; gate();
      pre.textContent = r.toml || "";
      dl.hidden = !r.toml;
      if (r.toml) {
        if (dl.href.startsWith("blob:")) URL.revokeObjectURL(dl.href);
        dl.href = URL.createObjectURL(new Blob([r.toml], { type: "application/toml" }));
        dl.download = (form.name.value.trim().toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "") || "scenario") + ".toml";
      }
    } catch (e) { if (mine === seq) { showErrors([[MSG.f_form, e.message]]); state = "invalid"; gate(); } }
  }
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  document.getElementById("addevent").addEventListener("click", () => eventRow({}).then(changed));
  sel.addEventListener("change", () => {
    setOpened(null);
    const s = lib.find(x => x.name === sel.value);
    document.getElementById("libdesc").textContent = s ? s.description : "";
    fill(s ? s.spec : { name: "", events: [{}] });
  });
  document.getElementById("tomlup").addEventListener("change", async ev => {
    const file = ev.target.files[0]; if (!file) return;
    try {
      const r = await critmin.api("/api/scenarios/parse", { method: "POST", body: { toml: await file.text() } });
      sel.value = ""; setOpened(null); document.getElementById("libdesc").textContent = MSG.from_file.replace("{file}", file.name);
      await fill(r.spec);
    } catch (e) { showErrors([[MSG.f_file, `${file.name}: ${e.message}`]]); }
  });
  critmin.api("/api/commodities").then(cs => {
    commodities = cs;
    const want = new URLSearchParams(location.search).get("saved");  // /scenarios?saved=<id> (the approvals page)
    if (want) openSaved(want);
    else if (lib.length) { sel.value = lib[0].name; sel.dispatchEvent(new Event("change")); } else fill({ events: [{}] });
  });

  // -- the users' library (/api/saved-scenarios) -----------------------------------------------
  const savedBody = document.querySelector("#savedtable tbody"), saveBtn = document.getElementById("savebtn");
  const asNew = document.getElementById("saveasnew"), saveVis = document.getElementById("savevis");
  const saveStatus = document.getElementById("savestatus");
  let opened = null;  // the saved record the form holds: {scenario_id, version, visibility, name}
  function setOpened(rec) {
    opened = rec;
    if (saveBtn) saveBtn.textContent = rec ? MSG.save_changes : MSG.save_new;
    if (asNew) asNew.hidden = !rec;
    if (saveVis && rec) saveVis.value = [...saveVis.options].some(o => o.value === rec.visibility) ? rec.visibility : saveVis.value;
  }
  // a joint scenario is deleted by its author or a joint-admin (the server's rule; others get no button)
  const box = document.getElementById("savedlib");
  const mayDelete = x => x.visibility !== "joint" || x.author === box.dataset.me || box.dataset.admin === "yes";
  async function loadSaved() {
    const r = await critmin.api("/api/saved-scenarios");
    savedBody.innerHTML = r.scenarios.length ? r.scenarios.map(x => `<tr data-id="${esc(x.scenario_id)}"><td>${esc(x.name)}</td>` +
      `<td>${esc(x.author)}</td><td>${esc(MSG.vis[x.visibility] || x.visibility)}</td><td>${esc(x.updated_at.replace("T", " ").slice(0, 16))}</td>` +
      `<td class="num">${x.events}</td><td><button type="button" class="secondary open">${esc(MSG.open)}</button> ` +
      `<a class="toml" href="/api/saved-scenarios/${encodeURIComponent(x.scenario_id)}/toml" download>${esc(MSG.toml)}</a>` +
      (saveBtn && mayDelete(x) ? ` <button type="button" class="secondary del">${esc(MSG.delete)}</button>` : "") + `</td></tr>`).join("")
      : `<tr><td colspan="6" class="muted">${esc(MSG.empty)}</td></tr>`;
  }
  async function openSaved(id) {
    try {
      const r = await critmin.api(`/api/saved-scenarios/${encodeURIComponent(id)}`);
      sel.value = "";
      document.getElementById("libdesc").textContent = `${MSG.opened}: ${r.name} · ${r.author} · ${MSG.vis[r.visibility] || r.visibility} · v${r.version}`;
      setOpened(r);
      await fill(r.spec);
    } catch (e) { if (saveStatus) { saveStatus.className = "error"; saveStatus.textContent = e.message; } fill({ events: [{}] }); }
  }
  async function save(fresh) {
    const body = { spec: spec(), visibility: saveVis.value };
    saveStatus.className = "muted"; saveStatus.textContent = "";
    try {
      const r = opened && !fresh
        ? await critmin.api(`/api/saved-scenarios/${encodeURIComponent(opened.scenario_id)}`, { method: "PUT", body: { ...body, version: opened.version } })
        : await critmin.api("/api/saved-scenarios", { method: "POST", body });
      if (r.status === "pending") { saveStatus.textContent = `${MSG.pending}: ${r.detail}`; return; }
      setOpened(r);
      saveStatus.className = "ok"; saveStatus.textContent = `${MSG.saved}: ${r.name} (${MSG.vis[r.visibility] || r.visibility}, v${r.version})`;
    } catch (e) { saveStatus.className = "error"; saveStatus.textContent = e.message; }
    await loadSaved().catch(() => {});
  }
  if (saveBtn) saveBtn.addEventListener("click", () => save(false));
  if (asNew) asNew.addEventListener("click", () => save(true));
  savedBody.addEventListener("click", async ev => {
    const tr = ev.target.closest("tr[data-id]"); if (!tr) return;
    if (ev.target.classList.contains("open")) openSaved(tr.dataset.id);
    else if (ev.target.classList.contains("del") && confirm(MSG.confirm_delete)) {
      try {
        await critmin.api(`/api/saved-scenarios/${encodeURIComponent(tr.dataset.id)}`, { method: "DELETE" });
        if (opened && opened.scenario_id === tr.dataset.id) setOpened(null);
        if (saveStatus) { saveStatus.className = "muted"; saveStatus.textContent = MSG.deleted; }
      } catch (e) { if (saveStatus) { saveStatus.className = "error"; saveStatus.textContent = e.message; } }
      loadSaved().catch(() => {});
    }
  });
  loadSaved().catch(e => { savedBody.innerHTML = `<tr><td colspan="6" class="error">${esc(e.message)}</td></tr>`; });

  const fmt = (v, d = 1) => v === null || v === undefined ? "–" : (+v).toFixed(d);

  function show(job) {
    const r = job.result;
    const rows = [...(r.results || [])].sort((a, b) => (b.mean_shortfall_pct ?? -1) - (a.mean_shortfall_pct ?? -1));
    document.getElementById("results").hidden = false;
    document.getElementById("restitle").textContent = MSG.res_title.replace("{scenario}", r.scenario).replace("{runs}", r.runs) +
      (r.seed !== null ? MSG.res_seed.replace("{seed}", r.seed) : "") + MSG.res_job.replace("{job}", job.job_id);
    const tb = document.querySelector("#resulttable tbody");
    const esc = t => String(t).replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
    // a consumer whose consumption is not computable shows "n/c" with the reason, never 0 %
    const pct = (x, v) => x.not_computable ? `<abbr title="${esc(x.not_computable)}">n/c</abbr>` : fmt(v);
    const pool = (x, k) => x[k] === undefined ? "–" : fmt(x[k]);
    tb.innerHTML = rows.map(x => `<tr><td>${esc(x.commodity)}</td><td>${esc(x.consumer)}</td><td class="num">${fmt(x.mean_shortfall_t, 0)}</td><td class="num">${pct(x, x.mean_shortfall_pct)}</td><td class="num">${pct(x, x.cvar95_pct)}</td><td class="num">${x.not_computable ? "n/c" : fmt(x.p_shortfall_gt_10pct, 3)}</td><td class="num">${fmt(x.mean_price_change_pct)}</td><td class="num">${pool(x, "price_open_pct")}</td><td class="num">${pool(x, "price_restricted_pct")}</td><td class="num">${pool(x, "price_spread_pct")}</td></tr>`).join("");
    const nc = rows.filter(x => x.not_computable);
    const notes = document.getElementById("resnotes");
    if (notes) {
      notes.hidden = !nc.length && !r.unsourced;
      notes.textContent = (r.unsourced ? MSG.unsourced : "") +
        nc.map(x => MSG.not_computable.replace("{what}", `${x.commodity}/${x.consumer}`).replace("{why}", x.not_computable)).join("; ");
    }
    const lay = (t, x) => ({ title: { text: t }, xaxis: { title: { text: x } }, yaxis: { type: "log", title: { text: MSG.ax_prob } },
      margin: { l: 60, r: 10, t: 60, b: 50 }, legend: { orientation: "h", y: 1.12 }, barmode: "overlay" });
    if (r.distributions) {
      const top = [...rows].filter(x => x.mean_shortfall_pct !== null).sort((a, b) => b.mean_shortfall_pct - a.mean_shortfall_pct).slice(0, 4).map(x => `${x.commodity}/${x.consumer}`);
      const hs = r.distributions.shortfall_pct.filter(h => h.edges && top.includes(`${h.commodity}/${h.consumer}`));
      Plotly.newPlot("chart-short", hs.map(h => ({ type: "bar", opacity: 0.6, name: `${h.commodity} ${h.consumer}`, x: h.edges.slice(0, -1).map((e, i) => (e + h.edges[i + 1]) / 2), y: h.weights })),
        lay(MSG.t_short_dist, MSG.ax_short_pct), critmin.PLOTLY_CONFIG);
      const topc = [...new Set(top.map(t => t.split("/")[0]))];
      const ps = r.distributions.price_change_pct.filter(h => topc.includes(h.commodity));
      Plotly.newPlot("chart-price", ps.map(h => ({ type: "bar", opacity: 0.6, name: h.commodity, x: h.edges.slice(0, -1).map((e, i) => (e + h.edges[i + 1]) / 2), y: h.weights })),
        lay(MSG.t_price_dist, MSG.ax_price_pct), critmin.PLOTLY_CONFIG);
    } else {
      const cons = [...new Set(rows.map(x => x.consumer))], coms = [...new Set(rows.map(x => x.commodity))];
      Plotly.newPlot("chart-short", cons.map(k => ({ type: "bar", name: k, x: coms, y: coms.map(c => (rows.find(x => x.commodity === c && x.consumer === k) || {}).mean_shortfall_pct) })),
        { ...lay(MSG.t_short, MSG.ax_commodity), barmode: "group", yaxis: { title: { text: MSG.ax_cons_pct } } }, critmin.PLOTLY_CONFIG);
      Plotly.newPlot("chart-price", [{ type: "bar", x: coms, y: coms.map(c => (rows.find(x => x.commodity === c) || {}).mean_price_change_pct), marker: { color: "#b26a00" } }],
        { ...lay(MSG.t_price, MSG.ax_commodity), yaxis: { title: { text: "%" } } }, critmin.PLOTLY_CONFIG);
    }
  }

  async function start(body) {
    const box = document.getElementById("job"), err = document.getElementById("err");
    err.textContent = ""; box.hidden = false; running = true;
    document.querySelectorAll("button").forEach(b => b.disabled = true);
    try {
      const vis = document.getElementById("vis").value; if (vis) body.visibility = vis;
      const started = await critmin.api("/api/simulations", { method: "POST", body });
      const job = await critmin.pollJob(started.url, j => critmin.progressBar(box, j));
      if (job.status !== "done") throw new Error(job.error || job.status);
      show(job);
      const t = document.getElementById("resulttable");
      t.dataset.download = `${started.url}?table=result.results`; critmin.downloadLinks(t);
    } catch (e) { err.textContent = e.message; }
    running = false;
    document.querySelectorAll("button").forEach(b => b.disabled = false);
    gate();  // the run and save buttons open again only for a loaded, valid form
  }
  const one = document.getElementById("runone"), mc = document.getElementById("runmc");
  if (one) one.addEventListener("click", () => {
    const doc = spec(), libDoc = lib.find(x => x.name === sel.value);
    const same = libDoc && JSON.stringify(libDoc.spec) === JSON.stringify(doc);
    start(same ? { scenario: sel.value } : { spec: doc });
  });
  if (mc) mc.addEventListener("click", () => start({ monte_carlo: { runs: +document.getElementById("mcruns").value, seed: +document.getElementById("mcseed").value } }));
});
