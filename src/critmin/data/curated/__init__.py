"""Hand-curated reference tables that no data release provides (see ``docs/curated_data.md``).

* :func:`list_memberships` - which commodities are on which official critical-minerals list
  (``list_memberships.csv``: US 2022 and 2025, EU CRMA 2023 critical and strategic, Japan's
  rare metals).
* :func:`stage_shares` - processing-stage production shares by country where the USGS MCS
  data give none (``stage_shares.csv``: refined germanium and gallium, rare-earth separation
  and magnets, battery-grade manganese sulphate, ...).

Both CSVs ship inside the package. Every row names its public source and the date of the
information (``as_of``). The loaders validate the files with pandera and raise
:class:`CuratedTableError`, which lists every fault with its file, CSV line and column. The
returned frames are indexed by the CSV line of each row (``csv_line``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from io import StringIO

import pandas as pd
import pandera.pandas as pa
import pycountry
from pandera.errors import SchemaErrors

from critmin.data.errors import ImportFault

LIST_FILE = "list_memberships.csv"
SHARES_FILE = "stage_shares.csv"

LIST_COLUMNS = ["list_id", "commodity_id", "name_on_list", "source", "as_of", "note"]
SHARE_COLUMNS = [
    "commodity_id", "stage", "product", "country_iso3", "year", "share", "quantity", "unit",
    "source", "as_of", "note",
]

#: list id -> number of entries on the list as published (distinct ``name_on_list``)
PUBLISHED_COUNTS: dict[str, int] = {
    "US2022": 50,  # USGS 2022 final list, 87 FR 10381
    "US2025": 60,  # USGS 2025 final list, Federal Register 2025-11-07
    "EU2023": 34,  # Regulation (EU) 2024/1252, Annex II (critical raw materials)
    "EU2023_SRM": 17,  # Regulation (EU) 2024/1252, Annex I (strategic raw materials)
    "JP": 34,  # Japan's rare metals: 34 types eligible for the national stockpile
    "JP_RM31": 31,  # Japan's older rare-metal definition: 31 types (47 elements)
}
LIST_IDS: tuple[str, ...] = tuple(PUBLISHED_COUNTS)

#: processing stages of ``stage_shares.csv``
STAGES: dict[str, str] = {
    "refinery": "refined metal recovered from concentrates or intermediates (e.g. by-product gallium, germanium)",
    "separation": "separation of mixed rare-earth concentrates into individual oxides",
    "metal": "reduction or smelting to metal (rare-earth metals, magnesium, silicon metal, titanium sponge)",
    "magnet": "permanent-magnet manufacture (NdFeB)",
    "chemical": "chemical intermediates and battery-grade materials (APT, battery-grade sulphates, anode graphite)",
}
#: non-country codes allowed in ``country_iso3``, always exactly as the source groups them
AGGREGATE_CODES: dict[str, str] = {
    "ROW": "rest of the world, as a residual given by the source",
    "EUROPE": "Europe as one region, as given by the source",
}
#: shares of one (commodity, stage, product, year, source) may exceed 1 by this much (rounding)
SHARE_SUM_TOLERANCE = 0.005

_URL = re.compile(r"https?://\S+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_FIRST_AS_OF = dt.date(2009, 1, 1)


class CuratedTableError(ValueError):
    """A curated CSV breaks its contract; ``faults`` has one :class:`ImportFault` per problem."""

    def __init__(self, faults: list[ImportFault]) -> None:
        self.faults = faults
        lines = "\n  ".join(str(f) for f in faults)
        super().__init__(f"{len(faults)} problem(s) in curated data:\n  {lines}")


# --- element checks -------------------------------------------------------------------------
def _catalogue_ids() -> frozenset[str]:
    from critmin.data.normalize.commodities import catalogue

    return frozenset(catalogue())


def _is_date(value: str) -> bool:
    if not _DATE.fullmatch(value):
        return False
    try:
        d = dt.date.fromisoformat(value)
    except ValueError:
        return False
    return _FIRST_AS_OF <= d <= dt.date.today()


def _is_country(value: str) -> bool:
    if value in AGGREGATE_CODES:
        return True
    return bool(re.fullmatch(r"[A-Z]{3}", value)) and pycountry.countries.get(alpha_3=value) is not None


def _is_year(value: str) -> bool:
    return bool(re.fullmatch(r"\d{4}", value)) and 1990 <= int(value) <= dt.date.today().year


def _is_share(value: str) -> bool:
    try:
        v = float(value)
    except ValueError:
        return False
    return 0.0 <= v <= 1.0


def _is_blank_or_positive(value: str) -> bool:
    if value == "":
        return True
    try:
        return float(value) > 0
    except ValueError:
        return False


def _elem(fn: Callable[[str], bool], error: str) -> pa.Check:
    return pa.Check(fn, element_wise=True, error=error)


def _text(*checks: pa.Check, blank_ok: bool = False) -> pa.Column:
    base = [] if blank_ok else [_elem(lambda s: s.strip() != "", "must not be blank")]
    return pa.Column(str, checks=[*base, *checks], nullable=False)


def _list_schema() -> pa.DataFrameSchema:
    ids = _catalogue_ids()
    return pa.DataFrameSchema(
        {
            "list_id": _text(_elem(lambda s: s in PUBLISHED_COUNTS, f"a list id in {sorted(PUBLISHED_COUNTS)}")),
            "commodity_id": _text(_elem(lambda s: s in ids, "a commodity id of catalog/commodities.csv")),
            "name_on_list": _text(),
            "source": _text(_elem(lambda s: bool(_URL.search(s)), "a source that contains a URL")),
            "as_of": _text(_elem(_is_date, "an ISO date YYYY-MM-DD between 2009-01-01 and today")),
            "note": _text(blank_ok=True),
        },
        strict=True,
        ordered=True,
    )


def _share_schema() -> pa.DataFrameSchema:
    ids = _catalogue_ids()
    return pa.DataFrameSchema(
        {
            "commodity_id": _text(_elem(lambda s: s in ids, "a commodity id of catalog/commodities.csv")),
            "stage": _text(_elem(lambda s: s in STAGES, f"a stage in {sorted(STAGES)}")),
            "product": _text(),
            "country_iso3": _text(_elem(_is_country, f"an ISO 3166-1 alpha-3 code or one of {sorted(AGGREGATE_CODES)}")),
            "year": _text(_elem(_is_year, "a year 1990..this year")),
            "share": _text(_elem(_is_share, "a fraction 0..1")),
            "quantity": _text(_elem(_is_blank_or_positive, "blank or a positive number"), blank_ok=True),
            "unit": _text(blank_ok=True),
            "source": _text(_elem(lambda s: bool(_URL.search(s)), "a source that contains a URL")),
            "as_of": _text(_elem(_is_date, "an ISO date YYYY-MM-DD between 2009-01-01 and today")),
            "note": _text(blank_ok=True),
        },
        strict=True,
        ordered=True,
    )


# --- validation -----------------------------------------------------------------------------
def _line(index: object) -> int | None:
    return int(index) if isinstance(index, int) else None


def _schema_faults(schema: pa.DataFrameSchema, df: pd.DataFrame, file: str) -> list[ImportFault]:
    try:
        schema.validate(df, lazy=True)
    except SchemaErrors as e:
        faults = []
        for case in e.failure_cases.itertuples(index=False):
            column = case.column if isinstance(case.column, str) else None
            check = str(case.check)
            faults.append(ImportFault(file, _line(case.index), column, case.failure_case, check))
        return faults
    return []


def _read(text: str, file: str) -> pd.DataFrame:
    df = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
    # index = physical CSV line (header is line 1), so every fault names its line
    df.index = pd.RangeIndex(2, len(df) + 2)
    return df


def validate_list_memberships(df: pd.DataFrame, file: str = LIST_FILE) -> pd.DataFrame:
    """Check a raw (all-string) list table and return it typed; raise :class:`CuratedTableError`."""
    faults = _schema_faults(_list_schema(), df, file)
    if not faults:
        dup = df.duplicated(["list_id", "commodity_id", "name_on_list"], keep="first")
        for line in df.index[dup]:
            faults.append(ImportFault(file, int(line), "commodity_id", df.at[line, "commodity_id"],
                                      "one row per (list_id, commodity_id, name_on_list)"))
        sources = df.groupby("list_id")["source"].nunique()
        for list_id, n in sources.items():
            if n != 1:
                faults.append(ImportFault(file, None, "source", f"{n} sources for {list_id}",
                                          "one source per list (the list as published)"))
    if faults:
        raise CuratedTableError(faults)
    out = df.copy()
    out["as_of"] = pd.to_datetime(out["as_of"], format="%Y-%m-%d")
    out.index.name = "csv_line"
    return out


def validate_stage_shares(df: pd.DataFrame, file: str = SHARES_FILE) -> pd.DataFrame:
    """Check a raw (all-string) share table and return it typed; raise :class:`CuratedTableError`."""
    faults = _schema_faults(_share_schema(), df, file)
    if not faults:
        for line, r in df.iterrows():
            ln = int(str(line))
            if (r["quantity"] == "") != (r["unit"] == ""):
                faults.append(ImportFault(file, ln, "unit", r["unit"], "a unit exactly when a quantity is given"))
            if int(r["year"]) > int(r["as_of"][:4]):
                faults.append(ImportFault(file, ln, "year", r["year"], f"a year not after as_of {r['as_of']}"))
        key = ["commodity_id", "stage", "product", "year", "source", "country_iso3"]
        for line in df.index[df.duplicated(key, keep="first")]:
            faults.append(ImportFault(file, int(line), "country_iso3", df.at[line, "country_iso3"],
                                      "one row per (commodity, stage, product, year, source, country)"))
        shares = df.assign(share=df["share"].astype(float))
        group = ["commodity_id", "stage", "product", "year", "source"]
        for keys, g in shares.groupby(group, sort=False):
            total = float(g["share"].sum())
            if total > 1.0 + SHARE_SUM_TOLERANCE:
                faults.append(ImportFault(file, int(g.index[0]), "share", round(total, 4),
                                          f"shares of {keys[:4]} summing to at most 1 (+{SHARE_SUM_TOLERANCE})"))
    if faults:
        raise CuratedTableError(faults)
    out = df.copy()
    out["year"] = out["year"].astype("int64")
    out["share"] = out["share"].astype("float64")
    out["quantity"] = pd.to_numeric(out["quantity"].replace("", None), errors="raise").astype("float64")
    out["as_of"] = pd.to_datetime(out["as_of"], format="%Y-%m-%d")
    out.index.name = "csv_line"
    return out


# --- loaders --------------------------------------------------------------------------------
def _package_text(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _list_memberships() -> pd.DataFrame:
    return validate_list_memberships(_read(_package_text(LIST_FILE), LIST_FILE))


@lru_cache(maxsize=1)
def _stage_shares() -> pd.DataFrame:
    return validate_stage_shares(_read(_package_text(SHARES_FILE), SHARES_FILE))


def list_memberships() -> pd.DataFrame:
    """All list rows: ``list_id, commodity_id, name_on_list, source, as_of`` (datetime64), ``note``.

    One row per (list, catalogue commodity, entry as published): an entry that maps to several
    catalogue ids (EU 'bauxite/alumina/aluminium') has several rows, and several entries may map
    to one id (the US lists name 14 rare-earth elements, all ``rare_earths``).
    """
    return _list_memberships().copy()


def stage_shares() -> pd.DataFrame:
    """All share rows: ``commodity_id, stage, product, country_iso3, year`` (int), ``share``
    (float, 0-1), ``quantity`` (float, NaN if not given), ``unit, source, as_of`` (datetime64),
    ``note``. Shares are comparable only within one (commodity, stage, product, year, source)."""
    return _stage_shares().copy()


def list_members(list_id: str) -> frozenset[str]:
    """Catalogue commodity ids on one list (e.g. ``list_members('US2025')``)."""
    if list_id not in PUBLISHED_COUNTS:
        raise KeyError(f"unknown list {list_id!r}; known: {', '.join(LIST_IDS)}")
    df = _list_memberships()
    return frozenset(df.loc[df["list_id"] == list_id, "commodity_id"])


def lists_for(commodity_id: str) -> list[str]:
    """The list ids a catalogue commodity is on, in :data:`LIST_IDS` order."""
    df = _list_memberships()
    on = set(df.loc[df["commodity_id"] == commodity_id, "list_id"])
    return [lid for lid in LIST_IDS if lid in on]


__all__ = [
    "AGGREGATE_CODES", "LIST_COLUMNS", "LIST_IDS", "PUBLISHED_COUNTS", "SHARE_COLUMNS",
    "SHARE_SUM_TOLERANCE", "STAGES", "CuratedTableError", "list_members", "list_memberships",
    "lists_for", "stage_shares", "validate_list_memberships", "validate_stage_shares",
]
