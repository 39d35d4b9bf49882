"""What a project is worth against the gap: the expected gap it closes in its years of output,
valued at the damage a tonne of shortfall does (issue 17).

For project *p* of commodity *c* at outlook stage *s*, for the partners together (scope
``USA+JPN``, scenario ``projects.outlook.scenario``), with the pipeline drawn as in
:mod:`critmin.outlook.gap` (common random numbers):

    closed_{p,y} = E[G_y(pipeline without p)] - E[G_y(pipeline)]         (t/yr, >= 0)
    value_p      = sum_{y=base}^{horizon} (1 + r)^-(y - base) x L_c x closed_{p,y}

``L_c`` is the loss per tonne of shortfall from the economic-impact model
(:func:`critmin.impact.damage_for`, the partners' consumption-weighted mean); where it is not
available the market price is used and the value is flagged ``damage_at_market_price``.
``r`` and the base and horizon years are those of project scoring (``projects.score.*``).

A project without an outlook (its commodity has no IEA supply outlook, its stage is magnets,
or it produces already and is in the IEA base case) is valued by the market method of
:mod:`critmin.projects.scoring` (basis ``market``, flagged with the reason). A project that
lacks a capacity or a start year is not scored and says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from critmin import settings
from critmin.outlook.gap import calc_gap_paths, draw_outcomes
from critmin.projects.models import Project
from critmin.projects.scoring import ProjectScore, ScoreParams

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse
    from critmin.outlook.service import GapInputs

settings.register(
    "projects.outlook.scenario", "STEPS",
    "IEA scenario against whose gap projects are valued (STEPS, APS or NZE).",
    "IEA Global Critical Minerals Outlook 2025: STEPS is the policies-in-place scenario.",
)
settings.register(
    "projects.outlook.draws", 2000,
    "Monte Carlo draws of the pipeline when valuing projects against the gap.",
    "Numerical choice (the gap itself uses outlook.draws); common random numbers with and without each project.",
)


@dataclass(frozen=True)
class ProjectValue:
    project_id: str
    commodity_id: str
    stage: str
    scored: bool
    basis: str | None  # 'outlook', 'market' or None (not scored)
    value_usd: float | None
    reason: str | None
    cost_by_partner: dict[str, float]
    closed_t: dict[int, float] = field(default_factory=dict)
    loss_per_t: float | None = None
    flags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def calc_closed_by_project(inp: GapInputs, scope: str, scenario: str, n_draws: int,
                           random_state: int | np.random.Generator) -> np.ndarray:
    """``closed[p, y]``: the expected gap project *p* closes, given the rest of the pipeline."""
    x = draw_outcomes(len(inp.projects), n_draws, inp.prob, random_state)
    d, b, c = inp.demand[(scope, scenario)].total, inp.base[(scope, scenario)], inp.contrib[(scope, scenario)]
    with_all = calc_gap_paths(d, b, c, x)
    added = x.astype(float) @ c if len(inp.projects) else np.zeros_like(with_all)
    out = np.zeros((len(inp.projects), len(d)))
    for i in range(len(inp.projects)):
        without = np.maximum(d[None, :] - b[None, :] - (added - x[:, i : i + 1] * c[i][None, :]), 0.0)
        out[i] = (without - with_all).mean(axis=0)
    return out


def calc_discounted_value(years: np.ndarray, closed: np.ndarray, loss_per_t: float, params: ScoreParams) -> float:
    """``sum_{y=base}^{horizon} (1+r)^-(y-base) L closed_y`` (years outside [base, horizon] not counted)."""
    m = (years >= params.base_year) & (years <= params.horizon_year)
    disc = (1.0 + params.discount_rate) ** -(years[m] - params.base_year).astype(float)
    return float(loss_per_t * np.sum(disc * closed[m]))


def _loss_per_t(wh: Warehouse, commodity: str, partners: Sequence[str]) -> tuple[float, tuple[str, ...]]:
    from critmin.outlook.service import loss_per_t

    return loss_per_t(wh, commodity, partners)


def value_projects(wh: Warehouse, projects: Sequence[Project], market_scores: Sequence[ProjectScore], *,
                   scenario: str | None = None, n_draws: int | None = None, random_state: int | None = None,
                   years: np.ndarray | None = None) -> list[ProjectValue]:
    """Value every project against the gap (module docstring); the market scores are the fallback."""
    from critmin.data.partners import partners as configured
    from critmin.outlook.pipeline import pipeline_projects
    from critmin.outlook.service import IEA_SUPPLY_MINERALS, gap_inputs, scopes, years_range

    s = str(settings.get("projects.outlook.scenario")) if scenario is None else scenario
    n = int(settings.get("projects.outlook.draws")) if n_draws is None else int(n_draws)
    seed = int(settings.get("outlook.random_state")) if random_state is None else int(random_state)
    yrs = years if years is not None else years_range()
    params = ScoreParams.from_settings()
    ps = tuple(configured())
    scope = [k for k, v in scopes(ps).items() if v == ps][0]
    market = {sc.project_id: sc for sc in market_scores}
    pp, left = pipeline_projects(projects)
    left_reason = {e["project"]: e["reason"] for e in left}
    in_pipe = {p.project_id: p for p in pp}
    values: dict[str, ProjectValue] = {}
    for ci, c in enumerate(sorted({p.commodity_id for p in pp if p.commodity_id in IEA_SUPPLY_MINERALS})):
        for si, st in enumerate(sorted({p.stage for p in pp if p.commodity_id == c})):
            try:
                inp = gap_inputs(wh, c, st, yrs, projects, [s], ps)
            except LookupError:
                continue
            closed = calc_closed_by_project(inp, scope, s, n, np.random.default_rng([seed, ci, si]))
            loss, flags = _loss_per_t(wh, c, ps)
            for i, p in enumerate(inp.projects):
                ms = market.get(p.project_id)
                ok = math.isfinite(loss) and loss > 0
                values[p.project_id] = ProjectValue(
                    p.project_id, c, st, ok, "outlook" if ok else None,
                    calc_discounted_value(yrs, closed[i], loss, params) if ok else None,
                    None if ok else f"no damage per tonne or price for {c}",
                    dict(ms.cost_by_partner) if ms else {},
                    {int(y): float(v) for y, v in zip(yrs, closed[i], strict=True) if int(y) in (2030, 2035, 2040)},
                    loss if ok else None, (*flags, f"probability {p.probability:g} ({p.development_stage})", p.content_note),
                )
    out = []
    for proj in projects:
        if proj.id in values:
            out.append(values[proj.id])
            continue
        ms = market.get(proj.id)
        if proj.id in in_pipe:
            why = f"{proj.commodity_id}: no IEA supply outlook"
        else:
            why = left_reason.get(proj.id, "not in the pipeline")
        if proj.commodity_id not in IEA_SUPPLY_MINERALS:
            why = f"{proj.commodity_id}: no IEA supply outlook (the IEA covers {', '.join(IEA_SUPPLY_MINERALS)})"
        if ms is not None and ms.value_usd is not None:
            out.append(ProjectValue(proj.id, proj.commodity_id, str(proj.stage), True, "market", float(ms.value_usd),
                                    None, dict(ms.cost_by_partner), flags=(f"no outlook value: {why}; valued against "
                                                                           "today's market (projects.scoring)",)))
        else:
            miss = ms.reason if ms is not None else "not scored"
            out.append(ProjectValue(proj.id, proj.commodity_id, str(proj.stage), False, None, None,
                                    f"outlook: {why}; market: {miss}", dict(ms.cost_by_partner) if ms else {}))
    return out


def parse_target(text: str) -> tuple[str, str, float, int]:
    """``'processing:USA=0.1@2030'`` -> ``('processing', 'USA', 0.1, 2030)``."""
    try:
        stage, rest = text.split(":", 1)
        partner, rest = rest.split("=", 1)
        frac, year = rest.split("@", 1)
        out = (stage.strip(), partner.strip().upper(), float(frac), int(year))
    except ValueError:
        raise ValueError(f"--target {text!r}: expected STAGE:PARTNER=FRACTION@YEAR, e.g. processing:USA=0.1@2030") from None
    if not 0 < out[2] <= 1:
        raise ValueError(f"--target {text!r}: the fraction must be in (0, 1]")
    return out


def stage_targets(wh: Warehouse, projects: Sequence[Project], specs: Sequence[tuple[str, str, float, int]], *,
                  scenario: str | None = None) -> tuple[list[Any], list[dict[str, Any]]]:
    """Stage targets for the selection, in the style of the EU CRMA benchmarks: for each target
    (stage, partner, fraction tau, year) and each commodity with an IEA outlook and a pipeline
    project at that stage, the selected projects' expected secure supply for the partner in that
    year must cover ``max(0, tau x D_partner - S_partner)`` (demand, and secure base supply
    already there). Returns the :class:`~critmin.projects.selection.Target` rows and a note for
    each target (required tonnes, or why it is not set)."""
    from critmin.outlook.pipeline import check_stage, pipeline_projects
    from critmin.outlook.service import IEA_SUPPLY_MINERALS, gap_inputs, years_range
    from critmin.projects.selection import Target

    s = str(settings.get("projects.outlook.scenario")) if scenario is None else scenario
    yrs = years_range()
    pp, _ = pipeline_projects(projects)
    targets, notes = [], []
    for stage, partner, frac, year in specs:
        st = check_stage(stage)
        if int(year) not in set(int(y) for y in yrs):
            raise ValueError(f"target year {year}: expected {int(yrs[0])}-{int(yrs[-1])}")
        for c in sorted({p.commodity_id for p in pp if p.stage == st and p.commodity_id in IEA_SUPPLY_MINERALS}):
            inp = gap_inputs(wh, c, st, yrs, projects, [s])
            if (partner, s) not in inp.demand:
                raise ValueError(f"target partner {partner!r}: expected one of the partners {sorted(k for k, _ in inp.demand)}")
            yi = int(np.flatnonzero(yrs == int(year))[0])
            dem = float(inp.demand[(partner, s)].total[yi])
            have = float(inp.base[(partner, s)][yi])
            need = max(0.0, frac * dem - have)
            w = {p.project_id: float(p.probability * inp.contrib[(partner, s)][i, yi]) for i, p in enumerate(inp.projects)}
            key = f"{c}:{st}:{partner}>={frac:g}@{year}"
            notes.append({"target": key, "demand_t": dem, "secure_base_t": have, "required_from_projects_t": need,
                          "projects": {k: v for k, v in w.items() if v > 0}})
            if need > 0:
                targets.append(Target(key, w, need))
    return targets, notes


def value_summary(values: Sequence[ProjectValue]) -> dict[str, Any]:
    scored = [v for v in values if v.scored]
    return {"projects": len(values), "scored": len(scored),
            "by_basis": {b: sum(1 for v in scored if v.basis == b) for b in ("outlook", "market")},
            "not_scored": [{"project": v.project_id, "reason": v.reason} for v in values if not v.scored]}


def as_scores(values: Sequence[ProjectValue], market_scores: Sequence[ProjectScore]) -> list[ProjectScore]:
    """The values as :class:`ProjectScore` records (value replaced by the outlook value) so that
    the selection (:func:`critmin.projects.api.select_portfolio`) runs on them unchanged."""
    from dataclasses import replace

    by: Mapping[str, ProjectValue] = {v.project_id: v for v in values}
    out = []
    for s in market_scores:
        v = by.get(s.project_id)
        if v is None:
            continue
        cost = s.cost_total_usd
        ok = v.scored and v.value_usd is not None and cost > 0 and math.isfinite(cost)
        out.append(replace(
            s, value_usd=v.value_usd, computable=ok,
            reason=None if ok else (v.reason or s.reason or "no financing request: no budget cost to score against"),
            score_per_dollar=(v.value_usd / cost) if ok and v.value_usd is not None else None,
            inputs={**s.inputs, "outlook_basis": v.basis, "outlook_closed_t": v.closed_t, "loss_per_t": v.loss_per_t,
                    "outlook_flags": list(v.flags)},
        ))
    return out


__all__ = ["ProjectValue", "as_scores", "parse_target", "stage_targets", "calc_closed_by_project", "calc_discounted_value", "value_projects",
           "value_summary"]
