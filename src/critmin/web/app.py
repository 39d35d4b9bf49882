"""The FastAPI application: JSON API under ``/api/`` and the dashboard pages.

``create_app(db_path)`` opens the warehouse DuckDB file read-only (following its versions) and
the operational store (users, sessions, audit, projects, jobs: :mod:`critmin.ops`), installs the app-wide access dependency
(:func:`critmin.web.access.enforce`) and mounts the routers. Handlers are thin: they validate
the request (pydantic models in :mod:`critmin.web.models`), call the library and return.
Interactive docs pages (Swagger/ReDoc) are disabled because they load scripts from a CDN; the
schema is served at ``/openapi.json``.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from critmin import __version__, settings
from critmin.web.access import LoginRequired, enforce
from critmin.web.context import WebContext
from critmin.web.models import ERRORS

log = logging.getLogger(__name__)

# the pages first: a request is matched against the routers in this order, and the dashboard
# pages (half of a browser's requests) were last, after every API router; their paths are
# disjoint from every other router's, so the order changes no answer
# (tests/test_web_request_path.py checks that the paths stay disjoint)
ROUTER_MODULES = (
    "critmin.web.pages",
    "critmin.web.routes_auth",
    "critmin.web.assets",
    "critmin.web.api_data",
    "critmin.web.api_runs",
    "critmin.web.api_projects",
    "critmin.web.api_outlook",
    "critmin.web.api_admin",
    "critmin.web.api_security",
    "critmin.web.api_incidents",
    "critmin.web.api_brief",
    "critmin.web.lang",
    "critmin.web.scenario_builder",
    "critmin.web.api_scenarios_library",
)


def app_from_env() -> FastAPI:
    """The app of one ``critmin serve --workers N`` worker process: the warehouse of
    ``CRITMIN_DB``, the operational store of ``CRITMIN_DATABASE_URL`` (or beside the warehouse)."""
    from critmin.data import paths

    return create_app(paths.resolve_db_path())


def create_app(db_path: str | Path, *, job_workers: int | None = None, ops_url: str | None = None) -> FastAPI:
    """Build the app over the DuckDB warehouse ``db_path`` (opened read-only; it must already
    hold imported data) and the operational store (``ops_url``, else ``CRITMIN_DATABASE_URL``,
    else SQLite beside the warehouse: :mod:`critmin.ops`)."""
    import importlib

    ctx = WebContext(db_path, job_workers=job_workers, ops_url=ops_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        from critmin.ops import aio

        await aio.close_pools()  # this loop's asyncio connections to PostgreSQL
        ctx.close()

    app = FastAPI(
        title="critmin",
        version=__version__,
        description=(
            "Decision support for the US-Japan critical-minerals framework (2025-10-28): data, "
            "assessment, disruption scenarios, stockpile plans, joint project selection. "
            "Authenticate with `Authorization: Bearer <token>` (`critmin users token NAME`)."
        ),
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(enforce)],
        responses=ERRORS,  # 400/401/403/404/409/413/422/429 stated for every operation
    )
    app.state.ctx = ctx
    from critmin.web.downloads import DownloadMiddleware

    app.add_middleware(DownloadMiddleware)  # ?download=csv|xlsx on every GET /api/ route (web/downloads.py)
    from critmin.web.security import SecurityMiddleware

    app.add_middleware(SecurityMiddleware)  # headers, body limit, invalid paths, trusted proxy
    for name in ROUTER_MODULES:
        app.include_router(importlib.import_module(name).router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={exc.next_url}", status_code=303)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        from critmin.i18n.errors import error_text
        from critmin.web.lang import request_lang

        detail = error_text(exc.detail, request_lang(request))  # critmin's own messages in the reader's language
        if request.url.path.startswith("/api/") or request.url.path == "/openapi.json":
            return JSONResponse({"detail": detail}, exc.status_code, headers=exc.headers)
        from critmin.web.pages import render_error

        return render_error(request, exc.status_code, str(detail), headers=exc.headers)

    import psycopg
    import sqlalchemy as sa

    @app.exception_handler(sa.exc.DBAPIError)
    @app.exception_handler(psycopg.OperationalError)
    async def _store_down(request: Request, exc: Exception) -> Response:
        return store_unavailable(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        from critmin.i18n.errors import validation_text
        from critmin.web.lang import request_lang

        lang = request_lang(request)
        errors = [
            {"loc": list(e.get("loc", ())), "msg": validation_text(e, lang), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": errors}, 422)
        msg = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return HTMLResponse(f"invalid request: {msg}", 422)

    return app


def store_unavailable(request: Request, exc: Exception) -> Response:
    """503 with ``Retry-After`` when the operational store cannot be used right now
    (:func:`critmin.ops.is_unavailable`: a lost PostgreSQL connection, SQLite locked past the
    busy timeout); any other database error is logged and answers 500, as a bug should. The
    error page is rendered without reading the store (the reader's language from the request
    or its cookie, not the user's stored preference)."""
    from critmin.ops import is_unavailable

    if not is_unavailable(exc):
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal server error"}, 500)
    log.warning("operational store unavailable on %s %s: %s", request.method, request.url.path,
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    headers = {"Retry-After": str(int(settings.get("web.store_retry_after_s")))}
    message = "the operational store cannot be reached or is busy; retry shortly"
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, 503, headers=headers)
    from critmin.web.lang import COOKIE, LANGS
    from critmin.web.pages import render_error

    if getattr(request.state, "lang", None) not in LANGS:
        cookie = request.cookies.get(COOKIE)
        request.state.lang = cookie if cookie in LANGS else "en"
    return render_error(request, 503, message, headers=headers)
