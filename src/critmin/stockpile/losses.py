"""Loss per unmet ton from the damage model and the plan's candidate commodities (issue 13).

* :func:`candidates` - the commodities of the critical-mineral lists of the setting
  ``stockpile.candidate_lists`` (``None`` = no restriction).
* :func:`damage_losses` - loss per unmet ton per commodity from :func:`critmin.impact.damage_table`.
  The programme keeps one loss per commodity (its second stage pools both partners), so the
  partners' losses per tonne are combined with their expected shortfalls without stock as
  weights: ``l_c = sum_k E[d_ck] l_ck / sum_k E[d_ck]`` (consumption weights where no partner
  expects a shortfall). Each commodity keeps its per-partner figures for the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmin import settings
from critmin.disruption.sample import ShortfallSample
from critmin.stockpile import config  # noqa: F401  (registers the settings)
from critmin.stockpile.problem import StockpileInputError

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

LOSS_MODELS = ("damage", "multiple")


def loss_model(value: str | None = None) -> str:
    """The loss model (``value`` or setting ``stockpile.loss_model``), checked."""
    m = str(settings.get("stockpile.loss_model") if value is None else value)
    if m not in LOSS_MODELS:
        raise StockpileInputError("loss_model", f"{m!r}; expected one of {list(LOSS_MODELS)}")
    return m


def candidate_lists() -> tuple[str, ...]:
    """List ids of the setting ``stockpile.candidate_lists`` (empty = no restriction)."""
    raw = settings.get("stockpile.candidate_lists")
    ids = tuple(str(x).strip() for x in raw if str(x).strip()) if isinstance(raw, list | tuple) else (str(raw),)
    return () if "*" in ids else ids


def candidates(lists: tuple[str, ...] | None = None) -> dict[str, tuple[str, ...]] | None:
    """Commodity -> the candidate lists it is on, or ``None`` when no list restricts the plan."""
    from critmin.data.curated import list_members

    ids = candidate_lists() if lists is None else lists
    if not ids:
        return None
    out: dict[str, list[str]] = {}
    for lid in ids:
        try:
            members = list_members(lid)
        except (KeyError, ValueError) as e:
            raise StockpileInputError("candidate_lists", f"{lid!r}: {e}") from None
        for c in members:
            out.setdefault(c, []).append(lid)
    return {c: tuple(v) for c, v in sorted(out.items())}


def damage_losses(
    wh: Warehouse, sample: ShortfallSample, damage: pd.DataFrame | None = None,
) -> tuple[dict[str, float], dict[str, str], dict[str, dict[str, Any]]]:
    """Loss multiple (loss per ton / sample price), its source and the per-partner damage of
    every commodity of ``sample`` with a positive price. ``damage`` defaults to
    ``damage_table(wh, sample.consumers)``."""
    from critmin.impact import damage_table

    df = damage_table(wh, sample.consumers) if damage is None else damage
    rows = {(r.commodity_id, r.partner): r for r in df.itertuples(index=False)}
    expected = np.einsum("s,sck->ck", sample.weights, sample.shortfall_t)
    mult: dict[str, float] = {}
    source: dict[str, str] = {}
    detail: dict[str, dict[str, Any]] = {}
    for i, c in enumerate(sample.commodities):
        price = float(sample.price_usd_per_t[i])
        if not (np.isfinite(price) and price > 0):
            continue
        per = {k: rows.get((c, k)) for k in sample.consumers}
        if any(r is None for r in per.values()):
            continue
        w = expected[i].astype(float)
        if w.sum() <= 0:
            w = np.asarray(sample.consumption_t[i], dtype=float)
        if w.sum() <= 0:
            w = np.ones(len(sample.consumers))
        losses = np.array([float(per[k].loss_per_t) for k in sample.consumers])  # type: ignore[union-attr]
        loss = float(w @ losses / w.sum())
        mult[c] = max(loss / price, 1.0)
        bases = ", ".join(f"{k} {per[k].loss_per_t:,.0f} $/t ({per[k].basis})"  # type: ignore[union-attr]
                          for k in sample.consumers)
        source[c] = f"damage model: {bases}; weighted by expected shortfall"
        detail[c] = {
            "loss_per_t": loss,
            "by_partner": {k: {"loss_per_t": float(per[k].loss_per_t), "basis": str(per[k].basis),  # type: ignore[union-attr]
                               "va_at_risk_per_t": _num(per[k].va_at_risk_per_t),  # type: ignore[union-attr]
                               "expected_shortfall_without_t": float(expected[i, j]),
                               "flags": list(per[k].flags), "sources": list(per[k].sources)}  # type: ignore[union-attr]
                           for j, k in enumerate(sample.consumers)},
        }
    return mult, source, detail


def _num(x: Any) -> float | None:
    v = float(x)
    return v if np.isfinite(v) else None


def apply_overrides(mult: Mapping[str, float], source: Mapping[str, str],
                    overrides: Mapping[str, float]) -> tuple[dict[str, float], dict[str, str]]:
    """User loss multiples over the damage model's (``'*'`` = every commodity)."""
    m, s = dict(mult), dict(source)
    for c in m:
        if c in overrides:
            m[c], s[c] = float(overrides[c]), "user override"
        elif "*" in overrides:
            m[c], s[c] = float(overrides["*"]), "user override (*)"
    return m, s
