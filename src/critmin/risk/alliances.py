"""Alliance membership (curated table ``risk/data/alliances.csv``)."""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

from critmin import settings
from critmin.risk import params  # noqa: F401  (registers the settings)

__all__ = ["alliance_table", "allied_iso3", "known_alliances"]

_FILE = "alliances.csv"
_COLUMNS = ("alliance", "country_iso3", "name", "since", "source", "as_of")


@lru_cache(maxsize=1)
def alliance_table() -> tuple[tuple[str, str, str, str], ...]:
    """Rows ``(alliance, country_iso3, since, source)`` of the curated table.

    Raises ``ValueError`` naming the file and line for a malformed row.
    """
    path = resources.files("critmin.risk") / "data" / _FILE
    rows: list[tuple[str, str, str, str]] = []
    with path.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
        for i, r in enumerate(reader, start=2):
            a, c = (r["alliance"] or "").strip(), (r["country_iso3"] or "").strip().upper()
            if not a or len(c) != 3 or not c.isalpha():
                raise ValueError(
                    f"{path}: line {i}: expected an alliance and an ISO3 code, got {a!r}, {c!r}"
                )
            if not (r["source"] or "").strip():
                raise ValueError(f"{path}: line {i}: column 'source' is empty")
            rows.append((a, c, (r["since"] or "").strip(), r["source"].strip()))
    return tuple(rows)


def known_alliances() -> frozenset[str]:
    return frozenset(a for a, _, _, _ in alliance_table())


def allied_iso3(
    alliances: tuple[str, ...] | list[str] | None = None, as_of: str | None = None
) -> frozenset[str]:
    """ISO3 codes of the members of the given alliances (union).

    ``alliances`` defaults to the setting ``risk.alliances`` (MSP and EU). ``as_of``
    (ISO date) keeps only members whose ``since`` date is on or before it. An unknown
    alliance name is a ``KeyError`` listing the known ones.
    """
    names = tuple(settings.get("risk.alliances") if alliances is None else alliances)
    known = known_alliances()
    unknown = [a for a in names if a not in known]
    if unknown:
        raise KeyError(
            f"unknown alliance(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return frozenset(
        c
        for a, c, since, _ in alliance_table()
        if a in names and (as_of is None or not since or since <= as_of)
    )
