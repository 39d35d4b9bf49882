"""Public API of the disruption capability (used by stockpile, projects and markets).

* :func:`load_market` - the simulator's warehouse inputs;
* :func:`sample_shortfalls` - Monte Carlo over the hazard model -> :class:`ShortfallSample`;
* :func:`load_run` - a stored Monte Carlo run -> :class:`ShortfallSample`;
* :func:`expected_joint_shortfall` - expected annual US+JPN shortfall with extra capacity;
* :func:`run_for_partners` - one scenario (a curated event id, a TOML file or a Scenario) for
  both partners: monthly shortfall t / % / US$ and the open and restricted pool prices (the
  incident workflow, issue 15); :func:`scenario_from_event` - an event of the table as a Scenario;
* :func:`price_change_paths` / :func:`load_run_price_change_paths` - monthly price responses of
  one commodity over a multi-year timeline, from fresh or stored Monte Carlo runs (for the
  price-floor model; mapping in :mod:`critmin.disruption.pricepaths`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from critmin.disruption.hazard import build_hazard, seed_entropy
from critmin.disruption.market import CommodityMarket, Market
from critmin.disruption.montecarlo import MCResult, build_model, run_batch, run_monte_carlo
from critmin.disruption.params import ModelParams
from critmin.disruption.partners_run import PartnerRun, run_for_partners, scenario_from_event
from critmin.disruption.pricepaths import (
    PriceChangePaths,
    annual_price_changes,
    sample_price_change_paths,
)
from critmin.disruption.sample import ShortfallSample

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

__all__ = ["load_market", "sample_shortfalls", "load_run", "expected_joint_shortfall", "sample_from_result",
           "price_change_paths", "load_run_price_change_paths", "PriceChangePaths",
           "run_for_partners", "scenario_from_event", "PartnerRun"]


def load_market(wh: Warehouse, commodities: Sequence[str] | None = None,
                consumers: Sequence[str] | None = None, year: int | None = None, *,
                cache: bool = True) -> Market:
    """Build the simulator's market from the warehouse (see ``critmin.disruption.inputs``).

    ``consumers`` default to the partners (setting ``risk.consumers``). With ``cache``
    (default) the warehouse rows are cached per warehouse contents (``Warehouse.fingerprint()``),
    so repeated calls on an unchanged warehouse are cheap."""
    from critmin.disruption.inputs import market_from_warehouse

    return market_from_warehouse(wh, commodities=commodities, consumers=consumers, year=year, cache=cache)


def sample_from_result(market: Market, res: MCResult, run_id: str | None = None) -> ShortfallSample:
    """Annualised Monte Carlo output as the hand-over format (equal weights)."""
    scale = 12.0 / res.horizon
    prices = np.array([market.commodities[c].price_usd_per_t for c in res.commodities])
    return ShortfallSample(
        commodities=res.commodities,
        consumers=res.consumers,
        shortfall_t=res.shortfall_t * scale,
        consumption_t=res.consumption_t * scale,
        price_usd_per_t=prices,
        price_change_pct=res.price_change_pct,
        weights=np.full(res.runs, 1.0 / res.runs),
        run_id=run_id,
        seed=res.seed,
        meta={
            "horizon_months": res.horizon,
            "price_missing": [c for c, p in zip(res.commodities, prices, strict=True) if not np.isfinite(p)],
            **res.meta,
        },
    )


def sample_shortfalls(market: Market, runs: int, random_state: int | np.random.Generator,
                      horizon_months: int = 12) -> ShortfallSample:
    """Monte Carlo over the hazard model: annual shortfall per run x commodity x consumer."""
    res = run_monte_carlo(market, runs, random_state, horizon_months)
    return sample_from_result(market, res)


def load_run(wh: Warehouse, run_id: str, *, allow_other_vintage: bool = False) -> ShortfallSample:
    """A stored Monte Carlo run (``critmin simulate --monte-carlo``) as a ShortfallSample.

    The run must have been computed on ``wh``'s vintage (:func:`critmin.disruption.provenance.check_reuse`:
    :class:`~critmin.disruption.provenance.RunVintageMismatch` otherwise, unless
    ``allow_other_vintage``); the sample's meta carries the run's ``vintage`` and
    ``data_fingerprint`` and, when there was one, the ``vintage_warning``."""
    from critmin.disruption.provenance import check_reuse
    from critmin.disruption.store import read_run

    info, arr = read_run(wh, run_id)
    if arr is None:
        raise ValueError(f"run {run_id!r} is a {info['kind']} run without a stored sample")
    warning = check_reuse(run_id, info["vintage"], getattr(wh, "vintage", None), allow=allow_other_vintage)
    return ShortfallSample(
        commodities=tuple(str(x) for x in arr["commodities"]),
        consumers=tuple(str(x) for x in arr["consumers"]),
        shortfall_t=arr["shortfall_t"],
        consumption_t=arr["consumption_t"],
        price_usd_per_t=arr["price_usd_per_t"],
        price_change_pct=arr["price_change_pct"],
        weights=arr["weights"],
        run_id=run_id,
        seed=info["seed"],
        meta={"spec": info["spec"], "market": info["market_meta"], "created_at": str(info["created_at"]),
              "vintage": info["vintage"], "data_fingerprint": info["data_fingerprint"],
              **({"vintage_warning": warning} if warning else {})},
    )


def _with_capacity(cm: CommodityMarket, additions: dict[str, float], params: ModelParams) -> tuple[CommodityMarket, ModelParams]:
    """Add capacity (t/yr) to hosts: a consumer host first covers its own imports (domestic
    supply rises, import flows fall pro rata); the rest, and all capacity in other hosts, is
    uncommitted capacity added to the host's spare capacity (available with its ramp-up)."""
    prod = dict(zip(cm.producers, cm.production_t.tolist(), strict=True))
    dom = cm.domestic_t.copy()
    extra_spare = dict(params.extra_spare_t)
    for host, add in additions.items():
        if add < 0:
            raise ValueError(f"capacity_additions[{host}] must be >= 0, got {add}")
        extra = float(add)
        if host in cm.consumers:
            k = cm.consumers.index(host)
            take = min(extra, float(cm.demand_t[k] - dom[k]))
            dom[k] += take
            extra -= take
            prod[host] = prod.get(host, 0.0) + take
        else:
            prod.setdefault(host, 0.0)
        extra_spare[host] = extra_spare.get(host, 0.0) + extra
    producers = tuple(sorted(prod))
    share = np.zeros((len(cm.consumers), len(producers)))
    for j, p in enumerate(producers):
        if p in cm.producers:
            share[:, j] = cm.import_share[:, cm.producers.index(p)]
    for k, c in enumerate(cm.consumers):
        if c in producers:
            share[k, producers.index(c)] = 0.0
        if dom[k] >= cm.demand_t[k]:
            share[k] = 0.0
    new = replace(cm, producers=producers, production_t=np.array([prod[p] for p in producers]),
                  domestic_t=dom, import_share=share)
    return new, replace(params, extra_spare_t=extra_spare)


