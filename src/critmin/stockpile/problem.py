"""The inputs of one stockpile programme, and their validation.

:class:`StockpileProblem` holds every number the LP needs, already resolved (no settings are
read here). :func:`validate_problem` checks them before anything is built, and names the field
(and commodity, partner or scenario) of the first bad value, so that an infeasible or
unbounded programme is caught as a bad input rather than as a solver status.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

Mode = Literal["coordinated", "independent"]


class StockpileInputError(ValueError):
    """An input of the stockpile programme is invalid; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class StockpileSolveError(RuntimeError):
    """HiGHS did not return an optimal solution; the message names the likely input."""


@dataclass(frozen=True)
class StockpileProblem:
    """Resolved inputs of the two-stage programme (dimensions scenario x commodity x partner).

    Attributes
    ----------
    shortfall_t: ``[scenario, commodity, partner]`` annual shortfall d (t).
    weights: ``[scenario]`` probabilities w (sum 1).
    consumption_t: ``[commodity, partner]`` annual consumption (t/yr), for days of cover.
    price_usd_per_t: ``[commodity]`` purchase price p.
    loss_usd_per_t: ``[commodity]`` or ``[commodity, partner]`` economic loss per ton of unmet
        shortfall l (one per partner: the damage model's l_ck; see :attr:`loss_ck`).
    holding_usd_per_t_yr: ``[commodity]`` annual holding cost h.
    transfer_cost_usd_per_t: ``[commodity]`` transfer cost tau.
    budgets_usd: ``[partner]`` budget B_k (``inf`` = no budget row).
    joint_budget_usd: joint budget B_J (``inf`` = none).
    lendable_share: theta, share of a stock that may be lent.
    transfer_cover: phi, share of the recipient's shortfall a transfer can cover (lead time).
    alpha, risk_aversion: CVaR level alpha and weight lambda.
    mode: ``coordinated`` (transfers, one joint loss) or ``independent`` (no transfers; each
        partner's CVaR is of its own loss, as if it planned alone).
    fixed_stock_t: ``[commodity, partner]`` if given, the first stage is fixed to it (policy
        evaluation) and budget rows are dropped.
    """

    commodities: tuple[str, ...]
    partners: tuple[str, ...]
    shortfall_t: np.ndarray
    weights: np.ndarray
    consumption_t: np.ndarray
    price_usd_per_t: np.ndarray
    loss_usd_per_t: np.ndarray
    holding_usd_per_t_yr: np.ndarray
    transfer_cost_usd_per_t: np.ndarray
    budgets_usd: np.ndarray
    joint_budget_usd: float = float("inf")
    lendable_share: float = 0.5
    transfer_cover: float = 1.0
    alpha: float = 0.95
    risk_aversion: float = 0.0
    mode: Mode = "coordinated"
    fixed_stock_t: np.ndarray | None = None

    @property
    def loss_ck(self) -> np.ndarray:
        """``[commodity, partner]`` loss per unmet ton (a ``[commodity]`` loss broadcast)."""
        loss = np.asarray(self.loss_usd_per_t, dtype=float)
        return loss if loss.ndim == 2 else np.repeat(loss[:, None], len(self.partners), axis=1)

    @property
    def n_scenarios(self) -> int:
        return int(self.shortfall_t.shape[0])

    @property
    def unit_cost_usd_per_t(self) -> np.ndarray:
        """Budget use per ton: purchase price plus the first year's holding cost."""
        return self.price_usd_per_t + self.holding_usd_per_t_yr

    @property
    def transfers_enabled(self) -> bool:
        return (
            self.mode == "coordinated"
            and len(self.partners) > 1
            and self.lendable_share > 0
            and self.transfer_cover > 0
        )

    def with_(self, **changes) -> StockpileProblem:
        return replace(self, **changes)


