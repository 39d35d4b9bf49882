"""CLI commands: ``critmin runs list | show RUN_ID``: the stored simulation runs.

``critmin simulate`` stores each run (:mod:`critmin.disruption.store`); these commands list
them with the data each was computed on: the ``--vintage`` pin (``none (every release)`` when
unpinned; ``unknown (not recorded)`` for a run stored before critmin recorded it) and the
warehouse fingerprint (:mod:`critmin.disruption.provenance`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from critmin.cli.common import cli_warehouse

runs_app = typer.Typer(help="Stored simulation runs, with the data vintage each was computed on.",
                       no_args_is_help=True)
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@runs_app.command("list")
def list_cmd(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Stored simulation runs, oldest first, with their vintage and data fingerprint."""
    from critmin.disruption.provenance import vintage_label
    from critmin.disruption.store import list_runs

    with cli_warehouse(ctx, read_only=True) as wh:
        rows = list_runs(wh)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        typer.echo("no stored runs")
        return
    from critmin.cli.tables import Col, fit_table, print_table

    cols = [Col("run"), Col("kind"), Col("name", priority=2, max_width=30), Col("created (UTC)", priority=1),
            Col("seed", numeric=True, priority=3), Col("runs", numeric=True), Col("vintage")]
    print_table(fit_table("Stored simulation runs, oldest first", cols, [
        [str(r["run_id"]), str(r["kind"]), str(r["name"]), str(r["created_at"])[:19],
         "" if r["seed"] is None else str(r["seed"]), str(r["runs"]), vintage_label(r["vintage"])]
        for r in rows], caption="vintage: the --vintage the run was computed with (`critmin runs show RUN` "
                                "for its data fingerprint)"))


@runs_app.command("show")
def show_cmd(ctx: typer.Context, run_id: Annotated[str, typer.Argument(help="A stored run id (`critmin runs list`).")],
             as_json: AsJson = False) -> None:
    """One stored run: what it is, its settings and the data it was computed on."""
    from critmin.disruption.provenance import vintage_label
    from critmin.disruption.store import read_run

    with cli_warehouse(ctx, read_only=True) as wh:
        info, arrays = read_run(wh, run_id)
    doc: dict[str, Any] = {**info, "has_sample": arrays is not None}
    if as_json:
        typer.echo(json.dumps(doc, indent=2, default=str))
        return
    for label, value in (("run", info["run_id"]), ("kind", info["kind"]), ("name", info["name"]),
                         ("created (UTC)", info["created_at"]), ("seed", info["seed"]), ("runs", info["runs"]),
                         ("horizon, months", info["horizon_months"]), ("critmin", info.get("critmin_version")),
                         ("vintage", vintage_label(info["vintage"])), ("data fingerprint", info["data_fingerprint"]),
                         ("commodities", ", ".join(info["market_meta"].get("commodities", []))),
                         ("stored sample", "yes" if arrays is not None else "no")):
        typer.echo(f"{label}: {value}")


def register(app: typer.Typer) -> None:
    """Add ``critmin runs`` to the root app."""
    app.add_typer(runs_app, name="runs")
