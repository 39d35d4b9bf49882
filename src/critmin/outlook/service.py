"""The outlook workflow on the warehouse (one function per use case, called by the CLI and the web).

:func:`gap_inputs` gathers, for one commodity and stage, the demand of every scope and scenario
(:mod:`demand`), the secure base supply (:mod:`pipeline`), the projects' contributions and their
probabilities; :func:`compute_gaps` draws the pipeline once (common random numbers for every
scope and scenario) and summarises the gap (:mod:`gap`). :func:`outlook` and :func:`gap_table`
are the two reports (``critmin outlook``, ``critmin gap``).

Scopes: ``WORLD`` (all demand, all supply), each partner, and the partners together (label
``USA+JPN``): demand from the share method, secure supply = domestic + allied supply in
proportion to the scope's share of world demand (non-allied and unattributed supply excluded).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from critmin import settings
from critmin.data.partners import consumption_source
from critmin.data.partners import partners as configured_partners
from critmin.outlook import params  # noqa: F401  (registers the settings)
from critmin.outlook.demand import (
    SCENARIOS,
    DemandPath,
    check_scenario,
    partner_demand,
    world_demand,
)
from critmin.outlook.gap import GapSummary, calc_gap_paths, draw_outcomes, summarise
from critmin.outlook.pipeline import (
    STAGES,
    BaseSupply,
    PipelineProject,
    base_supply,
    check_stage,
    contributions,
    pipeline_projects,
)
from critmin.projects.models import Project

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

#: the six minerals with an IEA supply outlook (the IEA's own coverage)
IEA_SUPPLY_MINERALS = ("copper", "cobalt", "lithium", "nickel", "graphite", "rare_earths")
WORLD = "WORLD"


def years_range(first: int | None = None, last: int | None = None) -> np.ndarray:
    a = int(settings.get("outlook.first_year")) if first is None else int(first)
    b = int(settings.get("outlook.last_year")) if last is None else int(last)
    if not 2024 <= a <= b <= 2050:
        raise ValueError(f"years {a}-{b}: expected 2024 <= first <= last <= 2050")
    return np.arange(a, b + 1, dtype=np.int64)


def scopes(partner_codes: Sequence[str] | None = None) -> dict[str, tuple[str, ...]]:
    ps = tuple(partner_codes or configured_partners())
    out: dict[str, tuple[str, ...]] = {WORLD: ()}
    for p in ps:
        out[p] = (p,)
    if len(ps) > 1:
        out["+".join(ps)] = ps
    return out


@dataclass(frozen=True)
class PartnerShare:
    share: float
    note: str


NATIONAL_FILE = "national_demand.csv"


@lru_cache(maxsize=1)
def national_demand() -> dict[tuple[str, str], dict[str, str]]:
    """Curated national consumption with a like-for-like world figure
    (``outlook/data/national_demand.csv``; every row has both sources and an as-of date)."""
    text = resources.files("critmin.outlook").joinpath("data", NATIONAL_FILE).read_text(encoding="utf-8")
    out: dict[tuple[str, str], dict[str, str]] = {}
    for i, r in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        for col in ("consumption_t", "world_t"):
            try:
                if not float(r[col]) > 0:
                    raise ValueError
            except ValueError:
                raise ValueError(f"{NATIONAL_FILE} line {i}, column {col}: expected a positive number, got {r[col]!r}") from None
        for col in ("source", "world_source"):
            if "http" not in r[col]:
                raise ValueError(f"{NATIONAL_FILE} line {i}, column {col}: expected a source with a URL")
        r["line"] = str(i)
        out[(r["commodity_id"], r["partner"])] = r
    return out


def partner_shares(wh: Warehouse, commodity: str, partner_codes: Sequence[str]) -> dict[str, PartnerShare]:
    """``sigma_k = C_k / Q``: a curated national figure over its like-for-like world figure where
    ``national_demand.csv`` has one, else the disruption market's consumption over world
    production at the market stage (the market's year); :class:`LookupError` where neither."""
    from critmin.disruption.api import load_market

    m = load_market(wh, commodities=[commodity], consumers=list(partner_codes))
    cm = m.commodities.get(commodity)
    if cm is None:
        raise LookupError(f"{commodity}: no market for the partner shares: "
                          + m.not_computable.get(commodity, "not in the simulated market"))
    world = float(np.sum(cm.production_t))
    if not world > 0:
        raise LookupError(f"{commodity}: world production 0 t in the market; no partner share")
    out = {}
    for k in partner_codes:
        nat = national_demand().get((commodity, k))
        if nat is not None:
            c, w = float(nat["consumption_t"]), float(nat["world_t"])
            out[k] = PartnerShare(c / w, f"national figure: {k} {c:,.0f} {nat['consumption_basis']} ({nat['year']}) / world "
                                  f"{w:,.0f} {nat['world_basis']} ({NATIONAL_FILE} line {nat['line']}: {nat['source']}; "
                                  f"{nat['world_source']})")
            continue
        c = float(cm.demand_t[cm.consumers.index(k)])
        basis = consumption_source(k)
        out[k] = PartnerShare(min(c / world, 1.0), f"{k} consumption {c:,.0f} t / world {cm.stage} production "
                              f"{world:,.0f} t (disruption market, year {m.year or 'newest'}; consumption source "
                              f"{basis}" + ("; CHECK: net imports by trade weight can overstate a partner that imports "
                                            "ores and concentrates)" if basis == "trade" else ")"))
    return out


@dataclass
class GapInputs:
    commodity_id: str
    stage: str
    years: np.ndarray
    scopes: dict[str, tuple[str, ...]]
    demand: dict[tuple[str, str], DemandPath]
    supply: BaseSupply
    base: dict[tuple[str, str], np.ndarray]
    contrib: dict[tuple[str, str], np.ndarray]
    projects: list[PipelineProject]
    prob: np.ndarray
    shares: dict[str, PartnerShare]


def gap_inputs(wh: Warehouse, commodity: str, stage: str, years: np.ndarray, projects: Sequence[Project],
               scenarios: Sequence[str] = SCENARIOS, partner_codes: Sequence[str] | None = None,
               shares: dict[str, PartnerShare] | None = None) -> GapInputs:
    from critmin.risk.alliances import allied_iso3

    st = check_stage(stage)
    sc = scopes(partner_codes)
    ps = [k for k, v in sc.items() if len(v) == 1]
    allied = allied_iso3() | frozenset(ps)
    shares = shares if shares is not None else partner_shares(wh, commodity, ps)
    sup = base_supply(wh, commodity, st, years)
    pp, _ = pipeline_projects([p for p in projects if p.commodity_id == commodity])
    pp = [p for p in pp if p.stage == st]
    demand: dict[tuple[str, str], DemandPath] = {}
    base: dict[tuple[str, str], np.ndarray] = {}
    contrib: dict[tuple[str, str], np.ndarray] = {}
    for s in (check_scenario(x) for x in scenarios):
        w = world_demand(wh, commodity, s, years)
        demand[(WORLD, s)] = w
        for k in ps:
            demand[(k, s)] = partner_demand(w, k, shares[k].share, shares[k].note)
        for label, members in sc.items():
            if label not in (WORLD, *ps):
                parts = [demand[(k, s)] for k in members]
                by = {t: np.sum([d.by_technology.get(t, np.zeros(len(years))) for d in parts], axis=0)
                      for t in sorted({t for d in parts for t in d.by_technology})}
                demand[(label, s)] = DemandPath(commodity, s, label, years, by, w.basis,
                                                {t: "sum of " + ", ".join(members) for t in by}, w.flags)
            tot_w = w.total
            share = np.divide(demand[(label, s)].total, tot_w, out=np.zeros_like(tot_w), where=tot_w > 0)
            share = np.clip(share, 0.0, 1.0)
            base[(label, s)] = sup.secure(members, allied, share)
            contrib[(label, s)] = contributions(pp, years, members, allied, share)
    return GapInputs(commodity, st, years, sc, demand, sup, base, contrib, pp,
                     np.array([p.probability for p in pp], float), shares)


def compute_gaps(inp: GapInputs, n_draws: int, random_state: int | np.random.Generator,
                 ) -> dict[tuple[str, str], GapSummary]:
    """Every scope and scenario of one commodity and stage, from one set of pipeline draws."""
    x = draw_outcomes(len(inp.projects), n_draws, inp.prob, random_state)
    out = {}
    for key, d in inp.demand.items():
        dem, b, c = d.total, inp.base[key], inp.contrib[key]
        out[key] = summarise(dem, b, c, inp.prob, calc_gap_paths(dem, b, c, x))
    return out


#: (commodity, stage) -> a caution on the comparison itself
CAUTIONS = {
    ("graphite", "mine"): "graphite_demand_includes_synthetic: the IEA's demand is all graphite, its mine supply natural "
                          "graphite only; most of this gap is synthetic graphite (from coke), not a mining gap",
}


def _rows(inp: GapInputs, res: dict[tuple[str, str], GapSummary], year: int | None = None) -> list[dict[str, Any]]:
    rows = []
    caution = CAUTIONS.get((inp.commodity_id, inp.stage))
    for (label, s), g in res.items():
        d = inp.demand[(label, s)]
        flags = sorted(set(d.flags) | set(inp.supply.flags)) + ([caution] if caution else [])
        flags += [f"share_check:{k}: {inp.shares[k].note}" for k in inp.scopes.get(label, ())
                  if k in inp.shares and "CHECK" in inp.shares[k].note]
        for i, y in enumerate(inp.years):
            if year is not None and int(y) != year:
                continue
            dem = float(d.total[i])
            rows.append({
                "commodity": inp.commodity_id, "stage": inp.stage, "scope": label, "scenario": s, "year": int(y),
                "demand_t": dem, "secure_base_t": float(inp.base[(label, s)][i]),
                "expected_added_t": float(g.expected_added[i]), "gap_without_projects_t": float(g.without_projects[i]),
                "expected_gap_t": float(g.expected[i]), "gap_p05_t": float(g.p05[i]), "gap_p95_t": float(g.p95[i]),
                "gap_all_projects_t": float(g.all_projects[i]),
                "expected_gap_share": float(g.expected[i] / dem) if dem > 0 else None,
                "flags": flags,
            })
    return rows


def loss_per_t(wh: Warehouse, commodity: str, partners: Sequence[str]) -> tuple[float, tuple[str, ...]]:
    """Loss per tonne of the partners' shortfall: the economic-impact model's
    (:func:`critmin.impact.damage_table`), weighted by the partners' consumption (flag
    ``damage_from_impact``); else the market price (flag ``damage_at_market_price``); NaN where
    neither exists."""
    import math

    try:
        from critmin.impact import damage_table

        dt_ = damage_table(wh, list(partners))
        rows = dt_[dt_["commodity_id"] == commodity]
        w = rows["consumption_t"].astype(float)
        if len(rows) and float(w.sum()) > 0 and rows["loss_per_t"].notna().all():
            return float((rows["loss_per_t"] * w).sum() / w.sum()), ("damage_from_impact",)
        if len(rows):
            return float(rows["price"].iloc[0]), ("damage_at_market_price",)
    except (ImportError, ValueError, KeyError, LookupError):
        pass
    from critmin.disruption.api import load_market

    m = load_market(wh, commodities=[commodity])
    cm = m.commodities.get(commodity)
    price = float(cm.price_usd_per_t) if cm is not None else math.nan
    return price, ("damage_at_market_price",)


def _draw_settings(n_draws: int | None, random_state: int | None) -> tuple[int, int]:
    n = int(settings.get("outlook.draws")) if n_draws is None else int(n_draws)
    seed = int(settings.get("outlook.random_state")) if random_state is None else int(random_state)
    return n, seed


def outlook(wh: Warehouse, commodity: str, stage: str, scenario: str, projects: Sequence[Project], *,
            to_year: int | None = None, n_draws: int | None = None, random_state: int | None = None) -> dict[str, Any]:
    """The outlook of one commodity and stage: demand by technology (world and partners, every
    scenario), supply by country, the pipeline's projects and the gap band."""
    years = years_range(2024, to_year)
    n, seed = _draw_settings(n_draws, random_state)
    s = check_scenario(scenario)
    try:
        inp = gap_inputs(wh, commodity, stage, years, projects)
    except LookupError as exc:
        if commodity in IEA_SUPPLY_MINERALS:
            raise
        return _demand_only(wh, commodity, check_stage(stage), s, years, n, seed, str(exc))
    res = compute_gaps(inp, n, seed)
    _, left = pipeline_projects([p for p in projects if p.commodity_id == commodity])
    return {
        "commodity": commodity, "stage": inp.stage, "scenario": s, "years": [int(y) for y in years],
        "draws": n, "random_state": seed,
        "demand": {f"{lab}|{sc}": _demand_json(d) for (lab, sc), d in inp.demand.items()},
        "supply": {"product": inp.supply.product, "flags": list(inp.supply.flags),
                   "world": [float(v) for v in inp.supply.world],
                   "by_country": {k: [float(v) for v in vals] for k, vals in inp.supply.by_country.items()},
                   "sources": inp.supply.sources},
        "projects": [{"project": p.project_id, "host": p.host_iso3, "capacity_t": p.capacity_t, "start_year": p.start_year,
                      "probability": p.probability, "development_stage": p.development_stage,
                      "value_chain_stage": p.value_chain_stage, "capacity_product": p.capacity_product,
                      "basis": p.basis} for p in inp.projects],
        "projects_not_in_pipeline": [e for e in left if not any(e["project"] == p.project_id for p in inp.projects)],
        "gap": _rows(inp, res),
        "not_computable": [],
    }


def _demand_json(d: DemandPath) -> dict[str, Any]:
    return {"by_technology": {t: [float(v) for v in vals] for t, vals in d.by_technology.items()},
            "total": [float(v) for v in d.total], "basis": d.basis, "flags": list(d.flags), "sources": d.sources,
            "share": d.share, "share_note": d.share_note, "driver_notes": list(d.drivers)}


def _demand_only(wh: Warehouse, commodity: str, stage: str, scenario: str, years: np.ndarray, n: int, seed: int,
                 why: str) -> dict[str, Any]:
    """A commodity without an IEA supply outlook: its IEA (clean-technology) demand and drivers,
    the partners' share of it where a share can be computed, and the gap as not computable."""
    demand: dict[str, Any] = {}
    notes = [f"gap not computable: {why}"]
    ps = [k for k, v in scopes().items() if len(v) == 1]
    try:
        shares: dict[str, PartnerShare] | None = partner_shares(wh, commodity, ps)
    except LookupError as exc:
        shares = None
        notes.append(f"partner demand not computable: {exc}")
    for sc in SCENARIOS:
        w = world_demand(wh, commodity, sc, years)
        demand[f"{WORLD}|{sc}"] = _demand_json(w)
        for k in ps if shares else ():
            assert shares is not None
            demand[f"{k}|{sc}"] = _demand_json(partner_demand(w, k, shares[k].share, shares[k].note))
    return {"commodity": commodity, "stage": stage, "scenario": scenario, "years": [int(y) for y in years],
            "draws": n, "random_state": seed, "demand": demand, "supply": None, "projects": [],
            "projects_not_in_pipeline": [], "gap": [], "not_computable": notes}


def gap_table(wh: Warehouse, projects: Sequence[Project], *, commodities: Sequence[str] | None = None,
              stages: Sequence[str] = STAGES, scenarios: Sequence[str] = SCENARIOS, year: int | None = None,
              years: np.ndarray | None = None, partner_codes: Sequence[str] | None = None,
              n_draws: int | None = None, random_state: int | None = None) -> dict[str, Any]:
    """The gap of every commodity with an IEA supply outlook and every stage (rows), and what
    could not be computed (``not_computable``)."""
    yrs = years if years is not None else years_range()
    if year is not None and int(year) not in set(int(y) for y in yrs):
        raise ValueError(f"year {year}: expected one of {int(yrs[0])}-{int(yrs[-1])}")
    n, seed = _draw_settings(n_draws, random_state)
    rows: list[dict[str, Any]] = []
    missing: list[dict[str, str]] = []
    for i, c in enumerate(commodities or IEA_SUPPLY_MINERALS):
        try:
            ps = [k for k, v in scopes(partner_codes).items() if len(v) == 1]
            sh = partner_shares(wh, c, ps)
        except LookupError as exc:
            missing.append({"commodity": c, "reason": str(exc)})
            continue
        for j, st in enumerate(stages):
            try:
                inp = gap_inputs(wh, c, st, yrs, projects, scenarios, partner_codes, sh)
            except LookupError as exc:
                missing.append({"commodity": c, "stage": st, "reason": str(exc)})
                continue
            res = compute_gaps(inp, n, np.random.default_rng([seed, i, j]))
            loss, lflags = loss_per_t(wh, c, ps)
            for r in _rows(inp, res, year):
                ok = r["scope"] != WORLD and loss == loss  # NaN-safe
                r["loss_per_t"] = loss if ok else None
                r["expected_gap_value_usd"] = r["expected_gap_t"] * loss if ok else None
                if ok:
                    r["flags"] = [*r["flags"], *lflags]
                rows.append(r)
    label = [k for k, v in scopes(partner_codes).items() if v][-1]  # the partners together (or the one partner)
    prio = sorted((r for r in rows if r["scope"] == label and r["expected_gap_value_usd"] is not None),
                  key=lambda r: -r["expected_gap_value_usd"])
    return {"rows": rows, "not_computable": missing, "draws": n, "random_state": seed,
            "years": [int(y) for y in yrs] if year is None else [int(year)],
            "priorities": [{k: r[k] for k in ("commodity", "stage", "scenario", "year", "expected_gap_t", "loss_per_t",
                                              "expected_gap_value_usd", "flags")} for r in prio]}


__all__ = ["CAUTIONS", "IEA_SUPPLY_MINERALS", "WORLD", "GapInputs", "PartnerShare", "compute_gaps", "gap_inputs", "gap_table",
           "loss_per_t", "outlook", "partner_shares", "scopes", "years_range"]
