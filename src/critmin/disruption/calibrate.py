"""Calibration of the price response against observed episodes, and the leave-one-out back-test
(issue 14 §4; method and result in ``docs/disruption.md``, "Calibration and back-test").

**Episodes** (``data/episodes.toml``): one commodity in one calendar year with the events of the
curated event table in force that year (and China's rare-earth quota increases, sourced), in the
scenario event format, month 1 = January.

**Observed** price change of episode i (from the warehouse, never written down):
``y_i = P(year) / P(year - 1) - 1`` with P the USGS MCS salient annual price
(``Warehouse.prices_annual``, newest release per series and year; the median of the ratios over
the commodity's series with both years), else the World Bank Pink Sheet monthly series (annual
means of 12 months). An episode without either is *left out*, with the reason.

**Simulated shortage**: the episode's scenario on today's market (``load_market``), the monthly
net shortage fraction ``s_im`` of the pool the US buys in (the restricted pool in months a
restriction targets the US, else the open pool, which is the world without targeted events).
It is recovered from the engine's linear price response run with a large ``ε_s - ε_d`` (the
quantities do not depend on prices), so the -100 % floor never truncates it.

**Price response** (constant elasticities, Fally & Sayre 2018): ``ln(P1/P0) = θ_g · s`` per
month, ``θ_g = 1/(ε_s - ε_d)`` of commodity group g; the annual change is the mean over the 12
months of ``exp(θ_g s_im) - 1``. The engine's uncalibrated default is ``θ0 = 1/(0.1 + 0.1) = 5``
applied linearly (``100 · θ0 · s``).

**Fit** (``scipy.optimize.least_squares``, log residuals, θ > 0): the pooled θ minimises
``Σ_i (ln(1 + ŷ_i(θ)) - ln(1 + y_i))² + w² (ln θ - ln θ0)²`` over the episodes used; a group's
θ_g the same over its own episodes with the prior centred on the pooled θ instead of θ0
(partial pooling; ``w`` = setting ``disruption.calibration.prior_weight``).

**Leave-one-out**: episode i is scored with θ_g fitted on every episode except i (pooled and
group alike), so no episode is scored by a model fitted to it.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from critmin import settings
from critmin.disruption import params as _params  # noqa: F401  (registers the disruption settings)

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

EPISODES_TOML = Path(__file__).parent / "data" / "episodes.toml"

#: setting: weight of the log-prior residual (registered in :mod:`critmin.disruption.params`)
PRIOR_WEIGHT = "disruption.calibration.prior_weight"
#: ε_s - ε_d used to read the net shortage off the engine's linear price response unfloored
_PROBE_SPREAD = 1e6


@dataclass(frozen=True)
class Episode:
    id: str
    commodity: str
    group: str
    year: int
    description: str
    events: tuple[dict[str, Any], ...]
    sources: tuple[dict[str, Any], ...] = ()
    cut_note: str = ""


def load_episodes(path: str | Path = EPISODES_TOML) -> list[Episode]:
    """The episode table; errors name the file and the episode."""
    p = Path(path)
    doc = tomllib.loads(p.read_text(encoding="utf-8"))
    out = []
    for i, e in enumerate(doc.get("episodes", [])):
        where = f"{p.name}: episodes[{i}]"
        for k in ("id", "commodity", "group", "year", "description", "events"):
            if k not in e:
                raise ValueError(f"{where}: {k}: required field is missing")
        for j, ev in enumerate(e["events"]):
            if "event_id" not in ev:
                raise ValueError(f"{where}.events[{j}]: event_id: required (the row of export_restrictions.csv "
                                 "or a sourced supply addition)")
        out.append(Episode(str(e["id"]), str(e["commodity"]), str(e["group"]), int(e["year"]), str(e["description"]),
                           tuple(e["events"]), tuple(e.get("sources", ())), str(e.get("cut_note", ""))))
    return out


def observed_change(wh: Warehouse, commodity: str, year: int) -> tuple[float | None, str]:
    """(P(year)/P(year-1) - 1, how) from the warehouse, or (None, why not)."""
    ann = wh.prices_annual()
    a = ann[(ann["commodity_id"] == commodity) & ann["year"].isin([year - 1, year])]
    ratios = {}
    for series, g in a.groupby("series"):
        by = dict(zip(g["year"].astype(int), g["quantity"].astype(float), strict=True))
        if year - 1 in by and year in by and by[year - 1] > 0:
            ratios[str(series)] = by[year] / by[year - 1]
    if ratios:
        med = float(np.median(list(ratios.values())))
        return med - 1.0, (f"USGS MCS salient prices {year - 1} -> {year}, median of {len(ratios)} series "
                           f"({', '.join(sorted(ratios))})")
    mp = wh.prices(commodity=commodity, start=f"{year - 1}-01-01", end=f"{year}-12-31")
    mp = mp[mp["frequency"] == "M"]
    for series, g in mp.groupby("series"):
        yr = g["date"].astype("datetime64[ns]").dt.year
        n0, n1 = int((yr == year - 1).sum()), int((yr == year).sum())
        if n0 == 12 and n1 == 12:
            p0, p1 = float(g.loc[yr == year - 1, "quantity"].mean()), float(g.loc[yr == year, "quantity"].mean())
            if p0 > 0:
                return p1 / p0 - 1.0, f"World Bank Pink Sheet {series}, annual means of monthly prices {year - 1} -> {year}"
    return None, f"no {commodity} price for both {year - 1} and {year} in the warehouse (MCS salient or Pink Sheet)"


def simulated_shortage(wh: Warehouse, ep: Episode, consumer: str = "USA") -> tuple[np.ndarray, list[str]]:
    """Monthly net shortage fraction ``[12]`` of the pool ``consumer`` buys in, and the notes."""
    from critmin.disruption.api import load_market
    from critmin.disruption.deterministic import run_scenario
    from critmin.disruption.params import ModelParams
    from critmin.disruption.scenario import parse_scenario

    evs = [{k: v for k, v in e.items() if k != "event_id"} for e in ep.events]
    probe = {"supply_elasticity": _PROBE_SPREAD / 2, "demand_elasticity": -_PROBE_SPREAD / 2}
    sc = parse_scenario({"name": ep.id, "events": evs, "overrides": probe}, f"{EPISODES_TOML.name}: {ep.id}")
    log_form = ModelParams.from_settings(probe).theta_for(ep.commodity) is not None
    market = load_market(wh, [ep.commodity], tuple(sc.consumers))
    out = run_scenario(market, sc)
    res = out.results[ep.commodity]
    k = res.importers.index(consumer)
    restricted = bool(res.price_restricted_pct is not None and any(
        e.targets and consumer in e.targets for e in sc.events if e.kind == "export_restriction"))
    dp = res.price_restricted_pct if restricted else res.price_open_pct
    if dp is None:
        dp = res.price_change_pct
    _ = k
    x = np.asarray(dp[0], dtype=float) / 100.0
    s = np.log1p(x) * _PROBE_SPREAD if log_form else x * _PROBE_SPREAD  # invert the response exactly
    return s, list(out.notes.get(ep.commodity, ()))


def calc_annual_change(theta: float, s: np.ndarray) -> float:
    """Mean over the months of ``exp(θ s_m) - 1``: the annual mean price change (fraction)."""
    return float(np.mean(np.expm1(theta * np.asarray(s))))


def fit_theta(shortages: list[np.ndarray], observed: list[float], prior: float, weight: float) -> float:
    """θ minimising the log residuals plus the log-prior residual (module docstring)."""
    from scipy.optimize import least_squares

    y = np.log1p(np.asarray(observed, dtype=float))

    def resid(x: np.ndarray) -> np.ndarray:
        th = math.exp(float(x[0]))
        pred = np.array([math.log1p(max(calc_annual_change(th, s), -0.999999)) for s in shortages])
        return np.concatenate([pred - y, [weight * (float(x[0]) - math.log(prior))]])

    sol = least_squares(resid, x0=[math.log(prior)], bounds=([math.log(1e-3)], [math.log(1e3)]))
    return math.exp(float(sol.x[0]))


@dataclass
class Backtest:
    """The back-test table (``rows``), the full-sample fit (``theta``, per group and pooled),
    the episodes left out and the score."""

    rows: list[dict[str, Any]]
    theta: dict[str, float]
    theta0: float
    left_out: list[dict[str, str]]
    summary: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"method": "leave-one-out; ln(P1/P0) = theta_g * s per month, scipy least_squares (docs/disruption.md)",
                "theta0": self.theta0, "theta_full_sample": self.theta, "prior_weight": float(settings.get(PRIOR_WEIGHT)),
                "episodes": self.rows, "left_out": self.left_out, "summary": self.summary}


def _fit_group(i_out: int | None, used: list[dict[str, Any]], group: str | None, theta0: float, w: float) -> float:
    rest = [r for j, r in enumerate(used) if j != i_out]
    pooled = fit_theta([r["_s"] for r in rest], [r["_y"] for r in rest], theta0, w) if rest else theta0
    if group is None:
        return pooled
    mine = [r for r in rest if r["group"] == group]
    if not mine:
        return pooled
    return fit_theta([r["_s"] for r in mine], [r["_y"] for r in mine], pooled, w)


def backtest(wh: Warehouse, episodes: list[Episode] | None = None) -> Backtest:
    """Leave-one-out back-test of the calibrated price response on the warehouse."""
    from critmin.disruption.params import ModelParams

    eps = load_episodes() if episodes is None else episodes
    p = ModelParams.from_settings()
    theta0 = 1.0 / (p.supply_elasticity - p.demand_elasticity)
    w = float(settings.get(PRIOR_WEIGHT))
    used: list[dict[str, Any]] = []
    left: list[dict[str, str]] = []
    for ep in eps:
        obs, how = observed_change(wh, ep.commodity, ep.year)
        if obs is None:
            left.append({"episode": ep.id, "commodity": ep.commodity, "year": str(ep.year), "reason": how})
            continue
        try:
            s, notes = simulated_shortage(wh, ep)
        except (KeyError, LookupError, ValueError) as e:
            left.append({"episode": ep.id, "commodity": ep.commodity, "year": str(ep.year),
                         "reason": f"not simulable: {e}"})
            continue
        used.append({"episode": ep.id, "commodity": ep.commodity, "group": ep.group, "year": ep.year,
                     "observed_pct": 100.0 * obs, "observed_from": how, "_s": s, "_y": obs,
                     "mean_net_shortage_pct": 100.0 * float(np.mean(s)), "notes": notes,
                     "events": sorted({str(e["event_id"]) for e in ep.events})})
    rows = []
    for i, r in enumerate(used):
        th = _fit_group(i, used, r["group"], theta0, w)
        sim = 100.0 * calc_annual_change(th, r["_s"])
        default = float(np.mean(np.maximum(100.0 * theta0 * r["_s"], -100.0)))
        obs = r["observed_pct"]
        direction = (sim > 0) == (obs > 0) if abs(obs) > 0 else abs(sim) < 1e-9
        ratio = sim / obs if obs != 0 else math.inf
        rows.append({**{k: v for k, v in r.items() if not k.startswith("_")},
                     "theta_loo": th, "simulated_loo_pct": sim, "simulated_default_pct": default,
                     "direction_right": bool(direction), "within_2x": bool(direction and 0.5 <= ratio <= 2.0)})
    groups = sorted({r["group"] for r in used})
    theta = {"pooled": _fit_group(None, used, None, theta0, w)} if used else {}
    theta.update({g: _fit_group(None, used, g, theta0, w) for g in groups})
    n = len(rows)
    summary = {"episodes_scored": n, "direction_right": sum(r["direction_right"] for r in rows),
               "within_2x": sum(r["within_2x"] for r in rows), "left_out": len(left),
               "goal": "direction right for every episode; magnitude within 2x for at least 3/4",
               "goal_met": bool(n and all(r["direction_right"] for r in rows)
                                and sum(r["within_2x"] for r in rows) >= 0.75 * n)}
    return Backtest(rows, theta, theta0, left, summary)


def markdown_table(bt: Backtest) -> str:
    """The back-test table as it stands in docs/disruption.md (between the backtest markers)."""
    lines = ["| episode | group | observed % | simulated (LOO) % | default engine % | θ (LOO) | direction | within 2× |",
             "|---|---|---:|---:|---:|---:|---|---|"]
    for r in bt.rows:
        lines.append(f"| {r['episode']} | {r['group']} | {r['observed_pct']:+.1f} | {r['simulated_loo_pct']:+.1f} | "
                     f"{r['simulated_default_pct']:+.1f} | {r['theta_loo']:.2f} | "
                     f"{'right' if r['direction_right'] else 'WRONG'} | {'yes' if r['within_2x'] else 'no'} |")
    s = bt.summary
    lines.append("")
    lines.append(f"Scored {s['episodes_scored']} episodes: direction right {s['direction_right']}/{s['episodes_scored']}, "
                 f"within 2× {s['within_2x']}/{s['episodes_scored']}; goal met: {'yes' if s['goal_met'] else 'no'}. "
                 f"Full-sample θ: " + ", ".join(f"{g} {v:.2f}" for g, v in bt.theta.items()) + f" (θ0 = {bt.theta0:.2f}).")
    lines.append("Left out: " + ("; ".join(f"{x['episode']} ({x['reason']})" for x in bt.left_out) or "none") + ".")
    return "\n".join(lines)
