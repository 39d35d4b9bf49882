"""The stockpile planning workflow: one request in, one report out, for the CLI and the web.

``critmin stockpile plan`` and the dashboard's planner (``POST /api/stockpile/plans``) both
call :func:`plan`; ``stockpile frontier`` and ``stockpile compare`` build their programme with
:func:`prepare`. So for the same :class:`PlanRequest` they sample the same scenarios, plan the
same commodities (the others are listed in ``not_planned`` with the reason, never dropped
silently) and return the same stocks.

Steps (each a library call):

1. scenarios: a stored Monte Carlo run (``run_id``) or ``runs`` sampled with ``seed`` from the
   disruption simulator, for the budgeted partners (:func:`critmin.stockpile.inputs.sample_for`);
   Without named commodities the candidates are those of the critical-mineral lists of the
   setting ``stockpile.candidate_lists`` (:func:`critmin.stockpile.losses.candidates`);
2. what can be planned: a commodity needs a positive price and a loss per unmet ton: with
   ``loss_model='damage'`` (setting ``stockpile.loss_model``) the damage model's
   (:func:`critmin.stockpile.losses.damage_losses`), with ``'multiple'`` a loss multiple (an
   override or the assessment's economic vulnerability, :func:`critmin.stockpile.inputs.plannable`);
3. the programme (:func:`critmin.stockpile.plan.make_problem`), the coordinated and
   independent optima and the value of coordination (:func:`critmin.stockpile.plan.plan`);
4. optionally the budget-loss frontier at ``frontier_scales`` x the budgets
   (:func:`critmin.stockpile.frontier.frontier`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from critmin.data.normalize.commodities import CommodityId
from critmin.data.partners import partners as configured_partners
from critmin.disruption.sample import ShortfallSample
from critmin.stockpile import inputs, losses
from critmin.stockpile.frontier import frontier
from critmin.stockpile.plan import StockpileParams, StockpilePlan, make_problem
from critmin.stockpile.plan import plan as solve_plan
from critmin.stockpile.problem import Mode, StockpileInputError, StockpileProblem

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

#: ``progress(fraction, message)``; fractions rise from 0 to 1
Progress = Callable[[float, str], None]
#: returns EV per commodity (the web passes its per-data-version cache of the same function)
EVSource = Callable[[], Mapping[str, float]]

MODES: tuple[Mode, ...] = ("coordinated", "independent")


@dataclass(frozen=True)
class PlanRequest:
    """What to plan. Budgets in US$ per partner (``inf`` = no limit); partners must be among
    the setting ``risk.consumers``; ``commodities`` ``None`` = every sampled commodity.
    Commodities (and the keys of ``loss_multiple`` other than ``'*'``) are ids, resolved from
    the user's names at the edge (CLI option, API request) with
    :func:`critmin.data.normalize.commodities.resolve`."""

    budgets_usd: Mapping[str, float]
    mode: Mode = "coordinated"
    joint_budget_usd: float | None = None
    runs: int = 2000
    seed: int = 0
    run_id: str | None = None  #: a stored Monte Carlo run (disruption store id) instead of sampling
    commodities: Sequence[CommodityId] | None = None
    loss_multiple: Mapping[str, float] = field(default_factory=dict)  #: id -> multiple, '*' = all
    params: Mapping[str, float] = field(default_factory=dict)  #: StockpileParams overrides
    frontier_scales: Sequence[float] | None = None  #: None = no frontier
    horizon_months: int = 12
    loss_model: str | None = None  #: 'damage' | 'multiple'; None = setting stockpile.loss_model
    #: use a stored run computed on another vintage than the warehouse's (default: refused)
    allow_vintage_mismatch: bool = False


@dataclass(frozen=True)
class SampleMeta:
    """Where the scenarios came from."""

    run_id: str | None
    seed: int | None
    scenarios: int
    commodities: tuple[str, ...]  #: the planned commodities
    #: the data the scenarios were computed on (the stored run's record, or the warehouse's):
    #: the vintage pin (None = unpinned, every release; 'unknown' = a run that does not record it)
    vintage: str | None = "unknown"
    data_fingerprint: str = "unknown"  #: str(Warehouse.fingerprint()) of that data
    vintage_warning: str | None = None  #: a reuse under another or an unrecorded vintage

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "seed": self.seed, "scenarios": self.scenarios,
                "commodities": list(self.commodities), "vintage": self.vintage,
                "data_fingerprint": self.data_fingerprint, "vintage_warning": self.vintage_warning}


@dataclass(frozen=True)
class Prepared:
    """The programme of a request, before it is solved."""

    problem: StockpileProblem
    loss_multiple: dict[str, float]
    loss_multiple_source: dict[str, str]
    not_planned: dict[str, str]  #: commodity -> why it is not planned
    sample: SampleMeta
    loss_model: str = "multiple"
    damage: dict[str, dict[str, Any]] = field(default_factory=dict)  #: commodity -> per-partner damage


@dataclass(frozen=True)
class PlanReport:
    """The answer to a :class:`PlanRequest`."""

    request: PlanRequest
    plan: StockpilePlan
    frontier: pd.DataFrame | None
    loss_multiple: dict[str, float]
    loss_multiple_source: dict[str, str]
    not_planned: dict[str, str]
    sample: SampleMeta
    loss_model: str = "multiple"
    damage: dict[str, dict[str, Any]] = field(default_factory=dict)
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)  #: commodity -> candidate lists it is on

    @property
    def problem(self) -> StockpileProblem:
        return self.plan.problem

    def side_by_side(self) -> dict[str, dict[str, Any]]:
        """Coordinated and independent optimum: objective, expected loss, CVaR, stock per
        ``commodity/partner`` (t)."""
        p = self.problem
        return {
            name: {"objective": e.objective, "expected_loss": e.expected_loss, "cvar": e.cvar,
                   "stock_t": {f"{c}/{k}": float(e.stock_t[i, j]) for i, c in enumerate(p.commodities)
                               for j, k in enumerate(p.partners)}}
            for name, e in (("coordinated", self.plan.coordinated), ("independent", self.plan.independent))
        }

    def why(self) -> list[dict[str, Any]]:
        """Why each funded (commodity, partner) is funded: its stock and cost, its expected
        shortfall without and with the plan, the programme's loss per unmet ton of that partner
        (the partner's own damage figure, or a user multiple) and the marginal value of a budget
        dollar; largest cost first."""
        t = self.plan.targets()
        t = t[t["stock_t"] > 1e-9]
        p = self.problem
        loss = p.loss_ck
        out = []
        for r in t.sort_values("cost_usd", ascending=False).itertuples(index=False):
            c, k = str(r.commodity), str(r.partner)
            own = self.damage.get(c, {}).get("by_partner", {}).get(k, {})
            out.append({
                "commodity": c, "partner": k, "stock_t": float(r.stock_t), "cost_usd": float(r.cost_usd),
                "expected_shortfall_without_t": float(r.expected_shortfall_without_t),
                "expected_shortfall_t": float(r.expected_shortfall_t),
                "loss_per_t": float(loss[p.commodities.index(c), p.partners.index(k)]),
                "partner_loss_per_t": own.get("loss_per_t"), "basis": own.get("basis"),
                "marginal_value_per_usd": float(r.marginal_value), "lists": list(self.lists.get(c, ())),
                "flags": own.get("flags", []),
            })
        return out

    def to_dict(self) -> dict[str, Any]:
        """The dashboard's plan result: ``plan`` (= ``critmin stockpile plan --json``),
        ``side_by_side``, ``frontier`` (rows, or None), loss multiples and their sources,
        ``not_planned``, ``sample``, ``loss_model``, ``damage`` and ``why``. Values may still
        hold NaN (the web's ``jsonable`` writes them as null)."""
        return {
            "loss_model": self.loss_model,
            "damage": dict(self.damage),
            "why": self.why(),
            "plan": self.plan.to_dict(),
            "side_by_side": self.side_by_side(),
            "frontier": None if self.frontier is None else self.frontier.to_dict(orient="records"),
            "loss_multiple": dict(self.loss_multiple),
            "loss_multiple_source": dict(self.loss_multiple_source),
            "not_planned": dict(self.not_planned),
            "sample": self.sample.to_dict(),
        }


def _note(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(fraction, message)


def request_partners(budgets_usd: Mapping[str, float]) -> tuple[str, ...]:
    """The budgeted partners, in the order of ``risk.consumers`` (so that the same budgets
    give the same programme however they were typed). Raises :class:`StockpileInputError`
    (field ``budgets``) for an unknown partner, a NaN or a negative amount, or no budget."""
    known = configured_partners()
    if not budgets_usd:
        raise StockpileInputError("budgets", f"no budget given; expected one per partner of {list(known)}, "
                                             "e.g. USA=2B,JPN=1.5B")
    for k, v in budgets_usd.items():
        if k not in known:
            raise StockpileInputError("budgets", f"unknown partner {k!r}; expected one of {list(known)}")
        if not isinstance(v, (int, float)) or math.isnan(v) or v < 0:
            raise StockpileInputError("budgets", f"{k}={v!r}; expected an amount >= 0 in US$ (inf = no limit)")
    return tuple(k for k in known if k in budgets_usd)


def _check(req: PlanRequest) -> None:
    if req.mode not in MODES:
        raise StockpileInputError("mode", f"{req.mode!r}; expected coordinated or independent")
    if req.joint_budget_usd is not None and (math.isnan(req.joint_budget_usd) or req.joint_budget_usd < 0):
        raise StockpileInputError("joint_budget", f"{req.joint_budget_usd!r}; expected an amount >= 0 in US$")
    if req.run_id is None and req.runs <= 0:
        raise StockpileInputError("runs", f"{req.runs}; expected a positive number of scenarios")
    if req.frontier_scales is not None:
        bad = [s for s in req.frontier_scales if not (math.isfinite(s) and s >= 0)]
        if bad or not req.frontier_scales:
            raise StockpileInputError("frontier_scales", f"{list(req.frontier_scales)!r}; expected finite numbers >= 0")


def prepare(wh: Warehouse, req: PlanRequest, *, progress: Progress | None = None,
            economic_vulnerability: EVSource | None = None) -> Prepared:
    """Scenarios, plannable commodities, loss multiples and the programme of ``req``.

    ``economic_vulnerability`` returns EV per commodity (default:
    :func:`critmin.stockpile.inputs.economic_vulnerability_for`); it is not called when
    ``loss_multiple`` has a ``'*'`` override.
    """
    _check(req)
    model = losses.loss_model(req.loss_model)
    partners = request_partners(req.budgets_usd)
    params = StockpileParams.from_settings(**dict(req.params))
    chosen = None if req.commodities is None else [str(c) for c in req.commodities]
    on_lists = losses.candidates() if chosen is None else None
    if on_lists is not None:
        chosen = list(on_lists)
    overrides = {k: float(v) for k, v in req.loss_multiple.items()}
    _note(progress, 0.05, "scenarios: " + (f"stored run {req.run_id}" if req.run_id
                                           else f"sampling {req.runs} runs"))
    sample: ShortfallSample = inputs.sample_for(
        wh, runs=req.runs, random_state=req.seed, run_id=req.run_id,
        commodities=None if on_lists is not None and req.run_id is not None else chosen,
        partners=partners, horizon_months=req.horizon_months, allow_other_vintage=req.allow_vintage_mismatch)
    if on_lists is not None and req.run_id is not None:  # a stored run holds what it sampled
        sample = inputs.subset_sample(sample, [c for c in sample.commodities if c in on_lists])
    if set(sample.consumers) != set(partners):
        raise StockpileInputError("run_id", f"run {req.run_id!r} has partners {list(sample.consumers)}; "
                                            f"the budgets are for {list(partners)}")
    missing: dict[str, str] = {}
    if on_lists is not None:
        missing = {c: f"not planned: no disruption market (no production or consumption data) for this listed "
                      f"commodity ({', '.join(on_lists[c])})" for c in on_lists if c not in sample.commodities}
    damage: dict[str, dict[str, Any]] = {}
    if model == "damage":
        _note(progress, 0.3, "loss per unmet ton from the damage model")
        unknown = [c for c in overrides if c != inputs.ALL and c not in sample.commodities]
        if unknown:
            raise StockpileInputError("loss_multiple", f"unknown commodities {unknown}")
        mult, source, damage = losses.damage_losses(wh, sample)
        excluded = {c: "not computable: no price in the warehouse" for c in sample.commodities if c not in mult}
        if not mult:
            raise StockpileInputError("commodities", f"none can be planned: {excluded}")
        mult, source = losses.apply_overrides(mult, source, overrides)
        sample = inputs.subset_sample(sample, [c for c in sample.commodities if c in mult])
        # the programme charges each partner's unmet ton its own loss l_ck (a user multiple
        # overrides both partners' losses of its commodity)
        by_partner = {c: [float(damage[c]["by_partner"][k]["loss_per_t"]) for k in sample.consumers]
                      for c in sample.commodities if not source[c].startswith("user override")}
    else:
        _note(progress, 0.3, "loss per unmet ton from the assessment")
        ev: Mapping[str, float] = {}
        if inputs.ALL not in overrides:
            ev = economic_vulnerability() if economic_vulnerability is not None else inputs.economic_vulnerability_for(wh)
        sample, mult, source, excluded = inputs.plannable(sample, ev, overrides)
        by_partner = {}
    excluded = {**missing, **excluded}
    budgets = {k: float(req.budgets_usd[k]) for k in partners}
    problem = make_problem(sample, budgets, mult, params, mode=req.mode,
                           joint_budget_usd=req.joint_budget_usd, partner_loss_usd_per_t=by_partner)
    meta = SampleMeta(run_id=sample.run_id, seed=sample.seed, scenarios=sample.n_scenarios,
                      commodities=tuple(sample.commodities), vintage=sample.meta.get("vintage", "unknown"),
                      data_fingerprint=sample.meta.get("data_fingerprint", "unknown"),
                      vintage_warning=sample.meta.get("vintage_warning"))
    return Prepared(problem, mult, source, excluded, meta, model, damage)


def _lists(commodities: Sequence[str]) -> dict[str, tuple[str, ...]]:
    from critmin.data.curated import lists_for

    return {c: tuple(lists_for(c)) for c in commodities}


def plan(wh: Warehouse, req: PlanRequest, *, progress: Progress | None = None,
         economic_vulnerability: EVSource | None = None) -> PlanReport:
    """Plan stockpiles for ``req``: the coordinated and independent optima, the value of
    coordination and (with ``frontier_scales``) the budget-loss frontier. Raises
    :class:`~critmin.stockpile.problem.StockpileInputError` naming the field of a bad input,
    :class:`~critmin.stockpile.problem.StockpileSolveError` if HiGHS fails."""
    prep = prepare(wh, req, progress=progress, economic_vulnerability=economic_vulnerability)
    _note(progress, 0.4, "optimising coordinated and independent plans")
    result = solve_plan(prep.problem)
    front = None
    if req.frontier_scales is not None:
        _note(progress, 0.7, "budget-loss frontier")
        front = frontier(prep.problem, req.frontier_scales)
    return PlanReport(request=req, plan=result, frontier=front, loss_multiple=prep.loss_multiple,
                      loss_multiple_source=prep.loss_multiple_source, not_planned=prep.not_planned,
                      sample=prep.sample, loss_model=prep.loss_model, damage=prep.damage,
                      lists=_lists(prep.sample.commodities))
