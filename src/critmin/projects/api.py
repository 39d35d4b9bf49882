"""Wiring: the registry, scoring, selection and clock on the warehouse (I/O lives here).

The pure functions are in :mod:`scoring`, :mod:`selection` and :mod:`clock`; this module
fetches their inputs from the warehouse (supply at the project's stage,
:func:`critmin.data.supply.select_stage` via ``Warehouse.stage_supply``), the disruption
simulator (market, expected joint shortfall) and the risk package (allied set).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from critmin import settings
from critmin.data.supply import NoStageSupply, StageSupply
from critmin.disruption import api as disruption_api
from critmin.disruption.market import Market
from critmin.projects.costs import CostFactors
from critmin.projects.facts import stages_of
from critmin.projects.models import Project
from critmin.projects.registry import Registry, RegistryStore
from critmin.projects.scoring import (
    CommodityContext,
    ProjectScore,
    ScoreParams,
    ShortfallModel,
    score_projects,
)
from critmin.projects.selection import Candidate, Option, SelectionProblem, Target, select

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

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

#: a project's stage group -> the analysis stage of :func:`critmin.data.supply.select_stage`
STAGE_OF_GROUP = {"extraction": "mine", "processing": "processing"}


class NotComputable(ValueError):
    """An input that cannot be computed, with the reason."""


def stage_supply(wh: Warehouse, commodity: str, stage_group: str, year: int | None = None) -> StageSupply:
    """Supply of a commodity at a project's stage group in ``year`` (default: the newest year)
    (:func:`critmin.data.supply.select_stage`: source, stage, product and world total chosen
    there, the same as for the watchlist and the simulator); :class:`NotComputable` with the
    reason where there is none, or none in a mass unit."""
    stage = STAGE_OF_GROUP.get(stage_group)
    if stage is None:
        raise ValueError(f"stage_group: expected one of {sorted(STAGE_OF_GROUP)}, got {stage_group!r}")
    try:
        sup = wh.stage_supply(commodity, stage, year)
        sup.quantities_t()  # a unit that is not a mass is not computable
    except NoStageSupply as exc:
        raise NotComputable(str(exc)) from None
    if sup.shares is None:
        raise NotComputable(f"{commodity} {stage} {sup.year}: shares not computable: " + "; ".join(sup.missing))
    return sup


def production_by_country(wh: Warehouse, commodity: str, stage_group: str,
                          year: int | None = None) -> tuple[dict[str, float], float, int, str]:
    """Production by country (t) at a stage group in ``year`` (default: the newest year with data;
    :func:`stage_supply`).

    Returns ``(by_country, unattributed_t, year, provenance)``; ``unattributed_t`` is the shares'
    denominator (the published world total, else the country sum plus "Other countries") minus
    the country sum, so that ``q / (sum q + unattributed_t)`` are select_stage's shares. It is
    slightly negative where the published world total is rounded below the country sum (USGS
    rounds to two significant digits; select_stage keeps such a total within 5 %, and its shares
    then sum to a little over 1, as the MCS's own percentages do).
    """
    return _production(stage_supply(wh, commodity, stage_group, year), commodity)


def _production(sup: StageSupply, commodity: str) -> tuple[dict[str, float], float, int, str]:
    by = sup.quantities_t()
    denom = sup.denominator_t
    if denom is None:  # stage_supply refuses supply without shares
        raise NotComputable(f"{commodity} {sup.stage} {sup.year}: no shares")
    unattributed = denom - sum(by.values())
    iso, share = sup.leading
    prov = (f"select_stage({commodity!r}, {sup.stage!r}): {sup.source} {sup.year}, stage {sup.source_stage}, "
            f"product {sup.product!r}, {sup.share_basis} {denom:g} t; leading {iso} {share or 0.0:.1%}; "
            f"datasets {list(sup.dataset_ids)}")
    return by, unattributed, sup.year, prov


def load_market(wh: Warehouse, commodities: Sequence[str], year: int | None = None) -> Market:
    """The disruption simulator's market for these commodities (``year``: None = the newest data)."""
    return disruption_api.load_market(wh, commodities=list(commodities), year=year)


def make_shortfall_model(market: Market, runs: int | None = None, random_state: int | None = None) -> ShortfallModel:
    """The simulator's expected joint shortfall as a :data:`ShortfallModel` (cached, common seed)."""
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
                disruption_api.expected_joint_shortfall(market, commodity, dict(additions) if additions else None,
                                                        runs, seed)
            )
        return cache[key]

    return model


