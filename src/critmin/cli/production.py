"""``critmin production COMMODITY [--stage S] [--year Y] [--vintage V] [--json]``.

``--vintage MCS2023`` reads the data as of that release (:data:`critmin.cli.common.VintageOpt`):
each year from the newest release up to it; each row names its release (``vintage``)."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Annotated

import typer

from critmin.cli.common import VintageOpt, cli_warehouse, fail
from critmin.data.normalize.commodities import display_name

if TYPE_CHECKING:
    import pandas as pd


def production_cmd(
    ctx: typer.Context,
    commodity: Annotated[str, typer.Argument(help="Commodity name, id or USGS code, e.g. 'rare earths'.")],
    stage: Annotated[str | None, typer.Option(help="mine, refinery, smelter, plant, processing, or extraction.")] = None,
    year: Annotated[int | None, typer.Option(help="Year (default: all years).")] = None,
    source: Annotated[str, typer.Option(help="USGS or WMD (World Mining Data).")] = "USGS",
    vintage: VintageOpt = None,
    unit: Annotated[str | None, typer.Option(help="Show quantities in this mass unit: t, kg, kt, Mt or g "
                                             "(default: as published, e.g. gallium in kg).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Production by country with shares of the world total."""
    # shares, share_basis and selected (the rows every analysis uses for the commodity's mine
    # or processing stage) from critmin.data.supply.production_with_shares
    from critmin.data.supply import production_with_shares

    with cli_warehouse(ctx, vintage=vintage) as wh:
        df = production_with_shares(wh.production(commodity, stage=stage, year=year, source=source.upper()))
        name = display_name(wh.resolve_commodity(commodity))
        if df.empty:
            what = (f"no {source.upper()} production data for {name}" + (f" at stage {stage}" if stage else "")
                    + (f" as of {wh.vintage}" if wh.vintage else ""))
            if year is None:
                raise fail(what)
            years = sorted({int(y) for y in wh.production(commodity, stage=stage, source=source.upper())["year"]})
            raise fail(f"{what} in {year}; years available: " + (", ".join(map(str, years)) or "none"))
    if unit is not None:
        df = _in_unit(df, unit, name)
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

    from critmin.cli.tables import Col, fit_table

    units = sorted({str(u) for u in df["unit"]})
    stages = sorted({str(x) for x in df["stage"]})
    title = (f"{name[:1].upper()}{name[1:]} production, {', '.join(stages)} ({source.upper()}"
             + (f", {units[0]}" if len(units) == 1 else "") + ")")
    cols = [Col("country"), Col("ISO3", priority=4), Col("stage", priority=2 if len(stages) > 1 else 5),
            Col("product", priority=3, max_width=30), Col("year", numeric=True),
            Col("quantity", numeric=True), Col("unit", priority=0 if len(units) > 1 else 5),
            Col("share", numeric=True), Col("flag", priority=1), Col("source", priority=6)]
    rows = []
    for r in df.itertuples():
        q = qty_text(_num(r.quantity))
        s = "" if _num(r.share) is None else f"{100 * r.share:.1f}%"
        rows.append([str(r.country), r.country_iso3 or f"[{r.aggregate}]", str(r.stage), str(r.product), str(r.year),
                     q, str(r.unit), s, str(r.flag or ""), f"{r.vintage} #{r.dataset_id}:{r.source_line}"])
    Console().print(fit_table(title, cols, rows))


def qty_text(q: float | None) -> str:
    """A quantity as shown: thousands separators, whole units; below 1 three significant figures."""
    if q is None:
        return ""
    return f"{q:.3g}" if q and abs(q) < 1 else f"{q:,.0f}"


def _in_unit(df: pd.DataFrame, unit: str, name: str) -> pd.DataFrame:
    """Quantities and bounds converted to ``unit`` with the one unit table (data.normalize.units)."""
    from critmin.data.normalize.units import MASS_TO_T

    if unit not in MASS_TO_T:
        raise ValueError(f"--unit: {unit!r}; expected one of {', '.join(MASS_TO_T)}")
    other = sorted({str(u) for u in df["unit"] if u not in MASS_TO_T})
    if other:
        raise ValueError(f"--unit: {name} is reported in {', '.join(other)}, not a mass")
    factor = df["unit"].map(MASS_TO_T) / MASS_TO_T[unit]
    out = df.copy()
    for col in ("quantity", "bound_lo", "bound_hi"):
        out[col] = out[col].astype(float) * factor
    out["unit"] = unit
    return out


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
