"""CLI commands: ``critmin stockpile plan | frontier | compare``.

Thin layer: parse options, get scenarios and loss multiples through
:mod:`critmin.stockpile.inputs`, call the library, print JSON or a table.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "bn": 1e9, "t": 1e12}


def parse_amount(text: str, what: str) -> float:
    """``'2.5B'`` -> 2.5e9; ``k``, ``M``, ``B``/``bn``, ``T`` suffixes; ``inf`` for no limit."""
    t = text.strip().replace("_", "").replace(",", "")
    low = t.lower()
    if low in {"inf", "unlimited", "none"}:
        return math.inf
    for suf in sorted(_SUFFIX, key=len, reverse=True):
        if low.endswith(suf):
            try:
                return float(low[: -len(suf)]) * _SUFFIX[suf]
            except ValueError:
                break
    try:
        return float(low)
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not an amount (e.g. 2.5e9, 2.5B, 500M, inf)") from None


def parse_pairs(text: str | None, what: str, amount: bool = False) -> dict[str, float]:
    """``'USA=2B,JPN=1.5B'`` -> ``{'USA': 2e9, 'JPN': 1.5e9}``."""
    out: dict[str, float] = {}
    if not text:
        return out
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ValueError(f"{what}: {part!r} is not KEY=VALUE")
        k, v = (s.strip() for s in part.split("=", 1))
        if k in out:
            raise ValueError(f"{what}: {k!r} given twice")
        if amount:
            out[k] = parse_amount(v, f"{what} {k}")
        else:
            try:
                out[k] = float(v)
            except ValueError:
                raise ValueError(f"{what}: {k}={v!r} is not a number") from None
    return out


def _list(text: str | None) -> list[str] | None:
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


Budget = Annotated[str, typer.Option("--budget", help="Budget per partner in US$, e.g. USA=2B,JPN=1.5B (inf = none).")]
JointBudget = Annotated[str | None, typer.Option("--joint-budget", help="Optional joint budget in US$ (e.g. 3B).")]
Runs = Annotated[int, typer.Option("--runs", help="Monte Carlo scenarios to sample.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed of the scenario sample.")]
RunId = Annotated[str | None, typer.Option("--run-id", help="Use a stored Monte Carlo run instead of sampling.")]
Commodities = Annotated[str | None, typer.Option("--commodities", help="Restrict to these commodity ids (comma-separated).")]
LossMult = Annotated[str | None, typer.Option(
    "--loss-multiple", help="Loss per unmet t as a multiple of price, per commodity (e.g. gallium=20,*=3); "
    "default 1 + (M - 1) * EV from the assessment.")]
Params = Annotated[str | None, typer.Option(
    "--param", help="Override stockpile settings, e.g. risk_aversion=0,lendable_share=0.3 "
    "(names: capital_cost_rate, storage_cost_usd_per_t_yr, transfer_cost_usd_per_t, "
    "transfer_lead_time_months, lendable_share, cvar_alpha, risk_aversion).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _problem(ctx: typer.Context, budget: str, joint_budget: str | None, mode: str, runs: int, seed: int,
             run_id: str | None, commodities: str | None, loss_multiple: str | None,
             params: str | None) -> tuple[Any, dict[str, str], Any]:
    """Scenarios + loss multiples + settings -> (problem, excluded commodities, warehouse)."""
    from critmin.stockpile import inputs
    from critmin.stockpile.plan import StockpileParams, make_problem

    if mode not in ("coordinated", "independent"):
        raise ValueError(f"--mode: {mode!r}; expected coordinated or independent")
    budgets = parse_pairs(budget, "--budget", amount=True)
    overrides = parse_pairs(loss_multiple, "--loss-multiple")
    par = StockpileParams.from_settings(**parse_pairs(params, "--param"))
    joint = parse_amount(joint_budget, "--joint-budget") if joint_budget else None
    wh = ctx.obj.open_warehouse(read_only=True)
    partners = tuple(budgets) if budgets else ("USA", "JPN")
    sample = inputs.sample_for(wh, runs=runs, random_state=seed, run_id=run_id,
                               commodities=_list(commodities), partners=partners)
    ev = {} if "*" in overrides else inputs.economic_vulnerability_for(wh)
    sample, mult, _src, excluded = inputs.plannable(sample, ev, overrides)
    # ShortfallSample holds annual shortfalls, so the transfer lead time is a share of 12 months
    p = make_problem(sample, budgets, mult, par, mode=mode, joint_budget_usd=joint)  # type: ignore[arg-type]
    return p, excluded, wh


def _report_excluded(excluded: dict[str, str]) -> None:
    for c, why in excluded.items():
        typer.echo(f"note: {c} left out: {why}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``critmin stockpile ...`` to the root app."""
    sp = typer.Typer(help="Stockpile targets: two-partner stochastic optimisation, baselines, frontier.",
                     no_args_is_help=True)
    app.add_typer(sp, name="stockpile")

    @sp.command("plan")
    def plan_cmd(
        ctx: typer.Context, budget: Budget, joint_budget: JointBudget = None,
        mode: Annotated[str, typer.Option("--mode", help="coordinated | independent")] = "coordinated",
        runs: Runs = 2000, seed: Seed = 0, run_id: RunId = None, commodities: Commodities = None,
        loss_multiple: LossMult = None, params: Params = None, as_json: AsJson = False,
    ) -> None:
        """Optimal stockpile per commodity and partner, and the value of coordination."""
        from critmin.cli.main import fail
        from critmin.stockpile.plan import plan
        from critmin.stockpile.problem import StockpileInputError, StockpileSolveError

        try:
            p, excluded, wh = _problem(ctx, budget, joint_budget, mode, runs, seed, run_id, commodities,
                                       loss_multiple, params)
            wh.close()
            result = plan(p)
        except (StockpileInputError, StockpileSolveError, ValueError, KeyError) as e:
            raise fail(str(e)) from None
        _report_excluded(excluded)
        if as_json:
            typer.echo(json.dumps(result.to_dict(), indent=2, allow_nan=False))
            return
        _plan_table(result)

    @sp.command("frontier")
    def frontier_cmd(
        ctx: typer.Context, budget: Budget, joint_budget: JointBudget = None,
        points: Annotated[int, typer.Option("--points", help="Number of budget levels in the sweep.")] = 11,
        max_scale: Annotated[float, typer.Option("--max-scale", help="Largest budget as a multiple of --budget.")] = 2.0,
        html: Annotated[Path | None, typer.Option("--html", help="Write the chart to this HTML file (self-contained).")] = None,
        csv_path: Annotated[Path | None, typer.Option("--csv", help="Write the frontier data to this CSV file.")] = None,
        baselines: Annotated[bool, typer.Option("--baselines/--no-baselines", help="Add policy baselines to the chart.")] = True,
        runs: Runs = 2000, seed: Seed = 0, run_id: RunId = None, commodities: Commodities = None,
        loss_multiple: LossMult = None, params: Params = None, as_json: AsJson = False,
    ) -> None:
        """Budget-loss frontier: optimal expected loss over a sweep of budgets (0..max-scale x budget)."""
        import numpy as np

        from critmin.cli.main import fail
        from critmin.stockpile import inputs
        from critmin.stockpile.frontier import frontier, write_frontier_html
        from critmin.stockpile.policy import comparison_table, policy_baselines
        from critmin.stockpile.problem import StockpileInputError, StockpileSolveError

        if points < 2 or not (max_scale > 0):
            raise fail("--points must be >= 2 and --max-scale > 0")
        try:
            p, excluded, wh = _problem(ctx, budget, joint_budget, "coordinated", runs, seed, run_id,
                                       commodities, loss_multiple, params)
            base = None
            if baselines:
                high = [c for c in inputs.high_risk_for(wh, p.partners) if c in p.commodities]
                base = comparison_table(
                    p, policy_baselines(p, high, scope=inputs.critical_commodities(wh)))
            wh.close()
            df = frontier(p, np.linspace(0.0, max_scale, points))
        except (StockpileInputError, StockpileSolveError, ValueError, KeyError) as e:
            raise fail(str(e)) from None
        _report_excluded(excluded)
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

    @sp.command("compare")
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
    ) -> None:
        """Optimal plans vs policy baselines (60 days, 60/180 days, a fixed stock) on the same scenarios."""
        from critmin.cli.main import fail
        from critmin.stockpile import inputs
        from critmin.stockpile.plan import plan
        from critmin.stockpile.policy import comparison_table, policy_baselines
        from critmin.stockpile.problem import StockpileInputError, StockpileSolveError

        try:
            p, excluded, wh = _problem(ctx, budget, joint_budget, "coordinated", runs, seed, run_id,
                                       commodities, loss_multiple, params)
            hr = _list(high_risk)
            if hr is None:
                hr = [c for c in inputs.high_risk_for(wh, p.partners) if c in p.commodities]
            rule_scope = (inputs.critical_commodities(wh) if scope == "critical"
                          else None if scope == "all" else _list(scope))
            wh.close()
            user = None
            if fixed:
                user = {}
                for key, t in parse_pairs(fixed, "--fixed").items():
                    if ":" not in key:
                        raise ValueError(f"--fixed: {key!r} is not COMMODITY:PARTNER")
                    c, k = key.split(":", 1)
                    user[(c, k)] = t
            result = plan(p)
            evs = [result.coordinated, result.independent,
                   *policy_baselines(p, hr, user, sharing=sharing, scope=rule_scope)]
            table = comparison_table(p, evs)
        except (StockpileInputError, StockpileSolveError, ValueError, KeyError) as e:
            raise fail(str(e)) from None
        _report_excluded(excluded)
        if as_json:
            typer.echo(json.dumps({"high_risk": hr, "rows": _records(table)}, indent=2, allow_nan=False))
        else:
            _frame_table(table[["name", "sharing", "cost_usd", "expected_loss", "cvar", "objective",
                                "expected_shortfall_t"]], f"Plans vs baselines (high-risk: {', '.join(hr) or '–'})")

    del plan_cmd, frontier_cmd, compare_cmd


