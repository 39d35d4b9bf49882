"""Trade unit values (value / weight) and monthly trade series.

Input frames have the columns of :meth:`critmin.data.warehouse.Warehouse.trade`
(``source, year, month, reporter_iso3, partner_iso3, flow, hs_code, commodity_id,
stage_group, value_usd, qty_t, dataset_id, source_line``). Either ``flow`` spelling is
accepted ('export'/'import' or Comtrade's 'X'/'M'); a frame that already has
``exporter_iso3``/``importer_iso3`` is used as is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from critmin import settings
from critmin.markets import config as _config  # noqa: F401  (registers the settings)

SERIES_KEY = ["source", "exporter_iso3", "importer_iso3", "hs_code", "commodity_id"]

_EXPORT = {"export", "x", "re-export", "rx"}
_IMPORT = {"import", "m", "re-import", "rm"}


def calc_unit_value(value_usd: np.ndarray | float, qty_t: np.ndarray | float, min_qty_t: float):
    """Unit value in USD/kg: ``uv = value_usd / (1000 * qty_t)``.

    Returns NaN where the weight is missing, non-positive or below ``min_qty_t`` (not
    computable: a unit value needs a weight), never a zero or an infinity.
    """
    v = np.asarray(value_usd, dtype=float)
    q = np.asarray(qty_t, dtype=float)
    ok = np.isfinite(v) & np.isfinite(q) & (q >= min_qty_t) & (q > 0)
    out = np.full(np.broadcast(v, q).shape, np.nan)
    np.divide(v, q * 1000.0, out=out, where=ok)
    return out


def exporter_view(trade: pd.DataFrame) -> pd.DataFrame:
    """Add ``exporter_iso3``/``importer_iso3`` from reporter, partner and flow.

    An export reported by R to P is the flow R->P; an import reported by R from P is P->R.
    Rows with another flow (e.g. re-exports are kept as exports) raise a ValueError naming
    the flow values found.
    """
    df = trade.copy()
    if {"exporter_iso3", "importer_iso3"}.issubset(df.columns):
        return df
    missing = {"reporter_iso3", "partner_iso3", "flow"} - set(df.columns)
    if missing:
        raise ValueError(f"trade frame lacks columns {sorted(missing)}; got {list(df.columns)}")
    flow = df["flow"].astype(str).str.lower()
    unknown = sorted(set(flow) - _EXPORT - _IMPORT)
    if unknown:
        raise ValueError(f"trade frame column 'flow': unknown values {unknown}; expected export/import")
    is_x = flow.isin(_EXPORT)
    df["exporter_iso3"] = np.where(is_x, df["reporter_iso3"], df["partner_iso3"])
    df["importer_iso3"] = np.where(is_x, df["partner_iso3"], df["reporter_iso3"])
    df["flow_view"] = np.where(is_x, "export", "import")
    return df


def unit_values(trade: pd.DataFrame, min_qty_t: float | None = None) -> pd.DataFrame:
    """The trade rows with ``uv_usd_per_kg`` (NaN + ``uv_note`` where not computable) and an
    ISO ``period`` ('2023-08' monthly, '2023' annual)."""
    if min_qty_t is None:
        min_qty_t = float(settings.get("markets.min_qty_t"))
    df = exporter_view(trade)
    df["uv_usd_per_kg"] = calc_unit_value(df["value_usd"], df["qty_t"], min_qty_t)
    note = np.where(
        df["qty_t"].isna(),
        "not computable: no weight",
        np.where(
            df["qty_t"] < min_qty_t,
            f"not computable: weight below {min_qty_t} t",
            np.where(df["value_usd"].isna(), "not computable: no value", ""),
        ),
    )
    df["uv_note"] = pd.Series(note, index=df.index).replace("", None)
    df["period"] = iso_period(df["year"], df["month"])
    return df


def iso_period(year: pd.Series, month: pd.Series) -> pd.Series:
    """'YYYY-MM' for monthly rows, 'YYYY' for annual rows (month NULL)."""
    y = year.astype(int).astype(str)
    m = month.astype("Int64")
    return pd.Series(
        np.where(m.isna(), y, y + "-" + m.astype(str).str.zfill(2)), index=year.index
    )


def monthly_series(trade: pd.DataFrame) -> pd.DataFrame:
    """Monthly rows aggregated per series key and month: ``date`` (first of the month),
    ``value_usd``, ``qty_t`` (sums) and ``rows`` (list of ``(dataset_id, source_line)``).

    Only rows with a month are used; the months inside a series' span that have no row are
    NOT filled (a missing row in an extract is not a zero: the caller decides).
    """
    df = exporter_view(trade)
    df = df[df["month"].notna()].copy()
    if df.empty:
        return pd.DataFrame(columns=[*SERIES_KEY, "date", "value_usd", "qty_t", "rows"])
    df["date"] = pd.to_datetime(
        dict(year=df["year"].astype(int), month=df["month"].astype(int), day=1)
    )
    df["row"] = list(zip(df["dataset_id"].astype(int), df["source_line"].astype(int), strict=True))
    key = [*SERIES_KEY, "date"]
    df[SERIES_KEY] = df[SERIES_KEY].fillna("")
    g = df.groupby(key, sort=True)
    out = g.agg(
        value_usd=("value_usd", lambda s: s.sum(min_count=1)),
        qty_t=("qty_t", lambda s: s.sum(min_count=1)),
        rows=("row", list),
    ).reset_index()
    return out
