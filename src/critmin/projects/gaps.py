"""Exploration gaps: commodities with known deposits in allied countries but no registered
project there, ranked by the joint watchlist (``critmin.risk.api.assess``).

:func:`calc_exploration_gaps` is the pure ranking; :func:`exploration_gaps` wires it to the
warehouse's deposits, the registry's projects, the alliance table and the assessment of the
partners (``risk.consumers``). It lives in projects/ because it ranks what the registry lacks;
geo/ only answers deposit queries and depends on nothing above data/.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from critmin.data.partners import partners
from critmin.projects.models import Project

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse


def calc_exploration_gaps(
    deposits: pd.DataFrame,
    projects: Iterable[tuple[str, str]],
    allied: frozenset[str],
    watchlist: pd.DataFrame,
) -> pd.DataFrame:
    """One row per (commodity, allied country) with deposits of the commodity and no project.

    ``deposits`` needs ``layer, country_iso3, commodity_ids``; ``projects`` is
    ``(commodity_id, host_iso3)`` of registered projects; ``watchlist`` is the assessment
    (one row per commodity with ``commodity`` or ``commodity_id``; its ``rank`` column, else
    row order, is the watchlist rank; ``joint_score`` copied when present).
    Sorted by watchlist rank (commodities not on the watchlist last, rank null), then by the
    number of deposits. Columns: ``commodity_id, watchlist_rank, joint_score, country_iso3,
    n_deposits, layers, projects_elsewhere``.
    """
    d = deposits[deposits["country_iso3"].isin(allied)][["layer", "country_iso3", "commodity_ids"]]
    d = d.explode("commodity_ids").dropna(subset=["commodity_ids"]).rename(columns={"commodity_ids": "commodity_id"})
    have = set(projects)
    per_com: dict[str, int] = {}
    for c, _ in have:
        per_com[c] = per_com.get(c, 0) + 1
    g = (
        d.groupby(["commodity_id", "country_iso3"])
        .agg(n_deposits=("layer", "size"), layers=("layer", lambda s: ",".join(sorted(set(s)))))
        .reset_index()
    )
    g = g[[(c, k) not in have for c, k in zip(g["commodity_id"], g["country_iso3"], strict=True)]]
    wl = watchlist.reset_index(drop=True)
    col = "commodity_id" if "commodity_id" in wl else "commodity"
    if col not in wl:
        raise ValueError("watchlist: expected a 'commodity' or 'commodity_id' column")
    if "rank" in wl:  # the assessment's own rank (NA: score not computable)
        rank = {c: int(r) for c, r in zip(wl[col], wl["rank"], strict=True) if pd.notna(r)}
    else:
        rank = {c: i + 1 for i, c in enumerate(wl[col])}
    score = dict(zip(wl[col], wl["joint_score"], strict=True)) if "joint_score" in wl else {}
    g = g.assign(
        watchlist_rank=g["commodity_id"].map(rank).astype("Int64"),
        joint_score=g["commodity_id"].map(score).astype(float) if score else np.nan,
        projects_elsewhere=g["commodity_id"].map(lambda c: per_com.get(c, 0)).astype(int),
    )
    g = g.sort_values(
        ["watchlist_rank", "n_deposits", "commodity_id", "country_iso3"],
        ascending=[True, False, True, True],
        na_position="last",
        kind="stable",
    )
    return g[["commodity_id", "watchlist_rank", "joint_score", "country_iso3", "n_deposits", "layers", "projects_elsewhere"]].reset_index(drop=True)


def exploration_gaps(wh: Warehouse, projects: Sequence[Project], year: int = 2024) -> pd.DataFrame:
    """Allied countries with deposits of a commodity but no registered project for it there,
    ranked by the joint watchlist of the partners (:func:`critmin.risk.api.assess`)."""
    from critmin.risk.alliances import allied_iso3
    from critmin.risk.api import assess

    deposits = wh.deposits()
    if deposits.empty:
        raise ValueError("the warehouse has no deposits (import the USGS deposit layers first)")
    watchlist = assess(wh, consumers=partners(), year=year)
    return calc_exploration_gaps(
        deposits, [(p.commodity_id, p.host_country_iso3) for p in projects], allied_iso3(), watchlist
    )
