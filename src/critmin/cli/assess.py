"""CLI commands: assess (the joint supply-vulnerability watchlist)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from critmin.cli.common import cli_warehouse, fail

if TYPE_CHECKING:
    from critmin.risk.api import Assessment


def _fmt(v: object, pct: bool = False, nd: int = 2) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    if pct and isinstance(v, (int, float)):
        return f"{100 * float(v):.0f}%"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def assess_cmd(
    ctx: typer.Context,
    consumers: Annotated[
        str | None, typer.Option("--for", help="Consumer countries, ISO3 or ISO2, comma-separated "
                                 "(e.g. USA,JPN or US,JP; default: setting risk.consumers).")
    ] = None,
    year: Annotated[int, typer.Option("--year", help="Assessment year.")] = 2024,
    as_json: Annotated[bool, typer.Option("--json", help="Print the watchlist as JSON.")] = False,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Also write the watchlist table to this CSV file.")
    ] = None,
    alliance: Annotated[
        str | None, typer.Option("--alliance", help="Allied set, e.g. 'MSP,EU' (default: setting risk.alliances).")
    ] = None,
    top: Annotated[int | None, typer.Option("--top", help="Show only the first N rows of the table.")] = None,
) -> None:
    """Rank commodities by joint supply risk for the consumers (the watchlist)."""
    from critmin.data.partners import partners
    from critmin.risk import api

    try:
        cons = api.normalize_consumers(consumers if consumers is not None else partners())
    except ValueError as e:
        raise fail(f"--for: {e}") from None
    alliances = tuple(a.strip() for a in alliance.split(",") if a.strip()) if alliance else None
    with cli_warehouse(ctx) as wh:
        result = api.run(wh, cons, year, alliances=alliances)
    if csv_path is not None:
        df = result.watchlist.copy()
        for col in ("missing", "sources"):
            df[col] = df[col].map(lambda v: "; ".join(str(x) for x in v))
        df.to_csv(csv_path, index=False)
    if as_json:
        typer.echo(json.dumps(result.records, indent=2, allow_nan=False))
        return
    _table(result, top)


def register(app: typer.Typer) -> None:
    """Add ``critmin assess`` to the root app."""
    app.command("assess")(assess_cmd)


def _table(result: Assessment, top: int | None) -> None:
    from rich.console import Console
    from rich.table import Table

    cons = result.consumers
    t = Table(title=f"Joint supply-risk watchlist {result.year} ({', '.join(cons)})", show_lines=False)
    t.add_column("#", justify="right")
    t.add_column("commodity")
    t.add_column("joint", justify="right")
    for k in cons:
        t.add_column(f"SR {k}", justify="right")
        t.add_column(f"NIR {k}", justify="right")
    t.add_column("mine lead", justify="left")
    t.add_column("proc. lead", justify="left")
    t.add_column("missing", justify="right")
    rows = result.records if top is None else result.records[:top]
    for r in rows:
        cells = [_fmt(r["rank"]), r["commodity"], _fmt(r["indices"]["joint_score"], nd=3)]
        for k in cons:
            cells.append(_fmt(r["indices"]["usgs_supply_risk"].get(k), nd=3))
            nir = r["exposure"][k]["net_import_reliance"]
            if nir and nir["flag"] == "E":
                cells.append("E")
            elif nir and nir["source"].startswith("MCS"):
                txt = str(nir["text"])
                cells.append(txt + ("%" if txt[-1:].isdigit() else ""))
            else:
                cells.append(_fmt(nir["usable"] if nir else None, pct=True))
        for st in ("mine", "processing"):
            s = r["stages"].get(st)
            cells.append(f"{s['top_country_iso3']} {_fmt(s['top_share'], pct=True)}" if s and s.get("top_country_iso3") else "–")
        cells.append(str(len(r["missing"])))
        t.add_row(*cells)
    Console().print(t)
