"""What data the brief is as of, in words: the USGS MCS release(s) read (newest per commodity and
year, or as of a pinned release), the other sources' releases as the warehouse's dataset table
records them, the import time of the warehouse version, and the short data-version key.

Every release named comes from the dataset table (``Warehouse.datasets()``) and the pin
(``Warehouse.vintage``, :data:`critmin.data.warehouse.RELEASE_FAMILIES`); nothing is hard-coded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from critmin.data.warehouse import RELEASE_FAMILIES, Warehouse

Gettext = Callable[[str], str]


@dataclass(frozen=True)
class DataStatement:
    """The data lines of the cover, the Sources sheet and the About sheet (translated)."""

    usgs: str  #: the MCS release(s) read
    others: list[str]  #: one line per other publisher: its releases as imported
    imported: str  #: import time of the warehouse version (UTC), and the version's file name
    version: str  #: the short key of Warehouse.fingerprint() and the dataset count
    short: str  #: the MCS release in a few words, for the page footer

    def lines(self, labels: dict[str, str]) -> list[tuple[str, str]]:
        """(caption, text) pairs in the order the cover shows them."""
        return [(labels["data_usgs"], self.usgs), (labels["data_others"], "; ".join(self.others) or "–"),
                (labels["data_imported"], self.imported), (labels["data_version"], self.version)]


def release_label(vintage: str) -> str:
    """``MCS2023`` -> ``MCS 2023``; other vintages as recorded."""
    m = re.fullmatch(r"MCS(\d{4})", vintage)
    return f"MCS {m.group(1)}" if m else vintage


def _mcs(vintages: list[str]) -> list[str]:
    pattern = RELEASE_FAMILIES["MCS"][0]
    return sorted(v for v in vintages if re.fullmatch(pattern, v))


def usgs_text(imported: list[str], pinned: str | None, _: Gettext) -> str:
    """The MCS release(s) read, from the MCS vintages ``imported`` and the pin (None: unpinned)."""
    mcs = _mcs(imported)
    if not mcs:
        return _("no USGS MCS release imported")
    if pinned is None:
        older = ", ".join(release_label(v) for v in mcs[:-1])
        if older:
            return _("USGS {release} (newest release per commodity and year; older releases where it has no "
                     "figure: {older})").format(release=release_label(mcs[-1]), older=older)
        return _("USGS {release} (newest release per commodity and year)").format(release=release_label(mcs[-1]))
    newer = ", ".join(release_label(v) for v in mcs if v > pinned)
    if newer:
        return _("as of USGS {release} (pinned; newer releases not read: {newer})").format(
            release=release_label(pinned), newer=newer)
    return _("as of USGS {release} (pinned; newer releases not read)").format(release=release_label(pinned))


def usgs_short(imported: list[str], pinned: str | None, _: Gettext) -> str:
    """The footer's few words: ``USGS MCS 2025`` (the newest imported) or ``as of USGS MCS 2023``."""
    mcs = _mcs(imported)
    if pinned is not None:
        return _("as of USGS {release}").format(release=release_label(pinned))
    return f"USGS {release_label(mcs[-1])}" if mcs else _("no USGS MCS release imported")


def other_sources(ds: pd.DataFrame) -> list[str]:
    """``publisher: release, release`` per publisher of the datasets outside the MCS family
    (read as imported whatever the pin), in publisher order."""
    pattern = RELEASE_FAMILIES["MCS"][0]
    rest = ds[~ds["vintage"].fillna("").astype(str).str.fullmatch(pattern)]
    out = []
    for pub, g in rest.groupby(rest["publisher"].astype(str), sort=True):
        vs = sorted({str(v) for v in g["vintage"] if v is not None and str(v) not in ("", "nan", "None")})
        out.append(f"{pub}: {', '.join(vs)}" if vs else pub)
    return out


def imported_text(ds: pd.DataFrame, version_path: Any, _: Gettext) -> str:
    """The newest import time of the dataset table (UTC, to the minute) and the file read (the
    version file of a versioned warehouse, docs/deployment.md)."""
    times = pd.to_datetime(ds["imported_at"]).dropna() if "imported_at" in ds else pd.Series(dtype="datetime64[ns]")
    if times.empty:
        return _("not recorded")
    when = times.max().strftime("%Y-%m-%d %H:%M UTC")
    name = getattr(version_path, "name", None) or str(version_path)
    return _("{when} (warehouse file {name})").format(when=when, name=name)


def statement(wh: Warehouse, version: str, n: int, _: Gettext) -> DataStatement:
    """The data statement of warehouse ``wh`` (its pin, dataset table and version file)."""
    ds = wh.datasets()
    vintages = [str(v) for v in ds["vintage"].dropna().unique()]
    pinned = getattr(wh, "vintage", None)
    return DataStatement(
        usgs=usgs_text(vintages, pinned, _), short=usgs_short(vintages, pinned, _),
        others=other_sources(ds),
        imported=imported_text(ds, getattr(wh, "version_path", wh.path), _),
        version=_("{key} ({n} datasets imported)").format(key=version, n=n),
    )
