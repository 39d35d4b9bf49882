"""``critmin production COMMODITY [--stage S] [--year Y] [--json]``."""

from __future__ import annotations

import json
import math
from typing import Annotated

import typer

from critmin.cli.common import cli_warehouse, fail
from critmin.data.normalize.commodities import display_name


def production_cmd(
    ctx: typer.Context,
    commodity: Annotated[str, typer.Argument(help="Commodity name, id or USGS code, e.g. 'rare earths'.")],
    stage: Annotated[str | None, typer.Option(help="mine, refinery, smelter, plant, processing, or extraction.")] = None,
    year: Annotated[int | None, typer.Option(help="Year (default: all years).")] = None,
    source: Annotated[str, typer.Option(help="USGS or WMD (World Mining Data).")] = "USGS",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Production by country with shares of the world total."""
    # shares, share_basis and selected (the rows every analysis uses for the commodity's mine
    # or processing stage) from critmin.data.supply.production_with_shares
    from critmin.data.supply import production_with_shares

    with cli_warehouse(ctx) as wh:
        df = production_with_shares(wh.production(commodity, stage=stage, year=year, source=source.upper()))
        name = display_name(wh.resolve_commodity(commodity))
        if df.empty:
            what = f"no {source.upper()} production data for {name}" + (f" at stage {stage}" if stage else "")
            if year is None:
                raise fail(what)
            years = sorted({int(y) for y in wh.production(commodity, stage=stage, source=source.upper())["year"]})
            raise fail(f"{what} in {year}; years available: " + (", ".join(map(str, years)) or "none"))
    if as_json:
        recs = []
        for r in df.to_dict(orient="records"):
            recs.append({
                "country_iso3": r["country_iso3"], "country": r["country"], "aggregate": r["aggregate"],
                "stage": r["stage"], "product": r["product"], "year": int(r["year"]),
                "quantity": _num(r["quantity"]), "unit": r["unit"], "flag": r["flag"],
                "bound_lo": _num(r["bound_lo"]), "bound_hi": _num(r["bound_hi"]),
                "share": _num(r["share"]), "share_basis": r["share_basis"], "selected": bool(r["selected"]),
                "dataset_id": int(r["dataset_id"]), "source_line": int(r["source_line"]), "vintage": r["vintage"],
            })
        typer.echo(json.dumps(recs, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("country", "ISO3", "stage", "product", "year", "quantity", "unit", "share", "flag", "source",
              title=f"{df['commodity_id'].iloc[0]} production ({source})")
    for r in df.itertuples():
        q = "" if _num(r.quantity) is None else f"{r.quantity:,.0f}"
        s = "" if _num(r.share) is None else f"{100 * r.share:.1f}%"
        t.add_row(str(r.country), r.country_iso3 or f"[{r.aggregate}]", r.stage, str(r.product)[:30], str(r.year), q, r.unit,
                  s, r.flag or "", f"{r.vintage} #{r.dataset_id}:{r.source_line}")
    Console().print(t)


def _num(x: object) -> float | None:
    if x is None:
        return None
    try:
        f = float(x)  # type: ignore[arg-type]  # any DataFrame cell; what float() rejects is caught below
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def register(app: typer.Typer) -> None:
    """Add ``critmin production`` to the root app."""
    app.command("production")(production_cmd)
