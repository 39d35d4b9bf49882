"""CLI commands: ``critmin incident open|list|show|assess|options|decide|approve|close|brief``,
``incident inventory record|list`` and ``incident approver grant|revoke|list``.

The workflow is :mod:`critmin.incident.service` (the same functions as the web). The CLI acts
for ``--viewer`` (``US``, ``JP`` or ``joint`` = both governments, as ``critmin projects``) and
records ``--as NAME`` as the author (default ``cli:$USER``). An approval names a dashboard user
(``--as``) whose role gives the government and who holds the approver flag.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from critmin.cli.common import VintageOpt, cli_warehouse, countries, fail, user_errors, working

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse
    from critmin.incident.store import IncidentStore

incident_app = typer.Typer(help="Incidents: from a trigger to a coordinated, recorded decision.", no_args_is_help=True)
inventory_app = typer.Typer(help="Recorded stockpile inventory per partner.", no_args_is_help=True)
approver_app = typer.Typer(help="The per-user approver flag for incident decisions.", no_args_is_help=True)
incident_app.add_typer(inventory_app, name="inventory")
incident_app.add_typer(approver_app, name="approver")

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Viewer = Annotated[str, typer.Option("--viewer", help="Act for US, JP or joint (both governments).")]
As = Annotated[str | None, typer.Option("--as", help="Your name in the record (default cli:$USER).")]
Iid = Annotated[str, typer.Argument(help="Incident id (INC-...).")]

SEES = {"US": ("US", "joint"), "JP": ("JP", "joint"), "joint": ("US", "JP", "joint")}


def _sees(viewer: str) -> tuple[str, ...]:
    if viewer not in SEES:
        raise fail(f"--viewer: expected US, JP or joint, got {viewer!r}")
    return SEES[viewer]


def _author(name: str | None) -> str:
    return name or f"cli:{getpass.getuser()}"


def _store(ctx: typer.Context) -> IncidentStore:
    from critmin.cli.ops import cli_store
    from critmin.incident.store import IncidentStore

    return IncidentStore(cli_store(ctx).engine)


def _audit(ctx: typer.Context, actor: str):  # noqa: ANN202 - a closure
    """Audit callback writing to the operational store's audit log (as the web does)."""
    def write(action: str, target: str, detail: dict[str, Any]) -> None:
        from critmin.cli.ops import cli_store
        from critmin.web import audit

        store = cli_store(ctx)
        with store.transaction(lock="web_audit"):
            audit.record(store, actor=actor, role="cli", action=action, target=target, outcome="ok",
                         detail=detail, client="cli")
    return write


def _projects(ctx: typer.Context, wh: Warehouse):  # noqa: ANN202
    def source(viewer: str, cids: Any) -> list[Any]:
        from critmin.projects.registry import Registry

        reg = Registry.open(wh)  # the registry is in the warehouse's operational store
        return [p for c in cids for p in reg.list(viewer, commodity=c)]
    return source


