"""Price-floor model: hand-worked contracts, invariants, calibration against known parameters."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.markets.errors import NotComputable
from critmin.markets.floor import (
    FloorContract,
    calc_floor_cashflows,
    calc_floor_summary,
    calc_project_effect,
)
from critmin.markets.pricemodel import OUParams, calibrate_ou, simulate_ou_paths


def test_hand_worked_contract():
    # 1 year, floor 110 USD/kg, 12 t/yr -> 1,000 kg a month.
    c = FloorContract(floor=110.0, volume_t_per_year=12.0, years=1)
    prices = np.array([[100.0] * 6 + [120.0] * 6, [50.0] * 12])
    cost = calc_floor_cashflows(prices, c)
    # path 0: six months at (110-100)*1000 = 10,000 USD; path 1: 12 * 60*1000
    assert cost[0].sum() == pytest.approx(60_000.0)
    assert cost[1].sum() == pytest.approx(720_000.0)
    s = calc_floor_summary(prices, c, fiscal_discount_rate=0.0)
    assert s["mean_cost_usd"] == pytest.approx((60_000.0 + 720_000.0) / 2)
    assert s["p_binding"] == pytest.approx((6 + 12) / 24)
    assert s["p_binding_any"] == 1.0
    assert s["max_year_cost_usd"] == pytest.approx(720_000.0)


def test_ceiling_upside_share_hand_worked():
    c = FloorContract(floor=100.0, volume_t_per_year=12.0, years=1, ceiling=150.0, upside_share=0.3)
    prices = np.full((1, 12), 200.0)
    # project pays back 0.3 * (200-150) * 1000 kg per month
    assert calc_floor_cashflows(prices, c).sum() == pytest.approx(-12 * 0.3 * 50 * 1000)


def test_usd_per_t_contract_uses_tonnes():
    c = FloorContract(floor=9000.0, volume_t_per_year=1200.0, years=1, unit="USD/t")
    cost = calc_floor_cashflows(np.full((1, 12), 8000.0), c)
    assert cost.sum() == pytest.approx(1000.0 * 1200.0)


@given(
    floor=st.floats(0, 200),
    prices=st.lists(st.floats(200.01, 1e4), min_size=12, max_size=12),
)
def test_market_always_above_floor_costs_nothing(floor, prices):
    c = FloorContract(floor=floor, volume_t_per_year=10_000.0, years=1)
    p = np.array([prices])
    s = calc_floor_summary(p, c, fiscal_discount_rate=0.02)
    assert s["mean_cost_usd"] == 0.0
    assert s["p95_cost_usd"] == 0.0
    assert s["worst_year_cost_usd"] == 0.0
    assert s["p_binding"] == 0.0


@settings(max_examples=50, deadline=None)
@given(
    f1=st.floats(0, 300),
    df=st.floats(0, 300),
    seed=st.integers(0, 2**32 - 1),
    ceiling_share=st.floats(0, 1),
)
def test_cost_never_falls_with_the_floor(f1, df, seed, ceiling_share):
    params = OUParams(kappa=0.8, mu=math.log(80.0), sigma=0.5)
    prices = simulate_ou_paths(params, 60.0, 24, 200, random_state=seed)
    f2 = f1 + df
    ceil = 700.0
    a = calc_floor_summary(prices, FloorContract(f1, 100.0, 2, ceiling=ceil, upside_share=ceiling_share), 0.02)
    b = calc_floor_summary(prices, FloorContract(f2, 100.0, 2, ceiling=ceil, upside_share=ceiling_share), 0.02)
    for k in ("mean_cost_usd", "p95_cost_usd", "worst_year_cost_usd", "pv_mean_cost_usd", "p_binding"):
        assert b[k] >= a[k] - 1e-9 * max(1.0, abs(a[k]))


def test_same_seed_same_distribution_and_different_seed_differs():
    params = OUParams(kappa=0.5, mu=math.log(70.0), sigma=0.4)
    a = simulate_ou_paths(params, 56.0, 120, 500, random_state=1)
    b = simulate_ou_paths(params, 56.0, 120, 500, random_state=1)
    c = simulate_ou_paths(params, 56.0, 120, 500, random_state=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_ou_paths_match_the_analytic_moments():
    # E[ln P_t] and Var[ln P_t] of the OU process (Schwartz 1997) at t = 5 years.
    p = OUParams(kappa=0.7, mu=math.log(90.0), sigma=0.35)
    x = np.log(simulate_ou_paths(p, 50.0, 60, 40_000, random_state=7)[:, -1])
    t = 5.0
    mean = p.mu + (math.log(50.0) - p.mu) * math.exp(-p.kappa * t)
    var = p.sigma**2 * (1 - math.exp(-2 * p.kappa * t)) / (2 * p.kappa)
    assert x.mean() == pytest.approx(mean, abs=4 * math.sqrt(var / x.size))
    assert x.var() == pytest.approx(var, rel=0.03)


def test_calibration_recovers_known_parameters():
    # A long monthly OU path with known parameters; the AR(1) mapping must recover them.
    true = OUParams(kappa=1.2, mu=math.log(40.0), sigma=0.3)
    path = simulate_ou_paths(true, 40.0, 12 * 400, 1, random_state=3)[0]
    s = pd.Series(path, index=range(path.size))
    fit = calibrate_ou(s, dt_years=1 / 12)
    assert abs(fit.kappa - true.kappa) < 3 * fit.kappa_se
    assert abs(fit.mu - true.mu) < 3 * fit.mu_se
    assert fit.sigma == pytest.approx(true.sigma, rel=0.05)
    assert fit.n_obs == path.size


def test_calibration_against_numpy_least_squares():
    # USGS annual Nd2O3 prices (USD/kg, MCS 2022-2025, 2017-2024). Independent reference:
    # OLS by numpy.polyfit and the OU mapping written out by hand.
    p = np.array([50, 50, 45, 49, 98, 134, 78, 56], dtype=float)
    x = np.log(p)
    b, a = np.polyfit(x[:-1], x[1:], 1)
    resid = x[1:] - (a + b * x[:-1])
    s2 = resid @ resid / (len(resid) - 2)
    kappa = -math.log(b)
    fit = calibrate_ou(pd.Series(p, index=range(2017, 2025)), dt_years=1.0)
    assert fit.kappa == pytest.approx(kappa)
    assert fit.mu == pytest.approx(a / (1 - b))
    assert fit.sigma == pytest.approx(math.sqrt(s2 * 2 * kappa / (1 - b * b)))
    assert (fit.window_start, fit.window_end, fit.n_obs) == ("2017", "2024", 8)


def test_random_walk_is_not_computable():
    rising = pd.Series(np.exp(np.arange(10) * 0.3), index=range(2000, 2010))
    with pytest.raises(NotComputable, match="mean reversion"):
        calibrate_ou(rising, dt_years=1.0)


def test_project_effect_hand_worked():
    c = FloorContract(floor=110.0, volume_t_per_year=12.0, years=1)
    prices = np.array([[100.0] * 12, [130.0] * 12])
    e = calc_project_effect(prices, c, production_cost=105.0, discount_rate=0.0, liquidity_years=0.25)
    # without floor: path 0 loses 5 USD/kg * 12,000 kg = -60,000; path 1 earns 25*12,000.
    assert e["npv_mean_usd_without_floor"] == pytest.approx((-60_000 + 300_000) / 2)
    # with floor: path 0 earns (110-105)*12,000
    assert e["npv_mean_usd_with_floor"] == pytest.approx((60_000 + 300_000) / 2)
    # buffer = 0.25 yr * 105 * 12,000 = 315,000 > 60,000 -> both survive
    assert e["p_survival_without_floor"] == 1.0
    e2 = calc_project_effect(prices, c, production_cost=105.0, discount_rate=0.0, liquidity_years=0.04)
    # buffer 50,400 < 60,000 cumulative loss -> path 0 fails without the floor only
    assert e2["p_survival_without_floor"] == 0.5
    assert e2["p_survival_with_floor"] == 1.0


def test_contract_validation_names_the_field():
    with pytest.raises(ValueError, match="upside_share"):
        FloorContract(floor=1, volume_t_per_year=1, years=1, upside_share=0.5)
    with pytest.raises(ValueError, match="unit"):
        FloorContract(floor=1, volume_t_per_year=1, years=1, unit="EUR/kg")
