"""The reference price of a commodity (US$ per t of contained metal), from one USGS salient basis.

The one rule (used by the disruption market, hence by ``critmin markets``, ``impact``,
``stockpile`` and the incident assessments):

* A commodity with a row in the curated table ``data/reference_price_series.csv`` is priced
  from the series that row names, in their latest year with a number: the median of those
  series (one product quoted in several places or units, e.g. LME and COMEX copper cathode),
  converted to US$/t (:data:`critmin.data.normalize.units.PRICE_TO_USD_PER_T`) and divided by
  ``contained_fraction``, the mass fraction of the metal in the priced product where the
  price is per t of gross weight of a compound or alloy (ferroniobium: setting
  ``disruption.ferroniobium_nb_fraction``). A row with no series says why the commodity is
  not priced (``not used``): its series are different products with no common basis.
* The series chosen is the one on the basis of the quantities the loss model values (the
  salient and world tonnages: contained metal, or the gross weight of the mineral where USGS
  counts that), at the stage of the market (processing where there is processing output);
  each row says why in ``why`` and carries its ``source`` and ``as_of``.
* A commodity without a row is priced only if its latest year has a single series (flagged
  "basis not audited"); several series of unaudited bases are never mixed: not computable.

The audit table of ``docs/markets.md`` is generated from :func:`audit_rows`
(``scripts/reference_price_audit.py``).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from critmin import settings

SERIES_PATH = Path(__file__).resolve().parent / "data" / "reference_price_series.csv"

settings.register(
    "disruption.ferroniobium_nb_fraction",
    0.65,
    "Mass fraction of niobium in standard-grade ferroniobium, by which the USGS ferroniobium "
    "price (US$/kg gross weight) is divided to give US$ per t of contained Nb (reference price).",
    "ASSUMPTION: USGS MCS does not state the grade. Standard-grade FeNb is about 65-66 % Nb "
    "(e.g. InvestorIntel, 'Niobium - In the Grip of the Brazilians', 2014-04-02: 'Ferroniobium "
    "(66% Niobium, 34% Iron)'); the lower end of that range is used.",
)

#: the columns of the curated table, in order
COLUMNS = ("commodity_id", "series", "basis", "contained_fraction", "fraction_setting", "flag", "why",
           "source", "as_of")


@dataclass(frozen=True)
class SeriesChoice:
    """One row of ``reference_price_series.csv``: the price series of a commodity and its basis."""

    commodity_id: str
    series: tuple[str, ...]  #: salient variables of one basis; empty: the commodity is not priced
    basis: str
    contained_fraction: float | None  #: t of metal per t of the priced basis (None where not priced)
    fraction_setting: str  #: setting overriding ``contained_fraction`` ('' if none)
    flag: str  #: 'ASSUMPTION', 'choice', 'regional', 'not used' or ''
    why: str
    source: str
    as_of: str

    def fraction(self, overrides: dict[str, object] | None = None) -> float:
        """The contained fraction, from its setting where it has one."""
        if self.fraction_setting:
            return float(settings.get(self.fraction_setting, overrides))
        if self.contained_fraction is None:  # the loader allows None only on a 'not used' row
            raise ValueError(f"{SERIES_PATH.name} ({self.commodity_id}): no contained_fraction for a priced row")
        return float(self.contained_fraction)


def _row(i: int, r: dict[str, str]) -> SeriesChoice:
    where = f"{SERIES_PATH.name} line {i}"
    if tuple(r) != COLUMNS:
        raise ValueError(f"{where}: columns {list(r)}, expected {list(COLUMNS)}")
    series = tuple(s for s in r["series"].split(";") if s)
    frac = float(r["contained_fraction"]) if r["contained_fraction"] else None
    if series and not (frac is not None and 0 < frac <= 1):
        raise ValueError(f"{where} ({r['commodity_id']}), field 'contained_fraction': {r['contained_fraction']!r}, "
                         "expected a fraction in (0, 1]")
    if not series and r["flag"] != "not used":
        raise ValueError(f"{where} ({r['commodity_id']}), field 'series': empty, but flag is not 'not used'")
    if not (r["source"] and r["as_of"]):
        raise ValueError(f"{where} ({r['commodity_id']}): a curated row needs 'source' and 'as_of'")
    return SeriesChoice(r["commodity_id"], series, r["basis"], frac, r["fraction_setting"], r["flag"], r["why"],
                        r["source"], r["as_of"])


@functools.cache
def series_choices() -> dict[str, SeriesChoice]:
    """The curated table by commodity id (each row checked: an error names the line and field)."""
    with SERIES_PATH.open(encoding="utf-8", newline="") as fh:
        rows = [_row(i, r) for i, r in enumerate(csv.DictReader(fh), start=2)]
    out: dict[str, SeriesChoice] = {}
    for r in rows:
        if r.commodity_id in out:
            raise ValueError(f"{SERIES_PATH.name}: commodity {r.commodity_id!r} listed twice")
        out[r.commodity_id] = r
    return out


def calc_reference_price(usd_per_t: np.ndarray, contained_fraction: float) -> float:
    """Reference price (US$/t contained) = median of one basis' quotes (US$/t of the basis) /
    the metal's mass fraction in that basis (1 where the basis is the metal or its content)."""
    return float(np.median(np.asarray(usd_per_t, dtype=float))) / contained_fraction


def _latest(df: pd.DataFrame) -> tuple[int, pd.DataFrame]:
    y = int(df["year"].max())
    return y, df[df["year"] == y]


def reference_price(df: pd.DataFrame | None, cid: str,
                    overrides: dict[str, object] | None = None) -> tuple[float, str]:
    """(US$/t contained, note) of commodity ``cid`` from its salient price rows ``df``
    (``variable``, ``year``, ``usd_per_t``; already in a unit of ``PRICE_TO_USD_PER_T``), by the
    rule of this module; NaN and a note saying why where not computable."""
    choice = series_choices().get(cid)
    if choice is not None and not choice.series:
        return float("nan"), f"not computable: no reference price (not used: {choice.why}; reference_price_series.csv)"
    if df is None or df.empty:
        return float("nan"), "not computable: no USGS salient price in a convertible unit"
    if choice is None:
        y, d = _latest(df)
        names = sorted(set(d["variable"]))
        if len(names) > 1:
            return float("nan"), (f"not computable: {len(names)} salient price series ({', '.join(names)}) ({y}) of "
                                  "unaudited bases are never mixed; choose one in reference_price_series.csv")
        return (calc_reference_price(d["usd_per_t"].to_numpy(), 1.0),
                f"USGS salient {names[0]} ({y}), converted to US$/t; basis not audited")
    d0 = df[df["variable"].isin(choice.series)]
    if d0.empty:
        return float("nan"), (f"not computable: the chosen series {', '.join(choice.series)} has no number "
                              "(reference_price_series.csv)")
    y, d = _latest(d0)
    frac = choice.fraction(overrides)
    note = f"USGS salient {', '.join(sorted(set(d['variable'])))} ({y}): {choice.basis}"
    if frac != 1.0:
        note += f", / {frac:g} ({choice.fraction_setting or 'contained fraction'})"
    if choice.flag:
        note += f" [{choice.flag}]"
    return calc_reference_price(d["usd_per_t"].to_numpy(), frac), note + "; series chosen in reference_price_series.csv"
