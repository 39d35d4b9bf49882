"""Incidents: JSON API under ``/api/incidents`` and the dashboard pages ``/incidents``.

Handlers validate, call :mod:`critmin.incident.service` and render. Visibility: every read asks
the store with the caller's ``role.sees``; an incident the caller may not see answers 404 with
the same message as an unknown id, on every route, page and export. Writes need a writer role
(and the CSRF token for a browser session); creating an incident needs a visibility the caller
may assign (``Principal.may_assign``). Approving a decision needs the approver flag (granted by
a joint-admin: ``POST /api/incidents/approvers/{name}``) and a government of US or JP; a joint
decision needs one approver of each (:meth:`critmin.incident.store.IncidentStore.approve`).

The access rules of these routes are declared here (:data:`INCIDENT_RULES`) and added to
:data:`critmin.web.access.RULES` when the module is imported, so the app-wide check covers
them like every other route (fail closed: a route without a rule answers 500).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from critmin.web.access import ADMIN, ANY, RULES, WRITERS, CurrentUser, Rule
from critmin.web.auth import Principal
from critmin.web.context import WebContext, ctx_of

INCIDENT_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/api/incidents"): Rule(ANY, records="incident"),
    ("POST", "/api/incidents"): Rule(WRITERS, write=True, records="incident"),
    ("GET", "/api/incidents/inventory"): Rule(ANY, records="incident"),
    ("POST", "/api/incidents/inventory"): Rule(WRITERS, write=True, records="incident"),
    ("POST", "/api/incidents/inventory/adopt"): Rule(WRITERS, write=True, records="job"),
    ("POST", "/api/incidents/approvers/{name}"): Rule(ADMIN, write=True),
    ("GET", "/api/incidents/{incident_id}"): Rule(ANY, records="incident"),
    ("GET", "/api/incidents/{incident_id}/export"): Rule(ANY, records="incident"),
    ("POST", "/api/incidents/{incident_id}/assess"): Rule(WRITERS, write=True, records="incident"),
    ("POST", "/api/incidents/{incident_id}/options"): Rule(WRITERS, write=True, records="incident"),
    ("POST", "/api/incidents/{incident_id}/decisions"): Rule(WRITERS, write=True, records="incident"),
    ("POST", "/api/incidents/{incident_id}/decisions/{decision_id}/approve"):
        Rule(WRITERS, write=True, records="incident"),
    ("POST", "/api/incidents/{incident_id}/close"): Rule(WRITERS, write=True, records="incident"),
    ("GET", "/incidents"): Rule(ANY, records="incident"),
    ("GET", "/incidents/{incident_id}"): Rule(ANY, records="incident"),
    ("GET", "/incidents/{incident_id}/brief"): Rule(ANY, records="incident"),
    ("GET", "/incidents/{incident_id}/brief.pdf"): Rule(ANY, records="incident"),
    ("POST", "/incidents"): Rule(WRITERS, write=True, records="incident"),
    ("POST", "/incidents/{incident_id}/decide"): Rule(WRITERS, write=True, records="incident"),
    ("POST", "/incidents/{incident_id}/approve"): Rule(WRITERS, write=True, records="incident"),
}
RULES.update(INCIDENT_RULES)

router = APIRouter(tags=["incidents"])
IncidentId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
DecisionId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]


def incident_store(ctx: WebContext) -> Any:
    from critmin.incident.store import IncidentStore

    return IncidentStore(ctx.ops.engine)


def _sees(p: Principal) -> tuple[str, ...]:
    return tuple(sorted(p.role.sees))


def _audit(ctx: WebContext, request: Request, p: Principal):  # noqa: ANN202 - a closure
    def write(action: str, target: str, detail: dict[str, Any]) -> None:
        ctx.audit(request, p, action, "ok", target=target, detail=detail)
    return write


def _projects(ctx: WebContext, p: Principal):  # noqa: ANN202
    from critmin.web.api_projects import visible_projects

    def source(viewer: str, cids: Any) -> list[Any]:
        # the incident's own visibility decides which projects its options may name
        allowed = {"US": {"US", "joint"}, "JP": {"JP", "joint"}, "joint": {"joint"}}[viewer]
        return [x for c in cids for x in visible_projects(ctx, p, commodity=c) if str(x.visibility) in allowed]
    return source


def _not_found(iid: str) -> HTTPException:
    return HTTPException(404, f"no incident {iid!r}")


def _view(ctx: WebContext, p: Principal, iid: str) -> dict[str, Any]:
    from critmin.incident.service import incident_view
    from critmin.incident.store import IncidentNotFound

    try:
        return incident_view(incident_store(ctx), iid, _sees(p))
    except IncidentNotFound:
        raise _not_found(iid) from None


def _user_error(exc: Exception, iid: str | None = None) -> HTTPException:
    from critmin.incident.store import IncidentNotFound

    if isinstance(exc, IncidentNotFound):
        return _not_found(iid or "")
    return HTTPException(422, str(exc))


class OpenRequest(BaseModel):
    trigger: str | None = Field(default=None, max_length=80, description="Curated event id")
    signal: str | None = Field(default=None, max_length=300, description="Signal id of `markets signals`")
    scenario: str | None = Field(default=None, max_length=120, pattern=r"^[A-Za-z0-9_.-]+$",
                                 description="A scenario of the shipped library (name without .toml)")
    visibility: str | None = Field(default=None, pattern="^(US|JP|joint)$")
    runs: int | None = Field(default=None, ge=0, le=20000)


class DecisionRequest(BaseModel):
    option_id: str = Field(min_length=1, max_length=200)
    reasons: str = Field(min_length=1, max_length=4000)
    params: dict[str, Any] = Field(default_factory=dict)
    supersedes: str | None = Field(default=None, max_length=40)


class ApprovalRequest(BaseModel):
    comment: str | None = Field(default=None, max_length=2000)


class CloseRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class InventoryRequest(BaseModel):
    partner: str = Field(pattern="^[A-Z]{3}$")
    commodity: str = Field(min_length=1, max_length=64)
    quantity_t: float = Field(ge=0)
    as_of: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    source: str = Field(default="manual", max_length=200)
    visibility: str | None = Field(default=None, pattern="^(US|JP|joint)$")
    note: str | None = Field(default=None, max_length=2000)


class AdoptRequest(BaseModel):
    job_id: str = Field(min_length=1, max_length=64)
    mode: str = Field(default="coordinated", pattern="^(coordinated|independent)$")


class ApproverRequest(BaseModel):
    granted: bool = True


def _scenario_path(name: str) -> str:
    from critmin.web.tasks import scenario_dir

    p = scenario_dir() / f"{name}.toml"
    if not p.is_file():
        raise HTTPException(404, f"no scenario {name!r} in the library")
    return str(p)


def open_for(ctx: WebContext, request: Request, p: Principal, req: OpenRequest) -> dict[str, Any]:
    from critmin.incident.service import open_incident, trigger_from

    vis = req.visibility or p.default_visibility
    if not p.may_assign(vis):
        raise HTTPException(403, f"role {p.role.name} may not create {vis}-only incidents")
    scen = _scenario_path(req.scenario) if req.scenario else None
    try:
        tr = trigger_from(ctx.wh, event=req.trigger, signal=req.signal, scenario=scen)
        inc = open_incident(ctx.wh, incident_store(ctx), tr, visibility=vis, author=p.name, sees=_sees(p),
                            runs=req.runs, projects=_projects(ctx, p), audit=_audit(ctx, request, p))
    except (ValueError, LookupError) as exc:
        raise _user_error(exc) from None
    return _view(ctx, p, inc["incident_id"])


@router.get("/api/incidents")
def list_incidents(request: Request, principal: CurrentUser, status: str | None = None) -> dict[str, Any]:
    """Incidents visible to the caller, newest first (``status=open`` for the unfinished ones:
    every status but closed)."""
    st = incident_store(ctx_of(request))
    want = None if status is None else (["open", "assessed", "options", "decided"] if status == "open" else [status])
    items = st.list(_sees(principal), want)
    keep = ("incident_id", "title", "status", "visibility", "start_date", "commodities", "countries", "targets",
            "updated_at", "people")
    return {"incidents": [{k: i.get(k) for k in keep} for i in items]}


@router.post("/api/incidents", status_code=201)
def open_incident_api(request: Request, principal: CurrentUser, req: OpenRequest) -> dict[str, Any]:
    """Open an incident from a trigger (event id, signal id, or a library scenario); it is
    assessed and its options ranked before the answer (a few seconds)."""
    return open_for(ctx_of(request), request, principal, req)


@router.get("/api/incidents/inventory")
def list_inventory(request: Request, principal: CurrentUser) -> dict[str, Any]:
    """The newest recorded inventory per partner and commodity that the caller may see."""
    inv = incident_store(ctx_of(request)).inventory(_sees(principal))
    return {"inventory": [{"partner": k[0], "commodity": k[1], **v} for k, v in sorted(inv.items())]}


@router.post("/api/incidents/inventory", status_code=201)
def record_inventory(request: Request, principal: CurrentUser, req: InventoryRequest) -> dict[str, Any]:
    """Record a partner's stockpile inventory (append-only)."""
    from critmin.data.normalize.commodities import resolve

    ctx = ctx_of(request)
    vis = req.visibility or principal.default_visibility
    if not principal.may_assign(vis):
        raise HTTPException(403, f"role {principal.role.name} may not create {vis}-only records")
    try:
        cid = resolve(req.commodity)
        iid = incident_store(ctx).record_inventory(partner=req.partner, commodity=cid, quantity_t=req.quantity_t,
                                                   as_of=req.as_of, source=req.source, visibility=vis,
                                                   recorded_by=principal.name, note=req.note)
    except (ValueError, LookupError) as exc:
        raise HTTPException(422, str(exc)) from None
    ctx.audit(request, principal, "incident.inventory", "ok", target=f"{req.partner}:{cid}",
              detail={"inventory_id": iid, "quantity_t": req.quantity_t, "visibility": vis})
    return {"inventory_id": iid}


