"""Country shares of production, as USGS publishes them.

``share = quantity / world total`` where the release gives a world-total row for the same
commodity, stage, product and year (``share_basis = 'world_total'``); otherwise
``quantity / Σ countries`` (``share_basis = 'sum_of_countries'``). Rows with no number (W, NA,
…) get no share; they are not counted as zero in the sum either, and ``share_basis`` then
carries ``'+incomplete'`` so the reader knows the denominator misses withheld countries.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GROUP = ["commodity_id", "stage", "product", "year"]


def calc_shares(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``share`` and ``share_basis`` columns to a ``Warehouse.production`` frame."""
    out = df.copy()
    out["share"] = np.nan
    out["share_basis"] = None
    if out.empty:
        return out
    keys = out[GROUP].astype(str).agg("|".join, axis=1)
    for _, idx in out.groupby(keys, sort=False).groups.items():
        g = out.loc[idx]
        world = g[(g["aggregate"] == "world") & g["quantity"].notna()]
        countries = g[g["aggregate"].isna()]
        incomplete = bool(countries["quantity"].isna().any())
        if len(world):
            denom = float(world["quantity"].iloc[0])
            basis = "world_total"
        else:
            denom = float(g.loc[g["aggregate"].isna() | (g["aggregate"] == "other"), "quantity"].sum(min_count=1) or np.nan)
            basis = "sum_of_countries"
        if incomplete:
            basis += "+incomplete"
        if denom and denom > 0:
            out.loc[idx, "share"] = g["quantity"] / denom
        out.loc[idx, "share_basis"] = basis
    return out
