"""Wiring: the registry, scoring, selection and clock on the warehouse (I/O lives here).

The pure functions are in :mod:`scoring`, :mod:`selection` and :mod:`clock`; this module
fetches their inputs from the warehouse (production by country), the disruption simulator
(market, expected joint shortfall) and the risk package (allied set).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from critmin import settings
from critmin.projects.costs import CostFactors
from critmin.projects.models import Project
from critmin.projects.registry import Registry
from critmin.projects.scoring import (
    CommodityContext,
    ProjectScore,
    ScoreParams,
    ShortfallModel,
    score_projects,
)
from critmin.projects.selection import Candidate, Option, SelectionProblem, select

log = logging.getLogger(__name__)

settings.register(
    "projects.score.runs",
    1000,
    "Monte Carlo runs per expected-shortfall evaluation in project scoring.",
    "Numerical choice; the same seed is used with and without the project (common random numbers).",
)
settings.register(
    "projects.score.random_state",
    20251028,
    "Seed for the Monte Carlo runs of project scoring.",
    "Any fixed seed; the framework's signature date.",
)

UNIT_TO_T = {"t": 1.0, "kg": 1e-3}


class NotComputable(ValueError):
    """An input that cannot be computed, with the reason."""


def production_by_country(wh: Any, commodity: str, stage_group: str) -> tuple[dict[str, float], float, int, str]:
    """Production by country (t) at a stage group for the latest year with data.

    Where a stage group has several stages/products (e.g. refinery and smelter), the one with the
    largest country total is used. Returns ``(by_country, unattributed_t, year, provenance)``;
    ``unattributed_t`` is the world total minus the country sum (the "Other countries" part).
    """
    df = wh.production(commodity, stage=stage_group)
    df = df[df["quantity"].notna()]
    if df.empty:
        raise NotComputable(f"no {stage_group} production of {commodity} in the warehouse")
    bad = sorted(set(df["unit"]) - set(UNIT_TO_T))
    if bad:
        df = df[df["unit"].isin(list(UNIT_TO_T))]
        if df.empty:
            raise NotComputable(f"{commodity} {stage_group} production only in units {bad}, not mass")
    df = df.assign(q_t=df["quantity"] * df["unit"].map(UNIT_TO_T))
    countries = df[df["aggregate"].isna() & df["country_iso3"].notna()]
    if countries.empty:
        raise NotComputable(f"no country rows for {commodity} {stage_group} production")
    year = int(countries["year"].max())
    c = countries[countries["year"] == year]
    key = c.groupby(["stage", "product"], dropna=False)["q_t"].sum().idxmax()
    c = c[(c["stage"] == key[0]) & ((c["product"] == key[1]) if key[1] == key[1] else c["product"].isna())]
    by = c.groupby("country_iso3")["q_t"].sum().to_dict()
    w = df[(df["aggregate"] == "world") & (df["year"] == year) & (df["stage"] == key[0])]
    world = float(w["q_t"].max()) if len(w) else float("nan")
    unattributed = max(world - sum(by.values()), 0.0) if np.isfinite(world) else 0.0
    datasets = sorted({int(x) for x in c["dataset_id"]})
    prov = f"Warehouse.production({commodity!r}, {stage_group}) year {year} stage {key[0]}; datasets {datasets}"
    return {k: float(v) for k, v in by.items()}, unattributed, year, prov


def _disruption_api() -> Any:
    try:
        from critmin.disruption import api
    except ImportError as exc:  # the disruption helper's module
        raise NotComputable(f"the disruption simulator API is not available: {exc}") from None
    return api


def load_market(wh: Any, commodities: Sequence[str]) -> Any:
    """The disruption simulator's market for these commodities (explicit error if unavailable)."""
    try:
        return _disruption_api().load_market(wh, commodities=list(commodities))
    except ImportError as exc:
        raise NotComputable(f"the disruption market loader is not available: {exc}") from None


def make_shortfall_model(market: Any, runs: int | None = None, random_state: int | None = None) -> ShortfallModel:
    """The simulator's expected joint shortfall as a :data:`ShortfallModel` (cached, common seed)."""
    api = _disruption_api()
    runs = int(settings.get("projects.score.runs")) if runs is None else runs
    seed = int(settings.get("projects.score.random_state")) if random_state is None else random_state
    cache: dict[tuple[str, tuple[tuple[str, float], ...]], float] = {}

    def model(commodity: str, additions: Mapping[str, float] | None) -> float:
        if commodity not in market.commodities:
            reason = market.not_computable.get(commodity, "not in the simulated market")
            raise NotComputable(f"{commodity}: {reason}")
        key = (commodity, tuple(sorted((additions or {}).items())))
        if key not in cache:
            cache[key] = float(
                api.expected_joint_shortfall(market, commodity, dict(additions) if additions else None, runs, seed)
            )
        return cache[key]

    return model


