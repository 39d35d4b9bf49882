"""Projects API: the registry (visibility-scoped), the portfolio selection and the clock.

Visibility: the project registry filters every read by a *viewer* government (``US``, ``JP``,
``joint``). The ``viewer`` role (joint-public) may see only ``joint`` projects; the registry
is asked as ``joint`` and the answer is filtered down to ``joint`` records here, before
anything leaves the server (lists, details, clock, selections). A project the caller may not
see answers 404 with the same message as an unknown id.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from critmin.web.access import current
from critmin.web.auth import Principal
from critmin.web.context import WebContext, ctx_of
from critmin.web.convert import jsonable
from critmin.web.models import ERRORS, Job, JobCreated

router = APIRouter(prefix="/api", tags=["projects"], responses=ERRORS)

ProjectId = Annotated[str, Path(min_length=1, max_length=64)]


def registry_viewer(p: Principal) -> str:
    """The registry's viewer for a role: its government; joint-public reads as joint (filtered)."""
    return p.role.government if p.role.government in ("US", "JP", "joint") else "joint"


def registry(ctx: WebContext):
    from critmin.projects.registry import Registry

    with ctx.db.lock:
        if getattr(ctx, "_registry_ready", False) is False:
            Registry.open(ctx.db.con)  # create tables, seed on first use
            ctx._registry_ready = True  # type: ignore[attr-defined]
    return Registry(ctx.db.con.cursor())


def visible_projects(ctx: WebContext, p: Principal, **filters: Any) -> list[Any]:
    reg = registry(ctx)
    try:
        return [x for x in reg.list(registry_viewer(p), **filters) if p.can_see(str(x.visibility))]
    finally:
        reg.con.close()


def visible_project(ctx: WebContext, p: Principal, project_id: str) -> Any:
    from critmin.projects.registry import RegistryError

    reg = registry(ctx)
    try:
        proj = reg.get(project_id, registry_viewer(p))
    except RegistryError:
        proj = None
    finally:
        reg.con.close()
    if proj is None or not p.can_see(str(proj.visibility)):
        raise HTTPException(404, f"no project with id {project_id!r}")
    return proj


class ProjectList(BaseModel):
    projects: list[dict[str, Any]]


class Clock(BaseModel):
    today: str
    deadlines: dict[str, str]
    days_left: dict[str, int]
    projects: list[dict[str, Any]]
    overdue_permits: list[dict[str, Any]]


class SelectionRequest(BaseModel):
    budget_usd: dict[str, float] = Field(
        description="Budget per partner, e.g. {'USA': 2e9, 'JPN': 1e9}", examples=[{"USA": 2e9, "JPN": 1e9}]
    )
    max_commodity_share: float | None = Field(default=None, ge=0, le=1)
    projects: list[str] | None = Field(default=None, description="Project ids to consider (default: all visible)")
    visibility: str | None = Field(default=None, pattern="^(US|JP|joint)$",
                                   description="Who may read the result (default: your government)")


