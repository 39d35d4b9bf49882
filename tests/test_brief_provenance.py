"""What the brief says its data is as of (critmin.brief.provenance), on hand-built dataset
tables: the MCS release(s) read with and without a pin, the other publishers' releases as
recorded, the import time, in English and Japanese. The end-to-end check (a brief written with
``--vintage MCS2023`` says so on its cover and Sources sheet) is in tests/test_brief.py."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from critmin.brief.provenance import imported_text, other_sources, statement, usgs_short, usgs_text
from critmin.i18n import translations

EN = translations("en").gettext
JA = translations("ja").gettext

# a dataset table as Warehouse.datasets() returns it (the columns used), releases out of order
DATASETS = pd.DataFrame([
    {"publisher": "U.S. Geological Survey", "vintage": "MCS2024", "imported_at": "2026-11-30 09:15:02"},
    {"publisher": "U.S. Geological Survey", "vintage": "MCS2022", "imported_at": "2026-11-30 09:15:01"},
    {"publisher": "U.S. Geological Survey", "vintage": "MCS2023", "imported_at": "2026-11-30 09:15:01"},
    {"publisher": "U.S. Geological Survey", "vintage": "OFR2005-1294", "imported_at": "2026-11-30 09:15:03"},
    {"publisher": "International Energy Agency", "vintage": "2025-05", "imported_at": "2026-11-30 09:16:40"},
    {"publisher": "World Bank", "vintage": "WGI2023", "imported_at": "2026-11-30 09:15:30"},
    {"publisher": "World Bank", "vintage": "CMO-2025-12", "imported_at": "2026-11-30 09:15:31"},
    {"publisher": "Someone", "vintage": None, "imported_at": None},
])
VINTAGES = ["MCS2024", "MCS2022", "MCS2023", "OFR2005-1294", "2025-05"]


def test_unpinned_names_the_newest_release_and_the_older_ones() -> None:
    assert usgs_text(VINTAGES, None, EN) == ("USGS MCS 2024 (newest release per commodity and year; older "
                                            "releases where it has no figure: MCS 2022, MCS 2023)")
    assert usgs_text(["MCS2025", "2025-05"], None, EN) == "USGS MCS 2025 (newest release per commodity and year)"
    assert usgs_short(VINTAGES, None, EN) == "USGS MCS 2024"


def test_pinned_names_the_pin_and_the_releases_not_read() -> None:
    assert usgs_text(VINTAGES, "MCS2023", EN) == ("as of USGS MCS 2023 (pinned; newer releases not read: "
                                                 "MCS 2024)")
    assert usgs_text(VINTAGES, "MCS2024", EN) == "as of USGS MCS 2024 (pinned; newer releases not read)"
    assert usgs_short(VINTAGES, "MCS2023", EN) == "as of USGS MCS 2023"
    assert usgs_text(["2025-05"], None, EN) == "no USGS MCS release imported"


def test_japanese() -> None:
    assert usgs_text(VINTAGES, "MCS2023", JA) == "USGS MCS 2023時点（固定。より新しい版は読み込まない：MCS 2024）"
    assert usgs_text(VINTAGES, None, JA).startswith("USGS MCS 2024（鉱物・年ごとに最新の版")
    assert usgs_short(VINTAGES, "MCS2023", JA) == "USGS MCS 2023時点"


def test_other_sources_by_publisher_without_the_mcs_releases() -> None:
    assert other_sources(DATASETS) == [
        "International Energy Agency: 2025-05", "Someone",
        "U.S. Geological Survey: OFR2005-1294", "World Bank: CMO-2025-12, WGI2023"]


def test_import_time_is_the_newest_and_names_the_file() -> None:
    path = Path("/srv/wh.duckdb.versions/20261130T091500-ab12cd.duckdb")
    assert imported_text(DATASETS, path, EN) == "2026-11-30 09:16 UTC (warehouse file 20261130T091500-ab12cd.duckdb)"
    empty = DATASETS.assign(imported_at=None)
    assert imported_text(empty, path, EN) == "not recorded"


def test_statement_reads_the_pin_of_the_warehouse() -> None:
    wh = SimpleNamespace(datasets=lambda: DATASETS, vintage="MCS2022", path=Path("/x/wh.duckdb"),
                         version_path=Path("/x/wh.duckdb"))
    s = statement(wh, "0123456789ab", 8, EN)
    assert s.usgs == "as of USGS MCS 2022 (pinned; newer releases not read: MCS 2023, MCS 2024)"
    assert s.version == "0123456789ab (8 datasets imported)"
    labels = {"data_usgs": "U", "data_others": "O", "data_imported": "I", "data_version": "V"}
    assert [k for k, _ in s.lines(labels)] == ["U", "O", "I", "V"]
    assert dict(s.lines(labels))["O"].startswith("International Energy Agency: 2025-05; Someone; ")