def _check_array(name: str, arr: np.ndarray, shape: tuple[int, ...], labels: list[tuple[str, ...]],
                 *, positive: bool = False, allow_inf: bool = False) -> None:
    if arr.shape != shape:
        raise StockpileInputError(name, f"has shape {arr.shape}; expected {shape}")
    bad_nan = np.isnan(arr) | (~allow_inf & np.isinf(arr))
    bad_sign = (arr <= 0) if positive else (arr < 0)
    bad = bad_nan | bad_sign
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = ", ".join(lab[i] for lab, i in zip(labels, idx, strict=True))
        expected = "a finite number > 0" if positive else "a finite number >= 0"
        if allow_inf:
            expected = expected.replace("a finite number", "a number (or inf)")
        n = int(bad.sum())
        raise StockpileInputError(
            name, f"value {float(arr[idx])!r} at [{where}] ({n} bad value(s)); expected {expected}"
        )


def validate_problem(p: StockpileProblem) -> None:
    """Check every input; raise :class:`StockpileInputError` naming the first bad one."""
    C, K = len(p.commodities), len(p.partners)
    if C == 0 or K == 0:
        raise StockpileInputError("commodities/partners", "need at least one of each")
    if len(set(p.commodities)) != C or len(set(p.partners)) != K:
        raise StockpileInputError("commodities/partners", "labels must be unique")
    if p.shortfall_t.ndim != 3 or p.shortfall_t.shape[1:] != (C, K):
        raise StockpileInputError(
            "shortfall_t", f"has shape {p.shortfall_t.shape}; expected (scenario, {C}, {K})"
        )
    S = p.n_scenarios
    if S == 0:
        raise StockpileInputError("shortfall_t", "has no scenarios")
    scen = tuple(f"scenario {s}" for s in range(S))
    com, par = p.commodities, p.partners
    _check_array("shortfall_t", p.shortfall_t, (S, C, K), [scen, com, par])
    _check_array("weights", p.weights, (S,), [scen])
    if not np.isclose(p.weights.sum(), 1.0, rtol=0, atol=1e-9):
        raise StockpileInputError("weights", f"sum to {p.weights.sum()!r}; expected 1")
    _check_array("consumption_t", p.consumption_t, (C, K), [com, par])
    _check_array("price_usd_per_t", p.price_usd_per_t, (C,), [com], positive=True)
    if np.ndim(p.loss_usd_per_t) == 2:
        _check_array("loss_usd_per_t", p.loss_usd_per_t, (C, K), [com, par], positive=True)
    else:
        _check_array("loss_usd_per_t", p.loss_usd_per_t, (C,), [com], positive=True)
    _check_array("holding_usd_per_t_yr", p.holding_usd_per_t_yr, (C,), [com])
    _check_array("transfer_cost_usd_per_t", p.transfer_cost_usd_per_t, (C,), [com])
    _check_array("budgets_usd", p.budgets_usd, (K,), [par], allow_inf=True)
    jb = np.array([p.joint_budget_usd], dtype=float)
    _check_array("joint_budget_usd", jb, (1,), [("joint",)], allow_inf=True)
    for name, val in (("lendable_share", p.lendable_share), ("transfer_cover", p.transfer_cover)):
        if not 0.0 <= val <= 1.0:
            raise StockpileInputError(name, f"is {val!r}; expected a share in [0, 1]")
    if not 0.0 <= p.alpha < 1.0:
        raise StockpileInputError("alpha", f"is {p.alpha!r}; expected 0 <= alpha < 1")
    if not (np.isfinite(p.risk_aversion) and p.risk_aversion >= 0):
        raise StockpileInputError("risk_aversion", f"is {p.risk_aversion!r}; expected >= 0")
    if p.mode not in ("coordinated", "independent"):
        raise StockpileInputError("mode", f"is {p.mode!r}; expected 'coordinated' or 'independent'")
    if p.fixed_stock_t is not None:
        _check_array("fixed_stock_t", p.fixed_stock_t, (C, K), [com, par])
