"""Shared helpers of the curated-table tests (test_curated_*.py): the commodity catalogue, CSV
rows with their header, ISO3 and date checks. Not a test module (pytest does not collect it)."""

from __future__ import annotations

import csv
import datetime as dt
import re
from importlib import resources
from pathlib import Path

import pycountry

TODAY = dt.date.today()
#: the oldest as-of date a curated row may carry
OLDEST = dt.date(2009, 1, 1)


def catalogue_rows() -> dict[str, dict[str, str]]:
    """``src/critmin/data/catalog/commodities.csv`` by commodity id."""
    path = resources.files("critmin.data.catalog") / "commodities.csv"
    with path.open(encoding="utf-8") as fh:
        return {r["commodity_id"]: r for r in csv.DictReader(fh)}


def catalogue_ids() -> set[str]:
    return set(catalogue_rows())


def csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a CSV file."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def iso3_ok(code: str) -> bool:
    return bool(re.fullmatch(r"[A-Z]{3}", code)) and pycountry.countries.get(alpha_3=code) is not None


def iso_date(value: str, where: str) -> dt.date:
    """An ISO date, or an AssertionError naming ``where``."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise AssertionError(f"{where}: expected an ISO date YYYY-MM-DD, got {value!r}") from None


def as_of_ok(value: str, where: str) -> dt.date:
    """An ISO date between :data:`OLDEST` and today."""
    d = iso_date(value, where)
    assert OLDEST <= d <= TODAY, f"{where}: as_of {d} outside 2009..today"
    return d
