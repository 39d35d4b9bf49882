"""Concentration per commodity, analysis stage and year, from the warehouse production rows.

Choices made here (documented in docs/methodology.md):

* analysis stage ``mine`` = USGS stage ``mine``; ``processing`` = the first of the setting
  ``risk.processing_stage_preference`` (refinery, smelter, processing, plant) present;
* within a stage, one *product* (USGS TYPE remainder) is used: the one with a world total and
  the most country rows (shares are never mixed across products such as ilmenite/rutile);
* the world total is the published ``World total`` row (the smallest one not below the sum of
  the country rows when a product carries several), else the country sum plus ``Other``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from critmin import settings
from critmin.data.supply import calc_shares
from critmin.risk import params  # noqa: F401
from critmin.risk.concentration import (
    Shares,
    calc_concentration,
    calc_reserve_life,
)
from critmin.risk.governance import wgi_table

log = logging.getLogger(__name__)

STAGE_COLUMNS = [
    "commodity_id", "stage", "year", "source_stage", "product", "unit", "vintage",
    "hhi", "top_country_iso3", "top_share", "top3_share", "china_share", "allied_share",
    "hhi_wgi", "reserve_life_years", "residual_share", "share_basis", "world_total",
    "wgi_year", "n_countries", "missing", "dataset_ids",
]


@dataclass
class WGIYear:
    """The WGI table used for an assessment year (``year_used`` may lag it)."""

    year_used: int
    table: pd.DataFrame  # index country_iso3; wgi_scaled, wgi_unit

    @property
    def scaled(self) -> dict[str, float]:
        return self.table["wgi_scaled"].to_dict()

    @property
    def unit(self) -> dict[str, float]:
        return self.table["wgi_unit"].to_dict()


@dataclass
class StageData:
    """Concentration rows plus the share vectors the composite indices need."""

    frame: pd.DataFrame
    shares: dict[tuple[str, str, int], Shares] = field(default_factory=dict)


def wgi_by_year(governance: pd.DataFrame, years: list[int]) -> dict[int, WGIYear | None]:
    """For each year, the newest WGI year ``<= year`` within ``risk.wgi_max_lag_years``."""
    lag = int(settings.get("risk.wgi_max_lag_years"))
    out: dict[int, WGIYear | None] = {}
    if governance.empty:
        return {y: None for y in years}
    have = sorted(int(y) for y in governance["year"].unique())
    cache: dict[int, pd.DataFrame] = {}
    for y in years:
        cands = [h for h in have if y - lag <= h <= y]
        if not cands:
            out[y] = None
            continue
        h = cands[-1]
        if h not in cache:
            cache[h] = wgi_table(governance[governance["year"] == h])
        out[y] = WGIYear(h, cache[h])
    return out


def _pick_product(g: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    best_key, best = None, None
    for prod, pg in g.groupby("product", dropna=False, sort=True):
        countries = pg[pg["aggregate"].isna() & pg["country_iso3"].notna()]
        key = (
            bool((pg["aggregate"] == "world").any()),
            int(countries["quantity"].notna().sum()),
            "content" in str(prod),
        )
        if best_key is None or key > best_key:
            best_key, best = key, (str(prod), pg)
    assert best is not None
    return best


def _world_total(pg: pd.DataFrame, country_sum: float) -> float | None:
    w = pg.loc[(pg["aggregate"] == "world") & pg["quantity"].notna(), "quantity"].astype(float)
    w = w[w > 0]
    if w.empty:
        return None
    ok = w[w >= 0.98 * country_sum]
    return float(ok.min()) if not ok.empty else float(w.max())


def _analysis_stage_rows(prod: pd.DataFrame) -> pd.DataFrame:
    """Rows of the analysis stages with an ``analysis_stage`` column."""
    wanted = tuple(settings.get("risk.stages"))
    pref = list(settings.get("risk.processing_stage_preference"))
    parts = []
    if "mine" in wanted:
        parts.append(prod[prod["stage"] == "mine"].assign(analysis_stage="mine"))
    if "processing" in wanted:
        p = prod[(prod["stage_group"] == "processing") & prod["stage"].isin(pref)].copy()
        if not p.empty:
            has_country = p[p["aggregate"].isna() & p["quantity"].notna()]
            present = has_country.groupby(["commodity_id", "year"])["stage"].agg(set)
            chosen = {
                k: next((s for s in pref if s in v), None) for k, v in present.items()
            }
            key = list(zip(p["commodity_id"], p["year"], strict=True))
            p = p[[chosen.get(k) == s for k, s in zip(key, p["stage"], strict=True)]]
            parts.append(p.assign(analysis_stage="processing"))
    if not parts:
        return prod.iloc[0:0].assign(analysis_stage=pd.Series(dtype=str))
    return pd.concat(parts, ignore_index=True)


def _reserve_totals(reserves: pd.DataFrame) -> dict[tuple[str, int], tuple[float, str]]:
    """World reserves per (commodity, year): the world row, else the sum of countries."""
    out: dict[tuple[str, int], tuple[float, str]] = {}
    if reserves.empty:
        return out
    for (c, y), g in reserves.groupby(["commodity_id", "year"]):
        w = g.loc[(g["aggregate"] == "world") & g["quantity"].notna(), "quantity"]
        if not w.empty:
            out[(c, int(y))] = (float(w.max()), "world total")
            continue
        cs = g.loc[g["aggregate"].isna() & g["quantity"].notna(), "quantity"]
        if not cs.empty and cs.sum() > 0:
            out[(c, int(y))] = (float(cs.sum()), "sum of listed countries (lower bound)")
    return out


def concentration_frame(
    production: pd.DataFrame,
    reserves: pd.DataFrame,
    governance: pd.DataFrame,
    allied: frozenset[str],
) -> StageData:
    """Concentration indicators for every commodity, analysis stage and year."""
    if production.empty:
        return StageData(pd.DataFrame(columns=STAGE_COLUMNS))
    rows_all = _analysis_stage_rows(production)
    years = sorted(int(y) for y in rows_all["year"].unique())
    wgi = wgi_by_year(governance, years)
    res = _reserve_totals(reserves)
    records: list[dict[str, object]] = []
    shares_out: dict[tuple[str, str, int], Shares] = {}
    for (cid, stage, year), g in rows_all.groupby(["commodity_id", "analysis_stage", "year"], sort=True):
        year = int(year)
        product, pg = _pick_product(g)
        missing: list[str] = []
        countries = pg[pg["aggregate"].isna() & pg["country_iso3"].notna()]
        coded = countries[countries["quantity"].isna()]
        for _, r in coded.iterrows():
            missing.append(f"{stage} {year}: {r['country_iso3']} production is '{r['value_raw']}' (flag {r['flag']})")
        known = countries[countries["quantity"].notna()]
        q = known.groupby("country_iso3")["quantity"].sum().astype(float).to_dict()
        other_rows = pg.loc[(pg["aggregate"] == "other") & pg["quantity"].notna(), "quantity"]
        other = float(other_rows.sum()) if not other_rows.empty else None
        world = _world_total(pg, sum(q.values()))
        base: dict[str, object] = {
            "commodity_id": cid, "stage": stage, "year": year,
            "source_stage": str(pg["stage"].iloc[0]), "product": product,
            "unit": str(pg["unit"].dropna().iloc[0]) if pg["unit"].notna().any() else None,
            "vintage": str(pg["vintage"].iloc[0]),
            "dataset_ids": tuple(sorted({int(d) for d in pg["dataset_id"]})),
            "world_total": world, "n_countries": len([v for v in q.values() if v > 0]),
        }
        if not any(v > 0 for v in q.values()):
            missing.append(f"{stage} {year}: no country with a production figure")
            records.append({**base, "missing": tuple(missing)})
            continue
        try:
            sh = calc_shares(q, world_total=world, other=other)
        except ValueError as e:
            missing.append(f"{stage} {year}: shares not computable: {e}")
            records.append({**base, "missing": tuple(missing)})
            continue
        w = wgi.get(year)
        if w is None:
            missing.append(f"{stage} {year}: hhi_wgi: no WGI within {settings.get('risk.wgi_max_lag_years')} years")
        conc = calc_concentration(sh, allied, w.scaled if w is not None else None)
        missing += [f"{stage} {year}: {m}" for m in conc.missing if w is not None]
        reserve_life = None
        if stage == "mine":
            rt = res.get((cid, year))
            if rt is None:
                missing.append(f"mine {year}: reserve_life_years: no reserves for {year}")
            elif world is None:
                missing.append(f"mine {year}: reserve_life_years: no world production total")
            else:
                life = calc_reserve_life(rt[0], world)
                if life < 1.0:
                    # reserves below one year of output are not plausible: the MCS 2025
                    # file gives some reserves in other units only in RESERVE_NOTES
                    missing.append(
                        f"mine {year}: reserve_life_years: reserves {rt[0]:g} < one year of "
                        f"production {world:g}; unit of the reserve figure not reliable"
                    )
                else:
                    reserve_life = life
        shares_out[(cid, stage, year)] = sh
        records.append({
            **base,
            "hhi": conc.hhi, "top_country_iso3": conc.top_country_iso3,
            "top_share": conc.top_share, "top3_share": conc.top3_share,
            "china_share": conc.china_share, "allied_share": conc.allied_share,
            "hhi_wgi": conc.hhi_wgi, "reserve_life_years": reserve_life,
            "residual_share": conc.residual_share, "share_basis": conc.basis,
            "wgi_year": w.year_used if w is not None else None,
            "missing": tuple(missing),
        })
    frame = pd.DataFrame.from_records(records, columns=STAGE_COLUMNS)
    return StageData(frame, shares_out)


def selected_rows(production: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """The production rows behind ``frame`` (analysis stage + the product chosen there),
    with an ``analysis_stage`` column; used for a consumer's own production."""
    rows = _analysis_stage_rows(production)
    keys = frame[["commodity_id", "stage", "year", "product"]].rename(columns={"stage": "analysis_stage"})
    return rows.merge(keys, on=["commodity_id", "analysis_stage", "year", "product"], how="inner")
