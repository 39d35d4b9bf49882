"""Demand and supply shocks both ways (issue 14 §3): supply additions and demand changes can make
the net shortage negative, and the price then falls. Hand-worked cases and property tests."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.disruption.deterministic import outcome_rows, run_scenario
from critmin.disruption.engine import Slot, compile_commodity, simulate
from critmin.disruption.market import synthetic_market
from critmin.disruption.params import ModelParams
from critmin.disruption.scenario import ScenarioError, parse_scenario
from test_disruption_engine import _hand_market, events, hsettings, markets, overrides


@pytest.fixture(autouse=True)
def _linear_price_response(monkeypatch):
    """The hand-worked prices of this module are the linear response 100 s / (eps_s - eps_d)
    (setting disruption.price_response = linear); the calibrated log response has its own tests."""
    monkeypatch.setenv("CRITMIN_DISRUPTION_PRICE_RESPONSE", "linear")

def _sim(cm, slots, mags, starts, durs, overrides=None, T=12):
    p = ModelParams.from_settings(overrides or {})
    comp = compile_commodity(cm, slots, p)
    H = len(slots)
    return comp, simulate(comp, np.array([mags], float).reshape(1, H), np.array([starts], np.int64).reshape(1, H),
                          np.array([durs], np.int64).reshape(1, H), np.ones((1, H), bool), T)


def test_hand_worked_supply_addition_gives_a_glut_and_a_price_fall():
    """World demand 120 t/yr (USA 10, JPN 20, ROW 90). CAN adds 50% of its 20 t = 10 t/yr for the
    whole year and nobody is short: the surplus is 10 t/yr, the net shortage -10/120 and the price
    change 100 * (-10/120) / 0.2 = -41.67 % every month."""
    comp, r = _sim(_hand_market(), [Slot("CAN", "processing", None, "supply_addition")], [0.5], [1], [12])
    assert r.shortfall.sum() == 0.0
    assert r.surplus[0].sum() == pytest.approx(10.0, rel=1e-12)
    np.testing.assert_allclose(r.net_shortage[0], -10 / 120, rtol=1e-12)
    np.testing.assert_allclose(r.price_change_pct[0], 100 * (-10 / 120) / 0.2, rtol=1e-12)


def test_hand_worked_addition_fills_a_ban_before_spare_capacity():
    """Full CHN ban, leakage 0.2: losses USA 8, JPN 8, ROW 64 t/yr (80 in all). An addition of
    100 t/yr (quantity_t) covers every loss; spare capacity stays idle; the surplus is 20 t/yr,
    so the price falls by 100 * (20/120) / 0.2."""
    slots = [Slot("CHN", "processing", None), Slot("AUS", "processing", None, "supply_addition", 1.0)]
    _, r = _sim(_hand_market(), slots, [1.0, 100.0], [1, 1], [12, 12], {"leakage": 0.2})
    assert r.shortfall.sum() == pytest.approx(0.0, abs=1e-12)
    assert r.surplus[0].sum() == pytest.approx(20.0, rel=1e-12)
    assert r.price_change_pct[0].mean() == pytest.approx(-100 * 20 / 120 / 0.2, rel=1e-12)


def test_hand_worked_demand_collapse():
    """World demand falls 10 % (all importers) for 6 months: the surplus is 12 t/yr in those
    months, price -50 %; afterwards 0. The consumers' demand change is -10 % of their demand."""
    _, r = _sim(_hand_market(), [Slot(None, None, None, "demand_change")], [-0.1], [1], [6])
    np.testing.assert_allclose(r.price_change_pct[0, :6], -50.0, rtol=1e-12)
    np.testing.assert_allclose(r.price_change_pct[0, 6:], 0.0, atol=1e-12)
    assert r.demand_change[0, :, 0].sum() == pytest.approx(-0.1 * 10 * 6 / 12, rel=1e-12)
    np.testing.assert_allclose(r.delivered + r.shortfall, r.demand[None] + r.demand_change, rtol=1e-12)


def test_demand_surge_targets_one_importer():
    """JPN's demand +50 % (10 t/yr more); no spare capacity: JPN is short 10 t/yr, price rises."""
    _, r = _sim(_hand_market(), [Slot(None, None, ("JPN",), "demand_change")], [0.5], [1], [12],
                {"spare_capacity": {"CHN": 0.0, "CAN": 0.0}})
    assert r.shortfall[0, :, 1].sum() == pytest.approx(10.0, rel=1e-12)
    assert r.shortfall[0, :, 0].sum() == 0.0
    assert (r.price_change_pct[0] > 0).all()


def test_price_floor_at_minus_100pct():
    _, r = _sim(_hand_market(), [Slot("CAN", "processing", None, "supply_addition", 1.0)], [1e6], [1], [12])
    assert (r.price_change_pct[0] == -100.0).all()


