"""Import every source under the data directory into the warehouse, all or nothing.

1. Discover datasets (one per file, sheet or SQLite table) from the source modules.
2. Skip those already imported with the same path and sha256 (idempotent); a changed file
   is a new vintage and is added beside the old one.
3. Parse everything (in ``data.import_processes`` worker processes). What a parser leaves
   out on purpose (a note text standing where a country should be) it returns under
   :data:`~critmin.data.ingest.base.NOT_IMPORTED` with the reason; it is logged and listed in
   :attr:`ImportReport.not_imported`, never dropped silently.
4. Write reference tables, ``dataset`` rows and all fact rows in ONE DuckDB transaction. It
   begins as soon as the bulk rows (the BACI extract, :class:`~critmin.data.ingest.base.SqlRows`)
   are ready, and writes them while the workers go on parsing the rest; any fault, in a parser
   or in the write, and any failure (or a SIGKILL) before COMMIT leave the database exactly as
   it was (ROLLBACK).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import duckdb
import pandas as pd

from critmin import settings
from critmin.data import reference
from critmin.data.errors import ImportFault
from critmin.data.ingest import base
from critmin.data.ingest import registry as source_registry
from critmin.data.schema import TABLES, fact_tables

log = logging.getLogger(__name__)

settings.register(
    "data.import_processes",
    2,
    "Processes that parse source files in parallel during an import (1: in the importing process). "
    "The BACI extract is always parsed in the importing process (it runs its own 2 processes).",
    "CI machine: 2 cores",
)

Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass
class ImportReport:
    added: list[dict] = field(default_factory=list)
    skipped: int = 0
    rows: int = 0
    seconds: float = 0.0
    missing_sources: list[str] = field(default_factory=list)
    #: values a parser skipped on purpose: {"source_path", "ref", "line", "reason"}
    not_imported: list[dict] = field(default_factory=list)
    #: where the time went, seconds: discover (+ sha256), parse, write (one transaction)
    timing: dict[str, float] = field(default_factory=dict)
    #: parse seconds per source family (the first path component), summed over its datasets
    parse_by_source: dict[str, float] = field(default_factory=dict)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    for t in TABLES.values():
        con.execute(t.ddl())
        _add_optional_columns(con, t.name)
    con.execute(
        """CREATE OR REPLACE VIEW current_dataset AS
           SELECT * FROM dataset d WHERE dataset_id = (
             SELECT max(dataset_id) FROM dataset d2 WHERE d2.key = d.key)"""
    )


def _add_optional_columns(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """A warehouse made before an optional column existed gets it (NULL in the old rows)."""
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = current_schema()",
        [table],
    ).fetchall()}
    for c in TABLES[table].columns:
        if c.optional and c.name not in have:
            con.execute(f'ALTER TABLE {table} ADD COLUMN "{c.name}" {c.type}')


def _existing(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    try:
        return set(con.execute("SELECT source_path, sha256 FROM dataset").fetchall())
    except duckdb.CatalogException:
        return set()


def _check_columns(spec: base.DatasetSpec, table: str, rows: list[dict] | pd.DataFrame) -> None:
    if table not in TABLES:
        raise ImportFault(spec.relpath, None, None, f"rows for table {table!r}", f"one of {sorted(TABLES)}")
    want = TABLES[table].column_names
    if isinstance(rows, base.SqlRows):
        return
    have = list(rows.columns) if isinstance(rows, pd.DataFrame) else (list(rows[0]) if rows else want)
    # optional columns (schema.Column.optional) may be left out; they are NULL then
    if len(set(have)) != len(have) or not set(TABLES[table].required_names) <= set(have) <= set(want):
        raise ImportFault(spec.relpath, None, None, f"columns {have}", f"columns {want} for table {table!r}")


def _with_optional(table: str, rows: list[dict] | pd.DataFrame) -> list[dict] | pd.DataFrame:
    """Fill the optional columns a parser left out with NULL."""
    optional = [c.name for c in TABLES[table].columns if c.optional]
    if isinstance(rows, pd.DataFrame):
        missing = [c for c in optional if c not in rows.columns]
        return rows.assign(**{c: pd.Series([None] * len(rows), index=rows.index, dtype=object) for c in missing}) if missing else rows
    for r in rows:
        for c in optional:
            r.setdefault(c, None)
    return rows


def _unreadable_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean 'this file cannot be read at all' (corrupt workbook or database)."""
    import sqlite3
    import zipfile

    errs: list[type[BaseException]] = [zipfile.BadZipFile, sqlite3.DatabaseError, OSError]
    try:
        from python_calamine import CalamineError

        errs.append(CalamineError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errs)


