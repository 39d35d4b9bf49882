"""CLI commands: simulate (one scenario, or Monte Carlo locally / on Dask)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from critmin.cli.common import VintageOpt, cli_warehouse, fail, user_errors, working

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse
    from critmin.disruption.market import Market


def simulate_cmd(
    ctx: typer.Context,
    scenario: Annotated[Path | None, typer.Argument(help="Scenario TOML file (omit with --monte-carlo).")] = None,
    monte_carlo: Annotated[bool, typer.Option("--monte-carlo", help="Monte Carlo over the hazard model.")] = False,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Monte Carlo runs.")] = 10_000,
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="Random seed (required for Monte Carlo).")] = None,
    horizon: Annotated[int, typer.Option("--horizon", min=1, max=120, help="Monte Carlo horizon, months.")] = 12,
    commodity: Annotated[list[str] | None, typer.Option("--commodity", "-c", help="Restrict to commodities.")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler tcp://HOST:PORT.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Start a local Dask cluster.")] = None,
    backtest: Annotated[bool, typer.Option("--backtest", help="Leave-one-out back-test of the calibrated price "
                                           "response against the observed episodes (docs/disruption.md).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not store the run in the warehouse.")] = False,
    vintage: VintageOpt = None,
) -> None:
    """Simulate export restrictions: US/JPN shortfalls (t, %, US$) and price changes."""
    from critmin.disruption.api import load_market
    from critmin.disruption.runs import run_and_store_scenario
    from critmin.disruption.scenario import load_scenario

    if backtest:
        if monte_carlo or scenario is not None:
            raise fail("--backtest takes no SCENARIO.toml and no --monte-carlo")
        from critmin.disruption.calibrate import backtest as run_backtest
        from critmin.disruption.calibrate import markdown_table

        with cli_warehouse(ctx, read_only=True, vintage=vintage) as wh, working("back-testing the price response ..."):
            bt = run_backtest(wh)
        if as_json:
            typer.echo(json.dumps(bt.to_json(), indent=2, default=str))
        else:
            _backtest_table(bt.to_json(), markdown_table(bt).splitlines()[-2:])
        return
    if monte_carlo == (scenario is not None):
        raise fail("give either a SCENARIO.toml file or --monte-carlo")
    if scheduler and workers:
        raise fail("--scheduler and --workers are alternatives; give one")
    if scenario is not None:
        with user_errors():  # ScenarioError is a ValueError
            sc = load_scenario(scenario)
        with cli_warehouse(ctx, vintage=vintage) as wh, working(f"simulating {sc.name} ..."):
            market = load_market(wh, sorted({e.commodity for e in sc.events}) or None, tuple(sc.consumers))
            doc = run_and_store_scenario(wh, market, sc, store=not no_store)
    else:
        if seed is None:
            raise fail("--seed is required for --monte-carlo (results are reproducible only with a seed)")
        with cli_warehouse(ctx, errors=(OSError,), vintage=vintage) as wh:
            with working("loading the market (supply, trade, consumption) ..."):
                market = load_market(wh, commodity or None)
            doc = _run_mc(wh, market, runs, seed, horizon, scheduler, workers, not no_store)
    if as_json:
        typer.echo(json.dumps(doc, indent=2, default=str))
    else:
        _table(doc)


def register(app: typer.Typer) -> None:
    """Add ``critmin simulate`` to the root app."""
    app.command("simulate")(simulate_cmd)


def _run_mc(wh: Warehouse, market: Market, runs: int, seed: int, horizon: int, scheduler: str | None,
            workers: int | None, store: bool) -> dict[str, Any]:
    from critmin.disruption.runs import run_and_store_monte_carlo

    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress

        with Progress(transient=True, console=Console(stderr=True)) as prog:
            task = prog.add_task("Monte Carlo", total=runs)
            return run_and_store_monte_carlo(
                wh, market, runs=runs, seed=seed, horizon=horizon, scheduler=scheduler, workers=workers,
                progress=lambda done, n: prog.update(task, completed=done), store=store,
            )
    return run_and_store_monte_carlo(wh, market, runs=runs, seed=seed, horizon=horizon, scheduler=scheduler,
                                     workers=workers, store=store)


def _backtest_table(doc: dict[str, Any], footer: list[str]) -> None:
    from rich.console import Console

    from critmin.cli.tables import Col, fit_table

    cols = [Col("episode"), Col("group", priority=2), Col("observed %", numeric=True),
            Col("simulated LOO %", numeric=True), Col("default %", numeric=True, priority=1),
            Col("theta LOO", numeric=True, priority=3), Col("direction"), Col("within 2x")]
    rows = [[r["episode"], r["group"], f"{r['observed_pct']:+.1f}", f"{r['simulated_loo_pct']:+.1f}",
             f"{r['simulated_default_pct']:+.1f}", f"{r['theta_loo']:.2f}",
             "right" if r["direction_right"] else "WRONG", "yes" if r["within_2x"] else "no"] for r in doc["episodes"]]
    Console().print(fit_table("price-response back-test (leave-one-out)", cols, rows, caption=" ".join(footer)))


def _fmt(x: float | None, spec: str = ",.1f") -> str:
    return "n/a" if x is None else format(x, spec)


def _table(doc: dict[str, Any]) -> None:
    from rich.console import Console

    from critmin.cli.tables import Col, fit_table
    from critmin.data.normalize.commodities import display_name

    cols = [Col("commodity"), Col("consumer"), Col("mean t", numeric=True), Col("mean %", numeric=True),
            Col("VaR95 %", numeric=True, priority=2), Col("CVaR95 %", numeric=True, priority=1),
            Col("P>10%", numeric=True, priority=3), Col("dP %", numeric=True, priority=1), Col("proxy", priority=4)]
    results = doc["results"]
    pools = any("price_open_pct" in r for r in results)
    if pools:  # a scenario: both pool prices and the spread (segmented markets)
        cols = [c for c in cols if c.header not in ("VaR95 %", "CVaR95 %", "P>10%")]
        cols[-1:-1] = [Col("pool", priority=2), Col("dP open %", numeric=True), Col("dP restricted %", numeric=True),
                       Col("spread pp", numeric=True, priority=1)]
    rows = []
    for r in results:
        row = [display_name(str(r["commodity"])), str(r["consumer"]), _fmt(r["mean_shortfall_t"]),
               "n/c" if r.get("not_computable") else _fmt(r["mean_shortfall_pct"], ".2f")]
        if pools:
            row += [_fmt(r["mean_price_change_pct"], ".1f"), str(r.get("pool", "")), _fmt(r.get("price_open_pct"), ".1f"),
                    _fmt(r.get("price_restricted_pct"), ".1f"), _fmt(r.get("price_spread_pct"), ".1f")]
        else:
            row += [_fmt(r["var95_pct"], ".2f"), _fmt(r["cvar95_pct"], ".2f"), _fmt(r["p_shortfall_gt_10pct"], ".3f"),
                    _fmt(r["mean_price_change_pct"], ".1f")]
        rows.append([*row, "yes" if r["proxy_trade_shares"] else ""])
    flags = doc.get("flags") or []
    title = f"{doc['scenario']} (runs={doc['runs']}, seed={doc['seed']}; shortfalls in t and % of consumption)"
    if flags:
        title += " [" + ", ".join(flags).upper() + ": no sources cited]"
    caption = ("mean t / mean %: expected shortfall (n/c: consumption not computable, see --json); "
               + ("dP: world price change; dP open / restricted: the open and the restricted pool's price "
                  "change (segmented markets); spread: restricted minus open, percentage points; "
                  if pools else
                  "VaR95/CVaR95: 95% value at risk / conditional value at risk of the shortfall %; P>10%: "
                  "probability of a shortfall above 10%; dP: mean price change; ")
               + "proxy: trade shares from a proxy (see README glossary)")
    Console().print(fit_table(title, cols, rows, caption=caption))
    if doc.get("run_id"):
        from critmin.disruption.provenance import vintage_label

        vintage = (doc.get("data") or {}).get("vintage", "unknown")
        Console().print(f"stored as run {doc['run_id']} (data as of vintage {vintage_label(vintage)}; "
                        "`critmin runs list`)")
