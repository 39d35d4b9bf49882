"""USGS vs World Mining Data cross-check (issue 2)."""

from __future__ import annotations

import pandas as pd
import pytest

from critmin.data.crosscheck import OXIDE_TO_ELEMENT, calc_crosscheck, crosscheck

# IUPAC 2021 standard atomic weights
LI, NB, TA, OX = 6.94, 92.906, 180.95, 15.999


def test_oxide_factors_from_atomic_masses() -> None:
    assert OXIDE_TO_ELEMENT["Lithium (Li2O)"] == pytest.approx(2 * LI / (2 * LI + OX), abs=5e-4)
    assert OXIDE_TO_ELEMENT["Niobium (Nb2O5)"] == pytest.approx(2 * NB / (2 * NB + 5 * OX), abs=5e-4)
    assert OXIDE_TO_ELEMENT["Tantalum (Ta2O5)"] == pytest.approx(2 * TA / (2 * TA + 5 * OX), abs=5e-4)


def _rows(source: str, product: str, vals: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame([
        {"commodity_id": "lithium", "stage_group": "extraction", "country_iso3": c, "year": 2023, "aggregate": None,
         "quantity": v, "unit": "t", "product": product, "dataset_id": 1 if source == "USGS" else 2, "source_line": i + 2}
        for i, (c, v) in enumerate(vals.items())
    ])


def test_hand_worked_pairs() -> None:
    usgs = _rows("USGS", "lithium content", {"AUS": 100.0, "CHL": 50.0})
    # WMD in Li2O: AUS 100/0.4646 -> exactly 100 t Li after conversion; CHL 20 % high
    wmd = _rows("WMD", "Lithium (Li2O)", {"AUS": 100 / 0.4646, "CHL": 60 / 0.4646})
    out = calc_crosscheck(usgs, wmd, tolerance=0.10).set_index("country_iso3")
    assert out.loc["AUS", "rel_diff"] == pytest.approx(0.0, abs=1e-12)
    assert out.loc["CHL", "rel_diff"] == pytest.approx(0.2)
    assert bool(out.loc["CHL", "disagrees"]) and not bool(out.loc["AUS", "disagrees"])


def test_not_comparable_bases_are_never_listed_as_disagreements() -> None:
    usgs = _rows("USGS", "gross weight", {"ZAF": 100.0})
    wmd = _rows("WMD", "Chromium (Cr2O3)", {"ZAF": 40.0})
    out = calc_crosscheck(usgs, wmd, tolerance=0.10)
    assert not out["comparable"].any() and not out["disagrees"].any()


def test_real_data_rare_earths_agree_and_list_is_nonempty(warehouse) -> None:
    df = crosscheck(warehouse, tolerance=0.10)
    assert len(df) > 100 and df["disagrees"].sum() > 0
    # both sources publish China's rare-earth quota: MCS 2025 and WMD give 270,000 t REO for 2024
    chn = df[(df.commodity_id == "rare_earths") & (df.country_iso3 == "CHN") & (df.year == 2024)]
    assert len(chn) == 1 and chn["usgs_t"].iloc[0] == 270_000 and abs(chn["rel_diff"].iloc[0]) < 0.10
    # every listed disagreement really differs by more than 10 % on a comparable basis
    d = df[df["disagrees"]]
    assert (d["rel_diff"].abs() > 0.10).all() and d["comparable"].all()
    # and traces back to both source rows
    assert d[["dataset_id_usgs", "source_line_usgs", "dataset_id_wmd", "source_line_wmd"]].notna().all().all()