_KIND = {".xlsx": "an Excel workbook (.xlsx)", ".db": "a SQLite database", ".csv": "a CSV file"}


def _parse_one(spec: base.DatasetSpec) -> dict:
    try:
        return spec.parser(spec)
    except ImportFault:
        raise
    except _unreadable_errors() as e:
        kind = _KIND.get(spec.path.suffix.lower(), "a readable file")
        raise ImportFault(spec.relpath, None, None, f"an unreadable file ({type(e).__name__}: {e})", kind) from e


def _parse_timed(spec: base.DatasetSpec) -> tuple[str, object, float]:
    """Parse in a worker process: ("ok", frames, seconds), or ("fault", fields, seconds) for an
    ImportFault (re-raised in the parent with the same fields and the same message, e.g. a
    JSON source's fault names its JSON path)."""
    t = time.perf_counter()
    try:
        frames = _parse_one(spec)
    except ImportFault as e:
        return "fault", ((e.path, e.line, e.column, e.found, e.expected), str(e)), time.perf_counter() - t
    return "ok", frames, time.perf_counter() - t


def _family(spec: base.DatasetSpec) -> str:
    return spec.relpath.split("/")[0]


def parse_all(specs: list[base.DatasetSpec], progress: Progress | None = None,
              timing: dict[str, float] | None = None,
              on_bulk: Callable[[int, dict], None] | None = None) -> list[tuple[base.DatasetSpec, dict[str, pd.DataFrame]]]:
    """Parse every spec (in ``data.import_processes`` processes), in the order given; any
    fault aborts. ``timing`` collects parse seconds per source family.

    ``on_bulk(i, frames)`` is called in this process as soon as spec ``i``'s frames hold
    :class:`~critmin.data.ingest.base.SqlRows` (the BACI extract, parsed here first), while the
    worker processes go on parsing the rest: the importer writes those rows in the meantime."""
    n_proc = max(1, int(settings.get("data.import_processes")))
    timing = timing if timing is not None else {}
    results: dict[int, dict] = {}
    local = [i for i, s in enumerate(specs) if n_proc == 1 or s.key == "baci_critical_minerals"]
    remote = [i for i in range(len(specs)) if i not in set(local)]
    done = 0

    def keep(i: int, frames: dict, seconds: float) -> None:
        nonlocal done
        for table, df in frames.items():
            if table != base.NOT_IMPORTED:
                _check_columns(specs[i], table, df)
        results[i] = frames
        fam = _family(specs[i])
        timing[fam] = timing.get(fam, 0.0) + seconds
        done += 1
        if progress:
            progress("parse", done, len(specs))
        if on_bulk is not None and any(isinstance(v, base.SqlRows) for v in frames.values()):
            on_bulk(i, frames)

    pool = None
    futures = []
    try:
        if remote:
            from concurrent.futures import ProcessPoolExecutor

            pool = ProcessPoolExecutor(max_workers=n_proc)
            # biggest first (by file size) so that the processes finish together
            order = sorted(remote, key=lambda i: -(specs[i].path.stat().st_size if specs[i].path.exists() else 0))
            futures = [(i, pool.submit(_parse_timed, specs[i])) for i in order]
        for i in local:
            t = time.perf_counter()
            keep(i, _parse_one(specs[i]), time.perf_counter() - t)
        for i, fut in futures:
            kind, value, seconds = fut.result()
            if kind == "fault":
                fields, message = cast("tuple[tuple[Any, ...], str]", value)
                fault = ImportFault(*fields)
                fault.args = (message,)
                raise fault
            keep(i, value, seconds)  # type: ignore[arg-type]
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return [(specs[i], results[i]) for i in range(len(specs))]


