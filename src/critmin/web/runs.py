"""Starting background jobs on behalf of a user: visibility, run-size limit, quota, audit, queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import HTTPException, Request

from critmin import settings
from critmin.web.auth import ROLES, Principal
from critmin.web.context import WebContext
from critmin.web.jobs import QuotaExceeded

_RUN_LIMITS = {"us-analyst": 100_000, "jp-analyst": 100_000, "joint-admin": 200_000, "viewer": 0}
for _role in ROLES:
    settings.register(
        f"jobs.max_runs.{_role}",
        _RUN_LIMITS.get(_role, 0),
        f"Largest run size (Monte Carlo runs, sampled stockpile scenarios) a {_role} may queue; 0: none.",
        "ASSUMPTION: 100,000 runs take about 20 s and 0.9 GB on the 2-core reference machine "
        "(issue 18: 200,000 runs, 39 s, 1.7 GB)",
    )

BASE_URL = {"simulation": "/api/simulations", "stockpile": "/api/stockpile/plans",
            "selection": "/api/projects/selection"}


def check_run_size(principal: Principal, size: int) -> None:
    """403 when ``size`` runs exceed the role's limit (setting ``jobs.max_runs.<role>``)."""
    limit = int(settings.get(f"jobs.max_runs.{principal.role.name}"))
    if size > limit:
        raise HTTPException(403, f"role {principal.role.name} may queue at most {limit:,} runs per job "
                                 f"(setting jobs.max_runs.{principal.role.name}); asked for {size:,}")


def start_job(
    ctx: WebContext,
    request: Request,
    principal: Principal,
    kind: str,
    spec: dict[str, Any],
    seed: int | None,
    visibility: str | None,
    fn: Callable[..., dict[str, Any]] | None = None,
    *,
    payload: dict[str, Any] | None = None,
    size: int = 1,
) -> dict[str, Any]:
    """Queue a job of ``kind`` (a task ``payload``, or a closure ``fn`` run in this process);
    audited at start and at the end (by the runner). Over quota: 429 with ``Retry-After``."""
    vis = visibility or principal.default_visibility
    if not principal.may_assign(vis):
        ctx.audit(request, principal, f"{kind}.start", "refused", detail={"visibility": vis})
        raise HTTPException(403, f"role {principal.role.name} may not create {vis}-only records")
    check_run_size(principal, size)
    try:
        job_id = ctx.jobs.submit(
            kind=kind, owner=principal.name, role=principal.role.name, visibility=vis, spec=spec,
            seed=seed, fn=fn, payload=payload, size=size,
        )
    except QuotaExceeded as exc:
        ctx.audit(request, principal, f"{kind}.start", "quota", detail={"reason": str(exc)})
        raise HTTPException(429, str(exc), headers={"Retry-After": "30"}) from None
    ctx.audit(request, principal, f"{kind}.start", "ok", target=job_id,
              detail={"seed": seed, "visibility": vis, "spec": spec})
    base = BASE_URL.get(kind, f"/api/jobs/{kind}")
    return {"job_id": job_id, "status": "queued", "url": f"{base}/{job_id}"}


def visible_job(ctx: WebContext, principal: Principal, kind: str, job_id: str) -> dict[str, Any]:
    job = ctx.jobs.get(job_id)
    if job is None or job["kind"] != kind or not principal.can_see(job["visibility"]):
        raise HTTPException(404, f"no {kind} run with id {job_id!r}")
    return job


def cancel_job(ctx: WebContext, request: Request, principal: Principal, kind: str, job_id: str) -> dict[str, Any]:
    """Cancel a job: its owner or a joint-admin (others: 404 if they cannot see it, else 403).
    A job that has finished is left as it is (the answer gives its status)."""
    from critmin.web.jobs import FINAL

    job = visible_job(ctx, principal, kind, job_id)
    if job["status"] in FINAL:
        return {"job_id": job_id, "status": job["status"]}
    if job["owner"] != principal.name and principal.role.name != "joint-admin":
        ctx.audit(request, principal, f"{kind}.cancel", "refused", target=job_id)
        raise HTTPException(403, "only the job's owner or a joint-admin may cancel it")
    status = ctx.jobs.cancel(job_id)
    ctx.audit(request, principal, f"{kind}.cancel", "ok", target=job_id, detail={"status": status})
    return {"job_id": job_id, "status": status}
