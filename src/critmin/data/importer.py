"""Import every source under the data directory into the warehouse, all or nothing.

1. Discover datasets (one per file, sheet or SQLite table) from the source modules.
2. Skip those already imported with the same path and sha256 (idempotent); a changed file
   is a new vintage and is added beside the old one.
3. Parse everything first. Any fault aborts before the database is touched. What a parser
   leaves out on purpose (a note text standing where a country should be) it returns under
   :data:`~critmin.data.ingest.base.NOT_IMPORTED` with the reason; it is logged and listed in
   :attr:`ImportReport.not_imported`, never dropped silently.
4. Write reference tables, ``dataset`` rows and all fact rows in ONE DuckDB transaction. A
   failure (or a SIGKILL) before COMMIT leaves the database exactly as it was.
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
              timing: dict[str, float] | None = None) -> list[tuple[base.DatasetSpec, dict[str, pd.DataFrame]]]:
    """Parse every spec (in ``data.import_processes`` processes), in the order given; any
    fault aborts. ``timing`` collects parse seconds per source family."""
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

    pool = None
    futures = []
    if remote:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=n_proc)
        # biggest first (by file size) so that the two processes finish together
        order = sorted(remote, key=lambda i: -(specs[i].path.stat().st_size if specs[i].path.exists() else 0))
        futures = [(i, pool.submit(_parse_timed, specs[i])) for i in order]
    try:
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


def import_all(
    con: duckdb.DuckDBPyConnection,
    data_dir: Path,
    *,
    progress: Progress | None = None,
    only: Callable[[base.DatasetSpec], bool] | None = None,
) -> ImportReport:
    """Import everything under ``data_dir`` not yet in the warehouse. All or nothing."""
    t0 = time.perf_counter()
    report = ImportReport()
    specs, report.missing_sources = source_registry.discover(data_dir)
    if only is not None:
        specs = [s for s in specs if only(s)]
    existing = _existing(con)
    shas = {s.relpath: base.sha256_file(s.path) for s in specs}
    todo = [s for s in specs if (s.relpath, shas[s.relpath]) not in existing]
    report.skipped = len(specs) - len(todo)
    report.timing["discover"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    parsed = parse_all(todo, progress, report.parse_by_source)
    report.timing["parse"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute("BEGIN TRANSACTION")
    try:
        ensure_schema(con)
        reference.refresh(con)
        next_id = con.execute("SELECT coalesce(max(dataset_id), 0) + 1 FROM dataset").fetchall()[0][0]
        ds_rows = []
        per_table: dict[str, list[pd.DataFrame]] = {t.name: [] for t in fact_tables()}
        per_rows: dict[str, list[dict]] = {t.name: [] for t in fact_tables()}
        sql_rows: list[tuple[str, int, base.SqlRows]] = []
        for spec, frames in parsed:
            did = next_id
            next_id += 1
            n = 0
            for table, rows in frames.items():
                if table == base.NOT_IMPORTED:
                    for item in rows:
                        rec = {"source_path": spec.relpath, **item}
                        report.not_imported.append(rec)
                        log.info("%s: not imported: %s (line %s): %s", spec.relpath, rec.get("ref"), rec.get("line"), rec.get("reason"))
                    continue
                if not isinstance(rows, base.SqlRows):
                    rows = _with_optional(table, rows)
                if isinstance(rows, base.SqlRows):
                    sql_rows.append((table, did, rows))
                elif isinstance(rows, pd.DataFrame):
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
        for table, did, sr in sql_rows:
            _insert_sql(con, table, did, sr)
        for table, dfs in per_table.items():
            if per_rows[table]:
                dfs.append(base.frame(per_rows[table], table))
            for df in dfs:
                _insert(con, table, df)
            if progress:
                progress("write", 1, 1)
        if parsed:
            first_new = next_id - len(parsed)
            # commodity and stage of every new trade row from the HS map (exact code first, then HS-4)
            con.execute(
                """UPDATE trade SET commodity_id = m.commodity_id, stage_group = m.stage_group
                   FROM hs_map m WHERE trade.dataset_id >= ? AND trade.source <> 'BACI'
                   AND trade.commodity_id IS NULL AND trade.hs_code = m.hs_code""",
                [first_new],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for _, frames in parsed:
            for rows in frames.values():
                if isinstance(rows, base.SqlRows) and rows.tmpdir:
                    shutil.rmtree(rows.tmpdir, ignore_errors=True)
    report.timing["write"] = time.perf_counter() - t1
    report.seconds = time.perf_counter() - t0
    log.info("imported %d datasets (%d rows), skipped %d, in %.1fs", len(report.added), report.rows, report.skipped, report.seconds)
    return report


def _insert(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> None:
    cols = TABLES[table].column_names
    df = df[cols]
    con.register("_import_df", df)
    try:
        col_list = ", ".join(f'"{c}"' for c in cols)
        con.execute(f"INSERT INTO {table} ({col_list}) SELECT {col_list} FROM _import_df")
    finally:
        con.unregister("_import_df")


def _insert_sql(con: duckdb.DuckDBPyConnection, table: str, dataset_id: int, sr: base.SqlRows) -> None:
    cols = TABLES[table].column_names
    for name, df in sr.frames.items():
        con.register(name, df)
    try:
        col_list = ", ".join(f'"{c}"' for c in cols)
        files = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in sr.csv_paths) + "]"
        con.execute(f"INSERT INTO {table} ({col_list}) " + sr.select_sql.format(dataset_id=int(dataset_id), files=files))
    finally:
        for name in sr.frames:
            con.unregister(name)
