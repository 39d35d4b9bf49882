"""Stockpile LP against examples solved by hand (the reasoning is written out in each test).

All numbers are derived on paper from the formulation in docs/stockpile.md, never copied
from the optimiser's output.
"""

from __future__ import annotations

import numpy as np
import pytest

from critmin.disruption.sample import ShortfallSample
from critmin.stockpile.calc import calc_cvar
from critmin.stockpile.plan import (
    StockpileParams,
    evaluate_stock,
    make_problem,
    optimise,
    plan,
)
from critmin.stockpile.problem import StockpileInputError

# --------------------------------------------------------------------------------------------
# Two commodities (A, B), three scenarios, partners USA and JPN.
#
#   weights w = (0.5, 0.3, 0.2)
#   price p_A = 100, p_B = 200 $/t; loss multiples 4 and 2, so the loss per unmet t is
#   l_A = l_B = 400 $/t.  Capital cost 10 %/yr and no storage cost: holding h_A = 10,
#   h_B = 20 $/t/yr; budget use per t q = p + h: q_A = 110, q_B = 220.
#   Transfer cost tau = 5 $/t, lendable share theta = 1, lead time 6 of 12 months so a
#   transfer covers at most phi = 1 - 6/12 = 0.5 of the recipient's shortfall.  lambda = 0.
#
#   shortfall d[s]:       USA A   USA B   JPN A   JPN B
#       scenario 1          0       0       0       0
#       scenario 2         10       0       0       8
#       scenario 3         20       5       0       8
#
#   Budgets: USA 2,500 $, JPN 0 $  (so JPN holds nothing).
#
# With lambda = 0 the objective is separable and concave in each stock, and there is one
# binding budget, so the LP optimum is the greedy fill by "value per budget dollar":
# value of one more t of stock = (expected loss avoided) - h, divided by q.
#
# USA stock of A (only the USA is short of A):
#   x in [0,10):  P(d_A > x) = 0.5 -> 400*0.5 - 10 = 190 $/t -> 190/110 = 1.727 per $
#   x in [10,20): P(d_A > x) = 0.2 -> 400*0.2 - 10 =  70 $/t ->  70/110 = 0.636 per $
#
# INDEPENDENT (no transfers) USA stock of B: x in [0,5): 400*0.2 - 20 = 60 -> 0.273 per $.
#   Greedy: A to 20 t (2,200 $), then B with the remaining 300 $: 300/220 = 15/11 t.
#   Budget dual = 60/220 = 3/11.
#
# COORDINATED USA stock of B (JPN can borrow; the USA serves itself first since 400 > 395):
#   scenario 2: lend y = min(x, phi*8 = 4), worth 0.3*(400 - 5) = 118.5 per t while x < 4;
#   scenario 3: own release min(x, 5) worth 0.2*400 = 80 per t while x < 5; beyond 5 t lend.
#   x in [0,4): 118.5 + 80 - 20 = 178.5 $/t -> 178.5/220 = 0.811 per $
#   x in [4,5):          80 - 20 =  60   $/t -> 0.273 per $
#   Greedy: A to 10 t (1,100 $), B to 4 t (880 $), then A with the remaining 520 $:
#   520/110 = 52/11 t, so x_A = 10 + 52/11 = 162/11 t, x_B = 4 t.  Budget dual = 70/110 = 7/11.
# --------------------------------------------------------------------------------------------

W = np.array([0.5, 0.3, 0.2])
D = np.zeros((3, 2, 2))  # [scenario, commodity(A,B), partner(USA,JPN)]
D[1, 0, 0], D[2, 0, 0] = 10, 20
D[2, 1, 0] = 5
D[1, 1, 1] = D[2, 1, 1] = 8
CONS = np.array([[365.0, 100.0], [73.0, 50.0]])  # t/yr; USA A: 1 t = 1 day; USA B: 1 t = 5 days


def hand_sample() -> ShortfallSample:
    return ShortfallSample(
        commodities=("A", "B"), consumers=("USA", "JPN"), shortfall_t=D.copy(),
        consumption_t=CONS.copy(), price_usd_per_t=np.array([100.0, 200.0]),
        price_change_pct=np.zeros((3, 2)), weights=W.copy(),
    )


PARAMS = StockpileParams(
    capital_cost_rate=0.10, storage_cost_usd_per_t_yr=0.0, transfer_cost_usd_per_t=5.0,
    transfer_lead_time_months=6.0, lendable_share=1.0, cvar_alpha=0.95, risk_aversion=0.0,
)


