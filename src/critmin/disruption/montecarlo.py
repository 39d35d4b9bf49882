"""Monte Carlo over the hazard model: batches of runs, locally or on a Dask cluster.

A batch is a whole number of random-number blocks (``disruption.mc.block_size``), each with its
own ``SeedSequence`` stream, and every run is simulated independently of the others in its
batch (element-wise numpy, reductions only along non-run axes), so results are bit-for-bit the
same for any batch size or worker count. Summary statistics are computed once, on the full
``[run, commodity, consumer]`` arrays, in the client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

import numpy as np

from critmin import settings
from critmin.disruption.engine import CompiledCommodity, Slot, compile_commodity, simulate
from critmin.disruption.hazard import (
    EventDraws,
    HazardModel,
    build_hazard,
    sample_runs,
    seed_entropy,
)
from critmin.disruption.market import Market
from critmin.disruption.params import ModelParams

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MCModel:
    """Everything a worker needs: compiled commodities, hazard pairs and their columns."""

    commodities: tuple[str, ...]
    consumers: tuple[str, ...]
    compiled: tuple[CompiledCommodity, ...]
    columns: tuple[np.ndarray, ...]  # per commodity: hazard-pair indices (slots)
    hazard: HazardModel
    horizon: int
    block_size: int


def pair_slots(hz: HazardModel, idx: np.ndarray, consumers: tuple[str, ...]) -> list[Slot]:
    """The engine slots of hazard pairs ``idx``: per pair one slot aimed at all importers and,
    when the hazard samples targeted events, one aimed at each consumer (in that order);
    :func:`slot_draws` puts each sampled event in exactly one of them."""
    aims: list[tuple[str, ...] | None] = [None]
    if hz.targeted_share > 0:
        aims += [(c,) for c in consumers]
    return [Slot(hz.country[h], hz.stage[h], a) for h in idx for a in aims]


def slot_draws(hz: HazardModel, ev: EventDraws, cols: np.ndarray, rows: np.ndarray | slice = slice(None)
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(cut, start, duration, declared) ``[run, slot]`` for the slots of :func:`pair_slots`."""
    ix = np.ix_(np.arange(ev.cut.shape[0])[rows], cols)
    cut, start, dur, occ = ev.cut[ix], ev.start[ix], ev.duration[ix], ev.occurred[ix]
    if hz.targeted_share <= 0:
        return cut, start, dur, occ
    tgt = ev.target[ix] if ev.target is not None else np.full(cut.shape, -1)
    aims = np.arange(-1, hz.n_consumers)  # slot j of a pair: aim j - 1 (-1 = all importers)
    on = tgt[:, :, None] == aims[None, None, :]
    n, H, A = on.shape

    def flat(a: np.ndarray) -> np.ndarray:
        return a.reshape(n, H * A)

    return (flat(np.where(on, cut[:, :, None], 0.0)), flat(np.repeat(start[:, :, None], A, axis=2)),
            flat(np.repeat(dur[:, :, None], A, axis=2)), flat(on & occ[:, :, None]))


def build_model(market: Market, horizon: int = 12, params: ModelParams | None = None,
                hazard: HazardModel | None = None) -> MCModel:
    params = params or ModelParams.from_settings()
    hz = hazard or build_hazard(market)
    comps, cols = [], []
    for cid, cm in market.commodities.items():
        idx = np.array([h for h in range(hz.n_pairs) if hz.commodity[h] == cid], dtype=np.int64)
        slots = pair_slots(hz, idx, market.consumers)
        comps.append(compile_commodity(cm, slots, params))
        cols.append(idx)
    return MCModel(market.commodity_ids, market.consumers, tuple(comps), tuple(cols), hz, int(horizon),
                   int(settings.get("disruption.mc.block_size")))


@dataclass(frozen=True)
class BatchResult:
    first_run: int
    shortfall_t: np.ndarray  # [run, commodity, consumer] over the horizon
    price_change_pct: np.ndarray  # [run, commodity] mean over months
    occurred: np.ndarray  # [run, pair]


