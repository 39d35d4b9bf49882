"""Substitution indices (curated table ``risk/data/substitution_index.csv``, EU CRM 2023)."""

from __future__ import annotations

import csv
import math
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["substitution_index"]

_COLUMNS = ("commodity_id", "si_sr", "si_ei", "source", "as_of", "note")


@lru_cache(maxsize=1)
def substitution_index() -> dict[str, dict[str, Any]]:
    """``commodity_id -> {si_sr, si_ei, source, as_of}``; values must be 0-1 with a source.

    A malformed row raises ``ValueError`` naming the file, line and column. Commodities not in
    the table have no SI: the EU supply risk is then reported as not computable.
    """
    path = resources.files("critmin.risk") / "data" / "substitution_index.csv"
    out: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
        for i, r in enumerate(reader, start=2):
            row: dict[str, Any] = {"source": (r["source"] or "").strip(), "as_of": r["as_of"]}
            for col in ("si_sr", "si_ei"):
                txt = (r[col] or "").strip()
                try:
                    v = float(txt)
                except ValueError:
                    raise ValueError(f"{path}: line {i}: column {col}: expected a number 0-1, got {txt!r}") from None
                if not (math.isfinite(v) and 0.0 <= v <= 1.0):
                    raise ValueError(f"{path}: line {i}: column {col}: expected 0-1, got {v!r}")
                row[col] = v
            if not row["source"]:
                raise ValueError(f"{path}: line {i}: column source: empty")
            out[(r["commodity_id"] or "").strip()] = row
    return out
