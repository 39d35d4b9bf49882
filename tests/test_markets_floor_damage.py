"""The price floor reports the damage model's avoided damage beside its market-based NPV (issue 13)."""

from __future__ import annotations

import math

import pytest

from critmin.markets.floor import calc_damage_avoided


def test_damage_avoided_worked_by_hand():
    # the floor raises survival from 40 % to 70 %: 0.3 x 1,000 t/yr x 10 yr x 50,000 $/t = 150 M$
    assert calc_damage_avoided(0.3, 1000.0, 10, 50_000.0) == pytest.approx(1.5e8)
    assert calc_damage_avoided(0.0, 1000.0, 10, 50_000.0) == 0.0
    # a floor that lowers survival (never, in practice) avoids negative damage: no clipping
    assert calc_damage_avoided(-0.1, 100.0, 1, 10.0) == pytest.approx(-100.0)
    for bad in ({"survival_effect": 1.5}, {"volume_t_per_year": -1.0}, {"loss_per_t": math.nan}, {"years": -2}):
        kw = {"survival_effect": 0.1, "volume_t_per_year": 1.0, "years": 1, "loss_per_t": 1.0, **bad}
        with pytest.raises(ValueError, match=next(iter(bad))):
            calc_damage_avoided(**kw)


def test_the_floor_reports_the_damage_beside_the_npv(warehouse):
    from critmin.impact import damage
    from critmin.markets import floor_api

    out = floor_api.evaluate_floor(warehouse, commodity="rare earths", product="NdPr-oxide", floor=110.0,
                                   volume_t_per_year=1e4, years=2, runs=200, random_state=3, production_cost=90.0)
    dmg, proj = out["damage"], out["project"]
    assert dmg["survival_effect"] == proj["survival_effect"]
    for k, row in dmg["by_partner"].items():
        expected = damage(warehouse, "rare_earths", k).loss_per_t
        assert row["loss_per_t"] == expected
        assert row["damage_avoided_usd_upper"] == pytest.approx(proj["survival_effect"] * 1e4 * 2 * expected)
    assert "npv_effect_usd" in proj  # the NPV stays market-based, beside the damage
    # without a production cost there is no survival effect and so no avoided damage
    bare = floor_api.evaluate_floor(warehouse, commodity="rare earths", product="NdPr-oxide", floor=110.0,
                                    volume_t_per_year=1e4, years=2, runs=20, random_state=3)
    assert "not_computable" in bare["damage"]
