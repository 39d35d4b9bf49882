"""Login, logout, who-am-I and the health check."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from critmin import settings
from critmin.web import auth
from critmin.web.access import LOGIN_CSRF_COOKIE, SESSION_COOKIE, current
from critmin.web.context import ctx_of
from critmin.web.models import ERRORS, Me
from critmin.web.templating import templates

router = APIRouter()


def _safe_next(url: str | None) -> str:
    """Only same-site relative paths (no open redirect)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request, next: str = "/") -> Response:
    token = secrets.token_urlsafe(32)
    resp = templates.TemplateResponse(
        request, "login.html", {"csrf_token": token, "next": _safe_next(next), "error": None}
    )
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return resp


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    ctx = ctx_of(request)
    with ctx.db.cursor() as con:
        principal = auth.check_password(con, username, password)
    if principal is None:
        ctx.audit(request, None, "login", "failed", actor=username[:64], detail={"via": "password"})
        token = secrets.token_urlsafe(32)
        resp = templates.TemplateResponse(
            request,
            "login.html",
            {"csrf_token": token, "next": _safe_next(next), "error": "Unknown user or wrong password."},
            status_code=401,
        )
        resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
        return resp
    with ctx.db.cursor() as con:
        cookie, _csrf = auth.create_session(con, principal.name)
    ctx.audit(request, principal, "login", "ok", detail={"via": "password"})
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    redirect.set_cookie(
        SESSION_COOKIE, cookie, httponly=True, samesite="lax", secure=request.url.scheme == "https",
        max_age=int(float(settings.get("web.session_hours")) * 3600),
    )
    redirect.delete_cookie(LOGIN_CSRF_COOKIE)
    return redirect


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    ctx = ctx_of(request)
    principal = current(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with ctx.db.cursor() as con:
            auth.end_session(con, cookie)
        ctx.auth_cache.clear()
    ctx.audit(request, principal, "logout", "ok")
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.get("/api/me", response_model=Me, tags=["auth"], responses={401: ERRORS[401]})
def me(principal: Annotated[auth.Principal, Depends(current)]) -> Me:
    """The authenticated user, role, government and what they may see."""
    return Me(
        name=principal.name,
        role=principal.role.name,
        government=principal.role.government,
        sees=sorted(principal.role.sees),
        can_write=principal.role.can_write,
    )


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict:
    return {"ok": True}
