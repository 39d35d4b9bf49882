"""Moving operational rows out of a warehouse from before the operational store.

Warehouses written by critmin before :mod:`critmin.ops` held users, tokens, jobs, the project
registry and simulation runs in the DuckDB file itself. :func:`import_legacy` copies them into
the operational store, table by table, into tables that are still empty (so it is safe to run
twice). Not copied, on purpose:

* ``web_session``: sessions end; users log in again.
* ``web_audit``: the old chain is an unkeyed SHA-256 chain and would not verify under the
  keyed chain (docs/security.md); export it first with the old version
  (``critmin audit export``) and keep the file with the new log.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from critmin.ops.store import Store

#: copied in this order (a project's versions before its metadata is irrelevant; no foreign keys)
TABLES = ("web_user", "web_token", "web_job", "project_version", "project_meta", "project_selection",
          "sim_run", "sim_result", "sim_sample")


def import_legacy(warehouse: Path, store: Store) -> dict[str, str]:
    """Copy the legacy operational tables of ``warehouse`` into ``store``; per table what
    happened (``n rows``, ``skipped: ...``)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    out: dict[str, str] = {}
    try:
        have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        for table in TABLES:
            if table not in have:
                out[table] = "skipped: not in the warehouse"
                continue
            row = store.execute(f"SELECT count(*) FROM {table}").fetchone()
            if row and int(row[0]) > 0:
                out[table] = f"skipped: {int(row[0])} rows already in the operational store"
                continue
            target = [r[0] for r in store.execute(f"SELECT * FROM {table} WHERE 1 = 0").description or []]
            source = [d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description]
            cols = [c for c in source if c in target]
            rows = con.execute(f"SELECT {', '.join(repr_col(c) for c in cols)} FROM {table}").fetchall()
            if rows:
                marks = ", ".join("?" for _ in cols)
                store.executemany(f"INSERT INTO {table} ({', '.join(repr_col(c) for c in cols)}) VALUES ({marks})",
                                  [tuple(_plain(v) for v in r) for r in rows])
            out[table] = f"{len(rows)} rows"
    finally:
        con.close()
    return out


def repr_col(c: str) -> str:
    return f'"{c}"'


def _plain(v: object) -> object:
    """DuckDB's JSON and UBIGINT values as the drivers want them (text, int)."""
    if isinstance(v, (dict, list)):
        import json

        return json.dumps(v)
    return v
