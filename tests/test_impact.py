"""The damage model (issue 13): a hand-worked example, properties, the real table."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critmin.impact.damage import SectorUse, calc_damage

KW = {"exposure": 0.1, "default_multiple": 2.0, "default_substitutability": 0.5}


def test_hand_worked_two_commodities_two_sectors_each_partner():
    # Sectors s1 (VA USA 100e9, JPN 20e9 US$/yr) and s2 (VA USA 10e9, JPN 5e9); exposure e = 0.1.
    # Commodity A (price 1,000 $/t), substitutability s1 0.5, s2 0:
    #   USA, C = 1,000 t, shares 0.6 / 0.4:
    #     X = (0.6*100e9 + 0.4*10e9) * 0.1 / 1000 = 6.4e9 / 1000 = 6.4e6 $/t
    #     R = (0.6*100e9*0.5 + 0.4*10e9*1) * 0.1 / 1000 = 3.4e9 / 1000 = 3.4e6 $/t  -> L = 3.4e6
    #   JPN, C = 500 t, shares 0.2 / 0.8:
    #     X = (0.2*20e9 + 0.8*5e9) * 0.1 / 500 = 0.8e9 / 500 = 1.6e6 $/t
    #     R = (4e9*0.5 + 4e9*1) * 0.1 / 500 = 0.6e9 / 500 = 1.2e6 $/t               -> L = 1.2e6
    # Commodity B (price 9,000 $/t), substitutability s1 0.8, s2 0.5, shares 0.5 / 0.5:
    #   USA, C = 1e6 t: R = (0.5*100e9*0.2 + 0.5*10e9*0.5) * 0.1 / 1e6 = 1,250 $/t   -> L = price 9,000
    #   JPN, C = 2e5 t: R = (0.5*20e9*0.2 + 0.5*5e9*0.5) * 0.1 / 2e5 = 1,625 $/t     -> L = price 9,000
    a_us = calc_damage(1000.0, 1000.0, [SectorUse("s1", 0.6, 100e9, 0.5), SectorUse("s2", 0.4, 10e9, 0.0)], **KW)
    assert a_us.va_exposed_per_t == pytest.approx(6.4e6)
    assert a_us.va_at_risk_per_t == pytest.approx(3.4e6)
    assert a_us.loss_per_t == pytest.approx(3.4e6) and a_us.basis == "value_added"
    assert a_us.substitutability == pytest.approx(1 - 3.4 / 6.4)
    a_jp = calc_damage(1000.0, 500.0, [SectorUse("s1", 0.2, 20e9, 0.5), SectorUse("s2", 0.8, 5e9, 0.0)], **KW)
    assert (a_jp.va_exposed_per_t, a_jp.loss_per_t) == (pytest.approx(1.6e6), pytest.approx(1.2e6))
    b_us = calc_damage(9000.0, 1e6, [SectorUse("s1", 0.5, 100e9, 0.8), SectorUse("s2", 0.5, 10e9, 0.5)], **KW)
    assert b_us.va_at_risk_per_t == pytest.approx(1250.0)
    assert b_us.loss_per_t == 9000.0 and b_us.basis == "price" and b_us.multiple == 1.0
    b_jp = calc_damage(9000.0, 2e5, [SectorUse("s1", 0.5, 20e9, 0.8), SectorUse("s2", 0.5, 5e9, 0.5)], **KW)
    assert b_jp.va_at_risk_per_t == pytest.approx(1625.0) and b_jp.loss_per_t == 9000.0


def test_missing_data_is_a_default_and_a_flag_never_a_failure():
    d = calc_damage(100.0, 10.0, [], flags=("no_end_uses",), **KW)
    assert d.loss_per_t == 200.0 and d.basis == "default_multiple"
    assert "no_end_uses" in d.flags and "default_multiple" in d.flags and math.isnan(d.va_at_risk_per_t)
    d = calc_damage(100.0, 0.0, [SectorUse("s1", 1.0, 1e9, 0.0)], **KW)
    assert d.loss_per_t == 200.0 and "no_consumption" in d.flags
    d = calc_damage(100.0, 10.0, [SectorUse("s1", 0.5, math.nan, 0.0), SectorUse("s2", 0.5, 1e9, math.nan)], **KW)
    assert "va_missing:s1" in d.flags and "substitutability_default:s2" in d.flags
    assert d.va_at_risk_per_t == pytest.approx(0.5 * 1e9 * 0.1 * 0.5 / 10)
    with pytest.raises(ValueError, match="price"):
        calc_damage(0.0, 10.0, [], **KW)


fractions = st.floats(0.0, 1.0)
vas = st.floats(1e6, 1e12)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a loaded CI machine
@given(price=st.floats(1.0, 1e8), cons=st.floats(1e-3, 1e8), share=fractions, va1=vas, va2=vas,
       sub1=fractions, sub2=fractions)
def test_loss_is_at_least_the_price(price, cons, share, va1, va2, sub1, sub2):
    d = calc_damage(price, cons, [SectorUse("a", share, va1, sub1), SectorUse("b", 1 - share, va2, sub2)], **KW)
    assert d.loss_per_t >= price


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a loaded CI machine
@given(price=st.floats(1.0, 1e6), cons=st.floats(1e-3, 1e6), s=fractions, ds=fractions,
       va_low=vas, ratio=st.floats(1.0, 100.0), sub=fractions)
def test_loss_rises_with_the_share_of_the_more_valuable_industry(price, cons, s, ds, va_low, ratio, sub):
    s2 = min(1.0, s + ds)

    def loss(share_high: float) -> float:
        return calc_damage(price, cons, [SectorUse("high", share_high, va_low * ratio, sub),
                                         SectorUse("low", 1 - share_high, va_low, sub)], **KW).loss_per_t
    assert loss(s2) >= loss(s) * (1 - 1e-12)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a loaded CI machine
@given(price=st.floats(1.0, 1e6), cons=st.floats(1e-3, 1e6), share=fractions, va=vas, sub=fractions, dsub=fractions)
def test_loss_falls_with_substitutability(price, cons, share, va, sub, dsub):
    hi = min(1.0, sub + dsub)
    lo_sub = calc_damage(price, cons, [SectorUse("a", share, va, sub)], **KW).loss_per_t
    hi_sub = calc_damage(price, cons, [SectorUse("a", share, va, hi)], **KW).loss_per_t
    assert hi_sub <= lo_sub * (1 + 1e-12)


def test_damage_table_on_the_real_warehouse(real_db_path):
    from critmin.data.warehouse import Warehouse
    from critmin.impact import damage_table

    wh = Warehouse(real_db_path, read_only=True)
    try:
        df = damage_table(wh, ("USA", "JPN"))
    finally:
        wh.close()
    assert len(df) > 100 and set(df["partner"]) == {"USA", "JPN"}
    assert (df["loss_per_t"] >= df["price"]).all()
    row = df.set_index(["commodity_id", "partner"])
    # US gallium: 99 % to semiconductors (MCS 2025), ISIC C26 value added, loss far above its price
    ga = row.loc[("gallium", "USA")]
    assert ga["basis"] == "value_added" and ga["loss_per_t"] > 100 * ga["price"]
    # copper: the using industries' value added per tonne is below the price -> the price
    assert row.loc[("copper", "USA"), "basis"] == "price"
    # no end-use data -> default multiple, flagged
    assert "default_multiple" in row.loc[("cement", "USA"), "flags"]


def test_the_rating_scale_is_a_setting(monkeypatch):
    from critmin.impact import params

    assert params.rating_scale() == {"exemplary": 1.0, "good": 0.75, "adequate": 0.5, "poor": 0.25, "none": 0.0}
    monkeypatch.setenv("CRITMIN_IMPACT_RATING_SCALE", "exemplary=1,good=0.6,adequate=0.4,poor=0.2,none=0")
    assert params.rating_scale()["good"] == 0.6
    monkeypatch.setenv("CRITMIN_IMPACT_RATING_SCALE", "good=0.6")
    with pytest.raises(ValueError, match="impact.rating_scale"):
        params.rating_scale()


def test_the_public_damage_of_one_commodity_is_the_table_row(real_db_path):
    from critmin.data.warehouse import Warehouse
    from critmin.impact import damage, damage_table

    wh = Warehouse(real_db_path, read_only=True)
    try:
        row = damage_table(wh, ("USA", "JPN")).set_index(["commodity_id", "partner"])
        for cid, k in (("gallium", "USA"), ("copper", "JPN"), ("cement", "USA")):
            d = damage(wh, cid, k)
            assert d.loss_per_t == row.loc[(cid, k), "loss_per_t"] and d.damage.basis == row.loc[(cid, k), "basis"]
            assert d.consumption_t == row.loc[(cid, k), "consumption_t"]
            assert d.avoided_usd(2.5) == pytest.approx(2.5 * d.loss_per_t)
        with pytest.raises(ValueError, match="tonnes"):
            d.avoided_usd(-1.0)
        with pytest.raises(ValueError, match="commodity: 'unobtainium'"):
            damage(wh, "unobtainium", "USA")
        with pytest.raises(ValueError, match="partner: 'KOR'"):
            damage(wh, "gallium", "KOR")
    finally:
        wh.close()
