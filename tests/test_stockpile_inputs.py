"""Input validation, error messages, loss multiples, baselines and the frontier output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from critmin.stockpile.calc import calc_days_of_cover, calc_loss_multiple, calc_policy_stock
from critmin.stockpile.frontier import frontier, write_frontier_html
from critmin.stockpile.inputs import economic_vulnerability_from_assessment, loss_multiples
from critmin.stockpile.model import build_lp, make_highs, solve_lp
from critmin.stockpile.plan import StockpileParams, make_problem
from critmin.stockpile.policy import comparison_table, days_stock, policy_baselines
from critmin.stockpile.problem import StockpileInputError, StockpileSolveError
from test_stockpile_hand import PARAMS, hand_problem, hand_sample


def test_negative_budget_is_named():
    with pytest.raises(StockpileInputError, match=r"budgets_usd: value -5\.0 at \[JPN\]"):
        make_problem(hand_sample(), {"USA": 100.0, "JPN": -5.0}, {"A": 4, "B": 2}, PARAMS)


def test_nan_price_is_named():
    s = hand_sample()
    s.price_usd_per_t[1] = np.nan
    with pytest.raises(StockpileInputError, match=r"price_usd_per_t: value nan at \[B\]"):
        make_problem(s, {"USA": 100.0, "JPN": 0.0}, {"A": 4, "B": 2}, PARAMS)


def test_missing_budget_and_unknown_partner_are_named():
    with pytest.raises(StockpileInputError, match=r"budgets: missing \['JPN'\]; unknown \['KOR'\]"):
        make_problem(hand_sample(), {"USA": 1.0, "KOR": 1.0}, {"A": 4, "B": 2}, PARAMS)


def test_bad_shares_are_named():
    bad = StockpileParams(**{**PARAMS.__dict__, "lendable_share": 1.5})
    with pytest.raises(StockpileInputError, match="lendable_share"):
        make_problem(hand_sample(), {"USA": 1.0, "JPN": 1.0}, {"A": 4, "B": 2}, bad)
    bad = StockpileParams(**{**PARAMS.__dict__, "cvar_alpha": 1.0})
    with pytest.raises(StockpileInputError, match="alpha"):
        make_problem(hand_sample(), {"USA": 1.0, "JPN": 1.0}, {"A": 4, "B": 2}, bad)


def test_solver_infeasibility_is_traced_to_the_input():
    # Bypass validation: a negative budget makes the LP infeasible; the solver error must
    # name the budget of JPN as the cause.
    p = hand_problem().with_(budgets_usd=np.array([100.0, -5.0]))
    built = build_lp(p)
    with pytest.raises(StockpileSolveError, match=r"(?s)Infeasible.*budgets_usd.*JPN"):
        solve_lp(make_highs(built), p)


def test_solver_unboundedness_is_traced_to_the_input():
    # A negative holding cost (e.g. a negative storage-cost setting) with no budget limit
    # rewards holding ever more stock: the LP is unbounded; the error names the input.
    p = hand_problem().with_(holding_usd_per_t_yr=np.array([10.0, -1.0]),
                             budgets_usd=np.array([np.inf, np.inf]))
    with pytest.raises(StockpileSolveError, match=r"holding_usd_per_t_yr.*\[B\]"):
        solve_lp(make_highs(build_lp(p)), p)


def test_loss_multiples_precedence_and_missing():
    m, src = loss_multiples(["a", "b"], {"a": 0.5, "b": 1.0}, {"b": 7.0}, multiple_max=5.0)
    assert m == {"a": 1 + 4 * 0.5, "b": 7.0}  # b's override wins over its EV
    with pytest.raises(StockpileInputError, match=r"not computable for \['c'\]"):
        loss_multiples(["a", "b", "c"], {"a": 0.5, "b": 1.0}, {"b": 7.0}, multiple_max=5.0)
    m, src = loss_multiples(["a", "b", "c"], {"a": 0.5}, {"b": 7.0, "*": 2.0}, multiple_max=5.0)
    assert m == {"a": 2.0, "b": 7.0, "c": 2.0}  # '*' wins over EV; own override over '*'
    assert src["b"] == "user override"
    m, src = loss_multiples(["a"], {"a": 0.25}, None, multiple_max=5.0)
    assert m == {"a": 2.0}  # 1 + (5 - 1) * 0.25
    with pytest.raises(StockpileInputError, match="unknown commodities"):
        loss_multiples(["a"], {}, {"zz": 2.0})


def test_ev_from_assessment_columns():
    df = pd.DataFrame({"commodity": ["a", "b"], "economic_vulnerability_USA": [0.2, np.nan],
                       "economic_vulnerability_JPN": [0.4, 0.5]})
    assert economic_vulnerability_from_assessment(df, ["USA", "JPN"]) == {"a": pytest.approx(0.3)}
    with pytest.raises(StockpileInputError, match="no economic-vulnerability column"):
        economic_vulnerability_from_assessment(df[["commodity"]], ["USA", "JPN"])


def test_small_calcs_by_hand():
    np.testing.assert_allclose(calc_loss_multiple(np.array([0.0, 1.0, 0.5]), 4.2), [1, 4.2, 2.6])
    np.testing.assert_allclose(calc_days_of_cover(np.array([[10.0, 1.0]]), np.array([[365.0, 0.0]])),
                               [[10.0, np.nan]])
    np.testing.assert_allclose(calc_policy_stock(np.array([[365.0, 730.0]]), 60), [[60.0, 120.0]])


def test_policy_baselines_by_hand():
    p = hand_problem()
    # 60 days of USA A consumption 365 t/yr = 60 t; 180 days for the high-risk B:
    # USA B 73 t/yr * 180/365 = 36 t.
    np.testing.assert_allclose(days_stock(p, ["B"])[:, 0], [60.0, 36.0])
    evs = policy_baselines(p, ["B"], {("A", "JPN"): 3.0})
    tab = comparison_table(p, evs)
    assert list(tab["name"]) == ["60 days", "60/180 days (high-risk)", "fixed (user)"]
    # 60-day stock covers every USA shortfall: USA A (<= 20 t) and B (12 t >= 5 t); JPN B stock
    # is 50*60/365 = 8.22 t >= 8 t: no unmet shortfall at all.
    assert tab.loc[0, "expected_loss"] == pytest.approx(0.0)
    # user stock: 3 t of A in Japan is useless without sharing; loss = no-stock loss
    # = 400 * (0.3*10 + 0.2*20 + 0.2*5 + 0.5*8) = 400 * 12 = 4800
    assert tab.loc[2, "expected_loss"] == pytest.approx(4800.0)
    assert tab.loc[2, "cost_usd_JPN"] == pytest.approx(330.0)  # 3 t * 110 $/t
    assert not tab.loc[2, "within_budget_JPN"]  # JPN budget is 0
    with pytest.raises(StockpileInputError, match="high_risk"):
        days_stock(p, ["unobtainium"])


def test_frontier_data_and_html(tmp_path):
    p = hand_problem()
    df = frontier(p, [0.0, 0.5, 1.0, 2.0])
    coo = df[df["mode"] == "coordinated"].set_index("scale")
    # scale 1 is the hand example: objective 20406/11
    assert coo.loc[1.0, "objective"] == pytest.approx(20406 / 11)
    # scale 0: nothing held; loss = 4800 (see test_policy_baselines_by_hand)
    assert coo.loc[0.0, "expected_loss"] == pytest.approx(4800.0)
    assert (np.diff(coo["objective"].to_numpy()) <= 1e-7).all()
    out = write_frontier_html(df, tmp_path / "f.html")
    html = out.read_text()
    assert "<script src=\"http" not in html and "plotly" in html.lower()


def test_days_rule_scope():
    p = hand_problem()
    # only B in scope: A holds nothing; B 60 days (USA 73 t/yr -> 12 t; JPN 50 t/yr -> 60/365*50)
    np.testing.assert_allclose(days_stock(p, scope=["B"]), [[0, 0], [12.0, 50 * 60 / 365]])
    # a high-risk commodity outside the scope still gets its 180 days
    np.testing.assert_allclose(days_stock(p, ["A"], scope=["B"])[0], [180.0, 100 * 180 / 365])
