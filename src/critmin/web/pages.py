"""Dashboard pages (HTML). Pages render what the JSON API serves; the charts are drawn in the
browser with the vendored plotly.js from data embedded in the page."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from critmin.web.templating import templates

if TYPE_CHECKING:
    from critmin.web.context import WebContext

router = APIRouter(include_in_schema=False)


def page(request: Request, name: str, active: str, context: dict[str, Any] | None = None,
         status_code: int = 200) -> Response:
    me = getattr(request.state, "principal", None)
    ctx = {"me": me, "csrf": me.csrf_token if me else None, "active": active, **(context or {})}
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def render_error(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    titles = {401: "Login required", 403: "Not allowed", 404: "Not found", 422: "Invalid request",
              503: "Service unavailable"}
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


def _years(rows: list[dict]) -> list[int]:
    return sorted({r["year"] for r in rows})


@router.get("/commodity/{commodity}", response_class=HTMLResponse)
async def commodity_page(request: Request, commodity: str, stage: str | None = None,
                         year: int | None = None) -> Response:
    """A commodity's supply at every chain stage that has data (mine, processing, metal,
    component); it opens at the first such stage (gallium: processing). Rendered on the event
    loop when its fragments are in memory, else in a worker thread (:func:`from_memory_or_thread`)."""
    from critmin.web.context import from_memory_or_thread

    return await from_memory_or_thread(_commodity_page, request, commodity, stage, year)


def _commodity_page(request: Request, commodity: str, stage: str | None, year: int | None) -> Response:
    from critmin.web.api_data import commodity_or_404
    from critmin.web.context import ctx_of

    ctx = ctx_of(request)
    cid = commodity_or_404(ctx, commodity)
    from critmin.web.lang import request_lang

    name, body, end_uses = commodity_fragments(ctx, cid, stage, year, request_lang(request))
    return page(request, "commodity.html", "overview", {"name": name, "body": body, "end_uses": end_uses})


def commodity_fragments(ctx: WebContext, cid: str, stage: str | None = None,
                        year: int | None = None, lang: str = "en") -> tuple[str, Markup, Markup]:
    """(name, supply body, end-use section) of a commodity page in ``lang``; the page a link
    opens (no ``stage``, no ``year``) is shared between server processes (:func:`warm` computes
    it in English; another language on its first request)."""
    from fastapi import HTTPException

    from critmin.web import views
    from critmin.web.api_data import commodity_list, production_rows

    default = stage is None and year is None
    if stage is not None and stage not in views.CHAIN_STAGES:
        raise HTTPException(422, f"stage {stage!r}: expected one of {', '.join(views.CHAIN_STAGES)}")
    all_rows = production_rows(ctx, cid, None, None)
    stages = views.stages_with_data(all_rows)
    if stage is None:
        stage = stages[0] if stages else "mine"
    rows = views.main_product_rows(all_rows, stage)
    years = _years(rows)
    if year is None and years:
        year = years[-1]
    if years and year not in years:
        raise HTTPException(404, f"no {stage} production of {cid} reported for {year}; years: {years}")
    name = next((c["name"] for c in commodity_list(ctx) if c["commodity_id"] == cid), cid)

    def body() -> dict[str, Any]:
        table = sorted((r for r in rows if r["year"] == year),
                       key=lambda r: (r["aggregate"] is not None, -(r["quantity"] or 0)))
        sources = sorted({str(r["source"]) for r in rows if r["year"] == year})
        return {"cid": cid, "name": name, "stage": stage, "stages": stages, "chain": views.CHAIN_STAGES,
                "year": year, "years": years, "sources": sources,
                "map": views.map_data(rows, year) if year else None, "trend": views.trend_data(rows),
                "table": table, "exposure": commodity_exposure(ctx, cid)}

    from critmin.web.end_uses import end_use_view

    return (name, fragment(ctx, (cid, stage, year), "_commodity_body.html", body, lang, shared=default),
            fragment(ctx, (cid,), "_end_uses.html", lambda: {"eu": end_use_view(ctx, cid)}, lang, shared=True))


def commodity_exposure(ctx: WebContext, cid: str) -> dict[str, Any] | None:
    """The assessment row of the commodity (US and JP exposure), or None if not assessed."""
    from critmin.web.api_data import assessment_rows

    return next((r for r in assessment_rows(ctx)["rows"] if r.get("commodity") == cid), None)


@router.get("/data", response_class=HTMLResponse)
def data_page(request: Request) -> Response:
    from critmin.web.api_data import data_status
    from critmin.web.context import ctx_of

    return page(request, "data.html", "data", {"st": data_status(ctx_of(request))})


SPARK_YEARS = range(2021, 2025)


def sparkline_values(ctx: WebContext, cid: str, stage: str) -> list[float | None]:
    """Leading producer's share of world production, 2021-2024, at the given chain stage."""
    from critmin.web import views
    from critmin.web.api_data import production_rows

    def compute() -> list[float | None]:
        rows = views.main_product_rows(production_rows(ctx, cid, None, None), stage)
        return views.leading_share_by_year(rows, SPARK_YEARS)

    return ctx.cached(("spark", cid, stage), compute, shared=True)


WATCH_COLUMNS = (
    ("joint_score", "joint score"),
    ("usgs_supply_risk_USA", "US supply risk"), ("usgs_supply_risk_JPN", "JP supply risk"),
    ("nir_USA", "US import reliance"), ("nir_JPN", "JP import reliance"),
    ("non_allied_import_share_USA", "US non-allied imports"), ("non_allied_import_share_JPN", "JP non-allied imports"),
    ("top_share_mine", "leading miner"), ("top_share_processing", "leading processor"),
)
PERCENT_COLUMNS = {"nir_USA", "nir_JPN", "non_allied_import_share_USA", "non_allied_import_share_JPN",
                   "top_share_mine", "top_share_processing"}