@hsettings
@given(st.data())
def test_supply_addition_never_raises_a_price_or_a_shortfall(data):
    cm = data.draw(markets())
    evs = data.draw(events(cm))
    ov = data.draw(overrides)
    slots = [Slot(e[0], e[1], e[2]) for e in evs]
    mags, starts, durs = [e[3] for e in evs], [e[4] for e in evs], [e[5] for e in evs]
    _, base = _sim(cm, slots, mags, starts, durs, ov)
    country = data.draw(st.sampled_from(list(cm.producers)))
    by_qty = data.draw(st.booleans())
    add = Slot(country, cm.stage, None, "supply_addition", 1.0 if by_qty else None)
    mag = data.draw(st.floats(0.0, 500.0)) if by_qty else data.draw(st.floats(0.0, 2.0))
    _, more = _sim(cm, slots + [add], mags + [mag], starts + [data.draw(st.integers(1, 12))],
                   durs + [data.draw(st.integers(1, 14))], ov)
    tol = 1e-9 * (1 + np.abs(base.price_change_pct))
    assert (more.price_change_pct <= base.price_change_pct + tol).all()
    assert (more.shortfall <= base.shortfall + 1e-9 * (1 + base.shortfall)).all()
    np.testing.assert_allclose(more.delivered + more.shortfall, more.demand[None] + more.demand_change,
                               rtol=1e-9, atol=1e-9)


@hsettings
@given(st.data())
def test_demand_fall_never_raises_a_price(data):
    cm = data.draw(markets())
    evs = data.draw(events(cm))
    ov = data.draw(overrides)
    slots = [Slot(e[0], e[1], e[2]) for e in evs]
    mags, starts, durs = [e[3] for e in evs], [e[4] for e in evs], [e[5] for e in evs]
    if not evs:
        return
    _, base = _sim(cm, slots, mags, starts, durs, ov)
    tg = data.draw(st.one_of(st.none(), st.sampled_from([("USA",), ("JPN",)])))
    # starts no earlier than the first event, so the spare-capacity clock is unchanged
    _, less = _sim(cm, slots + [Slot(None, None, tg, "demand_change")], mags + [-data.draw(st.floats(0.0, 0.9))],
                   starts + [max(data.draw(st.integers(1, 12)), min(starts))], durs + [data.draw(st.integers(1, 14))], ov)
    assert (less.price_change_pct <= base.price_change_pct + 1e-9 * (1 + np.abs(base.price_change_pct))).all()


def test_scenario_events_of_every_kind():
    s = parse_scenario({"name": "glut", "events": [
        {"kind": "supply_addition", "country": "CHN", "commodity": "gallium", "stage": "processing",
         "quantity_t": 100.0, "start_month": 1, "duration_months": 12},
        {"kind": "demand_change", "commodity": "gallium", "change": -0.2, "start_month": 1, "duration_months": 12},
    ]})
    assert [e.magnitude for e in s.events] == [100.0, -0.2]
    m = synthetic_market()
    rows = outcome_rows(m, run_scenario(m, s))
    assert rows and all(r["mean_price_change_pct"] < 0 for r in rows)
    assert all(r["monthly"][0]["world_net_shortage_pct"] < 0 for r in rows)
    assert all(r["mean_shortfall_t"] == 0 for r in rows)


@pytest.mark.parametrize("event, field", [
    ({"kind": "supply_addition", "country": "CHN", "stage": "processing"}, "change or quantity_t"),
    ({"kind": "supply_addition", "country": "CHN", "stage": "processing", "change": 0.1, "quantity_t": 1.0},
     "change or quantity_t"),
    ({"kind": "supply_addition", "country": "CHN", "stage": "processing", "change": -0.1}, "change: expected >= 0"),
    ({"kind": "supply_addition", "stage": "processing", "change": 0.1}, "country: required"),
    ({"kind": "demand_change"}, "change: required"),
    ({"kind": "demand_change", "change": -1.5}, "greater than -1"),
    ({"country": "CHN", "stage": "processing"}, "export_cut: required"),
    ({"kind": "glut", "country": "CHN", "stage": "processing", "change": 0.1}, "expected 'export_restriction'"),
])
def test_event_kind_errors_name_the_field(event, field):
    ev = {"commodity": "gallium", "start_month": 1, "duration_months": 12, **event}
    with pytest.raises(ScenarioError, match=r"^my\.toml: events\[0\]"):
        parse_scenario({"name": "n", "events": [ev]}, "my.toml")
    with pytest.raises(ScenarioError, match=field):
        parse_scenario({"name": "n", "events": [ev]}, "my.toml")
