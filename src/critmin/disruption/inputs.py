"""Market inputs from the warehouse (``load_market``).

Per commodity (details and caveats in ``docs/disruption.md``):

* production by country: supply at the stage as chosen by :func:`critmin.data.supply.select_stage`,
  the one owner of "supply at a stage" (source order ``data.supply_sources``: USGS MCS, then
  World Mining Data; processing = the first stage of ``risk.processing_stage_preference`` with a
  country figure; one product: the one with a published world total, then the most country
  figures), in tonnes (:meth:`StageSupply.quantities_t`) on the commodity's basis
  (:mod:`critmin.disruption.basis`: chromite ore gross weight -> contained Cr; a gross-weight
  figure without a cited factor is flagged in ``provenance['basis']``); a stage in a unit that is not a mass
  (carats, m3) is not computable, with the reason. The choice (``StageSupply.summary()``: leading
  country and share, world total, source, year, product, ``choices``) is in
  ``provenance['production']`` and ``provenance['mine_production']``, so the simulator reports the
  same leading producer and share as the watchlist;
* supply stage: processing if processing production exists, else mine;
* import shares: CEPII BACI bilateral imports (t) of the consumer, latest BACI year, HS codes
  mapped to the commodity at the supply stage (the other stage if only that one is traded,
  with a note); where BACI has no import rows for the consumer, a UN Comtrade extract with a
  partner breakdown (``risk.trade_fallback_sources``, :mod:`critmin.data.tradefallback`; e.g.
  ``COMTRADE_JPN2020`` for Japan's gallium), stated in the notes and in
  ``provenance['trade'][consumer]['source']``; else world production shares (``proxy_trade_shares``);
* consumption: a consumer whose ``disruption.consumption_source`` is ``USGS_MCS`` (the USA) =
  USGS salient apparent consumption (``Consump_*``, latest year with a number); other consumers
  (JPN: no mine output) = BACI net imports + own production at the supply stage, both in
  contained metal (``qty_contained_t``, :mod:`critmin.data.contained`; a traded line without a
  contained factor makes the figure not computable, never gross weight added to metal); where
  BACI trades the commodity only at another stage (copper: concentrates, not cathode), the own
  output at the stage is made from those imports, so the two are not summed: consumption =
  max(own output, contained net imports), noted (one stage, issue 13). A
  ``USGS_MCS`` consumer without a usable salient figure falls back to the same net-import
  method, with a note. The Comtrade extracts hold imports only: a consumer whose shares come
  from one has its consumption reported as not computable;
* price: the reference price of :mod:`critmin.disruption.refprice`: one basis per commodity
  (the USGS salient series named in ``data/reference_price_series.csv``, in their latest year,
  converted to US$ per t of contained metal with the row's factor); NaN + note where none.

The warehouse is read through its batched methods (``production_all``, ``bilateral_flows``,
``salient_all``, ``governance_estimates``, ``production_commodities``); no SQL here.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from critmin import settings
from critmin.data.normalize.units import MASS_TO_T, PRICE_TO_USD_PER_T
from critmin.data.partners import consumption_source, partners
from critmin.data.supply import (
    NoStageSupply,
    StageSupply,
    select_from_stage_rows,
    stage_rows_by_commodity,
)
from critmin.data.tradefallback import FallbackCell, fallback_cells, pick
from critmin.data.warehouse import Warehouse
from critmin.disruption import params as _params  # noqa: F401  (registers the disruption settings)
from critmin.disruption.basis import convert_production, market_basis
from critmin.disruption.curated import (  # noqa: F401  (CURATED_CONSUMPTION_CSV re-exported)
    CURATED_CONSUMPTION_CSV,
    curated_consumption_t,
    load_curated_consumption,
)
from critmin.disruption.inputs_adjust import (
    SALIENT_ALIAS,
    by_bought_stage,
    iea_growth,
    imports_by_group,
    with_demand_growth,
)
from critmin.disruption.market import OTHER, CommodityMarket, Market
from critmin.disruption.provenance import data_provenance
from critmin.disruption.refprice import reference_price

log = logging.getLogger(__name__)

#: the consumption source whose figures are the USGS MCS salient apparent consumption
#: (:func:`critmin.data.partners.consumption_source`)
SALIENT_CONSUMPTION = "USGS_MCS"
_CURATED = load_curated_consumption()


def _production_all(wh: Warehouse) -> dict[str, dict[str, pd.DataFrame]]:
    """Production rows (countries and aggregates, every source; newest release per commodity,
    year and source, ``Warehouse.production_all``) that stand for the mine and the processing
    stage (:func:`critmin.data.supply.stage_rows`), by commodity and stage: one query and one
    pass of the stage rule for all commodities."""
    return stage_rows_by_commodity(wh.production_all(), ("mine", "processing"))


_NO_PRODUCTION = pd.DataFrame(columns=["commodity_id", "country_iso3", "aggregate", "stage", "stage_group",
                                       "product", "year", "quantity", "unit", "source", "dataset_id"])


def production_meta(sup: StageSupply) -> dict[str, Any]:
    """``provenance['production']`` of a market: :meth:`StageSupply.summary` (leading country
    and share, world total in ``unit``, source, year, product, choices), with ``stage`` the
    source stage of the rows (``refinery``, ``mine``, ...) as before and ``analysis_stage`` the
    stage asked for (``mine``/``processing``)."""
    meta: dict[str, Any] = {**sup.summary(), "stage": sup.source_stage, "analysis_stage": sup.stage}
    figs = [sup.partner(c) for c in partners()]
    meta["partners_not_named"] = {f.iso3: f.note for f in figs if f.status == "not_named"}
    world = sup.denominator_t
    if world is not None:
        rest = world - sum(v for v in sup.quantities_t().values() if v > 0)
        if rest > world * 1e-9:
            meta["other_countries_t"] = rest
            meta["other_countries_note"] = (f"producer {OTHER}: world total less the countries with a figure "
                                            "('Other countries' and withheld cells), never restricted")
    return meta


def _production(prod: Mapping[str, Mapping[str, pd.DataFrame]], cid: str, stage: str,
                year: int | None) -> tuple[pd.Series, StageSupply]:
    """Production (t) by ISO3 at ``stage`` ('mine' | 'processing'): :func:`select_stage`
    (newest year, or ``year``), in tonnes. Raises :class:`NoStageSupply` with the reason
    (no country figure, or a unit that is not a mass)."""
    sup = select_from_stage_rows(prod.get(cid, {}).get(stage, _NO_PRODUCTION), cid, stage, year)
    q = pd.Series(sup.quantities_t(), dtype=float).sort_index()
    q = q[q > 0]
    if q.empty:
        raise NoStageSupply(f"no positive {stage} production of {cid} by country in {sup.source} {sup.year}")
    world = sup.denominator_t
    if world is not None and world > float(q.sum()) * (1.0 + 1e-9):
        # 'Other countries' (and withheld figures) are kept: the world total less the countries
        q[OTHER] = world - float(q.sum())
    return q, sup


def _group_flows(df: pd.DataFrame, consumers: Sequence[str]) -> dict[str, dict[str, pd.DataFrame]]:
    out: dict[str, dict[str, pd.DataFrame]] = {c: {} for c in consumers}
    for (c, cid), g in df.groupby(["consumer", "commodity_id"], sort=False):
        out[str(c)][str(cid)] = g.reset_index(drop=True)
    return out


def _baci_all(wh: Warehouse, consumers: tuple[str, ...]) -> dict[str, dict[str, pd.DataFrame]]:
    """BACI flows of every consumer seen from the consumer (``flow`` import/export,
    ``partner_iso3`` the other side), split by consumer and commodity, in one query
    (``Warehouse.bilateral_flows(..., ['BACI'], drop_world=True)``). Same rows, row order and
    filters as ``Warehouse.trade(consumer, source='BACI')`` followed by dropping rows without
    commodity or partner, the world aggregate and self-trade (the reference implementation in
    ``tests/test_disruption_inputs.py``)."""
    return _group_flows(wh.bilateral_flows(consumers, ["BACI"], drop_world=True), consumers)


def _fallback_all(wh: Warehouse, consumers: tuple[str, ...]) -> dict[tuple[str, str], list[FallbackCell]]:
    """Accepted fallback (UN Comtrade) import cells per (consumer, commodity), newest first
    (:func:`critmin.data.tradefallback.fallback_cells`), from the annual flow lines of the
    fallback sources (``Warehouse.bilateral_flows``; 'WLD' kept: it is the coverage check)."""
    sources = list(settings.get("risk.trade_fallback_sources"))
    if not sources:
        return {}
    df = wh.bilateral_flows(consumers, sources)
    df = df[df["month"].isna()].rename(columns={"partner_iso3": "partner", "hs_code": "hs_codes"})
    cells, reasons = fallback_cells(df)
    for (c, cid), r in reasons.items():
        log.info("%s %s: Comtrade fallback rejected: %s", c, cid, "; ".join(r))
    return cells


def _salient_all(wh: Warehouse) -> dict[tuple[str, str], pd.DataFrame]:
    """USGS salient consumption and price rows by (commodity, category), newest release per
    commodity, category and year (``Warehouse.salient_all``), in one query.
    ``Warehouse.us_salient(c, category=k)`` ranks releases within the rows it selected, i.e.
    per (commodity, category, year): the partition there is the same, so the rows are identical
    (tested against the per-commodity calls). Rows tied on (variable, year) (the warehouse has a
    few, e.g. iodine ``Consump_t`` as ``W`` and as a number on one source line) come in a fixed
    order here, arbitrary in the API."""
    df = wh.salient_all(("consumption", "price", "imports"))
    return {(str(a), str(b)): g.reset_index(drop=True)
            for (a, b), g in df.groupby(["commodity_id", "category"], sort=False)}


#: consumption series that are not apparent consumption of the commodity
_NOT_CONSUMPTION = "Secondary|Reported_ore|Value"


def _consumption_rank(variable: str) -> int:
    """Preference among a year's consumption series: apparent, then unqualified, then reported."""
    if re.search(r"Appa|Apprnt|_App_", variable):
        return 0
    return 2 if "Report" in variable or "Rpt" in variable or "Rprtd" in variable else 1


