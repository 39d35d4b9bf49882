"""Stockpile sharing rules (critmin.incident.sharing): hand-worked cases, an LP reference for
the need-based rule, and the properties the issue asks for."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from critmin.incident.sharing import (
    calc_need_based_release,
    calc_proportional_release,
    calc_self_release,
    compare_rules,
)

P2 = ("USA", "JPN")


def test_hand_worked_two_partners() -> None:
    # USA short 60 t with 20 t in stock, JPN short 0 t with 100 t; both use 1 t/day.
    # self: USA covers 20, 40 t unmet (-40 days); JPN keeps 100 t (100 days).
    s = calc_self_release(P2, [60, 0], [20, 100], [1, 1])
    assert s.unmet_t == (40.0, 0.0) and s.days_of_cover == (-40.0, 100.0)
    # proportional: R = min(60, 120) = 60 t, 30/30 by equal consumption, but USA holds only 20 t:
    # USA gives 20, JPN 40; USA's shortfall fully covered -> USA 0 days, JPN 60 t left = 60 days.
    p = calc_proportional_release(P2, [60, 0], [20, 100], [1, 1])
    assert p.released_t == pytest.approx((20.0, 40.0)) and p.unmet_t == pytest.approx((0.0, 0.0))
    assert p.days_of_cover == pytest.approx((0.0, 60.0))
    # need-based: total position 120 - 60 = 60 t -> 30 days each, but a release only covers
    # shortfalls (P_USA <= S_USA = 20 t): USA 20 days, JPN 40 days; min 20 > proportional's 0.
    n = calc_need_based_release(P2, [60, 0], [20, 100], [1, 1])
    assert n.days_of_cover == pytest.approx((20.0, 40.0), abs=1e-9)
    assert n.unmet_t == pytest.approx((0.0, 0.0), abs=1e-9)
    assert sum(n.released_t) == pytest.approx(sum(n.received_t))


def test_iea_shares_follow_consumption() -> None:
    # ample stocks: contributions are exactly the consumption shares of the collective action
    p = calc_proportional_release(P2, [30, 10], [1000, 1000], [3, 1])
    assert p.released_t == pytest.approx((30.0, 10.0))  # 40 t x 3/4 and x 1/4
    assert p.received_t == pytest.approx((30.0, 10.0))


def test_value_of_coordination() -> None:
    out = compare_rules(P2, [60, 0], [20, 100], [1, 1], price_usd_per_t=1000.0)
    rules = {r["rule"]: r for r in out["rules"]}
    assert rules["self"]["value_of_coordination_usd"] == 0.0
    assert rules["proportional"]["value_of_coordination_usd"] == pytest.approx(40_000.0)
    assert rules["need_based"]["value_of_coordination_usd"] == pytest.approx(40_000.0, abs=1e-3)
    assert compare_rules(P2, [1, 0], [0, 1], [1, 1], None)["rules"][1]["value_of_coordination_usd"] is None


def test_refuses_bad_inputs() -> None:
    with pytest.raises(ValueError, match="daily_use_t"):
        calc_self_release(P2, [1, 1], [1, 1], [1, 0])
    with pytest.raises(ValueError, match="stock_t"):
        calc_self_release(P2, [1, 1], [-1, 1], [1, 1])


def _lp_max_min_days(d: np.ndarray, s: np.ndarray, c: np.ndarray) -> float:
    """Slow reference: maximise t s.t. P_i >= t c_i, sum P = sum S - sum D, -D_i <= P_i <= S_i."""
    n = d.size
    cost = np.zeros(n + 1)
    cost[-1] = -1.0
    a_ub = np.hstack([-np.eye(n), c[:, None]])  # t c_i - P_i <= 0
    a_eq = np.hstack([np.ones((1, n)), np.zeros((1, 1))])
    bounds = [(-float(di), float(si)) for di, si in zip(d, s, strict=True)] + [(None, None)]
    res = linprog(cost, A_ub=a_ub, b_ub=np.zeros(n), A_eq=a_eq, b_eq=[float(s.sum() - d.sum())],
                  bounds=bounds, method="highs")
    assert res.status == 0, res.message
    return float(res.x[-1])


amount = st.floats(min_value=0.0, max_value=1e5, allow_nan=False, allow_infinity=False)
use = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)


@st.composite
def cases(draw):
    n = draw(st.integers(min_value=1, max_value=4))
    d = np.array(draw(st.lists(amount, min_size=n, max_size=n)))
    s = np.array(draw(st.lists(amount, min_size=n, max_size=n)))
    c = np.array(draw(st.lists(use, min_size=n, max_size=n)))
    return tuple(f"P{i}" for i in range(n)), d, s, c


@settings(max_examples=200, deadline=None)
@given(cases())
def test_need_based_never_leaves_the_worst_off_below_proportional(case) -> None:
    names, d, s, c = case
    prop = calc_proportional_release(names, d, s, c)
    need = calc_need_based_release(names, d, s, c)
    scale = 1e-7 * (1.0 + float(np.max((s + d) / c)))
    assert need.min_days_of_cover >= prop.min_days_of_cover - scale
    assert need.min_days_of_cover >= calc_self_release(names, d, s, c).min_days_of_cover - scale


@settings(max_examples=100, deadline=None)
@given(cases())
def test_rules_conserve_material_and_stay_feasible(case) -> None:
    names, d, s, c = case
    tol = 1e-7 * (1.0 + float(s.sum() + d.sum()))
    for rule in (calc_self_release, calc_proportional_release, calc_need_based_release):
        o = rule(names, d, s, c)
        r, a = np.array(o.released_t), np.array(o.received_t)
        assert abs(r.sum() - a.sum()) <= tol, rule.__name__
        assert np.all(r <= s + tol) and np.all(a <= d + tol) and np.all(r >= -tol) and np.all(a >= -tol)
    # both coordinated rules leave the same total unmet shortfall, max(sum D - sum S, 0)
    want = max(float(d.sum() - s.sum()), 0.0)
    assert calc_proportional_release(names, d, s, c).total_unmet_t == pytest.approx(want, abs=tol)
    assert calc_need_based_release(names, d, s, c).total_unmet_t == pytest.approx(want, abs=tol)


@settings(max_examples=60, deadline=None)
@given(cases())
def test_need_based_agrees_with_the_lp_reference(case) -> None:
    names, d, s, c = case
    got = calc_need_based_release(names, d, s, c).min_days_of_cover
    want = _lp_max_min_days(d, s, c)
    assert got == pytest.approx(want, rel=1e-6, abs=1e-6 * (1 + abs(want)))
