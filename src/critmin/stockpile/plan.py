"""Stockpile plans: optimise, evaluate fixed stocks, value of coordination.

The public entry points are :func:`make_problem` (sample + budgets + parameters -> problem),
:func:`optimise` (one mode), :func:`evaluate_stock` (a given stock on the same scenarios) and
:func:`plan` (the requested mode plus the value of coordination, the object behind
``critmin stockpile plan --json``).

Every plan and baseline is scored by the same joint measure,
    J(x) = sum_ck h_c x_ck + E[L] + lambda * CVaR_alpha(L),
with L_s the joint second-stage loss of both partners in scenario s (unmet shortfall at the
loss per ton plus transfer costs) under the best recourse that the sharing rule allows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from critmin import settings
from critmin.disruption.sample import ShortfallSample
from critmin.stockpile import config  # noqa: F401  (registers the settings)
from critmin.stockpile.calc import (
    calc_cvar,
    calc_days_of_cover,
    calc_holding_cost_per_t,
    calc_scenario_losses,
    calc_transfer_cover_fraction,
    calc_unmet_without_transfers,
)
from critmin.stockpile.model import build_lp, make_highs, read_back, solve_lp
from critmin.stockpile.problem import (
    Mode,
    StockpileInputError,
    StockpileProblem,
    validate_problem,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StockpileParams:
    """Parameters of the programme that are settings (defaults from :mod:`.config`)."""

    capital_cost_rate: float
    storage_cost_usd_per_t_yr: float
    transfer_cost_usd_per_t: float
    transfer_lead_time_months: float
    lendable_share: float
    cvar_alpha: float
    risk_aversion: float

    @classmethod
    def from_settings(cls, **overrides: float) -> StockpileParams:
        names = cls.__dataclass_fields__
        unknown = set(overrides) - set(names)
        if unknown:
            raise KeyError(f"unknown stockpile parameter(s) {sorted(unknown)}; known: {sorted(names)}")
        vals = {n: float(overrides.get(n, settings.get(f"stockpile.{n}"))) for n in names}
        return cls(**vals)


def _loss_matrix(commodities: tuple[str, ...], partners: tuple[str, ...], loss: np.ndarray,
                 by_partner: Mapping[str, Sequence[float]] | None) -> np.ndarray:
    """``[commodity]`` loss, or ``[commodity, partner]`` where ``by_partner`` names commodities."""
    if not by_partner:
        return loss
    _check_keys_subset("partner_loss_usd_per_t", by_partner, commodities)
    out = np.repeat(loss[:, None], len(partners), axis=1)
    for i, c in enumerate(commodities):
        if c in by_partner:
            row = np.asarray(by_partner[c], dtype=float)
            if row.shape != (len(partners),):
                raise StockpileInputError("partner_loss_usd_per_t", f"{c}: {list(row)}; expected one loss per "
                                                                    f"partner of {list(partners)}")
            out[i] = row
    return out


def _check_keys_subset(field: str, given: Mapping[str, object], known: tuple[str, ...]) -> None:
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise StockpileInputError(field, f"unknown commodities {unknown}; expected some of {list(known)}")


def make_problem(
    sample: ShortfallSample,
    budgets_usd: Mapping[str, float],
    loss_multiple: Mapping[str, float],
    params: StockpileParams | None = None,
    *,
    mode: Mode = "coordinated",
    joint_budget_usd: float | None = None,
    horizon_months: float = 12.0,
    partner_loss_usd_per_t: Mapping[str, Sequence[float]] | None = None,
) -> StockpileProblem:
    """Resolve a sample, budgets and parameters into a validated :class:`StockpileProblem`.

    ``budgets_usd`` needs one entry per partner of the sample (``inf`` for no limit).
    ``loss_multiple`` needs one entry per commodity: economic loss per unmet ton as a multiple
    of the sample's price (see :func:`critmin.stockpile.inputs.loss_multiples`).
    ``partner_loss_usd_per_t`` (commodity -> one loss per partner of the sample, US$/t, e.g. the
    damage model's l_ck) replaces the multiple of the commodities it names: each partner's
    unmet ton then costs its own loss, a release saves the holder's loss and a transfer the
    recipient's.
    """
    params = params or StockpileParams.from_settings()
    partners, commodities = tuple(sample.consumers), tuple(sample.commodities)
    _check_keys("budgets", budgets_usd, partners)
    _check_keys("loss_multiple", loss_multiple, commodities)
    price = np.asarray(sample.price_usd_per_t, dtype=float)
    mult = np.array([float(loss_multiple[c]) for c in commodities])
    C = len(commodities)
    p = StockpileProblem(
        commodities=commodities,
        partners=partners,
        shortfall_t=np.asarray(sample.shortfall_t, dtype=float),
        weights=np.asarray(sample.weights, dtype=float),
        consumption_t=np.asarray(sample.consumption_t, dtype=float),
        price_usd_per_t=price,
        loss_usd_per_t=_loss_matrix(commodities, partners, mult * price, partner_loss_usd_per_t),
        holding_usd_per_t_yr=calc_holding_cost_per_t(
            price, params.capital_cost_rate, params.storage_cost_usd_per_t_yr
        ),
        transfer_cost_usd_per_t=np.full(C, params.transfer_cost_usd_per_t),
        budgets_usd=np.array([float(budgets_usd[k]) for k in partners]),
        joint_budget_usd=float("inf") if joint_budget_usd is None else float(joint_budget_usd),
        lendable_share=params.lendable_share,
        transfer_cover=calc_transfer_cover_fraction(params.transfer_lead_time_months, horizon_months),
        alpha=params.cvar_alpha,
        risk_aversion=params.risk_aversion,
        mode=mode,
    )
    validate_problem(p)
    return p


def _check_keys(name: str, given: Mapping[str, float], expected: tuple[str, ...]) -> None:
    missing = [e for e in expected if e not in given]
    extra = [g for g in given if g not in expected]
    if missing or extra:
        msg = []
        if missing:
            msg.append(f"missing {missing}")
        if extra:
            msg.append(f"unknown {extra}")
        raise StockpileInputError(name, f"{'; '.join(msg)}; expected keys {list(expected)}")


@dataclass
class Evaluation:
    """A stock (optimised or given) scored on the problem's scenarios.

    Money in US$, quantities in t. ``objective`` is the joint measure J of the module doc.
    """

    name: str
    mode: Mode
    sharing: bool
    stock_t: np.ndarray  # [commodity, partner]
    cost_usd: np.ndarray  # [commodity, partner] purchase + first-year holding
    unmet_t: np.ndarray  # [scenario, commodity, partner]
    sent_t: np.ndarray  # [scenario, commodity, partner]
    scenario_loss_usd: np.ndarray  # [scenario] joint second-stage loss
    expected_loss: float
    cvar: float
    holding_cost: float
    objective: float
    marginal_value: np.ndarray  # [commodity, partner] $ objective saved per extra budget $
    timings: dict[str, float] = field(default_factory=dict)

    def expected_shortfall_t(self, weights: np.ndarray) -> np.ndarray:
        return np.einsum("s,sck->ck", weights, self.unmet_t)


def _score(p: StockpileProblem, name: str, mode: Mode, sharing: bool, stock: np.ndarray,
           unmet: np.ndarray, sent: np.ndarray, marginal: np.ndarray,
           timings: dict[str, float]) -> Evaluation:
    stock = np.maximum(stock, 0.0)
    unmet = np.maximum(unmet, 0.0)
    losses = calc_scenario_losses(unmet, p.loss_usd_per_t, sent * p.transfer_cost_usd_per_t[None, :, None], 1.0)
    el = float(p.weights @ losses)
    cvar = calc_cvar(losses, p.weights, p.alpha)
    holding = float((p.holding_usd_per_t_yr[:, None] * stock).sum())
    return Evaluation(
        name=name, mode=mode, sharing=sharing, stock_t=stock,
        cost_usd=p.unit_cost_usd_per_t[:, None] * stock, unmet_t=unmet, sent_t=sent,
        scenario_loss_usd=losses, expected_loss=el, cvar=cvar, holding_cost=holding,
        objective=holding + el + p.risk_aversion * cvar, marginal_value=marginal,
        timings=timings,
    )


def optimise(p: StockpileProblem, *, solver: str = "choose") -> Evaluation:
    """Solve the programme in the problem's mode (define -> build -> solve -> read back)."""
    validate_problem(p)
    built = build_lp(p)
    h = make_highs(built, settings.get("stockpile.solver_time_limit_s"), solver)
    raw = solve_lp(h, p)
    sol = read_back(p, built, raw)
    budget_dual = _right_duals_at_zero(h, p, built, sol.budget_dual)
    marginal = np.broadcast_to(-(budget_dual + sol.joint_dual)[None, :], sol.stock_t.shape).copy()
    timings = {"build_s": built.build_seconds, "solve_s": raw.solve_seconds}
    ev = _score(p, f"optimal ({p.mode})", p.mode, p.transfers_enabled, sol.stock_t, sol.unmet_t,
                sol.sent_t, marginal, timings)
    ev.timings["lp_objective"] = raw.objective
    return ev


def _right_duals_at_zero(h, p: StockpileProblem, built, dual: np.ndarray) -> np.ndarray:
    """Marginal value of the first dollar for partners whose budget is exactly 0.

    At B_k = 0 the budget row is degenerate (x_k = 0 is forced by the bounds as well), so the
    row dual is any element of [right derivative, +inf). The value of "one more dollar" is
    the right derivative: the dual of the same LP with a budget too small to reach any
    breakpoint of the piecewise-linear value function (breakpoints lie at stocks of
    theta- and phi-scaled shortfalls); it is read after a warm-started re-solve.
    """
    zero = [k for k, row in built.budget_rows.items() if p.budgets_usd[k] == 0.0]
    if not zero:
        return dual
    d = p.shortfall_t[p.shortfall_t > 0]
    d_min = float(d.min()) if d.size else 1.0
    scale = max(min(p.transfer_cover, p.lendable_share), 1e-3) if p.transfers_enabled else 1.0
    eps = 1e-4 * float(p.unit_cost_usd_per_t.min()) * d_min * scale
    out = dual.copy()
    for k in zero:
        h.changeRowBounds(built.budget_rows[k], -np.inf, eps)
    raw = solve_lp(h, p)
    for k in zero:
        out[k] = raw.row_dual[built.budget_rows[k]]
    return out


def evaluate_stock(p: StockpileProblem, stock_t: np.ndarray, name: str, *, sharing: bool) -> Evaluation:
    """Score a given stock ``[commodity, partner]`` on the problem's scenarios.

    Without sharing the best recourse is closed-form (release min(x, d)); with sharing the
    second stage is the coordinated LP with the first stage fixed to ``stock_t``.
    """
    stock_t = np.asarray(stock_t, dtype=float)
    q = p.with_(fixed_stock_t=stock_t, mode="coordinated" if sharing else "independent")
    validate_problem(q)
    nan = np.full(stock_t.shape, np.nan)
    if not q.transfers_enabled:
        unmet = calc_unmet_without_transfers(p.shortfall_t, stock_t)
        return _score(q, name, q.mode, False, stock_t, unmet, np.zeros_like(unmet), nan, {})
    q = q.with_(risk_aversion=p.risk_aversion)
    ev = optimise(q)
    ev.name, ev.marginal_value = name, nan
    return ev


@dataclass
class StockpilePlan:
    """The answer of ``critmin stockpile plan``: a plan in one mode and the value of coordination."""

    mode: Mode
    budgets_usd: dict[str, float]
    joint_budget_usd: float | None
    result: Evaluation
    coordinated: Evaluation
    independent: Evaluation  # the independent optimum scored without transfers
    problem: StockpileProblem

    @property
    def value_of_coordination(self) -> dict[str, float | None]:
        """J(independent plan, no transfers) - J(coordinated plan), in $ and % of the former."""
        ind, coo = self.independent, self.coordinated
        usd = ind.objective - coo.objective
        return {
            "usd": usd,
            "pct": 100.0 * usd / ind.objective if ind.objective > 0 else None,
            "expected_loss_usd": ind.expected_loss - coo.expected_loss,
            "independent_objective": ind.objective,
            "coordinated_objective": coo.objective,
        }

    def targets(self) -> pd.DataFrame:
        """One row per commodity x partner (the ``targets`` of the JSON)."""
        p, ev = self.problem, self.result
        C, K = len(p.commodities), len(p.partners)
        without = np.einsum("s,sck->ck", p.weights, p.shortfall_t)
        return pd.DataFrame({
            "commodity": np.repeat(p.commodities, K),
            "partner": np.tile(p.partners, C),
            "stock_t": ev.stock_t.ravel(),
            "days_of_cover": calc_days_of_cover(ev.stock_t, p.consumption_t).ravel(),
            "cost_usd": ev.cost_usd.ravel(),
            "expected_shortfall_t": ev.expected_shortfall_t(p.weights).ravel(),
            "expected_shortfall_without_t": without.ravel(),
            "marginal_value": ev.marginal_value.ravel(),
        })

    def to_dict(self) -> dict:
        """The JSON of ``critmin stockpile plan --json`` (NaN written as null)."""
        budgets = {k: (None if not np.isfinite(v) else v) for k, v in self.budgets_usd.items()}
        if self.joint_budget_usd is not None:
            budgets["joint"] = self.joint_budget_usd
        return {
            "mode": self.mode,
            "budgets": budgets,
            "objective": self.result.objective,
            "expected_loss": self.result.expected_loss,
            "cvar": self.result.cvar,
            "value_of_coordination": self.value_of_coordination,
            "targets": [
                {k: _json_num(v) for k, v in row.items()}
                for row in self.targets().to_dict(orient="records")
            ],
        }


def _json_num(v):
    if isinstance(v, (float, np.floating)):
        return None if not np.isfinite(v) else float(v)
    return v


def plan(p: StockpileProblem) -> StockpilePlan:
    """Optimise both modes at the same budgets and return the plan of ``p.mode``.

    The independent optimum is scored without transfers (there is no agreement in that mode);
    the coordinated optimum minimises J over a set that contains it, so the value of
    coordination is >= 0 up to solver tolerance.
    """
    coo = optimise(p.with_(mode="coordinated"))
    ind_opt = optimise(p.with_(mode="independent"))
    ind = evaluate_stock(p, ind_opt.stock_t, "optimal (independent)", sharing=False)
    ind.marginal_value, ind.timings = ind_opt.marginal_value, ind_opt.timings
    budgets = dict(zip(p.partners, map(float, p.budgets_usd), strict=True))
    joint = None if not np.isfinite(p.joint_budget_usd) else float(p.joint_budget_usd)
    return StockpilePlan(
        mode=p.mode, budgets_usd=budgets, joint_budget_usd=joint,
        result=coo if p.mode == "coordinated" else ind,
        coordinated=coo, independent=ind, problem=p,
    )
