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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from critmin import settings
from critmin.data.partners import nir_source, partners
from critmin.data.tradefallback import FallbackCell, fallback_cells
from critmin.risk import params
from critmin.risk.alliances import allied_iso3
from critmin.risk.consumers import (
    NIR_VARIABLE,
    Exposure,
    NIRCell,
    OwnProduction,
    TradeIndex,
    build_trade_index,
    nir_cells,
    trade_exposure,
    us_nir,
)
from critmin.risk.indices import (
    IndexValue,
    calc_disruption_potential,
    calc_eu_supply_risk_consumer,
    calc_joint_score,
    calc_usgs_supply_risk,
    not_computable,
)
from critmin.risk.loaders import RiskInputs, load_inputs
from critmin.risk.stages import StageData, WGIYear, concentration_frame, selected_rows, wgi_by_year
from critmin.risk.substitution import substitution_index
from critmin.risk.vulnerability import calc_economic_vulnerability, calc_price_volatility

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
    #: (consumer, commodity, year) -> analysis stage -> (quantity, unit, raw text)
    own_production: dict[tuple[str, str, int], dict[str, OwnProduction]]
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


_CACHE: dict[tuple[Any, ...], _Prepared] = {}
_LOCK = threading.Lock()


#: settings read while preparing the cached inputs (part of the cache key)
_PREPARE_SETTINGS = ("data.supply_sources", "risk.stages", "risk.processing_stage_preference",
                     "risk.wgi_max_lag_years", "risk.trade_sources", "risk.trade_fallback_sources",
                     "risk.fallback_min_partner_coverage")


def _prepare(wh: Warehouse, consumers: tuple[str, ...], allied: frozenset[str]) -> _Prepared:
    key = (wh.fingerprint(), consumers, tuple(sorted(allied)),
           tuple(settings.get(n) for n in _PREPARE_SETTINGS))
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    inputs = load_inputs(wh, consumers)
    sd = concentration_frame(inputs.production, inputs.reserves, inputs.governance, allied)
    own = _own_production(sd, consumers)
    prices: dict[str, dict[str, dict[int, float]]] = {}
    price_ids: dict[str, set[int]] = {}
    for r in inputs.prices.itertuples(index=False):
        prices.setdefault(r.commodity_id, {}).setdefault(r.series, {})[int(r.year)] = float(r.quantity)
        price_ids.setdefault(r.commodity_id, set()).add(int(r.dataset_id))

    fb_cells, fb_reasons = fallback_cells(inputs.trade)
    prep = _Prepared(inputs, sd, own, build_trade_index(inputs.trade), fb_cells, fb_reasons, prices, price_ids,
                     nir_cells(inputs.nir_salient), nir_cells(inputs.nir_trend))
    with _LOCK:
        if len(_CACHE) > 8:
            _CACHE.clear()
        _CACHE[key] = prep
    return prep


def _own_production(sd: StageData, consumers: tuple[str, ...]) -> dict[tuple[str, str, int], dict[str, OwnProduction]]:
    """(consumer, commodity, year) -> analysis stage -> the consumer's production there, from the
    rows that answer supply at that stage; a consumer the answering source does not list gets
    ``listed=False`` (nil production, noted by the computed NIR)."""
    own: dict[tuple[str, str, int], dict[str, OwnProduction]] = {}
    if sd.frame.empty:
        return own
    rows = selected_rows(sd)
    rows = rows[rows["country_iso3"].isin(consumers) & rows["aggregate"].isna()]
    for (c, cid, y, st), g in rows.groupby(["country_iso3", "commodity_id", "year", "analysis_stage"]):
        q = g["quantity"].dropna()
        own.setdefault((str(c), str(cid), int(y)), {})[str(st)] = OwnProduction(
            float(q.sum()) if not q.empty else None, str(g["unit"].iloc[0]), str(g["value_raw"].iloc[0]),
            str(g["source"].iloc[0]))
    for (cid, st, y), sup in sd.supplies.items():
        for c in consumers:
            own.setdefault((c, cid, y), {}).setdefault(
                st, OwnProduction(0.0, str(sup.unit), "", sup.source, listed=False))
    return own


