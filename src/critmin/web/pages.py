"""Dashboard pages (HTML). Pages render what the JSON API serves; the charts are drawn in the
browser with the vendored plotly.js from data embedded in the page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from critmin.web.templating import templates

router = APIRouter(include_in_schema=False)


def page(request: Request, name: str, active: str, context: dict[str, Any] | None = None,
         status_code: int = 200) -> Response:
    me = getattr(request.state, "principal", None)
    ctx = {"me": me, "csrf": me.csrf_token if me else None, "active": active, **(context or {})}
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def render_error(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
    titles = {401: "Login required", 403: "Not allowed", 404: "Not found", 422: "Invalid request"}
    resp = page(request, "error.html", "", {"status": status, "title": titles.get(status, "Error"),
                                            "message": message}, status_code=status)
    if headers:
        resp.headers.update(headers)
    return resp


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request) -> Response:
    from critmin.web import audit
    from critmin.web.context import ctx_of

    with ctx_of(request).db.cursor() as con:
        ok, msg = audit.verify_chain(con)
        rows = audit.entries(con, limit=500)
    return page(request, "audit.html", "audit", {"entries": rows, "chain_ok": ok, "chain_message": msg})
