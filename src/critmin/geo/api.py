"""Geo queries wired to the warehouse, the registry and the risk assessment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from critmin.geo.gaps import calc_exploration_gaps
from critmin.projects.models import Project


def exploration_gaps(wh: Any, projects: Sequence[Project], year: int = 2024) -> pd.DataFrame:
    """Allied countries with deposits of a commodity but no registered project for it there,
    ranked by the joint watchlist (:func:`critmin.risk.api.assess`)."""
    from critmin.risk.alliances import allied_iso3
    from critmin.risk.api import assess

    deposits = wh.deposits()
    if deposits.empty:
        raise ValueError("the warehouse has no deposits (import the USGS deposit layers first)")
    watchlist = assess(wh, consumers=("USA", "JPN"), year=year)
    return calc_exploration_gaps(
        deposits, [(p.commodity_id, p.host_country_iso3) for p in projects], allied_iso3(), watchlist
    )
