"""Curated consumption figures with their sources (``disruption/data/curated_consumption.csv``),
used where trade cannot give a consumer's consumption (docs/disruption.md). Each row states its
basis in its note (t of contained metal: a figure published in gross weight of a product, such
as Japan's ferrochrome, is converted there with a stated factor)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from critmin import settings
from critmin.data.contained import contained_factors

__all__ = ["CURATED_CONSUMPTION_CSV", "curated_consumption_t", "load_curated_consumption"]

#: curated consumption figures with their sources, used where trade cannot give a consumer's
#: consumption (``disruption/data/curated_consumption.csv``, docs/disruption.md)
CURATED_CONSUMPTION_CSV = Path(__file__).parent / "data" / "curated_consumption.csv"


def load_curated_consumption(path: str | Path = CURATED_CONSUMPTION_CSV) -> dict[tuple[str, str], dict[str, Any]]:
    """Curated consumption rows by (commodity, consumer): ``imports_t`` (what the model uses,
    with the consumer's own output at the stage), ``consumption_t`` (as published), ``year``,
    the source and a note. Every row must name its source (title, URL, as-of date).

    Optional column ``use``: ``fallback`` (blank; the default) applies the row only where trade
    cannot give the consumption (``imports_t`` + own output); ``consumption`` makes the published
    ``consumption_t`` the consumer's consumption ahead of the computed figure (for trade the
    BACI extract does not hold, e.g. Japan's refined copper and nickel), and ``imports_t`` may
    then be blank.

    Optional columns ``gross_t`` and ``contained_factor``: a figure published in the gross
    weight of a product (Japan's ferrochrome) is ``gross_t`` (t of product, annualised), and
    its contained metal is ``gross_t`` x the setting named in ``contained_factor`` (an
    ASSUMPTION setting of :mod:`critmin.data.contained`, so trade and the curated figure take
    one grade), computed when used (:func:`curated_consumption_t`); ``consumption_t`` is then
    the figure at the setting's default and must agree with it to 1 t."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    need = ["commodity_id", "consumer_iso3", "year", "imports_t", "consumption_t", "source_title", "source_url",
            "as_of", "note"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for i, r in df.iterrows():
        where = f"{path}: line {int(str(i)) + 2}"
        for c in ("source_title", "source_url", "as_of"):
            if not r[c].strip():
                raise ValueError(f"{where}: {c}: expected a source, got an empty cell")
        use = (r["use"].strip() if "use" in df.columns else "") or "fallback"
        if use not in ("fallback", "consumption"):
            raise ValueError(f"{where}: use: expected 'fallback' or 'consumption', got {use!r}")
        num: dict[str, float | None] = {}
        for c in ("imports_t", "consumption_t"):
            required = (c == "imports_t") == (use == "fallback")
            if not r[c].strip() and not required:
                num[c] = None
                continue
            try:
                num[c] = float(r[c])
            except ValueError:
                raise ValueError(f"{where}: {c}: expected a number of tonnes, got {r[c]!r}") from None
            if required and not (num[c] or 0.0) > 0:
                raise ValueError(f"{where}: {c}: expected > 0, got {num[c]}")
        gross, fac = _gross(r, where, num["consumption_t"])
        out[(r["commodity_id"], r["consumer_iso3"])] = {"gross_t": gross, "contained_factor": fac,
            "imports_t": num["imports_t"], "consumption_t": num["consumption_t"], "use": use,
            "year": int(r["year"]), "source": r["source_title"], "url": r["source_url"], "as_of": r["as_of"],
            "note": r["note"],
        }
    return out


def _gross(r: pd.Series, where: str, consumption_t: float | None) -> tuple[float | None, str | None]:
    """(gross_t, contained_factor setting) of a row, checked; (None, None) where not given."""
    g = str(r.get("gross_t", "") or "").strip()
    fac = str(r.get("contained_factor", "") or "").strip()
    if not g and not fac:
        return None, None
    if not (g and fac):
        raise ValueError(f"{where}: gross_t, contained_factor: expected both or neither, got {g!r}, {fac!r}")
    try:
        gross = float(g)
    except ValueError:
        raise ValueError(f"{where}: gross_t: expected a number of tonnes, got {g!r}") from None
    known = {f.setting: f.factor for f in contained_factors() if f.setting}
    if fac not in known:
        raise ValueError(f"{where}: contained_factor: expected a data.contained_factor.<hs> setting, got {fac!r}")
    at_default = gross * float(known[fac] or 0.0)
    if consumption_t is None or abs(at_default - consumption_t) > 1.0:
        raise ValueError(f"{where}: consumption_t: expected gross_t x {fac} default = {at_default:,.0f} t, "
                         f"got {consumption_t}")
    return gross, fac


def curated_consumption_t(row: dict[str, Any]) -> float:
    """A curated row's consumption (t contained): ``gross_t`` x its ``contained_factor`` setting
    where the row is in gross weight, else the published ``consumption_t``."""
    if row.get("gross_t") is not None:
        return float(row["gross_t"]) * float(settings.get(str(row["contained_factor"])))
    return float(row["consumption_t"])
