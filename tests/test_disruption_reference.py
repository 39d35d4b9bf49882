"""A slow, obviously-correct plain-loop reference of the supply-network model, and the tests
that the fast vectorised engine agrees with it. The reference re-implements the rules of
docs/disruption.md with dicts and loops; it shares only the event sampling with the engine.
The benchmark (benchmarks/bench_disruption.py) imports :func:`reference_runs` from here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from critmin.disruption.hazard import build_hazard, sample_runs
from critmin.disruption.market import CommodityMarket, Market, synthetic_market
from critmin.disruption.montecarlo import build_model, run_batch
from critmin.disruption.params import ModelParams


def reference_commodity(cm: CommodityMarket, events: list[dict], p: ModelParams, T: int) -> dict:
    """Monthly shortfall per importer (consumers + 'ROW') and monthly price change, by loops."""
    imps = list(cm.consumers) + ["ROW"]
    prod = dict(zip(cm.producers, cm.production_t, strict=True))
    flow: dict[tuple[str, str], float] = {}
    dom = {i: 0.0 for i in imps}
    for k, c in enumerate(cm.consumers):
        dom[c] = float(cm.domestic_t[k])
        for j, q in enumerate(cm.producers):
            flow[(c, q)] = float(cm.demand_t[k] - cm.domestic_t[k]) * float(cm.import_share[k, j])
    for q in cm.producers:
        taken = sum(flow[(c, q)] for c in cm.consumers) + sum(dom[c] for c in cm.consumers if c == q)
        flow[("ROW", q)] = max(prod[q] - taken, 0.0)
    demand = {i: sum(flow[(i, q)] for q in cm.producers) + dom[i] for i in imps}
    mine = dict(zip(cm.mine_producers, cm.mine_production_t, strict=True))
    mine_tot = sum(mine.values())
    first = min([e["start"] for e in events if e["declared"]], default=T + 1)
    for e in events:
        e.setdefault("kind", "export_restriction")
    restrictions = [e for e in events if e["kind"] == "export_restriction"]
    tgt_events = [e for e in restrictions if e["targets"] is not None and _direct(e, cm)
                and e["country"] in prod]
    targeted_any = bool(tgt_events)
    restricted_pool = {i for e in tgt_events for i in imps if i != "ROW" and i in e["targets"]}
    t0 = min([e["start"] for e in tgt_events if e["declared"]], default=T + 1)
    stock = {i: demand_annual * p.inventory_months / 12 for i, demand_annual in _demands(cm).items()}
    out = {i: [0.0] * T for i in imps}
    price = [0.0] * T
    price_r = [0.0] * T
    price_o = [0.0] * T
    draw = {i: [0.0] * T for i in imps}
    for t in range(1, T + 1):
        # the commodity's IEA demand growth where it has one, unless the scenario overrides it
        g = p.demand_growth if p.demand_growth_override or cm.demand_growth is None else cm.demand_growth
        m = (1 + g) ** ((t - 1) / 12) / 12
        keepx = {(i, q): 1.0 for i in imps for q in cm.producers}
        keepf = {q: 1.0 for q in cm.producers}
        for e in restrictions:
            # segmented markets: no leakage to the targets before the re-export lag is over
            leak = p.leakage if (not any(e is x for x in tgt_events) or t >= e["start"] + p.re_export_lag_months) else 0.0
            a = e["cut"] * (1 - leak) if e["start"] <= t < e["start"] + e["duration"] else 0.0
            tg = e["targets"]
            if _direct(e, cm) and e["country"] in prod:
                for i in imps:
                    targeted = (tg is None) if i == "ROW" else (tg is None or i in tg)
                    if targeted:
                        keepx[(i, e["country"])] *= 1 - a
            elif e["stage"] == "mine" and cm.stage == "processing" and e["country"] in mine and mine_tot > 0:
                share = mine[e["country"]] / mine_tot
                for q in cm.producers:
                    if q != e["country"] and (tg is None or q in tg):
                        keepf[q] *= 1 - a * share
        loss = {}
        for i in imps:
            s = sum(flow[(i, q)] * (1 - keepx[(i, q)] * keepf[q]) for q in cm.producers)
            if i in keepf:
                s += dom[i] * (1 - keepf[i])
            loss[i] = s
        restricting = {q: any(keepx[(i, q)] < 1 for i in imps) for q in cm.producers}
        redirect = {i: 0.0 for i in imps}
        if targeted_any:
            divertible = {
                q: restricting[q] and any(keepx[(j, q)] == 1 and flow[(j, q)] > 0 for j in imps)
                for q in cm.producers
            }
            bdiv = {i: sum(flow[(i, q)] * keepf[q] * (1 - keepx[(i, q)]) for q in cm.producers if divertible[q])
                    for i in imps}
            V = sum(bdiv.values())
            cap = 0.0
            contracts_run = t < t0 + p.contract_cover_months
            for j in imps:
                if any(divertible[q] and keepx[(j, q)] == 1 and flow[(j, q)] > 0 for q in cm.producers):
                    cap += sum(flow[(j, q)] * keepf[q] for q in cm.producers if not restricting[q])
            if contracts_run:
                cap = 0.0
            if V > 0:
                for i in imps:
                    redirect[i] = bdiv[i] * min(cap, V) / V
        excess = max(V - sum(redirect.values()), 0.0) if targeted_any else 0.0
        avail = 0.0
        for q in cm.producers:
            if not restricting[q]:
                ramp = min(1.0, max(0.0, (t - first + 1) / p.ramp_for(q)))
                avail += (p.spare_for(q) * prod[q] + p.extra_spare_t.get(q, 0.0)) * ramp
        residual = {i: max(loss[i] - redirect[i], 0.0) for i in imps}
        # supply additions and demand changes (rule 6): additions and freed demand first
        extra = 0.0
        for e in events:
            if not e["start"] <= t < e["start"] + e["duration"]:
                continue
            if e["kind"] == "supply_addition" and e["stage"] == cm.stage:
                per = e.get("per_unit_t")
                extra += e["cut"] * (per if per is not None else prod.get(e["country"], 0.0))
            elif e["kind"] == "demand_change":
                for i in imps:
                    if e["targets"] is None or i in e["targets"]:
                        residual[i] += e["cut"] * demand[i]
        for i in imps:
            if residual[i] < 0:
                extra += -residual[i]
                residual[i] = 0.0
        surplus = max(extra - sum(residual.values()), 0.0)
        avail += extra
        given = {i: 0.0 for i in imps}
        open_ = {i for i in imps if residual[i] > 0 and demand[i] > 0}
        remaining = avail
        while remaining > 1e-15 * max(avail, 1) and open_:
            wsum = sum(demand[i] for i in open_)
            placed = 0.0
            for i in sorted(open_):
                give = min(remaining * demand[i] / wsum, residual[i] - given[i])
                given[i] += give
                placed += give
            remaining -= placed
            open_ = {i for i in open_ if given[i] < residual[i]}
        world_short = 0.0
        for i in imps:
            short = (residual[i] - min(given[i], residual[i])) * m
            d = min(short, stock[i])  # stocks first
            stock[i] -= d
            draw[i][t - 1] = d
            out[i][t - 1] = short - d
            world_short += out[i][t - 1]
        world_dem = sum(demand.values()) * m
        den = p.supply_elasticity - p.demand_elasticity
        th = p.theta_for(cm.commodity)

        def resp(x: float, th: float | None = th, den: float = den) -> float:
            return 100 * math.expm1(th * x) if th is not None else max(100 * x / den, -100.0)

        net = (world_short - surplus * m - excess * m) / world_dem if world_dem else 0.0
        price[t - 1] = resp(net)
        price_r[t - 1] = price_o[t - 1] = price[t - 1]
        seg = any(e["start"] <= t < e["start"] + e["duration"] and e["cut"] > 0 and e["declared"] for e in tgt_events)
        dem_r = sum(demand[i] for i in restricted_pool) * m
        dem_o = sum(demand[i] for i in imps if i not in restricted_pool) * m
        if seg and dem_r > 1e-12 * world_dem and dem_o > 1e-12 * world_dem:
            fr = sum(out[i][t - 1] for i in restricted_pool) / dem_r
            fo = (sum(out[i][t - 1] for i in imps if i not in restricted_pool) - surplus * m - excess * m) / dem_o
            if fr > fo:
                price_r[t - 1] = resp(fr)
                price_o[t - 1] = resp(fo)
    return {"shortfall": out, "price": price, "price_restricted": price_r, "price_open": price_o,
            "inventory_draw": draw}


def _direct(e: dict, cm: CommodityMarket) -> bool:
    """The event cuts flows at the supply stage: same stage, or a processing-stage event on a
    commodity supplied at the mine stage (the chain rule: the country's mine output stands for
    what it processes and exports)."""
    return e["stage"] == cm.stage or (e["stage"] == "processing" and cm.stage == "mine")


def _demands(cm: CommodityMarket) -> dict[str, float]:
    """Annual demand per importer (consumers + 'ROW'), as the flows above add up."""
    taken = {q: 0.0 for q in cm.producers}
    out = {}
    for k, c in enumerate(cm.consumers):
        out[c] = float(cm.demand_t[k])
        for j, q in enumerate(cm.producers):
            taken[q] += float(cm.demand_t[k] - cm.domestic_t[k]) * float(cm.import_share[k, j])
        if c in taken:
            taken[c] += float(cm.domestic_t[k])
    out["ROW"] = sum(max(float(v) - taken[q], 0.0) for q, v in zip(cm.producers, cm.production_t, strict=True))
    return out


def reference_runs(market: Market, seed: int, runs: int, horizon: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Per-run annual shortfall ``[run, commodity, consumer]`` and mean price change, by loops."""
    hz = build_hazard(market)
    params = ModelParams.from_settings()
    model = build_model(market, horizon, params, hazard=hz)
    ev = sample_runs(hz, seed, 0, runs, model.block_size, horizon)
    C, K = len(market.commodities), len(market.consumers)
    short = np.zeros((runs, C, K))
    price = np.zeros((runs, C))
    for r in range(runs):
        for c, (cid, cm) in enumerate(market.commodities.items()):
            events = [
                {"country": hz.country[h], "stage": hz.stage[h],
                 "targets": None if ev.target is None or ev.target[r, h] < 0 else (market.consumers[ev.target[r, h]],),
                 "cut": ev.cut[r, h],
                 "start": ev.start[r, h], "duration": ev.duration[r, h], "declared": bool(ev.occurred[r, h])}
                for h in range(hz.n_pairs) if hz.commodity[h] == cid and ev.occurred[r, h]
            ]
            res = reference_commodity(cm, events, params, horizon)
            for k, kid in enumerate(market.consumers):
                short[r, c, k] = sum(res["shortfall"][kid])
            price[r, c] = sum(res["price"]) / horizon
    return short, price


