"""Invariants of the stockpile programme (hypothesis property tests on small random inputs)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critmin.disruption.sample import ShortfallSample
from critmin.stockpile.calc import calc_cvar
from critmin.stockpile.plan import StockpileParams, make_problem, optimise, plan

PROFILE = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOL = 1e-6


@st.composite
def samples(draw) -> ShortfallSample:
    C = draw(st.integers(1, 3))
    S = draw(st.integers(2, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    hit = rng.random((S, C, 2)) < 0.5
    d = np.round(rng.uniform(0, 50, (S, C, 2)) * hit, 3)
    w = rng.uniform(0.1, 1.0, S)
    return ShortfallSample(
        commodities=tuple(f"c{i}" for i in range(C)), consumers=("USA", "JPN"), shortfall_t=d,
        consumption_t=rng.uniform(10, 500, (C, 2)),
        price_usd_per_t=np.round(rng.uniform(10, 1000, C), 2),
        price_change_pct=np.zeros((S, C)), weights=w / w.sum(),
    )


@st.composite
def params(draw, risk_neutral_free: bool = False) -> StockpileParams:
    if risk_neutral_free:
        return StockpileParams(0.0, 0.0, 0.0, draw(st.floats(0, 12)), draw(st.floats(0, 1)),
                               0.9, 0.0)
    return StockpileParams(
        capital_cost_rate=draw(st.floats(0, 0.2)),
        storage_cost_usd_per_t_yr=draw(st.floats(0, 20)),
        transfer_cost_usd_per_t=draw(st.floats(0, 50)),
        transfer_lead_time_months=draw(st.floats(0, 12)),
        lendable_share=draw(st.floats(0, 1)),
        cvar_alpha=draw(st.floats(0.5, 0.99)),
        risk_aversion=draw(st.floats(0, 2)),
    )


budget = st.floats(0, 20_000)
multiple = st.floats(1.0, 6.0)


def _problem(sample, b_usa, b_jpn, m, par, mode="coordinated"):
    return make_problem(sample, {"USA": b_usa, "JPN": b_jpn}, dict.fromkeys(sample.commodities, m),
                        par, mode=mode)


@PROFILE
@given(samples(), params(), multiple, st.sampled_from(["coordinated", "independent"]))
def test_zero_budget_gives_no_stock(sample, par, m, mode):
    ev = optimise(_problem(sample, 0.0, 0.0, m, par, mode))
    assert np.all(ev.stock_t <= 1e-9)
    assert ev.cost_usd.sum() <= 1e-6


@PROFILE
@given(samples(), params(), budget, budget, multiple, st.sampled_from(["coordinated", "independent"]))
def test_budgets_never_exceeded(sample, par, b_usa, b_jpn, m, mode):
    ev = optimise(_problem(sample, b_usa, b_jpn, m, par, mode))
    spent = ev.cost_usd.sum(axis=0)
    assert spent[0] <= b_usa * (1 + 1e-7) + 1e-6
    assert spent[1] <= b_jpn * (1 + 1e-7) + 1e-6


@PROFILE
@given(samples(), params(), budget, budget, st.floats(1.0, 3.0), multiple,
       st.sampled_from(["coordinated", "independent"]))
def test_larger_budget_never_worse(sample, par, b_usa, b_jpn, factor, m, mode):
    # The optimum of the programme's own objective can only fall when the feasible set grows.
    small = optimise(_problem(sample, b_usa, b_jpn, m, par, mode))
    large = optimise(_problem(sample, b_usa * factor, b_jpn * factor + 100, m, par, mode))
    if mode == "coordinated":
        assert large.objective <= small.objective * (1 + 1e-7) + TOL
    else:  # independent mode minimises the sum of per-partner objectives
        assert large.timings["lp_objective"] <= small.timings["lp_objective"] * (1 + 1e-7) + TOL


@PROFILE
@given(samples(), params(risk_neutral_free=True), budget, budget, st.floats(1.0, 3.0), multiple,
       st.sampled_from(["coordinated", "independent"]))
def test_larger_budget_never_higher_expected_loss_when_loss_is_the_objective(
    sample, par, b_usa, b_jpn, factor, m, mode
):
    # lambda = 0, no holding or transfer cost: the objective IS the expected loss.
    small = optimise(_problem(sample, b_usa, b_jpn, m, par, mode))
    large = optimise(_problem(sample, b_usa * factor, b_jpn * factor, m, par, mode))
    assert large.expected_loss <= small.expected_loss * (1 + 1e-7) + TOL


@PROFILE
@given(samples(), params(), budget, budget, multiple)
def test_coordinated_never_worse_than_independent(sample, par, b_usa, b_jpn, m):
    pl = plan(_problem(sample, b_usa, b_jpn, m, par))
    scale = max(pl.independent.objective, 1.0)
    assert pl.coordinated.objective <= pl.independent.objective + 1e-7 * scale
    assert pl.value_of_coordination["usd"] >= -1e-7 * scale


@PROFILE
@given(samples(), params(), multiple)
def test_unlimited_budget_without_holding_cost_covers_every_shortfall(sample, par, m):
    par = StockpileParams(**{**par.__dict__, "capital_cost_rate": 0.0,
                             "storage_cost_usd_per_t_yr": 0.0})
    for mode in ("coordinated", "independent"):
        p = _problem(sample, float("inf"), float("inf"), m, par, mode)
        ev = optimise(p)
        assert ev.expected_shortfall_t(p.weights).sum() <= 1e-6
        assert ev.unmet_t.max() <= 1e-6


@PROFILE
@given(samples(), params(), budget, budget, multiple)
def test_lp_objective_equals_recomputed_measure(sample, par, b_usa, b_jpn, m):
    # The Rockafellar-Uryasev LP value equals holding + E[L] + lambda * CVaR computed exactly
    # from the read-back scenario losses (calc_cvar sorts them; no LP involved).
    ev = optimise(_problem(sample, b_usa, b_jpn, m, par))
    assert ev.timings["lp_objective"] == pytest.approx(ev.objective, rel=1e-6, abs=1e-4)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=20), st.floats(0, 0.99), st.integers(0, 10**6))
def test_calc_cvar_matches_brute_force(losses, alpha, seed):
    # Reference: minimise the Rockafellar-Uryasev function over every candidate eta (the
    # minimum is attained at one of the losses), an obviously-correct O(n^2) search.
    losses = np.array(losses)
    w = np.random.default_rng(seed).uniform(0.1, 1.0, losses.size)
    w /= w.sum()
    ref = min(eta + np.sum(w * np.maximum(losses - eta, 0)) / (1 - alpha) for eta in losses)
    assert calc_cvar(losses, w, alpha) == pytest.approx(ref, rel=1e-9, abs=1e-6)
    assert calc_cvar(losses, w, alpha) >= float(w @ losses) - 1e-6