def _records(df) -> list[dict[str, Any]]:  # noqa: ANN001 - DataFrame
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


def _plan_table(result) -> None:  # noqa: ANN001 - StockpilePlan
    from rich.console import Console
    from rich.table import Table

    d = result.to_dict()
    voc = d["value_of_coordination"]
    con = Console()
    con.print(f"mode {d['mode']}; budgets {', '.join(f'{k} {_money(v)}' for k, v in d['budgets'].items())}")
    pct = "–" if voc["pct"] is None else f"{voc['pct']:.1f}%"
    con.print(f"objective {_money(d['objective'])}  expected loss {_money(d['expected_loss'])}  "
              f"CVaR {_money(d['cvar'])}  value of coordination {_money(voc['usd'])} ({pct})")
    t = Table(title="Stockpile targets (rows with stock > 0)")
    for col in ("commodity", "partner", "stock t", "days", "cost $", "E short t (with/without)", "$/budget $"):
        t.add_column(col, justify="left" if col in ("commodity", "partner") else "right")
    for r in d["targets"]:
        if not r["stock_t"] or r["stock_t"] <= 1e-9:
            continue
        days = "–" if r["days_of_cover"] is None else f"{r['days_of_cover']:.0f}"
        t.add_row(r["commodity"], r["partner"], f"{r['stock_t']:,.1f}", days, _money(r["cost_usd"]),
                  f"{r['expected_shortfall_t']:,.1f} / {r['expected_shortfall_without_t']:,.1f}",
                  f"{r['marginal_value']:.3f}")
    con.print(t)


def _frame_table(df, title: str) -> None:  # noqa: ANN001 - DataFrame
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for col in df.columns:
        t.add_column(str(col))
    for row in df.itertuples(index=False):
        t.add_row(*[(_money(v) if isinstance(v, float) and col not in ("scale",) else str(v))
                    for col, v in zip(df.columns, row, strict=True)])
    Console().print(t)
