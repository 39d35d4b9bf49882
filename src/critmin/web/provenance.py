"""Show the source row a number came from (``dataset.source_path`` + ``source_line``).

``source_line`` is the 1-based physical line of a text file, the sheet row of a spreadsheet
(``path#sheet``) or the rowid of a SQLite table (``path#table``), as defined in
:mod:`critmin.data.schema`. When the raw file is not at hand (no data directory), the answer
says so instead of guessing.
"""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

from critmin.data import paths

TEXT_SUFFIXES = {".csv", ".txt", ".tsv", ".json"}


def source_line_text(source_path: str, line: int) -> tuple[str | None, str | None]:
    """(row text, None) or (None, reason it cannot be shown); line 0 means the whole dataset."""
    if line == 0:
        return None, "dataset-level reference (the indicator combines several rows)"
    try:
        root = paths.resolve_data_dir()
    except paths.DataDirNotFound:
        return None, "raw data directory not available on this server"
    rel, _, part = source_path.partition("#")
    f = (root / rel).resolve()
    if root.resolve() not in f.parents or not f.is_file():
        return None, f"source file {rel} not found under the data directory"
    suffix = f.suffix.lower()
    if suffix in TEXT_SUFFIXES and not part:
        return _text_line(f, line)
    if suffix in (".xlsx", ".xlsm") and part:
        return _sheet_row(f, part, line)
    if suffix in (".sqlite", ".db", ".sqlite3") and part:
        return _sqlite_row(f, part, line)
    return None, f"showing rows of {suffix or 'this'} files is not supported"


def _text_line(f: Path, line: int) -> tuple[str | None, str | None]:
    with f.open(encoding="utf-8", errors="replace", newline="") as fh:
        got = next(itertools.islice(fh, line - 1, line), None) if line >= 1 else None
    if got is None:
        return None, f"{f.name} has fewer than {line} lines"
    return got.rstrip("\r\n"), None


def _sheet_row(f: Path, sheet: str, line: int) -> tuple[str | None, str | None]:
    import openpyxl

    wb = openpyxl.load_workbook(f, read_only=True, data_only=True)
    try:
        if sheet not in wb.sheetnames:
            return None, f"sheet {sheet!r} not in {f.name}"
        rows = wb[sheet].iter_rows(min_row=line, max_row=line, values_only=True)
        row = next(rows, None)
    finally:
        wb.close()
    if row is None:
        return None, f"sheet {sheet!r} has fewer than {line} rows"
    return " | ".join("" if v is None else str(v) for v in row), None


def _sqlite_row(f: Path, table: str, rowid: int) -> tuple[str | None, str | None]:
    con = sqlite3.connect(f"file:{f}?mode=ro", uri=True)
    try:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if table not in names:
            return None, f"table {table!r} not in {f.name}"
        row = con.execute(f'SELECT * FROM "{table}" WHERE rowid = ?', [rowid]).fetchone()
    finally:
        con.close()
    if row is None:
        return None, f"no row with rowid {rowid} in {table}"
    return " | ".join("" if v is None else str(v) for v in row), None