def expected_joint_shortfall(market: Market, commodity: str, capacity_additions: dict[str, float] | None,
                             runs: int, random_state: int | np.random.Generator) -> float:
    """Expected annual shortfall of ``commodity`` summed over the market's consumers (the partners) in
    t, with ``capacity_additions`` (t/yr per host ISO3). The hazard model is that of the full
    market and the random stream is the same with and without additions (common random numbers),
    so differences between calls with the same seed measure the effect of the capacity alone.
    """
    if commodity not in market.commodities:
        raise KeyError(f"{commodity}: {market.not_computable.get(commodity, 'not in the market')}")
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    hz = build_hazard(market)
    params = ModelParams.from_settings()
    cm = market.commodities[commodity]
    if capacity_additions:
        cm, params = _with_capacity(cm, capacity_additions, params)
    sub = Market(market.consumers, {commodity: cm}, market.year, {}, dict(market.meta))
    model = build_model(sub, 12, params, hazard=hz)
    seed = seed_entropy(random_state)
    step = model.block_size * 8
    total = 0.0
    for first in range(0, runs, step):
        total += float(run_batch(model, seed, first, min(step, runs - first)).shortfall_t.sum())
    return total / runs


def price_change_paths(market: Market, commodity: str, paths: int, years: int,
                       random_state: int | np.random.Generator) -> PriceChangePaths:
    """Monthly price changes (%) of ``commodity`` on ``paths`` timelines of ``years`` years:
    path ``i``, year ``y`` carries the events of Monte Carlo run ``i * years + y`` of
    ``sample_shortfalls(market, paths * years, random_state)``, each lasting its full duration
    (:mod:`critmin.disruption.pricepaths`). Pass the full market: the hazard rates depend on it."""
    return sample_price_change_paths(market, commodity, paths, years, random_state)


