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

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from critmin.web.access import CurrentUser
from critmin.web.auth import Principal
from critmin.web.context import WebContext, ctx_of
from critmin.web.convert import jsonable
from critmin.web.jobs import register_task
from critmin.web.models import ERRORS, Job, JobCreated

router = APIRouter(prefix="/api", tags=["projects"], responses=ERRORS)

ProjectId = Annotated[str, Path(min_length=1, max_length=64)]


def registry_viewer(p: Principal) -> str:
    """The registry's viewer for a role: its government; joint-public reads as joint (filtered)."""
    return p.role.government if p.role.government in ("US", "JP", "joint") else "joint"


def registry(ctx: WebContext):
    """The project registry in the operational store (seeded on first use by any process)."""
    from critmin.projects.registry import Registry

    if getattr(ctx, "_registry_ready", False) is False:
        with ctx.db.lock:
            Registry.open(ctx.ops)
            ctx._registry_ready = True  # type: ignore[attr-defined]
    return Registry(ctx.ops)


def registry_version(ctx: WebContext) -> int:
    """A number that changes with every committed write to the registry: ``project_version``
    only ever gains rows (an update and a delete append a version too), so its row count is a
    version of the whole registry. One small query; the key of answers built from the registry."""
    registry(ctx)
    row = ctx.ops.execute(REGISTRY_VERSION_SQL).fetchone()
    return int(row[0]) if row is not None else 0


REGISTRY_VERSION_SQL = "SELECT count(*) FROM project_version"


async def registry_version_async(ctx: WebContext) -> int:
    """:func:`registry_version`, awaited on the event loop (:func:`critmin.ops.aio.read`) once
    this process has opened the registry."""
    if getattr(ctx, "_registry_ready", False) is False:
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(registry_version, ctx)
    from critmin.ops import aio

    row = (await aio.read(ctx.ops, REGISTRY_VERSION_SQL)).fetchone()
    return int(row[0]) if row is not None else 0


def visible_projects(ctx: WebContext, p: Principal, **filters: Any) -> list[Any]:
    reg = registry(ctx)
    return [x for x in reg.list(registry_viewer(p), **filters) if p.can_see(str(x.visibility))]