def _dump(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


def _summary(view: dict[str, Any]) -> None:
    inc = view["incident"]
    typer.echo(f"{inc['incident_id']}  [{inc['status']}]  {inc['visibility']}  {inc['title']}")
    typer.echo(f"  start {inc['start_date']}; commodities {', '.join(inc['commodities'])}; "
               f"restricting {', '.join(inc['countries']) or '-'}; targets {', '.join(inc['targets']) or 'all'}")
    from critmin.cli.tables import Col, fit_table, number_text, print_table
    from critmin.data.normalize.commodities import display_name

    a = view.get("assessment")
    if a:
        cols = [Col("commodity"), Col("partner"), Col("shortfall t", numeric=True), Col("%", numeric=True),
                Col("US$", numeric=True, priority=1), Col("days of cover", numeric=True),
                Col("price restricted %", numeric=True, priority=2), Col("price open %", numeric=True, priority=2),
                Col("note", priority=3)]
        rows = [[f"{display_name(c['commodity'])} ({c['stage']})", p["partner"], number_text(p["shortfall_t"]),
                 "n/a" if p["shortfall_pct"] is None else f"{p['shortfall_pct']:.1f}",
                 "n/a" if p["shortfall_usd"] is None else f"{p['shortfall_usd']:,.0f}",
                 "n/a" if p["days_of_cover"] is None else f"{p['days_of_cover']:.0f}",
                 f"{c['price_restricted_pct']:+.1f}", f"{c['price_open_pct']:+.1f}",
                 "" if p["days_of_cover"] is not None else str(p.get("days_of_cover_note") or "")]
                for c in a["commodities"] for p in c["partners"]]
        print_table(fit_table("Assessment: shortfall per partner (price change per pool, %)", cols, rows))
    o = view.get("options")
    if o:
        cols = [Col("rank", numeric=True), Col("option", max_width=28), Col("potential t", numeric=True),
                Col("why", priority=1)]
        print_table(fit_table("Response options, ranked (the first 12; all: --json)", cols, [
            [str(x["rank"]), x["option_id"], number_text(x.get("potential_t")), x["why"]] for x in o["options"][:12]]))
    for d in view.get("decisions", []):
        typer.echo(f"  decision {d['decision_id']} [{d['status']}] {d['option_id']} by {d['proposer']}; "
                   f"approvals {', '.join(a['government'] + ':' + a['approver'] for a in d['approvals']) or '-'}")


@incident_app.command("open")
def open_cmd(
    ctx: typer.Context,
    trigger: Annotated[str | None, typer.Option("--trigger", help="Curated event id (export_restrictions.csv).")] = None,
    signal: Annotated[str | None, typer.Option("--signal", help="Signal id from `critmin markets signals`.")] = None,
    scenario: Annotated[Path | None, typer.Option("--scenario", help="Scenario TOML file.")] = None,
    visibility: Annotated[str, typer.Option("--visibility", help="US, JP or joint.")] = "joint",
    runs: Annotated[int | None, typer.Option("--runs", min=0, help="Monte Carlo runs (setting incident.mc_runs).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="Monte Carlo seed (incident.mc_seed).")] = None,
    viewer: Viewer = "joint", author: As = None, as_json: AsJson = False, vintage: VintageOpt = None,
) -> None:
    """Open an incident from a trigger; it is assessed and its options ranked at once."""
    from critmin.incident.service import incident_view, open_incident, trigger_from

    sees = _sees(viewer)
    if visibility not in sees:
        raise fail(f"--visibility {visibility}: a {viewer} viewer may not create it")
    with cli_warehouse(ctx, vintage=vintage) as wh, working("assessing ..."):
        tr = trigger_from(wh, event=trigger, signal=signal, scenario=scenario)
        st = _store(ctx)
        who = _author(author)
        inc = open_incident(wh, st, tr, visibility=visibility, author=who, sees=sees, runs=runs, seed=seed,
                            projects=_projects(ctx, wh), audit=_audit(ctx, who))
        view = incident_view(st, inc["incident_id"], sees)
    _dump(view) if as_json else _summary(view)


@incident_app.command("list")
def list_cmd(ctx: typer.Context, status: Annotated[str | None, typer.Option("--status")] = None,
             viewer: Viewer = "joint", as_json: AsJson = False) -> None:
    """Incidents visible to the viewer, newest first."""
    with user_errors():
        items = _store(ctx).list(_sees(viewer), [status] if status else None)
    if as_json:
        _dump(items)
        return
    if not items:
        typer.echo("no incidents")
        return
    from critmin.cli.tables import Col, fit_table, print_table

    cols = [Col("incident"), Col("status"), Col("visibility", priority=1), Col("start", priority=0),
            Col("title", max_width=40)]
    print_table(fit_table("Incidents, newest first", cols, [
        [str(i["incident_id"]), str(i["status"]), str(i["visibility"]), str(i["start_date"]), str(i["title"])]
        for i in items]))


@incident_app.command("show")
def show_cmd(ctx: typer.Context, incident_id: Iid, viewer: Viewer = "joint", as_json: AsJson = False) -> None:
    """An incident: record, assessment, options, decisions (and with --json its timeline)."""
    from critmin.incident.service import incident_view

    with user_errors():
        view = incident_view(_store(ctx), incident_id, _sees(viewer))
    _dump(view) if as_json else _summary(view)


@incident_app.command("assess")
def assess_cmd(ctx: typer.Context, incident_id: Iid,
               runs: Annotated[int | None, typer.Option("--runs", min=0)] = None,
               seed: Annotated[int | None, typer.Option("--seed", min=0)] = None,
               viewer: Viewer = "joint", author: As = None, as_json: AsJson = False,
               vintage: VintageOpt = None) -> None:
    """Re-run the assessment (after new inventory records or a data import)."""
    from critmin.incident.service import assess_incident, incident_view

    sees = _sees(viewer)
    who = _author(author)
    with cli_warehouse(ctx, vintage=vintage) as wh, working("assessing ..."):
        st = _store(ctx)
        doc = assess_incident(wh, st, incident_id, sees=sees, author=who, runs=runs, seed=seed,
                              audit=_audit(ctx, who))
        view = incident_view(st, incident_id, sees)
    _dump(doc) if as_json else _summary({**view, "options": None, "decisions": []})


@incident_app.command("options")
def options_cmd(ctx: typer.Context, incident_id: Iid, viewer: Viewer = "joint", author: As = None,
                as_json: AsJson = False, vintage: VintageOpt = None) -> None:
    """Rank the response options again from the newest assessment."""
    from critmin.incident.service import incident_view, options_incident

    sees = _sees(viewer)
    who = _author(author)
    with cli_warehouse(ctx, vintage=vintage) as wh, working("ranking options ..."):
        st = _store(ctx)
        doc = options_incident(wh, st, incident_id, sees=sees, author=who, projects=_projects(ctx, wh),
                               audit=_audit(ctx, who))
        view = incident_view(st, incident_id, sees)
    _dump(doc) if as_json else _summary({**view, "assessment": None, "decisions": []})


def _params(items: list[str] | None) -> dict[str, str]:
    out = {}
    for it in items or []:
        k, sep, v = it.partition("=")
        if not sep or not k.strip():
            raise fail(f"--param {it!r}: expected KEY=VALUE")
        out[k.strip()] = v.strip()
    return out


@incident_app.command("decide")
def decide_cmd(
    ctx: typer.Context, incident_id: Iid,
    option: Annotated[str, typer.Option("--option", help="An option_id of `incident options` (or custom:...).")],
    reasons: Annotated[str, typer.Option("--reasons", help="Why this option.")],
    param: Annotated[list[str] | None, typer.Option("--param", help="KEY=VALUE, repeatable.")] = None,
    supersedes: Annotated[str | None, typer.Option("--supersedes", help="Decision id this one replaces.")] = None,
    government: Annotated[str | None, typer.Option("--government", help="Proposer's government (US/JP).")] = None,
    viewer: Viewer = "joint", author: As = None, as_json: AsJson = False,
) -> None:
    """Propose a decision (it takes effect when the approvals it needs are in)."""
    from critmin.incident.service import propose_decision

    who = _author(author)
    gov = government or (viewer if viewer in ("US", "JP") else "joint")
    with user_errors():
        d = propose_decision(_store(ctx), incident_id, sees=_sees(viewer), proposer=who, government=gov,
                             option_id=option, params=_params(param), reasons=reasons, supersedes=supersedes,
                             audit=_audit(ctx, who))
    _dump(d) if as_json else typer.echo(f"{d['decision_id']} proposed; approvals needed: "
                                        f"{', '.join(d['approvals_needed']) or 'none'}")


def _user_government(ctx: typer.Context, name: str) -> str:
    from critmin.cli.ops import cli_store
    from critmin.web import auth

    row = auth.get_user(cli_store(ctx), name)  # type: ignore[arg-type]
    if row is None or row[2]:
        raise fail(f"--as {name}: no active dashboard user of that name (`critmin users list`)")
    return auth.ROLES[row[1]].government


@incident_app.command("approve")
def approve_cmd(
    ctx: typer.Context, incident_id: Iid,
    decision: Annotated[str, typer.Argument(help="Decision id (DEC-...).")],
    author: Annotated[str, typer.Option("--as", help="The approving dashboard user.")],
    comment: Annotated[str | None, typer.Option("--comment")] = None,
    viewer: Viewer = "joint", as_json: AsJson = False,
) -> None:
    """Approve a decision for your government (a joint incident needs one approver from each)."""
    from critmin.incident.service import approve_decision

    gov = _user_government(ctx, author)
    with user_errors():
        d = approve_decision(_store(ctx), incident_id, decision, sees=_sees(viewer), approver=author,
                             government=gov, comment=comment, audit=_audit(ctx, author))
    _dump(d) if as_json else typer.echo(f"{decision}: {d['status']}; still needed: "
                                        f"{', '.join(d['approvals_needed']) or 'none'}")


@incident_app.command("close")
def close_cmd(ctx: typer.Context, incident_id: Iid,
              reason: Annotated[str, typer.Option("--reason", help="Why the incident is closed.")],
              viewer: Viewer = "joint", author: As = None, as_json: AsJson = False) -> None:
    """Close an incident (it stays readable; nothing is deleted)."""
    from critmin.incident.service import close_incident

    who = _author(author)
    with user_errors():
        inc = close_incident(_store(ctx), incident_id, sees=_sees(viewer), author=who, reason=reason,
                             audit=_audit(ctx, who))
    _dump(inc) if as_json else typer.echo(f"{incident_id}: closed")


@incident_app.command("brief")
def brief_cmd(ctx: typer.Context, incident_id: Iid,
              out: Annotated[Path, typer.Option("--out", help="File to write: .pdf (Typst) or .html.")],
              viewer: Viewer = "joint") -> None:
    """Write the one-page incident brief (PDF for a .pdf file, else HTML ready to print)."""
    from critmin.brief.fonts import FontsMissing
    from critmin.incident.pdf import IncidentPdfError, compile_pdf
    from critmin.incident.service import incident_view
    from critmin.web.api_incidents import render_brief

    with user_errors((FontsMissing, IncidentPdfError)):
        view = incident_view(_store(ctx), incident_id, _sees(viewer))
        if out.suffix.lower() == ".pdf":
            out.write_bytes(compile_pdf(view))
        else:
            out.write_text(render_brief(view, standalone=True), encoding="utf-8")
    typer.echo(f"wrote {out}")


@inventory_app.command("record")
def inventory_record_cmd(
    ctx: typer.Context,
    partner: Annotated[str, typer.Option("--partner", help="The partner holding the stock (name or ISO code).")],
    commodity: Annotated[str, typer.Option("--commodity", "-c")],
    tonnes: Annotated[float, typer.Option("--tonnes", min=0.0, help="Quantity held, metric tons.")],
    as_of: Annotated[str, typer.Option("--as-of", help="ISO date of the figure.")],
    source: Annotated[str, typer.Option("--source", help="'manual' or 'plan:<job id>' of the adopted plan.")] = "manual",
    visibility: Annotated[str, typer.Option("--visibility")] = "joint",
    note: Annotated[str | None, typer.Option("--note")] = None,
    author: As = None, as_json: AsJson = False,
) -> None:
    """Record a partner's stockpile inventory (append-only; the newest record counts)."""
    from critmin.data.normalize.commodities import resolve

    with user_errors():
        codes = countries(partner, "--partner")
        if len(codes) != 1:
            raise ValueError(f"--partner: give one partner, got {', '.join(codes)}")
        partner = codes[0]
        cid = resolve(commodity)
        iid = _store(ctx).record_inventory(partner=partner, commodity=cid, quantity_t=tonnes, as_of=as_of,
                                           source=source, visibility=visibility, recorded_by=_author(author),
                                           note=note)
    _dump({"inventory_id": iid}) if as_json else typer.echo(f"recorded inventory {iid}: {partner} {cid} {tonnes:g} t")


@inventory_app.command("adopt-plan")
def inventory_adopt_cmd(
    ctx: typer.Context, job_id: Annotated[str, typer.Argument(help="A finished stockpile plan job (dashboard).")],
    mode: Annotated[str, typer.Option("--mode", help="coordinated or independent optimum.")] = "coordinated",
    viewer: Viewer = "joint", author: As = None, as_json: AsJson = False,
) -> None:
    """Record the stocks of an adopted stockpile plan as each partner's inventory."""
    from critmin.cli.ops import cli_store
    from critmin.incident.service import adopt_plan
    from critmin.web.jobs import JobQueue
    from critmin.web.store import Database

    who = _author(author)
    with user_errors():
        job = JobQueue(Database(cli_store(ctx))).get(job_id)
        ids = adopt_plan(_store(ctx), job, job_id, sees=_sees(viewer), author=who, mode=mode,
                         audit=_audit(ctx, who))
    _dump({"inventory_ids": ids}) if as_json else typer.echo(f"recorded {len(ids)} inventory records from {job_id}")


@inventory_app.command("list")
def inventory_list_cmd(ctx: typer.Context, viewer: Viewer = "joint", as_json: AsJson = False) -> None:
    """The newest inventory record per partner and commodity."""
    with user_errors():
        inv = _store(ctx).inventory(_sees(viewer))
    rows = [{"partner": k[0], "commodity": k[1], **v} for k, v in sorted(inv.items())]
    if as_json:
        _dump(rows)
        return
    if not rows:
        typer.echo("no inventory recorded")
        return
    from critmin.cli.tables import Col, fit_table, number_text, print_table
    from critmin.data.normalize.commodities import display_name

    cols = [Col("partner"), Col("commodity"), Col("stock t", numeric=True), Col("as of"),
            Col("source", priority=1, max_width=24), Col("visibility", priority=2)]
    print_table(fit_table("Recorded stockpile inventory (the newest record per partner and commodity)", cols, [
        [r["partner"], display_name(r["commodity"]), number_text(r["quantity_t"]), str(r["as_of"]), str(r["source"]),
         str(r["visibility"])] for r in rows]))


@approver_app.command("grant")
def approver_grant_cmd(ctx: typer.Context, name: Annotated[str, typer.Argument()], author: As = None) -> None:
    """Give a dashboard user the approver flag."""
    _user_government(ctx, name)
    _store(ctx).set_approver(name, True, _author(author))
    _audit(ctx, _author(author))("incident.approver.grant", name, {})
    typer.echo(f"{name}: approver")


@approver_app.command("revoke")
def approver_revoke_cmd(ctx: typer.Context, name: Annotated[str, typer.Argument()], author: As = None) -> None:
    """Take the approver flag away."""
    _store(ctx).set_approver(name, False, _author(author))
    _audit(ctx, _author(author))("incident.approver.revoke", name, {})
    typer.echo(f"{name}: not an approver")


def register(app: typer.Typer) -> None:
    app.add_typer(incident_app, name="incident")
