"""Simulation runs stored in the warehouse DB (tables owned by the disruption package).

* ``sim_run``: one row per run: id, kind ('scenario' | 'monte_carlo'), created_at (UTC), seed,
  runs, horizon, the spec (scenario or Monte Carlo settings, JSON) and market metadata (JSON);
* ``sim_result``: the summary rows (one per commodity x consumer; JSON fields as text);
* ``sim_sample``: the full per-run arrays as a compressed ``.npz`` blob (what :func:`load_run`
  hands to the stockpile optimiser).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from typing import Any

import duckdb
import numpy as np

DDL = [
    """CREATE TABLE IF NOT EXISTS sim_run (
        run_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, name VARCHAR, created_at TIMESTAMP NOT NULL,
        seed UBIGINT, runs INTEGER NOT NULL, horizon_months INTEGER NOT NULL,
        spec VARCHAR NOT NULL, market_meta VARCHAR NOT NULL, critmin_version VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS sim_result (
        run_id VARCHAR NOT NULL, commodity_id VARCHAR NOT NULL, consumer_iso3 VARCHAR NOT NULL,
        mean_shortfall_t DOUBLE, mean_shortfall_pct DOUBLE, var95_pct DOUBLE, cvar95_pct DOUBLE,
        p_shortfall_gt_10pct DOUBLE, mean_price_change_pct DOUBLE, shortfall_usd DOUBLE,
        proxy_trade_shares BOOLEAN, detail VARCHAR,
        PRIMARY KEY (run_id, commodity_id, consumer_iso3))""",
    """CREATE TABLE IF NOT EXISTS sim_sample (run_id VARCHAR PRIMARY KEY, npz BLOB NOT NULL)""",
]

_RESULT_COLS = ("mean_shortfall_t", "mean_shortfall_pct", "var95_pct", "cvar95_pct",
                "p_shortfall_gt_10pct", "mean_price_change_pct", "shortfall_usd", "proxy_trade_shares")


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the simulation tables if they do not exist (idempotent)."""
    for stmt in DDL:
        con.execute(stmt)


def save_run(
    con: duckdb.DuckDBPyConnection,
    *,
    kind: str,
    name: str,
    seed: int | None,
    runs: int,
    horizon: int,
    spec: dict,
    market_meta: dict,
    results: list[dict],
    arrays: dict[str, np.ndarray] | None = None,
) -> str:
    """Store a run; returns its id."""
    from critmin import __version__

    ensure_tables(con)
    run_id = uuid.uuid4().hex[:16]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO sim_run VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, kind, name, now, seed, runs, horizon, json.dumps(spec, sort_keys=True),
             json.dumps(market_meta, sort_keys=True, default=str), __version__],
        )
        for r in results:
            detail = {k: v for k, v in r.items() if k not in _RESULT_COLS + ("commodity", "consumer")}
            con.execute(
                "INSERT INTO sim_result VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, r["commodity"], r["consumer"]] + [r.get(c) for c in _RESULT_COLS]
                + [json.dumps(detail, sort_keys=True, default=str)],
            )
        if arrays is not None:
            buf = io.BytesIO()
            # numpy's stub types **kwds together with its allow_pickle: bool keyword; our keys are array names
            np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
            con.execute("INSERT INTO sim_sample VALUES (?, ?)", [run_id, buf.getvalue()])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return run_id


def read_run(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[dict[str, Any], dict[str, np.ndarray] | None]:
    """The ``sim_run`` row (spec and market_meta decoded) and the stored arrays (or None)."""
    try:
        cur = con.execute("SELECT * FROM sim_run WHERE run_id = ?", [run_id])
    except duckdb.CatalogException as e:  # table missing: no run was ever stored in this DB
        raise KeyError(f"no simulation run {run_id!r} in this warehouse ({e.__class__.__name__})") from None
    row = cur.fetchone()
    if row is None:
        raise KeyError(f"no simulation run {run_id!r} in this warehouse")
    info = dict(zip([d[0] for d in cur.description], row, strict=True))
    info["spec"] = json.loads(info["spec"])
    info["market_meta"] = json.loads(info["market_meta"])
    blob = con.execute("SELECT npz FROM sim_sample WHERE run_id = ?", [run_id]).fetchone()
    if blob is None:
        return info, None
    with np.load(io.BytesIO(blob[0]), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return info, arrays


def list_runs(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Stored runs, oldest first (id, kind, name, created_at, seed, runs, horizon_months)."""
    ensure_tables(con)
    cur = con.execute("SELECT run_id, kind, name, created_at, seed, runs, horizon_months FROM sim_run ORDER BY created_at")
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
