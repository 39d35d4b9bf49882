"""Simulation runs stored in the operational store (tables owned by the disruption package).

* ``sim_run``: one row per run: id, kind ('scenario' | 'monte_carlo'), created_at (UTC), seed,
  runs, horizon, the spec (scenario or Monte Carlo settings, JSON) and market metadata (JSON;
  with the vintage pin and ``Warehouse.fingerprint()`` of the data the market was read from,
  :mod:`critmin.disruption.provenance`: JSON keys, so no migration; older rows read as unknown);
* ``sim_result``: the summary rows (one per commodity x consumer; JSON fields as text);
* ``sim_sample``: the full per-run arrays as a compressed ``.npz`` blob (what :func:`load_run`
  hands to the stockpile optimiser).

The tables live in :mod:`critmin.ops` (SQLite beside the warehouse, or PostgreSQL), created by
its migrations, so that runs can be stored while the warehouse is open read-only by a server.
Functions take ``con``: an :class:`~critmin.ops.Store`, or a :class:`Warehouse` (meaning the
operational store that belongs to it, :func:`run_store`).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import sqlalchemy as sa

from critmin.disruption.provenance import recorded_provenance
from critmin.ops import Store, metadata, open_store

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

RunStore = Union[Store, "Warehouse"]

sim_run = sa.Table(
    "sim_run", metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("name", sa.Text()),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("seed", sa.BigInteger()),
    sa.Column("runs", sa.Integer(), nullable=False),
    sa.Column("horizon_months", sa.Integer(), nullable=False),
    sa.Column("spec", sa.Text(), nullable=False),
    sa.Column("market_meta", sa.Text(), nullable=False),
    sa.Column("critmin_version", sa.String(40)),
)
sim_result = sa.Table(
    "sim_result", metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("commodity_id", sa.String(64), primary_key=True),
    sa.Column("consumer_iso3", sa.String(8), primary_key=True),
    *[sa.Column(c, sa.Float()) for c in (
        "mean_shortfall_t", "mean_shortfall_pct", "var95_pct", "cvar95_pct",
        "p_shortfall_gt_10pct", "mean_price_change_pct", "shortfall_usd")],
    sa.Column("proxy_trade_shares", sa.Boolean()),
    sa.Column("detail", sa.Text()),
)
sim_sample = sa.Table(
    "sim_sample", metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("npz", sa.LargeBinary(), nullable=False),
)

_RESULT_COLS = ("mean_shortfall_t", "mean_shortfall_pct", "var95_pct", "cvar95_pct",
                "p_shortfall_gt_10pct", "mean_price_change_pct", "shortfall_usd", "proxy_trade_shares")


def run_store(con: RunStore) -> Store:
    """The store itself, or the operational store of a warehouse (beside its file, or
    ``CRITMIN_DATABASE_URL``)."""
    if isinstance(con, Store):
        return con
    return open_store(warehouse=con.path)


def save_run(
    con: RunStore,
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

    store = run_store(con)
    run_id = uuid.uuid4().hex[:16]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO sim_run VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, kind, name, now, seed, runs, horizon, json.dumps(spec, sort_keys=True),
             json.dumps(market_meta, sort_keys=True, default=str), __version__],
        )
        for r in results:
            detail = {k: v for k, v in r.items() if k not in _RESULT_COLS + ("commodity", "consumer")}
            tx.execute(
                "INSERT INTO sim_result VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, r["commodity"], r["consumer"]] + [_num(r.get(c)) for c in _RESULT_COLS]
                + [json.dumps(detail, sort_keys=True, default=str)],
            )
        if arrays is not None:
            buf = io.BytesIO()
            # numpy's stub types **kwds together with its allow_pickle: bool keyword; our keys are array names
            np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
            tx.execute("INSERT INTO sim_sample VALUES (?, ?)", [run_id, buf.getvalue()])
    return run_id


def _num(v: Any) -> Any:
    """numpy scalars as Python numbers (the drivers of SQLite and PostgreSQL want those)."""
    return v.item() if isinstance(v, np.generic) else v


def read_run(con: RunStore, run_id: str) -> tuple[dict[str, Any], dict[str, np.ndarray] | None]:
    """The ``sim_run`` row (spec and market_meta decoded, with the ``vintage`` and
    ``data_fingerprint`` the run records, :data:`~critmin.disruption.provenance.UNKNOWN` for a
    run stored before they were recorded) and the stored arrays (or None)."""
    store = run_store(con)
    cur = store.execute("SELECT * FROM sim_run WHERE run_id = ?", [run_id])
    row = cur.fetchone()
    if row is None:
        raise KeyError(f"no simulation run {run_id!r} in the operational store")
    info = dict(zip([d[0] for d in cur.description], row, strict=True))
    info["spec"] = json.loads(info["spec"])
    info["market_meta"] = json.loads(info["market_meta"])
    info.update(recorded_provenance(info["market_meta"]))
    blob = store.execute("SELECT npz FROM sim_sample WHERE run_id = ?", [run_id]).fetchone()
    if blob is None:
        return info, None
    with np.load(io.BytesIO(bytes(blob[0])), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return info, arrays


def list_runs(con: RunStore) -> list[dict[str, Any]]:
    """Stored runs, oldest first (id, kind, name, created_at, seed, runs, horizon_months, and
    the ``vintage`` and ``data_fingerprint`` they were computed on:
    :func:`critmin.disruption.provenance.recorded_provenance`)."""
    cur = run_store(con).execute("SELECT run_id, kind, name, created_at, seed, runs, horizon_months, market_meta "
                                 "FROM sim_run ORDER BY created_at")
    cols = [d[0] for d in cur.description]
    out = []
    for r in cur.fetchall():
        row = dict(zip(cols, r, strict=True))
        out.append({**row, **recorded_provenance(json.loads(row.pop("market_meta")))})
    return out