def hand_problem(**kw):
    return make_problem(hand_sample(), {"USA": 2500.0, "JPN": 0.0}, {"A": 4.0, "B": 2.0},
                        PARAMS, **kw)


def test_coordinated_matches_hand_solution():
    ev = optimise(hand_problem(mode="coordinated"))
    np.testing.assert_allclose(ev.stock_t, [[162 / 11, 0.0], [4.0, 0.0]], atol=1e-7)
    # unmet: USA A scen 3: 20 - 162/11 = 58/11; USA B scen 3: 5 - 4 = 1;
    # JPN B: scen 2 gets 4 t lent -> 4 unmet; scen 3 all 4 t went to the USA -> 8 unmet.
    np.testing.assert_allclose(ev.unmet_t[2, 0, 0], 58 / 11, atol=1e-7)
    np.testing.assert_allclose(ev.unmet_t[:, 1, 1], [0, 4, 8], atol=1e-7)
    np.testing.assert_allclose(ev.sent_t[:, 1, 0], [0, 4, 0], atol=1e-7)
    # E[L] = 0.2*400*58/11 + 0.2*400*1 + (0.3*4 + 0.2*8)*400 + 0.3*4*5 = 17906/11
    assert ev.expected_loss == pytest.approx(17906 / 11, rel=1e-9)
    # holding = 10*162/11 + 20*4 = 1620/11 + 80; objective = 20406/11
    assert ev.holding_cost == pytest.approx(1620 / 11 + 80, rel=1e-9)
    assert ev.objective == pytest.approx(20406 / 11, rel=1e-9)
    assert ev.timings["lp_objective"] == pytest.approx(20406 / 11, rel=1e-9)
    # marginal value of one more budget dollar: USA 7/11 (A's 2nd segment); JPN 9/11:
    # JPN's first t of B saves 0.3*400 + 0.2*400 - 20 = 180 $ for 220 $.
    np.testing.assert_allclose(ev.marginal_value[0], [7 / 11, 9 / 11], atol=1e-9)


def test_independent_and_value_of_coordination_match_hand_solution():
    pl = plan(hand_problem(mode="independent"))
    ind = pl.result
    np.testing.assert_allclose(ind.stock_t, [[20.0, 0.0], [15 / 11, 0.0]], atol=1e-7)
    # E[L] = 0.2*400*(5 - 15/11) + JPN 0.5*8*400 = 3200/11 + 1600 = 20800/11
    assert ind.expected_loss == pytest.approx(20800 / 11, rel=1e-9)
    # holding = 200 + 20*15/11 = 2500/11; objective = 23300/11
    assert ind.objective == pytest.approx(23300 / 11, rel=1e-9)
    assert ind.marginal_value[0, 0] == pytest.approx(3 / 11, abs=1e-9)
    voc = pl.value_of_coordination
    assert voc["usd"] == pytest.approx((23300 - 20406) / 11, rel=1e-9)
    assert voc["pct"] == pytest.approx(100 * 2894 / 23300, rel=1e-9)


def test_targets_table_matches_hand_solution():
    pl = plan(hand_problem(mode="coordinated"))
    t = pl.targets().set_index(["commodity", "partner"])
    assert t.loc[("A", "USA"), "cost_usd"] == pytest.approx(1620.0)  # 162/11 t * 110 $/t
    assert t.loc[("B", "USA"), "cost_usd"] == pytest.approx(880.0)
    assert t.loc[("B", "USA"), "days_of_cover"] == pytest.approx(20.0)  # 4 t / (73/365)
    assert t.loc[("A", "USA"), "days_of_cover"] == pytest.approx(162 / 11)
    # expected shortfall with stock: USA A 0.2*58/11; USA B 0.2*1; JPN B 0.3*4 + 0.2*8
    assert t.loc[("A", "USA"), "expected_shortfall_t"] == pytest.approx(0.2 * 58 / 11)
    assert t.loc[("B", "USA"), "expected_shortfall_t"] == pytest.approx(0.2)
    assert t.loc[("B", "JPN"), "expected_shortfall_t"] == pytest.approx(2.8)
    # without: USA A 0.3*10 + 0.2*20 = 7; USA B 1; JPN B 0.5*8 = 4
    np.testing.assert_allclose(
        t["expected_shortfall_without_t"].to_numpy(), [7.0, 0.0, 1.0, 4.0], atol=1e-12
    )
    d = pl.to_dict()
    assert list(d) == ["mode", "budgets", "objective", "expected_loss", "cvar",
                       "value_of_coordination", "targets"]
    assert list(d["targets"][0]) == [
        "commodity", "partner", "stock_t", "days_of_cover", "cost_usd", "expected_shortfall_t",
        "expected_shortfall_without_t", "marginal_value",
    ]
    assert d["budgets"] == {"USA": 2500.0, "JPN": 0.0}


