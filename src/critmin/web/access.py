"""Access rules: one explicit rule per route, enforced by one app-wide dependency.

Every route of the app has an entry in :data:`RULES`, keyed by ``(method, path template)``.
A route without a rule answers 500 (fail closed) and fails ``tests/test_web_authz.py``, which
walks the app's route table. A rule says which roles may call the route, whether it changes
state (then a session caller must present the CSRF token, and viewers are refused), and which
kind of visibility-scoped record it exposes (the handler then filters by
:meth:`Principal.can_see` and answers 404 for a record the caller may not see).

**Denied requests are audited**: 401 (no or an unknown/revoked credential), 403 (role, CSRF)
each add a ``denied`` row (action ``denied.401``/``denied.403``, target ``METHOD path``,
the reason), at most ``web.audit_denied_per_min`` per client address and minute and
``web.audit_denied_total_per_min`` per process; the ones over the limit are counted and the
count is written with the next row admitted (``suppressed_before``).

**No existence oracle on writes** (issue 18 section 4; docs/security.md): project ids are
namespaced by government. A new project's id must start with ``US-`` or ``JP-``, the
namespace of the creator's government (:func:`id_namespace`); a record in a government's
namespace may be visible to that government only or to both, never to the other government
alone. So a government sees every record in its own namespace, and the other government can
never create an id there: for any id the caller cannot see (a hidden record, an id that does not
exist, an id of the seed registry's older unprefixed form), the write is refused with the same
404 and the same message, whether or not a record exists (:func:`check_project_write`).
A joint-admin sees every record, so no answer can tell it anything new.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from critmin.web.auth import ROLES, Principal, principal_from_session, principal_from_token

SESSION_COOKIE = "critmin_session"
LOGIN_CSRF_COOKIE = "critmin_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"

ANY = frozenset(ROLES)
WRITERS = frozenset(r for r, role in ROLES.items() if role.can_write)
ADMIN = frozenset(r for r, role in ROLES.items() if role.is_admin)


@dataclass(frozen=True)
class Rule:
    """``roles=None`` means public (no login needed)."""

    roles: frozenset[str] | None
    write: bool = False
    records: str | None = None  # 'project' | 'job': visibility-scoped records behind the route


PUBLIC = Rule(None)
READ = Rule(ANY)
WRITE = Rule(WRITERS, write=True)

RULES: dict[tuple[str, str], Rule] = {
    # public: login, schema and the vendored static assets (no data in them)
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): Rule(None, write=True),
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/static/{path:path}"): PUBLIC,
    ("GET", "/vendor/plotly.min.js"): PUBLIC,
    ("GET", "/vendor/plotly.css"): PUBLIC,
    ("GET", "/vendor/topojson/{name}"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("POST", "/logout"): Rule(ANY, write=True),
    ("GET", "/api/me"): READ,
    # data (joint: public datasets)
    ("GET", "/api/data/status"): READ,
    ("GET", "/api/commodities"): READ,
    ("GET", "/api/production/{commodity}"): READ,
    ("GET", "/api/assess"): READ,
    ("GET", "/api/deposits"): READ,
    ("GET", "/api/provenance/{dataset_id}/{source_line}"): READ,
    ("GET", "/api/scenarios"): READ,
    ("GET", "/api/scenarios/{name}"): READ,
    # runs (scoped by the visibility given when they were started)
    ("GET", "/api/simulations"): Rule(ANY, records="job"),
    ("POST", "/api/simulations"): Rule(WRITERS, write=True, records="job"),
    ("GET", "/api/simulations/{job_id}"): Rule(ANY, records="job"),
    ("GET", "/api/stockpile/plans"): Rule(ANY, records="job"),
    ("POST", "/api/stockpile/plans"): Rule(WRITERS, write=True, records="job"),
    ("GET", "/api/stockpile/plans/{job_id}"): Rule(ANY, records="job"),
    ("POST", "/api/simulations/{job_id}/cancel"): Rule(WRITERS, write=True, records="job"),
    ("POST", "/api/stockpile/plans/{job_id}/cancel"): Rule(WRITERS, write=True, records="job"),
    # projects (scoped by each project's visibility)
    ("GET", "/api/projects"): Rule(ANY, records="project"),
    ("POST", "/api/projects"): Rule(WRITERS, write=True, records="project"),
    ("GET", "/api/projects/{project_id}"): Rule(ANY, records="project"),
    ("POST", "/api/projects/selection"): Rule(WRITERS, write=True, records="project"),
    ("GET", "/api/projects/selection/{job_id}"): Rule(ANY, records="job"),
    ("GET", "/api/clock"): Rule(ANY, records="project"),
    # administration
    ("GET", "/api/audit"): Rule(ADMIN),
    ("GET", "/api/audit/export"): Rule(ADMIN),
    ("GET", "/api/users"): Rule(ADMIN),
    ("POST", "/api/users"): Rule(ADMIN, write=True),
    ("POST", "/api/users/{name}/tokens"): Rule(ADMIN, write=True),
    ("POST", "/api/users/{name}/revoke"): Rule(ADMIN, write=True),
    ("POST", "/api/users/{name}/disable"): Rule(ADMIN, write=True),
    ("POST", "/api/users/{name}/enable"): Rule(ADMIN, write=True),
    ("POST", "/api/users/{name}/unlock"): Rule(ADMIN, write=True),
    ("POST", "/api/users/{name}/totp/remove"): Rule(ADMIN, write=True),
    ("GET", "/api/lockouts"): Rule(ADMIN),
    ("POST", "/api/lockouts/lift"): Rule(ADMIN, write=True),
    ("POST", "/api/audit/checkpoint"): Rule(ADMIN, write=True),
    ("GET", "/api/audit/checkpoints"): Rule(ADMIN),
    ("GET", "/api/audit/verify"): Rule(ADMIN),
    # own account (every role, viewers too)
    ("POST", "/api/me/password"): Rule(ANY, write=True),
    ("GET", "/account"): READ,
    ("POST", "/account/password"): Rule(ANY, write=True),
    ("POST", "/account/totp/begin"): Rule(ANY, write=True),
    ("POST", "/account/totp/confirm"): Rule(ANY, write=True),
    # visibility changes of joint records and the notices (joint records: every role sees them)
    ("GET", "/api/notices"): READ,
    ("GET", "/api/approvals"): READ,
    ("POST", "/api/approvals/{approval_id}/approve"): Rule(WRITERS, write=True),
    ("POST", "/api/approvals/{approval_id}/reject"): Rule(WRITERS, write=True),
    ("GET", "/approvals"): READ,
    ("GET", "/users"): Rule(ADMIN),
    # pages
    ("GET", "/"): READ,
    ("GET", "/commodity/{commodity}"): READ,
    ("GET", "/scenarios"): READ,
    ("GET", "/stockpile"): READ,
    ("GET", "/projects"): Rule(ANY, records="project"),
    ("GET", "/projects/{project_id}"): Rule(ANY, records="project"),
    ("GET", "/deposits"): READ,
    ("GET", "/data"): READ,
    ("GET", "/audit"): Rule(ADMIN),
}


class LoginRequired(Exception):
    """Raised for an anonymous page request; the app turns it into a redirect to /login."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def rule_for(method: str, path: str) -> Rule | None:
    return RULES.get(("GET" if method == "HEAD" else method, path))


