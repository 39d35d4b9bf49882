"""The briefing pack from the dashboard: ``POST /api/briefs`` queues a brief job (the workflow of
``critmin brief``, :func:`critmin.brief.service.generate`), ``GET /api/briefs/{job_id}`` reports
its progress and result, ``GET /api/briefs/{job_id}/files/{name}`` downloads ``brief.pdf`` or
``brief.xlsx``; ``GET /brief`` is the page.

Visibility: the job's visibility is the brief's (``US``, ``JP`` or ``joint``; default the
caller's government) and the brief reads only the records of that visibility
(:func:`critmin.brief.assemble.visible_projects`), so whoever may open the job may read every
record in it. A user may make briefs for their own government or joint ones (as for any job).
The task is registered (``brief``) so that any server or worker process can run it; its files
go to the operational store (:mod:`critmin.brief.store`) and each brief is audited with its
parameters and the sha256 of its files.
"""

from __future__ import annotations

import tempfile
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from critmin.web.access import ANY, READ, RULES, WRITERS, CurrentUser, Rule, current
from critmin.web.auth import Principal
from critmin.web.context import WebContext, ctx_of
from critmin.web.jobs import register_task
from critmin.web.models import ERRORS, Job, JobCreated, JobList
from critmin.web.runs import BASE_URL, start_job, visible_job

KIND = "brief"
BASE_URL.setdefault(KIND, "/api/briefs")
RULES.update({
    ("POST", "/api/briefs"): Rule(WRITERS, write=True, records="job"),
    ("GET", "/api/briefs"): Rule(ANY, records="job"),
    ("GET", "/api/briefs/{job_id}"): Rule(ANY, records="job"),
    ("GET", "/api/briefs/{job_id}/files/{name}"): Rule(ANY, records="job"),
    ("GET", "/brief"): READ,
})
router = APIRouter(responses=ERRORS)
JobId = Annotated[str, Path(min_length=1, max_length=64)]


class BriefBody(BaseModel):
    partners: list[str] = Field(default=["USA", "JPN"], min_length=1, max_length=10,
                                description="Partners the brief is for (ISO2 or ISO3)")
    year: int = Field(default=2024, ge=1990, le=2100)
    lang: str = Field(default="en", pattern="^(en|ja)$")
    visibility: str | None = Field(default=None, pattern="^(US|JP|joint)$",
                                   description="Whose records the brief may name (default: your government)")
    commodities: list[str] | None = Field(default=None, max_length=40)
    mc_runs: int | None = Field(default=None, ge=100, le=100_000, description="Monte Carlo runs (default: setting brief.mc_runs)")


def _payload(body: BriefBody, principal: Principal, visibility: str) -> dict[str, Any]:
    """Validated, resolved request as the job's JSON payload (422 before anything is queued)."""
    from critmin.data.errors import UnknownCommodity
    from critmin.data.normalize.commodities import resolve
    from critmin.risk.api import normalize_consumers

    try:
        partners = list(normalize_consumers(body.partners))
        cids = [str(resolve(c)) for c in body.commodities] if body.commodities else None
    except (ValueError, UnknownCommodity) as exc:
        raise HTTPException(422, str(exc)) from None
    return {"task": KIND, "partners": partners, "year": body.year, "lang": body.lang, "visibility": visibility,
            "commodities": cids, "mc_runs": body.mc_runs, "author": principal.name, "role": principal.role.name}


def brief_task(ctx: WebContext, payload: dict[str, Any]):  # noqa: ANN201 - a jobs.Task
    """The job: generate the brief, keep both files in the store, audit it."""
    def run(progress: Any) -> dict[str, Any]:
        from critmin.brief.assemble import BriefRequest
        from critmin.brief.service import generate, record_audit
        from critmin.brief.store import put_file

        req = BriefRequest(partners=tuple(payload["partners"]), year=int(payload["year"]), lang=str(payload["lang"]),
                           visibility=str(payload["visibility"]),
                           commodities=tuple(payload["commodities"]) if payload.get("commodities") else None,
                           mc_runs=payload.get("mc_runs"), author=str(payload["author"]))
        with tempfile.TemporaryDirectory(prefix="critmin-brief-job-") as tmp:
            res = generate(ctx.wh, req, FsPath(tmp), progress)
            files = {}
            for path in (res.pdf, res.xlsx):
                files[path.name] = put_file(ctx.ops, path.name, path.read_bytes())
        record_audit(ctx.ops, res, actor=str(payload["author"]), role=payload.get("role"))
        return {**res.to_dict(), "stored": files}

    return run


register_task(KIND)(brief_task)


@router.post("/api/briefs", response_model=JobCreated, status_code=202, tags=["brief"])
def start_brief(request: Request, principal: CurrentUser, body: BriefBody) -> dict[str, Any]:
    """Queue a briefing pack (PDF + Excel) for the partners, year, language and visibility."""
    vis = body.visibility or principal.default_visibility
    payload = _payload(body, principal, vis)
    spec = {k: payload[k] for k in ("partners", "year", "lang", "visibility", "commodities", "mc_runs")}
    return start_job(ctx_of(request), request, principal, KIND, spec, None, vis, payload=payload,
                     size=int(body.mc_runs or 1))


@router.get("/api/briefs", response_model=JobList, tags=["brief"])
def list_briefs(request: Request, principal: CurrentUser) -> dict[str, Any]:
    return {"jobs": ctx_of(request).jobs.list(KIND, principal.role.sees, 50)}


@router.get("/api/briefs/{job_id}", response_model=Job, tags=["brief"])
def get_brief(request: Request, principal: CurrentUser, job_id: JobId) -> dict[str, Any]:
    return visible_job(ctx_of(request), principal, KIND, job_id)


@router.get("/api/briefs/{job_id}/files/{name}", tags=["brief"], response_class=Response)
def download_brief(request: Request, principal: CurrentUser, job_id: JobId,
                   name: Annotated[str, Path(pattern=r"^brief\.(pdf|xlsx)$")]) -> Response:
    """One file of a finished brief (404 for a job the caller may not see)."""
    from critmin.brief.store import get_file

    ctx = ctx_of(request)
    job = visible_job(ctx, principal, KIND, job_id)
    if job["status"] != "done" or not job.get("result"):
        raise HTTPException(409, f"brief {job_id} is {job['status']}; its files are not ready")
    digest = (job["result"].get("stored") or {}).get(name)
    got = get_file(ctx.ops, digest) if digest else None
    if got is None:
        raise HTTPException(404, f"brief {job_id} has no file {name!r}")
    fname, media, content = got
    ctx.audit(request, principal, "brief.download", "ok", target=job_id, detail={"file": name, "sha256": digest})
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{fname}"'})


@router.get("/brief", response_class=HTMLResponse, include_in_schema=False)
def brief_page(request: Request) -> Response:
    from critmin.data.partners import partners
    from critmin.web.pages import page

    p = current(request)
    return page(request, "brief.html", "brief", {"partners": list(partners()), "default_visibility": p.default_visibility,
                                                 "visibilities": [v for v in ("US", "JP", "joint") if p.may_assign(v)]})
