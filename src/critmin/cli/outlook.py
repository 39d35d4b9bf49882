"""CLI commands ``critmin outlook`` (one commodity and stage to 2040) and ``critmin gap`` (every
commodity with an IEA supply outlook, one year): :mod:`critmin.outlook.service`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from critmin.cli.common import VintageOpt, countries, fail, user_errors

AsJson = Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")]
Draws = Annotated[int | None, typer.Option("--draws", help="Monte Carlo draws of the pipeline (default: setting outlook.draws).")]
Seed = Annotated[int | None, typer.Option("--seed", help="Random state of the draws (default: setting outlook.random_state).")]


def _echo_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def _projects(ctx: typer.Context, viewer: str = "joint", vintage: str | None = None) -> Any:
    from critmin.cli.projects import cli_registry

    return cli_registry(ctx, vintage=vintage)


def outlook_cmd(
    ctx: typer.Context,
    commodity: Annotated[str, typer.Option("--commodity", help="Commodity (name, id or element), e.g. lithium.")],
    stage: Annotated[str, typer.Option("--stage", help="mine or processing.")] = "processing",
    scenario: Annotated[str, typer.Option("--scenario", help="IEA scenario: STEPS, APS or NZE.")] = "STEPS",
    to: Annotated[int, typer.Option("--to", help="Last year (2024..2050).")] = 2040,
    draws: Draws = None,
    seed: Seed = None,
    as_json: AsJson = False,
    vintage: VintageOpt = None,
) -> None:
    """Demand by technology, supply by country and the gap band for one commodity and stage."""
    from critmin.outlook.service import outlook

    with _projects(ctx, vintage=vintage) as (wh, reg):
        cid = wh.resolve_commodity(commodity)
        with user_errors((LookupError,)):
            res = outlook(wh, cid, stage, scenario, reg.list("joint"), to_year=to, n_draws=draws, random_state=seed)
    if as_json:
        _echo_json(res)
        return
    s = res["scenario"]
    if not res["gap"]:
        typer.echo(f"{cid}: IEA {s} demand only ({res['demand'][f'WORLD|{s}']['basis']}); " + "; ".join(res["not_computable"]))
        for y, v in zip(res["years"], res["demand"][f"WORLD|{s}"]["total"], strict=True):
            if y % 5 == 0 or y == res["years"][0]:
                typer.echo(f"  {y}: world demand {v:,.1f} t")
        return
    typer.echo(f"{cid} at the {res['stage']} stage, IEA {s}, {res['years'][0]}-{res['years'][-1]} "
               f"({res['draws']:,} draws of {len(res['projects'])} pipeline project(s), seed {res['random_state']})")
    from critmin.cli.tables import Col, fit_table, print_table
    from critmin.data.normalize.commodities import display_name

    cols = [Col("scope"), Col("year", numeric=True), Col("demand t", numeric=True),
            Col("secure base t", numeric=True, priority=1), Col("exp. added t", numeric=True, priority=1),
            Col("exp. gap t", numeric=True), Col("gap p5 t", numeric=True, priority=2),
            Col("gap p95 t", numeric=True, priority=2)]
    rows = [[r["scope"], str(r["year"]), *(f"{r[k]:,.0f}" for k in (
                "demand_t", "secure_base_t", "expected_added_t", "expected_gap_t", "gap_p05_t", "gap_p95_t"))]
            for r in res["gap"] if r["scenario"] == s and not r["year"] % 5]
    print_table(fit_table(f"Demand, secure supply and gap, {display_name(cid)}, {res['stage']} (IEA {s}; t)", cols, rows,
                          caption="gap p5/p95: the 5th and 95th percentiles of the gap over the draws"))
    for e in res["projects_not_in_pipeline"]:
        typer.echo(f"  not in the pipeline: {e['project']}: {e['reason']}")


def gap_cmd(
    ctx: typer.Context,
    for_: Annotated[str, typer.Option("--for", help="Partners, e.g. US,JP (names or ISO codes).")] = "US,JP",
    year: Annotated[int, typer.Option("--year", help="Year of the gap (2025..2040).")] = 2030,
    scenario: Annotated[str | None, typer.Option("--scenario", help="One IEA scenario (default: all three).")] = None,
    draws: Draws = None,
    seed: Seed = None,
    as_json: AsJson = False,
    vintage: VintageOpt = None,
) -> None:
    """The gap by commodity and stage in one year: world and the partners (secure supply)."""
    from critmin.outlook.demand import SCENARIOS, check_scenario
    from critmin.outlook.service import gap_table

    with user_errors():
        codes = countries(for_, "--for")
        scen = [check_scenario(scenario)] if scenario else list(SCENARIOS)
    if not 2025 <= year <= 2040:
        raise fail(f"--year {year}: expected a year 2025..2040")
    with _projects(ctx, vintage=vintage) as (wh, reg), user_errors((LookupError,)):
        res = gap_table(wh, reg.list("joint"), year=year, scenarios=scen, partner_codes=codes,
                        n_draws=draws, random_state=seed)
    if as_json:
        _echo_json(res)
        return
    label = "+".join(codes)
    typer.echo(f"gap in {year} for {label} (secure supply: domestic + allied in proportion to demand) and the world; "
               f"{res['draws']:,} draws, seed {res['random_state']}")
    from critmin.cli.tables import Col, fit_table, print_table
    from critmin.data.normalize.commodities import display_name

    cols = [Col("commodity"), Col("stage"), Col("scenario"), Col("scope"), Col("demand t", numeric=True),
            Col("exp. gap t", numeric=True), Col("share", numeric=True)]
    rows = [[display_name(r["commodity"]), r["stage"], r["scenario"], r["scope"], f"{r['demand_t']:,.0f}", f"{r['expected_gap_t']:,.0f}",
             "" if r["expected_gap_share"] is None else f"{r['expected_gap_share']:.0%}"]
            for r in res["rows"] if r["scope"] in (label, "WORLD")]
    print_table(fit_table(f"Gap in {year}, world and {label} (t)", cols, rows))
    cols = [Col("commodity"), Col("stage"), Col("scenario"), Col("exp. gap t", numeric=True),
            Col("loss US$/t", numeric=True), Col("US$/yr", numeric=True), Col("note", priority=1)]
    rows = [[display_name(p["commodity"]), p["stage"], p["scenario"], f"{p['expected_gap_t']:,.0f}", f"{p['loss_per_t']:,.0f}",
             f"{p['expected_gap_value_usd'] / 1e9:,.2f}B",
             "share from trade weight: check" if any(f.startswith("share_check") for f in p["flags"]) else ""]
            for p in res["priorities"][:10]]
    print_table(fit_table(f"Which gaps matter most in {year} for {label} (expected gap x loss per tonne)", cols, rows))
    for m in res["not_computable"]:
        typer.echo(f"  not computable: {m}")


def register(app: typer.Typer) -> None:
    app.command("outlook")(outlook_cmd)
    app.command("gap")(gap_cmd)