def build_contexts(
    wh: Any, projects: Sequence[Project], market: Any, allied: frozenset[str]
) -> tuple[dict[tuple[str, str], CommodityContext], dict[tuple[str, str], str]]:
    """Market inputs for each (commodity, stage group) of the projects, and what is missing."""
    out: dict[tuple[str, str], CommodityContext] = {}
    missing: dict[tuple[str, str], str] = {}
    for key in sorted({(p.commodity_id, p.stage_group) for p in projects}):
        com, sg = key
        cm = market.commodities.get(com)
        if cm is None:
            missing[key] = f"{com}: " + market.not_computable.get(com, "not in the simulated market")
            continue
        subst = None
        try:
            by, other, year, prov = production_by_country(wh, com, sg)
        except NotComputable as exc:
            # The warehouse has no production at the project's own stage group (USGS publishes no
            # rare-earth separation or graphite anode output by country). The simulator supplies
            # consumers at its market stage; the concentration term then uses that stage, and the
            # substitution is stated in the score's inputs, never silent.
            market_sg = "extraction" if cm.stage == "mine" else "processing"
            if market_sg == sg:
                missing[key] = str(exc)
                continue
            try:
                by, other, year, prov = production_by_country(wh, com, market_sg)
            except NotComputable as exc2:
                missing[key] = f"{exc}; {exc2}"
                continue
            subst = (f"STAGE SUBSTITUTION: {exc}; concentration measured at the simulator's market stage "
                     f"'{cm.stage}' instead")
        out[key] = CommodityContext(
            com, sg, float(cm.price_usd_per_t), float(np.sum(cm.demand_t)), by, allied, year, other,
            {"production": prov, "price": cm.price_note or "disruption market reference price",
             "consumption": f"disruption market demand_t {dict(zip(cm.consumers, map(float, cm.demand_t), strict=True))}",
             "market_stage": cm.stage, **{k: str(v) for k, v in cm.provenance.items()},
             # after the market's own keys, so neither is overwritten
             "concentration_production": prov, **({"stage_substitution": subst} if subst else {})},
        )
    return out, missing


def score_with_warehouse(
    wh: Any, projects: Sequence[Project], shortfall_model: ShortfallModel | None = None, market: Any = None
) -> list[ProjectScore]:
    """Score projects on the real data (disruption market, production, allied set)."""
    from critmin.risk.alliances import allied_iso3

    if market is None:
        market = load_market(wh, sorted({p.commodity_id for p in projects}))
    if shortfall_model is None:
        shortfall_model = make_shortfall_model(market)
    contexts, missing = build_contexts(wh, projects, market, allied_iso3())
    for k, why in missing.items():
        log.info("no scoring context for %s: %s", k, why)
    scores = score_projects(projects, contexts, shortfall_model, ScoreParams.from_settings(), CostFactors.from_settings())
    # give not-computable scores the specific reason from the context builder
    fixed = []
    for s in scores:
        k = (s.commodity_id, s.stage_group)
        if not s.computable and k in missing and s.reason and s.reason.startswith("no market data"):
            from dataclasses import replace

            s = replace(s, reason=missing[k])
        fixed.append(s)
    return fixed


def candidates(projects: Sequence[Project], scores: Sequence[ProjectScore]) -> tuple[list[Candidate], list[dict[str, Any]]]:
    """Selectable candidates (one option: the financing requests as submitted) and the
    projects that cannot be candidates, each with its reason."""
    by_id = {s.project_id: s for s in scores}
    cands, out = [], []
    for p in projects:
        s = by_id.get(p.id)
        if s is None:
            out.append({"project": p.id, "reason": "not scored"})
        elif p.status == "suspended":
            out.append({"project": p.id, "reason": "status suspended: not a candidate"})
        elif not p.financing_requests:
            out.append({"project": p.id, "reason": "no financing request: nothing to fund"})
        elif not s.computable or s.value_usd is None:
            out.append({"project": p.id, "reason": f"not scored: {s.reason}"})
        else:
            label = " + ".join(f"{r.instrument} {r.partner} US${r.amount_usd:,.0f}" for r in p.financing_requests)
            opt = Option(label, {"USA": s.cost_usa_usd, "JPN": s.cost_jpn_usd}, tuple(sorted({str(r.instrument) for r in p.financing_requests})))
            cands.append(Candidate(p.id, p.commodity_id, str(p.stage), float(s.value_usd), (opt,)))
    return cands, out


def select_portfolio(
    projects: Sequence[Project],
    scores: Sequence[ProjectScore],
    budget: Mapping[str, float],
    max_commodity_share: float | None = None,
    min_per_stage: Mapping[str, int] | None = None,
    min_per_commodity: Mapping[str, int] | None = None,
    exclusive: Sequence[tuple[str, str]] = (),
    depends: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Joint selection over scored projects; non-candidates are listed as excluded with reasons."""
    cands, pre = candidates(projects, scores)
    share = float(settings.get("projects.select.max_commodity_share")) if max_commodity_share is None else max_commodity_share
    pr = SelectionProblem(
        tuple(cands), dict(budget), share, dict(min_per_stage or {}), dict(min_per_commodity or {}),
        tuple(exclusive), tuple(depends),
    )
    res = select(pr)
    res["excluded"] = sorted(res["excluded"] + pre, key=lambda e: e["project"])
    res["max_commodity_share"] = share
    return res


def open_registry(con: Any) -> Registry:
    return Registry.open(con)