def test_fast_engine_agrees_with_reference_loop_on_monte_carlo_runs():
    m = synthetic_market()
    hz = build_hazard(m)
    model = build_model(m, 12, hazard=hz)
    runs = 300
    fast = run_batch(model, 11, 0, runs)
    ref_s, ref_p = reference_runs(m, 11, runs)
    assert fast.shortfall_t.sum() > 0  # the case exercises disruptions
    np.testing.assert_allclose(fast.shortfall_t, ref_s, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fast.price_change_pct, ref_p, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("targets", [None, ("USA",), ("JPN",), ("USA", "JPN")])
def test_fast_engine_agrees_with_reference_on_targeted_scenarios(targets):
    from critmin.disruption.engine import Slot, compile_commodity, simulate

    m = synthetic_market()
    p = ModelParams.from_settings({"leakage": 0.1, "demand_growth": 0.03, "ramp_up_months": {"FIN": 3},
                                   "inventory_months": 0.5})
    for cm in m.commodities.values():
        evs = [
            {"country": cm.producers[int(np.argmax(cm.production_t))], "stage": cm.stage, "targets": targets,
             "cut": 0.9, "start": 2, "duration": 7, "declared": True},
            {"country": "COD", "stage": "mine", "targets": None, "cut": 0.5, "start": 4, "duration": 12, "declared": True},
        ]
        comp = compile_commodity(cm, [Slot(e["country"], e["stage"], e["targets"]) for e in evs], p)
        res = simulate(comp, np.array([[e["cut"] for e in evs]]), np.array([[e["start"] for e in evs]]),
                       np.array([[e["duration"] for e in evs]]), np.ones((1, 2), bool), 12)
        ref = reference_commodity(cm, evs, p, 12)
        for i, imp in enumerate(comp.importers):
            np.testing.assert_allclose(res.shortfall[0, :, i], ref["shortfall"][imp], rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(res.inventory_draw[0, :, i], ref["inventory_draw"][imp], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(res.price_change_pct[0], ref["price"], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(res.price_restricted_pct[0], ref["price_restricted"], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(res.price_open_pct[0], ref["price_open"], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("targets", [None, ("USA",), ("JPN",)])
def test_fast_engine_agrees_with_reference_on_supply_and_demand_shocks(targets):
    from critmin.disruption.engine import Slot, compile_commodity, simulate

    m = synthetic_market()
    p = ModelParams.from_settings({"leakage": 0.1, "demand_growth": 0.03})
    for cm in m.commodities.values():
        big = cm.producers[int(np.argmax(cm.production_t))]
        small = cm.producers[int(np.argmin(cm.production_t))]
        evs = [
            {"country": big, "stage": cm.stage, "targets": targets, "cut": 0.9, "start": 2, "duration": 7,
             "declared": True},
            {"kind": "supply_addition", "country": small, "stage": cm.stage, "targets": None, "cut": 0.4,
             "start": 3, "duration": 5, "declared": True},
            {"kind": "supply_addition", "country": "AUS", "stage": cm.stage, "targets": None, "cut": 50.0,
             "per_unit_t": 1.0, "start": 6, "duration": 4, "declared": True},
            {"kind": "demand_change", "country": None, "stage": None, "targets": targets, "cut": -0.3,
             "start": 5, "duration": 6, "declared": True},
        ]
        slots = [Slot(e["country"], e["stage"], e["targets"], e.get("kind", "export_restriction"),
                      e.get("per_unit_t")) for e in evs]
        comp = compile_commodity(cm, slots, p)
        res = simulate(comp, np.array([[e["cut"] for e in evs]]), np.array([[e["start"] for e in evs]]),
                       np.array([[e["duration"] for e in evs]]), np.ones((1, len(evs)), bool), 12)
        ref = reference_commodity(cm, evs, p, 12)
        assert (res.price_change_pct[0] < 0).any()  # the case exercises a glut
        for i, imp in enumerate(comp.importers):
            np.testing.assert_allclose(res.shortfall[0, :, i], ref["shortfall"][imp], rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(res.inventory_draw[0, :, i], ref["inventory_draw"][imp], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(res.price_change_pct[0], ref["price"], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(res.price_restricted_pct[0], ref["price_restricted"], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(res.price_open_pct[0], ref["price_open"], rtol=1e-9, atol=1e-9)


def test_fast_engine_agrees_with_reference_on_the_real_market(warehouse):
    """Monte Carlo runs on real markets (IEA demand growth, 'Other countries', the ore feed,
    targeted draws, the calibrated price response): the plain loop and the engine agree."""
    from critmin.disruption.api import load_market

    m = load_market(warehouse, ["cobalt", "nickel", "rare_earths", "gallium", "antimony", "graphite"])
    assert any(cm.demand_growth for cm in m.commodities.values())
    model = build_model(m, 12)
    fast = run_batch(model, 2025, 0, 60)
    ref_s, ref_p = reference_runs(m, 2025, 60)
    assert fast.occurred.any()
    np.testing.assert_allclose(fast.shortfall_t, ref_s, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fast.price_change_pct, ref_p, rtol=1e-9, atol=1e-9)
