"""The workbook: one sheet per table of the PDF, typed cells, and a Sources sheet (xlsxwriter).

Each sheet has the table's title in row 1, its headers (with units) in row 3, frozen above the
data, an autofilter over the data, column widths from the contents, and numbers stored as
numbers in the unit of the header (the PDF shows the same values, rounded). The last column
gives the footnote numbers of the row; the ``Sources`` sheet lists for every row of every
sheet each dataset it cites (publisher, title, release, file, source line), under the data
statement (the USGS MCS release(s) read, the other sources' releases, the import time and the
data version, :mod:`critmin.brief.provenance`). An ``About`` sheet holds the brief's parameters,
visibility and the same data statement.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from critmin.brief.model import Brief, Table
from critmin.brief.typeset import params_text

NUMERIC = ("int", "number", "percent", "usd_m", "t")
HEADER_ROW = 2  # 0-based: title, visibility line, headers


def _sheet_name(key: str, used: set[str]) -> str:
    base = "".join(ch for ch in key if ch not in "[]:*?/\\")[:31] or "Sheet"
    name, i = base, 2
    while name.lower() in used:
        suffix = f" {i}"
        name, i = base[: 31 - len(suffix)] + suffix, i + 1
    used.add(name.lower())
    return name


def _width(values: list[Any]) -> float:
    longest = max((len(str(v)) if v is not None else 1) for v in values) if values else 8
    return float(min(max(longest + 2, 8), 60))


def write(brief: Brief, path: Path) -> list[str]:
    """Write the workbook; returns the sheet names (tables first, then Sources and About)."""
    import xlsxwriter

    L = brief.labels
    wb = xlsxwriter.Workbook(str(path), {"nan_inf_to_errors": False, "strings_to_numbers": False,
                                          "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"title": L["title"], "subject": L["visibility"], "author": "critmin",
                       "comments": f"{L['data_version']} {brief.data_version}"})
    bold = wb.add_format({"bold": True, "font_size": 12})
    mark = wb.add_format({"bold": True, "font_color": "#8b1a1a"})
    head = wb.add_format({"bold": True, "bg_color": "#e3e9f1", "bottom": 1, "text_wrap": True, "valign": "top"})
    fmts = {d: wb.add_format({"num_format": "#,##0" + ("." + "0" * d if d else "")}) for d in range(0, 5)}
    used: set[str] = set()
    names: list[str] = []
    source_rows: list[list[Any]] = []
    for t in brief.all_tables():
        name = _sheet_name(t.key, used)
        names.append(name)
        ws = wb.add_worksheet(name)
        _table(ws, t, brief, bold, mark, head, fmts, source_rows, name)
    ws = wb.add_worksheet(_sheet_name("Sources", used))
    names.append(ws.get_name())
    cols = [L["col_sheet"], L["col_row"], L["col_ref"], L["col_dataset"], L["col_publisher"], L["col_title"],
            L["col_release"], L["col_file"], L["col_line"], L["col_url"]]
    ws.write(0, 0, L["source_list"], bold)
    ws.write(1, 0, f"{L['visibility_label']}: {L['visibility']}", mark)
    top = _data_lines(ws, brief, head)
    ws.write_row(top, 0, cols, head)
    for i, r in enumerate(source_rows, start=top + 1):
        for j, v in enumerate(r):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                ws.write_number(i, j, v)
            elif v is None:
                ws.write_blank(i, j, None)
            else:
                ws.write_string(i, j, str(v))
    ws.freeze_panes(top + 1, 0)
    ws.autofilter(top, 0, top + max(len(source_rows), 1), len(cols) - 1)
    for j in range(len(cols)):
        extra = [k for k, _v in brief.data_lines] + [L["data_as_of"]] if j == 0 else []
        ws.set_column(j, j, _width([cols[j], *extra] + [r[j] for r in source_rows[:500]]))
    about = wb.add_worksheet(_sheet_name("About", used))
    names.append(about.get_name())
    about.write(0, 0, L["title"], bold)
    about.write(1, 0, f"{L['visibility_label']}: {L['visibility']}", mark)
    items = [(L["date"], brief.generated.isoformat()), (L["year"], brief.year),
             *[(k, v) for k, v in brief.data_lines if k != L["data_version"]],
             (L["data_version"], brief.data_version), (L["datasets"], brief.datasets_imported),
             (L["parameters"], params_text(brief)), ("params (JSON)", json.dumps(brief.params, ensure_ascii=False))]
    for i, (k, v) in enumerate(items, start=HEADER_ROW + 1):
        about.write_string(i, 0, str(k), head)
        if isinstance(v, int):
            about.write_number(i, 1, v)
        else:
            about.write_string(i, 1, str(v))
    for i, n in enumerate(brief.notes, start=HEADER_ROW + 2 + len(items)):
        about.write_string(i, 0, L["notes"] if i == HEADER_ROW + 2 + len(items) else "")
        about.write_string(i, 1, n)
    about.set_column(0, 0, 24)
    about.set_column(1, 1, 100)
    wb.close()
    return names


def _data_lines(ws: Any, brief: Brief, head: Any) -> int:
    """The data statement (what the data is as of) under the Sources sheet's title, from row
    :data:`HEADER_ROW`; returns the row of the source list's headers (a blank row below it)."""
    L = brief.labels
    ws.write_string(HEADER_ROW, 0, L["data_as_of"], head)
    for i, (k, v) in enumerate(brief.data_lines, start=HEADER_ROW + 1):
        ws.write_string(i, 0, k, head)
        ws.write_string(i, 1, v)
    return HEADER_ROW + len(brief.data_lines) + 2


