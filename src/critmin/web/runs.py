"""Starting background jobs on behalf of a user: visibility check, audit, submit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import HTTPException, Request

from critmin.web.auth import Principal
from critmin.web.context import WebContext


def start_job(
    ctx: WebContext,
    request: Request,
    principal: Principal,
    kind: str,
    spec: dict[str, Any],
    seed: int | None,
    visibility: str | None,
    fn: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """Submit ``fn`` as a job of ``kind``; audited at start and at the end (by the runner)."""
    vis = visibility or principal.default_visibility
    if not principal.may_assign(vis):
        ctx.audit(request, principal, f"{kind}.start", "refused", detail={"visibility": vis})
        raise HTTPException(403, f"role {principal.role.name} may not create {vis}-only records")
    job_id = ctx.jobs.submit(
        kind=kind, owner=principal.name, role=principal.role.name, visibility=vis, spec=spec,
        seed=seed, fn=fn,
    )
    ctx.audit(request, principal, f"{kind}.start", "ok", target=job_id,
              detail={"seed": seed, "visibility": vis, "spec": spec})
    base = {"simulation": "/api/simulations", "stockpile": "/api/stockpile/plans",
            "selection": "/api/projects/selection"}[kind]
    return {"job_id": job_id, "status": "queued", "url": f"{base}/{job_id}"}


def visible_job(ctx: WebContext, principal: Principal, kind: str, job_id: str) -> dict[str, Any]:
    job = ctx.jobs.get(job_id)
    if job is None or job["kind"] != kind or not principal.can_see(job["visibility"]):
        raise HTTPException(404, f"no {kind} run with id {job_id!r}")
    return job
