"""Curated inputs of the damage model (issue 13): end uses, value added, substitutability.

* :func:`end_uses` - commodity -> end-use sector -> share, per partner (``end_uses.csv``: USA from
  the USGS MCS 2025 "Domestic Production and Use" paragraphs, Japan from global shares marked
  PROXY, WORLD where a source gives only a global split).
* :func:`value_added` - value added by industry (``value_added.csv``; ISIC Rev.4 KTI industries
  for the USA and Japan in current US$, blank rows for the industries no reached source gives).
* :func:`substitutability` - short-run substitutability per (commodity, sector)
  (``substitutability.csv``; Graedel et al. 2015 substitute ratings by application, else a
  commodity-level index).

Every row names its public source and the date of the information (``as_of``); a value no source
gives is blank and the row's ``note`` says so. Conventions and gaps: ``docs/curated_data.md``.
The loaders validate the files with pandera and raise
:class:`~critmin.data.curated.CuratedTableError`, which lists every fault with its file, CSV line
and column. The returned frames are indexed by the CSV line of each row (``csv_line``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

import pandas as pd
import pandera.pandas as pa

from critmin.data.curated import (
    CuratedTableError,
    _catalogue_ids,
    _elem,
    _is_date,
    _package_text,
    _read,
    _schema_faults,
    _text,
)
from critmin.data.errors import ImportFault

END_USES_FILE = "end_uses.csv"
VALUE_ADDED_FILE = "value_added.csv"
SUBSTITUTABILITY_FILE = "substitutability.csv"

END_USE_COLUMNS = ["commodity_id", "partner", "sector", "share", "naics", "jsic_or_sna", "source", "as_of", "note"]
VALUE_ADDED_COLUMNS = [
    "partner", "classification", "industry_code", "industry_name", "year", "value_added", "unit", "currency",
    "fx_jpy_per_usd", "fx_source", "source", "as_of", "note",
]
SUBSTITUTABILITY_COLUMNS = [
    "commodity_id", "sector", "short_run_substitutability", "rating", "basis", "source", "as_of", "note",
]

#: partners of ``end_uses.csv``; WORLD rows hold a source's global split as published
END_USE_PARTNERS: tuple[str, ...] = ("USA", "JPN", "WORLD")
VALUE_ADDED_PARTNERS: tuple[str, ...] = ("USA", "JPN")

#: end-use sector -> (description, default 2017 NAICS codes, JSNA 2015 economic activity,
#: ISIC Rev.4 code of the ``value_added.csv`` industry the sector belongs to)
SECTORS: dict[str, tuple[str, str, str, str]] = {
    "batteries": ("batteries of all chemistries (lithium-ion, lead-acid, NiMH, primary cells)", "335911;335912", "Electrical machinery, equipment and supplies", "C27"),
    "magnets_motors": ("permanent magnets and the motors and generators built with them", "335312", "Electrical machinery, equipment and supplies", "C27"),
    "semiconductors_electronics": ("integrated circuits, optoelectronics, capacitors, displays, electronic components and their solders", "334413;334416;334419", "Electronic components and devices", "C26"),
    "solar_pv": ("photovoltaic cells and modules", "334413", "Electronic components and devices", "C26"),
    "electrical_equipment": ("wire, cable, power transmission, lighting and other electrical equipment", "335", "Electrical machinery, equipment and supplies", "C27"),
    "consumer_durables": ("household appliances and consumer durable goods", "3352", "Electrical machinery, equipment and supplies", "C27"),
    "machinery": ("industrial machinery and equipment, including HVAC", "333", "General-purpose, production and business oriented machinery", "C28"),
    "cutting_tools": ("cemented-carbide and other cutting and wear-resistant tools", "333515", "General-purpose, production and business oriented machinery", "C28"),
    "transport_equipment": ("motor vehicles and other transportation equipment (castings, sheet, parts)", "336", "Transport equipment", "C29"),
    "autos_catalysts": ("automotive catalytic converters", "336390", "Transport equipment", "C29"),
    "aerospace_defence": ("aircraft engines and parts (superalloys), aerospace and defense applications", "3364", "Transport equipment", "C303"),
    "steel_alloys": ("iron and steel making, alloy and stainless steels, ferroalloys, foundries", "3311", "Primary metals", "C241"),
    "nonferrous_metals": ("aluminum, copper and other nonferrous alloys, brass, solders other than electronics, master alloys", "3313;3314", "Primary metals", "C242"),
    "metal_products": ("fabricated metal products: cans and packaging, ammunition, other metal goods", "332", "Fabricated metal products", "C25"),
    "chemicals": ("chemicals: industrial and petroleum catalysts, pigments, flame retardants, pesticides, other chemical uses", "325", "Chemicals", "C20"),
    "fertilizers": ("fertilizers and agricultural micronutrients", "3253", "Chemicals", "C20"),
    "glass_ceramics": ("glass, ceramics, refractories and polishing compounds", "327", "Ceramic, stone and clay products", "C23"),
    "construction": ("building construction and infrastructure", "23", "Construction", "F"),
    "oil_gas_drilling": ("oil and gas well drilling fluids and oil-industry uses", "213111", "Mining", "B"),
    "nuclear": ("nuclear fuel, control rods and nuclear-energy components", "221113", "Electricity, gas and water supply and waste management service", "D35"),
    "pharma_medical": ("pharmaceuticals, medical and dental products", "3254", "Chemicals", "C21"),
    "investment_jewelry": ("bars, coins, investment products, jewelry and silverware", "339910", "Other manufacturing", "C32"),
    "research": ("research and development", "541715", "Professional, scientific and technical activities", "M72"),
    "other": ("the source's residual 'other' uses", "", "", ""),
    "unspecified": ("no public end-use split (the row's note says why)", "", "", ""),
}
#: sectors that name no industry (no NAICS code)
NO_INDUSTRY_SECTORS = frozenset({"other", "unspecified"})

#: ASSUMPTION (a setting): short-run substitutability given to Graedel et al.'s qualitative
#: substitute-performance ratings; "none" = the source names no substitute
RATING_SCALE: dict[str, float] = {"exemplary": 1.0, "good": 0.75, "adequate": 0.5, "poor": 0.25, "none": 0.0}
SUBSTITUTABILITY_BASES: dict[str, str] = {
    "sector": "rating(s) of the applications the source maps to this sector",
    "commodity": "one commodity-level index used for every sector of the commodity",
    "none": "no published substitutability found (value blank)",
}
VALUE_ADDED_CLASSIFICATIONS: tuple[str, ...] = ("ISIC4", "NAICS2017", "JSNA2015")
CURRENCIES: tuple[str, ...] = ("USD", "JPY")
UNITS: dict[str, float] = {"unit": 1.0, "thousand": 1e3, "million": 1e6, "billion": 1e9}

#: shares of one (commodity, partner) may exceed 1 by this much: Graedel et al. note that their
#: application shares "do not sum to one hundred percent due to rounding" (e.g. Pt 101 %)
END_USE_SUM_TOLERANCE = 0.015

_URL = re.compile(r"https?://\S+")
_NAICS = re.compile(r"\d{2,6}(;\d{2,6})*")


def _is_fraction(value: str, *, blank_ok: bool = True) -> bool:
    if value == "":
        return blank_ok
    try:
        v = float(value)
    except ValueError:
        return False
    return 0.0 <= v <= 1.0


def _is_blank_or_nonneg(value: str) -> bool:
    if value == "":
        return True
    try:
        return float(value) >= 0
    except ValueError:
        return False


def _source() -> pa.Column:
    return _text(_elem(lambda s: bool(_URL.search(s)), "a source that contains a URL"))


def _as_of() -> pa.Column:
    return _text(_elem(_is_date, "an ISO date YYYY-MM-DD between 2009-01-01 and today"))


def _end_use_schema() -> pa.DataFrameSchema:
    ids = _catalogue_ids()
    return pa.DataFrameSchema(
        {
            "commodity_id": _text(_elem(lambda s: s in ids, "a commodity id of catalog/commodities.csv")),
            "partner": _text(_elem(lambda s: s in END_USE_PARTNERS, f"a partner in {list(END_USE_PARTNERS)}")),
            "sector": _text(_elem(lambda s: s in SECTORS, "a sector of economics.SECTORS")),
            "share": _text(_elem(_is_fraction, "blank or a fraction 0..1"), blank_ok=True),
            "naics": _text(_elem(lambda s: s == "" or bool(_NAICS.fullmatch(s)), "blank or 2-6 digit NAICS codes separated by ';'"), blank_ok=True),
            "jsic_or_sna": _text(blank_ok=True),
            "source": _source(),
            "as_of": _as_of(),
            "note": _text(blank_ok=True),
        },
        strict=True,
        ordered=True,
    )


def _value_added_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "partner": _text(_elem(lambda s: s in VALUE_ADDED_PARTNERS, f"a partner in {list(VALUE_ADDED_PARTNERS)}")),
            "classification": _text(_elem(lambda s: s in VALUE_ADDED_CLASSIFICATIONS, f"one of {list(VALUE_ADDED_CLASSIFICATIONS)}")),
            "industry_code": _text(),
            "industry_name": _text(),
            "year": _text(_elem(lambda s: bool(re.fullmatch(r"\d{4}", s)) and 1990 <= int(s) <= 2100, "a year YYYY")),
            "value_added": _text(_elem(_is_blank_or_nonneg, "blank or a number >= 0"), blank_ok=True),
            "unit": _text(_elem(lambda s: s in UNITS, f"one of {list(UNITS)}")),
            "currency": _text(_elem(lambda s: s in CURRENCIES, f"one of {list(CURRENCIES)}")),
            "fx_jpy_per_usd": _text(_elem(_is_blank_or_nonneg, "blank or a positive rate"), blank_ok=True),
            "fx_source": _text(blank_ok=True),
            "source": _source(),
            "as_of": _as_of(),
            "note": _text(blank_ok=True),
        },
        strict=True,
        ordered=True,
    )


def _substitutability_schema() -> pa.DataFrameSchema:
    ids = _catalogue_ids()
    ratings = set(RATING_SCALE)
    return pa.DataFrameSchema(
        {
            "commodity_id": _text(_elem(lambda s: s in ids, "a commodity id of catalog/commodities.csv")),
            "sector": _text(_elem(lambda s: s in SECTORS and s not in NO_INDUSTRY_SECTORS, "an industry sector of economics.SECTORS")),
            "short_run_substitutability": _text(_elem(_is_fraction, "blank or a fraction 0..1"), blank_ok=True),
            "rating": _text(_elem(lambda s: s == "" or set(s.split("|")) <= ratings, f"blank or '|'-joined ratings of {sorted(ratings)}"), blank_ok=True),
            "basis": _text(_elem(lambda s: s in SUBSTITUTABILITY_BASES, f"one of {list(SUBSTITUTABILITY_BASES)}")),
            "source": _source(),
            "as_of": _as_of(),
            "note": _text(blank_ok=True),
        },
        strict=True,
        ordered=True,
    )


def _duplicates(df: pd.DataFrame, key: list[str], file: str, column: str) -> list[ImportFault]:
    return [
        ImportFault(file, int(line), column, df.at[line, column], f"one row per ({', '.join(key)})")
        for line in df.index[df.duplicated(key, keep="first")]
    ]


def validate_end_uses(df: pd.DataFrame, file: str = END_USES_FILE) -> pd.DataFrame:
    """Check a raw (all-string) end-use table and return it typed; raise :class:`CuratedTableError`."""
    faults = _schema_faults(_end_use_schema(), df, file)
    if not faults:
        faults += _duplicates(df, ["commodity_id", "partner", "sector"], file, "sector")
        for line, r in df.iterrows():
            ln = int(str(line))
            if r["sector"] in NO_INDUSTRY_SECTORS:
                if r["naics"] != "":
                    faults.append(ImportFault(file, ln, "naics", r["naics"], f"no NAICS code for sector {r['sector']!r}"))
            elif r["naics"] == "":
                faults.append(ImportFault(file, ln, "naics", "", "a NAICS code for an industry sector"))
            if r["sector"] == "unspecified" and (r["share"] != "" or "NO PUBLIC SPLIT" not in r["note"]):
                faults.append(ImportFault(file, ln, "note", r["note"][:60], "an 'unspecified' row has no share and says 'NO PUBLIC SPLIT' and why"))
            if r["share"] == "" and r["sector"] != "unspecified" and not r["note"].strip():
                faults.append(ImportFault(file, ln, "note", "", "a blank share says why in note"))
            if (r["partner"] == "JPN" and "PROXY" not in r["note"] and "NO PUBLIC SPLIT" not in r["note"]
                    and not re.search(r"meti|jogmec", r["source"], re.IGNORECASE)):
                faults.append(ImportFault(file, ln, "note", r["note"][:60], "a JPN row from a non-Japanese source is marked PROXY"))
        shares = df.assign(share=pd.to_numeric(df["share"].replace("", None), errors="coerce"))
        for (cid, partner), g in shares.groupby(["commodity_id", "partner"], sort=False):
            total = float(g["share"].sum())
            if total > 1.0 + END_USE_SUM_TOLERANCE:
                faults.append(ImportFault(file, int(g.index[0]), "share", round(total, 4),
                                          f"shares of ({cid}, {partner}) summing to at most 1 (+{END_USE_SUM_TOLERANCE})"))
    if faults:
        raise CuratedTableError(faults)
    out = df.copy()
    out["share"] = pd.to_numeric(out["share"].replace("", None), errors="raise").astype("float64")
    out["as_of"] = pd.to_datetime(out["as_of"], format="%Y-%m-%d")
    out.index.name = "csv_line"
    return out


def validate_value_added(df: pd.DataFrame, file: str = VALUE_ADDED_FILE) -> pd.DataFrame:
    """Check a raw value-added table and return it typed (adds ``value_added_usd``); raise :class:`CuratedTableError`."""
    faults = _schema_faults(_value_added_schema(), df, file)
    if not faults:
        faults += _duplicates(df, ["partner", "classification", "industry_code", "year"], file, "industry_code")
        for line, r in df.iterrows():
            ln = int(str(line))
            if r["currency"] == "JPY" and r["value_added"] != "" and (r["fx_jpy_per_usd"] == "" or not _URL.search(r["fx_source"])):
                faults.append(ImportFault(file, ln, "fx_jpy_per_usd", r["fx_jpy_per_usd"], "a JPY value gives its JPY/USD rate and a sourced fx_source"))
            if r["currency"] == "USD" and r["fx_jpy_per_usd"] != "":
                faults.append(ImportFault(file, ln, "fx_jpy_per_usd", r["fx_jpy_per_usd"], "no exchange rate on a USD row"))
            if r["value_added"] == "" and "NOT FOUND" not in r["note"]:
                faults.append(ImportFault(file, ln, "note", r["note"][:60], "a blank value says 'NOT FOUND' and why"))
            if int(r["year"]) > int(r["as_of"][:4]):
                faults.append(ImportFault(file, ln, "year", r["year"], f"a year not after as_of {r['as_of']}"))
    if faults:
        raise CuratedTableError(faults)
    out = df.copy()
    out["year"] = out["year"].astype("int64")
    out["value_added"] = pd.to_numeric(out["value_added"].replace("", None), errors="raise").astype("float64")
    out["fx_jpy_per_usd"] = pd.to_numeric(out["fx_jpy_per_usd"].replace("", None), errors="raise").astype("float64")
    scale = out["unit"].map(UNITS).astype("float64")
    usd = out["value_added"] * scale
    out["value_added_usd"] = usd.where(out["currency"] == "USD", usd / out["fx_jpy_per_usd"])
    out["as_of"] = pd.to_datetime(out["as_of"], format="%Y-%m-%d")
    out.index.name = "csv_line"
    return out


def rating_value(rating: str, scale: Mapping[str, float] | None = None) -> float:
    """Short-run substitutability of a '|'-joined rating string: the mean over its ratings.

    Only the single-rating case is exact; rows with several ratings are share-weighted in the
    CSV, so use :func:`substitutability` with ``scale`` to recompute them."""
    sc = RATING_SCALE if scale is None else scale
    parts = rating.split("|")
    return sum(sc[p] for p in parts) / len(parts)


def validate_substitutability(df: pd.DataFrame, file: str = SUBSTITUTABILITY_FILE) -> pd.DataFrame:
    """Check a raw substitutability table and return it typed; raise :class:`CuratedTableError`."""
    faults = _schema_faults(_substitutability_schema(), df, file)
    if not faults:
        faults += _duplicates(df, ["commodity_id", "sector"], file, "sector")
        for line, r in df.iterrows():
            ln = int(str(line))
            blank = r["short_run_substitutability"] == ""
            if (r["basis"] == "none") != blank:
                faults.append(ImportFault(file, ln, "basis", r["basis"], "basis 'none' exactly when the value is blank"))
            if r["basis"] == "commodity" and "COMMODITY-LEVEL" not in r["note"]:
                faults.append(ImportFault(file, ln, "note", r["note"][:60], "a commodity-level index says 'COMMODITY-LEVEL' in note"))
            if r["rating"] != "" and "ASSUMPTION" not in r["note"]:
                faults.append(ImportFault(file, ln, "note", r["note"][:60], "a value from ratings names the ASSUMPTION of its scale"))
            if r["rating"] != "" and "|" not in r["rating"] and not blank:
                expected = RATING_SCALE[r["rating"]]
                if abs(float(r["short_run_substitutability"]) - expected) > 1e-9:
                    faults.append(ImportFault(file, ln, "short_run_substitutability", r["short_run_substitutability"],
                                              f"RATING_SCALE[{r['rating']!r}] = {expected}"))
    if faults:
        raise CuratedTableError(faults)
    out = df.copy()
    out["short_run_substitutability"] = pd.to_numeric(out["short_run_substitutability"].replace("", None), errors="raise").astype("float64")
    out["as_of"] = pd.to_datetime(out["as_of"], format="%Y-%m-%d")
    out.index.name = "csv_line"
    return out


# --- loaders --------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _end_uses() -> pd.DataFrame:
    return validate_end_uses(_read(_package_text(END_USES_FILE), END_USES_FILE))


@lru_cache(maxsize=1)
def _value_added() -> pd.DataFrame:
    return validate_value_added(_read(_package_text(VALUE_ADDED_FILE), VALUE_ADDED_FILE))


@lru_cache(maxsize=1)
def _substitutability() -> pd.DataFrame:
    return validate_substitutability(_read(_package_text(SUBSTITUTABILITY_FILE), SUBSTITUTABILITY_FILE))


def end_uses(partner: str | None = None, commodity: str | None = None) -> pd.DataFrame:
    """End-use rows: ``commodity_id, partner, sector, share`` (float, NaN where no source gives
    one), ``naics, jsic_or_sna, source, as_of`` (datetime64), ``note``. Optionally filtered."""
    df = _end_uses()
    if partner is not None:
        if partner not in END_USE_PARTNERS:
            raise KeyError(f"unknown partner {partner!r}; known: {', '.join(END_USE_PARTNERS)}")
        df = df[df["partner"] == partner]
    if commodity is not None:
        df = df[df["commodity_id"] == commodity]
    return df.copy()


def value_added(partner: str | None = None) -> pd.DataFrame:
    """Value-added rows with ``year`` (int), ``value_added`` (float, in ``unit`` x ``currency``,
    NaN where not found) and the derived ``value_added_usd`` (float, US$)."""
    df = _value_added()
    if partner is not None:
        if partner not in VALUE_ADDED_PARTNERS:
            raise KeyError(f"unknown partner {partner!r}; known: {', '.join(VALUE_ADDED_PARTNERS)}")
        df = df[df["partner"] == partner]
    return df.copy()


def substitutability(scale: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Substitutability rows: ``short_run_substitutability`` (float 0-1, 0 = no short-run
    substitute, NaN where none is published). With ``scale`` (rating -> value), rows whose
    value comes from a single rating are recomputed with that scale instead of
    :data:`RATING_SCALE`; share-weighted multi-rating rows keep their CSV value unless every
    rating maps to the same value."""
    df = _substitutability().copy()
    if scale is not None:
        single = df["rating"].ne("") & ~df["rating"].str.contains("|", regex=False)
        df.loc[single, "short_run_substitutability"] = df.loc[single, "rating"].map(lambda r: float(scale[r]))
        multi = df["rating"].str.contains("|", regex=False)
        for line in df.index[multi]:
            vals = {float(scale[p]) for p in df.at[line, "rating"].split("|")}
            if len(vals) == 1:
                df.at[line, "short_run_substitutability"] = vals.pop()
    return df


def sector_isic(sector: str) -> str:
    """ISIC Rev.4 code of the ``value_added.csv`` industry an end-use sector belongs to ('' for none)."""
    return SECTORS[sector][3]


__all__ = [
    "CURRENCIES", "END_USES_FILE", "END_USE_COLUMNS", "END_USE_PARTNERS", "END_USE_SUM_TOLERANCE",
    "NO_INDUSTRY_SECTORS", "RATING_SCALE", "SECTORS", "SUBSTITUTABILITY_BASES", "SUBSTITUTABILITY_COLUMNS",
    "SUBSTITUTABILITY_FILE", "UNITS", "VALUE_ADDED_CLASSIFICATIONS", "VALUE_ADDED_COLUMNS", "VALUE_ADDED_FILE",
    "VALUE_ADDED_PARTNERS", "end_uses", "rating_value", "sector_isic", "substitutability", "validate_end_uses",
    "validate_substitutability", "validate_value_added", "value_added",
]
