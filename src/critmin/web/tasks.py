"""The work behind the run endpoints: wiring of the disruption and stockpile libraries.

Each ``*_task`` returns ``fn(progress) -> dict`` for :class:`critmin.web.jobs.JobRunner`, and is
registered as a *task* (:func:`critmin.web.jobs.register_task`) that any server or worker
process rebuilds from the JSON payload stored with the queued job. The
calculations are the libraries' (``critmin.disruption.runs``, the stockpile planning workflow
``critmin.stockpile.service``);
here they are only called in order, with progress, and their output is shaped for the charts
(histograms are a presentation of the stored sample, not a new statistic).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from critmin import settings
from critmin.data.partners import partners
from critmin.data.paths import REPO_ROOT
from critmin.web.context import WebContext
from critmin.web.convert import jsonable
from critmin.web.jobs import register_task

if TYPE_CHECKING:
    from critmin.disruption.sample import ShortfallSample
    from critmin.disruption.scenario import Scenario
    from critmin.stockpile.service import PlanRequest

settings.register(
    "web.scenario_dir",
    "",
    "Directory of the scenario library served by the dashboard (default: scenarios/ in the repository).",
    "",
)
settings.register(
    "web.dask_scheduler",
    "",
    "Dask distributed scheduler address (tcp://host:8786) for the dashboard's Monte Carlo jobs, as "
    "`critmin simulate --scheduler`; empty: run in the worker process. `critmin worker --scheduler` "
    "overrides it.",
    "",
)
settings.register(
    "web.histogram_bins",
    40,
    "Bins of the shortfall and price-change histograms drawn by the scenario runner.",
    "Presentation choice (about sqrt(2000) for the default 2000 runs).",
)

Task = Callable[[Callable[[float, str], None]], dict[str, Any]]


def scenario_dir() -> Path:
    d = settings.get("web.scenario_dir")
    return Path(d) if d else REPO_ROOT / "scenarios"


def scenario_library() -> list[dict[str, Any]]:
    """Every ``*.toml`` in the library, validated (an invalid file is an error naming it)."""
    from critmin.disruption.scenario import load_scenario

    out = []
    for f in sorted(scenario_dir().glob("*.toml")):
        sc = load_scenario(f)
        out.append({
            "name": f.stem, "file": f.name, "title": sc.name, "description": sc.description,
            "horizon_months": sc.horizon_months, "events": len(sc.events),
            "spec": tomllib.loads(f.read_text(encoding="utf-8")),
        })
    return out


def resolve_scenario(name: str | None, spec: dict[str, Any] | None) -> Scenario:
    """A library scenario by name, or an edited scenario document (validated)."""
    from critmin.disruption.scenario import ScenarioError, load_scenario, parse_scenario

    if name is not None:
        f = scenario_dir() / f"{name}.toml"
        if "/" in name or "\\" in name or not f.is_file():
            raise KeyError(f"no scenario {name!r} in the library")
        return load_scenario(f)
    try:
        return parse_scenario(spec or {}, where="spec")
    except ScenarioError as exc:
        raise ValueError(str(exc)) from None


def _store(ctx: WebContext) -> Any:
    """The run store: the operational store (``sim_run``, ``sim_result``, ``sim_sample``)."""
    return ctx.ops


def scenario_task(ctx: WebContext, scenario: Scenario) -> Task:
    def run(progress: Callable[[float, str], None]) -> dict[str, Any]:
        from critmin.disruption.api import load_market
        from critmin.disruption.runs import run_and_store_scenario

        commodities = sorted({e.commodity for e in scenario.events})
        progress(0.1, f"loading the market for {', '.join(commodities) or 'no commodity'}")
        market = load_market(ctx.wh, commodities=commodities, consumers=tuple(scenario.consumers))
        progress(0.5, "simulating")
        doc = run_and_store_scenario(_store(ctx), market, scenario)
        return jsonable({"kind": "scenario", "sim_run_id": doc.get("run_id"), **doc,
                         "spec": scenario.to_spec()})

    return run


def monte_carlo_task(ctx: WebContext, runs: int, seed: int, horizon: int, commodities: list[str] | None) -> Task:
    def run(progress: Callable[[float, str], None]) -> dict[str, Any]:
        from critmin.disruption.api import load_market, load_run
        from critmin.disruption.runs import run_and_store_monte_carlo

        progress(0.02, "loading the market")
        market = load_market(ctx.wh, commodities=commodities, consumers=partners())
        scheduler = getattr(ctx, "dask_scheduler", None) or settings.get("web.dask_scheduler") or None
        doc = run_and_store_monte_carlo(
            _store(ctx), market, runs=runs, seed=seed, horizon=horizon, scheduler=scheduler,
            progress=lambda done, total: progress(0.05 + 0.85 * done / total, f"{done:,} / {total:,} runs"),
        )
        progress(0.95, "summarising")
        sample = load_run(ctx.wh, doc["run_id"])
        return jsonable({"kind": "monte_carlo", "sim_run_id": doc["run_id"], **doc,
                         "not_computable": market.not_computable,
                         "distributions": distributions(sample)})

    return run


@register_task("scenario")
def _scenario_payload(ctx: WebContext, payload: dict[str, Any]) -> Task:
    return scenario_task(ctx, resolve_scenario(payload.get("scenario"), payload.get("spec")))


@register_task("monte_carlo")
def _monte_carlo_payload(ctx: WebContext, payload: dict[str, Any]) -> Task:
    return monte_carlo_task(ctx, int(payload["runs"]), int(payload["seed"]), int(payload["horizon_months"]),
                            payload.get("commodities"))


def distributions(sample: ShortfallSample) -> dict[str, Any]:
    """Histograms of the annual shortfall (% of consumption, per commodity x consumer) and of
    the price change (% per commodity) over the runs of a ShortfallSample."""
    bins = int(settings.get("web.histogram_bins"))
    out: dict[str, Any] = {"shortfall_pct": [], "price_change_pct": []}
    for c, cid in enumerate(sample.commodities):
        for k, kid in enumerate(sample.consumers):
            cons = float(sample.consumption_t[c, k])
            if cons <= 0:
                out["shortfall_pct"].append({"commodity": cid, "consumer": kid, "not_computable": "consumption is 0 t"})
                continue
            x = 100.0 * sample.shortfall_t[:, c, k] / cons
            counts, edges = np.histogram(x, bins=bins, weights=sample.weights)
            out["shortfall_pct"].append({"commodity": cid, "consumer": kid, "edges": edges, "weights": counts,
                                         "p_zero": float(sample.weights[x <= 0].sum())})
        pc = sample.price_change_pct[:, c]
        counts, edges = np.histogram(pc, bins=bins, weights=sample.weights)
        out["price_change_pct"].append({"commodity": cid, "edges": edges, "weights": counts})
    return out


def stockpile_task(ctx: WebContext, req: PlanRequest) -> Task:
    """The dashboard's planner: :func:`critmin.stockpile.service.plan`, the workflow behind
    ``critmin stockpile plan`` (the economic vulnerability comes from this server's cache)."""

    def run(progress: Callable[[float, str], None]) -> dict[str, Any]:
        from critmin.stockpile import service

        report = service.plan(ctx.wh, req, progress=progress,
                              economic_vulnerability=lambda: economic_vulnerability(ctx))
        return jsonable(report.to_dict())

    return run


def economic_vulnerability(ctx: WebContext) -> dict[str, float]:
    """EV per commodity from the risk engine (:func:`critmin.risk.api.economic_vulnerability`),
    cached per data version; commodities without a value are left out (reported by the
    stockpile inputs as not computable)."""
    from critmin.risk.api import economic_vulnerability as ev_table

    def compute() -> dict[str, float]:
        df = ev_table(ctx.wh)
        return {str(c): float(v) for c, v in zip(df["commodity_id"], df["economic_vulnerability"], strict=True)
                if v is not None and v == v}

    return ctx.cached(("economic_vulnerability",), compute, shared=True)
