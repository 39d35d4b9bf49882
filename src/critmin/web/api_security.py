"""Security administration and the two-government approvals: API and pages.

Joint-admin only: disable/enable a user (disabling ends every session and token at once),
lift a login lockout, remove a user's TOTP, audit checkpoints (write one now, export all,
verify), and the Users page. Every role: dashboard notices, visibility-change requests of joint
records and (analysts) their approval or rejection, the Approvals page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from critmin.web import approvals, audit, auth, throttle, totp
from critmin.web.access import CurrentUser, current
from critmin.web.context import ctx_of
from critmin.web.models import ERRORS

router = APIRouter(tags=["admin"], responses=ERRORS)
UserName = Annotated[str, Path(max_length=64)]


class Revoked(BaseModel):
    name: str
    tokens_revoked: int
    sessions_ended: int
    disabled: bool


def _user_or_404(con: Any, name: str) -> tuple[str, str, bool]:
    u = auth.get_user(con, name)
    if u is None:
        raise HTTPException(404, f"no user {name!r}")
    return u


@router.post("/api/users/{name}/disable", response_model=Revoked)
def disable_user(request: Request, principal: CurrentUser, name: UserName) -> Revoked:
    """Disable the user: every session ends and every token is revoked, at once."""
    ctx = ctx_of(request)
    if name == principal.name:
        raise HTTPException(422, "you cannot disable yourself (another joint-admin can)")
    with ctx.db.cursor() as con:
        _user_or_404(con, name)
        tokens, sessions = auth.set_disabled(con, name, True)
    ctx.auth_cache.clear()
    ctx.audit(request, principal, "user.disable", "ok", target=name,
              detail={"tokens_revoked": tokens, "sessions_ended": sessions})
    return Revoked(name=name, tokens_revoked=tokens, sessions_ended=sessions, disabled=True)


@router.post("/api/users/{name}/enable", response_model=Revoked)
def enable_user(request: Request, principal: CurrentUser, name: UserName) -> Revoked:
    """Enable a disabled user again (old sessions and tokens stay revoked)."""
    ctx = ctx_of(request)
    with ctx.db.cursor() as con:
        _user_or_404(con, name)
        auth.set_disabled(con, name, False)
    ctx.audit(request, principal, "user.enable", "ok", target=name)
    return Revoked(name=name, tokens_revoked=0, sessions_ended=0, disabled=False)


class Lifted(BaseModel):
    key: str
    was_locked: bool


class LockKey(BaseModel):
    key: str = Field(max_length=300, pattern=r"^(user|addr):.+$", description="user:<name> or addr:<address>")


def _lift(request: Request, principal: auth.Principal, key: str) -> Lifted:
    ctx = ctx_of(request)
    was = throttle.clear(ctx.db, key)
    ctx.audit(request, principal, "login.unlock", "ok", target=key, detail={"was_locked": was})
    return Lifted(key=key, was_locked=was)


@router.post("/api/users/{name}/unlock", response_model=Lifted)
def unlock_user(request: Request, principal: CurrentUser, name: UserName) -> Lifted:
    """Lift the login lockout of an account (and forget its failed logins)."""
    return _lift(request, principal, throttle.keys_for(name, None)[0])


@router.get("/api/lockouts", response_model=list[dict[str, Any]])
def lockouts(request: Request) -> list[dict[str, Any]]:
    """Accounts and client addresses locked out now."""
    with ctx_of(request).db.cursor() as con:
        return throttle.active_lockouts(con)


@router.post("/api/lockouts/lift", response_model=Lifted)
def lift_lockout(request: Request, principal: CurrentUser, body: LockKey) -> Lifted:
    """Lift one lockout (an account ``user:<name>`` or an address ``addr:<ip>``)."""
    return _lift(request, principal, body.key)


@router.post("/api/users/{name}/totp/remove", response_model=dict[str, Any])
def remove_totp(request: Request, principal: CurrentUser, name: UserName) -> dict:
    """Remove a user's TOTP second factor (lost phone); the user enrols again on the Account page."""
    ctx = ctx_of(request)
    with ctx.db.cursor() as con:
        _user_or_404(con, name)
        had = totp.remove(con, name)
    ctx.audit(request, principal, "totp.remove", "ok", target=name, detail={"had": had})
    return {"name": name, "removed": had}


# -- audit checkpoints ----------------------------------------------------------------------------


