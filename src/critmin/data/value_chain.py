"""The value chain as data: the chain stages and which production rows stand for each.

Chain stages, in order (:data:`CHAIN_STAGES`)::

    mine -> processing -> metal -> component

* ``mine``: extraction (USGS, World Mining Data and IEA stage ``mine``);
* ``processing``: refining, separation, chemicals (USGS refinery/smelter/plant/processing, IEA
  refinery, WMD processing sheets, curated refinery/separation/chemical shares);
* ``metal``: a reduction or smelting step to metal or alloy that is its own stage in the chain,
  where a source gives it as a separate commodity or product (magnesium metal, silicon metal,
  titanium sponge, primary aluminium, pig iron and raw steel). Where refining yields the element
  itself (gallium, germanium, indium, selenium, tellurium, cadmium, bismuth) the stage is
  ``processing``;
* ``component``: manufactured components (NdFeB magnets, graphite anode material).

The catalogue ``catalog/value_chain.csv`` maps (commodity, data source, source stage, product)
to chain stages. Rows with ``commodity_id`` ``*`` are the generic rules; a commodity's own rows
for a (data source, source stage) replace the generic rules for that pair. ``product_pattern``
(a case-insensitive regular expression matched against the whole product, empty = any) narrows
a rule to some products; ``data_source`` ``*`` matches every source. A row may stand for two
chain stages when the catalogue says so (magnesium smelter production is both ``processing``
and ``metal``: one step in the chain). Rows no rule maps stand for no chain stage.

Pure functions on the catalogue and on production frames; no I/O besides the packaged CSV.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

__all__ = [
    "CHAIN_STAGES",
    "ChainRule",
    "chain_mask",
    "chain_rules",
    "stages_of_row",
    "value_chain",
]

#: the chain stages, upstream first
CHAIN_STAGES: tuple[str, ...] = ("mine", "processing", "metal", "component")
VALUE_CHAIN_FILE = "value_chain.csv"
COLUMNS = ["commodity_id", "stage", "data_source", "source_stage", "product_pattern", "description", "reference"]
WILDCARD = "*"


@dataclass(frozen=True)
class ChainRule:
    """One row of ``catalog/value_chain.csv`` (``line`` is its CSV line)."""

    commodity_id: str
    stage: str
    data_source: str
    source_stage: str
    product_pattern: str
    description: str
    reference: str
    line: int

    def matches_product(self, product: str) -> bool:
        return not self.product_pattern or re.fullmatch(self.product_pattern, product, re.IGNORECASE) is not None


def _check(rows: list[dict[str, str]], file: str) -> list[ChainRule]:
    from critmin.data.normalize import commodities

    ids = set(commodities.catalogue())
    out: list[ChainRule] = []
    seen: set[tuple[str, str, str, str, str]] = set()
    for line, r in enumerate(rows, start=2):
        if list(r) != COLUMNS:
            raise ValueError(f"{file}, line 1: found columns {list(r)}, expected {COLUMNS}")
        vals = {k: (v or "").strip() for k, v in r.items()}
        if vals["commodity_id"] != WILDCARD and vals["commodity_id"] not in ids:
            raise ValueError(f"{file}, line {line}, column 'commodity_id': found {vals['commodity_id']!r}, "
                             "expected '*' or a catalogue commodity id")
        if vals["stage"] not in CHAIN_STAGES:
            raise ValueError(f"{file}, line {line}, column 'stage': found {vals['stage']!r}, expected one of {CHAIN_STAGES}")
        for col in ("data_source", "source_stage", "description", "reference"):
            if not vals[col]:
                raise ValueError(f"{file}, line {line}, column {col!r}: found '', expected a value")
        try:
            re.compile(vals["product_pattern"])
        except re.error as e:
            raise ValueError(f"{file}, line {line}, column 'product_pattern': found {vals['product_pattern']!r}, "
                             f"expected a regular expression ({e})") from None
        key = (vals["commodity_id"], vals["stage"], vals["data_source"], vals["source_stage"], vals["product_pattern"])
        if key in seen:
            raise ValueError(f"{file}, line {line}: found a repeated rule {key}, expected each rule once")
        seen.add(key)
        out.append(ChainRule(**vals, line=line))  # type: ignore[arg-type]
    return out


@lru_cache(maxsize=1)
def chain_rules() -> tuple[ChainRule, ...]:
    """All rules of ``catalog/value_chain.csv``, validated (a fault names the line and column)."""
    with resources.files("critmin.data.catalog").joinpath(VALUE_CHAIN_FILE).open(encoding="utf-8") as f:
        return tuple(_check(list(csv.DictReader(f)), f"catalog/{VALUE_CHAIN_FILE}"))


def _rules_for(commodity: str, source: str, source_stage: str) -> tuple[ChainRule, ...]:
    own = tuple(r for r in chain_rules() if r.commodity_id == commodity and r.source_stage == source_stage
                and r.data_source in (source, WILDCARD))
    if own:
        return own
    return tuple(r for r in chain_rules() if r.commodity_id == WILDCARD and r.source_stage == source_stage
                 and r.data_source in (source, WILDCARD))


@lru_cache(maxsize=4096)
def stages_of_row(commodity: str, source: str, source_stage: str, product: str) -> frozenset[str]:
    """The chain stages a production row stands for (empty: none)."""
    return frozenset(r.stage for r in _rules_for(commodity, source, source_stage) if r.matches_product(product))


def chain_mask(production: pd.DataFrame, stage: str) -> np.ndarray:
    """Boolean mask of the rows of ``production`` (``Warehouse.production`` columns) that stand
    for chain ``stage``."""
    if stage not in CHAIN_STAGES:
        raise ValueError(f"stage {stage!r}: expected one of {CHAIN_STAGES}")
    if production.empty:
        return np.zeros(0, dtype=bool)
    prod = production["product"] if "product" in production else pd.Series("", index=production.index)
    cols = [production["commodity_id"].astype(str), production["source"].astype(str),
            production["stage"].astype(str), prod.fillna("").astype(str)]
    key = cols[0] + "\x1f" + cols[1] + "\x1f" + cols[2] + "\x1f" + cols[3]
    codes, uniques = pd.factorize(key)
    hit = np.array([stage in stages_of_row(*u.split("\x1f")) for u in uniques], dtype=bool)
    return hit[codes]


def value_chain(commodity: str | None = None) -> pd.DataFrame:
    """The catalogue rules (columns of ``value_chain.csv`` plus ``line``) that apply to
    ``commodity`` (its own rules and the generic rules it does not replace), in chain order;
    all rules when ``commodity`` is None. For listing the stages of a commodity with their
    descriptions; which stages have data in a year is :func:`critmin.data.supply.chain_supply`."""
    rules = list(chain_rules())
    if commodity is not None:
        own = [r for r in rules if r.commodity_id == commodity]
        generic = [g for g in rules if g.commodity_id == WILDCARD and not any(
            o.source_stage == g.source_stage and o.data_source in (g.data_source, WILDCARD) for o in own)]
        rules = own + generic
    order = {s: i for i, s in enumerate(CHAIN_STAGES)}
    rules.sort(key=lambda r: (order[r.stage], r.commodity_id == WILDCARD, r.line))
    return pd.DataFrame([{**{c: getattr(r, c) for c in COLUMNS}, "line": r.line} for r in rules],
                        columns=[*COLUMNS, "line"])
