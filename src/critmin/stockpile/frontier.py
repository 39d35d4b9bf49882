"""Budget-loss frontier: the optimal programme over a sweep of budgets, as data and as a chart.

Each mode's LP is built once; for each point of the sweep only the budget rows' upper bounds
change (``Highs.changeRowBounds``) and HiGHS re-solves from the previous basis.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from critmin import settings
from critmin.stockpile.calc import calc_unmet_without_transfers
from critmin.stockpile.model import build_lp, make_highs, read_back, solve_lp
from critmin.stockpile.plan import Evaluation, _score
from critmin.stockpile.problem import (
    Mode,
    StockpileInputError,
    StockpileProblem,
    validate_problem,
)


def frontier(
    p: StockpileProblem,
    scales: Sequence[float] | np.ndarray,
    modes: Sequence[Mode] = ("coordinated", "independent"),
) -> pd.DataFrame:
    """Optimal plan at budgets ``scale * p.budgets_usd`` (and joint budget) for each scale.

    Returns one row per mode and scale with the budgets, the money spent and the joint
    measures (``objective``, ``expected_loss``, ``cvar``). Independent plans are scored without
    transfers, as in :func:`critmin.stockpile.plan.plan`.
    """
    validate_problem(p)
    scales = [float(s) for s in scales]
    if not scales or any(not (np.isfinite(s) and s >= 0) for s in scales):
        raise StockpileInputError("scales", f"{scales!r}; expected finite numbers >= 0")
    if not (np.isfinite(p.budgets_usd).any() or np.isfinite(p.joint_budget_usd)):
        raise StockpileInputError("budgets_usd", "all budgets are unlimited; nothing to sweep")
    rows = []
    for mode in modes:
        q = p.with_(mode=mode)
        built = build_lp(q)
        h = make_highs(built, settings.get("stockpile.solver_time_limit_s"))
        for scale in sorted(scales):
            for k, row in built.budget_rows.items():
                h.changeRowBounds(row, -np.inf, scale * float(p.budgets_usd[k]))
            if built.joint_row is not None:
                h.changeRowBounds(built.joint_row, -np.inf, scale * p.joint_budget_usd)
            raw = solve_lp(h, q)
            sol = read_back(q, built, raw)
            if mode == "independent":
                unmet = calc_unmet_without_transfers(q.shortfall_t, sol.stock_t)
            else:
                unmet = sol.unmet_t
            ev: Evaluation = _score(q, mode, mode, mode == "coordinated", sol.stock_t, unmet,
                                    sol.sent_t, np.full(sol.stock_t.shape, np.nan), {})
            row_out: dict[str, object] = {"mode": mode, "scale": scale}
            spent = ev.cost_usd.sum(axis=0)
            for k, partner in enumerate(p.partners):
                row_out[f"budget_usd_{partner}"] = scale * float(p.budgets_usd[k])
                row_out[f"spent_usd_{partner}"] = float(spent[k])
                row_out[f"marginal_value_{partner}"] = float(-(sol.budget_dual[k] + sol.joint_dual))
            row_out.update(
                joint_budget_usd=scale * p.joint_budget_usd,
                total_budget_usd=scale * _total_budget(p),
                spent_usd=float(spent.sum()),
                objective=ev.objective,
                expected_loss=ev.expected_loss,
                cvar=ev.cvar,
                holding_cost=ev.holding_cost,
                expected_shortfall_t=float(ev.expected_shortfall_t(q.weights).sum()),
            )
            rows.append(row_out)
    return pd.DataFrame(rows)


def _total_budget(p: StockpileProblem) -> float:
    per_partner = float(np.sum(p.budgets_usd))
    return min(per_partner, p.joint_budget_usd)


def frontier_figure(df: pd.DataFrame, baselines: pd.DataFrame | None = None):
    """Plotly figure: optimal expected loss and objective against the total budget.

    ``baselines`` (from :func:`critmin.stockpile.policy.comparison_table`) adds the rule-based
    stocks as points at their cost.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    colours = {"coordinated": "#1f77b4", "independent": "#d62728"}
    for mode, g in df.groupby("mode", sort=False):
        g = g.sort_values("total_budget_usd")
        colour = colours.get(str(mode), "#555555")
        fig.add_trace(go.Scatter(
            x=g["total_budget_usd"] / 1e6, y=g["expected_loss"] / 1e6, mode="lines+markers",
            name=f"{mode}: expected loss", line={"color": colour},
            hovertemplate="budget %{x:,.1f} M$<br>expected loss %{y:,.1f} M$<extra></extra>",
        ))
        fig.add_trace(go.Scatter(
            x=g["total_budget_usd"] / 1e6, y=g["objective"] / 1e6, mode="lines",
            name=f"{mode}: objective (E + λ·CVaR + holding)",
            line={"color": colour, "dash": "dot"},
        ))
    if baselines is not None and len(baselines):
        fig.add_trace(go.Scatter(
            x=baselines["cost_usd"] / 1e6, y=baselines["expected_loss"] / 1e6,
            mode="markers+text", text=baselines["name"], textposition="top center",
            name="policy baselines (cost, expected loss)", marker={"symbol": "diamond", "size": 10},
        ))
    fig.update_layout(
        title="Stockpile budget–loss frontier",
        xaxis_title="total budget (million US$, purchase + first-year holding)",
        yaxis_title="million US$ per year",
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def write_frontier_html(df: pd.DataFrame, path: str | Path,
                        baselines: pd.DataFrame | None = None) -> Path:
    """Write the frontier chart as a self-contained HTML file (plotly.js inlined, no CDN)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frontier_figure(df, baselines).write_html(path, include_plotlyjs=True, full_html=True)
    return path