@dataclass(frozen=True)
class SalientIndex:
    """The salient rows a market uses, by salient commodity id, filtered once for all
    commodities: ``consumption`` = rows with a number in a mass unit, not secondary/reported-ore/
    value series, with their ``rank`` and ``t``; ``price`` = rows with a number in a unit of
    :data:`PRICE_TO_USD_PER_T`, with ``usd_per_t``; ``with_consumption`` = ids with any
    consumption row at all (withheld ones too)."""

    consumption: dict[str, pd.DataFrame]
    price: dict[str, pd.DataFrame]
    with_consumption: frozenset[str]
    #: the answers of :func:`_salient_consumption` / :func:`_price` for ids read without a
    #: variable filter (all but the group-coded ones of :data:`SALIENT_ALIAS`), computed at once
    consumption_of: dict[str, tuple[float, str]] = field(default_factory=dict)
    price_of: dict[str, tuple[float, str]] = field(default_factory=dict)
    #: US imports by trade group ('extraction' = ore and concentrate, 'processing' = oxides,
    #: metal, compounds; scrap and articles left out) in t, latest year: (year, {group: t})
    imports_of: dict[str, tuple[int, dict[str, float]]] = field(default_factory=dict)



def index_salient(salient: Mapping[tuple[str, str], pd.DataFrame]) -> SalientIndex:
    """:class:`SalientIndex` of salient frames by (commodity, category) (:func:`_salient_all`)."""
    def cat(name: str) -> pd.DataFrame:
        frames = [g.assign(sal_id=k[0]) for k, g in salient.items() if k[1] == name and not g.empty]
        return pd.concat(frames, ignore_index=True) if frames else _NO_ROWS.assign(sal_id=pd.Series(dtype=str))

    c = cat("consumption")
    seen = frozenset(str(x) for x in c["sal_id"].unique())
    c = c[c["quantity"].notna() & c["unit"].isin(list(MASS_TO_T))]
    c = c[~c["variable"].astype(str).str.contains(_NOT_CONSUMPTION, regex=True)]
    c = c.assign(rank=c["variable"].map(_consumption_rank), t=c["quantity"] * c["unit"].map(MASS_TO_T))
    p = cat("price")
    p = p[p["quantity"].notna() & p["unit"].isin(list(PRICE_TO_USD_PER_T))]
    p = p.assign(usd_per_t=p["quantity"] * p["unit"].map(PRICE_TO_USD_PER_T))
    # the latest year of each id, its most preferred series (stable: the first row among ties)
    latest = c[c["year"] == c.groupby("sal_id")["year"].transform("max")]
    first = latest.sort_values(["sal_id", "rank", "variable"], kind="stable").drop_duplicates("sal_id")
    cons_of = {str(r.sal_id): (float(r.t), f"USGS salient {r.variable} {int(r.year)}")
               for r in first.itertuples(index=False)}
    price_of = {str(k): reference_price(g, str(k)) for k, g in p.groupby("sal_id", sort=False)}
    return SalientIndex({str(k): g for k, g in c.groupby("sal_id", sort=False)},
                        {str(k): g for k, g in p.groupby("sal_id", sort=False)}, seen, cons_of, price_of,
                        imports_by_group(cat("imports")))


