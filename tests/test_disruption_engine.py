"""Supply-network engine: hand-worked examples and property tests (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critmin.disruption.engine import Slot, calc_prorata_fill, compile_commodity, simulate
from critmin.disruption.market import make_commodity_market
from critmin.disruption.params import ModelParams


@pytest.fixture(autouse=True)
def _linear_price_response(monkeypatch):
    """The hand-worked prices of this module are the linear response 100 s / (eps_s - eps_d)
    (setting disruption.price_response = linear); the calibrated log response has its own tests."""
    monkeypatch.setenv("CRITMIN_DISRUPTION_PRICE_RESPONSE", "linear")

def _run(cm, events, overrides=None, T=12):
    p = ModelParams.from_settings(overrides or {})
    comp = compile_commodity(cm, [Slot(e[0], e[1], e[2]) for e in events], p)
    cut = np.array([[e[3] for e in events]], dtype=float).reshape(1, len(events))
    start = np.array([[e[4] for e in events]], dtype=np.int64).reshape(1, len(events))
    dur = np.array([[e[5] for e in events]], dtype=np.int64).reshape(1, len(events))
    return comp, simulate(comp, cut, start, dur, np.ones((1, len(events)), bool), T)


def _hand_market():
    # CHN 100 t, CAN 20 t; USA demand 10 (all from CHN); JPN 20 (half CHN, half CAN)
    return make_commodity_market(
        "gallium", "processing", {"CHN": 100.0, "CAN": 20.0}, {"USA": 10.0, "JPN": 20.0},
        {"USA": {"CHN": 1.0}, "JPN": {"CHN": 0.5, "CAN": 0.5}},
    )


def test_hand_worked_full_ban_with_spare_ramp():
    """Worked by hand (docs/disruption.md, 'worked example'):
    ROW takes CHN 80, CAN 10 -> demands USA 10, JPN 20, ROW 90. A full CHN ban with leakage 0.2
    removes 80% of CHN flows: annual losses USA 8, JPN 8, ROW 64. CAN's spare (5% of 20 = 1 t/yr)
    ramps over 6 months: sum_t min(1, t/6) = 2.5 + 7 = 9.5 month-equivalents -> 9.5/12 t in the
    year, shared by demand (10:20:90, no cap binds): USA gets 9.5/12 * 10/120."""
    comp, r = _run(_hand_market(), [("CHN", "processing", None, 1.0, 1, 12)],
                   {"leakage": 0.2, "spare_capacity": {}, "ramp_up_months": {}})
    assert comp.demand.tolist() == [10.0, 20.0, 90.0]
    pool = 9.5 / 12
    us = r.shortfall[0, :, 0].sum()
    jp = r.shortfall[0, :, 1].sum()
    assert us == pytest.approx(8 - pool * 10 / 120, rel=1e-12)
    assert jp == pytest.approx(8 - pool * 20 / 120, rel=1e-12)
    # price: mean over months of 100 * (80 - ramp_t) / 120 / (0.1 - -0.1)
    assert r.price_change_pct[0].mean() == pytest.approx(100 * (80 - 9.5 / 12) / 120 / 0.2, rel=1e-12)


def test_hand_worked_us_only_ban_redirection_cap():
    """USA buys 10 from CHN; JPN buys 20 from CHN; ROW buys CHN 70, CAN 5. A US-only full ban
    (leakage 0, no spare) diverts V = 10 t/yr; the untargeted importers (JPN, ROW) can release
    only their purchases from unrestricted producers: JPN 0 + ROW 5 = 5. So the US gets 5 back and
    is short 5 t over the year; Japan is untouched."""
    cm = make_commodity_market("gallium", "processing", {"CHN": 100.0, "CAN": 5.0}, {"USA": 10.0, "JPN": 20.0},
                               {"USA": {"CHN": 1.0}, "JPN": {"CHN": 1.0}})
    _, r = _run(cm, [("CHN", "processing", ("USA",), 1.0, 1, 12)],
                {"leakage": 0.0, "spare_capacity": {"CAN": 0.0}, "contract_cover_months": 0})
    assert r.shortfall[0, :, 0].sum() == pytest.approx(5.0, rel=1e-12)
    assert r.shortfall[0, :, 1].sum() == 0.0
    assert r.redirect[0, :, 0].sum() == pytest.approx(5.0, rel=1e-12)
    # segmented pools: the US pool is short 5/10 -> +250 %; the open pool (JPN 20 + ROW 75 = 95 t/yr)
    # gets the 10 t China diverts and releases 5: a 5 t glut -> 100 * (-5/95) / 0.2; world 0
    np.testing.assert_allclose(r.price_restricted_pct[0], 250.0, rtol=1e-12)
    np.testing.assert_allclose(r.price_open_pct[0], 100 * (-5 / 95) / 0.2, rtol=1e-12)
    np.testing.assert_allclose(r.price_change_pct[0], 0.0, atol=1e-12)


def test_hand_worked_us_only_ban_contract_cover_lag_and_inventory():
    """The same market with the open pool's contracts running 6 months: no redirection in
    months 1-6 (US short 10/12 a month), then 5/12 a month: 5 + 2.5 = 7.5 t. Leakage 0.5 after a
    3-month re-export lag: months 1-3 nothing leaks (10/12 a month short until redirection),
    months 4-6 half arrives (5/12), months 7-12 half leaks and the rest is redirected within the
    release capacity 5 (5/12 diverted, all of it returned): 2.5 + 1.25 + 0 = 3.75 t. Two months of
    US stocks (10 * 2/12 t) come off the first shortfalls."""
    cm = make_commodity_market("gallium", "processing", {"CHN": 100.0, "CAN": 5.0}, {"USA": 10.0, "JPN": 20.0},
                               {"USA": {"CHN": 1.0}, "JPN": {"CHN": 1.0}})
    ban = [("CHN", "processing", ("USA",), 1.0, 1, 12)]
    base = {"leakage": 0.0, "spare_capacity": {"CAN": 0.0}, "contract_cover_months": 6, "re_export_lag_months": 3}
    _, r = _run(cm, ban, base)
    assert r.shortfall[0, :, 0].sum() == pytest.approx(7.5, rel=1e-12)
    _, r = _run(cm, ban, {**base, "leakage": 0.5})
    assert r.shortfall[0, :, 0].sum() == pytest.approx(3.75, rel=1e-12)
    _, r = _run(cm, ban, {**base, "leakage": 0.5, "inventory_months": 2})
    assert r.shortfall[0, :, 0].sum() == pytest.approx(3.75 - 10 * 2 / 12, rel=1e-12)
    assert r.inventory_draw[0, :, 0].sum() == pytest.approx(10 * 2 / 12, rel=1e-12)
    assert r.shortfall[0, 0, 0] == 0.0 and r.shortfall[0, 1, 0] == 0.0 and r.shortfall[0, 2, 0] > 0


def test_mine_cut_reduces_processing_feed_pooled_ore():
    """Mine producers COD 75, AUS 25 (shares .75/.25). A full COD mine ban (leakage 0) cuts the
    feed of every processor except COD by 75%: FIN processing (all of JPN's imports) keeps 25%."""
    cm = make_commodity_market("cobalt", "processing", {"CHN": 80.0, "FIN": 20.0}, {"USA": 0.0, "JPN": 10.0},
                               {"JPN": {"FIN": 1.0}}, mine_production={"COD": 75.0, "AUS": 25.0})
    _, r = _run(cm, [("COD", "mine", None, 1.0, 1, 12)], {"leakage": 0.0, "spare_capacity": {"CHN": 0.0, "FIN": 0.0}})
    assert r.shortfall[0, :, 1].sum() == pytest.approx(7.5, rel=1e-12)


def test_processing_event_on_a_mine_stage_market_cuts_the_country_flows():
    """Chain rule: with supply at the mine stage only (no processing series), a processing-stage
    restriction cuts the country's flows as a mine-stage one does (its mine output stands for
    what it processes and exports), and says so; a processing ban by a country that supplies
    nobody at the mine stage still has no effect."""
    cm = make_commodity_market("nickel", "mine", {"IDN": 100.0, "PHL": 50.0}, {"USA": 1.0, "JPN": 10.0},
                               {"JPN": {"PHL": 1.0}})
    ov = {"leakage": 0.0, "spare_capacity": {"IDN": 0.0, "PHL": 0.0}}
    comp, r = _run(cm, [("PHL", "processing", None, 1.0, 1, 12)], ov)
    _, r_mine = _run(cm, [("PHL", "mine", None, 1.0, 1, 12)], ov)
    assert r.shortfall[0, :, 1].sum() == pytest.approx(10.0, rel=1e-12)  # all of JPN's imports are PHL's
    np.testing.assert_array_equal(r.shortfall, r_mine.shortfall)
    assert "chain rule" in comp.slot_notes[0]
    comp, r = _run(cm, [("CAN", "processing", None, 1.0, 1, 12)])
    assert r.shortfall.sum() == 0.0 and "no effect" in comp.slot_notes[0]


def test_prorata_fill_hand_example():
    # 10 t shared by weights 1:1:2, caps 1, 100, 100 -> first 2.5/2.5/5, capped 1 -> 9 left for 1:2 -> 3, 6
    g = calc_prorata_fill(np.array(10.0), np.array([1.0, 1.0, 2.0]), np.array([1.0, 100.0, 100.0]))
    np.testing.assert_allclose(g, [1.0, 3.0, 6.0])


# ---------------------------------------------------------------------------------------------
# property tests

producers = st.lists(st.sampled_from(["CHN", "AUS", "CAN", "RUS", "USA", "JPN", "ZAF"]), min_size=2, max_size=5, unique=True)


@st.composite
def markets(draw):
    prods = draw(producers)
    production = {p: draw(st.floats(1.0, 1000.0)) for p in prods}
    demand = {c: draw(st.floats(0.0, 200.0)) for c in ("USA", "JPN")}
    imports = {}
    for c in ("USA", "JPN"):
        if draw(st.booleans()):
            imports[c] = {p: draw(st.floats(0.01, 1.0)) for p in prods if p != c}
    stage = draw(st.sampled_from(["mine", "processing"]))
    mine = {p: draw(st.floats(1.0, 500.0)) for p in draw(producers)} if stage == "processing" else None
    if any(v > 0 for c, v in demand.items() if production.get(c, 0) < v) and not any(p not in ("USA", "JPN") for p in prods):
        production["ZAF"] = 10.0
    return make_commodity_market("x", stage, production, demand, imports or None, mine_production=mine)


@st.composite
def events(draw, cm, n_max=3):
    n = draw(st.integers(0, n_max))
    out = []
    for _ in range(n):
        pool = list(cm.producers) + list(cm.mine_producers)
        country = draw(st.sampled_from(pool))
        stage = draw(st.sampled_from(["mine", "processing"]))
        targets = draw(st.one_of(st.none(), st.sampled_from([("USA",), ("JPN",), ("USA", "JPN")])))
        out.append((country, stage, targets, draw(st.floats(0.0, 1.0)), draw(st.integers(1, 12)), draw(st.integers(1, 14))))
    return out


overrides = st.fixed_dictionaries({
    "leakage": st.floats(0.0, 1.0), "demand_growth": st.floats(-0.2, 0.3),
})

hsettings = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@hsettings
@given(st.data())
def test_zero_cuts_give_zero_shortfall(data):
    cm = data.draw(markets())
    evs = [e[:3] + (0.0,) + e[4:] for e in data.draw(events(cm))]
    _, r = _run(cm, evs, data.draw(overrides))
    assert (r.shortfall == 0).all()
    _, r0 = _run(cm, [], data.draw(overrides))
    assert (r0.shortfall == 0).all()


@hsettings
@given(st.data())
def test_mass_balance_every_month(data):
    cm = data.draw(markets())
    _, r = _run(cm, data.draw(events(cm)), data.draw(overrides))
    np.testing.assert_allclose(r.delivered + r.shortfall, r.demand[None], rtol=1e-9, atol=1e-9)
    assert (r.shortfall >= 0).all() and (r.delivered >= -1e-9).all()
    # nothing is handed out that is not there: pool shares <= spare available, redirect <= cap
    assert (r.pool.sum(-1) <= r.spare_pool * (1 + 1e-9) + 1e-12).all()
    assert (r.redirect.sum(-1) <= r.redirect_cap * (1 + 1e-9) + 1e-12).all()
    assert (r.pool + r.redirect <= r.loss * (1 + 1e-9) + 1e-12).all()


@hsettings
@given(st.data())
def test_larger_cut_never_smaller_shortfall(data):
    cm = data.draw(markets())
    evs = data.draw(events(cm))
    if not evs:
        return
    ov = data.draw(overrides)
    j = data.draw(st.integers(0, len(evs) - 1))
    lo = data.draw(st.floats(0.0, 1.0))
    hi = data.draw(st.floats(lo, 1.0))
    a = list(evs)
    b = list(evs)
    a[j] = a[j][:3] + (lo,) + a[j][4:]
    b[j] = b[j][:3] + (hi,) + b[j][4:]
    _, ra = _run(cm, a, ov)
    _, rb = _run(cm, b, ov)
    sa, sb = ra.shortfall[0].sum(0), rb.shortfall[0].sum(0)
    assert (sb >= sa - 1e-9 * (1 + sa)).all()


@hsettings
@given(st.data())
def test_us_targeted_ban_bounded_effect_on_japan(data):
    """Redirection rule: adding a US-only restriction never blocks Japan's flows; it can only take
    away from Japan what Japan drew from redirection and spare capacity without it."""
    cm = data.draw(markets())
    evs = data.draw(events(cm))
    ov = data.draw(overrides)
    us = (data.draw(st.sampled_from(list(cm.producers))), cm.stage, ("USA",), data.draw(st.floats(0.0, 1.0)),
          data.draw(st.integers(1, 12)), data.draw(st.integers(1, 12)))
    # keep the ramp clock unchanged: the US event starts no earlier than the first event
    if evs:
        us = us[:4] + (max(us[4], min(e[4] for e in evs)),) + us[5:]
    _, base = _run(cm, evs, ov)
    _, withus = _run(cm, evs + [us], ov)
    jp0 = base.shortfall[0, :, 1]
    jp1 = withus.shortfall[0, :, 1]
    received = base.redirect[0, :, 1] + base.pool[0, :, 1]
    assert (jp1 <= jp0 + received + 1e-9 * (1 + jp0)).all()
    # with only US-targeted events Japan is never short
    _, only = _run(cm, [us], ov)
    assert (only.shortfall[0, :, 1] == 0).all()


def test_commodity_market_copy_is_independent_and_equal_to_a_deep_copy():
    import copy

    from critmin.disruption.market import synthetic_market

    cm = synthetic_market().commodities["cobalt"]
    cm = copy.copy(cm)
    object.__setattr__(cm, "provenance", {"production": {"choices": ["a"], "year": 2024}, "trade": {}})
    c = cm.copy()
    d = copy.deepcopy(cm)
    for f in ("production_t", "demand_t", "domestic_t", "import_share", "mine_production_t"):
        assert np.array_equal(getattr(c, f), getattr(d, f)) and getattr(c, f) is not getattr(cm, f)
    assert c.provenance == d.provenance and c.provenance["production"] is not cm.provenance["production"]
    c.provenance["production"]["choices"].append("b")
    c.import_share[:] = 0.0
    assert cm.provenance["production"]["choices"] == ["a"] and cm.import_share.sum() > 0
