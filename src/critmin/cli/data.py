"""``critmin data import|status|fetch``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from critmin.cli.common import VintageOpt, cli_warehouse, fail, user_errors
from critmin.cli.fetch import fetch_cmd

data_app = typer.Typer(help="Import, inspect and fetch the raw data.", no_args_is_help=True)


@data_app.command("import")
def import_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the import report as JSON.")] = False,
    fresh: Annotated[bool, typer.Option("--fresh", help="Import everything into an empty new version "
                                                        "(default: copy the current version and add what is new).")] = False,
) -> None:
    """Import every dataset under the data directory into a new warehouse version and switch to it
    atomically (all or nothing; idempotent). Running servers and commands keep reading the old
    version until they next look; nothing waits for the import."""
    from rich.console import Console
    from rich.progress import Progress

    from critmin.data.errors import ImportFault
    from critmin.data.paths import DataDirNotFound
    from critmin.data.versions import import_version

    with user_errors((DataDirNotFound,)):
        data_dir = ctx.obj.data_dir()
    db = ctx.obj.db_path()
    err = Console(stderr=True)
    with Progress(transient=True, console=err, disable=as_json or not err.is_terminal) as prog:
        task = prog.add_task("parsing", total=None)

        def cb(what: str, done: int, total: int) -> None:
            prog.update(task, description=what, completed=done, total=total)

        with user_errors((OSError,)):
            try:
                report, version, _timing = import_version(db, data_dir, fresh=fresh, progress=cb)
            except ImportFault as e:  # before user_errors turns it into a bare message
                raise fail(f"import failed, nothing was written: {e}") from None
    if as_json:
        typer.echo(json.dumps({"added": report.added, "skipped": report.skipped, "rows": report.rows,
                               "seconds": round(report.seconds, 3), "missing_sources": report.missing_sources,
                               "not_imported": report.not_imported}, indent=2, default=str))
    else:
        typer.echo(
            f"imported {len(report.added)} datasets ({report.rows:,} rows) in {report.seconds:.1f}s; "
            f"{report.skipped} already present"
            + (f"; now at version {version.name}" if version is not None else "; version unchanged")
        )
        if report.missing_sources:
            typer.echo("not found under the data directory: " + ", ".join(report.missing_sources))
        if report.not_imported:
            typer.echo(f"{len(report.not_imported)} value(s) skipped on purpose, with their reason "
                       "(e.g. note texts standing as country keys): see --json 'not_imported'")


@data_app.command("status")
def status_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List imported datasets with their provenance (publisher, licence, vintage, sha256, rows)."""
    from critmin.data.status import status

    with cli_warehouse(ctx) as wh:
        st = status(wh)
    if as_json:
        typer.echo(json.dumps(st, indent=2, default=str))
        return
    from rich.console import Console
    from rich.markup import escape

    from critmin.cli.tables import Col, fit_table

    con = Console()
    con.print(f"[bold]warehouse[/bold] {escape(str(st['db']))}  datasets: {st['n_datasets']}  rows: {st['n_rows']:,}")
    cols = [Col("source"), Col("datasets", numeric=True), Col("rows", numeric=True), Col("vintages", priority=1),
            Col("publisher", priority=2, max_width=28), Col("licence", priority=3, max_width=28)]
    rows = [[escape(s["source"]), f"{s['datasets']:,}", f"{s['rows']:,}", ", ".join(s["vintages"]),
             escape(s["publisher"]), escape(s["licence"])] for s in st["sources"]]
    con.print(fit_table("Sources", cols, rows, caption="every dataset with its sha256 and vintage: --json"))
    con.print(fit_table("Tables", [Col("table"), Col("rows", numeric=True)],
                        [[escape(name), f"{n:,}"] for name, n in st["tables"].items()]))


@data_app.command("crosscheck")
def crosscheck_cmd(
    ctx: typer.Context,
    year: Annotated[int | None, typer.Option(help="Only this year.")] = None,
    tolerance: Annotated[float | None, typer.Option(help="Relative difference that counts as disagreement (default 0.10).")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="List every pair, not only disagreements.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    vintage: VintageOpt = None,
) -> None:
    """Cross-check World Mining Data against USGS production; list pairs that disagree."""
    from critmin.data.crosscheck import crosscheck

    with cli_warehouse(ctx, vintage=vintage) as wh:
        df = crosscheck(wh, year=year, tolerance=tolerance)
    if df.empty:
        raise fail("no commodity/country/year is covered by both USGS and World Mining Data")
    view = df if show_all else df[df["disagrees"]]
    if as_json:
        typer.echo(view.to_json(orient="records", indent=2))
        return
    from rich.console import Console

    from critmin.cli.tables import Col, fit_table
    from critmin.data.normalize.commodities import display_name

    cols = [Col("commodity"), Col("country"), Col("year", numeric=True), Col("USGS product", priority=3, max_width=28),
            Col("USGS", numeric=True), Col("WMD (USGS basis)", numeric=True), Col("diff", numeric=True),
            Col("unit", priority=1)]
    rows = [[display_name(str(r.commodity_id)), str(r.country_iso3), str(r.year), str(r.product_usgs),
             f"{r.usgs_t:,.0f}", f"{r.wmd_converted_t:,.0f}",
             "" if r.rel_diff != r.rel_diff else f"{100 * r.rel_diff:+.0f}%", str(r.unit_usgs)]
            for r in view.itertuples()]
    Console().print(fit_table(
        f"USGS vs World Mining Data: {int(df['disagrees'].sum())} of {int(df['comparable'].sum())} comparable pairs differ",
        cols, rows))


data_app.command("fetch")(fetch_cmd)


def register(app: typer.Typer) -> None:
    """Add ``critmin data ...`` (with ``data fetch``) to the root app."""
    app.add_typer(data_app, name="data")
