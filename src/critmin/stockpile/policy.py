"""Rule-based policy baselines, evaluated on the same scenarios as the optimiser.

* ``60 days``: every commodity held at ``stockpile.policy_days`` of each partner's consumption
  (JOGMEC practice);
* ``60/180 days``: the same, but ``stockpile.high_risk_days`` for the commodities rated
  high-risk by the assessment (the list is an input);
* ``fixed``: any stock the user supplies, per commodity and partner.

The days rules apply to a scope of commodities (by default, in the CLI, the 2022 US critical
minerals list: JOGMEC holds rare metals, not bulk materials); high-risk ones are always covered.
Each is scored by the joint measure of :mod:`critmin.stockpile.plan`, without transfers
(today's practice has no sharing agreement) unless ``sharing=True``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from critmin import settings
from critmin.stockpile.calc import calc_policy_stock
from critmin.stockpile.plan import Evaluation, evaluate_stock
from critmin.stockpile.problem import StockpileInputError, StockpileProblem


def days_stock(p: StockpileProblem, high_risk: Iterable[str] = (), *, days: float | None = None,
               high_risk_days: float | None = None, scope: Iterable[str] | None = None) -> np.ndarray:
    """Stock ``[commodity, partner]`` of the days-of-consumption rule.

    ``scope``: the commodities the rule covers (JOGMEC stockpiles rare metals, not cement);
    the others hold 0 t. ``None`` = every commodity of the problem.
    """
    days = float(settings.get("stockpile.policy_days") if days is None else days)
    hr_days = float(
        settings.get("stockpile.high_risk_days") if high_risk_days is None else high_risk_days
    )
    high_risk = list(high_risk)
    scope_set = set(p.commodities) if scope is None else set(scope)
    unknown = [c for c in high_risk if c not in p.commodities]
    if unknown:
        raise StockpileInputError(
            "high_risk", f"commodities {unknown} are not in the sample ({len(p.commodities)} "
            f"commodities: {', '.join(p.commodities[:10])}{', ...' if len(p.commodities) > 10 else ''})"
        )
    per_c = np.array([
        (hr_days if c in high_risk else days) if (c in scope_set or c in high_risk) else 0.0
        for c in p.commodities
    ])
    return calc_policy_stock(p.consumption_t, per_c)


def fixed_stock_array(p: StockpileProblem, stock: Mapping[tuple[str, str], float]) -> np.ndarray:
    """``{(commodity, partner): t}`` -> ``[commodity, partner]``; absent pairs hold 0 t."""
    arr = np.zeros((len(p.commodities), len(p.partners)))
    for (c, k), t in stock.items():
        if c not in p.commodities:
            raise StockpileInputError("fixed_stock", f"unknown commodity {c!r}")
        if k not in p.partners:
            raise StockpileInputError("fixed_stock", f"unknown partner {k!r}; expected {p.partners}")
        if not (np.isfinite(t) and t >= 0):
            raise StockpileInputError("fixed_stock", f"{c}/{k} = {t!r}; expected a finite t >= 0")
        arr[p.commodities.index(c), p.partners.index(k)] = float(t)
    return arr


def policy_baselines(
    p: StockpileProblem,
    high_risk: Iterable[str] = (),
    fixed_stock: Mapping[tuple[str, str], float] | None = None,
    *,
    sharing: bool = False,
    scope: Iterable[str] | None = None,
) -> list[Evaluation]:
    """Evaluate the rule-based baselines (and a user stock, if given) on ``p``'s scenarios.

    ``scope`` limits the days rules to those commodities (plus the high-risk ones); see
    :func:`days_stock`.
    """
    high_risk = list(high_risk)
    scope = None if scope is None else [c for c in scope if c in p.commodities]
    d60 = int(settings.get("stockpile.policy_days"))
    d180 = int(settings.get("stockpile.high_risk_days"))
    out = [evaluate_stock(p, days_stock(p, scope=scope), f"{d60} days", sharing=sharing)]
    out.append(evaluate_stock(p, days_stock(p, high_risk, scope=scope),
                              f"{d60}/{d180} days (high-risk)", sharing=sharing))
    if fixed_stock is not None:
        out.append(evaluate_stock(p, fixed_stock_array(p, fixed_stock), "fixed (user)",
                                  sharing=sharing))
    return out


def comparison_table(p: StockpileProblem, evaluations: Iterable[Evaluation]) -> pd.DataFrame:
    """One row per plan/baseline: costs per partner, whether budgets hold, loss figures."""
    rows = []
    for ev in evaluations:
        spent = ev.cost_usd.sum(axis=0)
        row: dict[str, object] = {"name": ev.name, "sharing": ev.sharing}
        for k, partner in enumerate(p.partners):
            row[f"cost_usd_{partner}"] = float(spent[k])
            row[f"within_budget_{partner}"] = bool(spent[k] <= p.budgets_usd[k] * (1 + 1e-9))
        row.update(
            cost_usd=float(spent.sum()),
            expected_loss=ev.expected_loss,
            cvar=ev.cvar,
            holding_cost=ev.holding_cost,
            objective=ev.objective,
            expected_shortfall_t=float(ev.expected_shortfall_t(p.weights).sum()),
        )
        rows.append(row)
    return pd.DataFrame(rows)