_NO_ROWS = pd.DataFrame(columns=["commodity_id", "category", "year", "variable", "quantity", "unit"])


def _salient_consumption(salient: SalientIndex, cid: str) -> tuple[float | None, str]:
    """USGS MCS salient apparent consumption (t) of a commodity, latest year with a number."""
    sal_id, filt = SALIENT_ALIAS.get(cid, (cid, None))
    if sal_id not in salient.with_consumption:
        return None, "no USGS salient consumption series"
    if not filt and sal_id in salient.consumption_of:
        return salient.consumption_of[sal_id]
    df = salient.consumption.get(sal_id)
    if df is not None and filt:
        df = df[df["variable"].str.contains(filt)]
    if df is None or df.empty:
        return None, "USGS salient consumption withheld or not in mass units"
    y = int(df["year"].max())
    d = df[df["year"] == y].sort_values(["rank", "variable"]).iloc[0]
    return float(d["t"]), f"USGS salient {d['variable']} {y}"


def _price(salient: SalientIndex, cid: str) -> tuple[float, str]:
    """The commodity's reference price (US$/t contained) and its note, by the one rule of
    :func:`critmin.disruption.refprice.reference_price` (one basis, a curated series)."""
    sal_id, filt = SALIENT_ALIAS.get(cid, (cid, None))
    if not filt and sal_id in salient.price_of:
        return salient.price_of[sal_id]
    df = salient.price.get(sal_id)
    if df is not None and filt:
        df = df[df["variable"].str.contains(filt)]
    return reference_price(df, cid)


