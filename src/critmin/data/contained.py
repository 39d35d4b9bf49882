"""Trade in contained metal: tonnes of the commodity contained in a tonne of gross weight traded
under an HS code (``catalog/hs_contained.csv``).

Each row: ``hs_code, commodity_id, factor`` (t contained per t gross), ``basis``,
``contained_as`` (what the factor measures: an element symbol, 'REO' for rare earths, or the
product itself where the commodity is measured in gross weight), ``formula``, ``source``,
``as_of``, ``note``. Bases:

* ``metal``: the heading is the element (unwrought metal, powder, the element): 1;
* ``stoichiometric``: exact chemistry of ``formula`` (CIAAW atomic weights), e.g. Li2CO3 18.79 %
  Li; where a heading holds several compounds the note says which form is taken;
* ``grade``: a typical grade with a public source (USGS);
* ``product``: the commodity is measured in the gross weight of this product (natural graphite,
  bauxite, industrial minerals): 1;
* ``assumption``: no public source for the traded average (ore and concentrate grades, mattes,
  ferroalloys): the factor is the setting ``data.contained_factor.<hs_code>`` (default: the CSV
  value; the note gives the range and why);
* ``none``: no defensible factor (precious-metal ores, alumina for bauxite): contained tonnes
  are NULL, flagged.

One commodity has one ``contained_as``, so contained tonnes of its codes add up. Every code of
``catalog/hs_map.csv`` has a row (tested). Pure functions; the CSV ships with the package.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd

from critmin import settings

__all__ = ["BASES", "ContainedFactor", "contained_factors", "factor_table", "factors_signature"]

FILE = "hs_contained.csv"
COLUMNS = ["hs_code", "commodity_id", "factor", "basis", "contained_as", "formula", "source", "as_of", "note"]
BASES = ("metal", "stoichiometric", "grade", "product", "assumption", "none")
#: a factor above 1 only for an oxide basis of a metal (REO of rare-earth metal: 1.17)
MAX_FACTOR = 1.5
_DATE = re.compile(r"\d{4}(-\d{2}-\d{2})?")


@dataclass(frozen=True)
class ContainedFactor:
    hs_code: str
    commodity_id: str
    factor: float | None  #: the CSV value (None for basis 'none')
    basis: str
    contained_as: str
    formula: str
    source: str
    as_of: str
    note: str
    line: int

    @property
    def setting(self) -> str | None:
        """The setting that holds an assumed factor (basis 'assumption'), else None."""
        return f"data.contained_factor.{self.hs_code}" if self.basis == "assumption" else None


def _fault(line: int, column: str, found: object, expected: str) -> ValueError:
    return ValueError(f"catalog/{FILE}, line {line}, column {column!r}: found {found!r}, expected {expected}")


def _parse(rows: list[dict[str, str]]) -> tuple[ContainedFactor, ...]:
    from critmin.data.normalize import commodities

    ids = set(commodities.catalogue())
    out: list[ContainedFactor] = []
    seen: set[str] = set()
    basis_of: dict[str, tuple[str, int]] = {}
    for line, r in enumerate(rows, start=2):
        if list(r) != COLUMNS:
            raise ValueError(f"catalog/{FILE}, line 1: found columns {list(r)}, expected {COLUMNS}")
        v = {k: (x or "").strip() for k, x in r.items()}
        if not re.fullmatch(r"\d{4}(\d{2}){0,2}", v["hs_code"]) or v["hs_code"] in seen:
            raise _fault(line, "hs_code", v["hs_code"], "a 4-, 6- or 8-digit HS code, each once")
        seen.add(v["hs_code"])
        if v["commodity_id"] not in ids:
            raise _fault(line, "commodity_id", v["commodity_id"], "a catalogue commodity id")
        if v["basis"] not in BASES:
            raise _fault(line, "basis", v["basis"], f"one of {BASES}")
        factor: float | None = None
        if v["basis"] == "none":
            if v["factor"]:
                raise _fault(line, "factor", v["factor"], "blank for basis 'none'")
        else:
            try:
                factor = float(v["factor"])
            except ValueError:
                raise _fault(line, "factor", v["factor"], "a number (t contained per t gross)") from None
            if not 0 < factor <= MAX_FACTOR:
                raise _fault(line, "factor", v["factor"], f"a factor in (0, {MAX_FACTOR}]")
            if v["basis"] in ("metal", "product") and factor != 1.0:
                raise _fault(line, "factor", v["factor"], f"1 for basis {v['basis']!r}")
        if v["basis"] == "stoichiometric" and not v["formula"]:
            raise _fault(line, "formula", "", "a formula for a stoichiometric factor")
        for col in ("contained_as", "source"):
            if not v[col]:
                raise _fault(line, col, "", "a value")
        if not _DATE.fullmatch(v["as_of"]):
            raise _fault(line, "as_of", v["as_of"], "a year or an ISO date")
        prev = basis_of.setdefault(v["commodity_id"], (v["contained_as"], line))
        if prev[0] != v["contained_as"]:
            raise _fault(line, "contained_as", v["contained_as"],
                         f"{prev[0]!r} as on line {prev[1]} (one contained basis per commodity)")
        out.append(ContainedFactor(v["hs_code"], v["commodity_id"], factor, v["basis"], v["contained_as"],
                                   v["formula"], v["source"], v["as_of"], v["note"], line))
    return tuple(out)


@lru_cache(maxsize=1)
def contained_factors() -> tuple[ContainedFactor, ...]:
    """Every row of ``catalog/hs_contained.csv``, validated (a fault names line and column)."""
    with resources.files("critmin.data.catalog").joinpath(FILE).open(encoding="utf-8") as f:
        rows = tuple(_parse(list(csv.DictReader(f))))
    for r in rows:
        if r.setting is not None:
            settings.register(
                r.setting, r.factor,
                f"t {r.contained_as} contained per t gross weight traded under HS {r.hs_code} ({r.commodity_id}); "
                "an assumed average (no public source): " + r.note,
                "Project ASSUMPTION (catalog/hs_contained.csv, line " + str(r.line) + ")",
            )
    return rows


def factor_table() -> pd.DataFrame:
    """The effective factors: hs_code, commodity_id, factor (assumptions from their settings;
    NaN for basis 'none'), basis, contained_as, setting, line."""
    rows = []
    for r in contained_factors():
        f = r.factor if r.setting is None else float(settings.get(r.setting))
        if f is not None and not 0 < f <= MAX_FACTOR:
            raise ValueError(f"setting {r.setting}: found {f!r}, expected a factor in (0, {MAX_FACTOR}]")
        rows.append({"hs_code": r.hs_code, "commodity_id": r.commodity_id, "factor": f, "basis": r.basis,
                     "contained_as": r.contained_as, "setting": r.setting, "line": r.line})
    return pd.DataFrame(rows, columns=["hs_code", "commodity_id", "factor", "basis", "contained_as", "setting", "line"])


def factors_signature() -> str:
    """A short hash of the effective factors (part of ``Warehouse.fingerprint()``: a changed
    factor setting changes every cache key). The catalogue is read once per process; only the
    assumption settings are read on each call, and the hash is memoised on their values."""
    rows = contained_factors()
    values = tuple(r.factor if r.setting is None else settings.get(r.setting) for r in rows)
    return _signature(tuple(r.hs_code for r in rows), values)


@lru_cache(maxsize=16)
def _signature(codes: tuple[str, ...], values: tuple[object, ...]) -> str:
    t = factor_table()
    text = "|".join(f"{h}:{f!r}" for h, f in zip(t["hs_code"], t["factor"], strict=True))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# the assumption settings exist as soon as the module is imported (critmin settings lists them)
contained_factors()
