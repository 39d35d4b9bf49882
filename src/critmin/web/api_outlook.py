"""Outlook API and page (issue 17): ``GET /api/outlook`` (one commodity and stage to 2040: demand
by technology, supply by country, the gap band) and ``GET /api/gap`` (every commodity and stage
in one year), both on :mod:`critmin.outlook.service`; ``GET /outlook`` the dashboard page.

Only the projects the caller may see enter the pipeline (:func:`critmin.web.api_projects.visible_projects`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from critmin.web.access import ANY, RULES, CurrentUser, Rule
from critmin.web.api_projects import registry_version, visible_projects
from critmin.web.context import ctx_of
from critmin.web.convert import jsonable
from critmin.web.models import ERRORS

router = APIRouter(responses=ERRORS)
MAX_DRAWS = 20_000

# access rules of these routes (web/access.py's table; added here so the routes and their rules
# live together): any signed-in role; the pipeline is visibility-scoped project records
RULES.update({
    ("GET", "/api/outlook"): Rule(ANY, records="project"),
    ("GET", "/api/gap"): Rule(ANY, records="project"),
    ("GET", "/outlook"): Rule(ANY, records="project"),
})


def _bad(exc: Exception) -> HTTPException:
    return HTTPException(status_code=422, detail=str(exc))


@router.get("/api/outlook", response_model=dict[str, Any], tags=["outlook"])
def get_outlook(
    request: Request,
    principal: CurrentUser,
    commodity: Annotated[str, Query(max_length=64)],
    stage: Annotated[str, Query(pattern="^(mine|processing)$")] = "processing",
    scenario: Annotated[str, Query(pattern="^(STEPS|APS|NZE)$")] = "STEPS",
    to: Annotated[int, Query(ge=2025, le=2050)] = 2040,
    draws: Annotated[int, Query(ge=100, le=MAX_DRAWS)] = 2000,
    seed: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    """Demand by technology (world and partners, every scenario), IEA supply by country, the
    registry pipeline and the gap band (expected, 5-95 %) by scope and year."""
    from critmin.outlook.service import outlook

    ctx = ctx_of(request)
    try:
        cid = ctx.wh.resolve_commodity(commodity)
        ps = visible_projects(ctx, principal)
        key = ("outlook", cid, stage, scenario, to, draws, seed, tuple(sorted(p.id for p in ps)))
        # the visible projects' contents shape the pipeline: an edit (same ids) computes afresh
        return jsonable(ctx.latest(key, (registry_version(ctx), ctx.data_version()),
                                   lambda: outlook(ctx.wh, cid, stage, scenario, ps, to_year=to,
                                                   n_draws=draws, random_state=seed)))
    except (LookupError, ValueError) as exc:
        raise _bad(exc) from None


@router.get("/api/gap", response_model=dict[str, Any], tags=["outlook"])
def get_gap(
    request: Request,
    principal: CurrentUser,
    for_: Annotated[str, Query(alias="for", max_length=32)] = "USA,JPN",
    year: Annotated[int, Query(ge=2025, le=2040)] = 2030,
    scenario: Annotated[str | None, Query(pattern="^(STEPS|APS|NZE)$")] = None,
    draws: Annotated[int, Query(ge=100, le=MAX_DRAWS)] = 2000,
    seed: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    """The gap by commodity and stage in one year for the world and the partners."""
    from critmin.cli.common import countries
    from critmin.outlook.demand import SCENARIOS
    from critmin.outlook.service import gap_table

    ctx = ctx_of(request)
    try:
        codes = countries(for_, "for")
        ps = visible_projects(ctx, principal)
        scen = [scenario] if scenario else list(SCENARIOS)
        key = ("gap", tuple(codes), year, tuple(scen), draws, seed, tuple(sorted(p.id for p in ps)))
        return jsonable(ctx.latest(key, (registry_version(ctx), ctx.data_version()),
                                   lambda: gap_table(ctx.wh, ps, year=year, scenarios=scen, partner_codes=codes,
                                                     n_draws=draws, random_state=seed)))
    except (LookupError, ValueError) as exc:
        raise _bad(exc) from None


@router.get("/outlook", response_class=HTMLResponse, include_in_schema=False)
def outlook_page(request: Request) -> Response:
    from critmin.outlook.service import IEA_SUPPLY_MINERALS
    from critmin.web.pages import page

    return page(request, "outlook.html", "outlook", {"commodities": IEA_SUPPLY_MINERALS})