_NO_TRADE = pd.DataFrame(columns=["stage_group", "flow", "year", "partner_iso3", "qty_t", "value_usd"])


def _supply(prod: Mapping[str, Mapping[str, pd.DataFrame]], cid: str, year: int | None
            ) -> tuple[str, pd.Series, pd.Series, dict[str, Any], dict[str, Any]]:
    """(stage, production at the stage, mine production, their provenance): processing where
    :func:`select_stage` finds processing production in mass units, else mine."""
    got: dict[str, tuple[pd.Series, dict[str, Any]]] = {}
    why: list[str] = []
    for stage in ("mine", "processing"):
        try:
            q, sup = _production(prod, cid, stage, year)
        except NoStageSupply as e:
            got[stage] = (pd.Series(dtype=float), {"not_computable": str(e)})
            why.append(str(e))
        else:
            got[stage] = (q, production_meta(sup))
    (mine, mine_meta), (proc, proc_meta) = got["mine"], got["processing"]
    if mine.empty and proc.empty:
        raise LookupError("no production by country in mass units (USGS or WMD): " + "; ".join(why))
    if not proc.empty:
        return "processing", proc, mine, proc_meta, mine_meta
    return "mine", mine, pd.Series(dtype=float), mine_meta, mine_meta


def _net_contained_t(imp: pd.DataFrame, exp: pd.DataFrame) -> tuple[float, list[str]]:
    """Net imports in contained metal, ``sum(imports qty_contained_t) - sum(exports
    qty_contained_t)`` (:mod:`critmin.data.contained`: gross tonnes x the HS code's factor), and
    the HS codes traded in tonnes without a factor (then the net figure is not usable)."""
    miss = {str(h) for d in (imp, exp)
            for h in d.loc[(d["qty_t"].fillna(0) > 0) & d["qty_contained_t"].isna(), "hs_code"]}
    return float(imp["qty_contained_t"].sum() - exp["qty_contained_t"].sum()), sorted(miss)


