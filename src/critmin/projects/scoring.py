"""What a project is worth, what it costs, and its score per budget dollar.

Value (US$, discounted to ``base_year``) of project *p* with commodity *c*, host *h*,
capacity *K* t/yr and first production at (fractional) year *s*:

    D        = sum_{y=base}^{horizon} f_y (1 + r)^-(y - base),  f_y = clip(y + 1 - s, 0, 1)
    dES      = ES_c(none) - ES_c({h: K})                   [t/yr, from the disruption simulator]
    dHHI_na  = HHI_na(q) - HHI_na(q + K e_h)                [fraction, non-allied concentration]
    V_short  = D x dES x P_c
    V_conc   = D x w x dHHI_na x C_c x P_c
    value    = V_short + V_conc

``ES_c`` is the expected annual joint (US + Japan) shortfall (``shortfall_model``), ``P_c`` the
reference price (US$/t), ``C_c`` the joint annual consumption (t), ``q`` production by country
at the project's stage group, ``HHI_na(q) = sum_{i not allied} (q_i / sum q)^2`` the part of
the Herfindahl-Hirschman index held by non-allied producers, and ``w`` the weight
``projects.score.concentration_weight``. ``V_conc`` values concentration as supply at risk,
after the value-at-risk form of GeoPolRisk (Santillan-Saldivar et al. 2021, Resour. Conserv.
Recycl. 164:105108: characterisation factor x quantity x price).

Score = value / budget cost (US + Japan), the cost from :mod:`critmin.projects.costs`. Each
:class:`ProjectScore` carries every input it used (``inputs``) so a number can be traced back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from critmin import settings
from critmin.data.partners import partners
from critmin.projects.costs import CostFactors, calc_instrument_cost
from critmin.projects.models import Project
from critmin.risk.concentration import calc_hhi

#: (commodity, {host_iso3: extra t/yr} or None) -> expected annual joint shortfall in t
ShortfallModel = Callable[[str, Mapping[str, float] | None], float]

settings.register(
    "projects.score.base_year",
    2026,
    "Year to which project values are discounted (the framework's first financing year).",
    "US-Japan framework signed 2025-10-28; financing within six months (2026).",
)
settings.register(
    "projects.score.horizon_year",
    2040,
    "Last year counted in a project's value.",
    "Policy horizon; IEA Global Critical Minerals Outlook 2024 projects to 2040.",
)
settings.register(
    "projects.score.discount_rate",
    0.03,
    "Real discount rate for project values.",
    "OMB Circular A-4 (2003), section E: 3 % real (consumption rate of interest) and 7 %.",
)
settings.register(
    "projects.score.concentration_weight",
    1.0,
    "Weight of the non-allied concentration term: US$ of value per (fraction of HHI) x (US$ of "
    "joint annual consumption).",
    "Value-at-risk form of GeoPolRisk, Santillan-Saldivar et al. (2021), RCR 164:105108 "
    "(characterisation factor x quantity x price); weight 1 = no extra policy weighting.",
)


@dataclass(frozen=True)
class CommodityContext:
    """Market inputs for one commodity and stage group (filled from the warehouse)."""

    commodity_id: str
    stage_group: str
    price_usd_per_t: float
    joint_consumption_t: float
    production_t: Mapping[str, float]
    allied: frozenset[str]
    year: int
    unattributed_t: float = 0.0
    provenance: Mapping[str, str] = field(default_factory=dict)
    #: ``StageSupply.summary()`` of the production used (leading country and share, world
    #: total, source, year, product, choices): the same answer as the watchlist's
    supply: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoreParams:
    base_year: int
    horizon_year: int
    discount_rate: float
    concentration_weight: float

    @classmethod
    def from_settings(cls, overrides: dict[str, Any] | None = None) -> ScoreParams:
        return cls(
            int(settings.get("projects.score.base_year", overrides)),
            int(settings.get("projects.score.horizon_year", overrides)),
            float(settings.get("projects.score.discount_rate", overrides)),
            float(settings.get("projects.score.concentration_weight", overrides)),
        )


@dataclass(frozen=True)
class ProjectScore:
    project_id: str
    commodity_id: str
    stage_group: str
    host_country_iso3: str
    computable: bool
    reason: str | None
    value_usd: float | None
    value_shortfall_usd: float | None
    value_concentration_usd: float | None
    cost_usa_usd: float
    cost_jpn_usd: float
    score_per_dollar: float | None
    inputs: dict[str, Any]
    #: budget cost per funding partner (the partner of each financing request); the US and
    #: Japan entries are also ``cost_usa_usd`` / ``cost_jpn_usd``
    cost_by_partner: dict[str, float] = field(default_factory=dict)

    @property
    def cost_total_usd(self) -> float:
        return sum(self.cost_by_partner.values()) if self.cost_by_partner else self.cost_usa_usd + self.cost_jpn_usd

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cost_total_usd"] = self.cost_total_usd
        return d


def calc_online_factor(start_year: float, base_year: int, horizon_year: int, rate: float) -> float:
    """Discounted years online: ``sum_{y=base}^{horizon} clip(y + 1 - s, 0, 1) (1 + r)^-(y - base)``.

    A project starting at the beginning of year *s* (integer) counts fully from *s*; a
    fractional *s* (e.g. 2028.5 after a six-month permitting cut) counts the part-year.
    """
    if horizon_year < base_year:
        raise ValueError(f"horizon_year {horizon_year} is before base_year {base_year}")
    if rate <= -1:
        raise ValueError(f"discount_rate: expected > -1, got {rate}")
    total = 0.0
    for y in range(base_year, horizon_year + 1):
        frac = min(max(y + 1 - start_year, 0.0), 1.0)
        total += frac * (1.0 + rate) ** -(y - base_year)
    return total


def calc_non_allied_hhi(
    production_t: Mapping[str, float], allied: frozenset[str], unattributed_t: float = 0.0
) -> float:
    """``HHI_na = sum_{i not in allied} s_i^2``, ``s_i = q_i / (sum_j q_j + u)`` (fraction 0..1).

    The Herfindahl-Hirschman index (Hirschman 1945; computed with
    :func:`critmin.risk.concentration.calc_hhi`, rescaled from 0-10,000 to 0-1) restricted to the
    non-allied producers' terms. ``u`` is production not attributed to a country (the source's
    "Other countries" row): it counts in the total but is not one producer. With ``u`` = world
    total minus the country sum (:func:`critmin.projects.api.production_by_country`) the shares
    are those of :func:`critmin.data.supply.select_stage`; ``u`` is then slightly negative where
    the published world total is rounded below the country sum.
    """
    total = sum(production_t.values()) + unattributed_t
    if not total > 0:
        raise ValueError("production_t: expected a positive world total to compute shares")
    return calc_hhi(q / total for c, q in production_t.items() if c not in allied) / 10_000.0


def calc_partner_costs(project: Project, factors: CostFactors) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """(budget cost per funding partner, per-request lines) of a project's financing requests:
    each request is charged to the budget of its own ``partner``."""
    costs: dict[str, float] = {}
    lines = []
    for r in project.financing_requests:
        if r.amount_usd is None:
            raise ValueError(f"financing request {r.instrument} ({r.partner}): amount not stated, cannot be costed")
        cost, formula = calc_instrument_cost(str(r.instrument), r.amount_usd, factors)
        lines.append(
            {"instrument": r.instrument, "partner": r.partner, "amount_usd": r.amount_usd, "cost_usd": cost, "formula": formula}
        )
        costs[str(r.partner)] = costs.get(str(r.partner), 0.0) + cost
    return costs, lines


def calc_project_costs(project: Project, factors: CostFactors) -> tuple[float, float, list[dict[str, Any]]]:
    """(US cost, Japan cost, per-request lines) of a project's financing requests
    (:func:`calc_partner_costs`; the registry's partners are the US and Japan)."""
    costs, lines = calc_partner_costs(project, factors)
    return costs.get("USA", 0.0), costs.get("JPN", 0.0), lines


def _not_computable(p: Project, costs: dict[str, float], reason: str, inputs: dict[str, Any]) -> ProjectScore:
    return ProjectScore(
        p.id, p.commodity_id, p.stage_group, p.host_country_iso3, False, reason,
        None, None, None, *_usa_jpn(costs), None, inputs, costs,
    )


def _usa_jpn(costs: Mapping[str, float]) -> tuple[float, float]:
    nan = float("nan")
    return (costs.get("USA", 0.0), costs.get("JPN", 0.0)) if costs else (nan, nan)


def score_project(
    project: Project,
    ctx: CommodityContext | None,
    shortfall_model: ShortfallModel,
    params: ScoreParams,
    factors: CostFactors,
    start_year: float | None = None,
    baseline_cache: dict[str, float] | None = None,
) -> ProjectScore:
    """Score one project (see the module docstring for the formulae)."""
    try:
        costs, lines = calc_partner_costs(project, factors)
    except ValueError as exc:
        return _not_computable(project, {}, f"cost: {exc}", {"params": asdict(params)})
    costs = {p: costs.get(p, 0.0) for p in sorted(set(costs) | set(partners()))}
    inputs: dict[str, Any] = {"cost_lines": lines, "capacity_tpy": project.capacity_tpy, "params": asdict(params)}
    if project.capacity_tpy is None:
        return _not_computable(project, costs, "capacity_tpy not stated in the sources", inputs)
    if start_year is not None:
        start = float(start_year)
    elif project.first_production_year is not None:
        start = float(project.first_production_year)
    else:
        return _not_computable(project, costs, "first_production_year not stated in the sources", inputs)
    inputs["start_year"] = start
    if ctx is None:
        return _not_computable(
            project, costs,
            f"no market data for {project.commodity_id} at stage group {project.stage_group}", inputs,
        )
    inputs["market"] = {
        "price_usd_per_t": ctx.price_usd_per_t,
        "joint_consumption_t": ctx.joint_consumption_t,
        "production_year": ctx.year,
        "provenance": dict(ctx.provenance),
        "supply": dict(ctx.supply),
    }
    if not (ctx.price_usd_per_t > 0 and math.isfinite(ctx.price_usd_per_t)):
        return _not_computable(project, costs, f"no reference price for {project.commodity_id}", inputs)
    try:
        cache = baseline_cache if baseline_cache is not None else {}
        if project.commodity_id not in cache:
            cache[project.commodity_id] = float(shortfall_model(project.commodity_id, None))
        es0 = cache[project.commodity_id]
        es1 = float(shortfall_model(project.commodity_id, {project.host_country_iso3: project.capacity_tpy}))
    except (ValueError, KeyError, LookupError) as exc:
        return _not_computable(project, costs, f"shortfall model: {exc}", inputs)
    try:
        hhi0 = calc_non_allied_hhi(ctx.production_t, ctx.allied, ctx.unattributed_t)
        q1 = dict(ctx.production_t)
        q1[project.host_country_iso3] = q1.get(project.host_country_iso3, 0.0) + project.capacity_tpy
        hhi1 = calc_non_allied_hhi(q1, ctx.allied, ctx.unattributed_t)
    except ValueError as exc:
        return _not_computable(project, costs, f"concentration: {exc}", inputs)
    d = calc_online_factor(start, params.base_year, params.horizon_year, params.discount_rate)
    v_s = d * (es0 - es1) * ctx.price_usd_per_t
    v_c = d * params.concentration_weight * (hhi0 - hhi1) * ctx.joint_consumption_t * ctx.price_usd_per_t
    value = v_s + v_c
    inputs.update(
        {
            "online_factor": d,
            "shortfall_base_t": es0,
            "shortfall_with_project_t": es1,
            "shortfall_reduction_t": es0 - es1,
            "hhi_non_allied_base": hhi0,
            "hhi_non_allied_with_project": hhi1,
            "hhi_non_allied_reduction": hhi0 - hhi1,
            "host_allied": project.host_country_iso3 in ctx.allied,
        }
    )
    total = sum(costs.values())
    usa, jpn = _usa_jpn(costs)
    if total <= 0:
        return ProjectScore(
            project.id, project.commodity_id, project.stage_group, project.host_country_iso3, False,
            "no financing request: no budget cost to score against",
            value, v_s, v_c, usa, jpn, None, inputs, costs,
        )
    return ProjectScore(
        project.id, project.commodity_id, project.stage_group, project.host_country_iso3, True, None,
        value, v_s, v_c, usa, jpn, value / total, inputs, costs,
    )


def score_projects(
    projects: Sequence[Project],
    contexts: Mapping[tuple[str, str], CommodityContext],
    shortfall_model: ShortfallModel,
    params: ScoreParams,
    factors: CostFactors,
) -> list[ProjectScore]:
    """Score many projects (sharing the baseline shortfall per commodity), best score first."""
    cache: dict[str, float] = {}
    out = [
        score_project(p, contexts.get((p.commodity_id, p.stage_group)), shortfall_model, params, factors, baseline_cache=cache)
        for p in projects
    ]
    return sorted(out, key=lambda s: (s.score_per_dollar is None, -(s.score_per_dollar or 0.0), s.project_id))
