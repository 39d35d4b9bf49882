"""Segmented markets (issue 14 §1): a targeted ban splits the market into a restricted pool (the
targets) and an open pool (everyone else), each clearing at its own price; redirection between
the pools is limited by leakage, the re-export lag, contract cover and inventories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from critmin.disruption import api
from critmin.disruption.deterministic import outcome_rows, run_scenario
from critmin.disruption.engine import Slot, compile_commodity, simulate
from critmin.disruption.params import ModelParams
from critmin.disruption.scenario import load_scenario, parse_scenario
from test_disruption_engine import events, hsettings, markets, overrides

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


def _sim(cm, evs, ov):
    p = ModelParams.from_settings(ov)
    comp = compile_commodity(cm, [Slot(e[0], e[1], e[2]) for e in evs], p)
    H = len(evs)
    r = simulate(comp, np.array([[e[3] for e in evs]], float).reshape(1, H),
                 np.array([[e[4] for e in evs]], np.int64).reshape(1, H),
                 np.array([[e[5] for e in evs]], np.int64).reshape(1, H), np.ones((1, H), bool), 12)
    return comp, r


segment = st.fixed_dictionaries({
    "re_export_lag_months": st.integers(0, 6), "contract_cover_months": st.integers(0, 12),
    "inventory_months": st.sampled_from([0.0, 0.5, 2.0]),
})


@hsettings
@given(st.data())
def test_restricted_pool_price_at_least_open_pool_price(data):
    cm = data.draw(markets())
    evs = data.draw(events(cm))
    tg = (data.draw(st.sampled_from(list(cm.producers))), cm.stage, data.draw(st.sampled_from([("USA",), ("JPN",)])),
          data.draw(st.floats(0.0, 1.0)), data.draw(st.integers(1, 12)), data.draw(st.integers(1, 14)))
    _, r = _sim(cm, evs + [tg], {**data.draw(overrides), **data.draw(segment)})
    assert (r.price_restricted_pct >= r.price_open_pct - 1e-9).all()
    # the world price lies between the two pool prices
    lo = np.minimum(r.price_restricted_pct, r.price_open_pct)
    hi = np.maximum(r.price_restricted_pct, r.price_open_pct)
    assert ((r.price_change_pct >= lo - 1e-9) & (r.price_change_pct <= hi + 1e-9)).all()


@hsettings
@given(st.data())
def test_targeted_ban_without_leakage_or_stocks_leaves_the_target_short(data):
    """Zero leakage, no inventories, contracts covering at least the first month: in the ban's
    first month the target gets none of the banned flow back by redirection, so it is short by
    at least its loss less all spare capacity on offer; positive whenever the banned country
    supplies it more than that spare capacity."""
    cm = data.draw(markets())
    k = data.draw(st.integers(0, 1))
    target = cm.consumers[k]
    # a supplier: a flow to the target of at least 1e-9 t/yr (hypothesis also draws subnormal
    # demands such as 5e-324 t, whose monthly share underflows to exactly 0 t: no flow to ban)
    suppliers = [p for j, p in enumerate(cm.producers) if cm.import_share[k, j] * cm.imports_t[k] >= 1e-9]
    if not suppliers:
        return
    p = data.draw(st.sampled_from(suppliers))
    start = data.draw(st.integers(1, 12))
    ban = (p, cm.stage, (target,), data.draw(st.floats(0.05, 1.0)), start, data.draw(st.integers(1, 14)))
    ov = {"leakage": 0.0, "inventory_months": 0.0, "contract_cover_months": data.draw(st.integers(1, 12)),
          "demand_growth": data.draw(st.floats(-0.2, 0.3))}
    comp, r = _sim(cm, [ban], ov)
    m = start - 1
    loss, pool = r.loss[0, m, k], r.spare_pool[0, m]
    assert r.redirect[0, m, k] == 0.0
    assert r.shortfall[0, m, k] >= loss - pool - 1e-9 * (1 + loss)
    if loss > pool * (1 + 1e-9) + 1e-12:
        assert r.shortfall[0, m, k] > 0
    # and with no spare capacity at all the target is short whenever it buys from the banned country
    _, r0 = _sim(cm, [ban], {**ov, "spare_capacity": dict.fromkeys(cm.producers, 0.0)})
    assert r0.shortfall[0, :, k].sum() > 0


def test_scenario_overrides_reach_the_engine():
    s = parse_scenario({"name": "n", "events": [], "overrides": {"re_export_lag_months": 1, "contract_cover_months": 2,
                                                                  "inventory_months": 3}})
    p = ModelParams.from_settings(s.overrides.as_dict())
    assert (p.re_export_lag_months, p.contract_cover_months, p.inventory_months) == (1.0, 2.0, 3.0)
    d = ModelParams.from_settings()
    assert (d.re_export_lag_months, d.contract_cover_months, d.inventory_months) == (3.0, 6.0, 0.0)


def test_us_only_gallium_ban_gives_the_us_a_shortfall_and_an_ex_china_price_rise(warehouse):
    s = parse_scenario({"name": "US-only Ga ban", "events": [
        {"country": "CHN", "commodity": "gallium", "stage": "processing", "export_cut": 1.0, "start_month": 1,
         "duration_months": 12, "targets": ["USA"]}]})
    m = api.load_market(warehouse, ["gallium"], ("USA", "JPN"))
    rows = {r["consumer"]: r for r in outcome_rows(m, run_scenario(m, s))}
    us = rows["USA"]
    assert us["pool"] == "restricted" and us["segmented"] and us["restricted_pool"] == ["USA"]
    assert us["mean_shortfall_t"] > 0 and us["mean_shortfall_pct"] > 10
    # outside China the targeted buyers pay more; the open pool (China's other buyers) is not short
    assert us["price_restricted_pct"] > 0 and us["price_restricted_pct"] > us["price_open_pct"]
    assert us["price_spread_pct"] > 0
    assert rows["JPN"]["mean_shortfall_t"] == 0 and rows["JPN"]["pool"] == "open"


def test_2010_embargo_gives_japan_a_shortfall_in_its_embargo_months(warehouse):
    sc = load_scenario(SCEN / "cn_rare_earth_embargo_japan_2010.toml")
    m = api.load_market(warehouse, ["rare_earths"], tuple(sc.consumers))
    rows = {r["consumer"]: r for r in outcome_rows(m, run_scenario(m, sc))}
    jp = rows["JPN"]
    months = [e for e in sc.events if e.targets == ("JPN",)][0]
    for mo in jp["monthly"][months.start_month - 1: months.start_month - 1 + months.duration_months]:
        assert mo["shortfall_t"] > 0
    assert jp["price_restricted_pct"] > jp["price_open_pct"]
    assert rows["USA"]["mean_shortfall_t"] == 0


@hsettings
@given(st.data())
def test_targeted_ban_reaches_the_target_directly_or_through_the_chain(data):
    """Zero leakage, no inventories, no spare capacity: a ban aimed at the target leaves it short
    whenever the banned country supplies it, directly (a flow at the supply stage; a processing
    ban on a commodity supplied at the mine stage counts there, the chain rule) or through the
    chain (a mine-stage ban on a commodity supplied at the processing stage cuts the ore feed of
    the target's own processing, in proportion to the banned country's share of mine output)."""
    cm = data.draw(markets())
    k = data.draw(st.integers(0, 1))
    target = cm.consumers[k]
    routes = [(p, st_) for j, p in enumerate(cm.producers) if cm.import_share[k, j] * cm.imports_t[k] >= 1e-9
              for st_ in ([cm.stage] + (["processing"] if cm.stage == "mine" else []))]
    mine_tot = float(cm.mine_production_t.sum())
    if cm.stage == "processing" and cm.domestic_t[k] >= 1e-9 and mine_tot > 0:
        routes += [(m, "mine") for m, q in zip(cm.mine_producers, cm.mine_production_t, strict=True)
                   if m != target and q / mine_tot * cm.domestic_t[k] >= 1e-9]
    if not routes:
        return
    p, stage = data.draw(st.sampled_from(routes))
    ban = (p, stage, (target,), data.draw(st.floats(0.05, 1.0)), data.draw(st.integers(1, 12)), data.draw(st.integers(1, 14)))
    ov = {"leakage": 0.0, "inventory_months": 0.0, "contract_cover_months": data.draw(st.integers(1, 12)),
          "spare_capacity": dict.fromkeys(set(cm.producers) | set(cm.mine_producers), 0.0)}
    _, r = _sim(cm, [ban], ov)
    assert r.shortfall[0, :, k].sum() > 0, (p, stage, target)


def test_us_rare_earths_a_separation_cut_reaches_the_us_although_it_mines_more_than_it_uses(warehouse):
    """Issue 14 §2: US mine output is concentrate separated abroad. The rare-earth market is
    supplied at the processing stage, the US's own supply is its separation output only, so a
    Chinese separation ban leaves the US short although US mine output exceeds US consumption."""
    m = api.load_market(warehouse, ["rare_earths"], ("USA", "JPN"))
    cm = m.commodities["rare_earths"]
    assert cm.stage == "processing"
    k = cm.consumers.index("USA")
    us_mine = float(cm.mine_production_t[cm.mine_producers.index("USA")])
    assert us_mine > cm.demand_t[k]
    us_sep = float(cm.production_t[cm.producers.index("USA")]) if "USA" in cm.producers else 0.0
    assert cm.domestic_t[k] == min(us_sep, cm.demand_t[k]) < cm.demand_t[k]
    s = parse_scenario({"name": "CHN separation ban", "events": [
        {"country": "CHN", "commodity": "rare_earths", "stage": "processing", "export_cut": 1.0, "start_month": 1,
         "duration_months": 12}]})
    rows = {r["consumer"]: r for r in outcome_rows(m, run_scenario(m, s))}
    assert rows["USA"]["mean_shortfall_t"] > 0
    # and a Chinese mine-stage cut reduces the refiners that depend on that ore (outside China)
    s2 = parse_scenario({"name": "CHN ore ban", "events": [
        {"country": "CHN", "commodity": "rare_earths", "stage": "mine", "export_cut": 1.0, "start_month": 1,
         "duration_months": 12}]})
    res = run_scenario(m, s2).results["rare_earths"]
    assert res.loss[0, 0, k] > 0
