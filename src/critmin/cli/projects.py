"""CLI commands: ``critmin projects list|show|import|export|score|select|gaps``, ``critmin deposits``
and ``critmin clock``.

All project commands take ``--viewer US|JP|joint`` (default ``joint``: the CLI is an admin
tool); a viewer never sees, exports, scores or selects a project it may not see.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from critmin.cli.common import (
    VintageOpt,
    cli_warehouse,
    countries,
    fail,
    parse_budgets,
    user_errors,
)

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse
    from critmin.projects.models import Project
    from critmin.projects.registry import Registry
    from critmin.projects.scoring import ProjectScore

Viewer = Annotated[str, typer.Option("--viewer", help="Whose view: US, JP or joint (sees all).")]
AsJson = Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")]

projects_app = typer.Typer(help="Priority projects: registry, scoring, joint selection.", no_args_is_help=True)


def parse_budget(text: str) -> dict[str, float]:
    """``'USA=500M,JPN=2bn'`` -> ``{'USA': 5e8, 'JPN': 2e9}``: a finite budget for every partner
    (setting ``risk.consumers``); the amount syntax of :func:`critmin.cli.common.parse_amount`."""
    return parse_budgets(text, "--budget", require_all=True, allow_inf=False)


def _pairs(items: list[str], sep: str, what: str) -> list[tuple[str, str]]:
    out = []
    for it in items:
        parts = it.split(sep)
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"{what} {it!r}: expected A{sep}B")
        out.append((parts[0].strip(), parts[1].strip()))
    return out


def _counts(items: list[str], what: str) -> dict[str, int]:
    out = {}
    for it in items:
        k, _, v = it.partition("=")
        if not k or not v.isdigit():
            raise ValueError(f"{what} {it!r}: expected KEY=COUNT, e.g. mine=1")
        out[k.strip()] = int(v)
    return out


@contextmanager
def cli_registry(ctx: typer.Context, *, read_only: bool = True,
                 vintage: str | None = None) -> Iterator[tuple[Warehouse, Registry]]:
    """The warehouse (as of release ``vintage``, the ``--vintage`` option) and its project
    registry; a registry or selection error in the block is a one-line error (as the user
    errors of :func:`critmin.cli.common.cli_warehouse`)."""
    from critmin.projects.registry import Registry, RegistryError
    from critmin.projects.selection import SelectionError

    with cli_warehouse(ctx, read_only=read_only, errors=(RegistryError, SelectionError),
                       vintage=vintage) as wh:
        yield wh, Registry.open(wh)  # the registry is in the warehouse's operational store


def _viewer(viewer: str) -> str:
    if viewer not in ("US", "JP", "joint"):
        raise fail(f"--viewer {viewer!r}: expected US, JP or joint")
    return viewer


def _echo_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def _scores(wh: Warehouse, projects: Sequence[Project]) -> list[ProjectScore]:
    from critmin.projects.api import NotComputable, score_with_warehouse

    try:
        return score_with_warehouse(wh, projects)
    except NotComputable as exc:
        raise fail(f"cannot score projects: {exc}") from None


@projects_app.command("list")
def list_cmd(
    ctx: typer.Context,
    viewer: Viewer = "joint",
    commodity: Annotated[str | None, typer.Option(help="Commodity (name, id or element, e.g. 'rare earths', Ga).")] = None,
    country: Annotated[str | None, typer.Option(help="Host country (name or ISO code).")] = None,
    status: Annotated[str | None, typer.Option(help="Project status.")] = None,
    as_json: AsJson = False,
) -> None:
    """List the projects the viewer may see."""
    with cli_registry(ctx) as (wh, reg):
        cid = wh.resolve_commodity(commodity) if commodity else None
        iso3 = countries(country, "--country")[0] if country else None
        ps = reg.list(_viewer(viewer), commodity=cid, country=iso3, status=status)
    if as_json:
        _echo_json([p.record() for p in ps])
        return
    from critmin.cli.tables import Col, fit_table, print_table
    from critmin.data.normalize.commodities import display_name

    cols = [Col("project"), Col("name", priority=3, max_width=24), Col("commodity"), Col("stage", priority=1),
            Col("host", priority=1), Col("status", priority=2), Col("capacity t/yr", numeric=True),
            Col("start", numeric=True, priority=2), Col("visibility", priority=4)]
    rows = [[p.id, p.name, display_name(p.commodity_id), p.stage, p.host_country_iso3, p.status,
             "n/a" if p.capacity_tpy is None else f"{p.capacity_tpy:,.0f}",
             "n/a" if p.first_production_year is None else str(p.first_production_year), p.visibility] for p in ps]
    print_table(fit_table(f"Projects visible to {viewer}", cols, rows, caption=f"{len(ps)} project(s)"))


@projects_app.command("show")
def show_cmd(
    ctx: typer.Context,
    project_id: Annotated[str, typer.Argument(help="Project id.")],
    viewer: Viewer = "joint",
    history: Annotated[bool, typer.Option("--history", help="All versions.")] = False,
    as_json: AsJson = False,
) -> None:
    """Show one project (and its version history)."""
    with cli_registry(ctx) as (_wh, reg):
        out: Any = reg.history(project_id, _viewer(viewer)) if history else reg.get(project_id, viewer).record()
    if as_json or history:
        _echo_json(out)
    else:
        for k, v in out.items():
            typer.echo(f"{k:>22}: {json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v}")


@projects_app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="JSON list of project objects, or CSV.")],
    viewer: Viewer = "joint",
    author: Annotated[str, typer.Option(help="Who makes the change (recorded in the history).")] = "cli",
    note: Annotated[str | None, typer.Option(help="Note recorded with the versions.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="json or csv (default: suffix).")] = None,
) -> None:
    """Import projects: all or nothing; each change becomes a new version."""
    from critmin.projects.io import read_records
    from critmin.projects.registry import RegistryError

    with user_errors():  # ImportFileError is a ValueError
        projects = read_records(file, fmt)
    with cli_registry(ctx) as (_wh, reg):
        try:
            res = reg.put_many(projects, author=author, viewer=_viewer(viewer), note=note)
        except RegistryError as exc:
            raise fail(f"{file}: {exc}; nothing imported") from None
    typer.echo(
        f"{file}: {len(res['created'])} created, {len(res['updated'])} updated, {len(res['unchanged'])} unchanged"
    )


@projects_app.command("export")
def export_cmd(
    ctx: typer.Context,
    viewer: Viewer = "joint",
    as_json: AsJson = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Write CSV.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="File (default stdout).")] = None,
) -> None:
    """Export the visible projects (JSON by default; `import` reads it back unchanged)."""
    from critmin.projects.io import to_csv, to_json

    if as_json and as_csv:
        raise fail("--json and --csv exclude each other")
    with cli_registry(ctx) as (_wh, reg):
        ps = reg.list(_viewer(viewer))
    text = to_csv(ps) if as_csv else to_json(ps)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(ps)} project(s) to {out}")


@projects_app.command("score")
def score_cmd(
    ctx: typer.Context,
    viewer: Viewer = "joint",
    basis: Annotated[str, typer.Option("--basis", help="'market' (today's market) or 'outlook' (gap closed to 2040 x damage).")] = "market",
    as_json: AsJson = False,
    vintage: VintageOpt = None,
) -> None:
    """Score the visible projects: risk reduction per budget dollar, with every input."""
    if basis not in ("outlook", "market"):
        raise fail(f"--basis {basis!r}: expected outlook or market")
    with cli_registry(ctx, vintage=vintage) as (wh, reg):
        ps = reg.list(_viewer(viewer))
        scores = _scores(wh, ps)
        if basis == "outlook":
            from critmin.projects.outlook_value import value_projects, value_summary

            with user_errors((LookupError,)):
                values = value_projects(wh, ps, scores)
    if basis == "outlook":
        if as_json:
            _echo_json({"summary": value_summary(values), "projects": [v.to_dict() for v in values]})
            return
        from critmin.cli.tables import Col, fit_table, print_table

        cols = [Col("project"), Col("basis"), Col("value US$", numeric=True), Col("note", priority=1, max_width=40)]
        rows = []
        for v in values:
            closed = ", ".join(f"{y}: {t:,.0f} t" for y, t in sorted(v.closed_t.items()))
            note = (f"gap closed {closed}" if closed else v.flags[0] if v.flags else "") if v.scored else \
                f"not scored: {v.reason}"
            rows.append([v.project_id, v.basis if v.scored else "", f"{v.value_usd or 0:,.0f}" if v.scored else "",
                         note])
        print_table(fit_table("Project value against the supply gap (US$)", cols,
                              [[c or "" for c in r] for r in rows]))
        sm = value_summary(values)
        typer.echo(f"{sm['scored']} of {sm['projects']} scored ({sm['by_basis']['outlook']} against the outlook, "
                   f"{sm['by_basis']['market']} against today's market)")
        return
    if as_json:
        _echo_json([s.to_dict() for s in scores])
        return
    from critmin.cli.tables import Col, fit_table, print_table

    cols = [Col("project"), Col("value US$", numeric=True), Col("cost US$", numeric=True),
            Col("score per $", numeric=True), Col("note", priority=1, max_width=40)]
    rows = [[s.project_id, "", "", "", f"not computable: {s.reason}"] if s.score_per_dollar is None else
            [s.project_id, f"{s.value_usd:,.0f}", f"{s.cost_total_usd:,.0f}", f"{s.score_per_dollar:.3f}", ""]
            for s in scores]
    print_table(fit_table("Project scores: risk reduction per budget dollar", cols,
                          [[c or "" for c in r] for r in rows]))


@projects_app.command("select")
def select_cmd(
    ctx: typer.Context,
    budget: Annotated[str, typer.Option(help="Budgets, e.g. USA=500M,JPN=300M (budget cost, US$).")],
    viewer: Viewer = "joint",
    max_share: Annotated[float | None, typer.Option(help="Max share of the joint budget per commodity (default: setting).")] = None,
    min_stage: Annotated[list[str], typer.Option(help="Minimum projects per value-chain stage (mine, separation, refining, metal, magnet, recycling), e.g. separation=2.")] = [],  # noqa: B006
    min_commodity: Annotated[list[str], typer.Option(help="Minimum projects per commodity, e.g. gallium=1.")] = [],  # noqa: B006
    exclusive: Annotated[list[str], typer.Option(help="Mutually exclusive projects A,B.")] = [],  # noqa: B006
    depends: Annotated[list[str], typer.Option(help="A:B = A only if B is selected.")] = [],  # noqa: B006
    save: Annotated[bool, typer.Option("--save", help="Record the selection (read by `critmin clock`).")] = False,
    author: Annotated[str, typer.Option(help="Recorded with --save.")] = "cli",
    basis: Annotated[str, typer.Option("--basis", help="Project value: 'outlook' (gap closed x damage, 2025-2040) or 'market' (today's market).")] = "outlook",
    target: Annotated[list[str], typer.Option("--target", help="Stage target, e.g. processing:USA=0.1@2030 (outlook basis).")] = [],  # noqa: B006
    as_json: AsJson = False,
    vintage: VintageOpt = None,
) -> None:
    """Choose projects and instruments under the US and Japanese budgets (HiGHS MIP)."""
    from critmin.projects.api import select_portfolio
    from critmin.projects.outlook_value import parse_target

    with user_errors():
        if basis not in ("outlook", "market"):
            raise ValueError(f"--basis {basis!r}: expected outlook or market")
        specs = [parse_target(t) for t in target]
        if specs and basis != "outlook":
            raise ValueError("--target needs --basis outlook")
        b = parse_budget(budget)
        kw: dict[str, Any] = {
            "max_commodity_share": max_share,
            "min_per_stage": _counts(min_stage, "--min-stage"),
            "min_per_commodity": _counts(min_commodity, "--min-commodity"),
            "exclusive": _pairs(exclusive, ",", "--exclusive"),
            "depends": _pairs(depends, ":", "--depends"),
        }
    with cli_registry(ctx, vintage=vintage) as (wh, reg):
        ps = reg.list(_viewer(viewer))
        scores = _scores(wh, ps)
        notes: list[dict[str, Any]] = []
        if basis == "outlook":
            from critmin.projects.outlook_value import (
                as_scores,
                stage_targets,
                value_projects,
                value_summary,
            )

            values = value_projects(wh, ps, scores)
            scores = as_scores(values, scores)
            with user_errors((LookupError,)):
                kw["targets"], notes = stage_targets(wh, ps, specs)
        res = select_portfolio(ps, scores, b, **kw)
        res["basis"] = basis
        if basis == "outlook":
            res["valuation"] = value_summary(values)
            res["targets"] = notes
        if save:
            from critmin.disruption.provenance import data_provenance

            # the data it was selected on (vintage pin, fingerprint): shown and checked by `critmin clock`
            params = {"budget": b, **{k: v for k, v in kw.items() if k != "targets"}, "targets": list(target),
                      "basis": basis, "viewer": viewer, **data_provenance(wh)}
            res["selection_id"] = reg.save_selection(res, params, author=author, viewer=viewer)
    if as_json:
        _echo_json(res)
        return
    typer.echo(f"risk reduction US${res['risk_reduction']:,.0f}; budget used " + ", ".join(
        f"{k} US${v:,.0f} of {res['budget'][k]:,.0f}" for k, v in res["budget_used"].items()))
    from critmin.cli.tables import Col, fit_table, print_table
    from critmin.data.normalize.commodities import display_name

    cols = [Col("project"), Col("commodity", priority=2), Col("instruments (face value)", max_width=30),
            Col("value US$", numeric=True, priority=1), *(Col(f"{k} cost US$", numeric=True) for k in res["budget"])]
    rows = [[s["project"], display_name(str(s.get("commodity", ""))), s["option"], f"{s['value_usd']:,.0f}",
             *(f"{s['cost_usd'].get(k, 0.0):,.0f}" for k in res["budget"])] for s in res["selected"]]
    print_table(fit_table("Selected projects (cost: budget cost per partner)", cols, rows))
    if res["excluded"]:
        print_table(fit_table("Not selected", [Col("project"), Col("why")],
                              [[e["project"], e["reason"]] for e in res["excluded"]]))
    for k, v in res["budget_report"].items():
        typer.echo(f"  {k}: uses US${v['used_usd']:,.0f} of US${v['budget_usd']:,.0f}; unused because {v['why_unused']}")
    for k, v in res["shadow_prices"].items():
        typer.echo(f"  shadow value of the {k} budget: LP {v['lp_dual']:.3f}, MIP +{v['mip_delta_usd']:,.0f}: {v['mip_finite_difference']:.3f} per $")


@projects_app.command("gaps")
def gaps_cmd(ctx: typer.Context, viewer: Viewer = "joint", as_json: AsJson = False,
             vintage: VintageOpt = None) -> None:
    """Exploration gaps: allied deposits with no registered project, by watchlist rank."""
    from critmin.projects.gaps import exploration_gaps

    with cli_registry(ctx, vintage=vintage) as (wh, reg):
        try:
            df = exploration_gaps(wh, reg.list(_viewer(viewer)))
        except ValueError as exc:
            raise fail(f"cannot compute exploration gaps: {exc}") from None
    if as_json:
        _echo_json(json.loads(df.to_json(orient="records")))
    else:
        from critmin.cli.tables import frame_table, print_table

        print_table(frame_table("Exploration gaps: allied deposits with no registered project", df,
                                priority={"layers": 2, "projects_elsewhere": 1, "joint_score": 1},
                                decimals={"joint_score": 3},
                                headers={"commodity_id": "commodity", "watchlist_rank": "rank",
                                         "country_iso3": "country", "n_deposits": "deposits",
                                         "projects_elsewhere": "projects elsewhere"}))


def deposits_cmd(
    ctx: typer.Context,
    commodity: Annotated[str | None, typer.Option(help="Commodity (id or name).")] = None,
    country: Annotated[str | None, typer.Option(help="Country ISO3 (or name).")] = None,
    near: Annotated[str | None, typer.Option(help="LAT,LON centre for a radius query.")] = None,
    radius_km: Annotated[float | None, typer.Option("--radius-km", help="Radius in km (with --near).")] = None,
    bbox: Annotated[str | None, typer.Option(help="WEST,SOUTH,EAST,NORTH in degrees.")] = None,
    layer: Annotated[list[str], typer.Option(help="Layer(s): PP1802, MAJOR, GMRAP_PORPHYRY, GMRAP_SEDCU.")] = [],  # noqa: B006
    geojson: Annotated[bool, typer.Option("--geojson", help="Write an RFC 7946 FeatureCollection.")] = False,
    as_json: AsJson = False,
) -> None:
    """Query the USGS deposit layers by commodity, country, box or radius (great circle)."""
    from critmin.geo.deposits import deposit_rows_for_output, query_deposits
    from critmin.geo.geojson import to_feature_collection

    with user_errors():
        centre = None
        if near is not None:
            la, lo = (float(x) for x in near.split(","))
            centre = (la, lo)
        box = tuple(float(x) for x in bbox.split(",")) if bbox else None
        if box is not None and len(box) != 4:
            raise ValueError(f"--bbox {bbox!r}: expected WEST,SOUTH,EAST,NORTH")
    with cli_warehouse(ctx) as wh:
        df = query_deposits(wh, commodity, country, layer or None, box, centre, radius_km)
    df = deposit_rows_for_output(df)
    if geojson:
        _echo_json(to_feature_collection(df))
    elif as_json:
        _echo_json(json.loads(df.to_json(orient="records")))
    else:
        from critmin.cli.tables import frame_table, print_table

        shown = df.drop(columns=[c for c in ("dataset_id", "source_line", "grade") if c in df])
        print_table(frame_table("Deposits (USGS layers)", shown, caption=f"{len(df)} deposit(s)",
                                priority={c: 2 for c in shown.columns
                                          if c not in ("layer", "name", "country_iso3", "latitude", "longitude")},
                                decimals={"latitude": 4, "longitude": 4}, max_width={"name": 28},
                                headers={"country_iso3": "country"}))


def clock_cmd(
    ctx: typer.Context,
    viewer: Viewer = "joint",
    today: Annotated[str | None, typer.Option(help="Reference date (ISO; default: today).")] = None,
    budget: Annotated[str | None, typer.Option(help="Select now with these budgets instead of the last saved selection.")] = None,
    what_if_months: Annotated[int | None, typer.Option("--what-if-months", help="Cut permitting by N months: effect on projected shortfall.")] = None,
    as_json: AsJson = False,
    vintage: VintageOpt = None,
) -> None:
    """The six-month financing and 180-day ministerial clock, project by project."""
    from critmin.projects.clock_report import clock_report

    with user_errors():
        day = dt.date.fromisoformat(today) if today else dt.date.today()
        b = parse_budget(budget) if budget else None
    with cli_registry(ctx, vintage=vintage) as (wh, reg):  # NotComputable is a ValueError
        rep = clock_report(wh, reg, _viewer(viewer), day, b, what_if_months)
    if as_json:
        _echo_json(rep)
        return
    d = rep["deadlines"]
    typer.echo(f"signed {d['signed']}; today {rep['today']}")
    typer.echo(f"financing deadline   {d['financing_deadline']} ({rep['days_to_financing_deadline']} days)")
    typer.echo(f"ministerial deadline {d['ministerial_deadline']} ({rep['days_to_ministerial_deadline']} days)")
    typer.echo(f"selection: {rep['selection']['source']}")
    if rep["selection"].get("vintage_warning"):
        typer.echo(f"warning: {rep['selection']['vintage_warning']}", err=True)
    from critmin.cli.tables import Col, fit_table, print_table

    if rep["projects"]:
        print_table(fit_table("Selected projects against the clock", [Col("state"), Col("project"), Col("why")], [
            ["on track" if t["on_track"] else "AT RISK", t["project"], "; ".join(t["reasons"] + t["warnings"])]
            for t in rep["projects"]]))
    if rep["overdue_milestones"]:
        cols = [Col("project"), Col("milestone", max_width=36), Col("target"), Col("days over", numeric=True)]
        print_table(fit_table("Overdue milestones", cols, [
            [m["project"], m["name"], str(m["target_date"]), f"{m['days']:,}"] for m in rep["overdue_milestones"]]))
    if rep.get("what_if"):
        w = rep["what_if"]
        typer.echo(f"what-if: permitting {w['months']} months shorter -> projected shortfall {w['total_reduction_t']:,.1f} t lower in total")


def register(app: typer.Typer) -> None:
    """Add ``projects``, ``deposits`` and ``clock`` to the root app."""
    app.add_typer(projects_app, name="projects")
    app.command("deposits")(deposits_cmd)
    app.command("clock")(clock_cmd)
