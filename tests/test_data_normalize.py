"""Normalisation of countries, commodities, stages and units (critmin.data.normalize).

Expected ISO codes are from ISO 3166-1 (e.g. COD = Democratic Republic of the Congo, MMR =
Myanmar, KOR = Republic of Korea, CIV = Côte d'Ivoire); the input spellings are the ones the
USGS MCS 2023-2025 world files use.
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.data.errors import ImportFault, UnknownCommodity, UnknownCountry
from critmin.data.ingest.base import country_fields, resolve_country
from critmin.data.ingest.usgs_world import parse_value_column
from critmin.data.normalize import commodities, countries, stages, units

# --------------------------------------------------------------------------------------
# countries


@pytest.mark.parametrize(
    ("raw", "iso3"),
    [
        ("Congo (Kinshasa)", "COD"),
        ("Congo (Brazzaville)", "COG"),
        ("Burma", "MMR"),
        ("Korea, Republic of", "KOR"),
        ("Korea, North", "PRK"),
        ("Côte d’Ivoire", "CIV"),  # curly apostrophe, MCS 2025
        ("Cote d'Ivoire", "CIV"),
        ("Russia ", "RUS"),  # trailing space, MCS 2025
        ("Canada\u00a0", "CAN"),
        ("China3", "CHN"),  # flattened footnote number
        ("United States", "USA"),
        ("Laos", "LAO"),
        ("Vietnam", "VNM"),
        ("Turkey", "TUR"),
        ("Tanzania", "TZA"),
        ("Bolivia", "BOL"),
        ("Iran", "IRN"),
        ("Taiwan", "TWN"),
        ("Kosovo", "XKX"),
        ("Japan", "JPN"),
        ("JPN", "JPN"),
        ("jp", "JPN"),
    ],
)
def test_country_aliases(raw: str, iso3: str) -> None:
    got, agg, _ = resolve_country(raw)
    assert (got, agg) == (iso3, None)


def test_footnote_e_on_country_name_is_kept_as_qualifier() -> None:
    iso3, agg, qual = resolve_country("Russiae")
    assert (iso3, agg) == ("RUS", None)
    assert qual is not None and "estimated" in qual


@pytest.mark.parametrize(
    ("raw", "iso3", "qualifier"),
    [
        ("Brazil (beneficiated)", "BRA", "beneficiated"),
        ("Denmark (processed)5", "DNK", "processed"),
        ("Argentina, crude ore", "ARG", "crude ore"),
    ],
)
def test_country_qualifiers_are_kept(raw: str, iso3: str, qualifier: str) -> None:
    assert resolve_country(raw) == (iso3, None, qualifier)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("World total (rounded)", "world"),
        ("World total", "world"),
        ("World total (may be rounded)", "world"),
        ("Other countries", "other"),
        ("Other Countries", "other"),  # capitalised in MCS 2025
        ("Other countries ", "other"),
        ("United States and Canada", "group"),
        ("European Union", "group"),
    ],
)
def test_aggregates_are_flagged_and_never_mapped_to_a_country(raw: str, kind: str) -> None:
    assert resolve_country(raw) == (None, kind, None)
    assert countries.aggregate_kind(raw) == kind
    with pytest.raises(KeyError):
        countries.to_iso3(raw)


def test_aggregate_and_country_alias_tables_are_disjoint() -> None:
    def rows(name: str) -> list[dict[str, str]]:
        with resources.files("critmin.data.catalog").joinpath(name).open(encoding="utf-8") as f:
            return list(csv.DictReader(f))

    for r in rows("aggregates.csv"):
        with pytest.raises(KeyError):
            countries.to_iso3(r["alias"])
    for r in rows("country_aliases.csv"):
        assert countries.aggregate_kind(r["alias"]) is None, r


def test_every_country_alias_points_to_an_iso_code() -> None:
    with resources.files("critmin.data.catalog").joinpath("country_aliases.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows
    # XKX (Kosovo, user-assigned), ANT (Netherlands Antilles) and SCG (Serbia and
    # Montenegro) are withdrawn/user-assigned codes that trade data still uses.
    allowed_non_current = {"XKX", "ANT", "SCG"}
    for r in rows:
        iso3 = r["country_iso3"]
        assert iso3 in allowed_non_current or pycountry.countries.get(alpha_3=iso3) is not None, r
        assert countries.to_iso3(r["alias"]) == iso3


def test_unknown_country_is_an_error_naming_the_cell() -> None:
    with pytest.raises(UnknownCountry):
        countries.to_iso3("Atlantis")
    with pytest.raises(ImportFault) as ei:
        country_fields("x/y.csv", 7, "COUNTRY", "Atlantis")
    assert (ei.value.path, ei.value.line, ei.value.column, ei.value.found) == ("x/y.csv", 7, "COUNTRY", "Atlantis")


@pytest.mark.parametrize(("code", "iso3"), [("392", "JPN"), (840, "USA"), ("156", "CHN"), ("180", "COD")])
def test_iso_numeric_codes(code: object, iso3: str) -> None:
    assert countries.numeric_to_iso3(code) == iso3  # type: ignore[arg-type]


def test_numeric_code_that_is_not_iso_is_none() -> None:
    assert countries.numeric_to_iso3("999") is None


# --------------------------------------------------------------------------------------
# commodities


@pytest.mark.parametrize(
    ("raw", "cid"),
    [
        ("Gemanium", "germanium"),  # misspelled in MCS2025_World_Data.csv
        ("Rare earths ", "rare_earths"),  # trailing space
        ("Rare Earths", "rare_earths"),
        ("rare earths", "rare_earths"),
        ("raree", "rare_earths"),  # USGS file code (mcs2024-raree_world.csv)
        ("rareee", "rare_earths"),  # USGS file code variant
        ("Copper ", "copper"),
        ("coppe", "copper"),
        ("galli", "gallium"),
        ("Gallium ", "gallium"),
        ("rare_earths", "rare_earths"),
        ("Platinum-Group metals", "pgm"),
    ],
)
def test_commodity_aliases(raw: str, cid: str) -> None:
    assert commodities.resolve(raw) == cid
    assert commodities.resolve_or_none(raw) == cid


def test_misspelling_and_code_kinds_are_recorded() -> None:
    idx = commodities.alias_index()
    assert idx["gemanium"] == ("germanium", "misspelling")
    assert idx["raree"] == ("rare_earths", "usgs_code")
    assert idx["rareee"] == ("rare_earths", "usgs_code")


def test_unknown_commodity_is_an_error_with_suggestions() -> None:
    with pytest.raises(UnknownCommodity) as ei:
        commodities.resolve("Germanum")
    assert "germanium" in str(ei.value)
    assert commodities.resolve_or_none("Unobtainium") is None


CONTRACT_IDS = [
    "rare_earths", "gallium", "germanium", "graphite", "cobalt", "lithium", "nickel", "copper", "tungsten",
    "antimony", "platinum", "palladium", "manganese", "titanium", "vanadium", "niobium", "tantalum", "indium",
    "tellurium", "magnesium", "fluorspar", "barite", "bismuth", "beryllium", "chromium", "tin", "zinc",
    "zirconium", "scandium", "yttrium", "hafnium", "aluminum", "bauxite",
]


def test_catalogue_has_every_contract_commodity() -> None:
    cat = commodities.catalogue()
    missing = [c for c in CONTRACT_IDS if c not in cat]
    assert not missing
    for c in cat.values():
        assert c.trade_unit in ("t", "kg", "carat", "m3"), c
    # USGS reports these in kilograms (MCS 2025 chapters)
    for cid in ("gallium", "germanium", "platinum", "palladium"):
        assert cat[cid].trade_unit == "kg"
    for cid in ("rare_earths", "copper", "cobalt", "lithium", "graphite"):
        assert cat[cid].trade_unit == "t"


def test_every_alias_maps_to_one_commodity() -> None:
    idx = commodities.alias_index()  # raises when an alias maps to two ids
    for c in commodities.catalogue().values():
        for a in c.aliases:
            assert idx[commodities.norm_key(a)][0] == c.commodity_id


# --------------------------------------------------------------------------------------
# stages (TYPE strings verbatim from MCS2025_World_Data.csv and MCS 2024 files)


@pytest.mark.parametrize(
    ("type_raw", "stage", "group", "measure", "product"),
    [
        ("Mine production, rare-earth-oxide equivalent", "mine", "extraction", "production", "rare-earth-oxide equivalent"),
        ("Mine production, cobalt content, estimated", "mine", "extraction", "production", "cobalt content"),  # "estimated" qualifies the number
        ("Mine production, recoverable copper content", "mine", "extraction", "production", "recoverable copper content"),
        ("Mine poduction, Kaolin", "mine", "extraction", "production", "kaolin"),  # USGS typo
        ("mine production, gold content", "mine", "extraction", "production", "gold content"),
        ("Mine production", "mine", "extraction", "production", "(stage only)"),  # stages.GENERIC_PRODUCT
        ("Refinery production, copper", "refinery", "processing", "production", "copper"),
        ("Primary and secondary refinery production", "refinery", "processing", "production", "primary and secondary refinery production"),
        ("Smelter production, aluminum", "smelter", "processing", "production", "aluminum"),
        ("Magnesium smelter production", "smelter", "processing", "production", "magnesium smelter production"),
        ("Plant production, silicon metal", "plant", "processing", "production", "silicon metal"),
        ("Primary production", "processing", "processing", "production", "primary production"),  # gallium
        ("Sponge Metal Production", "processing", "processing", "production", "sponge metal production"),
        ("Plant capacity, fused aluminum oxide", "plant", "processing", "capacity", "fused aluminum oxide"),
        ("Clinker capacity, estimated", "plant", "processing", "capacity", "clinker capacity"),
        ("Soda ash, natural, mine production", "mine", "extraction", "production", "natural"),  # same product as "Mine production, natural"
        ("Production, Synthetic", "plant", "processing", "production", "synthetic"),
        ("Production, helium gas content", "mine", "extraction", "production", "helium gas content"),
        ("Reserves, recoverable ore", "mine", "extraction", "reserves", "reserves, recoverable ore"),
        (
            "Rare earths, mine production, rare-earth-oxide equivalent, metric tons",  # MCS 2024 file
            "mine", "extraction", "production", "rare earths, mine production, rare-earth-oxide equivalent, metric tons",
        ),
    ],
)
def test_stage_taxonomy(type_raw: str, stage: str, group: str, measure: str, product: str) -> None:
    info = stages.classify(type_raw)
    assert info == stages.StageInfo(stage, group, measure, product)


@pytest.mark.parametrize("type_raw", ["Gibberish output", "", "Imports"])
def test_unknown_type_is_none(type_raw: str) -> None:
    assert stages.classify(type_raw) is None


def test_every_type_in_the_real_mcs2025_file_is_classified(data_dir: Path) -> None:
    path = data_dir / "usgs_mcs2025" / "world_data" / "MCS2025_World_Data.csv"
    if not path.exists():
        pytest.skip("MCS 2025 world data not in the data directory")
    with open(path, encoding="utf-8-sig") as f:
        types = {r["TYPE"].strip() for r in csv.DictReader(f)}
    assert len(types) > 50
    unclassified = sorted(t for t in types if stages.classify(t) is None)
    assert unclassified == []
    for t in types:
        info = stages.classify(t)
        assert info is not None
        assert info.stage_group == ("extraction" if info.stage == "mine" else "processing")


# --------------------------------------------------------------------------------------
# units


@pytest.mark.parametrize(
    ("text", "base", "factor"),
    [
        ("metric tons", "t", 1.0),
        ("Metric Tons", "t", 1.0),
        ("thousand metric tons", "t", 1e3),
        ("thousand  metric tons ", "t", 1e3),
        ("thousand metric dry tons", "t", 1e3),
        ("million metric tons", "t", 1e6),
        ("kilograms", "kg", 1.0),
        ("million carats", "carat", 1e6),
        ("thousand carats", "carat", 1e3),
        ("million cubic meters", "m3", 1e6),
    ],
)
def test_units_to_base(text: str, base: str, factor: float) -> None:
    assert units.to_base(text) == (base, factor)


@pytest.mark.parametrize("text", ["bushels", "short tons", "flasks", "", "tonnes-ish"])
def test_unknown_unit_is_none_never_guessed(text: str) -> None:
    assert units.to_base(text) is None


def test_commodity_unit_conversion() -> None:
    # copper, MCS 2025: 5,300 thousand metric tons (Chile 2024) -> 5,300,000 t
    base, f = units.to_base("thousand metric tons")  # type: ignore[misc]
    assert units.to_commodity_unit(base, f, "t") == ("t", 1e3)
    assert 5300 * units.to_commodity_unit(base, f, "t")[1] == 5_300_000
    # a kg-reported commodity given in metric tons: 1 t = 1,000 kg
    assert units.to_commodity_unit("t", 1.0, "kg") == ("kg", 1e3)
    assert units.to_commodity_unit("t", 1e3, "kg") == ("kg", 1e6)
    # a t-reported commodity given in kg: 1 kg = 0.001 t
    assert units.to_commodity_unit("kg", 1.0, "t") == ("t", 1e-3)
    assert units.to_commodity_unit("kg", 1.0, "kg") == ("kg", 1.0)
    assert units.to_commodity_unit("carat", 1e6, "t") == ("carat", 1e6)


# --------------------------------------------------------------------------------------
# MCS 2022-2024 per-commodity value columns (units and years live in the column name)


@pytest.mark.parametrize(
    ("name", "kind", "sub", "unit", "est", "year"),
    [
        ("Prod_t_2022", "Prod", None, "metric tons", False, 2022),
        ("Prod_kt_est_2023", "Prod", None, "thousand metric tons", True, 2023),
        ("Prod_kt_Est_2023", "Prod", None, "thousand metric tons", True, 2023),
        ("Prod_kg_2022", "Prod", None, "kilograms", False, 2022),
        ("Prod_Refinery_t_2023", "Prod", "Refinery", "metric tons", False, 2023),
        ("Cap_kt_2022", "Cap", None, "thousand metric tons", False, 2022),
        ("Cap_t_est_2023", "Cap", None, "metric tons", True, 2023),
        ("Reserves_t", "Reserves", None, "metric tons", False, None),
        ("Reserves_kg", "Reserves", None, "kilograms", False, None),
        ("Reserves_ore_kt", "Reserves", "ore", "thousand metric tons", False, None),
        ("Reserves_ore_K2O_equiv_kt", "Reserves", "ore_K2O_equiv", "thousand metric tons", False, None),
    ],
)
def test_value_column_names(name: str, kind: str, sub: str | None, unit: str, est: bool, year: int | None) -> None:
    assert parse_value_column(name) == {"kind": kind, "sub": sub, "unit": unit, "est": est, "year": year}


@pytest.mark.parametrize("name", ["Prod_bananas_2023", "Production_2023", "Prod_t_20x3", "Reserves"])
def test_unknown_value_column_names(name: str) -> None:
    assert parse_value_column(name) is None


def test_every_iso_name_resolves_to_itself() -> None:
    """No alias or footnote heuristic (e.g. the trailing 'e' of 'Russiae') hijacks a real
    ISO 3166 name: every name, official name and common name maps to its own code."""
    wrong = []
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            name = getattr(c, attr, None)
            if name and resolve_country(name)[0] != c.alpha_3:
                wrong.append((name, c.alpha_3, resolve_country(name)))
    assert wrong == []


@settings(deadline=None)  # pandas / first-use catalogue loading can be slow on a busy CI machine
@given(
    st.sampled_from(["World total (rounded)", "World total", "Other countries", "Other Countries"]),
    st.text(alphabet=" \u00a0", max_size=3),
    st.text(alphabet=" \u00a0", max_size=3),
    st.sampled_from([str.lower, str.upper, str.title, lambda s: s]),
)
def test_aggregates_in_any_case_and_padding(text: str, pre: str, post: str, case) -> None:
    iso3, agg, _ = resolve_country(pre + case(text) + post)
    assert iso3 is None
    assert agg == ("world" if text.lower().startswith("world") else "other")


def test_warehouse_country_codes_are_validated() -> None:
    from critmin.data.errors import UnknownCountry
    from critmin.data.warehouse import Warehouse

    assert Warehouse.resolve_country("JPN") == "JPN"
    assert Warehouse.resolve_country("XKX") == "XKX"  # Kosovo: World Bank code, in the alias table
    assert Warehouse.resolve_country("Korea, Republic of") == "KOR"
    with pytest.raises(UnknownCountry, match="XYZ"):
        Warehouse.resolve_country("XYZ")  # an unknown code is an error, not an empty result


def test_one_unit_table_mt_never_means_two_things():
    """'Mt' is a million metric tons, 'USD/mt' (World Bank) is per metric ton, a bare 'mt' is
    refused as ambiguous; every unit table of critmin is critmin.data.normalize.units."""
    from critmin.data.normalize import units
    from critmin.markets import floor, priceunits

    assert units.to_base("Mt") == ("t", 1e6)
    assert units.to_base("million metric tons") == ("t", 1e6)
    assert units.to_base("mt") is None and units.to_base(" MT ") is None
    assert units.PRICE_UNIT_ALIASES["USD/mt"] == "USD/t"
    assert priceunits.convert_price(1000.0, "USD/mt", "USD/kg") == 1.0  # 1,000 $/t = 1 $/kg
    assert floor.MASS_PER_T is units.MASS_UNITS_PER_T
    assert "mt" not in units.MASS_TO_T and "USD/mt" not in units.PRICE_TO_USD_PER_T
