"""Response options for an incident, ranked and explained (``docs/incidents.md``).

Four kinds, each row with ``option_id``, ``kind``, ``commodity``, ``title``, ``potential_t`` (t
of the partners' shortfall the option could cover within the horizon, or None with the reason),
``months_to_effect``, ``value_usd`` where a price is known, ``why`` (how the numbers were made)
and its evidence:

* ``stockpile``: one option per sharing rule (:mod:`critmin.incident.sharing`); potential =
  shortfall covered by the release; value = that x price;
* ``supplier``: producers at the commodity's supply stage other than the restricting countries
  (:func:`critmin.data.supply.select_stage` through the simulator's market), with the
  simulator's spare capacity (``disruption.spare_capacity``, per-country overrides) and its
  linear ramp (``disruption.ramp_up_months``), allied membership (setting ``risk.alliances``,
  ``risk/alliances.py``), WGI governance (mean of the six estimates in the newest year, as the
  hazard model uses it: ``market.meta['governance']``), and
  the partners' recorded imports from the supplier (every BACI / Comtrade line behind it:
  dataset id and source line). Potential = spare capacity available within the horizon; the
  simulator's shortfall already counts it shared by demand, so securing it by contract is
  what the option buys (an upper bound, not additive with the other suppliers');
* ``project``: registry projects for the commodity (time to first output, financing requested,
  permits outstanding); potential = capacity x months of output inside the horizon;
* ``demand``: short-run substitution (``data/curated/substitutability.csv`` x the partner's
  end-use shares, ``end_uses.csv``) and recycling (``Warehouse.recycling_rates``, EoL-RIR; its
  potential increase is not quantified: shown, not ranked).

Ranking (:func:`rank`): options with a potential first, by the share of the shortfall covered
(capped at 1), then by months to effect, then by value; the others after, in kind order.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from critmin import settings
from critmin.disruption.market import Market
from critmin.disruption.params import ModelParams
from critmin.incident import params  # noqa: F401

KIND_ORDER = {"stockpile": 0, "supplier": 1, "project": 2, "demand": 3}


def calc_ramped_capacity_t(spare_t_per_year: float, ramp_months: float, months: int) -> float:
    """Tonnes a spare capacity delivers in ``months`` months when it ramps linearly from 0 to
    full over ``ramp_months`` (the simulator's rule 5): ``sum_m spare/12 x min(1, m / ramp)``."""
    m = np.arange(1, months + 1)
    return float((spare_t_per_year / 12.0 * np.minimum(1.0, m / max(ramp_months, 1e-9))).sum())


def stockpile_options(assessment: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for c in assessment["commodities"]:
        cid, sh = c["commodity"], c["sharing"]
        total = sum(p["shortfall_t"] for p in c["partners"])
        if not sh.get("computable"):
            out.append({"option_id": f"stockpile:{cid}", "kind": "stockpile", "commodity": cid,
                        "title": f"Stockpile release of {cid}", "potential_t": None, "months_to_effect": 0,
                        "value_usd": None, "not_computable": sh.get("reason"),
                        "why": "the sharing rules need each partner's recorded stock and consumption"})
            continue
        for r in sh["rules"]:
            covered = total - r["total_unmet_t"]
            out.append({
                "option_id": f"stockpile:{cid}:{r['rule']}", "kind": "stockpile", "commodity": cid,
                "title": f"Stockpile release of {cid}: {r['label']}", "potential_t": covered, "months_to_effect": 0,
                "value_usd": None if c["price_usd_per_t"] is None else covered * c["price_usd_per_t"],
                "value_of_coordination_usd": r["value_of_coordination_usd"], "rule": r["rule"],
                "min_days_of_cover": r["min_days_of_cover"], "partners": r["partners"],
                "why": (f"releases {covered:,.3g} t of the {total:,.3g} t shortfall; worst-off partner left with "
                        f"{r['min_days_of_cover']:,.0f} days of cover"),
            })
    return out


def trade_evidence(flows: pd.DataFrame, cid: str, partners: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Per supplier: the partners' imports of ``cid`` from it in the newest year of each partner
    and source (t and US$ summed over HS lines, with the lines: dataset id, source line)."""
    f = flows[(flows["commodity_id"] == cid) & (flows["flow"] == "import") & flows["month"].isna()
              & flows["consumer"].isin(list(partners))]
    out: dict[str, list[dict[str, Any]]] = {}
    for (k, src), g in f.groupby(["consumer", "source"], sort=True):
        y = int(g["year"].max())
        g = g[g["year"] == y]
        for sup, h in g.groupby("partner_iso3", sort=True):
            out.setdefault(str(sup), []).append({
                "partner": str(k), "source": str(src), "year": y,
                "qty_t": float(h["qty_t"].sum()) if h["qty_t"].notna().any() else None,
                "value_usd": float(h["value_usd"].sum()) if h["value_usd"].notna().any() else None,
                "hs_codes": sorted({str(x) for x in h["hs_code"]}),
                "rows": [[int(d), int(s)] for d, s in zip(h["dataset_id"], h["source_line"], strict=True)][:50],
            })
    return out


def supplier_options(market: Market, assessment: Mapping[str, Any], restricting: Sequence[str],
                     flows: pd.DataFrame, allied: frozenset[str]) -> list[dict[str, Any]]:
    """Alternative suppliers per commodity (module docstring). Governance is the market's
    (``market.meta['governance']``: mean of the six WGI estimates in the newest year, the
    figure the hazard model uses)."""
    ov = assessment["scenario"].get("overrides") or {}
    p = ModelParams.from_settings({k: v for k, v in ov.items() if v not in (None, {})})
    months = int(assessment["horizon_months"])
    wgi: Mapping[str, float] = market.meta.get("governance", {})
    nmax = int(settings.get("incident.max_suppliers"))
    out = []
    for c in assessment["commodities"]:
        cid = c["commodity"]
        cm = market.commodities[cid]
        short = sum(x["shortfall_t"] for x in c["partners"])
        ev = trade_evidence(flows, cid, market.consumers)
        world = float(cm.production_t.sum())
        prov = cm.provenance.get("production", {})
        cands = [(pp, float(q)) for pp, q in zip(cm.producers, cm.production_t, strict=True)
                 if pp not in restricting and pp not in market.consumers and pp != "OTH" and (q > 0 or pp in ev)]
        alt_total = sum(q for _, q in cands)
        rows = []
        for pp, q in cands:
            spare = p.spare_for(pp) * q
            ramp = p.ramp_for(pp)
            avail = calc_ramped_capacity_t(spare, ramp, months)
            g = wgi.get(pp)
            rows.append({
                "option_id": f"supplier:{cid}:{pp}", "kind": "supplier", "commodity": cid, "supplier": pp,
                "title": f"Secure {cid} from {pp}", "stage": cm.stage,
                "production_t": q, "world_share": q / world if world > 0 else None,
                "production_source": {k: prov.get(k) for k in ("source", "year", "product", "stage") if k in prov},
                "spare_capacity_t_per_year": spare, "ramp_up_months": ramp,
                "potential_t": min(avail, short) if short > 0 else avail, "spare_in_horizon_t": avail,
                "months_to_effect": ramp, "value_usd": None,
                "allied": pp in allied, "wgi_mean": g,
                "trade": ev.get(pp, []),
                "why": (f"{pp} produced {q:,.4g} t ({100 * q / world:.1f} % of world) at the {cm.stage} stage; spare "
                        f"capacity {spare:,.3g} t/yr ramping over {ramp:g} months gives {avail:,.3g} t within "
                        f"{months} months" + ("; allied" if pp in allied else "")
                        + ("; no recorded partner imports from it" if pp not in ev else "")),
            })
        # by spare capacity, then output, then what the partners already import from it (a
        # re-exporter without recorded output is known from trade alone)
        rows.sort(key=lambda r: (-r["spare_in_horizon_t"], -r["production_t"],
                                 -sum(t["qty_t"] or 0.0 for t in r["trade"]), r["supplier"]))
        allied_share = (sum(q for pp, q in cands if pp in allied) / alt_total) if alt_total > 0 else None
        for r in rows[:nmax]:
            r["allied_share_of_alternatives"] = allied_share
            out.append(r)
    return out


def project_options(projects: Sequence[Any], assessment: Mapping[str, Any], today: dt.date) -> list[dict[str, Any]]:
    """Registry projects (``critmin.projects.models.Project``) for the incident's commodities."""
    months = int(assessment["horizon_months"])
    start = dt.date.fromisoformat(assessment["start_date"])
    by_c = {c["commodity"]: c for c in assessment["commodities"]}
    out = []
    for pr in projects:
        if pr.commodity_id not in by_c:
            continue
        fy = pr.first_production_year
        if fy is None:
            m_first, pot, why = None, None, "first production year not stated in the sources"
        else:
            first = dt.date(int(fy), 1, 1)
            m_first = max(0, (first.year - start.year) * 12 + first.month - start.month)
            inside = max(0, months - m_first)
            pot = None if pr.capacity_tpy is None else float(pr.capacity_tpy) * inside / 12.0
            why = (f"first output {fy}" + ("" if pr.capacity_tpy is None else f", {pr.capacity_tpy:,.4g} t/yr")
                   + f": {inside} of {months} months inside the horizon")
        reqs = list(pr.financing_requests)
        amounts = [r.amount_usd for r in reqs]
        outstanding = [m for m in pr.permitting_milestones if m.actual_date is None]
        out.append({
            "option_id": f"project:{pr.id}", "kind": "project", "commodity": pr.commodity_id, "project": pr.id,
            "title": f"Accelerate {pr.name}", "stage": str(pr.stage), "host": pr.host_country_iso3,
            "status": str(pr.status), "capacity_tpy": pr.capacity_tpy, "first_production_year": fy,
            "months_to_effect": m_first, "potential_t": pot, "value_usd": None,
            "financing_requested_usd": (None if any(a is None for a in amounts) else float(sum(a for a in amounts if a)))
            if reqs else 0.0,
            "financing_note": ("some requested amounts are not public" if any(a is None for a in amounts) else None),
            "permits_outstanding": [{"name": m.name, "target_date": m.target_date.isoformat(),
                                     "overdue": m.target_date < today} for m in outstanding],
            "visibility": str(pr.visibility), "why": why,
        })
    return out


def demand_options(assessment: Mapping[str, Any], subst: pd.DataFrame, end_uses: pd.DataFrame,
                   recycling: pd.DataFrame) -> list[dict[str, Any]]:
    """Substitution (share-weighted short-run substitutability of each partner's end uses x its
    shortfall) and recycling (current EoL-RIR; not ranked)."""
    out = []
    for c in assessment["commodities"]:
        cid = c["commodity"]
        parts, pot, missing = [], 0.0, []
        for p in c["partners"]:
            eu = end_uses[(end_uses["commodity_id"] == cid) & (end_uses["partner"] == p["partner"])]
            sb = subst[subst["commodity_id"] == cid].set_index("sector")["short_run_substitutability"]
            eu = eu[eu["share"].notna()]
            if p["shortfall_t"] <= 0:
                continue
            if eu.empty:
                missing.append(f"{p['partner']}: no end-use shares")
                continue
            w = [(float(r.share), float(sb.get(r.sector, math.nan))) for r in eu.itertuples()]
            known = [(s, v) for s, v in w if math.isfinite(v)]
            share_known = sum(s for s, _ in known)
            frac = sum(s * v for s, v in known)
            t = frac * p["shortfall_t"]
            pot += t
            parts.append({"partner": p["partner"], "substitutable_fraction": frac,
                          "end_use_share_with_rating": share_known, "potential_t": t})
        if parts or missing:
            out.append({"option_id": f"demand:substitution:{cid}", "kind": "demand", "commodity": cid,
                        "title": f"Short-run substitution of {cid}", "potential_t": pot if parts else None,
                        "months_to_effect": None, "value_usd": None if c["price_usd_per_t"] is None or not parts
                        else pot * c["price_usd_per_t"], "partners": parts,
                        "not_computable": "; ".join(missing) or None,
                        "why": "end-use share x short-run substitutability (Graedel et al. 2015) x shortfall; "
                               "end uses without a rating count as not substitutable"})
        rr = recycling[recycling["commodity_id"] == cid]
        if not rr.empty:
            rate = float(rr.iloc[0]["commodity_eol_rir"])
            out.append({"option_id": f"demand:recycling:{cid}", "kind": "demand", "commodity": cid,
                        "title": f"Recycling of {cid}", "eol_rir": rate, "potential_t": None,
                        "months_to_effect": None, "value_usd": None, "rule": rr.iloc[0]["commodity_rule"],
                        "dataset_id": int(rr.iloc[0]["dataset_id"]),
                        "not_computable": "the warehouse gives the current end-of-life recycling input rate, "
                                          "not how fast it can rise",
                        "why": f"current EoL-RIR {100 * rate:.0f} % (UNEP 2011)"})
    return out


def rank(options: list[dict[str, Any]], assessment: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rank options (module docstring); adds ``rank`` and ``covers_share`` (of the commodity's
    total partner shortfall)."""
    short = {c["commodity"]: sum(p["shortfall_t"] for p in c["partners"]) for c in assessment["commodities"]}

    def key(o: dict[str, Any]) -> tuple[Any, ...]:
        pot, s = o.get("potential_t"), short.get(o["commodity"], 0.0)
        o["covers_share"] = None
        if pot is None or s <= 0:
            return (1, KIND_ORDER[o["kind"]], o["option_id"])
        cov = min(pot / s, 1.0)
        o["covers_share"] = cov
        m = o.get("months_to_effect")
        return (0, -round(cov, 6), m if m is not None else 1e9, -(o.get("value_usd") or 0.0), o["option_id"])

    ranked = sorted(options, key=key)
    for i, o in enumerate(ranked, 1):
        o["rank"] = i
    return ranked