@router.post("/api/incidents/inventory/adopt", status_code=201)
def adopt_plan_api(request: Request, principal: CurrentUser, req: AdoptRequest) -> dict[str, Any]:
    """Record the stocks of an adopted stockpile plan (a finished plan job you may see) as the
    partners' inventory, with the plan's visibility."""
    from critmin.incident.service import adopt_plan

    ctx = ctx_of(request)
    try:
        ids = adopt_plan(incident_store(ctx), ctx.jobs.get(req.job_id), req.job_id, sees=_sees(principal),
                         author=principal.name, mode=req.mode, audit=_audit(ctx, request, principal))
    except LookupError:
        raise HTTPException(404, f"no stockpile plan {req.job_id!r}") from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"inventory_ids": ids}


@router.post("/api/incidents/approvers/{name}")
def set_approver(request: Request, principal: CurrentUser, name: Annotated[str, Path(max_length=64)],
                 req: ApproverRequest) -> dict[str, Any]:
    """Grant or revoke a user's approver flag (joint-admin only)."""
    ctx = ctx_of(request)
    incident_store(ctx).set_approver(name, req.granted, principal.name)
    ctx.audit(request, principal, "incident.approver", "ok", target=name, detail={"granted": req.granted})
    return {"user": name, "approver": req.granted}


