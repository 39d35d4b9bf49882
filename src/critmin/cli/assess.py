"""CLI commands: assess (the joint supply-vulnerability watchlist)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from critmin.cli.common import VintageOpt, cli_warehouse, countries, fail

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
        str | None, typer.Option("--for", help="Consumer countries, names or ISO codes, comma-separated "
                                 "(e.g. 'Japan,United States', 日本, USA,JPN or US,JP; default: setting risk.consumers).")
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
    lists: Annotated[
        str | None, typer.Option("--lists", help="Keep the commodities of these critical-mineral lists, e.g. "
                                 "US2025,EU2023,JP (ids: US2022, US2025, EU2023, EU2023_SRM, JP, JP_RM31).")
    ] = None,
    vintage: VintageOpt = None,
) -> None:
    """Rank commodities by joint supply risk for the consumers (the watchlist): scores covering
    every partner ranked, single-partner scores in their own group, commodities without a score
    last with the reason."""
    from critmin.data.partners import partners
    from critmin.risk import api

    try:
        cons = api.normalize_consumers(countries(consumers, "--for") if consumers is not None else partners())
    except ValueError as e:
        raise fail(str(e) if str(e).startswith("--for") else f"--for: {e}") from None
    alliances = tuple(a.strip() for a in alliance.split(",") if a.strip()) if alliance else None
    from critmin.risk.watchlist import scope

    try:
        scoped = scope(lists)
    except ValueError as e:
        raise fail(str(e).replace("lists:", "--lists:", 1)) from None
    with cli_warehouse(ctx, vintage=vintage) as wh:
        result = api.run(wh, cons, year, alliances=alliances, lists=scoped)
    if csv_path is not None:
        df = result.watchlist.copy()
        for col in ("missing", "sources", "flags", "lists", "covers"):
            df[col] = df[col].map(lambda v: "; ".join(str(x) for x in v))
        df.to_csv(csv_path, index=False)
    if as_json:
        typer.echo(json.dumps(result.records, indent=2, allow_nan=False))
        return
    _table(result, top)


def register(app: typer.Typer) -> None:
    """Add ``critmin assess`` to the root app."""
    app.command("assess")(assess_cmd)


def _nir_cell(nir: dict[str, object] | None) -> str:
    if not nir:
        return "–"
    if nir["flag"] == "E":
        r = nir.get("net_export_ratio")
        return "E" + (f" ({100 * float(r):.0f}%)" if isinstance(r, (int, float)) else "")  # type: ignore[arg-type]
    if str(nir["source"]).startswith("MCS"):
        txt = str(nir["text"])
        return txt + ("%" if txt[-1:].isdigit() else "")
    if nir["flag"] == "<" and isinstance(nir.get("hi"), float):
        return f"<{100 * float(nir['hi']):.0f}%"  # type: ignore[arg-type]
    return _fmt(nir["usable"], pct=True)


def _table(result: Assessment, top: int | None) -> None:
    from rich.console import Console

    from critmin.cli.tables import Col, fit_table
    from critmin.data.normalize.commodities import display_name

    cons = result.consumers
    cols = [Col("#", numeric=True), Col("commodity"), Col("joint", numeric=True), Col("bottleneck", priority=2),
            Col("grade", priority=1)]
    for k in cons:
        cols += [Col(f"SR {k}", numeric=True, priority=3), Col(f"NIR {k}", numeric=True, priority=1)]
    cols += [Col("mine lead", priority=4), Col("proc. lead", priority=4), Col("lists", priority=5, max_width=16)]
    rows: list[list[str]] = []
    group = None
    labels = {"single_partner": "[b]single-partner scores (not ranked)[/b]",
              "no_score": "[b]no score (reason in --json 'missing')[/b]"}
    sections: list[tuple[int, str]] = []
    for r in result.records if top is None else result.records[:top]:
        if r["group"] != group:
            group = r["group"]
            if group != "ranked":
                sections.append((len(rows), labels[group]))
        covers = "" if r["group"] != "single_partner" else f" ({', '.join(r['covers'])})"
        cells = [_fmt(r["rank"]), display_name(str(r["commodity"])), _fmt(r["indices"]["joint_score"], nd=3) + covers,
                 str(r["bottleneck_stage"] or "–"), str(r["grade"] or "–")]
        for k in cons:
            cells.append(_fmt(r["indices"]["usgs_supply_risk"].get(k), nd=3))
            cells.append(_nir_cell(r["exposure"][k]["net_import_reliance"]))
        for st in ("mine", "processing"):
            s = r["stages"].get(st)
            cells.append(f"{s['top_country_iso3']} {_fmt(s['top_share'], pct=True)}" if s and s.get("top_country_iso3") else "–")
        cells.append(", ".join(r["lists"]) or "–")
        rows.append(cells)
    t = fit_table(f"Joint supply-risk watchlist {result.year} ({', '.join(cons)})", cols, rows,
                  caption="joint: joint supply-risk score 0-1; SR: supply risk; NIR: net import reliance, "
                          "'E (x%)' net exporter (x% of its output net exported). grade A-D: data quality "
                          "(docs/methodology.md). single-partner scores are not ranked.")
    # section breaks: rebuild the rows with a labelled break before each group after the ranked one
    if sections:
        from rich.table import Table

        body = list(t.rows)
        cells_by_col = [list(c._cells) for c in t.columns]
        new = Table(title=t.title, caption=t.caption, title_justify="left", caption_justify="left")
        for c in t.columns:
            new.add_column(c.header, justify=c.justify, no_wrap=c.no_wrap, width=c.width, overflow=c.overflow)
        starts = dict(sections)
        for i in range(len(body)):
            if i in starts:
                new.add_section()
                new.add_row(*(["", starts[i]] + [""] * (len(t.columns) - 2)))
            new.add_row(*(col[i] for col in cells_by_col))
        t = new
    Console().print(t)
