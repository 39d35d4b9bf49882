"""Monthly price responses of one commodity over a multi-year timeline (for the price-floor model).

The Monte Carlo of :mod:`critmin.disruption.montecarlo` simulates one 12-month horizon per run
and reports the *mean* price change of the run. A multi-year contract needs the month-by-month
response, with restrictions lasting their full sampled duration. This module builds it from the
same hazard draws:

* path ``i``, contract year ``y`` (0-based) takes the events of Monte Carlo run
  ``r = i * years + y``: exactly the events of run ``r`` of
  ``sample_shortfalls(market, paths * years, random_state)`` (same hazard model, same random
  streams: :func:`critmin.disruption.hazard.sample_runs` with a 12-month horizon);
* an event with start month ``s`` (1..12) and duration ``d`` of that run is placed at contract
  months ``12 y + s .. 12 y + s + d - 1`` (truncated at the contract end), so a restriction that
  starts late in a year carries into the next ones instead of being cut at the year end;
* the whole timeline of a path is simulated by the engine (:func:`critmin.disruption.engine.
  simulate`) with one event slot per (hazard pair, contract year): overlapping restrictions on
  the same flow multiply (engine rule 2), and
  ``%dP_m = 100 * world shortfall_m / world demand_m / (eps_s - eps_d)`` (engine rule 6).

Known approximation: the engine ramps spare capacity from the first event of the simulated
horizon, so on a multi-year timeline spare capacity, once ramped up, stays available to later
restrictions of the same path. Spare capacity is ``disruption.spare_capacity`` (5 %) of the
unrestricting producers' output, so this lowers later shocks by at most that share of world
supply.

Years are independent draws of the hazard model (a time-homogeneous Poisson hazard has no memory);
as in the 12-month Monte Carlo, a (country, commodity, stage) pair has at most one new event a
year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from critmin import settings
from critmin.disruption.engine import compile_commodity, simulate
from critmin.disruption.hazard import HazardModel, build_hazard, sample_runs, seed_entropy
from critmin.disruption.market import Market
from critmin.disruption.montecarlo import build_model, pair_slots, run_batch, slot_draws
from critmin.disruption.params import ModelParams

#: upper bound on the elements of one engine array [run, month, importer, producer] per chunk
_CHUNK_ELEMENTS = 2_000_000


@dataclass(frozen=True)
class PriceChangePaths:
    """Monthly price changes ``price_change_pct[path, month]`` (percent, >= 0) of one commodity.

    ``event_months[path, month]`` counts the restrictions on the commodity active in the month
    (any stage); ``first_run`` is the Monte Carlo run of path 0, year 0 (0 for a fresh sample).
    """

    commodity: str
    years: int
    price_change_pct: np.ndarray
    event_months: np.ndarray
    seed: int
    pairs: tuple[str, ...]
    pair_rates: tuple[float, ...]
    notes: tuple[str, ...] = ()
    meta: dict = field(default_factory=dict)

    @property
    def paths(self) -> int:
        return int(self.price_change_pct.shape[0])


def timeline_events(cut: np.ndarray, start: np.ndarray, duration: np.ndarray, occurred: np.ndarray,
                    years: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Place per-year event draws ``[path * years, pair]`` (row ``i * years + y``) on a
    ``12 * years``-month timeline: returns ``[path, year * pair]`` arrays (slot ``y * H + h``)
    with start months shifted by ``12 y``."""
    n_rows, H = cut.shape
    if n_rows % years:
        raise ValueError(f"{n_rows} runs is not a multiple of {years} years")
    n = n_rows // years
    shift = (12 * np.arange(years))[None, :, None]

    def lay(a: np.ndarray) -> np.ndarray:
        return a.reshape(n, years, H).reshape(n, years * H)

    return (lay(cut), lay(start.reshape(n, years, H) + shift), lay(duration), lay(occurred))


