"""Price units of the USGS MCS salient tables: what each price column is quoted in, on what basis.

The salient CSVs name a price column's unit only by its suffix (``Price_Flake_dt``: dollars
per metric ton). For some columns the suffix says less than, or something else than, the
release's own metadata (``mcs20NN-<code>_meta.xml``, ``attrdef``/``attrunit`` of the column;
quoted in :data:`PRICE_OVERRIDES`):

* Tungsten ``Price_WO3_dt`` is in US$ per dry *metric ton unit* (mtu) of WO3, not per metric
  ton: "dollars per dry metric ton unit of tungsten trioxide ... A metric ton unit of tungsten
  trioxide contains 7.93 kilograms of tungsten" (MCS 2023-2025 metadata). 1 mtu = 10 kg WO3, so
  US$ per t of contained W = price x 1000 / 7.93 (= price x 100 / 0.793); MCS 2025: 250 US$/mtu
  (2024) -> 31,526 US$/t W.
* Manganese ``Price_CN_CIF_dt`` is in US$ per metric ton unit of manganese content: "Average,
  manganese content, cost, insurance, and freight, China, dollars per metric ton unit. For
  average metallurgical-grade ore containing 44% manganese" (MCS 2023-2025 metadata). 1 mtu =
  1 % of a metric ton = 10 kg of Mn, so US$ per t of contained Mn = price x 100; MCS 2025:
  5.8 US$/mtu (2024) -> 580 US$/t Mn (255 US$ per t of 44 % ore).
* Selenium's MCS 2024 columns are headed (and described) in US$/lb but hold US$/kg, as the
  MCS 2023 and 2025 values of the same years show (:data:`RELEASE_PRICE_OVERRIDES`).
* Lithium's price is per t of lithium carbonate and vanadium's per lb of V2O5, while the USGS
  quantities (consumption, world production) are lithium and vanadium *content*: they are
  converted per t of contained Li (x 73.888/13.88 = 5.323) and V (x 181.878/101.883 = 1.785),
  so that a price times a tonnage is a value. (Ferroniobium's US$/kg gross weight is imported
  as published, its Nb grade not being stated; the reference price of
  :mod:`critmin.disruption.refprice` divides it by the grade setting
  ``disruption.ferroniobium_nb_fraction``.)
* Columns whose suffix is a mass unit (``_t``, ``_kt``, ``_mct``) or another price unit than
  the metadata's (zirconium, bauxite, industrial diamond, sheet mica, mercury, niobium, iron and
  steel), listed with the metadata's words.

The new units are rows of the one unit table (:data:`critmin.data.normalize.units.
PRICE_TO_USD_PER_T`) with the basis they convert to (:data:`PRICE_BASIS`). A price column
whose unit is neither a price unit of that table nor one of :data:`NON_MASS_PRICE_UNITS`
is imported with ``unit`` NULL and ``flag`` :data:`UNIT_UNKNOWN` (its name stays in
``unit_raw``), so that no reader converts it as if it were US$/t.
"""

from __future__ import annotations

from dataclasses import dataclass

from critmin.data.normalize.units import PRICE_TO_USD_PER_T

#: flag of a price cell whose unit is not known (or is ambiguous in the release)
UNIT_UNKNOWN = "unit unknown"

#: price units that are not per mass: kept as published, never converted to US$/t
NON_MASS_PRICE_UNITS = frozenset({"USD/carat", "index", "million USD"})

#: the basis a price unit of the unit table converts to, where it is not the commodity as
#: traded (gross weight of the named product)
PRICE_BASIS: dict[str, str] = {
    "USD/mtu WO3": "US$ per t of contained W (1 mtu WO3 = 10 kg WO3 = 7.93 kg W, USGS MCS tungsten metadata)",
    "USD/mtu Mn": "US$ per t of contained Mn (1 mtu = 10 kg Mn content, USGS MCS manganese metadata)",
    "USD/kg Ta2O5": "US$ per t of contained Ta (Ta2O5 is 81.897 % Ta: 2 x 180.948 / 441.893)",
    "USD/t K2O": "US$ per t of K2O equivalent (USGS MCS potash metadata)",
    "USD/t Li2CO3": "US$ per t of contained Li (Li2CO3 is 18.785 % Li: 2 x 6.94 / 73.888)",
    "USD/lb V2O5": "US$ per t of contained V (V2O5 is 56.017 % V; MCS vanadium metadata: 'multiply by 0.56')",
}