#: runs re-simulated to check that a stored run reproduces on the current warehouse
_REPRO_CHECK_RUNS = 8192


def load_run_price_change_paths(wh: Warehouse, run_id: str, commodity: str, paths: int, years: int) -> PriceChangePaths:
    """:func:`price_change_paths` for the runs of a stored Monte Carlo run (its seed, market and
    settings): path ``i``, year ``y`` is stored run ``i * years + y``, so the run needs at least
    ``paths * years`` runs of 12 months. The events are re-drawn from the stored seed (the store
    keeps annual means, not timings); before use the reproduction is checked: same hazard pairs,
    same ``disruption.*`` settings, and the commodity's annual price changes of the first runs
    equal the stored ones, and the run was computed on ``wh``'s vintage
    (:class:`~critmin.disruption.provenance.RunVintageMismatch`). Anything else is an error,
    never a silent substitute."""
    from critmin import settings
    from critmin.disruption.provenance import check_reuse
    from critmin.disruption.store import read_run

    info, arr = read_run(wh, run_id)
    # the reproduction check below needs the run's data: another vintage is refused, no override
    check_reuse(run_id, info["vintage"], getattr(wh, "vintage", None), override=None)
    if info["kind"] != "monte_carlo" or arr is None:
        raise ValueError(f"run {run_id!r} is a {info['kind']} run without a stored Monte Carlo sample")
    if int(info["horizon_months"]) != 12:
        raise ValueError(f"run {run_id!r} has a {info['horizon_months']}-month horizon; one contract year "
                         "per run needs 12-month runs")
    need = paths * years
    if int(info["runs"]) < need:
        raise ValueError(f"run {run_id!r} has {info['runs']} runs; {paths} paths x {years} years need {need} "
                         "(one run per path and contract year): store a larger run or use fewer paths")
    # the run stored its settings as JSON (tuples as lists): compare in that form
    changed = {k: (v, settings.get(k)) for k, v in info["spec"].get("settings", {}).items()
               if json.loads(json.dumps(settings.get(k))) != v}
    if changed:
        raise ValueError(f"run {run_id!r} was made with other settings (stored, now): {changed}")
    mm = info["market_meta"]
    market = load_market(wh, mm["commodities"], tuple(mm["consumers"]), mm["year"])
    if list(market.commodity_ids) != list(mm["commodities"]):
        raise ValueError(f"run {run_id!r}: the warehouse no longer builds the run's market "
                         f"(missing: {sorted(set(mm['commodities']) - set(market.commodity_ids))})")
    stored_cids = [str(x) for x in arr["commodities"]]
    if commodity not in stored_cids:
        raise KeyError(f"{commodity}: not in run {run_id!r} ({market.not_computable.get(commodity, 'not simulated')})")
    hz = build_hazard(market)
    if "pair_labels" in arr and [str(x) for x in arr["pair_labels"]] != hz.labels():
        raise ValueError(f"run {run_id!r}: hazard pairs differ from the current warehouse's")
    seed = int(info["seed"])
    n = min(need, _REPRO_CHECK_RUNS)
    got = annual_price_changes(market, commodity, n, seed, hazard=hz)
    want = arr["price_change_pct"][:n, stored_cids.index(commodity)]
    if not np.allclose(got, want, rtol=1e-9, atol=1e-9):
        raise ValueError(f"run {run_id!r} does not reproduce on this warehouse: {commodity} price changes differ "
                         f"(max |diff| {np.max(np.abs(got - want)):.3g} %)")
    out = sample_price_change_paths(market, commodity, paths, years, seed, hazard=hz)
    return replace(out, meta={**out.meta, "run_id": run_id, "checked_runs": n})
