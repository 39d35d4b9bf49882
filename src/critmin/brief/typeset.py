"""The PDF: the brief's tables and charts as data.json, laid out by ``templates/brief.typ`` and
compiled by Typst (the ``typst`` package; fonts only from Debian's Noto packages).

The template reads every text from data.json (so nothing needs escaping into Typst markup)
and prints the visibility in the header and footer of every page, the cover included. A Typst
warning about fonts (an unknown family, a missing glyph) is an error: a brief with tofu in it
is not handed to a minister.
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from critmin.brief import fonts
from critmin.brief.model import Brief, Table
from critmin.brief.summary import fmt_cell
from critmin.i18n.formats import fmt_date
from critmin.i18n.names import country_name

RIGHT = ("int", "number", "percent", "usd_m", "t")


class TypesetError(RuntimeError):
    """Typst failed, or warned about fonts or glyphs."""


def table_doc(t: Table, brief: Brief, page: bool = False) -> dict[str, Any]:
    """A table as the template reads it: headers with units, formatted cells, a Src. column.
    On a commodity page the commodity column is left out (the page is the commodity's; the
    workbook keeps the column)."""
    cols = [c for c in t.columns if not (page and c.key == "commodity")]
    headers = [c.title() for c in cols] + [brief.labels["src"]]
    cells = []
    for row, refs in zip(t.rows, t.sources, strict=True):
        nums = brief.sources.cite(refs)
        cells.append([fmt_cell(row.get(c.key), c.kind, c.digits, brief.lang) for c in cols]
                     + [", ".join(map(str, nums)) or "–"])
    return {"title": t.title, "headers": headers, "cells": cells, "note": t.note,
            "align": ["right" if c.kind in RIGHT else "left" for c in cols] + ["left"]}


def source_text(brief: Brief, ds: Any, lines: list[int]) -> str:
    L = brief.labels
    # a project record's own source (Sources.external, negative id): critmin's label, in the brief's language
    parts = [L["registry_record"] if ds.dataset_id < 0 else ds.publisher, ds.title]
    if ds.vintage:
        parts.append(ds.vintage)
    parts.append(f"{L['col_file']}: {ds.path}")
    if ds.dataset_id > 0:
        parts.append(f"{L['col_dataset']} {ds.dataset_id}")
        shown = ", ".join(map(str, lines[:40])) + (" …" if len(lines) > 40 else "")
        parts.append(f"{L['rows']}: {shown}" if lines else L["whole_dataset"])
    if ds.url:
        parts.append(ds.url)
    return ". ".join(p for p in parts if p)


def document(brief: Brief) -> dict[str, Any]:
    """data.json of the template."""
    L = brief.labels
    pages = []
    for p in brief.pages:
        # the charts cite the datasets of the supply (exposure) and price tables of the page
        by_key = {t.key: t for t in p.tables}
        sup = brief.sources.cite([r for refs in by_key["Exposure"].sources for r in refs]) if "Exposure" in by_key else []
        pr = brief.sources.cite([r for refs in by_key["Prices"].sources for r in refs]) if "Prices" in by_key else []
        meta = []
        if p.rank is not None:
            meta.append(f"{L['rank']} {p.rank}")
        if p.score is not None:
            meta.append(f"{L['score']} {fmt_cell(p.score, 'number', 3, brief.lang)}")
        if p.bottleneck:
            meta.append(f"{L['bottleneck']}: {p.bottleneck}")
        pages.append({"title": p.name, "meta": " · ".join(meta), "text": p.text,
                      "supply": f"charts/{p.charts['supply']}" if "supply" in p.charts else None,
                      "price": f"charts/{p.charts['price']}" if "price" in p.charts else None,
                      "supply_src": ", ".join(map(str, sup)) or "–", "price_src": ", ".join(map(str, pr)) or "–",
                      "tables": [table_doc(t, brief, page=True) for t in p.tables]})
    doc = {
        "lang": brief.lang, "fonts": list(fonts.FAMILIES[brief.lang]), "labels": L,
        "date_text": fmt_date(brief.generated.date(), brief.lang), "year": str(brief.year),
        "data_version": brief.data_version, "datasets": str(brief.datasets_imported),
        "data_lines": [list(x) for x in brief.data_lines], "data_release": brief.data_release,
        "prepared_for": " – ".join(country_name(k, brief.lang) for k in brief.partners),
        "params_text": params_text(brief),
        "summary": brief.summary, "tables": [table_doc(t, brief) for t in brief.tables.values()],
        "pages": pages, "methodology": [list(m) for m in brief.methodology], "notes": brief.notes,
    }
    doc["sources"] = [{"n": n, "text": source_text(brief, ds, lines)} for n, ds, lines in brief.sources.ordered()]
    return doc


def params_text(brief: Brief) -> str:
    p = brief.params
    keep = ("partners", "year", "lang", "visibility", "commodities", "mc_runs", "stockpile_runs", "seed",
            "stockpile_budgets", "project_budgets", "today")
    return "; ".join(f"{k}={json.dumps(p.get(k), ensure_ascii=False)}" for k in keep)


def compile_pdf(brief: Brief, build_dir: Path) -> bytes:
    """Write data.json and the template into ``build_dir`` (charts already in ``charts/``) and
    compile. Raises :class:`TypesetError` on a Typst error or a font warning."""
    tpl = resources.files("critmin.brief").joinpath("templates", "brief.typ").read_text(encoding="utf-8")
    return run_typst(build_dir, "brief.typ", tpl, document(brief), brief.lang)


def run_typst(build_dir: Path, name: str, template: str, data: dict[str, Any], lang: str) -> bytes:
    """The one Typst runner (the briefing pack and the incident brief): ``data.json`` and the
    template ``name`` in ``build_dir``, Debian's Noto fonts for ``lang`` only (no system-font
    fallback), a font or glyph warning an error. Raises :class:`TypesetError`."""
    import typst

    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / "data.json").write_text(json.dumps(data, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    (build_dir / name).write_text(template, encoding="utf-8")
    font_dir = build_dir / "fonts"
    font_dir.mkdir(exist_ok=True)
    for f in fonts.font_files(lang):
        target = font_dir / f.name
        if not target.exists():
            try:
                target.symlink_to(f)
            except OSError:
                shutil.copyfile(f, target)
    try:
        pdf, warnings = typst.compile_with_warnings(str(build_dir / name), root=str(build_dir),
                                                    font_paths=[str(font_dir)])
    except typst.TypstError as exc:
        raise TypesetError(f"Typst could not compile {build_dir / name}: {exc}") from None
    bad = [str(w) for w in warnings if any(k in str(w).lower() for k in ("font", "glyph"))]
    if bad:
        raise TypesetError("Typst font warnings: " + "; ".join(bad))
    if not isinstance(pdf, bytes):
        raise TypesetError("Typst returned no PDF")
    return pdf
