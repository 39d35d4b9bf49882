"""CLI commands: ``critmin stockpile plan | frontier | compare``.

Thin layer: parse the options into a :class:`critmin.stockpile.service.PlanRequest` and call
the planning workflow (:func:`critmin.stockpile.service.plan`, the one the dashboard uses;
``frontier`` and ``compare`` build the same programme with ``service.prepare``), then print
JSON or a table.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from critmin.cli.common import (
    VintageOpt,
    cli_warehouse,
    fail,
    parse_amount,
    parse_budgets,
    parse_list,
    parse_pairs,
    user_errors,
    working,
)

if TYPE_CHECKING:  # heavy imports stay out of `critmin --help`
    import pandas as pd

    from critmin.stockpile.plan import StockpilePlan
    from critmin.stockpile.service import PlanRequest

Budget = Annotated[str, typer.Option("--budget", help="Budget per partner in US$, e.g. USA=2B,JPN=1.5B (inf = none).")]
JointBudget = Annotated[str | None, typer.Option("--joint-budget", help="Optional joint budget in US$ (e.g. 3B).")]
Runs = Annotated[int, typer.Option("--runs", help="Monte Carlo scenarios to sample.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed of the scenario sample.")]
RunId = Annotated[str | None, typer.Option("--run-id", help="Use a stored Monte Carlo run instead of sampling.")]
Commodities = Annotated[str | None, typer.Option("--commodities", help="Restrict to these commodities (comma-separated ids or names).")]
LossMult = Annotated[str | None, typer.Option(
    "--loss-multiple", help="Loss per unmet t as a multiple of price, per commodity (e.g. gallium=20,*=3); "
    "default: the loss model's (--loss-model).")]
LossModel = Annotated[str | None, typer.Option(
    "--loss-model", help="damage (value added at risk in the using industries, at least the price; critmin.impact) "
    "| multiple (1 + (M - 1) * EV from the assessment); default: setting stockpile.loss_model.")]
Params = Annotated[str | None, typer.Option(
    "--param", help="Override stockpile settings, e.g. risk_aversion=0,lendable_share=0.3 "
    "(names: capital_cost_rate, storage_cost_usd_per_t_yr, transfer_cost_usd_per_t, "
    "transfer_lead_time_months, lendable_share, cvar_alpha, risk_aversion).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AllowMismatch = Annotated[bool, typer.Option(
    "--allow-vintage-mismatch", help="Use a --run-id computed on another --vintage than this command's "
    "(default: refused; docs/data.md).")]

stockpile_app = typer.Typer(help="Stockpile targets: two-partner stochastic optimisation, baselines, frontier.",
                            no_args_is_help=True)


def plan_request(budget: str, joint_budget: str | None, mode: str, runs: int, seed: int,
                 run_id: str | None, commodities: str | None, loss_multiple: str | None,
                 params: str | None, loss_model: str | None = None,
                 allow_vintage_mismatch: bool = False) -> PlanRequest:
    """The options as a :class:`~critmin.stockpile.service.PlanRequest`, commodity names
    resolved to ids (ValueError naming the option on a bad value, UnknownCommodity on an
    unknown name)."""
    from critmin.data.normalize.commodities import resolve
    from critmin.stockpile.inputs import ALL
    from critmin.stockpile.losses import LOSS_MODELS
    from critmin.stockpile.service import PlanRequest

    if mode not in ("coordinated", "independent"):
        raise ValueError(f"--mode: {mode!r}; expected coordinated or independent")
    if loss_model is not None and loss_model not in LOSS_MODELS:
        raise ValueError(f"--loss-model: {loss_model!r}; expected one of {', '.join(LOSS_MODELS)}")
    names = parse_list(commodities)
    return PlanRequest(
        budgets_usd=parse_budgets(budget, "--budget"),
        mode=mode,  # type: ignore[arg-type]  # checked above
        joint_budget_usd=parse_amount(joint_budget, "--joint-budget") if joint_budget else None,
        runs=runs, seed=seed, run_id=run_id,
        commodities=None if names is None else [resolve(c) for c in names],
        loss_multiple={k if k == ALL else resolve(k): m
                       for k, m in parse_pairs(loss_multiple, "--loss-multiple").items()},
        params=parse_pairs(params, "--param"),
        loss_model=loss_model,
        allow_vintage_mismatch=allow_vintage_mismatch,
    )


def _report_excluded(excluded: dict[str, str]) -> None:
    for c, why in excluded.items():
        typer.echo(f"note: {c} left out: {why}", err=True)


def _report_sample(sample: Any) -> None:
    """One ``note:`` line: the stored run the scenarios came from and its vintage."""
    from critmin.disruption.provenance import vintage_label

    if sample.run_id is not None:
        typer.echo(f"note: scenarios from stored run {sample.run_id}, computed on data as of vintage "
                   f"{vintage_label(sample.vintage)}", err=True)


@stockpile_app.command("plan")
def plan_cmd(
    ctx: typer.Context, budget: Budget, joint_budget: JointBudget = None,
    mode: Annotated[str, typer.Option("--mode", help="coordinated | independent")] = "coordinated",
    runs: Runs = 2000, seed: Seed = 0, run_id: RunId = None, commodities: Commodities = None,
    loss_multiple: LossMult = None, params: Params = None, as_json: AsJson = False,
    loss_model: LossModel = None, vintage: VintageOpt = None, allow_vintage_mismatch: AllowMismatch = False,
) -> None:
    """Optimal stockpile per commodity and partner, and the value of coordination."""
    from critmin.stockpile import service
    from critmin.stockpile.problem import StockpileSolveError

    with user_errors():
        req = plan_request(budget, joint_budget, mode, runs, seed, run_id, commodities, loss_multiple, params,
                           loss_model, allow_vintage_mismatch)
    with cli_warehouse(ctx, errors=(StockpileSolveError,), vintage=vintage) as wh, working("solving the stockpile model (scenarios, LP) ..."):
        report = service.plan(wh, req)
    _report_excluded(report.not_planned)
    _report_sample(report.sample)
    if as_json:
        out = {**report.plan.to_dict(), "loss_model": report.loss_model, "why": report.why(),
               "sample": report.sample.to_dict()}
        typer.echo(json.dumps(out, indent=2, allow_nan=False))
        return
    _plan_table(report.plan)


@stockpile_app.command("frontier")
def frontier_cmd(
    ctx: typer.Context, budget: Budget, joint_budget: JointBudget = None,
    points: Annotated[int, typer.Option("--points", help="Number of budget levels in the sweep.")] = 11,
    max_scale: Annotated[float, typer.Option("--max-scale", help="Largest budget as a multiple of --budget.")] = 2.0,
    html: Annotated[Path | None, typer.Option("--html", help="Write the chart to this HTML file (self-contained).")] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write the frontier data to this CSV file.")] = None,
    baselines: Annotated[bool, typer.Option("--baselines/--no-baselines", help="Add policy baselines to the chart.")] = True,
    runs: Runs = 2000, seed: Seed = 0, run_id: RunId = None, commodities: Commodities = None,
    loss_multiple: LossMult = None, params: Params = None, as_json: AsJson = False,
    loss_model: LossModel = None, vintage: VintageOpt = None, allow_vintage_mismatch: AllowMismatch = False,
) -> None:
    """Budget-loss frontier: optimal expected loss over a sweep of budgets (0..max-scale x budget)."""
    import numpy as np

    from critmin.stockpile import inputs, service
    from critmin.stockpile.frontier import frontier, write_frontier_html
    from critmin.stockpile.policy import comparison_table, policy_baselines
    from critmin.stockpile.problem import StockpileSolveError

    if points < 2 or not (max_scale > 0):
        raise fail("--points must be >= 2 and --max-scale > 0")
    with user_errors():
        req = plan_request(budget, joint_budget, "coordinated", runs, seed, run_id, commodities,
                           loss_multiple, params, loss_model, allow_vintage_mismatch)
    with cli_warehouse(ctx, errors=(StockpileSolveError,), vintage=vintage) as wh, working("solving the stockpile model (scenarios, LP) ..."):
        prep = service.prepare(wh, req)
        p = prep.problem
        base = None
        if baselines:
            high = [c for c in inputs.high_risk_for(wh, p.partners) if c in p.commodities]
            base = comparison_table(p, policy_baselines(p, high, scope=inputs.critical_commodities(wh)))
        df = frontier(p, np.linspace(0.0, max_scale, points))
    _report_excluded(prep.not_planned)
    _report_sample(prep.sample)
    if html is not None:
        write_frontier_html(df, html, base)
        typer.echo(f"wrote {html}", err=True)
    if csv_path is not None:
        df.to_csv(csv_path, index=False)
    if as_json:
        typer.echo(json.dumps(_records(df), indent=2, allow_nan=False))
    else:
        _frame_table(df[["mode", "scale", "total_budget_usd", "spent_usd", "expected_loss", "cvar",
                         "objective"]], "Budget–loss frontier (US$)")


def _fixed_stock(fixed: str | None) -> dict[tuple[str, str], float] | None:
    """``'gallium:USA=50,gallium:JPN=20'`` -> ``{('gallium', 'USA'): 50.0, ...}``."""
    if not fixed:
        return None
    user = {}
    for key, t in parse_pairs(fixed, "--fixed").items():
        if ":" not in key:
            raise ValueError(f"--fixed: {key!r} is not COMMODITY:PARTNER")
        c, k = key.split(":", 1)
        user[(c, k)] = t
    return user


@stockpile_app.command("compare")
def compare_cmd(
    ctx: typer.Context, budget: Budget, joint_budget: JointBudget = None,
    high_risk: Annotated[str | None, typer.Option(
        "--high-risk", help="High-risk commodities for the 180-day rule (default: top of the watchlist).")] = None,
    fixed: Annotated[str | None, typer.Option(
        "--fixed", help="A user stock in t, e.g. gallium:USA=50,gallium:JPN=20.")] = None,
    sharing: Annotated[bool, typer.Option("--sharing/--no-sharing", help="Let baselines use the sharing rule.")] = False,
    scope: Annotated[str, typer.Option(
        "--scope", help="Commodities the days rules cover: 'critical' (2022 US list), 'all', or a list.")] = "critical",
    runs: Runs = 2000, seed: Seed = 0, run_id: RunId = None, commodities: Commodities = None,
    loss_multiple: LossMult = None, params: Params = None, as_json: AsJson = False,
    loss_model: LossModel = None, vintage: VintageOpt = None, allow_vintage_mismatch: AllowMismatch = False,
) -> None:
    """Optimal plans vs policy baselines (60 days, 60/180 days, a fixed stock) on the same scenarios."""
    from critmin.stockpile import inputs, service
    from critmin.stockpile.plan import plan
    from critmin.stockpile.policy import comparison_table, policy_baselines
    from critmin.stockpile.problem import StockpileSolveError

    with user_errors():
        req = plan_request(budget, joint_budget, "coordinated", runs, seed, run_id, commodities,
                           loss_multiple, params, loss_model, allow_vintage_mismatch)
        user = _fixed_stock(fixed)
    with cli_warehouse(ctx, errors=(StockpileSolveError,), vintage=vintage) as wh, working("solving the stockpile model (scenarios, LP) ..."):
        prep = service.prepare(wh, req)
        p = prep.problem
        hr = parse_list(high_risk)
        if hr is None:
            hr = [c for c in inputs.high_risk_for(wh, p.partners) if c in p.commodities]
        rule_scope = (inputs.critical_commodities(wh) if scope == "critical"
                      else None if scope == "all" else parse_list(scope))
        result = plan(p)
        evs = [result.coordinated, result.independent,
               *policy_baselines(p, hr, user, sharing=sharing, scope=rule_scope)]
        table = comparison_table(p, evs)
    _report_excluded(prep.not_planned)
    _report_sample(prep.sample)
    if as_json:
        typer.echo(json.dumps({"high_risk": hr, "rows": _records(table)}, indent=2, allow_nan=False))
    else:
        _frame_table(table[["name", "sharing", "cost_usd", "expected_loss", "cvar", "objective",
                            "expected_shortfall_t"]], f"Plans vs baselines (high-risk: {', '.join(hr) or '–'})")


def register(app: typer.Typer) -> None:
    """Add ``critmin stockpile ...`` to the root app."""
    app.add_typer(stockpile_app, name="stockpile")


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in df.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()})
    return out


def _money(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return "–"
    for div, suf in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:,.2f}{suf}"
    return f"{v:,.0f}"


def _plan_table(result: StockpilePlan) -> None:
    from rich.console import Console

    d = result.to_dict()
    loss = result.problem.loss_ck
    voc = d["value_of_coordination"]
    con = Console()
    con.print(f"mode {d['mode']}; budgets {', '.join(f'{k} {_money(v)}' for k, v in d['budgets'].items())}")
    pct = "–" if voc["pct"] is None else f"{voc['pct']:.1f}%"
    con.print(f"objective {_money(d['objective'])}  expected loss {_money(d['expected_loss'])}  "
              f"CVaR {_money(d['cvar'])}  value of coordination {_money(voc['usd'])} ({pct})")
    from critmin.cli.tables import Col, fit_table
    from critmin.data.normalize.commodities import display_name

    cols = [Col("commodity"), Col("partner"), Col("stock t", numeric=True), Col("days", numeric=True, priority=2),
            Col("cost $", numeric=True), Col("E short t (with/without)", numeric=True, priority=1),
            Col("loss $/t", numeric=True, priority=1), Col("$/budget $", numeric=True, priority=3)]
    rows = []
    for r in d["targets"]:
        if not r["stock_t"] or r["stock_t"] <= 1e-9:
            continue
        days = "–" if r["days_of_cover"] is None else f"{r['days_of_cover']:.0f}"
        rows.append([display_name(str(r["commodity"])), str(r["partner"]), f"{r['stock_t']:,.1f}", days,
                     _money(r["cost_usd"]),
                     f"{r['expected_shortfall_t']:,.1f} / {r['expected_shortfall_without_t']:,.1f}",
                     f"{loss[result.problem.commodities.index(r['commodity']), result.problem.partners.index(r['partner'])]:,.0f}",
                     f"{r['marginal_value']:.3f}"])
    con.print(fit_table("Stockpile targets (rows with stock > 0; t and US$; loss per unmet t of the partner)",
                        cols, rows))


def _frame_table(df: pd.DataFrame, title: str) -> None:
    from pandas.api.types import is_numeric_dtype
    from rich.console import Console

    from critmin.cli.tables import Col, fit_table

    numeric = [bool(is_numeric_dtype(df[c])) for c in df.columns]
    cols = [Col(str(c).replace("_", " "), numeric=n, priority=0 if i < 2 else i)
            for i, (c, n) in enumerate(zip(df.columns, numeric, strict=True))]
    rows = [[(_money(v) if isinstance(v, float) and col not in ("scale",) else f"{v:g}" if isinstance(v, float) else str(v))
             for col, v in zip(df.columns, row, strict=True)] for row in df.itertuples(index=False)]
    Console().print(fit_table(title, cols, rows))