@dataclass(frozen=True)
class PriceOverride:
    """A salient price column's unit as the release's metadata states it."""

    unit: str | None  #: unit of :data:`PRICE_TO_USD_PER_T` / :data:`NON_MASS_PRICE_UNITS`; None: unknown
    source: str  #: the metadata's words (file and attribute)


_W = ("MCS 2025 mcs2025-tungs_meta.xml Price_WO3_dt: 'dollars per dry metric ton unit of tungsten trioxide. "
      "... A metric ton unit of tungsten trioxide contains 7.93 kilograms of tungsten' (same in MCS 2023, 2024)")
_MN = ("MCS 2025 mcs2025-manga_meta.xml Price_CN_CIF_dt: 'Average, manganese content, ... dollars per metric "
       "ton unit. For average metallurgical-grade ore containing 44% manganese' (same in MCS 2023, 2024)")
_ZR = "MCS 2025 mcs2025-zirco_meta.xml: zircon 'dollars per metric ton (gross weight)'"
_ZRKG = "MCS 2025 mcs2025-zirco_meta.xml: zirconium sponge / hafnium unwrought 'dollars per kilogram' (MCS 2023: *_dkg)"

#: (commodity id, salient column) -> the column's unit as the release's metadata states it
PRICE_OVERRIDES: dict[tuple[str, str], PriceOverride] = {
    ("tungsten", "Price_WO3_dt"): PriceOverride("USD/mtu WO3", _W),
    ("tungsten", "Price_WO3dt"): PriceOverride("USD/mtu WO3", _W + "; MCS 2024 spells the column 'Price_WO3dt'"),
    ("manganese", "Price_CN_CIF_dt"): PriceOverride("USD/mtu Mn", _MN),
    ("tantalum", "Price_Ta2O5_dkg"): PriceOverride(
        "USD/kg Ta2O5", "MCS 2025 mcs2025-tanta_meta.xml Price_Ta2O5_dkg: 'dollars per kilogram of Ta2O5 content'"),
    ("lithium", "Price_dt"): PriceOverride(
        "USD/t Li2CO3", "MCS 2023-2025 lithium metadata Price_dt: 'battery-grade lithium carbonate, dollars per metric "
                        "ton'; the salient and world quantities are lithium content"),
    ("vanadium", "Price_V2O5_dlb"): PriceOverride(
        "USD/lb V2O5", "MCS 2023-2025 vanadium metadata Price_V2O5_dlb: 'vanadium pentoxide, dollars per pound'; "
                       "the salient quantities are vanadium content ('To convert vanadium pentoxide content to "
                       "vanadium content multiply by 0.56')"),
    ("potash", "Price_All_dt"): PriceOverride(
        "USD/t K2O", "MCS 2025 mcs2025-potas_meta.xml Price_All_dt: 'dollars per ton of K2O equivalent'"),
    ("potash", "Price_Muriate_dt"): PriceOverride(
        "USD/t K2O", "MCS 2025 mcs2025-potas_meta.xml Price_MOP_dt: 'dollars per ton of K2O equivalent'"),
    ("zirconium", "Price_Zircon_premium_CIF_CN_t"): PriceOverride("USD/t", _ZR),
    ("zirconium", "Price_Zircon_imported_t"): PriceOverride("USD/t", _ZR),
    ("zirconium", "Price_Zircon_sponge_CN_t"): PriceOverride("USD/kg", _ZRKG),
    ("zirconium", "Price_Hf_unwrought_t"): PriceOverride("USD/kg", _ZRKG),
    ("bauxite", "Alumina_Price_kt"): PriceOverride(
        "USD/t", "MCS 2025 mcs2025-bauxi_meta.xml Alumina_Price_dt: 'dollars per metric ton'"),
    ("bauxite", "Bauxite_Price_kt"): PriceOverride(
        "USD/t", "MCS 2025 mcs2025-bauxi_meta.xml Bauxite_Price_dt: 'dollars per metric ton'"),
    ("diamond_industrial", "Bort_Price_Imports_mct"): PriceOverride(
        "USD/carat", "MCS 2025 mcs2025-diamo_meta.xml Bort_Price_Imports_dct: 'dollars per carat'"),
    ("diamond_industrial", "Stones_Price_Imports_mct"): PriceOverride(
        "USD/carat", "MCS 2025 mcs2025-diamo_meta.xml Stones_Price_Imports_dct: 'dollars per carat'"),
    ("mica", "Price_Sheet-Block_dt"): PriceOverride(
        "USD/kg", "MCS 2025 mcs2025-mica_meta.xml Price_Sheet_Block_dkg: 'dollars per kilogram'"),
    ("mica", "Price_Sheet-Splittings_dt"): PriceOverride(
        "USD/kg", "MCS 2025 mcs2025-mica_meta.xml Price_Sheet_Splittings_dkg: 'dollars per kilogram'"),
    ("mercury", "Price_Imports_df"): PriceOverride(
        "USD/kg", "MCS 2025 mcs2025-mercu_meta.xml Price_Imports_dkg: 'dollars per kilogram' (MCS 2023 gives "
                  "the same 2022 value, 33, as dollars per kilogram)"),
    ("niobium", "Price_kg"): PriceOverride("USD/kg", "MCS 2023 niobium 'Price_kg': ferroniobium, dollars per kilogram "
                                           "(MCS 2024/2025 name it Price_dkg, with the same values)"),
    ("iron_steel", "Price_Index_mmt"): PriceOverride(
        "index", "MCS 2024 iron and steel 'Price_Index_mmt': the producer price index (MCS 2025: Price_Index, 'index')"),
    ("arsenic", "Price_Mtl_US_dkg"): PriceOverride(
        None, "ambiguous: MCS 2025 mcs2025-arsen_meta.xml describes the column as Price_Mtl_US_dlb, 'dollars per "
              "pound', while the CSV header says _dkg"),
}


