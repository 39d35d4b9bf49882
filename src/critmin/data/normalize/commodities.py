"""Commodity names, USGS file codes and misspellings → canonical commodity ids.

The catalogue (``catalog/commodities.csv``) lists each canonical id with its display name,
whether it is on the 2022 US critical-minerals list, its reporting unit, and every alias
seen in the sources (``Gemanium`` → germanium, ``rareee`` → rare_earths, trailing spaces,
World Mining Data sheet names …). Resolution is exact on a normalised key; no fuzzy
matching, but an unknown name gets close suggestions in the error, in display names
("rare earths", never the id ``rare_earths``).

A person's words come second (``catalog/commodity_synonyms.csv``, each row with its source):
element names and symbols (``Li`` -> lithium; ``Neodymium``/``Nd``/``Dy`` -> rare earths, with
a note that critmin models rare earths as a group: :func:`resolution_note`) and common synonyms
(``REO``, ``REE``, ``rare earth``, ``wolfram``). Only :func:`resolve` (the user's edge: CLI,
API) reads them; :func:`resolve_or_none`, which the parsers use on source labels, does not, so
a source's "Nd" column is never silently read as the rare-earth group.
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


@lru_cache(maxsize=1)
def synonym_index() -> dict[str, tuple[str, str, str]]:
    """normalised synonym -> (commodity_id, kind, note); a synonym that is already a catalogue
    alias of another commodity is an error (the catalogue wins nowhere silently)."""
    path = resources.files("critmin.data.catalog").joinpath("commodity_synonyms.csv")
    out: dict[str, tuple[str, str, str]] = {}
    cat = catalogue()
    with path.open(encoding="utf-8") as f:
        for line, r in enumerate(csv.DictReader(f), start=2):
            key, cid = norm_key(r["alias"]), r["commodity_id"]
            if cid not in cat:
                raise ValueError(f"commodity_synonyms.csv, line {line}, column 'commodity_id': found {cid!r}, "
                                 "expected an id of commodities.csv")
            hit = alias_index().get(key)
            if hit and hit[0] != cid:
                raise ValueError(f"commodity_synonyms.csv, line {line}, column 'alias': {r['alias']!r} is "
                                 f"already an alias of {hit[0]}")
            out[key] = (cid, r["kind"], r["note"])
    return out


def display_name(cid: str) -> str:
    """The name a person reads: ``rare_earths`` -> 'rare earths' (the catalogue's name, lower case)."""
    c = catalogue().get(cid)
    return c.name.lower() if c else cid.replace("_", " ")


def resolution_note(text: str) -> str | None:
    """What a person should know about how ``text`` was read, or None:
    ``'Neodymium'`` -> "'Neodymium' is read as rare earths: critmin models rare earths as a group (...)"."""
    if _lookup(text):
        return None
    hit = synonym_index().get(norm_key(text))
    if hit is None or not hit[2]:
        return None
    return f"{text.strip()!r} is read as {display_name(hit[0])}: {hit[2]}"


def _lookup(text: str) -> str | None:
    key = norm_key(text)
    hit = alias_index().get(key) or alias_index().get(key.replace("-", " "))
    return hit[0] if hit else None


def resolve(text: str) -> CommodityId:
    """Canonical id for a commodity name, id, USGS code or known misspelling, then a person's
    synonym or element name (:func:`synonym_index`); unknown -> :class:`UnknownCommodity` with
    close matches as display names."""
    cid = _lookup(text)
    if cid:
        return CommodityId(cid)
    key = norm_key(text)
    syn = synonym_index().get(key) or synonym_index().get(key.replace("-", " "))
    if syn:
        return CommodityId(syn[0])
    names = {**{k: v[0] for k, v in alias_index().items()}, **{k: v[0] for k, v in synonym_index().items()}}
    sugg = difflib.get_close_matches(key, [k for k in names if len(k) > 2], n=3, cutoff=0.75)
    raise UnknownCommodity(text, sorted({display_name(names[s]) for s in sugg}))


def resolve_or_none(text: str) -> CommodityId | None:
    """Like :func:`resolve` but None when unknown (no suggestions computed)."""
    cid = _lookup(text)
    return CommodityId(cid) if cid else None
