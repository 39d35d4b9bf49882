"""A partner's figure in the supply at a stage (critmin.data.partner_figure, StageSupply.partner):
a country the chosen source does not name is 0 only where the named countries account for world
output, else *not reported* with the residual as its bound.

References: hand-worked country lists, and the raw IEA Critical Minerals Data Explorer extract
(``iea_cmde_2025/iea.json``, SOURCES.md §16), read here with ``json`` and not through the
importer: ``supply.Nickel.refining.countries`` names Indonesia, China, Finland, Australia,
Russia, Canada and 'Rest of world' for 2024, not Japan (whose Niihama refinery has had an
electrolytic-nickel capacity of 65 kt a year since 2013: mining-technology.com, 2011-08; AMM,
2013-04), while ``supply.Cobalt.refining.countries.Japan.2024`` is 5.648685... kt.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from critmin.data.partner_figure import NIL_RESIDUAL_SHARE, calc_partner_figure
from critmin.data.supply import StageSupply, calc_shares
from critmin.risk.chain import own_at, stage_nirs

IEA = "iea_cmde_2025/iea.json"


def _supply(q: dict[str, float], world: float | None, source: str = "USGS", missing: tuple[str, ...] = ()
            ) -> StageSupply:
    return StageSupply("x", "processing", "refinery", "", 2024, source, "t", None, dict(q), None, world,
                       calc_shares(q, world_total=world), (1,), (), missing)


# --- the rule, hand-worked ---------------------------------------------------------------------
def test_a_partner_absent_from_a_list_with_a_residual_is_not_reported_not_zero():
    # named 60 + 20 of a published world 100: 20 t (20 %) unattributed; JPN may be any part of it
    sup = _supply({"CHN": 60.0, "USA": 20.0}, 100.0)
    jp = sup.partner("JPN")
    assert jp.status == "not_named" and jp.quantity is None
    assert jp.at_most == pytest.approx(20.0)
    assert jp.note.startswith("not_named: JPN not named by USGS 2024 refinery") and "20.0%" in jp.note
    assert sup.partner("USA").status == "reported" and sup.partner("USA").quantity == 20.0


def test_a_partner_absent_from_a_complete_list_is_nil():
    # 80 + 20 = the world total 100: a country left out produces nothing there
    sup = _supply({"CHN": 80.0, "USA": 20.0}, 100.0)
    jp = sup.partner("JPN")
    assert (jp.status, jp.quantity, jp.at_most) == ("nil", 0.0, None)
    # without a world total the shares are of the listed countries: complete by construction
    assert _supply({"CHN": 5.0}, None).partner("JPN").status == "nil"


def test_the_nil_threshold_is_half_a_per_cent_of_world_output():
    assert NIL_RESIDUAL_SHARE == 0.005
    # 99.6 of 1000 ... hand-worked: residual 0.4 % -> nil; 0.6 % -> not reported, at most 6 t
    assert calc_partner_figure("JPN", {"CHN": 996.0}, 0.004, 1000.0).status == "nil"
    f = calc_partner_figure("JPN", {"CHN": 994.0}, 0.006, 1000.0, unit="t")
    assert f.status == "not_named" and f.at_most == pytest.approx(6.0) and f.note.endswith(" 6 t)")


def test_a_named_partner_with_a_coded_cell_is_withheld():
    sup = _supply({"CHN": 60.0}, 100.0, missing=("refinery 2024: USA production is 'W' (flag W)",))
    us = sup.partner("USA")
    assert us.status == "withheld" and us.quantity is None and "'W'" in us.note


def test_the_assessment_flags_a_not_named_partner_instead_of_a_silent_zero():
    sup = _supply({"CHN": 60.0, "USA": 20.0}, 100.0, source="IEA")
    own = own_at(sup, "JPN")
    assert own.quantity_t is None and own.not_named and own.note.startswith("not_named:")
    nirs, flags, reasons = stage_nirs(("processing",), {"processing": own}, {}, {"trade"}, "BACI 2024")
    assert not reasons and nirs["processing"].value == 1.0
    assert any(f.startswith("not_named: JPN") for f in flags["processing"])
    assert "not_named: JPN" in nirs["processing"].source
    # a nil partner (complete list) carries no such flag
    nil = own_at(_supply({"CHN": 80.0, "USA": 20.0}, 100.0, source="IEA"), "JPN")
    assert nil.quantity_t == 0.0 and not nil.not_named


# --- against the raw IEA file ------------------------------------------------------------------
@pytest.fixture(scope="module")
def iea_raw(data_dir: Path) -> dict[str, Any]:
    p = data_dir / IEA
    if not p.exists():
        pytest.skip(f"{IEA} not in the data directory")
    return json.loads(p.read_text(encoding="utf-8"))


def test_japan_is_not_named_for_iea_refined_nickel(iea_raw, warehouse):
    ref = iea_raw["supply"]["Nickel"]["refining"]
    countries = {k: v["2024"] for k, v in ref["countries"].items() if v.get("2024") is not None}
    assert "Japan" not in countries and "Rest of world" in countries
    named_kt = sum(v for k, v in countries.items() if k != "Rest of world")
    residual_t = (ref["total"]["2024"] - named_kt) * 1000.0  # 3,483.697 - 2,965.377 kt
    sup = warehouse.stage_supply("nickel", "processing", 2024)
    assert (sup.source, sup.source_stage, sup.year) == ("IEA", "refinery", 2024)
    jp = sup.partner("JPN")
    assert jp.status == "not_named" and jp.quantity is None
    assert jp.at_most * sup.to_t == pytest.approx(residual_t, rel=1e-9)
    assert residual_t == pytest.approx(518_320.0, abs=1.0)
    # China as the file gives it: 1,091.077 kt
    assert sup.partner("CHN").quantity * sup.to_t == pytest.approx(countries["China"] * 1000.0)


def test_japan_is_named_for_iea_refined_cobalt(iea_raw, warehouse):
    kt = iea_raw["supply"]["Cobalt"]["refining"]["countries"]["Japan"]["2024"]
    sup = warehouse.stage_supply("cobalt", "processing", 2024)
    assert sup.source == "IEA"
    jp = sup.partner("JPN")
    assert jp.status == "reported" and jp.quantity * sup.to_t == pytest.approx(kt * 1000.0)
