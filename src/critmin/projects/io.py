"""Import and export of project records (JSON or CSV).

* JSON: a list of project objects, exactly the records of :class:`~critmin.projects.models.Project`
  (``critmin projects export --json`` writes it; ``critmin projects import FILE`` reads it back).
* CSV: one row per project; scalar fields as plain cells, list fields (``sponsors``,
  ``permitting_milestones``, ``financing_requests``, ``sources``) as JSON text in the cell.

Reading validates every row and collects *all* row-level errors (JSON: item index and id;
CSV: physical line number) before anything is written; a file with any error raises
:class:`ImportFileError` and imports nothing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from critmin.projects.models import Project, ProjectValidationError, validate_record

CSV_COLUMNS = list(Project.model_fields)
LIST_FIELDS = {"sponsors", "permitting_milestones", "financing_requests", "sources"}
#: fields whose empty CSV cell means null (not stated); an empty required cell is "missing"
NULLABLE = {"latitude", "longitude", "capacity_tpy", "capex_usd", "first_production_year", "notes"}


class ImportFileError(ValueError):
    """A project file with one or more row-level errors (``errors``: one line per problem)."""

    def __init__(self, path: str, errors: list[str]):
        self.path = path
        self.errors = errors
        shown = "\n  ".join(errors[:50])
        more = f"\n  ... and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(f"{path}: {len(errors)} error(s), nothing imported:\n  {shown}{more}")


def _check_ids(projects: list[tuple[str, Project]], errors: list[str]) -> None:
    seen: dict[str, str] = {}
    for where, p in projects:
        if p.id in seen:
            errors.append(f"{where}: id {p.id!r} repeats {seen[p.id]}")
        else:
            seen[p.id] = where


def parse_json(text: str, path: str = "<json>") -> list[Project]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(path, [f"line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}"]) from None
    if not isinstance(data, list):
        raise ImportFileError(path, [f"expected a JSON list of project objects, got {type(data).__name__}"])
    errors: list[str] = []
    ok: list[tuple[str, Project]] = []
    for i, rec in enumerate(data):
        where = f"item {i}"
        try:
            ok.append((where, validate_record(rec, where)))
        except ProjectValidationError as exc:
            errors += [f"{exc.where}: {e}" for e in exc.errors]
    _check_ids(ok, errors)
    if errors:
        raise ImportFileError(path, errors)
    return [p for _, p in ok]


def _csv_record(row: dict[str, str], line: int, errors: list[str]) -> dict[str, Any] | None:
    rec: dict[str, Any] = {}
    bad = False
    for key, cell in row.items():
        if key is None:
            errors.append(f"line {line}: more cells than header columns")
            bad = True
            continue
        if cell is None or cell.strip() == "":
            if key in NULLABLE:
                rec[key] = None
            continue  # a missing required field is reported by validation
        if key in LIST_FIELDS:
            try:
                rec[key] = json.loads(cell)
            except json.JSONDecodeError as exc:
                errors.append(f"line {line}: {key}: expected a JSON list in the cell ({exc.msg})")
                bad = True
        else:
            rec[key] = cell
    return None if bad else rec


def parse_csv(text: str, path: str = "<csv>") -> list[Project]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise ImportFileError(path, ["line 1: empty file, expected a header row"])
    unknown = [c for c in reader.fieldnames if c not in CSV_COLUMNS]
    missing = [c for c in CSV_COLUMNS if c not in reader.fieldnames]
    header_errors = []
    if unknown:
        header_errors.append(f"line 1: unknown column(s) {unknown}; expected {CSV_COLUMNS}")
    if missing:
        header_errors.append(f"line 1: missing column(s) {missing}")
    if header_errors:
        raise ImportFileError(path, header_errors)
    errors: list[str] = []
    ok: list[tuple[str, Project]] = []
    for row in reader:
        line = reader.line_num
        rec = _csv_record(row, line, errors)
        if rec is None:
            continue
        try:
            ok.append((f"line {line}", validate_record(rec, f"line {line}")))
        except ProjectValidationError as exc:
            errors += [f"{exc.where}: {e}" for e in exc.errors]
    _check_ids(ok, errors)
    if errors:
        raise ImportFileError(path, errors)
    return [p for _, p in ok]


def read_records(path: Path, fmt: str | None = None) -> list[Project]:
    """Read a JSON or CSV project file (format from ``fmt`` or the file suffix)."""
    path = Path(path)
    fmt = fmt or path.suffix.lower().lstrip(".")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(str(path), [f"cannot read file: {exc}"]) from None
    if fmt == "json":
        return parse_json(text, str(path))
    if fmt == "csv":
        return parse_csv(text, str(path))
    raise ImportFileError(str(path), [f"unknown format {fmt!r}; expected a .json or .csv file"])


def to_json(projects: Sequence[Project]) -> str:
    return json.dumps([p.record() for p in projects], indent=2, ensure_ascii=False) + "\n"


def to_csv(projects: Sequence[Project]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for p in projects:
        rec = p.record()
        w.writerow(
            {
                k: json.dumps(v, ensure_ascii=False) if k in LIST_FIELDS else ("" if v is None else repr(v) if isinstance(v, float) else v)
                for k, v in rec.items()
            }
        )
    return buf.getvalue()