def resolve_principal(request: Request) -> Principal | None:
    ctx = request.app.state.ctx
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
        p = ctx.auth_cache.get(("token", token), lambda: _lookup(ctx, principal_from_token, token))
        if p is None:
            parts = token.split("_", 2)
            tid = parts[1][:16] if len(parts) == 3 and parts[0] == "cm" else None
            audit_denied(request, None, 401, "bearer token unknown or revoked", token_id=tid)
            raise HTTPException(401, "bearer token unknown or revoked", {"WWW-Authenticate": "Bearer"})
        return p
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return ctx.auth_cache.get(("session", cookie), lambda: _lookup(ctx, principal_from_session, cookie))
    return None


def _lookup(ctx, fn, secret: str) -> Principal | None:
    with ctx.db.cursor() as con:
        return fn(con, secret)


async def _csrf_ok(request: Request, expected: str | None) -> bool:
    if not expected:
        return False
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sent is not None and hmac.compare_digest(sent, expected)


async def enforce(request: Request) -> None:
    """App-wide dependency: find the route's rule, authenticate, authorise, check CSRF."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    rule = rule_for(request.method, path) if path else None
    if rule is None:
        raise HTTPException(500, f"no access rule for {request.method} {path}; refusing")
    from starlette.concurrency import run_in_threadpool

    from critmin.web.context import from_memory_or_thread

    # a credential the cache holds is checked on the loop; a lookup (and the audit of an unknown
    # token) runs in a worker thread, as does every audit write below
    try:
        principal = await from_memory_or_thread(resolve_principal, request)
    except Exception as exc:
        from critmin.ops import is_unavailable

        # a public page or probe (/healthz, /readyz, /login) answers without credentials
        # while the store that holds them is down; any other route answers 503 (web/app.py)
        if rule.roles is not None or rule.write or not is_unavailable(exc):
            raise
        principal = None
    request.state.principal = principal
    if rule.roles is None:
        if rule.write and path == "/login":
            expected = request.cookies.get(LOGIN_CSRF_COOKIE)
            if not await _csrf_ok(request, expected):
                await run_in_threadpool(audit_denied, request, None, 403, "login CSRF token missing or wrong")
                raise HTTPException(403, "login form expired or CSRF token missing; reload the page")
        return
    if principal is None:
        if request.url.path.startswith("/api/") or request.method not in ("GET", "HEAD"):
            why = "no credentials" if not request.cookies.get(SESSION_COOKIE) else "session unknown, ended or expired"
            await run_in_threadpool(audit_denied, request, None, 401, why)
            if request.url.path.startswith("/api/"):
                raise HTTPException(401, "login or bearer token required", {"WWW-Authenticate": "Bearer"})
        raise LoginRequired(str(request.url.path))
    if principal.role.name not in rule.roles:
        await run_in_threadpool(audit_denied, request, principal, 403, f"role {principal.role.name} not allowed")
        raise HTTPException(403, f"role {principal.role.name!r} may not {request.method} {path}")
    if rule.write and principal.via == "session" and not await _csrf_ok(request, principal.csrf_token):
        await run_in_threadpool(audit_denied, request, principal, 403, "CSRF token missing or wrong")
        raise HTTPException(403, "CSRF token missing or wrong")


def current(request: Request) -> Principal:
    """The authenticated principal (for handlers of non-public routes)."""
    p = getattr(request.state, "principal", None)
    if p is None:
        raise HTTPException(401, "login or bearer token required")
    return p


async def current_principal(request: Request) -> Principal:
    """:func:`current` as an ``async`` dependency, so FastAPI calls it on the event loop (a plain
    ``def`` dependency is run in a worker thread: a thread hop per request, which the load
    benchmark measured). :func:`current` is looked up when called, so it stays the one answer."""
    return current(request)


CurrentUser = Annotated[Principal, Depends(current_principal)]
"""The authenticated principal of a non-public route: ``principal: CurrentUser``."""


# -- denied requests: audited, rate-limited ----------------------------------------------------------


def audit_denied(request: Request, principal: Principal | None, status: int, reason: str, **detail: Any) -> None:
    """Audit a refused request, unless this client is over its per-minute allowance (a store
    write: never on the event loop, see :func:`critmin.web.context.before_io`)."""
    from critmin.web.audit import DeniedLimiter
    from critmin.web.context import before_io

    before_io("audit of a denied request")

    state = request.app.state
    limiter = getattr(state, "denied_limiter", None)
    if limiter is None:
        limiter = state.denied_limiter = DeniedLimiter()
    client = request.client.host if request.client else "unknown"
    admitted, suppressed = limiter.admit(client)
    if not admitted:
        return
    det: dict[str, Any] = {"reason": reason, **{k: v for k, v in detail.items() if v is not None}}
    if suppressed:
        det["suppressed_before"] = suppressed
    route = request.scope.get("route")
    target = f"{request.method} {getattr(route, 'path', None) or request.url.path[:200]}"
    request.app.state.ctx.audit(request, principal, f"denied.{status}", "denied", target=target, detail=det)


# -- project writes: id namespaces per government, no existence oracle ---------------------------------

NAMESPACES = {"US": "US-", "JP": "JP-"}


def id_namespace(project_id: str) -> str | None:
    """The government whose namespace an id is in (``US-...``/``JP-...``), or None (older ids)."""
    for gov, prefix in NAMESPACES.items():
        if project_id.startswith(prefix):
            return gov
    return None


def not_writable(project_id: str) -> HTTPException:
    """The one answer for every id the caller may not write (hidden, unknown or not theirs)."""
    return HTTPException(404, f"no project with id {project_id!r} writable by you; a new project takes an id "
                              "in your government's namespace ('US-...' or 'JP-...')")


def check_project_write(principal: Principal, project_id: str, visibility: str, visible_now: str | None) -> None:
    """Refuse a project write that the id namespace rule forbids (see the module docstring).

    ``visible_now``: the visibility of the current record if the caller can see it, else None
    (whether a hidden record exists is never looked at here).
    """
    ns = id_namespace(project_id)
    if not principal.role.is_admin and visible_now is None and ns != principal.role.government:
        raise not_writable(project_id)
    if ns is not None and visibility not in (ns, "joint"):
        raise HTTPException(422, f"project {project_id!r} is in the {ns} namespace: its visibility must be "
                                 f"{ns} or joint, not {visibility}")
