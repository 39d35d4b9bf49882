"""Commodity names, USGS file codes and misspellings → canonical commodity ids.

The catalogue (``catalog/commodities.csv``) lists each canonical id with its display name,
whether it is on the 2022 US critical-minerals list, its reporting unit, and every alias
seen in the sources (``Gemanium`` → germanium, ``rareee`` → rare_earths, trailing spaces,
World Mining Data sheet names …). Resolution is exact on a normalised key; no fuzzy
matching, but an unknown name gets close suggestions in the error.
"""

from __future__ import annotations

import csv
import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import NewType

from critmin.data.errors import UnknownCommodity

#: A canonical commodity id (``rare_earths``), resolved from a user's text once, at the edge
#: (CLI, API), by :func:`resolve`; functions that take a ``CommodityId`` pass it down as is and
#: do not resolve it again.
CommodityId = NewType("CommodityId", str)


@dataclass(frozen=True)
class Commodity:
    commodity_id: str
    name: str
    critical_2022: bool
    trade_unit: str
    aliases: tuple[str, ...]


def norm_key(text: str) -> str:
    s = str(text).replace("\u00a0", " ").strip().lower()
    s = s.replace("_", " ")
    return re.sub(r"\s+", " ", s)


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Commodity]:
    path = resources.files("critmin.data.catalog").joinpath("commodities.csv")
    out: dict[str, Commodity] = {}
    with path.open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            aliases = tuple(a for a in (r["aliases"] or "").split("|") if a)
            out[r["commodity_id"]] = Commodity(
                r["commodity_id"], r["name"], r["critical_2022"] == "true", r["trade_unit"], aliases
            )
    return out


@lru_cache(maxsize=1)
def alias_index() -> dict[str, tuple[str, str]]:
    """normalised alias → (commodity_id, kind)."""
    idx: dict[str, tuple[str, str]] = {}
    for c in catalogue().values():
        idx[norm_key(c.commodity_id)] = (c.commodity_id, "id")
        idx[norm_key(c.name)] = (c.commodity_id, "name")
        for a in c.aliases:
            kind = "usgs_code" if re.fullmatch(r"[a-z-]{4,11}", a) and " " not in a else "name"
            if a in {"gemanium"}:
                kind = "misspelling"
            key = norm_key(a)
            if key in idx and idx[key][0] != c.commodity_id:
                raise ValueError(f"commodity alias {a!r} maps to both {idx[key][0]} and {c.commodity_id}")
            idx[key] = (c.commodity_id, kind)
    return idx


def _lookup(text: str) -> str | None:
    key = norm_key(text)
    hit = alias_index().get(key) or alias_index().get(key.replace("-", " "))
    return hit[0] if hit else None


def resolve(text: str) -> CommodityId:
    """Canonical id for a commodity name, id, USGS code or known misspelling."""
    cid = _lookup(text)
    if cid:
        return CommodityId(cid)
    key = norm_key(text)
    sugg = difflib.get_close_matches(key, list(alias_index()), n=3, cutoff=0.75)
    raise UnknownCommodity(text, sorted({alias_index()[s][0] for s in sugg}))


def resolve_or_none(text: str) -> CommodityId | None:
    """Like :func:`resolve` but None when unknown (no suggestions computed)."""
    cid = _lookup(text)
    return CommodityId(cid) if cid else None
