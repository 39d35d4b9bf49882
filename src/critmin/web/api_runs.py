"""Runs API: disruption scenarios (single runs, Monte Carlo) and stockpile plans, as jobs.

``POST`` starts a background job (202 with the job's URL); ``GET .../{job_id}`` reports its
progress and, when done, the result, stored with the request spec and seed. A run is visible
to the caller's government unless started with ``visibility: "joint"``. The work itself is in
:mod:`critmin.web.tasks` (wiring of the disruption and stockpile libraries).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field, model_validator

from critmin.data.errors import UnknownCommodity
from critmin.data.normalize.commodities import CommodityId, resolve
from critmin.data.partners import partners
from critmin.web import tasks as _tasks  # noqa: F401 - registers the scenario and monte_carlo tasks
from critmin.web.access import CurrentUser
from critmin.web.context import ctx_of
from critmin.web.jobs import register_task
from critmin.web.models import ERRORS, Job, JobCreated, JobList
from critmin.web.runs import cancel_job, start_job, visible_job

if TYPE_CHECKING:
    from critmin.stockpile.service import PlanRequest

router = APIRouter(prefix="/api", tags=["runs"], responses=ERRORS)
JobId = Annotated[str, Path(min_length=1, max_length=64)]
VisibilityField = Field(default=None, pattern="^(US|JP|joint)$",
                        description="Who may read the result (default: your government)")


class MonteCarloSpec(BaseModel):
    runs: int = Field(default=2000, ge=1, le=200_000)
    seed: int = Field(default=20251028, ge=0, le=2**63 - 1)
    horizon_months: int = Field(default=12, ge=1, le=120)
    commodities: list[str] | None = Field(default=None, max_length=60)


class SimulationRequest(BaseModel):
    """Exactly one of: ``scenario`` (a library name), ``spec`` (a scenario document, the TOML
    format as JSON) or ``monte_carlo`` (runs over the hazard model)."""

    scenario: str | None = Field(default=None, max_length=128)
    spec: dict[str, Any] | None = None
    monte_carlo: MonteCarloSpec | None = None
    visibility: str | None = VisibilityField

    @model_validator(mode="after")
    def _one(self) -> SimulationRequest:
        given = [k for k in ("scenario", "spec", "monte_carlo") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of scenario, spec, monte_carlo (got {given or 'none'})")
        return self


class StockpileRequest(BaseModel):
    budgets_usd: dict[str, float] = Field(
        description="Budget per partner in US$ (partners: setting risk.consumers)",
        examples=[{"USA": 5e8, "JPN": 3e8}],
    )
    joint_budget_usd: float | None = Field(default=None, ge=0)
    mode: Literal["coordinated", "independent"] = "coordinated"
    run_id: str | None = Field(default=None, max_length=64,
                               description="Monte Carlo job id (from /api/simulations) to plan against")
    runs: int = Field(default=500, ge=1, le=20_000, description="Scenarios to sample when no run_id")
    seed: int = Field(default=20251028, ge=0, le=2**63 - 1)
    commodities: list[str] | None = Field(default=None, max_length=60)
    loss_multiple: dict[str, float] | None = Field(default=None, description="Per-commodity overrides ('*' = all)")
    loss_model: Literal["damage", "multiple"] | None = Field(
        default=None, description="Loss per unmet ton: damage model (critmin.impact) or 1 + (M - 1) * EV; "
                                  "default: setting stockpile.loss_model")
    frontier_scales: list[float] = Field(default=[0.0, 0.25, 0.5, 1.0, 1.5, 2.0], max_length=20)
    visibility: str | None = VisibilityField

    @model_validator(mode="after")
    def _finite(self) -> StockpileRequest:
        known = partners()
        for k, v in self.budgets_usd.items():
            if k not in known:
                raise ValueError(f"budgets_usd.{k}: unknown partner; expected one of {list(known)}")
            if not (v >= 0 and v < float("inf")):
                raise ValueError(f"budgets_usd.{k}: expected a finite amount >= 0, got {v}")
        if self.joint_budget_usd is not None and not (self.joint_budget_usd < float("inf")):
            raise ValueError(f"joint_budget_usd: expected a finite amount >= 0, got {self.joint_budget_usd}")
        for k, m in (self.loss_multiple or {}).items():
            if not (m >= 1 and m < float("inf")):
                raise ValueError(f"loss_multiple.{k}: expected a finite multiple >= 1, got {m}")
        if any(not (0 <= s <= 100) for s in self.frontier_scales):
            raise ValueError("frontier_scales: expected numbers in [0, 100]")
        return self

    def plan_request(self, source_run: str | None) -> PlanRequest:
        """The request of the planning workflow (:func:`critmin.stockpile.service.plan`, the
        one behind ``critmin stockpile plan``); ``source_run`` is the stored Monte Carlo run
        of ``run_id``. Commodity names (``commodities``, ``loss_multiple`` keys) are resolved
        to ids here, once (a ValueError naming the field for an unknown name)."""
        from critmin.stockpile.inputs import ALL
        from critmin.stockpile.service import PlanRequest

        def cid(name: str, field: str) -> CommodityId:
            try:
                return resolve(name)
            except UnknownCommodity as exc:
                raise ValueError(f"{field}: {exc}") from None

        overrides = {k if k == ALL else cid(k, "loss_multiple"): m for k, m in (self.loss_multiple or {}).items()}
        return PlanRequest(
            budgets_usd=dict(self.budgets_usd), mode=self.mode, joint_budget_usd=self.joint_budget_usd,
            runs=self.runs, seed=self.seed, run_id=source_run,
            commodities=None if self.commodities is None else [cid(c, "commodities") for c in self.commodities],
            loss_multiple=overrides,
            frontier_scales=list(self.frontier_scales),
            loss_model=self.loss_model,
        )


class ScenarioInfo(BaseModel):
    name: str
    file: str
    title: str
    description: str
    horizon_months: int
    events: int
    spec: dict[str, Any]


def _runs(kind: str):
    async def list_jobs(
        request: Request,
        principal: CurrentUser,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        return {"jobs": await ctx_of(request).jobs.alist(kind, principal.role.sees, limit)}

    def get_job(request: Request, principal: CurrentUser, job_id: JobId) -> dict:
        return visible_job(ctx_of(request), principal, kind, job_id)

    return list_jobs, get_job


_sim_list, _sim_get = _runs("simulation")
_stock_list, _stock_get = _runs("stockpile")
router.get("/simulations", response_model=JobList, summary="Simulation runs visible to you")(_sim_list)
router.get("/simulations/{job_id}", response_model=Job, summary="A simulation run: progress and result")(_sim_get)
router.get("/stockpile/plans", response_model=JobList, summary="Stockpile plans visible to you")(_stock_list)
router.get("/stockpile/plans/{job_id}", response_model=Job, summary="A stockpile plan: progress and result")(_stock_get)


@router.get("/scenarios", response_model=list[ScenarioInfo])
def list_scenarios(request: Request) -> list[dict[str, Any]]:
    """The analysts' scenario library (``scenarios/*.toml``)."""
    from critmin.web.tasks import scenario_library

    return scenario_library()


