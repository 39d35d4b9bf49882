"""Commodity and country names in each language.

* Commodities: ``en`` is the warehouse's own name (``commodity`` table, from the USGS MCS);
  ``ja`` comes from the curated table ``data/commodity_names_ja.csv`` (commodity_id, name_ja,
  source, as_of): element names as the Chemical Society of Japan writes them, mineral and
  product names as JOGMEC's material-flow reports and METI's critical-minerals policy use them.
* Countries: CLDR territory names from Babel, found through pycountry's ISO 3166 table
  (ISO3 -> ISO2). A code that is neither (an aggregate such as ``OTH``) is returned as given.

A commodity without a Japanese name is not silently shown in English: :func:`commodity_name`
raises, and :func:`missing_commodity_names` lists them (tests keep the table complete).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from critmin.i18n import BABEL_LOCALE, check_lang

__all__ = ["commodity_name", "commodity_names_table", "country_name", "missing_commodity_names"]

TABLE = "commodity_names_ja.csv"


@lru_cache(maxsize=1)
def commodity_names_table() -> tuple[dict[str, str], ...]:
    """The curated rows (each with its source and as-of date); a row without them is an error."""
    text = resources.files("critmin.i18n").joinpath("data", TABLE).read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    for i, r in enumerate(rows, start=2):
        for col in ("commodity_id", "name_ja", "source", "as_of"):
            if not (r.get(col) or "").strip():
                raise ValueError(f"{TABLE} line {i}: column {col!r} is empty")
    return tuple(rows)


@lru_cache(maxsize=1)
def _ja() -> dict[str, str]:
    return {r["commodity_id"]: r["name_ja"] for r in commodity_names_table()}


def commodity_name(cid: str, lang: str, english: str) -> str:
    """The name of commodity ``cid`` in ``lang``; ``english`` is the warehouse's name."""
    if check_lang(lang) == "en":
        return english
    name = _ja().get(cid)
    if name is None:
        raise KeyError(f"{TABLE}: no Japanese name for commodity {cid!r} ({english}); add a row with its source")
    return name


def missing_commodity_names(ids: Iterable[str]) -> list[str]:
    return sorted(set(ids) - set(_ja()))


@lru_cache(maxsize=4096)
def country_name(code: str, lang: str) -> str:
    """CLDR name of an ISO3 (or ISO2) country code in ``lang`` (``JPN`` -> ``日本``)."""
    import pycountry
    from babel import Locale

    loc = Locale.parse(BABEL_LOCALE[check_lang(lang)])
    c = str(code).strip().upper()
    hit = pycountry.countries.get(alpha_3=c) if len(c) == 3 else pycountry.countries.get(alpha_2=c) if len(c) == 2 else None
    if hit is None:
        return str(code)
    return str(loc.territories.get(hit.alpha_2) or hit.name)
