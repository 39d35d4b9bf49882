"""One analyst-written scenario, simulated deterministically on a market."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from critmin.disruption.engine import SimResult, Slot, compile_commodity, simulate
from critmin.disruption.market import Market
from critmin.disruption.params import ModelParams
from critmin.disruption.scenario import Scenario


@dataclass(frozen=True)
class ScenarioOutcome:
    scenario: Scenario
    params: ModelParams
    results: dict[str, SimResult]  # per commodity, n = 1 run
    notes: dict[str, tuple[str, ...]]


def run_scenario(market: Market, scenario: Scenario) -> ScenarioOutcome:
    """Simulate every commodity named by the scenario's events (rules in engine.py)."""
    if tuple(scenario.consumers) != market.consumers:
        raise ValueError(
            f"scenario consumers {list(scenario.consumers)} differ from the market's {list(market.consumers)}; "
            "load the market with the scenario's consumers"
        )
    params = ModelParams.from_settings(scenario.overrides.as_dict())
    by_c: dict[str, list] = {}
    for e in scenario.events:
        by_c.setdefault(e.commodity, []).append(e)
    missing = {c: market.not_computable.get(c, "not in the market") for c in by_c if c not in market.commodities}
    if missing:
        raise KeyError("scenario commodities not computable: " + "; ".join(f"{c}: {r}" for c, r in missing.items()))
    results, notes = {}, {}
    for cid, evs in by_c.items():
        slots = [Slot(e.country, e.stage, tuple(e.targets) if e.targets else None, e.kind,
                      1.0 if e.quantity_t is not None else None) for e in evs]
        comp = compile_commodity(market.commodities[cid], slots, params)
        cut = np.array([[e.magnitude for e in evs]])
        start = np.array([[e.start_month for e in evs]])
        dur = np.array([[e.duration_months for e in evs]])
        res = simulate(comp, cut, start, dur, np.ones((1, len(evs)), bool), scenario.horizon_months)
        results[cid] = res
        n = list(comp.slot_notes)
        if any(e.targets and any(t not in market.consumers for t in e.targets) for e in evs):
            n.append("targets outside the modelled consumers: the rest of the world (ROW) is treated as untargeted")
        notes[cid] = tuple(n)
    return ScenarioOutcome(scenario, params, results, notes)


def _restricted(out: ScenarioOutcome, cid: str, res: SimResult) -> list[bool]:
    """Per importer of ``res``: in the restricted pool (targeted by an export restriction of the
    scenario on ``cid``)."""
    tg = {t for e in out.scenario.events if e.commodity == cid and e.kind == "export_restriction" and e.targets
          for t in e.targets}
    return [imp in tg for imp in res.importers]


def outcome_rows(market: Market, out: ScenarioOutcome) -> list[dict]:
    """JSON-ready rows (one per commodity x consumer), same keys as the Monte Carlo output."""
    rows = []
    T = out.scenario.horizon_months
    for cid, res in out.results.items():
        cm = market.commodities[cid]
        price = cm.price_usd_per_t
        dp = float(res.price_change_pct[0].mean())
        pr = res.price_restricted_pct if res.price_restricted_pct is not None else res.price_change_pct
        po = res.price_open_pct if res.price_open_pct is not None else res.price_change_pct
        segmented = bool((pr[0] != po[0]).any())
        restricted_pool = [imp for imp, r in zip(res.importers, _restricted(out, cid, res), strict=True) if r]
        pools: dict[str, Any] = {
            "segmented": segmented,
            "restricted_pool": restricted_pool,
            "price_restricted_pct": float(pr[0].mean()),
            "price_open_pct": float(po[0].mean()),
            "price_spread_pct": float((pr[0] - po[0]).mean()),
        }
        for k, kid in enumerate(market.consumers):
            short = res.shortfall[0, :, k]
            dem = res.demand[:, k]
            tot, dtot = float(short.sum()), float(dem.sum())
            pct = 100.0 * tot / dtot if dtot > 0 else None
            row = {
                "commodity": cid,
                "consumer": kid,
                "stage": cm.stage,
                "mean_shortfall_t": tot,
                "mean_shortfall_pct": pct,
                "var95_pct": pct,
                "cvar95_pct": pct,
                "p_shortfall_gt_10pct": None if pct is None else float(pct > 10.0),
                "mean_price_change_pct": dp,
                **pools,
                "pool": "restricted" if kid in restricted_pool else "open",
                "inventory_draw_t": None if res.inventory_draw is None else float(res.inventory_draw[0, :, k].sum()),
                "proxy_trade_shares": bool(cm.proxy_trade_shares[k]),
                "consumption_t": dtot,
                "demand_growth_per_year": (out.params.demand_growth
                                           if out.params.demand_growth_override or cm.demand_growth is None
                                           else cm.demand_growth),
                "demand_growth_source": (cm.provenance.get("demand_growth", {}) or {}).get("source", "setting")
                if not out.params.demand_growth_override else "scenario override",
                "demand_change_t": None if res.demand_change is None else float(res.demand_change[0, :, k].sum()),
                "shortfall_usd": tot * price if math.isfinite(price) else None,
                "price_usd_per_t": price if math.isfinite(price) else None,
                "monthly": [
                    {"month": t + 1, "demand_t": float(dem[t]), "shortfall_t": float(short[t]),
                     "shortfall_pct": 100.0 * float(short[t] / dem[t]) if dem[t] > 0 else None,
                     "delivered_t": float(res.delivered[0, t, k]),
                     "shortfall_usd": float(short[t]) * price if math.isfinite(price) else None,
                     "price_change_pct": float(res.price_change_pct[0, t]),
                     "price_restricted_pct": float(pr[0, t]), "price_open_pct": float(po[0, t]),
                     "world_net_shortage_pct": None if res.net_shortage is None
                     else 100.0 * float(res.net_shortage[0, t]),
                     "surplus_t": None if res.surplus is None else float(res.surplus[0, t])}
                    for t in range(T)
                ],
                "notes": list(out.notes.get(cid, ())) + list(cm.notes),
                "flags": list(out.scenario.flags),
            }
            if not math.isfinite(price):
                row["price_note"] = cm.price_note or "no price"
            if kid in cm.demand_unknown:
                row.update(mean_shortfall_pct=None, var95_pct=None, cvar95_pct=None, p_shortfall_gt_10pct=None,
                           not_computable=cm.demand_unknown_reason(kid))
            elif pct is None:
                row["not_computable"] = "consumption is 0 t, so % of consumption is undefined"
            rows.append(row)
    return rows