@router.get("/scenarios/{name}", response_model=ScenarioInfo)
def get_scenario(name: Annotated[str, Path(max_length=128)]) -> dict[str, Any]:
    from critmin.web.tasks import scenario_library

    for s in scenario_library():
        if s["name"] == name:
            return s
    raise HTTPException(404, f"no scenario {name!r} in the library")


@router.post("/simulations", response_model=JobCreated, status_code=202)
def start_simulation(
    request: Request, principal: CurrentUser, req: SimulationRequest
) -> dict[str, Any]:
    """Run a library scenario, an edited scenario, or a Monte Carlo job over the hazard model."""
    from critmin.web import tasks

    ctx = ctx_of(request)
    if req.monte_carlo is not None:
        mc = req.monte_carlo
        commodities = None
        if mc.commodities is not None:
            try:
                commodities = [str(resolve(c)) for c in mc.commodities]
            except UnknownCommodity as exc:
                raise HTTPException(422, f"monte_carlo.commodities: {exc}") from None
        payload: dict[str, Any] = {"task": "monte_carlo", "runs": mc.runs, "seed": mc.seed,
                                   "horizon_months": mc.horizon_months, "commodities": commodities}
        seed: int | None = mc.seed
        size = mc.runs
    else:
        try:
            tasks.resolve_scenario(req.scenario, req.spec)  # validated before it is queued
        except (KeyError, ValueError) as exc:
            raise HTTPException(404 if isinstance(exc, KeyError) else 422, str(exc).strip("'\"")) from None
        payload = {"task": "scenario", "scenario": req.scenario, "spec": req.spec}
        seed, size = None, 1
    spec = req.model_dump(exclude_none=True, exclude={"visibility"})
    return start_job(ctx, request, principal, "simulation", spec, seed, req.visibility, payload=payload, size=size)


@router.post("/stockpile/plans", response_model=JobCreated, status_code=202)
def start_plan(
    request: Request, principal: CurrentUser, req: StockpileRequest
) -> dict[str, Any]:
    """Optimise stockpile targets for the budgets: coordinated and independent plans side by
    side, and the budget-loss frontier."""

    ctx = ctx_of(request)
    source_run = None
    if req.run_id is not None:
        job = visible_job(ctx, principal, "simulation", req.run_id)
        source_run = (job.get("result") or {}).get("sim_run_id")
        if job["status"] != "done" or not source_run:
            raise HTTPException(422, f"run {req.run_id!r} is not a finished Monte Carlo run")
        audience = req.visibility or principal.default_visibility
        if job["visibility"] != "joint" and audience != job["visibility"]:
            raise HTTPException(422, f"a plan from {job['visibility']}-only run {req.run_id!r} must be "
                                     f"{job['visibility']}-only too")
    try:
        req.plan_request(source_run)  # validated before it is queued
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    payload = {"task": "stockpile", "request": req.model_dump(mode="json"), "source_run": source_run}
    return start_job(ctx, request, principal, "stockpile", req.model_dump(exclude_none=True, exclude={"visibility"}),
                     req.seed, req.visibility, payload=payload, size=1 if source_run else req.runs)


@register_task("stockpile")
def _stockpile_payload(ctx: Any, payload: dict[str, Any]) -> Any:
    from critmin.web import tasks

    req = StockpileRequest.model_validate(payload["request"])
    return tasks.stockpile_task(ctx, req.plan_request(payload.get("source_run")))


@router.post("/simulations/{job_id}/cancel", response_model=dict[str, str], summary="Cancel a simulation run")
def cancel_simulation(request: Request, principal: CurrentUser, job_id: JobId) -> dict:
    """Cancel a queued run at once, a running one at its next progress report (owner or joint-admin)."""
    return cancel_job(ctx_of(request), request, principal, "simulation", job_id)


@router.post("/stockpile/plans/{job_id}/cancel", response_model=dict[str, str], summary="Cancel a stockpile plan")
def cancel_plan(request: Request, principal: CurrentUser, job_id: JobId) -> dict:
    """Cancel a queued plan at once, a running one at its next progress report (owner or joint-admin)."""
    return cancel_job(ctx_of(request), request, principal, "stockpile", job_id)