def _commodity(cid: str, consumers: tuple[str, ...], year: int | None, baci: Mapping[str, Mapping[str, pd.DataFrame]],
               prod: Mapping[str, Mapping[str, pd.DataFrame]], salient: SalientIndex,
               fallback: Mapping[tuple[str, str], list[FallbackCell]] | None = None,
               baci_newest: int | None = None) -> CommodityMarket:
    stage, prod_t, mp, prod_meta, mine_meta = _supply(prod, cid, year)
    product = str(prod_meta.get("product") or "")
    (prod_t, mp), converted = convert_production(cid, product, prod_t, mp)  # one basis (critmin.disruption.basis)
    lag = int(settings.get("disruption.max_trade_lag_years"))
    group = "processing" if stage == "processing" else "extraction"
    notes: list[str] = [converted] if converted else []
    shares: dict[str, pd.Series] = {}
    demand: dict[str, float] = {}
    proxy: list[bool] = []
    trade_meta: dict[str, Any] = {}
    unknown: list[str] = []
    for c in consumers:
        tr = baci[c].get(cid, _NO_TRADE)
        used = tr[tr["stage_group"] == group] if not tr.empty else tr
        other_stage = False
        no_factor: list[str] = []
        if not tr.empty and used.empty:
            other = tr["stage_group"].dropna().unique().tolist()
            used = tr[tr["stage_group"].isin(other)]
            notes.append(f"{c}: BACI has {cid} trade only at {other}; its import shares are used for the {stage} stage")
            other_stage = True
        imp = used[used["flow"] == "import"] if not used.empty else used
        if not imp.empty and baci_newest is not None and int(imp["year"].max()) < baci_newest - lag:
            notes.append(f"{c}: BACI {cid} imports end in {int(imp['year'].max())}, more than {lag} years before "
                         f"BACI's newest year {baci_newest} (an HS code moved by a revision): not used "
                         "(setting disruption.max_trade_lag_years)")
            trade_meta[c] = {"stale_baci_year": int(imp["year"].max())}
            imp, used = imp.iloc[0:0], used.iloc[0:0]
        net: float | None
        if not imp.empty:
            y = int(imp["year"].max())
            imp_y = imp[imp["year"] == y]
            col = "qty_t" if imp_y["qty_t"].notna().any() else "value_usd"
            s = imp_y.groupby("partner_iso3")[col].sum()
            s = s[s > 0]
            exp_y = used[(used["flow"] == "export") & (used["year"] == y)]
            net, no_factor = _net_contained_t(imp_y, exp_y)
            trade_meta[c] = {"source": "BACI", "year": y, "basis": col, "partners": len(s), "net_imports_t": net}
            if consumption_source(c) == SALIENT_CONSUMPTION:
                s = by_bought_stage(s, str(imp_y["stage_group"].iloc[0]), tr, salient.imports_of, cid, prod_t.drop(c, errors="ignore"),
                                     trade_meta[c], notes, c)
        else:
            s, net = pd.Series(dtype=float), None
        fb_used = False
        if s.empty:
            fb = pick((fallback or {}).get((c, cid)), None if year is None else int(year),
                      int(settings.get("risk.fallback_max_lag_years")))
            if fb is not None:
                col = "qty_t" if fb.value_noqty == 0 and fb.import_qty else "value_usd"
                s = pd.Series(fb.import_qty if col == "qty_t" else fb.import_value, dtype=float)
                s = s[s > 0]
                note = fb.note(c, cid) + ("" if col == "qty_t" else "; value basis (tonnage missing for some partners)")
                trade_meta[c] = {"source": fb.source, "year": fb.year, "basis": col, "partners": len(s),
                                 "net_imports_t": None, "note": note}
                notes.append(note)
                fb_used = True
        if s.empty:
            s = prod_t.drop(c, errors="ignore")
            proxy.append(True)
            trade_meta[c] = {**trade_meta.get(c, {}),
                             "source": "world production shares (proxy: no BACI or Comtrade partner data)"}
        else:
            proxy.append(bool(trade_meta.get(c, {}).get("proxy_part", 0.0) > 0.5))
        shares[c] = s / s.sum()
        own = float(prod_t.get(c, 0.0))
        unnamed = prod_meta.get("partners_not_named", {}).get(c)
        if unnamed:  # not reported is not nil: say that the market counts it as 0 t
            notes.append(f"{c}: own {stage} output not reported ({unnamed}); counted as 0 t of domestic supply")
        cur = _CURATED.get((cid, c))
        if cur is not None and cur["use"] == "consumption":  # a published figure ahead of the computed one
            demand[c] = curated_consumption_t(cur)
            trade_meta.setdefault(c, {})["consumption"] = (
                f"curated: published consumption {demand[c]:,.0f} t ({cur['year']}); {cur['source']}")
            trade_meta[c]["curated_consumption"] = dict(cur)
            notes.append(f"{c}: {cid} consumption {demand[c]:,.0f} t is a curated published figure "
                         f"({cur['year']}; source: {cur['source']}, {cur['url']}), used instead of the computed "
                         f"one (own {stage} output {own:,.0f} t, BACI net imports "
                         f"{'n/a' if net is None else f'{net:,.0f}'} t contained)")
            continue
        if consumption_source(c) == SALIENT_CONSUMPTION:
            q, how = _salient_consumption(salient, cid)
            if q is not None:
                demand[c] = q
                trade_meta.setdefault(c, {})["consumption"] = how
                continue
            notes.append(f"{c}: {how}; consumption = BACI net imports + own production instead")
        why = ""
        if net is None:
            stale = (trade_meta.get(c) or {}).get("stale_baci_year")
            why = (f"{trade_meta[c]['source']} {trade_meta[c]['year']} has imports only, no exports"
                   if fb_used else f"no salient series, and BACI {cid} trade ends in {stale} (not used: older than "
                   f"disruption.max_trade_lag_years)" if stale else "no salient series and no BACI trade")
        elif no_factor:
            why = (f"BACI {cid} trade under HS {', '.join(no_factor)} has no contained-metal factor "
                   "(catalog/hs_contained.csv): its gross weight cannot be added to the output at the stage")
        elif max(net, 0.0) + own <= 0:
            why = (f"BACI {trade_meta[c]['year']} net imports are {net:,.3f} t (exports at least imports) and "
                   f"{c} has no {stage} output: consumption by the net-import method would be 0 t")
        if why:
            if cur is not None:
                demand[c] = cur["imports_t"] + own
                trade_meta[c]["consumption"] = (f"curated: imports {cur['imports_t']:g} t ({cur['year']}) + own "
                                                f"production; {cur['source']}")
                trade_meta[c]["curated_consumption"] = dict(cur)
                notes.append(f"{c}: consumption from a curated figure ({why}): {cur['imports_t']:g} t imports "
                             f"{cur['year']} + own output {own:g} t; source: {cur['source']} ({cur['url']})")
                continue
            demand[c] = 0.0
            unknown.append(c)
            trade_meta[c]["consumption_not_computable"] = why
            notes.append(f"{c}: consumption not computable ({why}); "
                         "modelled as 0 t, results for this consumer are reported as not computable")
            continue
        if other_stage:  # the own output at the stage is made from the imports: one stage, not both
            demand[c] = max(max(net or 0.0, 0.0), own)
            trade_meta.setdefault(c, {})["consumption"] = (
                f"max(own {stage} output {own:,.0f} t, BACI net imports {net or 0.0:,.0f} t contained): "
                f"{c}'s {stage} output is made from the imports, so they are not summed")
            notes.append(f"{c}: {cid} consumption {demand[c]:,.0f} t = max(own {stage} output, BACI net imports in "
                         "contained metal), not their sum (BACI has no trade at the stage: trade at the stage "
                         "itself, e.g. refined exports, is not counted)")
        else:
            demand[c] = max(net or 0.0, 0.0) + own  # net is a number here (else ``why`` is set)
            trade_meta.setdefault(c, {})["consumption"] = "BACI net imports + own production (contained metal)"
    trade_partners = set().union(*[set(s.index) for s in shares.values()]) if shares else set()
    producers = tuple(sorted(set(prod_t.index) | trade_partners))
    dem = np.array([demand[c] for c in consumers])
    dom = np.array([min(float(prod_t.get(c, 0.0)), demand[c]) for c in consumers])
    share = np.zeros((len(consumers), len(producers)))
    for i, c in enumerate(consumers):
        s = shares[c].drop(c, errors="ignore")
        if s.sum() > 0:
            for p, v in (s / s.sum()).items():
                share[i, producers.index(p)] = v
        elif dem[i] > dom[i]:
            raise LookupError(f"{c}: imports {dem[i] - dom[i]:.0f} t but no source country")
    price, pnote = _price(salient, cid)
    basis = market_basis(cid, product, converted, {c: str(trade_meta.get(c, {}).get("consumption", "")) for c in consumers},
                         pnote)
    notes.extend(basis["flags"])
    return CommodityMarket(
        commodity=cid, stage=stage, producers=producers,
        production_t=np.array([float(prod_t.get(p, 0.0)) for p in producers]),
        consumers=consumers, demand_t=dem, domestic_t=dom, import_share=share,
        proxy_trade_shares=tuple(proxy),
        mine_producers=tuple(str(x) for x in mp.index), mine_production_t=mp.to_numpy(dtype=float),
        price_usd_per_t=price, price_note=pnote, notes=tuple(notes),
        demand_unknown=tuple(unknown),
        provenance={"production": prod_meta, "mine_production": mine_meta, "trade": trade_meta, "basis": basis},
    )


