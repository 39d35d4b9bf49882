"""The brief as data: tables whose rows carry their sources, shared by the PDF and the workbook.

A :class:`Table` is what a reader sees once in the PDF and once as a workbook sheet: its
columns (header, unit, type) and rows of raw values in the header's unit (percentages as
0-100, money as US$ million), so that the PDF shows and the workbook stores the same number.
Each row lists :class:`SourceRef` (dataset id and, where the warehouse records it, the source
line); :class:`Sources` numbers them for the footnotes and the Sources sheet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["text", "int", "number", "percent", "usd_m", "t"]


@dataclass(frozen=True)
class SourceRef:
    dataset_id: int
    line: int | None = None  #: the source line of the row (None: the dataset as a whole)


@dataclass(frozen=True)
class Column:
    key: str
    header: str  #: already in the brief's language
    unit: str | None = None  #: already in the brief's language ("%", "US$ million", "t")
    kind: Kind = "text"
    digits: int = 2

    def title(self) -> str:
        return f"{self.header} ({self.unit})" if self.unit else self.header


@dataclass
class Table:
    key: str  #: sheet name (ASCII, <= 31 characters)
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    sources: list[list[SourceRef]] = field(default_factory=list)  #: per row
    note: str | None = None

    def add(self, row: dict[str, Any], sources: list[SourceRef] | None = None) -> None:
        self.rows.append(row)
        self.sources.append(list(dict.fromkeys(sources or [])))

    def where(self, key: str, value: Any) -> Table:
        """The rows with ``row[key] == value`` (a commodity page's slice of a summary table)."""
        keep = [i for i, r in enumerate(self.rows) if r.get(key) == value]
        return Table(self.key, self.title, self.columns, [self.rows[i] for i in keep],
                     [self.sources[i] for i in keep], self.note)


@dataclass(frozen=True)
class Dataset:
    dataset_id: int
    publisher: str
    title: str
    vintage: str
    path: str
    url: str
    sha256: str


class Sources:
    """Footnote numbers for datasets in order of first citation, and the lines cited of each."""

    def __init__(self, loader: Callable[[int], Dataset | None]) -> None:
        self.catalogue: dict[int, Dataset] = {}
        self._loader = loader
        self.number: dict[int, int] = {}
        self.lines: dict[int, set[int]] = {}

    def external(self, title: str, url: str, as_of: str, where: str) -> SourceRef:
        """A source outside the warehouse (a project record's own source), under a negative id."""
        for d in self.catalogue.values():
            if d.dataset_id < 0 and (d.title, d.url, d.path) == (title, url, where):
                return SourceRef(d.dataset_id)
        k = min([0, *self.catalogue]) - 1
        self.catalogue[k] = Dataset(k, "project registry record", title, as_of, where, url, "")
        return SourceRef(k)

    def cite(self, refs: list[SourceRef]) -> list[int]:
        out = []
        for r in refs:
            if r.dataset_id not in self.catalogue and r.dataset_id > 0:
                got = self._loader(r.dataset_id)
                if got is not None:
                    self.catalogue[r.dataset_id] = got
            if r.dataset_id not in self.catalogue:
                raise KeyError(f"dataset {r.dataset_id} cited but not in the warehouse's dataset table")
            n = self.number.setdefault(r.dataset_id, len(self.number) + 1)
            if r.line is not None:
                self.lines.setdefault(r.dataset_id, set()).add(r.line)
            if n not in out:
                out.append(n)
        return sorted(out)

    def ordered(self) -> list[tuple[int, Dataset, list[int]]]:
        return [(n, self.catalogue[d], sorted(self.lines.get(d, ()))) for d, n in
                sorted(self.number.items(), key=lambda kv: kv[1])]


@dataclass
class CommodityPage:
    commodity: str
    name: str
    rank: int | None
    score: float | None
    bottleneck: str | None
    text: list[str]  #: short paragraphs (already in the brief's language)
    tables: list[Table]
    supply: dict[str, list[tuple[str, float]]]  #: stage label -> [(country name, share)], 'other' last
    prices: list[tuple[dt.date, float, str]]  #: (date, price, series label) for the chart
    price_unit: str | None
    charts: dict[str, str] = field(default_factory=dict)  #: chart name -> file name (set by charts)


@dataclass
class Brief:
    lang: str
    visibility: str
    partners: tuple[str, ...]
    year: int
    generated: dt.datetime
    data_version: str
    datasets_imported: int
    params: dict[str, Any]
    summary: list[str]  #: key messages of the executive summary
    tables: dict[str, Table]  #: the executive summary's tables (sheet order)
    pages: list[CommodityPage]
    methodology: list[tuple[str, str]]  #: (heading, paragraph)
    notes: list[str]  #: what could not be computed, with the reason
    sources: Sources
    labels: dict[str, str]  #: translated captions used by the typesetter
    timings: dict[str, float] = field(default_factory=dict)
    #: what the data is as of, (caption, text) in the cover's order (:mod:`critmin.brief.provenance`)
    data_lines: list[tuple[str, str]] = field(default_factory=list)
    data_release: str = ""  #: the MCS release in a few words (the page footer)

    def all_tables(self) -> list[Table]:
        """Every table of the PDF once: the summary tables, then the commodity tables merged
        into one table per kind (the commodity column tells the rows apart)."""
        out = list(self.tables.values())
        merged: dict[str, Table] = {}
        for p in self.pages:
            for t in p.tables:
                m = merged.get(t.key)
                if m is None:
                    merged[t.key] = Table(t.key, t.title, t.columns, list(t.rows), list(t.sources), t.note)
                else:
                    m.rows.extend(t.rows)
                    m.sources.extend(t.sources)
        return out + list(merged.values())