class Verified(BaseModel):
    ok: bool
    message: str


@router.post("/api/audit/checkpoint", response_model=dict[str, Any])
def audit_checkpoint(request: Request, principal: CurrentUser) -> dict:
    """Write a signed checkpoint of the audit chain's head now (outside the database)."""
    ctx = ctx_of(request)
    ctx.audit(request, principal, "audit.checkpoint", "ok")
    with ctx.db.cursor() as con:
        cp = audit.checkpoint(con)
    assert cp is not None
    return cp


@router.get("/api/audit/checkpoints", response_model=list[dict[str, Any]])
def audit_checkpoints(request: Request) -> list[dict[str, Any]]:
    """Every checkpoint, oldest first, with whether its signature checks (export them off the host)."""
    with ctx_of(request).db.cursor() as con:
        return audit.read_checkpoints(con)


@router.get("/api/audit/verify", response_model=Verified)
def audit_verify(request: Request) -> Verified:
    """Verify the keyed chain and compare it with the newest checkpoint."""
    with ctx_of(request).db.cursor() as con:
        ok, msg = audit.verify_chain(con)
    return Verified(ok=ok, message=msg)


# -- notices and approvals --------------------------------------------------------------------------


@router.get("/api/notices", response_model=dict[str, Any], tags=["auth"])
def get_notices(request: Request, principal: CurrentUser) -> dict:
    """Notices for your government (visibility-change requests and their outcome) and how many
    requests wait for your government's approval."""
    gov = principal.role.government
    with ctx_of(request).db.cursor() as con:
        pending = approvals.listing(con, "pending")
        items = approvals.notices(con, gov) if gov in ("US", "JP", "joint") else []
    waiting = [a for a in pending if gov in ("US", "JP") and a[f"{gov.lower()}_by"] is None]
    return {"notices": items, "awaiting_you": len(waiting), "pending": len(pending)}


@router.get("/api/approvals", response_model=list[dict[str, Any]], tags=["projects"])
def list_approvals(request: Request) -> list[dict[str, Any]]:
    """Visibility-change requests of joint records, newest first (they concern joint records,
    which every role may see)."""
    with ctx_of(request).db.cursor() as con:
        return approvals.listing(con)


def _decide(request: Request, principal: auth.Principal, approval_id: str, approve: bool) -> dict[str, Any]:
    ctx = ctx_of(request)
    action = "approval.approve" if approve else "approval.reject"
    try:
        with ctx.db.lock, ctx.db.cursor() as con:
            req = approvals.decide(con, approval_id, approve=approve, author=principal.name,
                                   government=principal.role.government)
    except approvals.ApprovalError as exc:
        ctx.audit(request, principal, action, "refused", target=approval_id, detail={"reason": str(exc)})
        raise HTTPException(exc.status, str(exc)) from None
    ctx.audit(request, principal, action, "ok", target=approval_id,
              detail={"kind": req["kind"], "record": req["target"], "to": req["to_visibility"]})
    if req["status"] == "approved":
        req = apply_approved(request, req)
    return req


def apply_approved(request: Request, req: dict[str, Any]) -> dict[str, Any]:
    """Write the record of an approved request (both governments agreed), or mark it stale."""
    if req["kind"] == "scenario":  # a saved scenario (critmin.web.api_scenarios_library)
        from critmin.web.api_scenarios_library import apply_approved as apply_scenario

        return apply_scenario(request, req)
    from critmin.projects.models import validate_record
    from critmin.web.api_projects import registry

    ctx = ctx_of(request)
    reg = registry(ctx)
    stored = req["record"]
    base = stored.get("base_version")
    now_version = reg.current_version(req["target"], "joint") if hasattr(reg, "current_version") else None
    with ctx.db.cursor() as con:
        if base is not None and now_version is not None and now_version != base:
            approvals.mark(con, req["approval_id"], "stale",
                           f"The visibility change of project {req['target']} was approved but the record changed "
                           f"meanwhile (version {base} -> {now_version}); nothing was written, ask again.")
            ctx.audit(request, None, "approval.apply", "stale", actor="approval:" + req["approval_id"],
                      target=req["target"], detail={"base_version": base, "current": now_version})
        else:
            proj = validate_record(stored["record"])
            reg.put(proj, author="approval:" + req["approval_id"], viewer="joint",
                    note=f"visibility {req['from_visibility']} -> {req['to_visibility']}, approved by "
                         f"{req['us_by']} (US) and {req['jp_by']} (JP)")
            approvals.mark(con, req["approval_id"], "applied",
                           f"Project {req['target']} is now {req['to_visibility']}-only: approved by "
                           f"{req['us_by']} (US) and {req['jp_by']} (JP).")
            ctx.audit(request, None, "approval.apply", "ok", actor="approval:" + req["approval_id"],
                      target=req["target"], detail={"to": req["to_visibility"]})
        out = approvals.get(con, req["approval_id"])
    assert out is not None
    return out