def _governance(wh: Warehouse) -> dict[str, float]:
    """Mean WGI estimate per country in the latest year (GPR_WGI where WGI is not imported)."""
    g = wh.governance_estimates("WGI")
    if g.empty:
        g = wh.governance_estimates("GPR_WGI")
    g = g[g["country_iso3"].notna() & g["value"].notna()]
    if g.empty:
        return {}
    y = int(g["year"].max())
    # a fixed row order (the read has none), so the means are the same to the last bit every time
    g = g[g["year"] == y].sort_values(["country_iso3", "dimension"], kind="stable")
    return {str(k): float(v) for k, v in g.groupby("country_iso3")["value"].mean().items()}


_CACHE_SIZE = 4
#: settings that change the market built from the same rows (part of the cache key)
_KEY_SETTINGS = ("risk.trade_fallback_sources", "risk.fallback_min_partner_coverage",
                 "risk.fallback_max_lag_years", "data.supply_sources", "risk.processing_stage_preference",
                 "disruption.consumption_source", "disruption.max_trade_lag_years", "disruption.demand_scenario",
                 "disruption.chromite_cr2o3_grade")
_cache_lock = threading.Lock()
#: (Warehouse.fingerprint(), consumers, settings) -> fetched warehouse inputs; LRU, newest last
_input_cache: OrderedDict[tuple[Any, ...], _Inputs] = OrderedDict()


