"""The list of source modules; each contributes dataset specs found under the data dir."""

from __future__ import annotations

import importlib
from pathlib import Path

from critmin.data.ingest.base import DatasetSpec

#: module, folder(s) it expects under the data dir (for "missing source" reporting)
SOURCES: list[tuple[str, tuple[str, ...]]] = [
    ("critmin.data.ingest.usgs_world", ("usgs_mcs2025", "usgs_mcs2024", "usgs_mcs2023", "usgs_mcs2022_subset")),
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
