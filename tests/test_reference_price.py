"""The reference price of a commodity (critmin.disruption.refprice): one basis, US$/t contained.

Independent references: the USGS MCS 2025 salient CSV rows (file and row named in each test),
converted by hand with exact unit definitions (1 lb = 0.45359237 kg) and the stated factors;
the curated table's rows are checked for a source and an as-of date, and every warehouse
commodity with several price series in its latest year must have a curated choice (no mix).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import sys
from pathlib import Path

import pytest

from critmin import settings
from critmin.disruption import inputs
from critmin.disruption.refprice import SERIES_PATH, reference_price, series_choices

LB_PER_T = 1000 / 0.45359237  # pounds in a metric ton
ROOT = Path(__file__).resolve().parents[1]


def _mcs2025_row(data_dir: Path, code: str, year: int) -> dict[str, str]:
    path = data_dir / "usgs_mcs2025" / "salient_commodity" / f"mcs2025-{code}_salient.csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["Year"] == str(year)]
    assert len(rows) == 1, (path, year)
    return rows[0]


@pytest.fixture(scope="module")
def index(warehouse):
    return inputs.index_salient(inputs._salient_all(warehouse))


def test_niobium_is_priced_per_t_of_contained_nb(data_dir, index) -> None:
    # mcs2025-niobi_salient.csv, row Year=2024 (line 6): Price_dkg = 26, "average unit value,
    # ferroniobium ... gross weight" (mcs2025-niobi_meta.xml); MCS 2025 text: US$26/kg FeNb.
    fenb_usd_per_kg = float(_mcs2025_row(data_dir, "niobi", 2024)["Price_dkg"])
    assert fenb_usd_per_kg == 26
    got, note = inputs._price(index, "niobium")
    assert got == pytest.approx(26 * 1000 / 0.65)  # 40,000 US$/t Nb at 65 % Nb in standard FeNb
    assert "(2024)" in note and "ASSUMPTION" in note and "disruption.ferroniobium_nb_fraction" in note
    # the grade is a setting: at 66 % Nb (InvestorIntel 2014) the price is 26,000 / 0.66
    sal = index.price["niobium"]
    assert reference_price(sal, "niobium", {"disruption.ferroniobium_nb_fraction": 0.66})[0] == pytest.approx(
        26_000 / 0.66)
    assert settings.get("disruption.ferroniobium_nb_fraction") == 0.65


def test_chromium_is_the_ferrochromium_price_per_lb_of_cr_content(data_dir, index) -> None:
    # mcs2025-chrom_salient.csv, row Year=2024 (line 6): Price_Ore_dt 340 (chromite, gross),
    # Price_Ferrochromium_dlb 1.8 (Cr content), Price_Metal_dlb 5.6 (metal, gross): one basis only
    row = _mcs2025_row(data_dir, "chrom", 2024)
    assert float(row["Price_Ferrochromium_dlb"]) == 1.8
    got, note = inputs._price(index, "chromium")
    assert got == pytest.approx(1.8 * LB_PER_T)  # 3,968 US$/t Cr
    assert "Price_Ferrochromium_dlb" in note and "Price_Ore_dt" not in note and "Price_Metal_dlb" not in note


def test_zirconium_is_zircon_only_not_hafnium(data_dir, index) -> None:
    # mcs2025-zirco_salient.csv, row Year=2024: zircon premium CIF China 2,000 and imported 2,100
    # US$/t gross; hafnium unwrought 4,600 US$/kg must not enter a zircon price
    row = _mcs2025_row(data_dir, "zirco", 2024)
    zircon = sorted(float(row[k]) for k in row if "Zircon" in k and "sponge" not in k)
    assert zircon == [2000, 2100]
    assert inputs._price(index, "zirconium")[0] == pytest.approx((2000 + 2100) / 2)


def test_scandium_oxide_is_converted_to_contained_sc(data_dir, index) -> None:
    # mcs2025-scand_salient.csv, row Year=2024: Price_Cmpds_Oxide_dg (US$/g Sc2O3);
    # Sc2O3 = 2 x 44.955908 + 3 x 15.999 = 137.910 g/mol, 89.912 g Sc
    oxide = float(_mcs2025_row(data_dir, "scand", 2024)["Price_Cmpds_Oxide_dg"])
    assert inputs._price(index, "scandium")[0] == pytest.approx(oxide * 1e6 * 137.910 / 89.912, rel=1e-4)


def test_no_reference_price_mixes_series_of_unaudited_bases(warehouse, index) -> None:
    choices = series_choices()
    for sal_id, df in index.price.items():
        y = df["year"].max()
        names = set(df.loc[df["year"] == y, "variable"])
        if sal_id in choices or any(v[0] == sal_id for v in inputs.SALIENT_ALIAS.values()):
            continue
        price, note = inputs._price(index, sal_id)
        assert len(names) == 1 or (price != price and "never mixed" in note), (sal_id, names, note)


def test_curated_rows_name_existing_series_a_source_and_a_date(index) -> None:
    aliased = dict(inputs.SALIENT_ALIAS)
    for cid, ch in series_choices().items():
        assert ch.source.strip() and dt.date.fromisoformat(ch.as_of) <= dt.date.today(), cid
        if not ch.series:
            assert ch.flag == "not used" and ch.why, cid
            continue
        sal_id = aliased.get(cid, (cid, None))[0]
        have = set(index.price[sal_id]["variable"])
        assert set(ch.series) <= have, (cid, set(ch.series) - have)
        if ch.flag == "ASSUMPTION" and ch.contained_fraction != 1:
            assert ch.fraction_setting, f"{cid}: an assumed factor must be a setting"
    assert SERIES_PATH.name == "reference_price_series.csv"


def test_docs_audit_table_is_current(warehouse) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import reference_price_audit as audit
    finally:
        sys.path.pop(0)
    text = (ROOT / "docs" / "markets.md").read_text(encoding="utf-8")
    m = re.search(re.escape(audit.BEGIN) + r"\n(.*?)" + re.escape(audit.END), text, re.S)
    assert m, "docs/markets.md has no reference-price audit table"
    assert m.group(1) == audit.audit_markdown(warehouse), (
        "stale: run .venv/bin/python scripts/reference_price_audit.py --db DB --write")