# -- pieces ------------------------------------------------------------------------------------
def _ev_table(prep: _Prepared, year: int) -> dict[str, tuple[float | None, str | None, set[int]]]:
    window = int(settings.get("risk.ev.window_years"))
    min_changes = int(settings.get("risk.ev.min_changes"))
    cap = float(settings.get("risk.ev.volatility_cap"))
    out: dict[str, tuple[float | None, str | None, set[int]]] = {}
    for cid, series_map in prep.prices.items():
        vols = []
        for series in series_map.values():
            s = {y: p for y, p in series.items() if year - window < y <= year}
            ys = sorted(s)
            if sum(1 for a, b in zip(ys, ys[1:], strict=False) if b == a + 1) < min_changes:
                continue
            try:
                vols.append(calc_price_volatility(s))
            except ValueError:
                continue
        if vols:
            out[cid] = (calc_economic_vulnerability(vols, cap), None, prep.price_ids.get(cid, set()))
    return out


def _eol_rir(recycling: pd.DataFrame) -> dict[str, tuple[float, int]]:
    out: dict[str, tuple[float, int]] = {}
    if recycling.empty:
        return out
    for _, r in recycling.dropna(subset=["eol_rir"]).iterrows():
        out.setdefault(str(r["commodity_id"]), (float(r["eol_rir"]), int(r["dataset_id"])))
    return out


def _exposure_for(prep: _Prepared, consumer: str, cid: str, year: int, allied: frozenset[str],
                  wgi_unit: dict[str, float] | None) -> Exposure:
    published = nir_source(consumer) == "USGS_MCS"
    ex = trade_exposure(prep.trade.get((consumer, cid)), prep.own_production.get((consumer, cid, year), {}),
                        consumer, cid, year, allied, wgi_unit, want_nir=not published,
                        fallback=prep.trade_fallback.get((consumer, cid)),
                        fallback_reasons=prep.fallback_reasons.get((consumer, cid)))
    if published:  # the consumer's NIR is the one the MCS publishes (setting risk.nir_source)
        sal = NIR_VARIABLE.get(cid, (cid, ""))[0]
        n, ids, reason = us_nir(prep.nir_salient.get((sal, year), []), prep.nir_trend.get((cid, year), []), cid, year)
        if n is not None:
            ex.nir, ex.nir_stage = n, None
            ex.dataset_ids |= ids
        else:
            ex.missing.append(f"{consumer} {reason}")
    return ex


def _indices_for(cid: str, year: int, consumers: tuple[str, ...], prep: _Prepared,
                 exps: dict[str, Exposure], wgi: WGIYear | None, ev: tuple[float | None, str | None, set[int]] | None,
                 rir: tuple[float, int] | None, si: dict[str, Any] | None) -> list[dict[str, Any]]:
    out = []
    stage_shares = {st: prep.stage_data.shares[(cid, st, year)]
                    for st in settings.get("risk.stages") if (cid, st, year) in prep.stage_data.shares}
    for k in consumers:
        ex = exps[k]
        ir = ex.nir.usable if ex.nir is not None else None
        # EU supply risk: the higher of the stages that are computable
        eu: IndexValue
        if si is None:
            eu = not_computable("no substitution index SI_SR in risk/data/substitution_index.csv")
        elif rir is None:
            eu = not_computable("no EoL-RIR in the warehouse recycling table")
        elif ir is None:
            eu = not_computable(f"no net import reliance for {k}")
        elif wgi is None:
            eu = not_computable("no WGI within the allowed lag")
        elif not stage_shares:
            eu = not_computable(f"no production shares for {year}")
        else:
            vals, why = {}, []
            for st, sh in stage_shares.items():
                imp = ex.import_shares_by_stage.get(st)
                if imp is None and ir > 0:
                    why.append(f"{st}: no {k} imports by partner")
                    continue
                try:
                    vals[st] = calc_eu_supply_risk_consumer(
                        k, sh.shares, imp or {}, ir, wgi.scaled, rir[0], float(si["si_sr"]))
                except KeyError as e:
                    why.append(f"{st}: {e.args[0]}")
            if vals:
                st = max(vals, key=lambda s: vals[s])
                eu = IndexValue(vals[st], None, f"stage {st}")
            else:
                eu = not_computable("; ".join(why))
        # USGS-style supply risk
        dps = {}
        if wgi is not None:
            for st, sh in stage_shares.items():
                try:
                    dps[st] = calc_disruption_potential(sh.shares, wgi.unit, consumer=k)
                except KeyError:
                    continue
        us: IndexValue
        if not dps:
            us = not_computable("no disruption potential (production shares or WGI missing)")
        elif ir is None:
            us = not_computable(f"no net import reliance for {k}")
        elif ev is None or ev[0] is None:
            us = not_computable("no economic vulnerability (no price series with enough years)")
        else:
            st = max(dps, key=lambda s: dps[s])
            us = IndexValue(calc_usgs_supply_risk(dps[st], ir, ev[0]), None, f"DP stage {st}")
        out.append({
            "commodity_id": cid, "consumer": k,
            "eu_supply_risk": eu.value, "eu_detail": eu.detail, "eu_reason": eu.reason,
            "disruption_potential": max(dps.values()) if dps else None,
            "dp_stage": max(dps, key=lambda s: dps[s]) if dps else None,
            "trade_exposure": ir,
            "economic_vulnerability": ev[0] if ev else None,
            "usgs_supply_risk": us.value, "usgs_detail": us.detail, "usgs_reason": us.reason,
        })
    return out


