"""The commodity page's end-use section (issue 13): per partner, the end uses (chart and table),
the value at stake and the loss per tonne of shortfall of the damage model, each with its
sources. The numbers are :func:`critmin.impact.damage`'s; this module only arranges them."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from critmin.web.context import WebContext


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def end_use_view(ctx: WebContext, cid: str) -> dict[str, Any]:
    """``{"cid", "partners": [...], "chart": {...}, "not_computable": str | None}``; a partner
    whose damage cannot be computed (no market, no price) carries the reason instead."""
    from critmin import settings
    from critmin.data.partners import partners
    from critmin.impact import damage

    exposure = float(settings.get("impact.industry_exposure"))
    rows: list[dict[str, Any]] = []
    for k in partners():
        try:
            d = damage(ctx.wh, cid, k)
        except ValueError as exc:
            rows.append({"partner": k, "not_computable": str(exc)})
            continue
        sectors = [{"sector": s.sector, "share": _num(s.share), "va_usd": _num(s.va_usd),
                    "substitutability": _num(s.substitutability)} for s in d.sectors]
        # value at stake: the value added of the using industries exposed to the whole annual
        # consumption (sum share x VA x e) and at risk after substitution (R x C)
        at_stake = sum(s.share * s.va_usd * exposure for s in d.sectors
                       if math.isfinite(s.share) and math.isfinite(s.va_usd))
        at_risk = d.damage.va_at_risk_per_t * d.consumption_t
        rows.append({
            "partner": k, "loss_per_t": d.loss_per_t, "price": d.damage.price, "multiple": _num(d.damage.multiple),
            "basis": d.damage.basis, "flags": list(d.damage.flags), "consumption_t": d.consumption_t,
            "end_use_partner": d.end_use_partner, "proxy": bool(d.end_use_partner and d.end_use_partner != k),
            "value_exposed_usd": at_stake if d.sectors else None, "value_at_risk_usd": _num(at_risk),
            "sectors": sectors, "sources": list(d.sources),
        })
    drawn = [r for r in rows if "sectors" in r]
    series = sorted({s["sector"] for r in drawn for s in r["sectors"]})
    chart: dict[str, Any] = {
        "partners": [r["partner"] for r in drawn], "series": series,
        "share": {sec: [next((s["share"] for s in r["sectors"] if s["sector"] == sec), 0.0) for r in drawn]
                  for sec in series}}
    return {"cid": cid, "partners": rows, "chart": chart, "exposure": exposure}
