"""Administration API (joint-admin only): the audit log and the user list."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from critmin.web import audit, auth
from critmin.web.access import CurrentUser
from critmin.web.context import ctx_of
from critmin.web.models import ERRORS

router = APIRouter(prefix="/api", tags=["admin"], responses=ERRORS)


class AuditEntry(BaseModel):
    seq: int
    at: str
    actor: str
    role: str | None
    action: str
    target: str | None
    outcome: str
    detail: str | None
    client: str | None


class AuditPage(BaseModel):
    chain_ok: bool
    chain_message: str
    entries: list[AuditEntry]


class UserInfo(BaseModel):
    name: str
    role: str
    created_at: str
    disabled: bool
    active_tokens: int


@router.get("/audit", response_model=AuditPage)
def audit_log(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=10000)] = 200,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> AuditPage:
    """Audit entries, newest first, with the result of the hash-chain check."""
    ctx = ctx_of(request)
    with ctx.db.cursor() as con:
        ok, msg = audit.verify_chain(con)
        rows = audit.entries(con, limit=limit, actor=actor, action=action)
    return AuditPage(chain_ok=ok, chain_message=msg, entries=[AuditEntry(**r) for r in rows])


@router.get("/audit/export", response_class=Response, responses={200: {
    "description": "The audit log as a file", "content": {"text/csv": {"schema": {"type": "string"}},
                                                          "application/json": {"schema": {"type": "array"}}}}})
def audit_export(
    request: Request,
    principal: CurrentUser,
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
) -> Response:
    """The whole audit log (oldest first, with chain hashes) as a CSV or JSON download."""
    ctx = ctx_of(request)
    with ctx.db.cursor() as con:
        text = audit.export(con, format)
    ctx.audit(request, principal, "audit.export", "ok", detail={"format": format})
    media = "text/csv" if format == "csv" else "application/json"
    return Response(
        text, media_type=media,
        headers={"Content-Disposition": f'attachment; filename="critmin-audit.{format}"'},
    )


@router.get("/users", response_model=list[UserInfo])
def users(request: Request) -> list[UserInfo]:
    with ctx_of(request).db.cursor() as con:
        rows = auth.list_users(con)
    return [UserInfo(**{**r, "created_at": r["created_at"].isoformat()}) for r in rows]


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    role: Literal["us-analyst", "jp-analyst", "joint-admin", "viewer"]


class Secret(BaseModel):
    """A secret shown once (only its hash is stored)."""

    name: str
    secret: str


class Revoked(BaseModel):
    name: str
    revoked: int
    sessions_ended: int = 0


def _user_or_404(con, name: str) -> None:
    if auth.get_user(con, name) is None:
        raise HTTPException(404, f"no user {name!r}")


@router.post("/users", response_model=Secret, status_code=201)
def add_user(request: Request, principal: CurrentUser, new: NewUser) -> Secret:
    """Create a user with a generated password, returned once (``critmin users add`` while the
    server holds the database)."""
    ctx = ctx_of(request)
    password = auth.generate_password()
    try:
        with ctx.db.cursor() as con, ctx.db.lock:
            auth.add_user(con, new.name, new.role, password)
    except auth.AuthError as exc:
        ctx.audit(request, principal, "user.add", "refused", target=new.name, detail={"reason": str(exc)})
        raise HTTPException(422, str(exc)) from None
    ctx.audit(request, principal, "user.add", "ok", target=new.name, detail={"role": new.role})
    return Secret(name=new.name, secret=password)


@router.post("/users/{name}/tokens", response_model=Secret, status_code=201)
def new_token(request: Request, principal: CurrentUser,
              name: Annotated[str, Path(max_length=64)]) -> Secret:
    """A new bearer token for the user, returned once (``critmin users token``)."""
    ctx = ctx_of(request)
    with ctx.db.cursor() as con:
        _user_or_404(con, name)
        token = auth.create_token(con, name)
    ctx.audit(request, principal, "token.create", "ok", target=name, detail={"token_id": token.split("_")[1]})
    return Secret(name=name, secret=token)


@router.post("/users/{name}/revoke", response_model=Revoked)
def revoke(request: Request, principal: CurrentUser,
           name: Annotated[str, Path(max_length=64)]) -> Revoked:
    """Revoke all of the user's bearer tokens and end all their browser sessions; effective
    immediately (a revoked credential must not live on in a browser)."""
    ctx = ctx_of(request)
    with ctx.db.cursor() as con:
        _user_or_404(con, name)
        n, sessions = auth.revoke_credentials(con, name)
    ctx.auth_cache.clear()
    ctx.audit(request, principal, "token.revoke", "ok", target=name, detail={"revoked": n, "sessions_ended": sessions})
    return Revoked(name=name, revoked=n, sessions_ended=sessions)