def visible_project(ctx: WebContext, p: Principal, project_id: str) -> Any:
    from critmin.projects.registry import RegistryError

    reg = registry(ctx)
    try:
        proj = reg.get(project_id, registry_viewer(p))
    except RegistryError:
        proj = None
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
async def list_projects(
    request: Request,
    principal: CurrentUser,
    commodity: Annotated[str | None, Query(max_length=64)] = None,
    country: Annotated[str | None, Query(pattern="^[A-Z]{3}$")] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """Projects visible to the caller (US-only and JP-only projects are never shown across)."""
    import json

    from fastapi.responses import Response

    ctx = ctx_of(request)

    def body() -> bytes:
        items = visible_projects(ctx, principal, commodity=commodity, country=country, status=status)
        out = {"projects": [jsonable(x.model_dump(mode="json")) for x in items]}
        return json.dumps(out, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()

    # the answer depends on the role (what it sees), the filters and the registry's contents:
    # built once per registry version, then served as it is (one count query per request,
    # awaited on the event loop; a new version builds the answer in a worker thread)
    from starlette.concurrency import run_in_threadpool

    key = ("projects", principal.role.name, commodity, country, status)
    version = await registry_version_async(ctx)
    served = ctx.latest_hit(key, version)
    if served is None:
        served = await run_in_threadpool(ctx.latest, key, version, body)
    return Response(served, media_type="application/json")  # type: ignore[return-value]


@router.get("/projects/{project_id}", response_model=dict[str, Any])
def get_project(request: Request, principal: CurrentUser, project_id: ProjectId) -> dict:
    """One project (404 when unknown or not visible to the caller), with its ``version`` (send it
    back with an update: a stale one answers 409)."""
    ctx = ctx_of(request)
    out = visible_project(ctx, principal, project_id).model_dump(mode="json")
    out["version"] = registry(ctx).current_version(project_id, registry_viewer(principal))
    return out


@router.post("/projects", response_model=dict[str, Any], status_code=201)
def put_project(
    request: Request,
    principal: CurrentUser,
    record: Annotated[dict[str, Any], Body(description="A project record (fields of seed_projects.json)")],
    version: Annotated[int | None, Query(ge=1, description="The version you edited (409 when stale)")] = None,
) -> dict:
    """Create or update a project. You may write only projects your government may see.

    Optimistic versions: send the version you edited (``If-Match: <version>`` header, or a
    ``version`` query parameter); when the project has changed since, the answer is 409 and
    nothing is written. Without it, two writers racing on the same version still cannot both
    win: the second gets 409."""
    from critmin.ops import StaleVersion
    from critmin.projects.models import ProjectValidationError, validate_record
    from critmin.projects.registry import RegistryError

    ctx = ctx_of(request)
    pid = str(record.get("id", ""))[:64]
    expected = version
    if expected is None and request.headers.get("if-match"):
        raw = request.headers["if-match"].strip().strip('"').removeprefix("W/").strip('"')
        if not raw.isdigit():
            raise HTTPException(422, f"If-Match: expected a version number, got {raw[:40]!r}")
        expected = int(raw)
    try:
        proj = validate_record(record)
    except ProjectValidationError as exc:
        ctx.audit(request, principal, "project.put", "invalid", target=pid, detail={"error": str(exc)[:500]})
        raise HTTPException(422, str(exc)) from None
    if not principal.may_assign(str(proj.visibility)):
        ctx.audit(request, principal, "project.put", "refused", target=pid)
        raise HTTPException(403, f"role {principal.role.name} may not create {proj.visibility}-only records")
    reg = registry(ctx)
    from critmin.web.api_security import gate_project_write

    pending = gate_project_write(request, principal, reg, proj)  # id namespaces; joint -> own-only needs both
    if pending is not None:
        from fastapi.responses import JSONResponse

        return JSONResponse(pending, status_code=202)  # type: ignore[return-value]
    try:
        result = reg.put(proj, author=principal.name, viewer=registry_viewer(principal), expected_version=expected)
    except StaleVersion as exc:
        ctx.audit(request, principal, "project.put", "stale", target=pid, detail={"error": str(exc)})
        raise HTTPException(409, f"{exc}; reload the project and apply your change again") from None
    except RegistryError as exc:
        ctx.audit(request, principal, "project.put", "refused", target=pid)
        # an existing project of the other government: same answer as an unknown one
        raise HTTPException(404, f"no project with id {pid!r} writable by you") from exc
    ctx.audit(request, principal, "project.put", "ok", target=proj.id, detail={"result": str(result)})
    out = proj.model_dump(mode="json")
    # the version written (with an expected version it is exactly the next one; without, the
    # newest at the time of this read)
    out["version"] = (expected + 1 if expected is not None and result != "unchanged"
                      else reg.current_version(proj.id, registry_viewer(principal)))
    return out


@router.get("/clock", response_model=Clock)
def clock(
    request: Request,
    principal: CurrentUser,
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
    request: Request, principal: CurrentUser, req: SelectionRequest
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

    payload = {"task": "selection", "projects": [p.id for p in projects], "viewer": registry_viewer(principal),
               "sees": sorted(principal.role.sees), "budget_usd": req.budget_usd,
               "max_commodity_share": req.max_commodity_share}
    return start_job(ctx, request, principal, "selection", req.model_dump(), None, req.visibility, payload=payload)


@register_task("selection")
def _selection_task(ctx: WebContext, payload: dict[str, Any]) -> Any:
    """The portfolio selection over the projects named in the payload, read again from the
    registry with the submitter's viewer and visibilities (a project hidden meanwhile drops out)."""
    wanted = set(payload["projects"])
    sees = set(payload["sees"])

    def run(progress) -> dict[str, Any]:
        from critmin.projects.api import score_with_warehouse, select_portfolio

        projects = [p for p in registry(ctx).list(payload["viewer"])
                    if p.id in wanted and str(p.visibility) in sees]
        progress(0.05, f"scoring {len(projects)} projects")
        scores = score_with_warehouse(ctx.wh, projects)
        progress(0.8, "solving the selection MIP")
        res = select_portfolio(projects, scores, payload["budget_usd"], payload["max_commodity_share"])
        return jsonable({"selection": res, "scores": [s.to_dict() for s in scores]})

    return run


@router.get("/projects/selection/{job_id}", response_model=Job)
def get_selection(
    request: Request, principal: CurrentUser,
    job_id: Annotated[str, Path(max_length=64)],
) -> dict[str, Any]:
    """A portfolio selection run: progress, then the selected portfolio, exclusions and scores."""
    from critmin.web.runs import visible_job

    return visible_job(ctx_of(request), principal, "selection", job_id)