def _joint(idx_rows: list[dict[str, Any]], consumers: tuple[str, ...]) -> tuple[float | None, list[str]]:
    wu, we = float(settings.get("risk.joint.weight_usgs")), float(settings.get("risk.joint.weight_eu"))
    weights = params.consumer_weights(consumers)
    usgs = {r["consumer"]: r["usgs_supply_risk"] for r in idx_rows if r["usgs_supply_risk"] is not None}
    eu = {r["consumer"]: r["eu_supply_risk"] for r in idx_rows if r["eu_supply_risk"] is not None}
    have = [k for k in consumers if (wu == 0 or k in usgs) and (we == 0 or k in eu)]
    lacking = [k for k in consumers if k not in have]
    notes = []
    if not have or (lacking and settings.get("risk.joint.require_all_consumers")):
        return None, [f"joint_score: not computable: components missing for {', '.join(lacking)}"]
    if lacking:
        notes.append(f"joint_score: covers {', '.join(have)} only (components missing for {', '.join(lacking)})")
    j = calc_joint_score(usgs, eu, {k: weights[k] for k in have}, wu, we)
    return j, notes


def _clean(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):
        v = v.item()
        return None if isinstance(v, float) and math.isnan(v) else v
    return v


# -- public API ---------------------------------------------------------------------------
def run(wh: Warehouse, consumers: Consumers = None, year: int = 2024,
        alliances: tuple[str, ...] | None = None) -> Assessment:
    """The full assessment for ``year`` (concentration for every year is in ``.stages``);
    ``consumers`` None: the partners of the setting ``risk.consumers``."""
    cons = normalize_consumers(consumers if consumers is not None else partners())
    allied = allied_iso3(alliances)
    prep = _prepare(wh, cons, allied)
    frame = prep.stage_data.frame
    cur = frame[frame["year"] == year]
    if cur.empty:
        years = sorted(frame["year"].unique()) if not frame.empty else []
        raise ValueError(f"no production data for {year} in the warehouse (years: {years})")
    wgi = wgi_by_year(prep.inputs.governance, [year])[year]
    evs = _ev_table(prep, year)
    rirs = _eol_rir(prep.inputs.recycling)
    sis = substitution_index()
    names = dict(zip(prep.inputs.commodities.get("commodity_id", []),
                     prep.inputs.commodities.get("name", []), strict=False))
    records, exp_rows, idx_rows_all = [], [], []
    for cid, g in cur.groupby("commodity_id", sort=True):
        missing: list[str] = []
        sources: set[int] = set()
        stages: dict[str, dict[str, Any]] = {}
        for _, r in g.iterrows():
            stages[r["stage"]] = {k: _clean(r[k]) for k in STAGE_KEYS}
            missing += list(r["missing"])
            sources.update(r["dataset_ids"])
        exps = {k: _exposure_for(prep, k, cid, year, allied, wgi.unit if wgi else None) for k in cons}
        exposure: dict[str, dict[str, Any]] = {}
        for k, ex in exps.items():
            missing += ex.missing
            sources |= ex.dataset_ids
            exposure[k] = {
                "net_import_reliance": ex.nir.to_dict() if ex.nir else None,
                "import_hhi": ex.import_hhi,
                "non_allied_import_share": ex.non_allied_import_share,
                "supplier_governance_risk": ex.supplier_governance_risk,
            }
            n = ex.nir
            exp_rows.append({
                "commodity_id": cid, "consumer": k, "year": year, "trade_year": ex.trade_year,
                "trade_source": ex.trade_source,
                "nir": n.value if n else None, "nir_flag": n.flag if n else None,
                "nir_lo": n.lo if n else None, "nir_hi": n.hi if n else None,
                "nir_text": n.text if n else None, "nir_source": n.source if n else None,
                "nir_usable": n.usable if n else None, "nir_stage": ex.nir_stage,
                "import_hhi": ex.import_hhi, "non_allied_import_share": ex.non_allied_import_share,
                "supplier_governance_risk": ex.supplier_governance_risk,
                "n_partners": len(ex.import_shares),
            })
        ev = evs.get(cid)
        if ev is None:
            missing.append("economic_vulnerability: no price series with enough years")
        else:
            sources |= ev[2]
        rir = rirs.get(cid)
        if rir is not None:
            sources.add(rir[1])
        idx = _indices_for(cid, year, cons, prep, exps, wgi, ev, rir, sis.get(cid))
        for r in idx:
            for key in ("eu", "usgs"):
                if r[f"{key}_reason"]:
                    missing.append(f"{r['consumer']} {key}_supply_risk: {r[f'{key}_reason']}")
        joint, notes = _joint(idx, cons)
        missing += notes
        idx_rows_all += idx
        records.append({
            "commodity": cid,
            "stages": stages,
            "exposure": exposure,
            "indices": {
                "eu_supply_risk": {r["consumer"]: r["eu_supply_risk"] for r in idx},
                "usgs_supply_risk": {r["consumer"]: r["usgs_supply_risk"] for r in idx},
                "joint_score": joint,
            },
            "rank": None,
            "missing": list(dict.fromkeys(missing)),
            "sources": sorted(int(s) for s in sources),
            "_name": names.get(cid, cid),
        })
    records.sort(key=lambda r: (r["indices"]["joint_score"] is None,
                                -(r["indices"]["joint_score"] or 0.0), r["commodity"]))
    rank = 0
    for r in records:
        if r["indices"]["joint_score"] is not None:
            rank += 1
            r["rank"] = rank
    watch = _watchlist_frame(records, cons)
    for r in records:
        r.pop("_name", None)
    return Assessment(year, cons, watch, frame, pd.DataFrame(exp_rows), pd.DataFrame(idx_rows_all), records)


