"""Presentation: reshape library results into what the pages' charts draw.

No calculation lives here: shares and the rows used come from
:func:`critmin.data.supply.production_with_shares`, scores from the risk package. These functions only pick, group and order rows for display.
"""

from __future__ import annotations

from typing import Any

#: the chain stages the commodity page can show (critmin.data.value_chain), upstream first
CHAIN_STAGES = ("mine", "processing", "metal", "component")


def main_product_rows(rows: list[dict[str, Any]], stage: str) -> list[dict[str, Any]]:
    """Rows that every analysis uses for a chain stage: per year the source, stage and product
    that :func:`critmin.data.supply.select_stage` chooses (``selected_for`` of
    :func:`~critmin.data.supply.production_with_shares`), so the map, the trend and the
    sparkline show the leading producer and share of the watchlist."""
    return [r for r in rows if stage in (r.get("selected_for") or [])]


def stages_with_data(rows: list[dict[str, Any]]) -> list[str]:
    """The chain stages that have selected rows, upstream first."""
    have = {st for r in rows for st in (r.get("selected_for") or [])}
    return [st for st in CHAIN_STAGES if st in have]


def map_data(rows: list[dict[str, Any]], year: int) -> dict[str, Any]:
    """Choropleth inputs for one year: ISO3, share, quantity, unit, provenance."""
    sel = [r for r in rows if r["year"] == year and r["aggregate"] is None and r["country_iso3"]]
    return {
        "locations": [r["country_iso3"] for r in sel],
        "share": [r["share"] for r in sel],
        "text": [
            f"{r['country']}: {r['value_raw']} {r['unit'] or ''}"
            + (f" ({100 * r['share']:.1f}% of world)" if r["share"] is not None else "")
            + f"<br>dataset {r['dataset_id']}, line {r['source_line']}"
            for r in sel
        ],
    }


def trend_data(rows: list[dict[str, Any]], top_n: int = 6) -> dict[str, Any]:
    """Share of world production per year for the largest producers of the latest year."""
    years = sorted({r["year"] for r in rows})
    if not years:
        return {"years": [], "series": []}
    latest = [r for r in rows if r["year"] == years[-1] and r["aggregate"] is None and r["share"] is not None]
    top = [r["country_iso3"] for r in sorted(latest, key=lambda r: -r["share"])[:top_n] if r["country_iso3"]]
    by = {(r["country_iso3"], r["year"]): r for r in rows if r["aggregate"] is None}
    series = []
    for c in top:
        pts = [by.get((c, y)) for y in years]
        series.append({
            "country": next(p["country"] for p in pts if p),
            "iso3": c,
            "share": [p["share"] if p else None for p in pts],
            "quantity": [p["quantity"] if p else None for p in pts],
        })
    world = {r["year"]: r for r in rows if r["aggregate"] == "world"}
    return {
        "years": years,
        "series": series,
        "world": [world[y]["quantity"] if y in world else None for y in years],
        "unit": next((r["unit"] for r in rows if r["unit"]), None),
    }


def leading_share_by_year(rows: list[dict[str, Any]], years: range) -> list[float | None]:
    """Largest single-country share in each year (None where no share is known)."""
    out = []
    for y in years:
        shares = [r["share"] for r in rows if r["year"] == y and r["aggregate"] is None and r["share"] is not None]
        out.append(max(shares) if shares else None)
    return out
