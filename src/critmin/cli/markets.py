"""CLI commands: ``critmin markets prices|unit-values|signals|floor``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from critmin.cli.common import VintageOpt, cli_warehouse

markets_app = typer.Typer(
    help="Prices, trade unit values, unfair-trade signals and what a price floor costs.",
    no_args_is_help=True,
)


def _dump(obj: object) -> str:
    return json.dumps(obj, indent=2, default=str, allow_nan=False)


@markets_app.command("prices")
def prices_cmd(
    ctx: typer.Context,
    commodity: Annotated[str, typer.Argument(help="Commodity name or id, e.g. 'rare earths'.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
    vintage: VintageOpt = None,
) -> None:
    """Price series for a commodity (Pink Sheet monthly, USGS salient annual) with units and sources."""
    from critmin.markets.api import prices, signals_to_records

    with cli_warehouse(ctx, vintage=vintage) as wh:
        df = prices(wh, commodity)
    if as_json:
        typer.echo(_dump(signals_to_records(df)))
        return
    from critmin.cli.tables import Col, fit_table, number_text, print_table

    for (series, unit), g in df.groupby(["series", "unit"], dropna=False, sort=True):
        cols = [Col("period"), Col(f"price {unit}", numeric=True), Col("as published", priority=1)]
        rows = [[str(p), number_text(v) if v == v else "n/a", "" if r is None or r != r else str(r)]
                for p, v, r in zip(g["period"], g["price"], g["value_raw"], strict=True)]
        print_table(fit_table(f"{series} ({unit})", cols, rows))


@markets_app.command("unit-values")
def unit_values_cmd(
    ctx: typer.Context,
    exporter: Annotated[str | None, typer.Option("--exporter", help="Exporter ISO3.")] = None,
    commodity: Annotated[str | None, typer.Option("--commodity", help="Commodity.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Trade source, e.g. CHINA_EXPORTS.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
) -> None:
    """Trade unit values (USD/kg = value / weight) per flow and period."""
    from critmin.markets.api import signals_to_records, trade_flows

    with cli_warehouse(ctx) as wh:
        df = trade_flows(wh, exporter=exporter, commodity=commodity, source=source)
    cols = ["source", "period", "exporter_iso3", "importer_iso3", "flow", "reported_by", "hs_code",
            "commodity_id", "value_usd", "qty_t", "uv_usd_per_kg", "uv_note", "dataset_id", "source_line"]  # fmt: skip
    df = df[[c for c in cols if c in df.columns]]
    if as_json:
        typer.echo(_dump(signals_to_records(df)))
    else:
        from critmin.cli.tables import frame_table, print_table

        shown = df.drop(columns=[c for c in ("dataset_id", "source_line") if c in df.columns])
        print_table(frame_table("Trade unit values (US$/kg = value / weight)", shown, priority={
            "source": 3, "flow": 2, "reported_by": 4, "hs_code": 2, "commodity_id": 1, "uv_note": 5},
            headers={"exporter_iso3": "from", "importer_iso3": "to", "commodity_id": "commodity",
                     "uv_usd_per_kg": "US$/kg", "value_usd": "value US$", "qty_t": "t"},
            decimals={"value_usd": 0}, caption="rows with their data source: --json"))


@markets_app.command("signals")
def signals_cmd(
    ctx: typer.Context,
    commodity: Annotated[str | None, typer.Option("--commodity", help="Commodity.")] = None,
    exporter: Annotated[str | None, typer.Option("--exporter", help="Exporter ISO3.")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="volume_change, structural_break, price_discrimination, below_market (repeatable).")] = None,
    include_unflagged: Annotated[bool, typer.Option("--all", help="Also list tests that did not flag.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
    vintage: VintageOpt = None,
) -> None:
    """Signals of unfair trade practices and disruption, each with evidence and data rows."""
    from critmin.markets.api import signals, signals_to_records

    kinds = tuple(kind) if kind else ("volume_change", "structural_break", "price_discrimination", "below_market")
    with cli_warehouse(ctx, vintage=vintage) as wh:
        df = signals(wh, commodity=commodity, exporter=exporter, kinds=kinds, flagged_only=not include_unflagged)
    if as_json:
        typer.echo(_dump(signals_to_records(df)))
        return
    if df.empty:
        typer.echo("no signals")
        return
    from critmin.cli.tables import Col, fit_table, print_table

    cols = [Col("signal"), Col("window", priority=1), Col("what the data show")]
    print_table(fit_table("Signals of unfair trade practices and disruption (evidence rows: --json)", cols, [
        [str(r.kind).replace("_", " "), f"{r.window_start}..{r.window_end}", str(r.description)]
        for r in df.itertuples()]))


@markets_app.command("floor")
def floor_cmd(
    ctx: typer.Context,
    commodity: Annotated[str, typer.Option("--commodity", help="Commodity, e.g. 'rare earths'.")],
    floor: Annotated[float, typer.Option("--floor", help="Floor price in --unit.")],
    volume: Annotated[float, typer.Option("--volume", help="Contracted volume, t/yr of product.")],
    years: Annotated[int, typer.Option("--years", help="Contract length, years.")],
    product: Annotated[str | None, typer.Option("--product", help="Product with a known price proxy, e.g. NdPr-oxide.")] = None,
    series: Annotated[str | None, typer.Option("--series", help="Reference price series id (see `markets prices`).")] = None,
    unit: Annotated[str, typer.Option("--unit", help="USD/kg or USD/t.")] = "USD/kg",
    runs: Annotated[int, typer.Option("--runs", help="Simulated price paths.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 1,
    ceiling: Annotated[float | None, typer.Option("--ceiling", help="Price above which the upside share is returned.")] = None,
    upside_share: Annotated[float, typer.Option("--upside-share", help="Share of (market - ceiling) returned, 0-1.")] = 0.0,
    production_cost: Annotated[float | None, typer.Option("--production-cost", help="Project cash cost in --unit (for NPV and survival).")] = None,
    capex: Annotated[float, typer.Option("--capex-usd", help="Project capex at t=0 for NPV.")] = 0.0,
    start: Annotated[str | None, typer.Option("--start", help="Calibration window start (YYYY or YYYY-MM).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Calibration window end.")] = None,
    paths: Annotated[str, typer.Option("--paths", help="Price paths: 'model' (calibrated mean-reverting log-normal) or 'disruption' (model paths with the disruption simulator's monthly price responses).")] = "model",
    run_id: Annotated[str | None, typer.Option("--run-id", help="With --paths disruption: use this stored Monte Carlo run (critmin simulate --monte-carlo) instead of a fresh one.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    vintage: VintageOpt = None,
) -> None:
    """Fiscal cost distribution of a price floor, P(floor binds) and the project effect."""
    from critmin.markets.floor_api import evaluate_floor

    with cli_warehouse(ctx, vintage=vintage) as wh:
        out = evaluate_floor(
            wh, commodity=commodity, floor=floor, volume_t_per_year=volume, years=years, runs=runs,
            random_state=seed, unit=unit, product=product, series=series, ceiling=ceiling,
            upside_share=upside_share, production_cost=production_cost, capex_usd=capex,
            start=start, end=end, paths=paths, run_id=run_id,
        )  # fmt: skip
    if as_json:
        typer.echo(_dump(out))
        return
    c = out["calibration"]
    typer.echo(
        f"floor {floor:g} {unit}, {volume:g} t/yr, {years} yr, {runs} paths (seed {seed})\n"
        f"  mean cost {out['mean_cost_usd']:,.0f} USD, P95 {out['p95_cost_usd']:,.0f} USD, "
        f"worst year (P95) {out['worst_year_cost_usd']:,.0f} USD\n"
        f"  P(floor binds) {out['p_binding']:.1%} of months; at least once in {out['p_binding_any']:.1%} of paths\n"
        f"  calibration: kappa {c['kappa']:.3f}/yr (se {c['kappa_se'] or float('nan'):.3f}), "
        f"long-run {c['long_run_price']:.4g} {unit}, sigma {c['sigma']:.3f} on "
        f"{c['n_obs']} obs {c['window_start']}..{c['window_end']}"
    )
    pr = out["project"]
    if "not_computable" in pr:
        typer.echo(f"  project effect: not computable: {pr['not_computable']}")
    else:
        typer.echo(
            f"  project at cost {pr['production_cost']:g} {unit}: mean NPV "
            f"{pr['npv_mean_usd_without_floor']:,.0f} -> {pr['npv_mean_usd_with_floor']:,.0f} USD; "
            f"survival {pr['p_survival_without_floor']:.1%} -> {pr['p_survival_with_floor']:.1%}"
        )
    d = out.get("disruption")
    if d:
        b = d["baseline_model_paths"]
        typer.echo(
            f"  disruption paths ({d['commodity']}, {'run ' + d['run_id'] if d['run_id'] else 'seed ' + str(d['seed'])}): "
            f"restriction in {d['p_path_with_restriction']:.1%} of paths, mean price response when restricted "
            f"+{d['mean_price_change_pct_when_restricted']:.1f}%; undisturbed model paths: mean cost "
            f"{b['mean_cost_usd']:,.0f} USD, P95 {b['p95_cost_usd']:,.0f} USD"
        )
    for a in out["assumptions"]:
        typer.echo(f"  - {a}")


def register(app: typer.Typer) -> None:
    """Add ``critmin markets ...`` to the root app."""
    app.add_typer(markets_app, name="markets")