def _watchlist_frame(records: list[dict[str, Any]], cons: tuple[str, ...]) -> pd.DataFrame:
    rows = []
    for r in records:
        row: dict[str, Any] = {"rank": r["rank"], "commodity": r["commodity"], "name": r["_name"],
                               "joint_score": r["indices"]["joint_score"]}
        for k in cons:
            row[f"usgs_supply_risk_{k}"] = r["indices"]["usgs_supply_risk"].get(k)
            row[f"eu_supply_risk_{k}"] = r["indices"]["eu_supply_risk"].get(k)
            nir = r["exposure"][k]["net_import_reliance"]
            row[f"nir_{k}"] = nir["usable"] if nir else None
            row[f"nir_text_{k}"] = nir["text"] if nir else None
            row[f"nir_ref_{k}"] = tuple(nir["ref"]) if nir and nir.get("ref") else None
            row[f"non_allied_import_share_{k}"] = r["exposure"][k]["non_allied_import_share"]
        for st in settings.get("risk.stages"):
            s = r["stages"].get(st) or {}
            row[f"top_country_{st}"] = s.get("top_country_iso3")
            row[f"top_share_{st}"] = s.get("top_share")
            row[f"china_share_{st}"] = s.get("china_share")
            row[f"hhi_{st}"] = s.get("hhi")
            row[f"source_{st}"] = s.get("source")
        row["missing"] = r["missing"]
        row["sources"] = r["sources"]
        rows.append(row)
    df = pd.DataFrame(rows)
    if not df.empty:
        df["rank"] = df["rank"].astype("Int64")
    return df


def assess(wh: Warehouse, consumers: Consumers = None, year: int = 2024) -> pd.DataFrame:
    """The joint watchlist: one row per commodity, sorted by ``joint_score`` (highest first;
    commodities whose score is not computable last, with ``rank`` NA)."""
    return run(wh, consumers, year).watchlist


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
