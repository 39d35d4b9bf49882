"""Login (throttled, with an optional TOTP code), logout, the Account page (password change,
TOTP enrolment), who-am-I and the health check.

Login answers: 303 to ``next`` on success; 401 with the form again for a wrong name, password
or code (one message for all three); 429 with ``Retry-After`` while the account or the client
address is locked out (:mod:`critmin.web.throttle`), checked before the password so that a
locked account cannot be guessed at all. The session cookie is ``HttpOnly``, ``SameSite=Lax``
and ``Secure`` when the site is on TLS (:func:`critmin.web.security.cookie_secure`).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from critmin import settings
from critmin.web import auth, throttle, totp
from critmin.web.access import LOGIN_CSRF_COOKIE, SESSION_COOKIE, CurrentUser, current
from critmin.web.context import ctx_of
from critmin.web.models import ERRORS, Me
from critmin.web.security import cookie_secure
from critmin.web.templating import templates

router = APIRouter()

BAD_LOGIN = "Unknown user, wrong password or wrong one-time code."


def _safe_next(url: str | None) -> str:
    """Only same-site relative paths (no open redirect)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _form(request: Request, next_url: str, error: str | None, status: int,
          headers: dict[str, str] | None = None) -> Response:
    token = secrets.token_urlsafe(32)
    resp = templates.TemplateResponse(
        request, "login.html", {"csrf_token": token, "next": _safe_next(next_url), "error": error},
        status_code=status, headers=headers,
    )
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600,
                    secure=cookie_secure(request))
    return resp


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request, next: str = "/") -> Response:
    return _form(request, next, None, 200)


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/",
    otp: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    ctx = ctx_of(request)
    keys = throttle.keys_for(username, _client(request))
    with ctx.db.cursor() as con:
        locked = throttle.check(con, keys)
    if locked is not None:
        ctx.audit(request, None, "login", "throttled", actor=username[:64],
                  detail={"key": locked.key, "retry_after_s": locked.retry_after_s})
        minutes = max(1, round(locked.retry_after_s / 60))
        return _form(request, next, f"Too many failed logins: try again in about {minutes} minute(s), "
                     "or ask the joint administrator to lift the lockout.", 429,
                     {"Retry-After": str(locked.retry_after_s)})
    with ctx.db.cursor() as con:
        principal = auth.check_password(con, username, password)
        reason = "password"
        if principal is not None:
            state = totp.status(con, principal.name)
            if state == "enabled":
                if not totp.verify(con, principal.name, otp):
                    principal, reason = None, "totp"
            elif totp.required(principal.role.is_admin):
                ctx.audit(request, principal, "login", "refused", detail={"reason": "totp required, not enrolled"})
                return _form(request, next, "This account needs a TOTP second factor "
                             "(web.totp_required_for_admin): enrol with `critmin users totp NAME` on the server.", 403)
    if principal is None:
        newly = throttle.record_failure(ctx.db, keys)
        ctx.audit(request, None, "login", "failed", actor=username[:64], detail={"via": "password", "failed": reason})
        for lock in newly:
            ctx.audit(request, None, "login.lockout", "locked", actor=username[:64], target=lock.key,
                      detail={"seconds": lock.retry_after_s})
        if newly:
            worst = max(x.retry_after_s for x in newly)
            return _form(request, next, "Too many failed logins: this account or address is locked for "
                         f"{max(1, round(worst / 60))} minute(s).", 429, {"Retry-After": str(worst)})
        return _form(request, next, BAD_LOGIN, 401)
    throttle.success(ctx.db, principal.name)
    with ctx.db.cursor() as con:
        cookie, _csrf = auth.create_session(con, principal.name)
    ctx.audit(request, principal, "login", "ok", detail={"via": "password", "totp": reason == "password" and bool(otp)})
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    redirect.set_cookie(
        SESSION_COOKIE, cookie, httponly=True, samesite="lax", secure=cookie_secure(request),
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


# -- the account page: password change and TOTP enrolment -------------------------------------


def _account(request: Request, message: str | None = None, error: str | None = None,
             totp_new: tuple[str, str] | None = None, status: int = 200) -> Response:
    from critmin.web.pages import page

    me = current(request)
    with ctx_of(request).db.cursor() as con:
        state = totp.status(con, me.name)
    return page(request, "account.html", "account", {
        "message": message, "error": error, "totp_state": state, "totp_new": totp_new,
        "min_length": settings.get("web.min_password_length"),
        "totp_required": totp.required(me.role.is_admin)}, status_code=status)


@router.get("/account", response_class=HTMLResponse, include_in_schema=False)
def account_page(request: Request) -> Response:
    return _account(request)


@router.post("/account/password", response_class=HTMLResponse, include_in_schema=False)
def account_password(
    request: Request,
    current_password: Annotated[str, Form(max_length=1024)],
    new_password: Annotated[str, Form(max_length=1024)],
    new_password2: Annotated[str, Form(max_length=1024)],
) -> Response:
    me = current(request)
    if new_password != new_password2:
        return _account(request, error="The two new passwords differ.", status=422)
    try:
        ended = _change_password(request, me, current_password, new_password)
    except auth.AuthError as exc:
        return _account(request, error=str(exc), status=422)
    return _account(request, message=f"Password changed; {ended} other session(s) ended.")


def _change_password(request: Request, me: auth.Principal, current_pw: str, new_pw: str) -> int:
    ctx = ctx_of(request)
    try:
        with ctx.db.cursor() as con:
            ended = auth.change_password(con, me.name, current_pw, new_pw,
                                         keep_cookie=request.cookies.get(SESSION_COOKIE))
    except auth.AuthError as exc:
        ctx.audit(request, me, "password.change", "refused", target=me.name, detail={"reason": str(exc)})
        raise
    ctx.auth_cache.clear()
    ctx.audit(request, me, "password.change", "ok", target=me.name, detail={"sessions_ended": ended})
    return ended


@router.post("/account/totp/begin", response_class=HTMLResponse, include_in_schema=False)
def account_totp_begin(request: Request) -> Response:
    me = current(request)
    try:
        with ctx_of(request).db.cursor() as con:
            new = totp.begin(con, me.name)
    except ValueError as exc:
        return _account(request, error=str(exc), status=422)
    ctx_of(request).audit(request, me, "totp.begin", "ok", target=me.name)
    return _account(request, totp_new=new)


@router.post("/account/totp/confirm", response_class=HTMLResponse, include_in_schema=False)
def account_totp_confirm(request: Request, code: Annotated[str, Form(max_length=16)]) -> Response:
    me = current(request)
    ctx = ctx_of(request)
    with ctx.db.cursor() as con:
        ok = totp.confirm(con, me.name, code)
    ctx.audit(request, me, "totp.confirm", "ok" if ok else "refused", target=me.name)
    if not ok:
        return _account(request, error="That code does not match; enter the current code from the app.", status=422)
    return _account(request, message="Second factor in force: logins now need a code from the app.")


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class PasswordChanged(BaseModel):
    sessions_ended: int


@router.post("/api/me/password", response_model=PasswordChanged, tags=["auth"],
             responses={401: ERRORS[401], 422: {"description": "wrong current password or weak new one"}})
def api_change_password(request: Request, principal: CurrentUser,
                        body: PasswordChange) -> PasswordChanged:
    """Change your own password (the current one is required; the new one must pass the
    policy). Your other browser sessions end."""
    try:
        return PasswordChanged(sessions_ended=_change_password(request, principal, body.current_password,
                                                               body.new_password))
    except auth.AuthError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/api/me", response_model=Me, tags=["auth"], responses={401: ERRORS[401]})
async def me(principal: CurrentUser) -> Me:
    """The authenticated user, role, government and what they may see (from the request's
    principal, in memory: no worker-thread hop)."""
    return Me(
        name=principal.name,
        role=principal.role.name,
        government=principal.role.government,
        sees=sorted(principal.role.sees),
        can_write=principal.role.can_write,
    )


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict:
    """Liveness: the process answers (it reads nothing)."""
    return {"ok": True}


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> Response:
    """Readiness, for a load balancer or a deployment check: 200 when this worker can read the
    operational store (one ``SELECT 1``, awaited) and has a warehouse version open; else 503
    with ``Retry-After`` (the store's error is logged, not shown)."""
    from fastapi.responses import JSONResponse

    from critmin.ops import aio, is_unavailable

    ctx = ctx_of(request)
    try:
        await aio.read(ctx.ops, "SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any store failure means not ready
        if not is_unavailable(exc):
            raise
        return JSONResponse({"ok": False, "store": "unavailable"}, 503,
                            headers={"Retry-After": str(int(settings.get("web.store_retry_after_s")))})
    version = getattr(ctx.wh, "version_path", None)
    return JSONResponse({"ok": True, "store": ctx.ops.dialect,
                         "warehouse": Path(version).name if version else None})
