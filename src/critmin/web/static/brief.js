"use strict";
// The briefing-pack page: queue a brief job, show its progress, offer both files.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("briefform");
  if (!form || !document.getElementById("briefrun")) return;
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    const box = document.getElementById("job"), err = document.getElementById("err"), out = document.getElementById("briefresult");
    box.hidden = false; err.textContent = ""; out.hidden = true; document.getElementById("briefrun").disabled = true;
    try {
      const body = { partners: [...form.querySelectorAll("input[name=partner]:checked")].map(x => x.value),
        year: +form.year.value, lang: form.lang.value, visibility: form.visibility.value };
      const cs = form.commodities.value.split(",").map(s => s.trim()).filter(s => s);
      if (cs.length) body.commodities = cs;
      const started = await critmin.api("/api/briefs", { method: "POST", body });
      const job = await critmin.pollJob(started.url, j => critmin.progressBar(box, j));
      if (job.status !== "done") throw new Error(job.error || job.status);
      const r = job.result, base = `/api/briefs/${job.job_id}/files/`;
      const ul = document.getElementById("files");
      ul.replaceChildren();
      for (const [name, label, extra] of [["brief.pdf", out.dataset.pdf, `${r.pages} ${out.dataset.pages}`],
                                         ["brief.xlsx", out.dataset.xlsx, `${r.sheets.length} ${out.dataset.sheets}`]]) {
        const li = document.createElement("li"), a = document.createElement("a");
        a.href = base + name; a.textContent = `${label} (${name})`; a.setAttribute("download", name); a.id = `dl-${name.split(".")[1]}`;
        li.append(a, document.createTextNode(` · ${extra}`));
        ul.append(li);
      }
      document.getElementById("hashes").textContent = Object.entries(r.sha256).map(([k, v]) => `sha256 ${k} ${v}`).join(" · ");
      out.hidden = false;
    } catch (e) { err.textContent = e.message; }
    document.getElementById("briefrun").disabled = false;
  });
});
