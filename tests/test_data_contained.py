"""Trade in contained metal (critmin.data.contained, catalog/hs_contained.csv; qty_contained_t in
Warehouse.trade_for and bilateral_flows): the factors against exact chemistry (CIAAW 2021
abridged standard atomic weights, typed in here) and against the USGS figures they cite; every
HS code of the HS map covered; the reads hand-checked on the real warehouse."""

from __future__ import annotations

import csv
import re
from importlib import resources

import pandas as pd
import pytest

from critmin import settings
from critmin.data import contained
from critmin.data.contained import _parse, contained_factors, factor_table

#: CIAAW standard atomic weights 2021, abridged to five significant figures (https://ciaaw.org)
ATOMIC_WEIGHT = {"H": 1.008, "Li": 6.94, "C": 12.011, "O": 15.999, "S": 32.06, "Ti": 47.867, "V": 50.942,
                 "Cr": 51.996, "Mn": 54.938, "Co": 58.933, "Ni": 58.693, "Cu": 63.546, "Zn": 65.38,
                 "Zr": 91.224, "Mo": 95.95, "Cd": 112.41, "Sb": 121.76, "Nd": 144.24, "W": 183.84,
                 "Ta": 180.95, "Si": 28.085}


def _atoms(formula: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in formula.split("·"):
        m = re.match(r"^(\d+)(.*)$", part)
        mult, part = (int(m.group(1)), m.group(2)) if m else (1, part)
        for el, n in re.findall(r"([A-Z][a-z]?)(\d*)", part):
            out[el] = out.get(el, 0) + mult * (int(n) if n else 1)
    return out


def _mass(formula: str) -> float:
    return sum(ATOMIC_WEIGHT[e] * n for e, n in _atoms(formula).items())


def _expected(formula: str, element: str) -> float:
    """t ``element`` per t of ``formula``; 'g*F' = grade g of compound F; 'A>B' = t B per t A."""
    if ">" in formula:
        a, b = formula.split(">")
        (el,) = _atoms(a)
        return _mass(b) / (_atoms(b)[el] / _atoms(a)[el] * _mass(a))
    grade = 1.0
    if "*" in formula:
        g, formula = formula.split("*")
        grade = float(g)
    return grade * ATOMIC_WEIGHT[element] * _atoms(formula)[element] / _mass(formula)


def test_stoichiometric_and_grade_factors_are_the_chemistry() -> None:
    checked = 0
    for r in contained_factors():
        if r.formula:
            assert r.factor == pytest.approx(_expected(r.formula, r.contained_as.replace("REO", "Nd")), abs=1e-4), r
            checked += 1
    assert checked >= 18


@pytest.mark.parametrize(("hs", "factor"), [
    ("283691", 0.1879),  # Li2CO3: 13.88 / 73.89
    ("282520", 0.1654),  # LiOH·H2O: 6.94 / 41.96 (anhydrous LiOH would be 0.290)
    ("282580", 0.8354),  # Sb2O3: 243.52 / 291.52
    ("282200", 0.7342),  # Co3O4: 176.80 / 240.80
    ("282570", 0.6666),  # MoO3
    ("280530", 1.1664),  # Nd -> Nd2O3, t REO per t metal
    ("261590", 0.2621),  # USGS: tantalum ores 32 % Ta2O5, Ta2O5 is 81.897 % Ta
    ("260200", 0.44),  # USGS price basis: metallurgical ore of 44 % Mn
    ("811010", 1.0), ("810520", 1.0), ("280490", 1.0), ("280450", 1.0), ("810710", 1.0),
])
def test_hand_worked_factors(hs: str, factor: float) -> None:
    t = factor_table().set_index("hs_code")
    assert t.loc[hs, "factor"] == pytest.approx(factor, abs=1e-4)


def test_usgs_vanadium_rule_of_thumb() -> None:
    # USGS MCS 2025 vanadium: "To convert vanadium pentoxide content to vanadium content multiply by 0.56"
    assert factor_table().set_index("hs_code").loc["282530", "factor"] == pytest.approx(0.56, abs=0.001)


def test_every_mapped_hs_code_has_a_row_for_its_commodity() -> None:
    with resources.files("critmin.data.catalog").joinpath("hs_map.csv").open(encoding="utf-8") as f:
        hs_map = {r["hs_code"]: r["commodity_id"] for r in csv.DictReader(f)}
    rows = {r.hs_code: r for r in contained_factors()}
    assert sorted(set(hs_map) - set(rows)) == []
    assert {h: rows[h].commodity_id for h in hs_map if rows[h].commodity_id != hs_map[h]} == {}
    # a basis per commodity, so its codes add up
    per = factor_table().groupby("commodity_id")["contained_as"].nunique()
    assert (per == 1).all()


def test_assumptions_are_settings_and_change_the_fingerprint(warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [r for r in contained_factors() if r.basis == "assumption"]
    assert rows and all(r.setting is not None and "ASSUMPTION" in r.source for r in rows)
    assert all(settings.get(r.setting) == r.factor for r in rows if r.setting)
    before = warehouse.fingerprint()
    monkeypatch.setenv("CRITMIN_DATA_CONTAINED_FACTOR_260500", "0.15")
    assert factor_table().set_index("hs_code").loc["260500", "factor"] == 0.15
    assert warehouse.fingerprint() != before
    monkeypatch.setenv("CRITMIN_DATA_CONTAINED_FACTOR_260500", "7")
    with pytest.raises(ValueError, match="data.contained_factor.260500: found 7.0"):
        factor_table()


def _good() -> dict[str, str]:
    return {"hs_code": "283691", "commodity_id": "lithium", "factor": "0.1879", "basis": "stoichiometric",
            "contained_as": "Li", "formula": "Li2CO3", "source": "s", "as_of": "2022", "note": ""}


@pytest.mark.parametrize(("change", "column"), [
    ({"hs_code": "28369"}, "hs_code"),
    ({"commodity_id": "lithum"}, "commodity_id"),
    ({"basis": "guess"}, "basis"),
    ({"factor": "abc"}, "factor"),
    ({"factor": "2.5"}, "factor"),
    ({"basis": "metal", "factor": "0.9"}, "factor"),
    ({"basis": "none"}, "factor"),
    ({"formula": ""}, "formula"),
    ({"contained_as": "Li2CO3", "hs_code": "282520"}, "contained_as"),
    ({"as_of": "recently"}, "as_of"),
])
def test_a_broken_row_is_named(change: dict[str, str], column: str) -> None:
    with pytest.raises(ValueError, match=rf"line 3, column '{column}'"):
        _parse([{**_good(), "hs_code": "253090", "formula": "0.06*Li2O", "basis": "assumption", "factor": "0.03"},
                {**_good(), **change}])


# ------------------------------------------------------------------------------ the reads

def test_trade_for_contained_is_qty_times_factor(warehouse) -> None:
    """Japan's 2022 BACI cobalt imports, hand-summed from the raw trade rows per HS code."""
    raw = warehouse.query(
        """SELECT hs_code, sum(qty_t) AS q FROM trade t JOIN current_dataset d USING (dataset_id)
           WHERE source = 'BACI' AND importer_iso3 = 'JPN' AND commodity_id = 'cobalt' AND year = 2022
           GROUP BY hs_code""").set_index("hs_code")["q"]
    assert set(raw.index) == {"282200", "810510"}
    expected = raw["282200"] * 0.7342 + raw["810510"] * 1.0
    tf = warehouse.trade_for(["JPN"])
    g = tf[(tf.source == "BACI") & (tf.commodity_id == "cobalt") & (tf.year == 2022) & (tf.flow == "import")
           & (tf.partner != "WLD")]
    assert g["qty_t"].sum() == pytest.approx(raw.sum())
    assert g["qty_contained_t"].sum() == pytest.approx(expected, rel=1e-9)
    assert set(g["contained_basis"]) == {"Co"} and g["contained_flag"].isna().all()


def test_bilateral_flows_lines_add_up_to_trade_for(warehouse) -> None:
    bf = warehouse.bilateral_flows(["JPN"], ["BACI"])
    bf = bf[(bf.month.isna()) & (bf.year == 2023) & (bf.commodity_id.isin(["lithium", "rare_earths", "gold"]))]
    tf = warehouse.trade_for(["JPN"])
    tf = tf[(tf.source == "BACI") & (tf.year == 2023) & tf.commodity_id.isin(["lithium", "rare_earths", "gold"])]
    a = bf.groupby(["commodity_id", "flow"])["qty_contained_t"].sum(min_count=1)
    b = tf.groupby(["commodity_id", "flow"])["qty_contained_t"].sum(min_count=1)
    pd.testing.assert_series_equal(a, b, check_names=False, rtol=1e-9)
    # gold ores (261690) have no factor: flagged, and their tonnes are not counted as contained
    ores = bf[bf.hs_code == "261690"]
    assert ores["qty_contained_t"].isna().all()
    has_q = ores["qty_t"].notna()
    assert has_q.any() and (ores.loc[has_q, "contained_flag"] == "no_factor").all()
    assert ores.loc[~has_q, "contained_flag"].isna().all()  # no quantity: nothing to convert
    gold = tf[tf.commodity_id == "gold"]
    assert set(gold["contained_flag"].dropna()) <= {"partial", "no_factor"}
    assert (gold["qty_no_factor_t"] >= 0).all()


def test_trade_for_is_ordered_and_repeatable(warehouse) -> None:
    a = warehouse.trade_for(["USA", "JPN"])
    keys = ["source", "year", "commodity_id", "stage_group", "consumer", "partner", "flow", "dataset_id"]
    assert a[keys].astype(str).apply(tuple, axis=1).is_monotonic_increasing
    pd.testing.assert_frame_equal(a, warehouse.trade_for(["USA", "JPN"]))


def test_module_registers_assumption_settings_on_import() -> None:
    names = {s.name for s in settings.all_settings()}
    assert "data.contained_factor.260500" in names
    assert contained.BASES[-1] == "none"
