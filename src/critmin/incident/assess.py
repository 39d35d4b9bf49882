"""The incident's assessment: the trigger's scenario run for both partners.

:func:`assess` (I/O: the market from the warehouse through ``critmin.disruption``) returns a
JSON-ready document; the numbers come from the simulator (``disruption.deterministic``,
segmented markets where a ban targets some importers) and, for the Monte Carlo part, from the
same engine run ``incident.mc_runs`` times with the uncertain inputs drawn:

* an event still in force (no end date) lasts a log-normal number of months (median
  ``disruption.hazard.duration_median_months``, log-sd ``duration_sigma``), cut at the horizon;
* a cut the trigger does not give (flag ``cut_assumed``) is Beta(``severity_alpha``,
  ``severity_beta``).

Per commodity and partner: the shortfall by month in t, % of consumption and US$ (at the
simulator's reference price), the price change in the open and the restricted pool, and the
days of cover of the partner's recorded stock (stock / (consumption / ``incident.days_per_year``));
a partner without a recorded stock has cover "not computable", never 0 days.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from critmin import settings
from critmin.disruption.deterministic import outcome_rows, run_scenario
from critmin.disruption.engine import Slot, compile_commodity, simulate
from critmin.disruption.market import Market
from critmin.disruption.params import ModelParams
from critmin.disruption.scenario import Scenario
from critmin.incident import params  # noqa: F401
from critmin.incident.sharing import compare_rules
from critmin.incident.trigger import Trigger, restage

#: (partner, commodity) -> recorded inventory {"quantity_t", "as_of", "source", "inventory_id"}
Inventory = Mapping[tuple[str, str], Mapping[str, Any]]


def calc_days_of_cover(stock_t: float, consumption_t_per_year: float, days_per_year: float) -> float | None:
    """Days of consumption a stock covers: ``stock / (consumption / days_per_year)``; None when
    the consumption is not positive (cover undefined)."""
    if not consumption_t_per_year > 0:
        return None
    return stock_t / (consumption_t_per_year / days_per_year)


def _slots(sc: Scenario, cid: str) -> tuple[list[Slot], list[Any]]:
    evs = [e for e in sc.events if e.commodity == cid]
    return ([Slot(e.country, e.stage, tuple(e.targets) if e.targets else None, e.kind,
                  1.0 if e.quantity_t is not None else None) for e in evs], evs)


def monte_carlo(market: Market, trigger: Trigger, runs: int, random_state: int | np.random.Generator
                ) -> dict[str, dict[str, Any]]:
    """Quantiles of each partner's horizon shortfall over ``runs`` draws of the uncertain inputs
    (module docstring). Returns ``{commodity: {partner: {p5_t, p50_t, p95_t, p5_pct, ...,
    p_gt_10pct}}}``; an empty dict when ``runs`` is 0."""
    if runs <= 0:
        return {}
    rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
    sc = trigger.scenario
    T = sc.horizon_months
    med = float(settings.get("disruption.hazard.duration_median_months"))
    sig = float(settings.get("disruption.hazard.duration_sigma"))
    a = float(settings.get("disruption.hazard.severity_alpha"))
    b = float(settings.get("disruption.hazard.severity_beta"))
    open_ended = set(trigger.evidence.get("open_ended", []))
    assumed = set(trigger.evidence.get("cut_assumed", []))
    p = ModelParams.from_settings(sc.overrides.as_dict())
    out: dict[str, dict[str, Any]] = {}
    for cid in trigger.commodities:
        if cid not in market.commodities:
            continue
        slots, evs = _slots(sc, cid)
        comp = compile_commodity(market.commodities[cid], slots, p)
        n, h = runs, len(evs)
        cut = np.tile([e.magnitude for e in evs], (n, 1)).astype(float)
        start = np.tile([e.start_month for e in evs], (n, 1))
        dur = np.tile([e.duration_months for e in evs], (n, 1))
        for j, e in enumerate(evs):
            key = f"{cid}:{j}"
            if key in open_ended:
                d = np.exp(np.log(med) + sig * rng.standard_normal(n))
                dur[:, j] = np.clip(np.ceil(d), 1, T - e.start_month + 1).astype(int)
            if key in assumed:
                cut[:, j] = rng.beta(a, b, n)
        res = simulate(comp, cut, start, dur, np.ones((n, h), bool), T)
        short = res.shortfall.sum(axis=1)  # [run, importer]
        dem = res.demand.sum(axis=0)
        rows = {}
        for k, kid in enumerate(market.consumers):
            tot = short[:, k]
            pct = 100.0 * tot / dem[k] if dem[k] > 0 else None
            q = np.quantile(tot, [0.05, 0.5, 0.95])
            row: dict[str, Any] = {"p5_t": float(q[0]), "p50_t": float(q[1]), "p95_t": float(q[2]),
                                   "mean_t": float(tot.mean())}
            if pct is not None and kid not in market.commodities[cid].demand_unknown:
                qp = np.quantile(pct, [0.05, 0.5, 0.95])
                row.update(p5_pct=float(qp[0]), p50_pct=float(qp[1]), p95_pct=float(qp[2]),
                           p_gt_10pct=float((pct > 10.0).mean()))
            rows[kid] = row
        out[cid] = rows
    return out


def _stock(inv: Inventory, partner: str, cid: str) -> Mapping[str, Any] | None:
    return inv.get((partner, cid))


def assess(market: Market, trigger: Trigger, inventory: Inventory, *, runs: int | None = None,
           seed: int | None = None) -> dict[str, Any]:
    """The assessment document (see the module docstring). ``market`` must hold the partners
    as consumers (``disruption.api.load_market(wh, trigger.commodities)``)."""
    trigger = restage(trigger, {c: cm.stage for c, cm in market.commodities.items()})
    missing = {c: market.not_computable.get(c, "not in the market") for c in trigger.commodities
               if c not in market.commodities}
    sc = trigger.scenario
    if missing:
        sc = sc.model_copy(update={"events": tuple(e for e in sc.events if e.commodity not in missing)})
    if not sc.events:
        raise ValueError("no commodity of the trigger can be simulated: "
                         + "; ".join(f"{c}: {r}" for c, r in missing.items()))
    trig = trigger if sc is trigger.scenario else _with_scenario(trigger, sc)
    out = run_scenario(market, sc)
    rows = outcome_rows(market, out)
    runs = int(settings.get("incident.mc_runs")) if runs is None else int(runs)
    seed = int(settings.get("incident.mc_seed")) if seed is None else int(seed)
    mc = monte_carlo(market, trig, runs, seed)
    dpy = float(settings.get("incident.days_per_year"))
    commodities = []
    for cid in dict.fromkeys(r["commodity"] for r in rows):
        cm = market.commodities[cid]
        crow = [r for r in rows if r["commodity"] == cid]
        price = cm.price_usd_per_t if math.isfinite(cm.price_usd_per_t) else None
        first = crow[0]
        partners = []
        for r in crow:
            k = r["consumer"]
            inv = _stock(inventory, k, cid)
            stock = None if inv is None else float(inv["quantity_t"])
            cons = r["consumption_t"] * 12.0 / sc.horizon_months
            unknown = k in cm.demand_unknown
            cover = None if stock is None or unknown else calc_days_of_cover(stock, cons, dpy)
            cover_note = ("no inventory recorded for this partner" if stock is None else
                          r.get("not_computable") if unknown else None)
            partners.append({
                "partner": k, "pool": r["pool"], "shortfall_t": r["mean_shortfall_t"],
                "shortfall_pct": r["mean_shortfall_pct"], "shortfall_usd": r["shortfall_usd"],
                "consumption_t_per_year": None if unknown else cons,
                "not_computable": r.get("not_computable"), "proxy_trade_shares": r["proxy_trade_shares"],
                "inventory_draw_t": r["inventory_draw_t"],
                "stock_t": stock, "stock_source": None if inv is None else dict(inv),
                "days_of_cover": cover, "days_of_cover_note": cover_note,
                "shortfall_days": (None if unknown or not cons > 0 else r["mean_shortfall_t"] / (cons / dpy)),
                "monthly": [{"month": m["month"], "shortfall_t": m["shortfall_t"], "shortfall_pct": m["shortfall_pct"],
                             "shortfall_usd": m["shortfall_usd"], "demand_t": m["demand_t"]} for m in r["monthly"]],
                "monte_carlo": mc.get(cid, {}).get(k),
            })
        commodities.append({
            "commodity": cid, "stage": cm.stage, "price_usd_per_t": price, "price_note": first.get("price_note"),
            "segmented": first["segmented"], "restricted_pool": first["restricted_pool"],
            "price_restricted_pct": first["price_restricted_pct"], "price_open_pct": first["price_open_pct"],
            "price_monthly": [{"month": m["month"], "restricted_pct": m["price_restricted_pct"],
                               "open_pct": m["price_open_pct"], "world_pct": m["price_change_pct"]}
                              for m in first["monthly"]],
            "partners": partners, "sharing": sharing_for(partners, price),
            "notes": first["notes"], "provenance": _provenance(cm.provenance),
        })
    return {
        "scenario": sc.to_spec(), "horizon_months": sc.horizon_months, "start_date": trig.start_date.isoformat(),
        "flags": list(dict.fromkeys([*trig.flags, *out.scenario.flags])), "notes": list(trig.notes),
        "not_simulated": missing, "commodities": commodities,
        "monte_carlo": {"runs": runs, "seed": seed,
                        "draws": {"open_ended_events": sorted(trig.evidence.get("open_ended", [])),
                                  "cut_assumed_events": sorted(trig.evidence.get("cut_assumed", []))}},
        "market": {"year": market.year, "consumers": list(market.consumers)},
    }


def sharing_for(partners: list[dict[str, Any]], price: float | None) -> dict[str, Any]:
    """The three sharing rules for one commodity, or why they cannot be compared."""
    why = [f"{p['partner']}: no inventory recorded" for p in partners if p["stock_t"] is None]
    why += [f"{p['partner']}: consumption not computable" for p in partners
            if not (p["consumption_t_per_year"] or 0) > 0]
    if why:
        return {"computable": False, "reason": "; ".join(why)}
    dpy = float(settings.get("incident.days_per_year"))
    doc = compare_rules([p["partner"] for p in partners], [p["shortfall_t"] for p in partners],
                        [p["stock_t"] for p in partners], [p["consumption_t_per_year"] / dpy for p in partners], price)
    return {"computable": True, **doc}


def _provenance(prov: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("production", "price", "consumption")
    return {k: prov[k] for k in keep if k in prov}


def _with_scenario(trigger: Trigger, sc: Scenario) -> Trigger:
    from dataclasses import replace

    return replace(trigger, scenario=sc, commodities=tuple(c for c in trigger.commodities
                                                             if any(e.commodity == c for e in sc.events)))
