"""Annual prices (Warehouse.prices_annual): the MCS platinum-group file's platinum, palladium and
rhodium columns under those commodities, newest release per series and year, against the values
published by the USGS (MCS 2022-2025 salient tables) typed in here and read from the files; and the
recycling rates' one rule per commodity."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

# US$/troy oz, the newest MCS release of each year: MCS2025 (2020-2024), MCS2024 (2019),
# MCS2023 (2018), MCS2022 (2017)
PLATINUM = {2017: 951.23, 2018: 882.66, 2019: 866.94, 2020: 886.02, 2021: 1094.31, 2022: 966.54,
            2023: 973.00, 2024: 950.0}
PALLADIUM = {2017: 874.30, 2018: 1036.43, 2019: 1544.31, 2020: 2205.27, 2021: 2419.18, 2022: 2133.81,
             2023: 1351.66, 2024: 980.0}
FILES = ["usgs_mcs2025/salient_commodity/mcs2025-plati_salient.csv",
         "usgs_mcs2024/salient_commodity/mcs2024-plati_salient.csv",
         "usgs_mcs2023/salient_commodity/mcs2023-plati_salient.csv",
         "usgs_mcs2022_subset/platinum_mcs2022-plati_salient.csv"]


@pytest.fixture(scope="module")
def prices(warehouse):
    return warehouse.prices_annual()


@pytest.mark.parametrize(("cid", "var", "published"), [("platinum", "Price_Platinum_dto", PLATINUM),
                                                       ("palladium", "Price_Palladium_dto", PALLADIUM)])
def test_platinum_and_palladium_prices_are_mapped(prices, data_dir: Path, cid: str, var: str,
                                                 published: dict[int, float]) -> None:
    s = prices[prices.commodity_id == cid]
    usgs = s[s.series == f"{cid}:{var}"].set_index("year")
    assert usgs["quantity"].to_dict() == pytest.approx(published)
    assert set(usgs["unit"]) == {"USD/troy oz"}
    # the same numbers straight from the files, newest release first
    from_files: dict[int, float] = {}
    for f in FILES:
        with open(data_dir / f, encoding="utf-8-sig", newline="") as fh:
            for r in csv.DictReader(fh):
                from_files.setdefault(int(r["Year"]), float(r[var]))
    assert from_files == pytest.approx(published)


def test_rhodium_is_mapped_and_iridium_stays_with_the_group(prices) -> None:
    assert prices[prices.series == "rhodium:Price_Rhodium_dto"].set_index("year").loc[2024, "quantity"] == 4600
    assert set(prices[prices.series.str.contains("Iridium")].commodity_id) == {"pgm"}
    assert not prices.series.str.startswith("pgm:Price_Platinum").any()


def test_one_value_per_series_and_year_in_order(prices) -> None:
    assert not prices.duplicated(["series", "year"]).any()
    assert list(zip(prices.series, prices.year, strict=True)) == sorted(zip(prices.series, prices.year, strict=True))


def test_recycling_one_rule_per_commodity(warehouse) -> None:
    r = warehouse.recycling_rates()
    clays = r[r.commodity_id == "clays"]
    assert sorted(clays.eol_rir) == [0.19, 0.31]  # Bentonite, Kaolin (SCRREEN 2023)
    assert clays.commodity_eol_rir.tolist() == pytest.approx([0.25, 0.25])
    assert set(clays.commodity_rule) == {"mean of 2 materials"}
    co = r[r.commodity_id == "cobalt"]
    assert co.commodity_eol_rir.item() == co.eol_rir.item() and co.commodity_rule.item() == "the only material"
    assert r.commodity_id.is_monotonic_increasing
    assert r.equals(warehouse.recycling_rates())
    assert (r.groupby("commodity_id").commodity_eol_rir.nunique() == 1).all()
