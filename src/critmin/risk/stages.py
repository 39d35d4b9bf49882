"""Concentration per commodity, analysis stage and year, from the warehouse production rows.

Which rows answer "supply of X at stage S in year Y" (stage, source, product, world total) is
decided in one place, :func:`critmin.data.supply.select_stages` (documented there and in
docs/methodology.md): analysis stage ``mine`` or ``processing`` (the first stage of the setting
``risk.processing_stage_preference`` with a country figure), source in the order of
``data.supply_sources`` (USGS MCS, then World Mining Data where the MCS has no country figure),
one product, the published world total or the country sum plus ``Other``. This module turns each
:class:`~critmin.data.supply.StageSupply` into the concentration indicators.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from critmin import settings
from critmin.data.governance import sovereign_of
from critmin.data.normalize.units import MASS_TO_T
from critmin.data.supply import StageSupply, select_stages
from critmin.risk import params  # noqa: F401
from critmin.risk.concentration import (
    Shares,
    calc_concentration,
    calc_reserve_life,
)
from critmin.risk.governance import Governance, wgi_table

log = logging.getLogger(__name__)

STAGE_COLUMNS = [
    "commodity_id", "stage", "year", "source_stage", "product", "unit", "vintage",
    "hhi", "top_country_iso3", "top_share", "top3_share", "china_share", "allied_share",
    "hhi_wgi", "reserve_life_years", "residual_share", "share_basis", "world_total",
    "wgi_year", "n_countries", "missing", "dataset_ids", "source", "choices", "flags",
]


@dataclass
class WGIYear:
    """The WGI table used for an assessment year (``year_used`` may lag it)."""

    year_used: int
    table: pd.DataFrame  # index country_iso3; wgi_scaled, wgi_unit
    #: territory -> sovereign for the countries whose estimates are their sovereign's
    borrowed: dict[str, str] = field(default_factory=dict)
    #: how the year's estimates were made where not as published (e.g. carried forward)
    notes: tuple[str, ...] = ()

    @cached_property
    def scaled(self) -> dict[str, float]:
        """ISO3 -> WGI rescaled 0-10 (read-only; computed once)."""
        return self.table["wgi_scaled"].to_dict()

    @cached_property
    def unit(self) -> dict[str, float]:
        """ISO3 -> WGI rescaled 0-1 (read-only; computed once)."""
        return self.table["wgi_unit"].to_dict()

    @cached_property
    def governance(self) -> Governance:
        """The scores with the fallbacks for producers without one (territory -> sovereign,
        a minor producer -> the median; setting ``risk.governance_fallback_max_share``)."""
        return Governance(self.scaled, sovereign_map(),
                          float(settings.get("risk.governance_fallback_max_share")), self.year_used, self.borrowed)


def sovereign_map() -> dict[str, str]:
    """Territory ISO3 -> sovereign ISO3 (the one table, ``data/catalog/territories.csv``)."""
    return sovereign_of()


@dataclass
class StageData:
    """Concentration rows plus the share vectors the composite indices need."""

    frame: pd.DataFrame
    shares: dict[tuple[str, str, int], Shares] = field(default_factory=dict)
    #: the supply behind each row of ``frame``: (commodity, stage, year) -> StageSupply
    supplies: dict[tuple[str, str, int], StageSupply] = field(default_factory=dict)


def wgi_by_year(governance: pd.DataFrame, years: list[int]) -> dict[int, WGIYear | None]:
    """For each year, the newest WGI year ``<= year`` within ``risk.wgi_max_lag_years``."""
    lag = int(settings.get("risk.wgi_max_lag_years"))
    out: dict[int, WGIYear | None] = {}
    if governance.empty:
        return {y: None for y in years}
    have = sorted(int(y) for y in governance["year"].unique())
    cache: dict[int, WGIYear] = {}
    for y in years:
        cands = [h for h in have if y - lag <= h <= y]
        if not cands:
            out[y] = None
            continue
        h = cands[-1]
        if h not in cache:
            cache[h] = _wgi_year(governance[governance["year"] == h], h)
        out[y] = cache[h]
    return out


def _wgi_year(rows: pd.DataFrame, year: int) -> WGIYear:
    """One year's table, with the warehouse's provenance flags where it gives them
    (``Warehouse.governance_estimates``: flag 'sovereign', 'carried_forward', 'GPR_WGI')."""
    borrowed: dict[str, str] = {}
    notes: list[str] = []
    if "flag" in rows.columns:
        fl = rows["flag"].fillna("").astype(str)
        sov = rows[fl.str.contains("sovereign")]
        borrowed = dict(zip(sov["country_iso3"], sov.get("value_country", sov["country_iso3"]), strict=True))
        if fl.str.contains("carried_forward").any() and "value_year" in rows.columns:
            src = rows.loc[fl.str.contains("carried_forward"), "value_year"]
            notes.append(f"WGI {year}: {', '.join(sorted(set(fl[fl != ''].str.split(';').explode()) - {'sovereign'}))}"
                         f" (estimates of {int(src.min())}-{int(src.max())} carried forward)")
    return WGIYear(year, wgi_table(rows), borrowed, tuple(notes))


def _reserve_totals(reserves: pd.DataFrame) -> dict[tuple[str, int], tuple[float, str, str | None]]:
    """World reserves per (commodity, year): (quantity, what it is, unit); the world row, else
    the sum of countries."""
    out: dict[tuple[str, int], tuple[float, str, str | None]] = {}
    if reserves.empty:
        return out
    for (c, y), g in reserves.groupby(["commodity_id", "year"]):
        units = g["unit"].dropna()
        unit = str(units.iloc[0]) if not units.empty else None
        w = g.loc[(g["aggregate"] == "world") & g["quantity"].notna(), "quantity"]
        if not w.empty:
            out[(str(c), int(y))] = (float(w.max()), "world total", unit)
            continue
        cs = g.loc[g["aggregate"].isna() & g["quantity"].notna(), "quantity"]
        if not cs.empty and cs.sum() > 0:
            out[(str(c), int(y))] = (float(cs.sum()), "sum of listed countries (lower bound)", unit)
    return out


def _unit_factor(reserve_unit: str | None, production_unit: str | None) -> float | None:
    """Factor turning reserves into the production unit (None: not comparable)."""
    if reserve_unit == production_unit:
        return 1.0
    if reserve_unit in MASS_TO_T and production_unit in MASS_TO_T:
        return MASS_TO_T[reserve_unit] / MASS_TO_T[production_unit]
    return None


def _reserve_life(sup: StageSupply, rt: tuple[float, str, str | None] | None) -> tuple[float | None, str | None]:
    """Static reserve life of a mine supply, or why it is missing."""
    y = sup.year
    if rt is None:
        return None, f"mine {y}: reserve_life_years: no reserves for {y}"
    world = sup.world_total
    if world is None:
        return None, f"mine {y}: reserve_life_years: no world production total"
    f = _unit_factor(rt[2], sup.unit)
    if f is None:
        return None, (f"mine {y}: reserve_life_years: reserves in {rt[2]!r}, {sup.source} production in "
                      f"{sup.unit!r}: not comparable")
    reserves = rt[0] * f
    life = calc_reserve_life(reserves, world)
    if life < 1.0:
        # reserves below one year of output are not plausible: the MCS 2025 file gives some
        # reserves in other units only in RESERVE_NOTES
        return None, (f"mine {y}: reserve_life_years: reserves {reserves:g} < one year of production "
                      f"{world:g}; unit of the reserve figure not reliable")
    return life, None


def concentration_frame(
    production: pd.DataFrame,
    reserves: pd.DataFrame,
    governance: pd.DataFrame,
    allied: frozenset[str],
) -> StageData:
    """Concentration indicators for every commodity, analysis stage (setting ``risk.stages``)
    and year, from :func:`critmin.data.supply.select_stages`."""
    supplies = select_stages(production)
    if not supplies:
        return StageData(pd.DataFrame(columns=STAGE_COLUMNS))
    years = sorted({y for (_, _, y) in supplies})
    wgi = wgi_by_year(governance, years)
    res = _reserve_totals(reserves)
    lag = settings.get("risk.wgi_max_lag_years")
    records: list[dict[str, object]] = []
    shares_out: dict[tuple[str, str, int], Shares] = {}
    for key in sorted(supplies):
        cid, stage, year = key
        sup = supplies[key]
        missing = list(sup.missing)
        base: dict[str, object] = {
            "commodity_id": cid, "stage": stage, "year": year,
            "source_stage": sup.source_stage, "product": sup.product, "unit": sup.unit,
            "vintage": sup.vintage, "dataset_ids": sup.dataset_ids, "world_total": sup.world_total,
            "n_countries": sum(1 for v in sup.quantities.values() if v > 0),
            "source": sup.source, "choices": sup.choices,
        }
        sh = sup.shares
        if sh is None:
            records.append({**base, "missing": tuple(missing), "flags": ()})
            continue
        w = wgi.get(year)
        flags: tuple[str, ...] = ()
        if w is None:
            missing.append(f"{stage} {year}: hhi_wgi: no WGI within {lag} years")
            conc = calc_concentration(sh, allied, None)
        else:
            fill = w.governance.resolve(sh.shares)
            flags = fill.flags
            conc = calc_concentration(sh, allied, {**w.scaled, **fill.scaled})
            missing += [f"{stage} {year}: {m}" for m in conc.missing]
            missing += [f"{stage} {year}: hhi_wgi: {f}" for f in flags]
        reserve_life = None
        if stage == "mine":
            reserve_life, why = _reserve_life(sup, res.get((cid, year)))
            if why is not None:
                missing.append(why)
        shares_out[key] = sh
        records.append({
            **base,
            "hhi": conc.hhi, "top_country_iso3": conc.top_country_iso3,
            "top_share": conc.top_share, "top3_share": conc.top3_share,
            "china_share": conc.china_share, "allied_share": conc.allied_share,
            "hhi_wgi": conc.hhi_wgi, "reserve_life_years": reserve_life,
            "residual_share": conc.residual_share, "share_basis": conc.basis,
            "wgi_year": w.year_used if w is not None else None,
            "missing": tuple(missing), "flags": flags,
        })
    frame = pd.DataFrame.from_records(records, columns=STAGE_COLUMNS)
    return StageData(frame, shares_out, supplies)


def selected_rows(stage_data: StageData) -> pd.DataFrame:
    """The production rows behind ``stage_data.frame`` (the stage, source, year and product
    :func:`~critmin.data.supply.select_stages` chose, with the aggregates), with an
    ``analysis_stage`` column; used for a consumer's own production."""
    parts = [sup.rows for sup in stage_data.supplies.values()]
    if not parts:
        return pd.DataFrame(columns=["commodity_id", "country_iso3", "aggregate", "analysis_stage", "year",
                                     "quantity", "unit", "value_raw", "source"])
    return pd.concat(parts, ignore_index=True)