def test_marginal_value_equals_finite_difference():
    base = optimise(hand_problem(mode="coordinated")).objective
    more = optimise(
        make_problem(hand_sample(), {"USA": 2511.0, "JPN": 0.0}, {"A": 4.0, "B": 2.0}, PARAMS)
    ).objective
    assert (base - more) / 11.0 == pytest.approx(7 / 11, rel=1e-9)


def test_lendable_share_limits_transfers():
    # Fixed stock USA B = 10 t, theta = 0.3: in scenario 2 the USA may lend at most 3 t
    # (JPN needs 8, phi*8 = 4 > 3), in scenario 3 it releases 5 for itself and lends
    # min(0.3*10, 4, 10 - 5) = 3.  JPN unmet: scen 2: 5, scen 3: 5.
    p = make_problem(hand_sample(), {"USA": 1e9, "JPN": 1e9}, {"A": 4.0, "B": 2.0},
                     PARAMS.__class__(**{**PARAMS.__dict__, "lendable_share": 0.3}))
    ev = evaluate_stock(p, np.array([[0.0, 0.0], [10.0, 0.0]]), "fixed", sharing=True)
    np.testing.assert_allclose(ev.sent_t[:, 1, 0], [0, 3, 3], atol=1e-7)
    np.testing.assert_allclose(ev.unmet_t[:, 1, 1], [0, 5, 5], atol=1e-7)
    no_share = evaluate_stock(p, np.array([[0.0, 0.0], [10.0, 0.0]]), "fixed", sharing=False)
    np.testing.assert_allclose(no_share.unmet_t[:, 1, 1], [0, 8, 8])
    np.testing.assert_allclose(no_share.sent_t, 0.0)


def test_cvar_term_matches_hand_solution():
    # One partner, one commodity, two scenarios w = (0.8, 0.2), d = (0, 10) t; p = 100,
    # h = 10, l = 400, lambda = 1, alpha = 0.9.  For 0 <= x <= 10:
    #   E[L] = 0.2*400*(10 - x);  the worst 10 % lie inside scenario 2: CVaR = 400*(10 - x)
    #   J(x) = 80(10 - x) + 400(10 - x) + 10x = 4800 - 470x   -> buy as much as the budget allows
    # budget 550 $ at q = 110 $/t -> x = 5, J = 2450; dual = 470/110.
    smp = ShortfallSample(
        commodities=("A",), consumers=("USA",), shortfall_t=np.array([[[0.0]], [[10.0]]]),
        consumption_t=np.array([[365.0]]), price_usd_per_t=np.array([100.0]),
        price_change_pct=np.zeros((2, 1)), weights=np.array([0.8, 0.2]),
    )
    params = PARAMS.__class__(**{**PARAMS.__dict__, "risk_aversion": 1.0, "cvar_alpha": 0.9})
    ev = optimise(make_problem(smp, {"USA": 550.0}, {"A": 4.0}, params))
    assert ev.stock_t[0, 0] == pytest.approx(5.0)
    assert ev.cvar == pytest.approx(2000.0)
    assert ev.objective == pytest.approx(2450.0)
    assert ev.timings["lp_objective"] == pytest.approx(2450.0)
    assert ev.marginal_value[0, 0] == pytest.approx(470 / 110)


@pytest.mark.parametrize(
    ("alpha", "expected"),
    [
        # losses (0, 100, 1000) with probabilities (0.5, 0.3, 0.2)
        (0.0, 0.5 * 0 + 0.3 * 100 + 0.2 * 1000),  # the mean, 230
        (0.5, (0.2 * 1000 + 0.3 * 100) / 0.5),  # worst 50 %: 460
        (0.7, (0.2 * 1000 + 0.1 * 100) / 0.3),  # worst 30 %: 700
        (0.9, 1000.0),  # worst 10 % lies inside the 1000 scenario
    ],
)
def test_calc_cvar_by_hand(alpha, expected):
    losses = np.array([100.0, 0.0, 1000.0])  # unsorted on purpose
    w = np.array([0.3, 0.5, 0.2])
    assert calc_cvar(losses, w, alpha) == pytest.approx(expected)


