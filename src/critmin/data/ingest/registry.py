"""The list of source modules; each contributes dataset specs found under the data dir."""

from __future__ import annotations

import importlib
from pathlib import Path

from critmin.data.ingest.base import DatasetSpec

#: module, folder(s) it expects under the data dir (for "missing source" reporting)
SOURCES: list[tuple[str, tuple[str, ...]]] = [
    ("critmin.data.ingest.usgs_world", ("usgs_mcs2025", "usgs_mcs2024", "usgs_mcs2023", "usgs_mcs2022_subset")),
    ("critmin.data.ingest.usgs_salient", ()),
    ("critmin.data.ingest.usgs_trends", ()),
    ("critmin.data.ingest.worldbank", ("worldbank_wgi", "worldbank_pinksheet")),
    ("critmin.data.ingest.comtrade", ("comtrade_cmm", "comtrade_quad", "comtrade_china_exports", "scarce_japan")),
    ("critmin.data.ingest.deposits", ("usgs_pp1802_critmin", "usgs_major_deposits", "usgs_gmrap_copper")),
    ("critmin.data.ingest.misc", ("misc_derived", "usgs_ds140")),
    ("critmin.data.ingest.geopolrisk", ()),
    ("critmin.data.ingest.iea", ("iea_cmde_2025",)),
    ("critmin.data.ingest.curated", ()),
]


def discover(data_dir: Path) -> tuple[list[DatasetSpec], list[str]]:
    specs: list[DatasetSpec] = []
    missing: list[str] = []
    for mod_name, folders in SOURCES:
        for f in folders:
            if not (data_dir / f).exists():
                missing.append(f)
        specs.extend(importlib.import_module(mod_name).specs(data_dir))
    return specs, sorted(set(missing))
