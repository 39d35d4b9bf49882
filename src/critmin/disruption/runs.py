"""Run-and-store workflows: one scenario run or one Monte Carlo run, summarised and stored.

The one workflow per use case behind ``critmin simulate`` and the dashboard's simulation jobs
(no presentation here). Each takes the run store explicitly (``con``: an operational
:class:`~critmin.ops.Store`, or the Warehouse whose operational store it is); the runs go to the
disruption package's own tables (:mod:`critmin.disruption.store`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from critmin import settings
from critmin.disruption.api import sample_from_result
from critmin.disruption.deterministic import outcome_rows, run_scenario
from critmin.disruption.market import Market
from critmin.disruption.montecarlo import run_monte_carlo
from critmin.disruption.provenance import recorded_provenance
from critmin.disruption.scenario import Scenario
from critmin.disruption.stats import summarise
from critmin.disruption.store import RunStore, save_run


def market_meta(market: Market) -> dict[str, Any]:
    """What a stored run records of its market (to rebuild and check it later)."""
    return {
        "year": market.year,
        "consumers": list(market.consumers),
        "commodities": list(market.commodity_ids),
        "not_computable": market.not_computable,
        "stages": {c: cm.stage for c, cm in market.commodities.items()},
        "synthetic": bool(market.meta.get("synthetic", False)),
        # the data it was read from (critmin.disruption.provenance); a market not built from a
        # warehouse records none, and reads back as unknown
        **{k: market.meta[k] for k in ("vintage", "data_fingerprint") if k in market.meta},
    }


def _hazard_settings() -> dict[str, Any]:
    return {s.name: settings.get(s.name) for s in settings.all_settings() if s.name.startswith("disruption.")}


def run_and_store_monte_carlo(
    con: RunStore,
    market: Market,
    *,
    runs: int,
    seed: int,
    horizon: int = 12,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    store: bool = True,
) -> dict[str, Any]:
    """Monte Carlo, summary and (with ``store``) storage through ``con``; returns the JSON
    document (``scenario``, ``runs``, ``seed``, ``results`` and, when stored, ``run_id``)."""
    res = run_monte_carlo(market, runs, seed, horizon, scheduler=scheduler, workers=workers, progress=progress)
    proxy = {
        (c, k): bool(market.commodities[c].proxy_trade_shares[i])
        for c in market.commodities for i, k in enumerate(market.consumers)
    }
    rows = summarise(res.shortfall_t * 12.0 / horizon, res.consumption_t * 12.0 / horizon, res.price_change_pct,
                     res.occurred, res.pair_commodity, res.pair_labels, res.commodities, res.consumers, proxy)
    for r in rows:
        cm = market.commodities[r["commodity"]]
        if r["consumer"] in cm.demand_unknown:
            r.update(mean_shortfall_pct=None, var95_pct=None, cvar95_pct=None, p_shortfall_gt_10pct=None,
                     not_computable=cm.demand_unknown_reason(r["consumer"]))
        p = cm.price_usd_per_t
        r["shortfall_usd"] = r["mean_shortfall_t"] * p if np.isfinite(p) else None
        if not np.isfinite(p):
            r["price_note"] = market.commodities[r["commodity"]].price_note or "no price"
    spec = {"kind": "monte_carlo", "runs": runs, "seed": seed, "horizon_months": horizon,
            "settings": _hazard_settings(), "hazard_missing_wgi": res.meta.get("hazard_missing_wgi", [])}
    doc: dict[str, Any] = {"scenario": "monte-carlo", "runs": runs, "seed": seed,
                           "data": recorded_provenance(market_meta(market)), "results": rows}
    if store:
        sample = sample_from_result(market, res)
        arrays = {
            "commodities": np.array(sample.commodities), "consumers": np.array(sample.consumers),
            "shortfall_t": sample.shortfall_t, "consumption_t": sample.consumption_t,
            "price_usd_per_t": sample.price_usd_per_t, "price_change_pct": sample.price_change_pct,
            "weights": sample.weights, "occurred": res.occurred, "pair_labels": np.array(res.pair_labels),
        }
        doc["run_id"] = save_run(con, kind="monte_carlo", name="monte-carlo", seed=seed, runs=runs,
                                 horizon=horizon, spec=spec, market_meta=market_meta(market), results=rows,
                                 arrays=arrays)
    return doc


def run_and_store_scenario(con: RunStore, market: Market, scenario: Scenario, *,
                           store: bool = True) -> dict[str, Any]:
    """One deterministic scenario, stored through ``con`` (with ``store``); returns the JSON
    document (same keys as Monte Carlo)."""
    out = run_scenario(market, scenario)
    rows = outcome_rows(market, out)
    doc: dict[str, Any] = {"scenario": scenario.name, "runs": 1, "seed": None, "horizon_months": scenario.horizon_months,
           "unsourced": scenario.unsourced, "flags": list(scenario.flags),
           "data": recorded_provenance(market_meta(market)), "results": rows}
    if store:
        doc["run_id"] = save_run(con, kind="scenario", name=scenario.name, seed=None, runs=1,
                                 horizon=scenario.horizon_months, spec=scenario.to_spec(),
                                 market_meta=market_meta(market), results=rows)
    return doc