@dataclass
class _Inputs:
    """The warehouse rows the market is built from, plus the commodities built so far."""

    baci: dict[str, dict[str, pd.DataFrame]]
    production: dict[str, dict[str, pd.DataFrame]]
    salient: SalientIndex
    governance: dict[str, float]
    all_ids: list[str]
    fallback: dict[tuple[str, str], list[FallbackCell]]
    growth: dict[str, dict[str, Any]] = field(default_factory=dict)
    built: dict[tuple[str, int | None], CommodityMarket | str] = field(default_factory=dict)

    @functools.cached_property
    def baci_newest(self) -> int | None:
        """BACI's newest year over the consumers' rows (for ``disruption.max_trade_lag_years``)."""
        ys = [int(g["year"].max()) for by in self.baci.values() for g in by.values() if len(g)]
        return max(ys) if ys else None


def _fetch(wh: Warehouse, consumers: tuple[str, ...]) -> _Inputs:
    return _Inputs(_baci_all(wh, consumers), _production_all(wh), index_salient(_salient_all(wh)), _governance(wh),
                   wh.production_commodities(), _fallback_all(wh, consumers), iea_growth(wh))


def _inputs(wh: Warehouse, consumers: tuple[str, ...], cache: bool) -> _Inputs:
    if not cache:
        return _fetch(wh, consumers)
    key = (*wh.fingerprint(), consumers, *(repr(settings.get(n)) for n in _KEY_SETTINGS))
    with _cache_lock:
        hit = _input_cache.get(key)
        if hit is not None:
            _input_cache.move_to_end(key)
            return hit
    inp = _fetch(wh, consumers)
    with _cache_lock:
        _input_cache[key] = inp
        while len(_input_cache) > _CACHE_SIZE:
            _input_cache.popitem(last=False)
    return inp