_SE = ("MCS 2024 mcs2024-selen_salient.csv: the {0} column is headed _dlb (metadata: 'dollars per pound') but "
       "holds US$/kg: 2019-2022 are 2.15-2.30 x the MCS 2023 values of the same years in US$/lb ({1}; "
       "1 kg = 2.2046 lb), and 2023 = 23 matches MCS 2025's Price_US_dkg 23.11 US$/kg")

#: (release, commodity id, salient column) -> the unit one release's column is really in, where
#: its header and metadata say otherwise and the neighbouring releases show it (ahead of
#: :data:`PRICE_OVERRIDES`)
RELEASE_PRICE_OVERRIDES: dict[tuple[str, str, str], PriceOverride] = {
    ("MCS2024", "selenium", "Price_US_dlb"): PriceOverride("USD/kg", _SE.format("US", "2019: 20 vs 9.15")),
    ("MCS2024", "selenium", "Price_Europe_dlb"): PriceOverride("USD/kg", _SE.format("Europe", "2019: 20 vs 9.27")),
}


def salient_price_unit(commodity_id: str, variable: str, decoded: str | None,
                       release: str | None = None) -> tuple[str | None, str | None]:
    """(unit, flag) of a salient price cell of a release (``MCS2025``): the unit of
    :data:`RELEASE_PRICE_OVERRIDES` or :data:`PRICE_OVERRIDES` where they name the column, else
    the unit decoded from the name's suffix; a unit that is not a price unit
    (:data:`PRICE_TO_USD_PER_T`, :data:`NON_MASS_PRICE_UNITS`) gives ``(None, UNIT_UNKNOWN)``."""
    key = (commodity_id, variable.strip())
    o = RELEASE_PRICE_OVERRIDES.get((release or "", *key)) or PRICE_OVERRIDES.get(key)
    unit = o.unit if o is not None else decoded
    if unit is None or (unit not in PRICE_TO_USD_PER_T and unit not in NON_MASS_PRICE_UNITS):
        return None, UNIT_UNKNOWN
    return unit, None
