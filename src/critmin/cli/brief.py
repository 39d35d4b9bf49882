"""CLI command ``critmin brief``: the ministerial briefing pack (PDF + Excel) from the live
analysis (:func:`critmin.brief.service.generate`); each brief is audited with its parameters
and the sha256 of its files."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer

from critmin.cli.common import VintageOpt, cli_warehouse, fail, user_errors, working


def brief_cmd(
    ctx: typer.Context,
    partners: Annotated[str, typer.Option("--for", help="Partners the brief is for, e.g. US,JP (ISO2 or ISO3).")] = "US,JP",
    year: Annotated[int, typer.Option("--year", help="Data year of the analysis.")] = 2024,
    lang: Annotated[str, typer.Option("--lang", help="Language: en or ja.")] = "en",
    visibility: Annotated[str, typer.Option("--visibility", help="US, JP or joint: whose records the brief may name.")] = "joint",
    out: Annotated[Path, typer.Option("--out", help="Directory for brief.pdf and brief.xlsx.")] = Path("brief"),
    commodities: Annotated[str | None, typer.Option("--commodities", help="Priority commodities (names or ids, comma-separated); default: the watchlist's top (setting brief.priority_count).")] = None,
    runs: Annotated[int | None, typer.Option("--runs", help="Monte Carlo runs (default: setting brief.mc_runs).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random state (default: setting brief.random_state).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Write the result (files, sha256, timings) as JSON.")] = False,
    vintage: VintageOpt = None,
) -> None:
    """Write the briefing pack: brief.pdf (cover, executive summary, a page per priority
    commodity, annex with sources) and brief.xlsx (one sheet per table, Sources sheet)."""
    from critmin.brief.assemble import BriefRequest
    from critmin.brief.fonts import FontsMissing
    from critmin.brief.service import generate, record_audit
    from critmin.brief.typeset import TypesetError
    from critmin.data.normalize.commodities import resolve
    from critmin.i18n import check_lang
    from critmin.ops import open_store
    from critmin.risk.api import normalize_consumers

    with user_errors():
        check_lang(lang)
        if visibility not in ("US", "JP", "joint"):
            raise ValueError(f"--visibility {visibility!r}: expected US, JP or joint")
        cons = normalize_consumers(partners)
        names = [c.strip() for c in commodities.split(",") if c.strip()] if commodities else None
        cids = tuple(resolve(c) for c in names) if names else None
    req = BriefRequest(partners=cons, year=year, lang=lang, visibility=visibility, commodities=cids,
                       mc_runs=runs, seed=seed, author=f"cli:{getpass.getuser()}")
    with cli_warehouse(ctx, errors=(FontsMissing, TypesetError), vintage=vintage) as wh, working("writing the brief ..."):
        result = generate(wh, req, out)
        try:
            record_audit(open_store(warehouse=wh.path), result, actor=req.author, role=None)
        except Exception as exc:  # noqa: BLE001 - the files exist; the missing audit entry is reported
            raise fail(f"brief written to {out} but not audited: {exc}") from None
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    t = result.timings
    typer.echo(f"wrote {result.pdf} ({result.pages} pages) and {result.xlsx} ({len(result.sheets)} sheets)")
    typer.echo(f"sha256 {result.pdf.name} {result.sha256[result.pdf.name]}")
    typer.echo(f"sha256 {result.xlsx.name} {result.sha256[result.xlsx.name]}")
    typer.echo("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in t.items()))
    for n in result.notes:
        typer.echo(f"note: {n}", err=True)


def register(app: typer.Typer) -> None:
    app.command("brief")(brief_cmd)