@router.get("/api/incidents/{incident_id}")
def get_incident(request: Request, principal: CurrentUser, incident_id: IncidentId) -> dict[str, Any]:
    """The incident: record, timeline, newest assessment and options, decision log."""
    return _view(ctx_of(request), principal, incident_id)


@router.get("/api/incidents/{incident_id}/export")
def export_incident(request: Request, principal: CurrentUser, incident_id: IncidentId) -> Response:
    """The whole incident as a JSON file (for the record)."""
    view = _view(ctx_of(request), principal, incident_id)
    return Response(json.dumps(view, indent=2, default=str), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{incident_id}.json"'})


def _step(request: Request, principal: Principal, incident_id: str, fn: Any, **kw: Any) -> Any:
    ctx = ctx_of(request)
    try:
        return fn(incident_store(ctx), incident_id, sees=_sees(principal), audit=_audit(ctx, request, principal), **kw)
    except (ValueError, LookupError) as exc:
        raise _user_error(exc, incident_id) from None


@router.post("/api/incidents/{incident_id}/assess")
def reassess(request: Request, principal: CurrentUser, incident_id: IncidentId) -> dict[str, Any]:
    """Run the assessment again (new inventory records, a new data import)."""
    from critmin.incident.service import assess_incident

    ctx = ctx_of(request)
    _step(request, principal, incident_id, lambda st, iid, **kw: assess_incident(ctx.wh, st, iid, author=principal.name,
                                                                                  **kw))
    return _view(ctx, principal, incident_id)


@router.post("/api/incidents/{incident_id}/options")
def rerank(request: Request, principal: CurrentUser, incident_id: IncidentId) -> dict[str, Any]:
    """Rank the response options again from the newest assessment."""
    from critmin.incident.service import options_incident

    ctx = ctx_of(request)
    _step(request, principal, incident_id, lambda st, iid, **kw: options_incident(
        ctx.wh, st, iid, author=principal.name, projects=_projects(ctx, principal), **kw))
    return _view(ctx, principal, incident_id)


def _government(p: Principal) -> str:
    return p.role.government if p.role.government in ("US", "JP") else "joint"


@router.post("/api/incidents/{incident_id}/decisions", status_code=201)
def propose(request: Request, principal: CurrentUser, incident_id: IncidentId, req: DecisionRequest) -> dict[str, Any]:
    """Propose a decision (an option of the newest ranking, or ``custom:...``), with reasons."""
    from critmin.incident.service import propose_decision

    out: dict[str, Any] = _step(request, principal, incident_id, propose_decision, proposer=principal.name,
                                government=_government(principal), option_id=req.option_id, params=req.params,
                                reasons=req.reasons, supersedes=req.supersedes)
    return out


@router.post("/api/incidents/{incident_id}/decisions/{decision_id}/approve")
def approve(request: Request, principal: CurrentUser, incident_id: IncidentId, decision_id: DecisionId,
            req: ApprovalRequest) -> dict[str, Any]:
    """Approve a decision for your government (needs the approver flag)."""
    from critmin.incident.service import approve_decision

    out: dict[str, Any] = _step(request, principal, incident_id,
                                lambda st, iid, **kw: approve_decision(st, iid, decision_id, **kw),
                                approver=principal.name, government=principal.role.government, comment=req.comment)
    return out


@router.post("/api/incidents/{incident_id}/close")
def close(request: Request, principal: CurrentUser, incident_id: IncidentId, req: CloseRequest) -> dict[str, Any]:
    from critmin.incident.service import close_incident

    out: dict[str, Any] = _step(request, principal, incident_id, close_incident, author=principal.name,
                                reason=req.reason)
    return out


# -- pages -----------------------------------------------------------------------------------
def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    from critmin.web.pages import page

    return page(request, name, "incidents", context, status_code)


@router.get("/incidents", response_class=HTMLResponse, include_in_schema=False)
def incidents_page(request: Request, principal: CurrentUser) -> Response:
    from critmin.markets.events import load_events

    items = incident_store(ctx_of(request)).list(_sees(principal))
    ev = load_events()
    events = [{"event_id": k, "title": f"{k}: {g.iloc[0]['measure']} by {g.iloc[0]['country_iso3']} on "
               + ", ".join(g["commodity_id"]), "effective": g.iloc[0]["effective"].date().isoformat()}
              for k, g in ev.groupby("event_id", sort=False)]
    return _page(request, "incidents.html", {"incidents": items, "events": events[::-1]})


@router.post("/incidents", include_in_schema=False)
def open_from_form(request: Request, principal: CurrentUser, trigger: Annotated[str, Form(max_length=80)],
                   visibility: Annotated[str, Form(pattern="^(US|JP|joint)$")]) -> Response:
    view = open_for(ctx_of(request), request, principal, OpenRequest(trigger=trigger, visibility=visibility))
    return RedirectResponse(f"/incidents/{view['incident']['incident_id']}", status_code=303)


@router.get("/incidents/{incident_id}", response_class=HTMLResponse, include_in_schema=False)
def incident_page(request: Request, principal: CurrentUser, incident_id: IncidentId) -> Response:
    ctx = ctx_of(request)
    view = _view(ctx, principal, incident_id)
    st = incident_store(ctx)
    can_approve = principal.role.government in ("US", "JP") and st.is_approver(principal.name)
    return _page(request, "incident.html", {"v": view, "charts": charts(view), "can_approve": can_approve,
                                            "government": principal.role.government})


@router.get("/incidents/{incident_id}/brief", response_class=HTMLResponse, include_in_schema=False)
def incident_brief(request: Request, principal: CurrentUser, incident_id: IncidentId) -> Response:
    return HTMLResponse(render_brief(_view(ctx_of(request), principal, incident_id)))


@router.get("/incidents/{incident_id}/brief.pdf", include_in_schema=False)
def incident_brief_pdf(request: Request, principal: CurrentUser, incident_id: IncidentId) -> Response:
    """The one-page brief as PDF (Typst, as the briefing pack)."""
    from critmin.brief.fonts import FontsMissing
    from critmin.incident.pdf import IncidentPdfError, compile_pdf

    view = _view(ctx_of(request), principal, incident_id)
    try:
        pdf = compile_pdf(view)
    except (FontsMissing, IncidentPdfError) as exc:
        raise HTTPException(503, f"the PDF cannot be made here: {exc}") from None
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{incident_id}.pdf"'})


@router.post("/incidents/{incident_id}/decide", include_in_schema=False)
def decide_from_form(request: Request, principal: CurrentUser, incident_id: IncidentId,
                     option_id: Annotated[str, Form(max_length=200)], reasons: Annotated[str, Form(max_length=4000)],
                     supersedes: Annotated[str, Form(max_length=40)] = "") -> Response:
    propose(request, principal, incident_id,
            DecisionRequest(option_id=option_id, reasons=reasons, supersedes=supersedes or None))
    return RedirectResponse(f"/incidents/{incident_id}#decisions", status_code=303)


@router.post("/incidents/{incident_id}/approve", include_in_schema=False)
def approve_from_form(request: Request, principal: CurrentUser, incident_id: IncidentId,
                      decision_id: Annotated[str, Form(max_length=40)],
                      comment: Annotated[str, Form(max_length=2000)] = "") -> Response:
    approve(request, principal, incident_id, decision_id, ApprovalRequest(comment=comment or None))
    return RedirectResponse(f"/incidents/{incident_id}#decisions", status_code=303)


def charts(view: dict[str, Any]) -> dict[str, Any]:
    """Chart data of the assessment (drawn by static/incident.js): per commodity, the monthly
    shortfall of each partner (t) and the price change in the restricted and the open pool."""
    a = view.get("assessment")
    if not a:
        return {}
    return {"commodities": [{
        "commodity": c["commodity"],
        "months": [m["month"] for m in c["price_monthly"]],
        "restricted_pct": [m["restricted_pct"] for m in c["price_monthly"]],
        "open_pct": [m["open_pct"] for m in c["price_monthly"]],
        "partners": [{"partner": p["partner"], "shortfall_t": [m["shortfall_t"] for m in p["monthly"]]}
                     for p in c["partners"]],
    } for c in a["commodities"]]}


def render_brief(view: dict[str, Any], *, standalone: bool = False) -> str:
    """The one-page incident brief, HTML ready to print. Served, it links its stylesheet (the
    CSP allows no inline style); ``standalone`` (the CLI's ``incident brief --out``) inlines it."""
    from critmin.web.templating import STATIC_DIR, templates

    css = (STATIC_DIR / "incident_brief.css").read_text(encoding="utf-8") if standalone else None
    return templates.env.get_template("incident_brief.html").render(v=view, inline_css=css)


async def open_incidents_for(request: Request) -> list[dict[str, Any]]:
    """The unfinished incidents the caller may see (the overview's list), newest first; one
    read awaited on the event loop (:meth:`IncidentStore.alist`)."""
    p = getattr(request.state, "principal", None)
    if p is None:
        return []
    ctx = ctx_of(request)
    return await incident_store(ctx).alist(ctx.ops, _sees(p), ["open", "assessed", "options", "decided"])