def spark_stage(row: dict) -> str:
    """The stage the sparkline follows: mine where the watchlist has a mine share, else processing."""
    return "mine" if row.get("top_share_mine") is not None else "processing"


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request) -> Response:
    """The open incidents (one store read, awaited) and the watchlist, rendered on the event loop
    when its fragment is in memory (:func:`from_memory_or_thread`)."""
    from critmin.web.api_incidents import open_incidents_for
    from critmin.web.context import from_memory_or_thread

    return await from_memory_or_thread(_overview, request, await open_incidents_for(request))


def _overview(request: Request, open_list: list[dict[str, Any]]) -> Response:
    from critmin.web.context import ctx_of
    from critmin.web.lang import request_lang

    return page(request, "overview.html", "overview", {
        "years": list(SPARK_YEARS), "table": watchlist_fragment(ctx_of(request), request_lang(request)),
        "open_list": open_list})


def watchlist_fragment(ctx: WebContext, lang: str) -> Markup:
    """The overview's watchlist table with its sparklines, rendered in ``lang`` (shared
    between server processes: :func:`warm` computes it)."""
    from critmin.web.api_data import assessment_rows

    def table() -> dict[str, Any]:
        assessed = assessment_rows(ctx)
        rows = []
        for r in assessed["rows"]:
            group = spark_stage(r)
            rows.append({**r, "_spark": sparkline_values(ctx, r["commodity"], group), "_spark_stage": group})
        cols = [(k, label) for k, label in WATCH_COLUMNS if k in assessed["columns"]]
        return {"rows": rows, "columns": cols, "percent": PERCENT_COLUMNS, "years": list(SPARK_YEARS)}

    return fragment(ctx, (), "_watchlist.html", table, lang, shared=True)


def fragment(ctx: WebContext, key: tuple[Any, ...], name: str, context: Callable[[], dict[str, Any]],
             lang: str = "en", *, shared: bool = False) -> Markup:
    """A rendered template fragment without per-user content, cached per data version and
    language (``lang`` reaches the template's gettext as ``page_lang_code``: critmin.web.lang);
    ``shared``: computed once for every server process (:meth:`WebContext.cached`)."""
    return ctx.cached(("fragment", name, lang, *key),
                      lambda: Markup(templates.get_template(name).render({**context(), "page_lang_code": lang})),
                      shared=shared)


def warm(ctx: WebContext) -> int:
    """Compute (or load) the shared results the dashboard's first pages need -- the
    assessment, the watchlist in every language, every commodity's page as a link opens it,
    the commodity list and the data status -- so that no request waits for them and, with
    several server processes, none computes them again (:mod:`critmin.web.sharedcache`).
    Returns how many commodity pages it prepared; a commodity whose page fails is logged and
    left to its first request."""
    import logging

    from fastapi import HTTPException

    from critmin.i18n import LANGS
    from critmin.web.api_data import commodity_list, data_status

    log = logging.getLogger(__name__)
    data_status(ctx)
    for lang in LANGS:
        watchlist_fragment(ctx, lang)
    n = 0
    for c in commodity_list(ctx):
        try:
            commodity_fragments(ctx, c["commodity_id"])
            n += 1
        except (HTTPException, ValueError, LookupError) as exc:
            log.warning("warm-up: the page of %s is left to its first request: %s", c["commodity_id"], exc)
    return n


@router.get("/projects", response_class=HTMLResponse)
def projects_page(request: Request) -> Response:
    from critmin.web.access import current
    from critmin.web.api_projects import clock, visible_projects
    from critmin.web.context import ctx_of

    me = current(request)
    items = [p.model_dump(mode="json") for p in visible_projects(ctx_of(request), me)]
    return page(request, "projects.html", "projects", {"projects": items, "clock": clock(request, me, None)})


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def project_page(request: Request, project_id: str) -> Response:
    import datetime as dt

    from critmin.projects.clock import deadlines_from_settings, project_track
    from critmin.web.access import current
    from critmin.web.api_projects import visible_project
    from critmin.web.context import ctx_of

    me = current(request)
    proj = visible_project(ctx_of(request), me, project_id)
    track = project_track(proj, dt.date.today(), deadlines_from_settings())
    return page(request, "project.html", "projects", {"p": proj.model_dump(mode="json"), "track": track})


@router.get("/scenarios", response_class=HTMLResponse)
def scenarios_page(request: Request) -> Response:
    from critmin.web.tasks import scenario_library

    return page(request, "scenarios.html", "scenarios", {"library": scenario_library()})


@router.get("/stockpile", response_class=HTMLResponse)
def stockpile_page(request: Request) -> Response:
    from critmin.web.access import current
    from critmin.web.context import ctx_of

    me = current(request)
    runs = [j for j in ctx_of(request).jobs.list("simulation", me.role.sees, 50)
            if j["status"] == "done" and "monte_carlo" in j["spec"]]
    from critmin.stockpile.losses import loss_model

    return page(request, "stockpile.html", "stockpile", {"runs": runs, "loss_model_default": loss_model()})


@router.get("/deposits", response_class=HTMLResponse)
def deposits_page(request: Request) -> Response:
    from critmin.web.api_data import commodity_list
    from critmin.web.context import ctx_of

    return page(request, "deposits.html", "deposits", {"commodities": commodity_list(ctx_of(request))})