def build_contexts(
    wh: Warehouse, projects: Sequence[Project], market: Market, allied: frozenset[str]
) -> tuple[dict[tuple[str, str], CommodityContext], dict[tuple[str, str], str]]:
    """Market inputs for each (commodity, stage group) of the projects, and what is missing.
    Production is taken in the market's year (``market.year``; None: the newest), so the
    concentration term and the simulator see the same supply."""
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
            sup = stage_supply(wh, com, sg, market.year)
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
                sup = stage_supply(wh, com, market_sg, market.year)
            except NotComputable as exc2:
                missing[key] = f"{exc}; {exc2}"
                continue
            subst = (f"STAGE SUBSTITUTION: {exc}; concentration measured at the simulator's market stage "
                     f"'{cm.stage}' instead")
        by, other, year, prov = _production(sup, com)
        out[key] = CommodityContext(
            com, sg, float(cm.price_usd_per_t), float(np.sum(cm.demand_t)), by, allied, year, other,
            {"production": prov, "price": cm.price_note or "disruption market reference price",
             "consumption": f"disruption market demand_t {dict(zip(cm.consumers, map(float, cm.demand_t), strict=True))}",
             "market_stage": cm.stage, **{k: str(v) for k, v in cm.provenance.items()},
             # after the market's own keys, so neither is overwritten
             "concentration_production": prov, **({"stage_substitution": subst} if subst else {})},
            sup.summary(),
        )
    return out, missing


def score_with_warehouse(
    wh: Warehouse, projects: Sequence[Project], shortfall_model: ShortfallModel | None = None,
    market: Market | None = None, year: int | None = None,
) -> list[ProjectScore]:
    """Score projects on the real data (disruption market, production, allied set); ``year``
    (None: the newest data) is that of the market built here (a given ``market`` has its own)."""
    from critmin.risk.alliances import allied_iso3

    if market is None:
        market = load_market(wh, sorted({p.commodity_id for p in projects}), year)
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
            opt = Option(label, s.cost_by_partner, tuple(sorted({str(r.instrument) for r in p.financing_requests})))
            # the value-chain stage (mine, separation, refining, metal, magnet, recycling: sourced facts
            # of the seed, else derived from the record), so --min-stage separation=1 tells a
            # separation plant from a mine and a magnet plant
            cands.append(Candidate(p.id, p.commodity_id, stages_of(p).value_chain_stage, float(s.value_usd), (opt,)))
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
    targets: Sequence[Target] = (),
) -> dict[str, Any]:
    """Joint selection over scored projects; non-candidates are listed as excluded with reasons."""
    cands, pre = candidates(projects, scores)
    share = float(settings.get("projects.select.max_commodity_share")) if max_commodity_share is None else max_commodity_share
    pr = SelectionProblem(
        tuple(cands), dict(budget), share, dict(min_per_stage or {}), dict(min_per_commodity or {}),
        tuple(exclusive), tuple(depends), targets=tuple(targets),
    )
    res = select(pr)
    res["excluded"] = sorted(res["excluded"] + pre, key=lambda e: e["project"])
    res["max_commodity_share"] = share
    res["budget_report"] = budget_report(res, cands, pre)
    return res


def budget_report(res: Mapping[str, Any], cands: Sequence[Candidate], pre: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """For each partner: the budget, what the selection uses, the share used, and why the rest
    is unused (candidates asking this partner all selected, or which constraints kept the
    others out), with the projects that are no candidate at all, grouped by their reason."""
    chosen = {e["project"] for e in res["selected"]}
    excluded = {e["project"]: e for e in res["excluded"]}
    groups: dict[str, list[str]] = {}
    for e in pre:
        key = str(e["reason"]).split(":")[0] if str(e["reason"]).startswith("not scored") else str(e["reason"])
        groups.setdefault(key, []).append(str(e["project"]))
    out: dict[str, Any] = {}
    for k, b in res["budget"].items():
        used = float(res["budget_used"].get(k, 0.0))
        asking = [c for c in cands if any(o.cost.get(k, 0.0) > 0 for o in c.options)]
        left = [c for c in asking if c.project_id not in chosen]
        ask_total = sum(max(o.cost.get(k, 0.0) for o in c.options) for c in asking)
        if not asking:
            why = f"no candidate asks {k} for money"
        elif not left:
            why = (f"every candidate that asks {k} for money is selected ({len(asking)}, US${ask_total:,.0f} of budget "
                   f"cost in all); the rest has nothing to fund: the other projects are not candidates")
        else:
            reasons = sorted({str(excluded[c.project_id]["reason"]) for c in left if c.project_id in excluded})
            why = (f"{len(left)} of {len(asking)} candidates asking {k} are left out: " + " | ".join(reasons))
        out[k] = {"budget_usd": float(b), "used_usd": used, "unused_usd": float(b) - used,
                  "share_used": used / float(b) if b else None, "candidates_asking": len(asking),
                  "candidates_asking_selected": len(asking) - len(left), "asked_usd": ask_total, "why_unused": why,
                  "not_candidates": {r: sorted(ps) for r, ps in sorted(groups.items())}}
    return out


def open_registry(con: RegistryStore) -> Registry:
    return Registry.open(con)
