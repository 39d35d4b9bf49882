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


def load_inputs(wh: Warehouse, consumers: tuple[str, ...]) -> RiskInputs:
    """All inputs of the assessment for ``consumers`` (ISO3), one warehouse read each."""
    return RiskInputs(
        production=wh.production_all(sources=tuple(settings.get("data.supply_sources"))),
        reserves=wh.reserves_all(),
        governance=wh.governance_estimates(),
        nir_salient=wh.nir_salient(),
        nir_trend=wh.nir_trend(),
        trade=wh.trade_for(consumers),
        recycling=wh.recycling_rates(),
        prices=wh.prices_annual(),
        commodities=wh.commodity_table(),
        datasets=wh.dataset_index(),
        fingerprint=wh.fingerprint(),
    )
