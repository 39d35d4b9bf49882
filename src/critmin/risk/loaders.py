"""Inputs of the risk assessment, gathered from the warehouse's batched reads (no SQL here).

Each frame comes from one :class:`critmin.data.warehouse.Warehouse` method (one query per table,
all commodities; the newest-release rule and the exclusion of misfiled files are data/'s, see
:mod:`critmin.data.reads`). Production holds every source of the setting ``data.supply_sources``
(USGS MCS, then World Mining Data): :func:`critmin.data.supply.select_stages` decides which one
answers at each commodity, stage and year.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from critmin import settings
from critmin.data import supply  # noqa: F401  (registers data.supply_sources)

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

__all__ = ["RiskInputs", "load_inputs"]


@dataclass
class RiskInputs:
    """Everything the assessment reads, as DataFrames (columns: see the warehouse method named)."""

    production: pd.DataFrame  #: Warehouse.production_all, sources of data.supply_sources
    reserves: pd.DataFrame  #: Warehouse.reserves_all
    governance: pd.DataFrame  #: Warehouse.governance_estimates (WGI)
    nir_salient: pd.DataFrame  #: Warehouse.nir_salient
    nir_trend: pd.DataFrame  #: Warehouse.nir_trend
    trade: pd.DataFrame  #: Warehouse.trade_for(consumers)
    recycling: pd.DataFrame  #: Warehouse.recycling_rates
    prices: pd.DataFrame  #: Warehouse.prices_annual
    commodities: pd.DataFrame  #: Warehouse.commodity_table
    datasets: pd.DataFrame  #: Warehouse.dataset_index
    fingerprint: tuple[Any, ...]  #: Warehouse.fingerprint (the data version)
    #: flows per HS code (risk.consumers.trade_by_code of Warehouse.bilateral_flows), read only
    #: while ``trade`` has no contained-metal tonnage (``qty_contained_t``); else None
    trade_by_code: pd.DataFrame | None = None


def load_inputs(wh: Warehouse, consumers: tuple[str, ...]) -> RiskInputs:
    """All inputs of the assessment for ``consumers`` (ISO3), one warehouse read each."""
    from critmin.data.reads import TRADE_FIRST_YEAR
    from critmin.risk.consumers import trade_by_code

    trade = wh.trade_for(consumers)
    by_code = None
    if "qty_contained_t" not in trade.columns:
        by_code = trade_by_code(wh.bilateral_flows(consumers, tuple(settings.get("risk.trade_sources"))),
                                TRADE_FIRST_YEAR)
    return RiskInputs(
        production=wh.production_all(sources=tuple(settings.get("data.supply_sources"))),
        reserves=wh.reserves_all(),
        governance=wh.governance_estimates(),
        nir_salient=wh.nir_salient(),
        nir_trend=wh.nir_trend(),
        trade=trade,
        recycling=wh.recycling_rates(),
        prices=wh.prices_annual(),
        commodities=wh.commodity_table(),
        datasets=wh.dataset_index(),
        fingerprint=wh.fingerprint(),
        trade_by_code=by_code,
    )