def test_joint_budget_by_hand():
    # Same example with a joint budget of 2,000 $ (USA 2,500, JPN 0). Coordinated greedy with
    # 2,000 $: A to 10 t (1,100), B to 4 t (880), A with the last 20 $: 20/110 = 2/11 t more.
    # The USA row is slack (dual 0); the joint row has dual -7/11 (A's second segment).
    # One more dollar for JPN (its row and the joint row): JPN's first t of B is worth
    # 180/220 = 9/11 per $; the JPN row alone is worth 9/11 - 7/11 = 2/11 (it can only shift
    # joint money away from USA A). Reported marginal value = -(dual_k + dual_joint).
    p = hand_problem(joint_budget_usd=2000.0)
    ev = optimise(p)
    np.testing.assert_allclose(ev.stock_t, [[112 / 11, 0.0], [4.0, 0.0]], atol=1e-7)
    assert ev.cost_usd.sum() == pytest.approx(2000.0)
    np.testing.assert_allclose(ev.marginal_value[0], [7 / 11, 9 / 11], atol=1e-9)
    assert plan(p).to_dict()["budgets"] == {"USA": 2500.0, "JPN": 0.0, "joint": 2000.0}


# --------------------------------------------------------------------------------------------
# One loss per partner (the damage model's l_ck). One commodity X at 100 $/t, capital cost 10 %
# -> h = 10 $/t/yr, q = 110 $/t. One scenario (w = 1): the USA and Japan are each 1 t short.
# The USA can buy 1 t (budget 110 $), Japan nothing; lead time 0 (phi = 1), theta = 1,
# tau = 5 $/t, lambda = 0. Losses: USA 200 $/t, Japan 1,000 $/t.
#   keep the ton: saves the USA 200;  lend it: saves Japan 1,000 - 5 = 995  -> lend.
#   E[L] = USA unmet 1 t x 200 + transfer 1 t x 5 = 205; objective = 10 + 205 = 215.
# With one pooled loss of 600 $/t for both, keeping it (600) beats lending (595): the plan would
# leave Japan, whose ton costs 1,000, short.
# --------------------------------------------------------------------------------------------

def _one_commodity_sample() -> ShortfallSample:
    return ShortfallSample(
        commodities=("X",), consumers=("USA", "JPN"), shortfall_t=np.ones((1, 1, 2)),
        consumption_t=np.array([[10.0, 10.0]]), price_usd_per_t=np.array([100.0]),
        price_change_pct=np.zeros((1, 1)), weights=np.array([1.0]),
    )


def test_each_partner_s_unmet_ton_costs_its_own_loss():
    params = StockpileParams(capital_cost_rate=0.10, storage_cost_usd_per_t_yr=0.0, transfer_cost_usd_per_t=5.0,
                             transfer_lead_time_months=0.0, lendable_share=1.0, cvar_alpha=0.95, risk_aversion=0.0)
    budgets = {"USA": 110.0, "JPN": 0.0}
    p = make_problem(_one_commodity_sample(), budgets, {"X": 6.0}, params,
                     partner_loss_usd_per_t={"X": [200.0, 1000.0]})
    np.testing.assert_allclose(p.loss_ck, [[200.0, 1000.0]])
    ev = optimise(p)
    np.testing.assert_allclose(ev.stock_t, [[1.0, 0.0]], atol=1e-9)
    np.testing.assert_allclose(ev.sent_t[0, 0], [1.0, 0.0], atol=1e-9)  # the USA lends its ton
    np.testing.assert_allclose(ev.unmet_t[0, 0], [1.0, 0.0], atol=1e-9)
    assert ev.expected_loss == pytest.approx(205.0, rel=1e-9)
    assert ev.objective == pytest.approx(215.0, rel=1e-9)
    # pooled (600 $/t each): the USA keeps the ton; scored at the partners' own losses that is worse
    pooled = optimise(make_problem(_one_commodity_sample(), budgets, {"X": 6.0}, params))
    np.testing.assert_allclose(pooled.unmet_t[0, 0], [0.0, 1.0], atol=1e-9)
    assert float((pooled.unmet_t[0] * p.loss_ck).sum()) == pytest.approx(1000.0)
    with pytest.raises(StockpileInputError, match="partner_loss_usd_per_t"):
        make_problem(_one_commodity_sample(), budgets, {"X": 6.0}, params, partner_loss_usd_per_t={"X": [1.0]})