def _simulate_timeline(comp, cut, start, duration, occurred, months: int) -> tuple[np.ndarray, np.ndarray]:
    n = cut.shape[0]
    pc = np.zeros((n, months))
    act = np.zeros((n, months), dtype=np.int64)
    rows = np.flatnonzero(occurred.any(axis=1))
    if len(rows) == 0:
        return pc, act
    t = np.arange(1, months + 1)
    per_run = months * len(comp.importers) * max(len(comp.producers), 1)
    step = max(1, _CHUNK_ELEMENTS // per_run)
    for a in range(0, len(rows), step):
        r = rows[a:a + step]
        res = simulate(comp, cut[r], start[r], duration[r], occurred[r], months)
        pc[r] = res.price_change_pct
        on = occurred[r][:, :, None] & (t[None, None, :] >= start[r][:, :, None]) & (
            t[None, None, :] < (start[r] + duration[r])[:, :, None])
        act[r] = on.sum(axis=1)
    return pc, act


def sample_price_change_paths(
    market: Market,
    commodity: str,
    paths: int,
    years: int,
    random_state: int | np.random.Generator,
    *,
    params: ModelParams | None = None,
    hazard: HazardModel | None = None,
) -> PriceChangePaths:
    """Monthly price changes of ``commodity`` on ``paths`` timelines of ``years`` years (module
    docstring). The hazard model is that of the whole ``market`` (as in
    :func:`critmin.disruption.api.sample_shortfalls`), so pass the full market, not a subset, to
    get the rates of ``critmin simulate --monte-carlo``."""
    if commodity not in market.commodities:
        raise KeyError(f"{commodity}: {market.not_computable.get(commodity, 'not in the disruption market')}")
    if paths < 1 or years < 1:
        raise ValueError(f"paths and years must be >= 1, got paths={paths}, years={years}")
    params = params or ModelParams.from_settings()
    hz = hazard or build_hazard(market)
    seed = seed_entropy(random_state)
    cols = np.array([h for h in range(hz.n_pairs) if hz.commodity[h] == commodity], dtype=np.int64)
    months = 12 * years
    labels = tuple(hz.labels()[h] for h in cols)
    rates = tuple(float(hz.rate[h]) for h in cols)
    if len(cols) == 0:
        z = np.zeros((paths, months))
        return PriceChangePaths(commodity, years, z, z.astype(np.int64), seed, labels, rates,
                                (f"{commodity}: no hazard pair (no producer above disruption.hazard.min_share "
                                 "and no recorded restriction): no disruption price shocks",))
    block = int(settings.get("disruption.mc.block_size"))
    slots = [sl for _ in range(years) for sl in pair_slots(hz, cols, market.consumers)]
    comp = compile_commodity(market.commodities[commodity], slots, params)
    # draw whole random-number blocks at a time (the draws cover every hazard pair of the market)
    chunk = (math.lcm(block, years) // years) * max(1, 4096 // math.lcm(block, years))
    pc = np.zeros((paths, months))
    act = np.zeros((paths, months), dtype=np.int64)
    for p0 in range(0, paths, chunk):
        n = min(chunk, paths - p0)
        ev = sample_runs(hz, seed, p0 * years, n * years, block, 12)
        cut, start, dur, occ = slot_draws(hz, ev, cols)
        lay = timeline_events(cut, start, dur, occ, years)
        pc[p0:p0 + n], act[p0:p0 + n] = _simulate_timeline(comp, *lay, months)
    return PriceChangePaths(commodity, years, pc, act, seed, labels, rates, tuple(dict.fromkeys(comp.slot_notes)),
                            {"supply_elasticity": params.supply_elasticity,
                             "demand_elasticity": params.demand_elasticity, "block_size": block})


def annual_price_changes(market: Market, commodity: str, runs: int, seed: int,
                         hazard: HazardModel | None = None, params: ModelParams | None = None) -> np.ndarray:
    """Mean price change ``[run]`` of ``commodity`` over a 12-month horizon for Monte Carlo runs
    ``0 .. runs - 1`` (what ``sample_shortfalls(market, runs, seed).price_change_pct`` holds for
    the commodity), simulated for this commodity alone with the hazard of the whole market."""
    hz = hazard or build_hazard(market)
    sub = Market(market.consumers, {commodity: market.commodities[commodity]}, market.year, {}, dict(market.meta))
    model = build_model(sub, 12, params, hazard=hz)
    step = model.block_size * 8
    out = [run_batch(model, seed, a, min(step, runs - a)).price_change_pct[:, 0] for a in range(0, runs, step)]
    return np.concatenate(out)