class _Write:
    """The one write transaction of an import, begun when the first rows are ready (a bulk
    dataset while the others are still being parsed, or everything after parsing)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, timing: dict[str, float]) -> None:
        self.con = con
        self.timing = timing
        self.first_id: int | None = None

    def begin(self) -> int:
        """BEGIN, schema and reference tables; returns the first new dataset_id."""
        if self.first_id is None:
            t = time.perf_counter()
            self.con.execute("BEGIN TRANSACTION")
            self.first_id = -1  # begun: a failure below must roll back
            ensure_schema(self.con)
            reference.refresh(self.con)
            self.first_id = int(self.con.execute("SELECT coalesce(max(dataset_id), 0) + 1 FROM dataset").fetchall()[0][0])
            self.timing["schema"] = time.perf_counter() - t
        return self.first_id

    def bulk(self, specs: list[base.DatasetSpec], i: int, frames: dict) -> None:
        """Write the SqlRows of spec ``i`` now (its temporary CSV files are deleted after)."""
        try:
            did = self.begin() + i
            t = time.perf_counter()
            for table, rows in frames.items():
                if isinstance(rows, base.SqlRows):
                    _insert_sql(self.con, table, did, rows, specs[i].relpath)
            self.timing["write_bulk"] = self.timing.get("write_bulk", 0.0) + time.perf_counter() - t
        finally:
            for rows in frames.values():
                if isinstance(rows, base.SqlRows) and rows.tmpdir:
                    shutil.rmtree(rows.tmpdir, ignore_errors=True)

    def rollback(self) -> None:
        if self.first_id is not None:
            self.con.execute("ROLLBACK")


def import_all(
    con: duckdb.DuckDBPyConnection,
    data_dir: Path,
    *,
    progress: Progress | None = None,
    only: Callable[[base.DatasetSpec], bool] | None = None,
) -> ImportReport:
    """Import everything under ``data_dir`` not yet in the warehouse. All or nothing.

    ``report.timing`` says where this process's time went, in phases that follow one another
    and sum to ``report.seconds``: ``discover`` (find the datasets), ``sha256`` (hash the
    files), ``parse`` (parse here and wait for the worker processes), ``schema`` (BEGIN,
    schema, reference tables), ``write_bulk`` (the bulk rows, written while the workers go on
    parsing), ``write`` (every other row) and ``commit``."""
    t0 = time.perf_counter()
    report = ImportReport()
    tm = report.timing
    specs, report.missing_sources = source_registry.discover(data_dir)
    if only is not None:
        specs = [s for s in specs if only(s)]
    existing = _existing(con)
    tm["discover"] = time.perf_counter() - t0
    t = time.perf_counter()
    shas = {s.relpath: base.sha256_file(s.path) for s in specs}
    todo = [s for s in specs if (s.relpath, shas[s.relpath]) not in existing]
    report.skipped = len(specs) - len(todo)
    tm["sha256"] = time.perf_counter() - t
    w = _Write(con, tm)
    try:
        t = time.perf_counter()
        try:
            parsed = parse_all(todo, progress, report.parse_by_source, on_bulk=lambda i, frames: w.bulk(todo, i, frames))
        finally:
            tm["parse"] = time.perf_counter() - t - tm.get("write_bulk", 0.0) - tm.get("schema", 0.0)
        _write(w, parsed, shas, report, progress)
        t = time.perf_counter()
        con.execute("COMMIT")
        w.first_id = None
        tm["commit"] = time.perf_counter() - t
    except BaseException:
        w.rollback()
        raise
    report.seconds = time.perf_counter() - t0
    log.info("imported %d datasets (%d rows), skipped %d, in %.1fs", len(report.added), report.rows, report.skipped, report.seconds)
    return report


def _write(w: _Write, parsed: list[tuple[base.DatasetSpec, dict]], shas: dict[str, str], report: ImportReport,
           progress: Progress | None) -> None:
    """Everything but the bulk rows already written, inside the transaction ``w``."""
    con = w.con
    first = w.begin()
    t1 = time.perf_counter()
    now = datetime.now(UTC).replace(tzinfo=None)
    ds_rows = []
    per_table: dict[str, list[pd.DataFrame]] = {t.name: [] for t in fact_tables()}
    per_rows: dict[str, list[dict]] = {t.name: [] for t in fact_tables()}
    for i, (spec, frames) in enumerate(parsed):
        did = first + i
        n = 0
        for table, rows in frames.items():
            if table == base.NOT_IMPORTED:
                for item in rows:
                    rec = {"source_path": spec.relpath, **item}
                    report.not_imported.append(rec)
                    log.info("%s: not imported: %s (line %s): %s", spec.relpath, rec.get("ref"), rec.get("line"), rec.get("reason"))
                continue
            if not isinstance(rows, base.SqlRows):  # SqlRows are written already (_Write.bulk)
                rows = _with_optional(table, rows)
                if isinstance(rows, pd.DataFrame):
                    if len(rows):
                        rows = rows.copy()
                        rows["dataset_id"] = did
                        per_table[table].append(rows)
                else:
                    for r in rows:
                        r["dataset_id"] = did
                    per_rows[table].extend(rows)
            n += len(rows)
        ds_rows.append({
            "dataset_id": did, "key": spec.key, "source_path": spec.relpath, "publisher": spec.publisher,
            "title": spec.title, "licence": spec.licence, "vintage": spec.vintage, "url": spec.url,
            "sha256": shas[spec.relpath], "row_count": n, "imported_at": now,
        })
        report.added.append({"dataset_id": did, "key": spec.key, "source_path": spec.relpath, "rows": n})
        report.rows += n
    if ds_rows:
        _insert(con, "dataset", pd.DataFrame(ds_rows))
    for table, dfs in per_table.items():
        if per_rows[table]:
            dfs.append(base.frame(per_rows[table], table))
        for df in dfs:
            _insert(con, table, df)
        if progress:
            progress("write", 1, 1)
    if parsed:
        # commodity and stage of every new trade row from the HS map (exact code first, then HS-4)
        con.execute(
            """UPDATE trade SET commodity_id = m.commodity_id, stage_group = m.stage_group
               FROM hs_map m WHERE trade.dataset_id >= ? AND trade.source <> 'BACI'
               AND trade.commodity_id IS NULL AND trade.hs_code = m.hs_code""",
            [first],
        )
    w.timing["write"] = time.perf_counter() - t1


def _insert(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> None:
    cols = TABLES[table].column_names
    df = df[cols]
    con.register("_import_df", df)
    try:
        col_list = ", ".join(f'"{c}"' for c in cols)
        con.execute(f"INSERT INTO {table} ({col_list}) SELECT {col_list} FROM _import_df")
    finally:
        con.unregister("_import_df")


def _insert_sql(con: duckdb.DuckDBPyConnection, table: str, dataset_id: int, sr: base.SqlRows, relpath: str) -> None:
    """Insert the rows of ``sr``; an ImportFault (naming the row) when the SELECT does not give
    exactly one row per source row."""
    cols = TABLES[table].column_names
    for name, df in sr.frames.items():
        con.register(name, df)
    try:
        col_list = ", ".join(f'"{c}"' for c in cols)
        files = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in sr.csv_paths) + "]"
        n = con.execute(f"INSERT INTO {table} ({col_list}) "
                        + sr.select_sql.format(dataset_id=int(dataset_id), files=files)).fetchall()[0][0]
        if n != sr.n_rows:
            lost = con.execute(sr.lost_sql.format(files=files)).fetchall() if sr.lost_sql else []
            if lost:
                line, column, found = lost[0]
                raise ImportFault(relpath, int(line), column, found, sr.lost_expected)
            raise ImportFault(relpath, None, None, f"{n} rows from {sr.n_rows} source rows", "one row per source row")
    finally:
        for name in sr.frames:
            con.unregister(name)
