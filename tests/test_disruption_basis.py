"""One unit basis per market (gross weight vs contained metal, docs/disruption.md "Basis"):
production, consumption and price of a market count the same thing, or the market is flagged.
Chromium is hand-worked from raw rows of the USGS MCS 2025 files and the TEX Report."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from critmin.disruption.basis import commodity_basis, convert_production, market_basis
from critmin.disruption.curated import (
    CURATED_CONSUMPTION_CSV,
    curated_consumption_t,
    load_curated_consumption,
)
from critmin.disruption.inputs import market_from_warehouse

#: Cr in Cr2O3 by hand: 2 x 51.9961 / (2 x 51.9961 + 3 x 15.999) = 103.9922 / 151.9892 (CIAAW 2021)
CR_PER_CR2O3 = 103.9922 / 151.9892
#: MCS2025_World_Data.csv line 222: Chromium, South Africa, "Mine production, grosss weight,
#: marketable chromite ore", thousand metric tons, PROD_EST_ 2024 = 21000
ZAF_CHROMITE_2024_T = 21_000e3
#: same file, line 226: World total (rounded), PROD_EST_ 2024 = 47000
WORLD_CHROMITE_2024_T = 47_000e3
#: mcs2025-chrom_salient.csv line 6 (2024): Consump_Apparent_kt 440 (t of contained chromium,
#: mcs2025-chrom_meta.xml), Price_Ferrochromium_dlb 1.8 (per lb of Cr content; 2,204.62 lb/t)
US_CONSUMPTION_T = 440e3
US_PRICE_USD_PER_T = 1.8 * 2204.62262
#: The TEX Report 2011-12-07: Japan's ferrochrome use Jan-Sep 2011, high-carbon 523,325 t and
#: low-carbon 34,601 t gross weight; annualised x 12/9
JPN_FERROCHROME_T = (523_325 + 34_601) * 12 / 9


def test_chromium_market_is_contained_cr(warehouse) -> None:
    cm = market_from_warehouse(warehouse, ["chromium"], cache=False).commodities["chromium"]
    prod = dict(zip(cm.producers, cm.production_t, strict=True))
    # before: 21,000,000 t and 47,000,000 t of chromite ore (gross weight) beside t of Cr
    assert prod["ZAF"] == pytest.approx(ZAF_CHROMITE_2024_T * 0.45 * CR_PER_CR2O3, rel=1e-5)  # 6,465,764 t Cr
    assert cm.production_t.sum() == pytest.approx(WORLD_CHROMITE_2024_T * 0.45 * CR_PER_CR2O3, rel=1e-5)
    dem = dict(zip(cm.consumers, cm.demand_t, strict=True))
    assert dem["USA"] == pytest.approx(US_CONSUMPTION_T)
    assert dem["JPN"] == pytest.approx(JPN_FERROCHROME_T * 0.55, abs=1.0)  # 409,146 t Cr
    assert cm.price_usd_per_t == pytest.approx(US_PRICE_USD_PER_T, rel=1e-4)
    b = cm.provenance["basis"]
    assert b["commodity"] == "Cr" and b["production"].startswith("contained Cr") and b["price"] == "contained"
    assert b["flags"] == [] and set(b["consumption"]) == set(cm.consumers)
    assert any("converted from t of" in n for n in cm.notes)


def test_arsenic_production_is_contained_as(warehouse) -> None:
    """MCS2025_World_Data.csv line 66: Arsenic, China, 'Plant production, arsenic trioxide or
    calculated equivalent.', metric tons, PROD_EST_ 2024 = 24000; mcs2025-arsen_meta.xml: 'Data
    in metric tons of contained arsenic ... 75.71% for arsenic trioxide'; mcs2025-arsen_salient.csv
    line 6 (2024): Consump_Est_All_t 9100."""
    cm = market_from_warehouse(warehouse, ["arsenic"], cache=False).commodities["arsenic"]
    assert dict(zip(cm.producers, cm.production_t, strict=True))["CHN"] == pytest.approx(24_000 * 0.7571)
    assert dict(zip(cm.consumers, cm.demand_t, strict=True))["USA"] == pytest.approx(9_100)
    b = cm.provenance["basis"]
    assert b["production"].startswith("contained As") and b["flags"] == []


def test_chromite_grade_and_ferrochrome_factor_are_settings(warehouse, monkeypatch) -> None:
    monkeypatch.setenv("CRITMIN_DISRUPTION_CHROMITE_CR2O3_GRADE", "0.40")
    monkeypatch.setenv("CRITMIN_DATA_CONTAINED_FACTOR_720241", "0.60")
    cm = market_from_warehouse(warehouse, ["chromium"], cache=False).commodities["chromium"]
    assert dict(zip(cm.producers, cm.production_t, strict=True))["ZAF"] == pytest.approx(21e6 * 0.40 * CR_PER_CR2O3, rel=1e-5)
    assert dict(zip(cm.consumers, cm.demand_t, strict=True))["JPN"] == pytest.approx(JPN_FERROCHROME_T * 0.60, rel=1e-6)


def test_curated_gross_rows() -> None:
    row = load_curated_consumption()[("chromium", "JPN")]
    assert row["gross_t"] == pytest.approx(JPN_FERROCHROME_T, abs=0.01)
    assert row["contained_factor"] == "data.contained_factor.720241"
    assert curated_consumption_t(row) == pytest.approx(409_146, abs=1.0)


@pytest.mark.parametrize(("cells", "match"), [
    ("743901.33,", "expected both or neither"),
    ("743901.33,data.nope", "expected a data.contained_factor"),
    ("700000,data.contained_factor.720241", "expected gross_t x data.contained_factor.720241 default = 385,000"),
])
def test_curated_gross_row_faults(tmp_path, cells: str, match: str) -> None:
    head = CURATED_CONSUMPTION_CSV.read_text(encoding="utf-8").splitlines()[0]
    bad = tmp_path / "c.csv"
    bad.write_text(head + f"\nchromium,JPN,2011,,409146,t,https://x.org,2011-12-07,n,consumption,{cells}\n",
                   encoding="utf-8")
    with pytest.raises(ValueError, match=rf"c\.csv: line 2: .*{match}"):
        load_curated_consumption(bad)


def test_gross_production_without_a_factor_is_flagged() -> None:
    # zirconium: USGS world production is 'zirconium, gross weight' (mineral concentrates), while
    # its HS 261510 trade counts Zr (ZrSiO4 stoichiometry): no cited production factor -> flag
    assert commodity_basis("zirconium") == "Zr"
    b = market_basis("zirconium", "zirconium, gross weight", None, {"JPN": "BACI"},
                     "USGS salient Price_dt (2024): zircon (ZrSiO4) concentrate, gross weight")
    assert len(b["flags"]) == 2 and all(f.startswith("basis mismatch") for f in b["flags"])
    # a product-basis commodity (feldspar: gross weight is what it counts) is not flagged
    assert market_basis("feldspar", "feldspar, gross weight", None, {}, "feldspar, gross weight")["flags"] == []
    # a product that is not the converted one is left as is
    (s,), note = convert_production("chromium", "chromium metal", pd.Series([1.0]))
    assert note is None and s.iloc[0] == 1.0


def test_no_market_mixes_bases_silently(warehouse) -> None:
    """Property over every market of the real warehouse: it states one basis for production,
    consumption (per consumer) and price, and where production or price is on gross weight of a
    commodity counted as an element, it carries the flag in its notes."""
    m = market_from_warehouse(warehouse, cache=False)
    assert len(m.commodities) > 50
    for cid, cm in m.commodities.items():
        b = cm.provenance["basis"]
        assert b["production"] and b["price"] and set(b["consumption"]) == set(cm.consumers), cid
        element = b["commodity"] not in (None, cid)
        oxide = not b["production"].startswith("contained") and re.search(
            r"oxide|equivalent|U3O8|TiO2|K2O", str(cm.provenance["production"].get("product")), re.IGNORECASE)
        mixed = element and (b["production"].startswith("gross weight") or b["price"] == "gross weight"
                             or (bool(oxide) and b["commodity"] != "REO"))
        assert bool(b["flags"]) == mixed, (cid, b)
        assert all(f in cm.notes for f in b["flags"]), cid
    assert m.commodities["chromium"].provenance["basis"]["flags"] == []
    assert m.commodities["zirconium"].provenance["basis"]["flags"]
    assert m.commodities["uranium"].provenance["basis"]["flags"]  # WMD U3O8, the commodity counts U