def _table(ws: Any, t: Table, brief: Brief, bold: Any, mark: Any, head: Any, fmts: dict[int, Any],
           source_rows: list[list[Any]], name: str) -> None:
    L = brief.labels
    ws.write(0, 0, t.title, bold)
    ws.write(1, 0, f"{L['visibility_label']}: {L['visibility']}", mark)
    headers = [c.title() for c in t.columns] + [L["src"]]
    ws.write_row(HEADER_ROW, 0, headers, head)
    widths = [[h] for h in headers]
    for i, (row, refs) in enumerate(zip(t.rows, t.sources, strict=True), start=HEADER_ROW + 1):
        for j, c in enumerate(t.columns):
            v = row.get(c.key)
            if v is None or (isinstance(v, float) and v != v):
                ws.write_blank(i, j, None)
                widths[j].append("")
            elif c.kind in NUMERIC:
                ws.write_number(i, j, float(v), fmts[min(c.digits, 4) if c.kind != "int" else 0])
                widths[j].append(f"{float(v):,.{c.digits}f}")
            else:
                ws.write_string(i, j, str(v))
                widths[j].append(str(v))
        nums = brief.sources.cite(refs)
        ref_text = ", ".join(map(str, nums))
        ws.write_string(i, len(t.columns), ref_text)
        widths[-1].append(ref_text)
        by_id = {d: n for n, d in ((brief.sources.number[r.dataset_id], r.dataset_id) for r in refs)}
        for r in refs:
            ds = brief.sources.catalogue[r.dataset_id]
            source_rows.append([name, i + 1, by_id[r.dataset_id], ds.dataset_id if ds.dataset_id > 0 else None,
                                ds.publisher, ds.title, ds.vintage, ds.path, r.line, ds.url])
    last = HEADER_ROW + max(len(t.rows), 1)
    ws.freeze_panes(HEADER_ROW + 1, 0)
    ws.autofilter(HEADER_ROW, 0, last, len(headers) - 1)
    for j, vals in enumerate(widths):
        ws.set_column(j, j, _width(vals))
    if t.note:
        ws.write_string(last + 2, 0, t.note)
