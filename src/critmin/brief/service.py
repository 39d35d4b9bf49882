"""The brief workflow: one request in, ``brief.pdf`` and ``brief.xlsx`` out (CLI and web).

:func:`generate` is a plain function (warehouse, request, output directory, progress) so that
the dashboard's job runner, or a queue worker, can run it as it is. It returns the files with
their sha256 and where the time went (analysis, charts, typesetting, workbook);
:func:`audit_entry` is the audit record both callers write.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from critmin.brief.assemble import BriefRequest, build

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

Progress = Callable[[float, str], None]
PDF_NAME = "brief.pdf"
XLSX_NAME = "brief.xlsx"


@dataclass(frozen=True)
class BriefResult:
    pdf: Path
    xlsx: Path
    sha256: dict[str, str]
    params: dict[str, Any]
    data_version: str
    sheets: list[str]
    pages: int
    commodities: list[str]
    notes: list[str]
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"files": {"pdf": self.pdf.name, "xlsx": self.xlsx.name}, "sha256": dict(self.sha256),
                "params": self.params, "data_version": self.data_version, "sheets": self.sheets,
                "pages": self.pages, "commodities": self.commodities, "notes": self.notes,
                "timings_s": {k: round(v, 3) for k, v in self.timings.items()}}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def generate(wh: Warehouse, req: BriefRequest, out_dir: Path, progress: Progress | None = None) -> BriefResult:
    """Build the brief of ``req`` and write both files into ``out_dir`` (created)."""
    from critmin.brief import charts, typeset, workbook

    note = progress or (lambda f, m: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    brief = build(wh, req, lambda f, m: note(0.8 * f, m))
    t1 = time.perf_counter()
    note(0.8, "charts")
    with tempfile.TemporaryDirectory(prefix="critmin-brief-") as tmp:
        build_dir = Path(tmp)
        charts.render(brief.pages, brief.lang, build_dir / "charts", brief.labels["other"])
        t2 = time.perf_counter()
        note(0.88, "typesetting")
        pdf = typeset.compile_pdf(brief, build_dir)
    t3 = time.perf_counter()
    pdf_path = out_dir / PDF_NAME
    pdf_path.write_bytes(pdf)
    note(0.95, "workbook")
    xlsx_path = out_dir / XLSX_NAME
    sheets = workbook.write(brief, xlsx_path)
    t4 = time.perf_counter()
    from pypdf import PdfReader

    pages = len(PdfReader(str(pdf_path)).pages)
    note(1.0, "done")
    return BriefResult(pdf_path, xlsx_path, {PDF_NAME: sha256_file(pdf_path), XLSX_NAME: sha256_file(xlsx_path)},
                       brief.params, brief.data_version, sheets, pages, [p.commodity for p in brief.pages],
                       brief.notes, {"analysis": t1 - t0, **{f"analysis.{k}": v for k, v in brief.timings.items()},
                                     "charts": t2 - t1, "typesetting": t3 - t2, "workbook": t4 - t3})


def audit_entry(result: BriefResult) -> dict[str, Any]:
    """The audit detail of a generated brief: its parameters and the sha256 of its files."""
    return {"params": result.params, "sha256": result.sha256, "data_version": result.data_version,
            "pages": result.pages}


def record_audit(store: Any, result: BriefResult, *, actor: str, role: str | None, client: str | None = None) -> int:
    """Append the brief to the audit log (:func:`critmin.web.audit.record`, under the log's
    lock): action ``brief.generate``, target the PDF's sha256, detail :func:`audit_entry`."""
    from critmin.web import audit

    with store.transaction(lock="web_audit") as con:
        return audit.record(con, actor=actor, role=role, action="brief.generate", target=result.sha256[PDF_NAME],
                            outcome="ok", detail=audit_entry(result), client=client)
