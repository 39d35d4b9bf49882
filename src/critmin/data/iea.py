"""Queries on the IEA Critical Minerals Data Explorer rows (imported by
:mod:`critmin.data.ingest.iea`), with their JSON paths.

``Warehouse.production(..., source='IEA')`` answers the supply rows too (2024 observed with the
default ``measure='production'``, the base-case projections with
``measure='outlook_base_case'``); these functions add ``source_ref`` (the JSON path) and cover
the demand table. The newest IEA edition (vintage) is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

SUPPLY_MEASURES = ("production", "outlook_base_case")


def iea_supply(
    wh: Warehouse,
    commodity: str | None = None,
    *,
    stage: str | None = None,
    year: int | None = None,
    measure: str | None = None,
    include_aggregates: bool = True,
) -> pd.DataFrame:
    """IEA supply by country: ``stage`` 'mine' or 'refinery' (or 'extraction'/'processing');
    ``measure`` 'production' (2024) or 'outlook_base_case' (2030-2040), both when None."""
    where = ["p.source = 'IEA'"]
    params: list[Any] = []
    if commodity is not None:
        where.append("p.commodity_id = ?")
        params.append(wh.resolve_commodity(commodity))
    if stage is not None:
        where.append("(p.stage = ? OR p.stage_group = ?)")
        params += [stage, stage]
    if year is not None:
        where.append("p.year = ?")
        params.append(int(year))
    if measure is not None:
        if measure not in SUPPLY_MEASURES:
            raise ValueError(f"measure {measure!r}: expected one of {SUPPLY_MEASURES}")
        where.append("p.measure = ?")
        params.append(measure)
    if not include_aggregates:
        where.append("p.aggregate IS NULL")
    return wh.query(
        f"""WITH rows AS (
              SELECT p.*, d.vintage, dense_rank() OVER (PARTITION BY p.commodity_id ORDER BY d.vintage DESC) AS _rk
              FROM production p JOIN current_dataset d USING (dataset_id) WHERE {' AND '.join(where)})
            SELECT r.commodity_id, r.country_iso3, coalesce(c.name, r.country_raw) AS country, r.country_raw,
                   r.aggregate, r.stage, r.stage_group, r.product, r.measure, r.year, r.quantity, r.unit,
                   r.value_raw, r.unit_raw, r.note, r.source, r.vintage, r.dataset_id, r.source_line, r.source_ref
            FROM rows r LEFT JOIN country c ON c.country_iso3 = r.country_iso3
            WHERE r._rk = 1
            ORDER BY r.commodity_id, r.stage, r.year, r.aggregate NULLS FIRST, r.quantity DESC""",
        params,
    )


def iea_demand(
    wh: Warehouse,
    commodity: str | None = None,
    *,
    section: str | None = None,
    scenario: str | None = None,
    year: int | None = None,
    measure: str | None = None,
    sector: str | None = None,
) -> pd.DataFrame:
    """Rows of ``demand_outlook`` (all columns plus ``vintage``), newest IEA edition.

    The sections overlap (``totalDemand`` sectors and ``cleantechByTech``, the mineral totals of
    ``cleantechByMineral``): pass ``section`` unless you mean to compare them."""
    where = ["o.source = 'IEA'"]
    params: list[Any] = []
    if commodity is not None:
        where.append("o.commodity_id = ?")
        params.append(wh.resolve_commodity(commodity))
    for col, val in (("section", section), ("scenario", scenario), ("measure", measure), ("sector_or_technology", sector)):
        if val is not None:
            where.append(f"o.{col} = ?")
            params.append(val)
    if year is not None:
        where.append("o.year = ?")
        params.append(int(year))
    return wh.query(
        f"""WITH rows AS (
              SELECT o.*, d.vintage, dense_rank() OVER (ORDER BY d.vintage DESC) AS _rk
              FROM demand_outlook o JOIN current_dataset d USING (dataset_id) WHERE {' AND '.join(where)})
            SELECT * EXCLUDE (_rk) FROM rows WHERE _rk = 1
            ORDER BY section, mineral_raw, sector_or_technology NULLS FIRST, measure, year, scenario""",
        params,
    )
