"""Risk indicators against hand-worked examples and invariants (hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.data.supply import calc_shares
from critmin.risk.concentration import (
    calc_concentration,
    calc_group_share,
    calc_hhi,
    calc_hhi_wgi,
    calc_leading,
    calc_reserve_life,
    calc_top_n_share,
)
from critmin.risk.exposure import (
    calc_import_hhi,
    calc_import_shares,
    calc_net_import_reliance,
    calc_non_allied_share,
    calc_supplier_governance_risk,
    nir_from_mcs,
)
from critmin.risk.governance import calc_wgi_mean, calc_wgi_scaled, calc_wgi_unit
from critmin.risk.indices import (
    calc_disruption_potential,
    calc_eu_supply_risk,
    calc_eu_supply_risk_consumer,
    calc_joint_score,
    calc_sourcing_shares,
    calc_usgs_supply_risk,
)

# --- The hand-worked example -------------------------------------------------------------
# Three producers of 100 t in total: A 50 t, B 30 t, C 20 t.
#   shares 0.5, 0.3, 0.2
#   HHI = 50² + 30² + 20² = 2500 + 900 + 400 = 3800
# Six WGI estimates per country (means: A -0.5, B +1.5, C 0.0):
#   scaled (2.5 - mean)/5*10: A 6.0, B 2.0, C 5.0
#   HHI_WGI = 0.25*6 + 0.09*2 + 0.04*5 = 1.5 + 0.18 + 0.2 = 1.88
Q = {"AAA": 50.0, "BBB": 30.0, "CCC": 20.0}
WGI_EST = {
    "AAA": {"CC": -1.0, "GE": 0.0, "PV": -1.0, "RQ": 0.0, "RL": -0.5, "VA": -0.5},
    "BBB": {"CC": 1.5, "GE": 2.0, "PV": 1.0, "RQ": 1.5, "RL": 1.5, "VA": 1.5},
    "CCC": {"CC": 0.5, "GE": -0.5, "PV": 0.25, "RQ": -0.25, "RL": 0.0, "VA": 0.0},
    "DDD": {d: 2.0 for d in ("CC", "GE", "PV", "RQ", "RL", "VA")},  # the consumer, scaled 1.0
}


def _scaled() -> dict[str, float]:
    return {c: calc_wgi_scaled(calc_wgi_mean(e)) for c, e in WGI_EST.items()}


def test_hand_worked_hhi_and_hhi_wgi():
    sh = calc_shares(Q)
    assert sh.shares == pytest.approx({"AAA": 0.5, "BBB": 0.3, "CCC": 0.2})
    assert calc_hhi(sh.shares.values()) == pytest.approx(3800.0)
    assert _scaled() == pytest.approx({"AAA": 6.0, "BBB": 2.0, "CCC": 5.0, "DDD": 1.0})
    assert calc_hhi_wgi(sh.shares, _scaled()) == pytest.approx(1.88)


def test_hand_worked_concentration_result():
    r = calc_concentration(calc_shares(Q, world_total=125.0), allied={"BBB", "CCC"}, wgi_scaled=_scaled())
    # world total 125 t: shares 0.4, 0.24, 0.16; residual 0.2
    assert r.top_country_iso3 == "AAA" and r.top_share == pytest.approx(0.4)
    assert r.hhi == pytest.approx(1600 + 576 + 256)
    assert r.top3_share == pytest.approx(0.8)
    assert r.china_share == 0.0
    assert r.allied_share == pytest.approx(0.4)
    assert r.residual_share == pytest.approx(0.2)
    assert r.hhi_wgi == pytest.approx(0.16 * 6 + 0.0576 * 2 + 0.0256 * 5)


def test_hhi_wgi_missing_producer_is_reported_not_zeroed():
    r = calc_concentration(calc_shares({"AAA": 1.0, "ZZZ": 1.0}), allied=(), wgi_scaled=_scaled())
    assert r.hhi_wgi is None
    assert "ZZZ" in r.missing[0]
    with pytest.raises(KeyError, match="ZZZ"):
        calc_hhi_wgi({"ZZZ": 0.5}, {})


def test_wgi_rescaling_endpoints_and_clip():
    assert calc_wgi_scaled(2.5) == 0.0
    assert calc_wgi_scaled(-2.5) == 10.0
    assert calc_wgi_scaled(0.0) == 5.0
    assert calc_wgi_scaled(3.1) == 0.0 and calc_wgi_scaled(-2.7) == 10.0
    assert calc_wgi_unit(-0.5) == pytest.approx(0.6)
    with pytest.raises(KeyError, match="VA"):
        calc_wgi_mean({"CC": 0, "GE": 0, "PV": 0, "RQ": 0, "RL": 0})


def test_rounded_world_total_below_country_sum_uses_the_sum():
    # within two-significant-digit rounding (<= 5 %): the published total is the basis
    sh = calc_shares({"AAA": 60.0, "BBB": 44.0}, world_total=100.0)
    assert sh.basis == "world_total" and sh.shares["AAA"] == pytest.approx(0.6)
    # beyond it the total is inconsistent with the rows: shares of the country sum
    sh = calc_shares({"AAA": 60.0, "BBB": 50.0}, world_total=100.0)
    assert sh.basis == "sum_of_rows" and sum(sh.shares.values()) == pytest.approx(1.0)
    assert sh.notes


def test_small_helpers():
    assert calc_leading({"AAA": 0.4, "BBB": 0.4}) == ("AAA", 0.4)
    assert calc_top_n_share({"a": 0.1, "b": 0.5, "c": 0.2, "d": 0.2}, 2) == pytest.approx(0.7)
    assert calc_group_share({"CHN": 0.7, "USA": 0.1}, {"CHN"}) == pytest.approx(0.7)
    assert calc_reserve_life(44_000_000, 390_000) == pytest.approx(112.82, abs=0.01)
    with pytest.raises(ValueError):
        calc_reserve_life(1.0, 0.0)
    with pytest.raises(ValueError, match="fraction"):
        calc_hhi([1.5])


# --- exposure ----------------------------------------------------------------------------
def test_nir_formula_hand_worked():
    # P = 20, M = 100, X = 20: apparent consumption 100, net imports 80 -> 0.8
    assert calc_net_import_reliance(100, 20, 20) == pytest.approx(0.8)
    # net exporter: P = 100, M = 10, X = 50 -> -40/60
    assert calc_net_import_reliance(10, 50, 100) == pytest.approx(-2 / 3)
    with pytest.raises(ValueError, match="apparent consumption"):
        calc_net_import_reliance(10, 50, 0)


def test_nir_codes_stay_explicit():
    e = nir_from_mcs(None, "E", None, None, "E", "MCS2025 T5")
    assert (e.value, e.flag, e.hi, e.usable) == (None, "E", 0.0, 0.0)
    gt = nir_from_mcs(None, ">", 75.0, None, ">75", "MCS2025 T5")
    assert (gt.value, gt.flag, gt.lo, gt.hi, gt.usable) == (None, ">", 0.75, 1.0, 0.75)
    lt = nir_from_mcs(None, "<", None, 25.0, "<25", "MCS2025 T5")
    assert (lt.flag, lt.lo, lt.hi, lt.usable) == ("<", 0.0, 0.25, 0.25)
    plain = nir_from_mcs(85.0, None, None, None, "85", "s")
    assert (plain.value, plain.flag, plain.usable) == (0.85, None, 0.85)
    w = nir_from_mcs(None, "W", None, None, "W", "s")
    assert w.flag == "W" and w.usable is None


def test_import_indicators_hand_worked():
    m = calc_import_shares({"AAA": 60.0, "BBB": 30.0, "CCC": 10.0, "EEE": 0.0})
    assert m == pytest.approx({"AAA": 0.6, "BBB": 0.3, "CCC": 0.1})
    assert calc_import_hhi(m) == pytest.approx(3600 + 900 + 100)
    assert calc_non_allied_share(m, {"BBB"}) == pytest.approx(0.7)
    g = {c: v / 10 for c, v in _scaled().items()}
    # 0.6*0.6 + 0.3*0.2 + 0.1*0.5 = 0.36 + 0.06 + 0.05
    assert calc_supplier_governance_risk(m, g) == pytest.approx(0.47)


# --- composite indices -------------------------------------------------------------------
def test_eu_supply_risk_hand_worked():
    # consumer DDD (scaled WGI 1.0), IR 0.6, imports half from AAA, half from BBB:
    # sourcing DDD 0.4, AAA 0.3, BBB 0.3 -> HHI_WGI = 0.16*1 + 0.09*6 + 0.09*2 = 0.88
    src = calc_sourcing_shares("DDD", 0.6, {"AAA": 0.5, "BBB": 0.5})
    assert src == pytest.approx({"DDD": 0.4, "AAA": 0.3, "BBB": 0.3})
    assert calc_hhi_wgi(src, _scaled()) == pytest.approx(0.88)
    # SR = (1.88*0.3 + 0.88*0.7) * (1-0.1) * 0.9 = 1.18 * 0.81 = 0.9558
    assert calc_eu_supply_risk(1.88, 0.88, 0.6, 0.1, 0.9) == pytest.approx(0.9558)
    sr = calc_eu_supply_risk_consumer(
        "DDD", calc_shares(Q).shares, {"AAA": 0.5, "BBB": 0.5}, 0.6, _scaled(), 0.1, 0.9
    )
    assert sr == pytest.approx(0.9558)


def test_usgs_supply_risk_hand_worked():
    g = {c: v / 10 for c, v in _scaled().items()}
    # consumer BBB: DP = 0.25*0.6 + 0.04*0.5 = 0.17 (its own 0.3 excluded)
    dp = calc_disruption_potential(calc_shares(Q).shares, g, consumer="BBB")
    assert dp == pytest.approx(0.17)
    assert calc_usgs_supply_risk(dp, 0.8, 0.9) == pytest.approx(0.1224)
    with pytest.raises(ValueError, match="trade exposure"):
        calc_usgs_supply_risk(0.1, 1.2, 0.5)


def test_joint_score_hand_worked():
    # USA: (0.5*0.2 + 0.5*3.0/10) = 0.25; JPN: (0.5*0.4 + 0.5*0.5) = 0.45; mean 0.35
    j = calc_joint_score({"USA": 0.2, "JPN": 0.4}, {"USA": 3.0, "JPN": 5.0}, {"USA": 1, "JPN": 1}, 0.5, 0.5)
    assert j == pytest.approx(0.35)
    # weights 3:1 -> 0.75*0.25 + 0.25*0.45 = 0.3
    j = calc_joint_score({"USA": 0.2, "JPN": 0.4}, {"USA": 3.0, "JPN": 5.0}, {"USA": 3, "JPN": 1}, 0.5, 0.5)
    assert j == pytest.approx(0.30)
    with pytest.raises(KeyError, match="JPN"):
        calc_joint_score({"USA": 0.2}, {"USA": 3.0, "JPN": 5.0}, {"USA": 1, "JPN": 1}, 0.5, 0.5)


# --- properties --------------------------------------------------------------------------
quantities = st.dictionaries(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3),
    st.floats(min_value=0.001, max_value=1e7, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(quantities)
def test_hhi_within_bounds(q):
    sh = calc_shares(q)
    h = calc_hhi(sh.shares.values())
    n = len(q)
    assert 10_000 / n - 1e-6 <= h <= 10_000 + 1e-6


@settings(max_examples=200, deadline=None)
@given(quantities, st.floats(min_value=0.0, max_value=1e7, allow_nan=False))
def test_shares_sum_to_one_where_world_complete(q, other):
    sh = calc_shares(q)  # no 'Other countries': the world is the listed countries
    assert math.isclose(sum(sh.shares.values()), 1.0, rel_tol=1e-9)
    sh2 = calc_shares(q, other=other)  # residual is exactly the 'other' share
    assert math.isclose(sum(sh2.shares.values()) + sh2.residual_share, 1.0, rel_tol=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=200))
def test_new_equal_producer_lowers_hhi(n):
    eq = {f"C{i:03d}": 1.0 for i in range(n)}
    h0 = calc_hhi(calc_shares(eq).shares.values())
    eq["NEW"] = 1.0
    h1 = calc_hhi(calc_shares(eq).shares.values())
    assert h0 == pytest.approx(10_000 / n) and h1 == pytest.approx(10_000 / (n + 1))
    assert h1 < h0


@settings(max_examples=300, deadline=None)
@given(quantities, st.floats(min_value=0.0, max_value=1.0))
def test_new_producer_no_larger_than_average_never_raises_hhi(q, frac):
    # A newcomer no larger than the average existing producer never raises the HHI
    # (H' <= H  <=>  s_new (1 - H) <= 2H, and s_new <= 1/n <= H).
    h0 = calc_hhi(calc_shares(q).shares.values())
    q2 = dict(q)
    q2["NEW0"] = frac * sum(q.values()) / len(q)  # 4 letters: cannot collide with the 3-letter keys
    h1 = calc_hhi(calc_shares(q2).shares.values())
    assert h1 <= h0 + 1e-6


@settings(max_examples=200, deadline=None)
@given(quantities)
def test_hhi_wgi_between_min_and_max_wgi_times_hhi(q):
    sh = calc_shares(q).shares
    w = {c: (i * 37 % 11) * 10 / 10.0 for i, c in enumerate(sorted(sh))}
    w = {c: min(10.0, v) for c, v in w.items()}
    hw = calc_hhi_wgi(sh, w)
    h = calc_hhi(sh.values()) / 10_000
    assert min(w.values()) * h - 1e-9 <= hw <= max(w.values()) * h + 1e-9
