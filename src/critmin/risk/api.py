"""The risk assessment API: concentration by stage and year, consumer exposure, composite
indices and the joint US-Japan watchlist.

``assess(wh, consumers=None, year=2024)`` returns the watchlist (one row per commodity,
sorted by ``joint_score``; consumers default to the partners of the setting ``risk.consumers``);
:func:`run` returns everything (:class:`Assessment`) including the JSON records of
``critmin assess --json``. Inputs are read once per warehouse content (cached by
``Warehouse.fingerprint()``), so repeated calls are fast.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from critmin import settings
from critmin.data.partners import nir_source, partners
from critmin.data.tradefallback import FallbackCell, fallback_cells
from critmin.risk import params
from critmin.risk.alliances import allied_iso3
from critmin.risk.bottleneck import Bottleneck, StageScore, calc_bottleneck, calc_joint
from critmin.risk.chain import MCS_STAGE_NIR, StageView, chain_stages, own_at, stage_views
from critmin.risk.consumers import (
    NIR_VARIABLE,
    Exposure,
    NIRCell,
    TradeIndex,
    build_trade_index,
    nir_cells,
    trade_exposure,
    us_nir,
    us_stage_nir,
)
from critmin.risk.governance import Governance
from critmin.risk.loaders import RiskInputs, load_inputs
from critmin.risk.score import CommodityInputs, consumer_stage_scores
from critmin.risk.stages import StageData, WGIYear, concentration_frame, wgi_by_year
from critmin.risk.substitution import substitution_index
from critmin.risk.vulnerability import calc_economic_vulnerability, calc_price_volatility
from critmin.risk.watchlist import (
    GROUP_MEMBERS,
    coverage_commodities,
    list_memberships_of,
    order_records,
    partner_uses,
    scope,
    watchlist_frame,
)

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

log = logging.getLogger(__name__)

__all__ = [
    "Assessment",
    "assess",
    "concentration_history",
    "economic_vulnerability",
    "high_risk_commodities",
    "normalize_consumers",
    "run",
]

STAGE_KEYS = ("hhi", "top_country_iso3", "top_share", "top3_share", "china_share",
              "allied_share", "hhi_wgi", "reserve_life_years", "source")
EXPOSURE_KEYS = ("net_import_reliance", "import_hhi", "non_allied_import_share",
                 "supplier_governance_risk")

settings.register(
    "risk.joint.require_all_consumers",
    False,
    "If true, the joint score is not computable unless every consumer has its components; "
    "if false it is the weighted mean over the consumers that have them (named in 'missing').",
    "Project choice (docs/methodology.md).",
)


@dataclass
class Assessment:
    year: int
    consumers: tuple[str, ...]
    watchlist: pd.DataFrame
    stages: pd.DataFrame
    exposure: pd.DataFrame
    indices: pd.DataFrame
    records: list[dict[str, Any]]


#: consumers as accepted by the API: ``"US,JP"``, a sequence of ISO3/ISO2 codes, or None
Consumers = str | Sequence[str] | None


def normalize_consumers(codes: str | Sequence[str]) -> tuple[str, ...]:
    """ISO3 codes from ISO3/ISO2 codes (``"US,JP"`` or a sequence); unknown -> ValueError."""
    import pycountry

    items = codes.split(",") if isinstance(codes, str) else list(codes)
    out: list[str] = []
    for raw in items:
        c = str(raw).strip().upper()
        if not c:
            continue
        if len(c) == 2:
            hit = pycountry.countries.get(alpha_2=c)
            if hit is None:
                raise ValueError(f"consumer {raw!r}: not an ISO 3166 country code")
            c = hit.alpha_3
        elif len(c) != 3 or pycountry.countries.get(alpha_3=c) is None:
            raise ValueError(f"consumer {raw!r}: expected an ISO3 (USA) or ISO2 (US) code")
        if c not in out:
            out.append(c)
    if not out:
        raise ValueError("no consumer country given")
    return tuple(out)


# -- cached inputs ---------------------------------------------------------------------------
@dataclass
class _Prepared:
    inputs: RiskInputs
    stage_data: StageData
    trade: TradeIndex
    #: (consumer, commodity) -> accepted fallback (Comtrade) cells, and rejection reasons
    trade_fallback: dict[tuple[str, str], list[FallbackCell]]
    fallback_reasons: dict[tuple[str, str], list[str]]
    #: commodity -> series -> year -> price
    prices: dict[str, dict[str, dict[int, float]]]
    price_ids: dict[str, set[int]]
    #: (commodity, year) -> the NIR cells of the MCS salient / T5 and Fig2 tables
    nir_salient: dict[tuple[str, int], list[NIRCell]]
    nir_trend: dict[tuple[str, int], list[NIRCell]]
    #: (commodity, stage, year) -> the concentration row of ``stage_data.frame`` as a dict
    stage_rows: dict[tuple[str, str, int], dict[str, Any]]
    names: dict[str, str]
    #: per assessment year: views, WGI (computed once per year and cached here)
    per_year: dict[tuple[Any, ...], Any]
    #: EV_VAS per commodity (risk.ev.formula = value_at_stake; critmin.impact.vulnerability)
    ev_value_at_stake: dict[str, tuple[float, str | None]] | None = None


_CACHE: dict[tuple[Any, ...], _Prepared] = {}
_LOCK = threading.Lock()


#: settings read while preparing the cached inputs (part of the cache key)
_PREPARE_SETTINGS = ("data.supply_sources", "risk.stages", "risk.processing_stage_preference",
                     "risk.wgi_max_lag_years", "risk.trade_sources", "risk.trade_fallback_sources",
                     "risk.fallback_min_partner_coverage", "risk.governance_fallback_max_share",
                     "risk.max_uncovered_import_share", "risk.ev.formula")


def _prepare(wh: Warehouse, consumers: tuple[str, ...], allied: frozenset[str]) -> _Prepared:
    key = (wh.fingerprint(), consumers, tuple(sorted(allied)),
           tuple(settings.get(n) for n in _PREPARE_SETTINGS))
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    inputs = load_inputs(wh, consumers)
    sd = concentration_frame(inputs.production, inputs.reserves, inputs.governance, allied)
    prices: dict[str, dict[str, dict[int, float]]] = {}
    price_ids: dict[str, set[int]] = {}
    for r in inputs.prices.itertuples(index=False):
        prices.setdefault(r.commodity_id, {}).setdefault(r.series, {})[int(r.year)] = float(r.quantity)
        price_ids.setdefault(r.commodity_id, set()).add(int(r.dataset_id))
    fb_cells, fb_reasons = fallback_cells(inputs.trade)
    rows = {(r["commodity_id"], r["stage"], int(r["year"])): r for r in sd.frame.to_dict("records")}
    names = dict(zip(inputs.commodities.get("commodity_id", []), inputs.commodities.get("name", []), strict=False))
    prep = _Prepared(inputs, sd, build_trade_index(inputs.trade), fb_cells, fb_reasons,
                     prices, price_ids, nir_cells(inputs.nir_salient), nir_cells(inputs.nir_trend), rows,
                     names, {})
    if settings.get("risk.ev.formula") == "value_at_stake":
        from critmin.impact.vulnerability import value_at_stake_ev

        prep.ev_value_at_stake = value_at_stake_ev(wh, consumers)
    with _LOCK:
        if len(_CACHE) > 8:
            _CACHE.clear()
        _CACHE[key] = prep
    return prep


# -- pieces ------------------------------------------------------------------------------------
def _ev_table(prep: _Prepared, year: int) -> dict[str, tuple[float | None, str | None, set[int]]]:
    """Economic vulnerability per commodity from the price window ending in ``year``; a
    commodity without enough prices there takes the newest earlier window (its age in the
    second element, ``'ev_latest:<age>: ...'``)."""
    window = int(settings.get("risk.ev.window_years"))
    min_changes = int(settings.get("risk.ev.min_changes"))
    cap = float(settings.get("risk.ev.volatility_cap"))
    max_age = int(settings.get("risk.max_data_age_years"))
    formula = settings.get("risk.ev.formula")
    if formula not in ("price_volatility", "value_at_stake"):
        raise ValueError(f"risk.ev.formula: {formula!r}; expected 'price_volatility' or 'value_at_stake'")
    vas = prep.ev_value_at_stake if formula == "value_at_stake" else None
    out: dict[str, tuple[float | None, str | None, set[int]]] = {}
    if vas is not None:
        out = {cid: (ev, flag, prep.price_ids.get(cid, set())) for cid, (ev, flag) in vas.items()}
    for cid, series_map in prep.prices.items():
        if cid in out:
            continue
        for age in range(0, max_age + 1):
            end = year - age
            vols = []
            for series in series_map.values():
                s = {y: p for y, p in series.items() if end - window < y <= end}
                ys = sorted(s)
                if sum(1 for a, b in zip(ys, ys[1:], strict=False) if b == a + 1) < min_changes:
                    continue
                try:
                    vols.append(calc_price_volatility(s))
                except ValueError:
                    continue
            if vols:
                flag = None if age == 0 else f"ev_latest:{age}: price volatility of {end - window + 1}-{end}"
                if vas is not None:
                    flag = f"{flag}; no damage row (ev_vas_missing)" if flag else "ev_vas_missing: no damage row, price-volatility EV"
                out[cid] = (calc_economic_vulnerability(vols, cap), flag, prep.price_ids.get(cid, set()))
                break
    return out


def _eol_rir(recycling: pd.DataFrame) -> dict[str, tuple[float, int]]:
    out: dict[str, tuple[float, int]] = {}
    if recycling.empty:
        return out
    r = recycling.dropna(subset=["eol_rir"])
    for cid, v, d in zip(r["commodity_id"], r["eol_rir"], r["dataset_id"], strict=True):
        out.setdefault(str(cid), (float(v), int(d)))
    return out


def _published_nir(prep: _Prepared, ex: Exposure, cid: str, year: int, chain: Sequence[str]) -> None:
    """The MCS NIR (setting ``risk.nir_source``) at every stage: the stage's own MCS variable
    where one exists (:data:`MCS_STAGE_NIR`), else the commodity's; the newest earlier year
    (flagged) when the year has none; else the NIR computed from trade stays (flagged)."""
    k = ex.consumer
    sal = NIR_VARIABLE.get(cid, (cid, ""))[0]
    max_age = int(settings.get("risk.max_data_age_years"))
    n, age, reason = None, 0, None
    for age in range(0, max_age + 1):
        n, ids, why = us_nir(prep.nir_salient.get((sal, year - age), []),
                             prep.nir_trend.get((cid, year - age), []), cid, year - age)
        reason = reason or why
        if n is not None:
            ex.dataset_ids |= ids
            break
    lag = [f"latest_year:{age}: {k} NIR of {year - age}"] if n is not None and age > 0 else []
    for st in chain:
        variables = MCS_STAGE_NIR.get((cid, st))
        sn = None
        if variables:
            sals = {v[0] for v in variables}
            cells = [c for s_ in sals for c in prep.nir_salient.get((s_, year - age), [])]
            sn, ids = us_stage_nir(cells, variables, year - age)
            ex.dataset_ids |= ids
        if sn is None:
            sn = n
        if sn is not None:
            ex.nir_by_stage[st] = sn
            ex.nir_flags[st] = list(lag)
            ex.nir_reasons.pop(st, None)
        elif st in ex.nir_by_stage:
            ex.nir_flags[st] = [*ex.nir_flags.get(st, []), f"nir_computed: {k} NIR at {st} from trade (no MCS NIR)"]
    if n is not None:
        ex.nir, ex.nir_stage = n, None
        ex.missing = [m for m in ex.missing if not m.startswith(f"{k} net_import_reliance")]
        if age:
            ex.missing.append(f"{k} net_import_reliance: {reason}; MCS NIR of {year - age} used")
    else:
        ex.missing.append(f"{k} {reason}" + ("; computed from trade" if ex.nir is not None else ""))


def _exposure_for(prep: _Prepared, consumer: str, cid: str, year: int, allied: frozenset[str],
                  governance: Governance | None, views: Mapping[str, StageView], uses: bool) -> Exposure:
    chain = tuple(views)
    own = {st: own_at(v.supply, consumer) for st, v in views.items()}
    ex = trade_exposure(prep.trade.get((consumer, cid)), own, chain, consumer, cid, year, allied, governance,
                        want_nir=True, fallback=prep.trade_fallback.get((consumer, cid)),
                        fallback_reasons=prep.fallback_reasons.get((consumer, cid)), uses_hint=uses,
                        hosts=tuple(st for st, v in views.items() if v.host))
    if nir_source(consumer) == "USGS_MCS":
        _published_nir(prep, ex, cid, year, chain)
    return ex


def _clean(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):
        v = v.item()
        return None if isinstance(v, float) and math.isnan(v) else v
    return v


@dataclass
class _Year:
    """Inputs of one assessment year (cached per prepared inputs)."""

    views: dict[str, dict[str, StageView]]
    wgi: WGIYear | None
    evs: dict[str, tuple[float | None, str | None, set[int]]]


def _year_inputs(prep: _Prepared, year: int) -> _Year:
    key = ("year", year, settings.get("risk.max_data_age_years"), settings.get("risk.residual_share_flag"),
           settings.get("risk.ev.window_years"), settings.get("risk.ev.min_changes"),
           settings.get("risk.ev.volatility_cap"), settings.get("risk.ev.formula"))
    hit = prep.per_year.get(key)
    if hit is None:
        hit = _Year(stage_views(prep.stage_data.supplies, year),
                    wgi_by_year(prep.inputs.governance, [year])[year], _ev_table(prep, year))
        prep.per_year[key] = hit
    return cast(_Year, hit)


def _stage_record(prep: _Prepared, cid: str, view: StageView) -> dict[str, Any]:
    row = prep.stage_rows.get((view.host or cid, view.stage, view.year), {})
    out = {k: _clean(row.get(k)) for k in STAGE_KEYS}
    out.update(year=view.year, age=view.age, source_stage=view.supply.source_stage, product=view.supply.product,
               host=view.host, flags=list(dict.fromkeys([*view.flags, *row.get("flags", ())])))
    return out


def _commodity(prep: _Prepared, cid: str, year: int, cons: tuple[str, ...], allied: frozenset[str], yi: _Year,
               rirs: dict[str, tuple[float, int]], sis: dict[str, dict[str, Any]], uses: dict[str, set[str]]
               ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    views = yi.views.get(cid, {})
    gov = yi.wgi.governance if yi.wgi is not None else None
    wu, we = float(settings.get("risk.joint.weight_usgs")), float(settings.get("risk.joint.weight_eu"))
    missing: list[str] = []
    sources: set[int] = set()
    stages: dict[str, dict[str, Any]] = {}
    for st, v in views.items():
        stages[st] = _stage_record(prep, cid, v)
        if v.host is None:  # a host's own gaps (its reserves) are not the by-product's
            missing += list(prep.stage_rows.get((cid, st, v.year), {}).get("missing", ()))
        sources.update(int(d) for d in v.supply.dataset_ids)
    ev = yi.evs.get(cid)
    if ev is None:
        missing.append("economic_vulnerability: no price series with enough years")
    else:
        sources |= ev[2]
    rir, si = rirs.get(cid), sis.get(cid)
    if rir is not None:
        sources.add(rir[1])
    eu_reason = ("no substitution index SI_SR in risk/data/substitution_index.csv" if si is None else
                 "no EoL-RIR in the warehouse recycling table" if rir is None else None)
    ci = CommodityInputs(ev[0] if ev else None, (ev[1],) if ev and ev[1] else (),
                         None if ev else "no price series with enough years",
                         rir[0] if rir else None, float(si["si_sr"]) if si else None, eu_reason)
    wgi_flags = ([f"wgi_lag: WGI of {yi.wgi.year_used}"] if yi.wgi is not None and yi.wgi.year_used < year else [])
    wgi_flags += [f"wgi_lag: {n}" for n in (yi.wgi.notes if yi.wgi is not None else ())]
    exposure: dict[str, dict[str, Any]] = {}
    bns: dict[str, Bottleneck] = {}
    exp_rows, idx_rows = [], []
    for k in cons:
        ex = _exposure_for(prep, k, cid, year, allied, gov, views, cid in uses[k])
        missing += ex.missing
        sources |= ex.dataset_ids
        scores = consumer_stage_scores(k, views, gov, ex.nir_by_stage, ex.nir_flags, ex.nir_reasons,
                                       ex.import_shares_by_stage, ci, wu, we, wgi_flags)
        bns[k] = bn = calc_bottleneck(scores, tuple(views))
        exposure[k] = {
            "net_import_reliance": ex.nir.to_dict() if ex.nir else None,
            "import_hhi": ex.import_hhi,
            "non_allied_import_share": ex.non_allied_import_share,
            "supplier_governance_risk": ex.supplier_governance_risk,
            "nir_stage": ex.nir_stage,
            "nir_by_stage": {st: n.to_dict() for st, n in ex.nir_by_stage.items()},
        }
        exp_rows.append(_exposure_row(cid, k, year, ex))
        sc = bn.score
        for name, val, why in (("eu", sc.eu if sc else None, None if sc and sc.eu is not None else
                                _why(scores, "eu", eu_reason)),
                               ("usgs", sc.usgs if sc else None, None if sc and sc.usgs is not None else
                                _why(scores, "usgs", None))):
            if val is None:
                missing.append(f"{k} {name}_supply_risk: not computable: {why}")
        idx_rows.append({
            "commodity_id": cid, "consumer": k, "bottleneck_stage": bn.stage,
            "eu_supply_risk": sc.eu if sc else None, "usgs_supply_risk": sc.usgs if sc else None,
            "stage_score": bn.value, "trade_exposure": (ex.nir_by_stage[bn.stage].usable
                                                        if bn.stage in ex.nir_by_stage else None),
            "economic_vulnerability": ci.ev, "flags": sc.flags if sc else (),
            "reason": bn.reason,
        })
    joint = calc_joint(bns, {k: w for k, w in params.consumer_weights(cons).items()})
    if joint.lacking and joint.value is not None and settings.get("risk.joint.require_all_consumers"):
        joint = replace(joint, value=None, grade=None)
    if joint.value is None:
        missing.append(f"joint_score: not computable: no stage score for {', '.join(joint.lacking)}")
    elif joint.lacking:
        missing.append(f"joint_score: covers {', '.join(joint.covers)} only (no stage score for "
                       f"{', '.join(joint.lacking)})")
    if not views:
        missing.insert(0, _no_data_reason(prep, cid, year))
    lists, via = list_memberships_of(cid)
    rec = {
        "commodity": cid, "stages": stages, "exposure": exposure,
        "indices": {
            "eu_supply_risk": {k: _component(bns[k], "eu") for k in cons},
            "usgs_supply_risk": {k: _component(bns[k], "usgs") for k in cons},
            "joint_score": joint.value,
            "bottleneck_by_consumer": joint.by_consumer,
            "by_stage": {st: {k: _stage_score_dict(bns[k].stages.get(st)) for k in cons} for st in views},
        },
        "bottleneck_stage": joint.stage, "grade": joint.grade, "flags": list(joint.flags),
        "group": joint.group, "covers": list(joint.covers), "lists": list(lists), "lists_via": list(via),
        "rank": None, "missing": list(dict.fromkeys(missing)), "sources": sorted(int(s) for s in sources),
    }
    return rec, exp_rows, idx_rows


def _component(bn: Bottleneck, which: str) -> float | None:
    sc = bn.score
    return None if sc is None else cast("float | None", getattr(sc, which))


def _why(scores: Mapping[str, StageScore], which: str, default: str | None) -> str:
    reasons = [f"{st}: {getattr(s, which + '_reason')}" for st, s in scores.items() if getattr(s, which + "_reason")]
    return "; ".join(reasons) or default or "no stage with production shares"


def _stage_score_dict(s: StageScore | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {"usgs": s.usgs, "eu": s.eu, "score": s.combined, "reason": s.reason}


def _exposure_row(cid: str, k: str, year: int, ex: Exposure) -> dict[str, Any]:
    n = ex.nir
    return {
        "commodity_id": cid, "consumer": k, "year": year, "trade_year": ex.trade_year,
        "trade_source": ex.trade_source,
        "nir": n.value if n else None, "nir_flag": n.flag if n else None,
        "nir_lo": n.lo if n else None, "nir_hi": n.hi if n else None,
        "nir_text": n.text if n else None, "nir_source": n.source if n else None,
        "nir_usable": n.usable if n else None, "nir_stage": ex.nir_stage,
        "net_export_ratio": n.net_export_ratio if n else None,
        "import_hhi": ex.import_hhi, "non_allied_import_share": ex.non_allied_import_share,
        "supplier_governance_risk": ex.supplier_governance_risk,
        "n_partners": len(ex.import_shares),
    }


def _no_data_reason(prep: _Prepared, cid: str, year: int) -> str:
    have = sorted({y for (c, _, y), sup in prep.stage_data.supplies.items() if c == cid and sup.shares is not None})
    srcs = ", ".join(settings.get("data.supply_sources"))
    if cid in GROUP_MEMBERS:
        return f"no_data: a group entry of the lists, scored as its members {', '.join(GROUP_MEMBERS[cid])}"
    if have:
        return (f"no_data: no production shares at any stage within {settings.get('risk.max_data_age_years')} "
                f"years of {year} (years with shares: {have[0]}-{have[-1]})")
    return f"no_data: no production by country at any stage in the warehouse ({srcs})"


# -- public API ---------------------------------------------------------------------------
def run(wh: Warehouse, consumers: Consumers = None, year: int = 2024,
        alliances: tuple[str, ...] | None = None, lists: Sequence[str] | str | None = None) -> Assessment:
    """The full assessment for ``year`` (concentration for every year is in ``.stages``);
    ``consumers`` None: the partners of the setting ``risk.consumers``; ``lists`` (e.g.
    ``"US2025,EU2023,JP"``) keeps the commodities on those lists only."""
    cons = normalize_consumers(consumers if consumers is not None else partners())
    scoped = scope(lists)
    allied = allied_iso3(alliances)
    prep = _prepare(wh, cons, allied)
    frame = prep.stage_data.frame
    if frame.empty or not (frame["year"] == year).any():
        years = sorted(int(y) for y in frame["year"].unique()) if not frame.empty else []
        raise ValueError(f"no production data for {year} in the warehouse (years: {years})")
    yi = _year_inputs(prep, year)
    rirs = _eol_rir(prep.inputs.recycling)
    sis = substitution_index()
    uses = {k: partner_uses(k) for k in cons}
    cids = set(yi.views) | set(frame.loc[frame["year"] == year, "commodity_id"]) | coverage_commodities()
    if scoped is not None:
        cids &= coverage_commodities(scoped)
    records, exp_rows, idx_rows_all = [], [], []
    for cid in sorted(cids):
        rec, er, ir = _commodity(prep, cid, year, cons, allied, yi, rirs, sis, uses)
        records.append(rec)
        exp_rows += er
        idx_rows_all += ir
    _add_geopolrisk(wh, records, cons, year)
    order_records(records)
    watch = watchlist_frame(records, cons, chain_stages(), prep.names)
    return Assessment(year, cons, watch, frame, pd.DataFrame(exp_rows), pd.DataFrame(idx_rows_all), records)


def _add_geopolrisk(wh: Warehouse, records: list[dict[str, Any]], cons: tuple[str, ...], year: int) -> None:
    """GeoPolRisk (:mod:`critmin.risk.geopolrisk`, the published form) beside the other indices
    of each record: ``indices.geopolrisk[consumer]`` = score, with the trade year used
    (``indices.geopolrisk_year``; the newest year with flows at most ``risk.max_data_age_years``
    before ``year``, named in ``missing`` when older) and the reason when not computable. It is
    reported, not part of the joint score."""
    from critmin.risk.geopolrisk import GeoPolRiskNotComputable, geopolrisk_data

    data = geopolrisk_data(wh)
    max_age = int(settings.get("risk.max_data_age_years"))
    for rec in records:
        cid = rec["commodity"]
        if len(data.materials.get(cid, [])) != 1:
            continue
        scores: dict[str, float | None] = {}
        years: dict[str, int | None] = {}
        for k in cons:
            scores[k], years[k] = None, None
            why = ""
            for y in range(year, year - max_age - 1, -1):
                try:
                    res = data.query(k, cid, y)
                except GeoPolRiskNotComputable as e:
                    why = str(e)
                    continue
                scores[k], years[k] = _clean(res.score), y
                if y != year:
                    rec["missing"].append(f"{k} geopolrisk: trade of {y} used ({year - y} years old)")
                break
            if scores[k] is None:
                rec["missing"].append(f"{k} geopolrisk: not computable: {why}")
        rec["indices"]["geopolrisk"] = scores
        rec["indices"]["geopolrisk_year"] = years


def assess(wh: Warehouse, consumers: Consumers = None, year: int = 2024,
           lists: Sequence[str] | str | None = None) -> pd.DataFrame:
    """The joint watchlist: one row per commodity; the scores covering every partner first,
    ranked by ``joint_score`` (``group`` 'ranked'), then the single-partner scores
    ('single_partner', ``rank`` NA), then the commodities without a score ('no_score', the
    reason in ``missing``). ``lists`` scopes it to the commodities of those lists."""
    return run(wh, consumers, year, lists=lists).watchlist


def concentration_history(wh: Warehouse, commodity: str | None = None, stage: str | None = None,
                          alliances: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Concentration indicators for every year in the warehouse (newest release per year;
    column ``source`` names the source that answered, ``choices`` why)."""
    prep = _prepare(wh, normalize_consumers(partners()), allied_iso3(alliances))
    f = prep.stage_data.frame
    if commodity is not None:
        f = f[f["commodity_id"] == wh.resolve_commodity(commodity)]
    if stage is not None:
        f = f[f["stage"] == stage]
    return f.sort_values(["commodity_id", "stage", "year"]).reset_index(drop=True)


def economic_vulnerability(wh: Warehouse, year: int = 2024) -> pd.DataFrame:
    """Economic-vulnerability factor (0-1) per commodity; ``reason`` says why it is missing."""
    prep = _prepare(wh, normalize_consumers(partners()), allied_iso3())
    evs = _ev_table(prep, year)
    cids = sorted(set(prep.stage_data.frame["commodity_id"]))
    return pd.DataFrame([
        {"commodity_id": c, "economic_vulnerability": evs[c][0] if c in evs else None,
         "reason": None if c in evs else "not computable: no price series with enough years"}
        for c in cids
    ])


def high_risk_commodities(wh: Warehouse, consumers: Consumers = None, year: int = 2024,
                          top_n: int | None = None) -> list[str]:
    """The top ``top_n`` (setting ``risk.high_risk_top_n``) commodities of the watchlist."""
    n = int(settings.get("risk.high_risk_top_n") if top_n is None else top_n)
    w = assess(wh, consumers, year)
    return [str(c) for c in w.loc[w["rank"].notna(), "commodity"].head(n)]