def run_batch(model: MCModel, seed: int, first_run: int, n_runs: int) -> BatchResult:
    """Sample and simulate runs ``first_run .. first_run + n_runs - 1`` (pure given its inputs)."""
    ev = sample_runs(model.hazard, seed, first_run, n_runs, model.block_size, model.horizon)
    K, C = len(model.consumers), len(model.commodities)
    short = np.zeros((n_runs, C, K))
    price = np.zeros((n_runs, C))
    for c, (comp, cols) in enumerate(zip(model.compiled, model.columns, strict=True)):
        if len(cols) == 0:
            continue
        occ = ev.occurred[:, cols]
        rows = np.flatnonzero(occ.any(axis=1))
        if len(rows) == 0:
            continue
        res = simulate(comp, *slot_draws(model.hazard, ev, cols, rows), model.horizon)
        short[rows, c, :] = res.shortfall[:, :, :K].sum(axis=1)
        price[rows, c] = res.price_change_pct.mean(axis=1)
    return BatchResult(first_run, short, price, ev.occurred)


@dataclass
class MCResult:
    """All runs (``[run, ...]`` arrays) plus what is needed to summarise and store them."""

    seed: int
    runs: int
    horizon: int
    commodities: tuple[str, ...]
    consumers: tuple[str, ...]
    shortfall_t: np.ndarray
    price_change_pct: np.ndarray
    occurred: np.ndarray
    pair_labels: tuple[str, ...]
    pair_commodity: np.ndarray  # [pair] commodity index
    consumption_t: np.ndarray  # [commodity, consumer] over the horizon
    meta: dict = field(default_factory=dict)


def _batches(runs: int, batch_runs: int, block: int) -> list[tuple[int, int]]:
    size = max(block, (batch_runs // block) * block)
    return [(s, min(size, runs - s)) for s in range(0, runs, size)]


def run_monte_carlo(
    market: Market,
    runs: int,
    random_state: int | np.random.Generator,
    horizon: int = 12,
    *,
    params: ModelParams | None = None,
    batch_runs: int | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MCResult:
    """Run ``runs`` Monte Carlo runs; locally, on ``scheduler`` (``tcp://host:port``) or on a
    LocalCluster with ``workers`` workers. ``progress(done_runs, runs)`` is called per batch."""
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    if scheduler and workers:
        raise ValueError("give either scheduler or workers, not both")
    seed = seed_entropy(random_state)
    model = build_model(market, horizon, params)
    batches = _batches(runs, int(batch_runs or settings.get("disruption.mc.batch_runs")), model.block_size)
    results: list[BatchResult] = []
    if scheduler or workers:
        results = _run_dask(model, seed, batches, scheduler, workers, progress, runs)
    else:
        done = 0
        for first, n in batches:
            results.append(run_batch(model, seed, first, n))
            done += n
            if progress:
                progress(done, runs)
    results.sort(key=lambda r: r.first_run)
    pc = np.zeros(model.hazard.n_pairs, dtype=np.int64)
    for c, cols in enumerate(model.columns):
        pc[cols] = c
    t = np.arange(horizon)
    # each commodity with its own demand growth (IEA scenario or setting)
    cons = np.array([comp.demand[: len(market.consumers)] * ((1.0 + comp.growth) ** (t / 12.0) / 12.0).sum()
                     for comp in model.compiled])
    return MCResult(
        seed=seed,
        runs=runs,
        horizon=horizon,
        commodities=model.commodities,
        consumers=model.consumers,
        shortfall_t=np.concatenate([r.shortfall_t for r in results]),
        price_change_pct=np.concatenate([r.price_change_pct for r in results]),
        occurred=np.concatenate([r.occurred for r in results]),
        pair_labels=tuple(model.hazard.labels()),
        pair_commodity=pc,
        consumption_t=cons.reshape(len(model.commodities), len(model.consumers)),
        meta={"hazard_missing_wgi": list(model.hazard.missing_wgi), "block_size": model.block_size},
    )


def _run_dask(model, seed, batches, scheduler, workers, progress, runs) -> list[BatchResult]:
    from dask.distributed import Client, LocalCluster, as_completed

    with ExitStack() as stack:
        if scheduler:
            client = stack.enter_context(Client(scheduler))
        else:
            cluster = stack.enter_context(
                LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=False,
                             dashboard_address=None)
            )
            client = stack.enter_context(Client(cluster))
        fmodel = client.scatter(model, broadcast=True)
        futs = [client.submit(run_batch, fmodel, seed, f, n, pure=False) for f, n in batches]
        out, done = [], 0
        for fut in as_completed(futs):
            r = fut.result()
            out.append(r)
            done += len(r.shortfall_t)
            if progress:
                progress(done, runs)
        return out