@router.get("/projects", response_model=ProjectList)
def list_projects(
    request: Request,
    principal: Annotated[Principal, Depends(current)],
    commodity: Annotated[str | None, Query(max_length=64)] = None,
    country: Annotated[str | None, Query(pattern="^[A-Z]{3}$")] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """Projects visible to the caller (US-only and JP-only projects are never shown across)."""
    ctx = ctx_of(request)
    items = visible_projects(ctx, principal, commodity=commodity, country=country, status=status)
    return {"projects": [jsonable(x.model_dump(mode="json")) for x in items]}


@router.get("/projects/{project_id}", response_model=dict[str, Any])
def get_project(request: Request, principal: Annotated[Principal, Depends(current)], project_id: ProjectId) -> dict:
    """One project (404 when unknown or not visible to the caller)."""
    return visible_project(ctx_of(request), principal, project_id).model_dump(mode="json")


@router.post("/projects", response_model=dict[str, Any], status_code=201)
def put_project(
    request: Request,
    principal: Annotated[Principal, Depends(current)],
    record: Annotated[dict[str, Any], Body(description="A project record (fields of seed_projects.json)")],
) -> dict:
    """Create or update a project. You may write only projects your government may see."""
    from critmin.projects.models import ProjectValidationError, validate_record
    from critmin.projects.registry import RegistryError

    ctx = ctx_of(request)
    pid = str(record.get("id", ""))[:64]
    try:
        proj = validate_record(record)
    except ProjectValidationError as exc:
        ctx.audit(request, principal, "project.put", "invalid", target=pid, detail={"error": str(exc)[:500]})
        raise HTTPException(422, str(exc)) from None
    if not principal.may_assign(str(proj.visibility)):
        ctx.audit(request, principal, "project.put", "refused", target=pid)
        raise HTTPException(403, f"role {principal.role.name} may not create {proj.visibility}-only records")
    reg = registry(ctx)
    try:
        with ctx.db.lock:
            result = reg.put(proj, author=principal.name, viewer=registry_viewer(principal))
    except RegistryError as exc:
        ctx.audit(request, principal, "project.put", "refused", target=pid)
        # an existing project of the other government: same answer as an unknown one
        raise HTTPException(404, f"no project with id {pid!r} writable by you") from exc
    finally:
        reg.con.close()
    ctx.audit(request, principal, "project.put", "ok", target=proj.id, detail={"result": str(result)})
    return proj.model_dump(mode="json")


@router.get("/clock", response_model=Clock)
def clock(
    request: Request,
    principal: Annotated[Principal, Depends(current)],
    today: Annotated[dt.date | None, Query(description="Evaluate as of this date (default: today)")] = None,
) -> dict[str, Any]:
    """The framework clock: financing (six months) and ministerial (180 days) deadlines, each
    visible project's track and its overdue permitting milestones."""
    from critmin.projects.clock import deadlines_from_settings, project_track

    day = today or dt.date.today()
    deadlines = deadlines_from_settings()
    tracks = [project_track(p, day, deadlines) for p in visible_projects(ctx_of(request), principal)]
    overdue = [
        {"project": t["project"], "project_name": t["name"], "milestone": m["name"],
         "target_date": m["target_date"], "days": m["days"]}
        for t in tracks for m in t["milestones"] if m["state"] == "overdue"
    ]
    return {
        "today": day.isoformat(),
        "deadlines": {k: v.isoformat() for k, v in deadlines.items()},
        "days_left": {k: (v - day).days for k, v in deadlines.items() if k != "signed"},
        "projects": tracks,
        "overdue_permits": sorted(overdue, key=lambda o: -o["days"]),
    }


@router.post("/projects/selection", response_model=JobCreated, status_code=202)
def start_selection(
    request: Request, principal: Annotated[Principal, Depends(current)], req: SelectionRequest
) -> dict[str, Any]:
    """Run the joint portfolio selection over the projects the caller may see (background job)."""
    from critmin.web.runs import start_job

    ctx = ctx_of(request)
    projects = visible_projects(ctx, principal)
    if req.projects is not None:
        known = {p.id for p in projects}
        missing = [i for i in req.projects if i not in known]
        if missing:
            raise HTTPException(404, f"no project with id {missing[0]!r}")
        projects = [p for p in projects if p.id in set(req.projects)]
    if not projects:
        raise HTTPException(422, "no projects to select from")
    audience = req.visibility or principal.default_visibility
    hidden = [p.id for p in projects if str(p.visibility) not in ("joint", audience)]
    if hidden:
        raise HTTPException(
            422,
            f"visibility {audience!r}: the result would show {len(hidden)} project(s) that readers of "
            f"{audience!r} records may not see; choose visibility of your government or list only joint projects",
        )

    def run(progress) -> dict[str, Any]:
        from critmin.projects.api import score_with_warehouse, select_portfolio

        progress(0.05, f"scoring {len(projects)} projects")
        scores = score_with_warehouse(ctx.wh, projects)
        progress(0.8, "solving the selection MIP")
        res = select_portfolio(projects, scores, req.budget_usd, req.max_commodity_share)
        return jsonable({"selection": res, "scores": [s.to_dict() for s in scores]})

    return start_job(ctx, request, principal, "selection", req.model_dump(), None, req.visibility, run)


@router.get("/projects/selection/{job_id}", response_model=Job)
def get_selection(
    request: Request, principal: Annotated[Principal, Depends(current)],
    job_id: Annotated[str, Path(max_length=64)],
) -> dict[str, Any]:
    """A portfolio selection run: progress, then the selected portfolio, exclusions and scores."""
    from critmin.web.runs import visible_job

    return visible_job(ctx_of(request), principal, "selection", job_id)