@router.post("/api/approvals/{approval_id}/approve", response_model=dict[str, Any], tags=["projects"])
def approve(request: Request, principal: CurrentUser,
            approval_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """Approve a visibility change for your government; applied when both governments approved."""
    return _decide(request, principal, approval_id, True)


@router.post("/api/approvals/{approval_id}/reject", response_model=dict[str, Any], tags=["projects"])
def reject(request: Request, principal: CurrentUser,
           approval_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """Reject a visibility change (the record stays joint)."""
    return _decide(request, principal, approval_id, False)


# -- pages -------------------------------------------------------------------------------------------


@router.get("/users", response_class=HTMLResponse, include_in_schema=False)
def users_page(request: Request) -> Response:
    from critmin.web.pages import page

    with ctx_of(request).db.cursor() as con:
        users = auth.list_users(con)
        locks = throttle.active_lockouts(con)
        for u in users:
            u["totp"] = totp.status(con, u["name"])
        ok, msg = audit.verify_chain(con)
    locked = {x["key"] for x in locks}
    for u in users:
        u["locked"] = throttle.keys_for(u["name"], None)[0] in locked
    return page(request, "users.html", "users", {"users": users, "lockouts": locks, "roles": list(auth.ROLES),
                                                 "chain_ok": ok, "chain_message": msg})


@router.get("/approvals", response_class=HTMLResponse, include_in_schema=False)
def approvals_page(request: Request) -> Response:
    from critmin.web.pages import page

    me = current(request)
    with ctx_of(request).db.cursor() as con:
        items = approvals.listing(con)
        notes = approvals.notices(con, me.role.government, limit=50) if me.role.government != "joint-public" else []
    return page(request, "approvals.html", "approvals", {"items": items, "notices": notes})


# -- the gate every project write passes (called by api_projects.put_project) ---------------------


def gate_project_write(request: Request, principal: auth.Principal, reg: Any, proj: Any) -> dict[str, Any] | None:
    """None when the write may go ahead; otherwise the answer to give instead (a pending
    request for a joint record's narrowing, 202). Raises the one 404 of
    :func:`critmin.web.access.not_writable` for an id the caller may not write."""
    from critmin.projects.registry import RegistryError
    from critmin.web.access import check_project_write
    from critmin.web.api_projects import registry_viewer

    ctx = ctx_of(request)
    viewer = registry_viewer(principal)
    try:
        cur = reg.get(proj.id, viewer)
        vis_now: str | None = str(cur.visibility) if principal.can_see(str(cur.visibility)) else None
    except RegistryError:
        vis_now = None
    try:
        check_project_write(principal, proj.id, str(proj.visibility), vis_now)
    except HTTPException as exc:
        ctx.audit(request, principal, "project.put", "refused", target=proj.id, detail={"reason": str(exc.detail)[:200]})
        raise
    if vis_now != "joint" or str(proj.visibility) == "joint":
        return None
    base = reg.current_version(proj.id, "joint") if hasattr(reg, "current_version") else None
    try:
        with ctx.db.lock, ctx.db.cursor() as con:
            req = approvals.request_change(
                con, kind="project", target=proj.id, from_visibility="joint", to_visibility=str(proj.visibility),
                record=proj.model_dump(mode="json"), base_version=base, author=principal.name,
                government=principal.role.government)
    except approvals.ApprovalError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    ctx.audit(request, principal, "approval.request", "ok", target=proj.id,
              detail={"approval_id": req["approval_id"], "to": str(proj.visibility)})
    return {"status": "pending", "approval": req,
            "detail": f"project {proj.id} is joint: making it {proj.visibility}-only needs one approval from each "
                      f"government; it stays joint until then (request {req['approval_id']}, /approvals)"}