def clear_cache() -> None:
    """Forget cached warehouse inputs (they are also invalidated by any re-import)."""
    with _cache_lock:
        _input_cache.clear()


def market_from_warehouse(wh: Warehouse, commodities: Sequence[str] | None = None,
                          consumers: Sequence[str] | None = None, year: int | None = None, *,
                          cache: bool = True) -> Market:
    """Build a :class:`Market`; commodities that cannot be built are listed with the reason.

    ``consumers`` default to the partners (setting ``risk.consumers``). The warehouse rows are
    read with six batched warehouse reads (production, BACI trade of all consumers, the Comtrade
    fallback extracts, USGS salient consumption and prices, WGI, the commodity list). With
    ``cache`` they and the commodity markets built from them are kept per warehouse contents
    (``Warehouse.fingerprint()``) and the settings that shape the market, so a second call on an
    unchanged warehouse does no SQL beyond the fingerprint; callers get independent copies
    (:meth:`CommodityMarket.copy`), never the cached objects.
    """
    cons = tuple(consumers) if consumers is not None else partners()
    inp = _inputs(wh, cons, cache)
    ids = list(commodities) if commodities is not None else list(inp.all_ids)
    out: dict[str, CommodityMarket] = {}
    bad: dict[str, str] = {}
    for cid in ids:
        key = (cid, None if year is None else int(year))
        res = inp.built.get(key)
        if res is None:
            try:
                res = _commodity(cid, cons, year, inp.baci, inp.production, inp.salient, inp.fallback,
                                 inp.baci_newest)
            except (LookupError, ValueError) as e:
                res = f"not computable: {e}"
                log.info("%s: %s", cid, res)
            if not isinstance(res, str):
                res = with_demand_growth(res, inp.growth)
            inp.built[key] = res
        if isinstance(res, str):
            bad[cid] = res
        else:
            out[cid] = res.copy()
    if commodities is not None and not out:
        raise LookupError("no requested commodity could be built: " + "; ".join(f"{k}: {v}" for k, v in bad.items()))
    # the data the market was read from (recorded by a stored run, checked when it is reused)
    return Market(cons, out, year, bad, {"governance": dict(inp.governance), **data_provenance(wh)})
