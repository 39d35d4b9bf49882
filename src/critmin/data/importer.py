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

import duckdb
import pandas as pd

from critmin.data import reference
from critmin.data.errors import ImportFault
from critmin.data.ingest import base
from critmin.data.ingest import registry as source_registry
from critmin.data.schema import TABLES, fact_tables

log = logging.getLogger(__name__)

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


def parse_all(specs: list[base.DatasetSpec], progress: Progress | None = None) -> list[tuple[base.DatasetSpec, dict[str, pd.DataFrame]]]:
    out = []
    for i, spec in enumerate(specs):
        frames = _parse_one(spec)
        for table, df in frames.items():
            if table != base.NOT_IMPORTED:
                _check_columns(spec, table, df)
        out.append((spec, frames))
        if progress:
            progress("parse", i + 1, len(specs))
    return out


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
    parsed = parse_all(todo, progress)
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
