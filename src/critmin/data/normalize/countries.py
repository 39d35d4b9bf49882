"""Country names in any spelling → ISO 3166-1 alpha-3.

Resolution order: the curated alias table (``catalog/country_aliases.csv``, every alias with
its source), then exact ISO lookups in ``pycountry`` (alpha-2, alpha-3, numeric, name,
official name, common name). No fuzzy matching: an unknown name is an error naming the
file, line and column, and the fix is a new row in the alias table. Aggregate rows
(``World total (rounded)``, ``Other countries``, …) are recognised from
``catalog/aggregates.csv`` and never mapped to a country.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from importlib import resources

import pycountry

from critmin.data.errors import UnknownCountry


def norm_key(text: str) -> str:
    """Lower case, single spaces, no trailing dots/footnote marks."""
    s = str(text).replace("\u00a0", " ").strip().lower()
    s = re.sub(r"\s+", " ", s)
    s = re.sub(r"[\d,]*\d$", "", s).strip() if re.search(r"[a-z]\d+$", s) else s  # 'China3'
    return s.rstrip(".").strip()


def _read(name: str) -> list[dict[str, str]]:
    with resources.files("critmin.data.catalog").joinpath(name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    return {norm_key(r["alias"]): r["country_iso3"] for r in _read("country_aliases.csv")}


@lru_cache(maxsize=1)
def _aggregates() -> dict[str, str]:
    return {norm_key(r["alias"]): r["aggregate"] for r in _read("aggregates.csv")}


@lru_cache(maxsize=1)
def _iso_index() -> dict[str, str]:
    idx: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            v = getattr(c, attr, None)
            if v:
                idx[norm_key(v)] = c.alpha_3
        idx[c.alpha_3.lower()] = c.alpha_3
        idx[c.alpha_2.lower()] = c.alpha_3
    return idx


@lru_cache(maxsize=1)
def _numeric_index() -> dict[str, str]:
    return {c.numeric: c.alpha_3 for c in pycountry.countries}


def aggregate_kind(text: str) -> str | None:
    """'world', 'other' or 'group' when the text names an aggregate row, else None."""
    k = norm_key(text)
    if k in _aggregates():
        return _aggregates()[k]
    if k.startswith("world total") or k.startswith("other countries"):
        return "world" if k.startswith("world") else "other"
    return None


def to_iso3(text: str) -> str:
    """ISO3 for a country name/code in any known spelling, or :class:`UnknownCountry`."""
    k = norm_key(text)
    if k in _aliases():
        return _aliases()[k]
    if k in _iso_index():
        return _iso_index()[k]
    raise UnknownCountry(f"unknown country {text!r}: add it to critmin/data/catalog/country_aliases.csv")


def is_known_iso3(code: str) -> bool:
    """An ISO 3166 alpha-3 code, or a non-ISO code the alias table maps to (XKX, ANT, SCG)."""
    return code in _aliases().values() or code.lower() in _iso_index() and _iso_index()[code.lower()] == code


def numeric_to_iso3(code: str | int) -> str | None:
    """ISO 3166 numeric (as in BACI/Comtrade) to alpha-3; None when not a current code."""
    return _numeric_index().get(f"{int(code):03d}")


def country_name(iso3: str) -> str:
    c = pycountry.countries.get(alpha_3=iso3)
    if c is None:
        return iso3
    return getattr(c, "common_name", None) or c.name
