"""Warehouse reads for the risk assessment (I/O only; no indicator arithmetic here).

Every read is one bulk SQL query over all commodities so the full assessment stays fast.
Where several MCS releases report the same year, the newest release is used (the same rule
as :meth:`critmin.data.warehouse.Warehouse.production`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from critmin.data.warehouse import NEWEST_RELEASE_FIRST, NOT_MISFILED

log = logging.getLogger(__name__)

__all__ = ["RiskInputs", "load_inputs"]


@dataclass
class RiskInputs:
    """Everything the assessment reads, as DataFrames (see each loader for columns)."""

    production: pd.DataFrame
    reserves: pd.DataFrame
    governance: pd.DataFrame
    nir_salient: pd.DataFrame
    nir_trend: pd.DataFrame
    trade: pd.DataFrame
    recycling: pd.DataFrame
    prices: pd.DataFrame
    commodities: pd.DataFrame
    datasets: pd.DataFrame
    fingerprint: tuple[Any, ...]


def _q(wh: Any, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    """Run a query; an absent table (not imported yet) gives an empty frame and a log line."""
    try:
        return wh.query(sql, params)
    except duckdb.CatalogException as e:
        log.warning("risk: table missing in warehouse (%s); treated as no data", e)
        return pd.DataFrame()


def fingerprint(wh: Any) -> tuple[Any, ...]:
    """Identity of the warehouse contents: path + dataset ids (changes on every import)."""
    df = _q(wh, "SELECT count(*) AS n, max(dataset_id) AS m, max(imported_at) AS t FROM dataset")
    row = tuple(df.iloc[0]) if len(df) else ()
    return (str(getattr(wh, "path", "")),) + row


def load_production(wh: Any) -> pd.DataFrame:
    """USGS production rows (measure 'production'), newest release per commodity and year.

    Columns: commodity_id, country_iso3, aggregate, stage, stage_group, product, year,
    quantity, unit, flag, value_raw, vintage, dataset_id, source_line.
    """
    return _q(
        wh,
        """
        WITH rows AS (
          SELECT p.*, d.vintage,
                 dense_rank() OVER (PARTITION BY p.commodity_id, p.year
                                    """ + NEWEST_RELEASE_FIRST + """) AS _rk
          FROM production p JOIN current_dataset d USING (dataset_id)
          WHERE p.source = 'USGS' AND p.measure = 'production' AND """ + NOT_MISFILED + """
        )
        SELECT commodity_id, country_iso3, aggregate, stage, stage_group, product, year,
               quantity, unit, flag, value_raw, vintage, dataset_id, source_line
        FROM rows WHERE _rk = 1
        """,
    )


def load_reserves(wh: Any) -> pd.DataFrame:
    """USGS reserves, newest release per commodity and year: commodity_id, country_iso3,
    aggregate, type_raw, year, quantity, unit, flag, dataset_id."""
    return _q(
        wh,
        """
        WITH rows AS (
          SELECT r.*, d.vintage, dense_rank() OVER (PARTITION BY r.commodity_id, r.year
                 """ + NEWEST_RELEASE_FIRST + """) AS _rk
          FROM reserves r JOIN current_dataset d USING (dataset_id) WHERE """ + NOT_MISFILED + """)
        SELECT commodity_id, country_iso3, aggregate, type_raw, year, quantity, unit, flag,
               vintage, dataset_id
        FROM rows WHERE _rk = 1
        """,
    )


def load_governance(wh: Any) -> pd.DataFrame:
    """WGI estimates (World Bank file, source 'WGI'): country_iso3, year, dimension, value,
    dataset_id."""
    return _q(
        wh,
        """
        SELECT g.country_iso3, g.year, g.dimension, g.value, g.dataset_id
        FROM governance g JOIN current_dataset d USING (dataset_id)
        WHERE g.source = 'WGI' AND g.measure = 'EST' AND g.country_iso3 IS NOT NULL
        """,
    )


def load_nir_salient(wh: Any) -> pd.DataFrame:
    """US net import reliance cells of the MCS salient tables (category 'nir'), newest
    release per commodity and year."""
    return _q(
        wh,
        """
        WITH rows AS (
          SELECT s.*, d.vintage, dense_rank() OVER (PARTITION BY s.commodity_id, s.year
                 ORDER BY d.vintage DESC, d.dataset_id DESC) AS _rk
          FROM us_salient s JOIN current_dataset d USING (dataset_id)
          WHERE s.category = 'nir' OR s.variable ILIKE '%NIR%')
        SELECT commodity_id, year, trim(variable) AS variable, quantity, unit, flag, bound_lo,
               bound_hi, value_raw, vintage, dataset_id, source_line
        FROM rows WHERE _rk = 1
        """,
    )


def load_nir_trend(wh: Any) -> pd.DataFrame:
    """NIR from the MCS T5 and Fig2 tables: table_id, vintage, commodity_id, year, field,
    quantity, flag, bound_lo, bound_hi, value_raw, dataset_id, source_line."""
    return _q(
        wh,
        """
        SELECT m.table_id, m.vintage, m.commodity_id, m.year, m.field, m.quantity, m.flag,
               m.bound_lo, m.bound_hi, m.value_raw, m.dataset_id, m.source_line
        FROM mcs_trend m JOIN current_dataset d USING (dataset_id)
        WHERE m.commodity_id IS NOT NULL
          AND (m.field ILIKE 'Net_Import_Reliance%')
        """,
    )


#: trade before this year is not read (the assessment uses the newest years)
TRADE_FIRST_YEAR = 2015


def load_trade(wh: Any, consumers: tuple[str, ...]) -> pd.DataFrame:
    """Annual trade flows of the consumers since :data:`TRADE_FIRST_YEAR`, summed per source,
    year, commodity, stage group, consumer, partner and flow (seen from the consumer):
    value_usd, qty_t (flows with a quantity), value_noqty (value of flows without one),
    dataset_id, hs_codes (';'-joined). Partners 'WLD' (world aggregates) are kept; callers drop them for shares."""
    if not consumers:
        return pd.DataFrame()
    marks = ", ".join("?" for _ in consumers)
    return _q(
        wh,
        f"""
        WITH f AS (
          SELECT t.source, t.year, t.commodity_id, t.stage_group, t.dataset_id, t.hs_code,
                 t.importer_iso3 AS consumer, t.exporter_iso3 AS partner, 'import' AS flow,
                 t.value_usd, t.qty_t
          FROM trade t JOIN current_dataset d USING (dataset_id)
          WHERE t.importer_iso3 IN ({marks}) AND t.commodity_id IS NOT NULL AND t.month IS NULL
            AND t.year >= {TRADE_FIRST_YEAR}
          UNION ALL
          SELECT t.source, t.year, t.commodity_id, t.stage_group, t.dataset_id, t.hs_code,
                 t.exporter_iso3 AS consumer, t.importer_iso3 AS partner, 'export' AS flow,
                 t.value_usd, t.qty_t
          FROM trade t JOIN current_dataset d USING (dataset_id)
          WHERE t.exporter_iso3 IN ({marks}) AND t.commodity_id IS NOT NULL AND t.month IS NULL
            AND t.year >= {TRADE_FIRST_YEAR}
        )
        SELECT source, year, commodity_id, stage_group, consumer, partner, flow, dataset_id,
               coalesce(sum(value_usd), 0) AS value_usd,
               coalesce(sum(qty_t), 0) AS qty_t,
               coalesce(sum(value_usd) FILTER (WHERE qty_t IS NULL), 0) AS value_noqty,
               string_agg(DISTINCT hs_code, ';' ORDER BY hs_code) AS hs_codes
        FROM f GROUP BY ALL
        """,
        list(consumers) + list(consumers),
    )


def load_recycling(wh: Any) -> pd.DataFrame:
    """EoL-RIR per commodity (SCRREEN 2023 via the WMD table): commodity_id, eol_rir,
    material_raw, dataset_id."""
    return _q(
        wh,
        """
        SELECT r.commodity_id, r.eol_rir, r.material_raw, r.stage_group, r.dataset_id
        FROM recycling r JOIN current_dataset d USING (dataset_id)
        """,
    )


def load_prices(wh: Any) -> pd.DataFrame:
    """Annual USGS salient prices (frequency 'A'): series, commodity_id, date, quantity,
    unit, dataset_id."""
    return _q(
        wh,
        """
        SELECT p.series, p.commodity_id, year(p.date) AS year, p.quantity, p.unit, p.dataset_id
        FROM price p JOIN current_dataset d USING (dataset_id)
        WHERE p.frequency = 'A' AND p.commodity_id IS NOT NULL AND p.quantity IS NOT NULL
        """,
    )


def load_inputs(wh: Any, consumers: tuple[str, ...]) -> RiskInputs:
    """All inputs of the assessment in a handful of bulk queries."""
    return RiskInputs(
        production=load_production(wh),
        reserves=load_reserves(wh),
        governance=load_governance(wh),
        nir_salient=load_nir_salient(wh),
        nir_trend=load_nir_trend(wh),
        trade=load_trade(wh, consumers),
        recycling=load_recycling(wh),
        prices=load_prices(wh),
        commodities=_q(wh, "SELECT commodity_id, name, critical_2022, trade_unit FROM commodity"),
        datasets=_q(wh, "SELECT dataset_id, key, vintage, publisher FROM dataset"),
        fingerprint=fingerprint(wh),
    )
