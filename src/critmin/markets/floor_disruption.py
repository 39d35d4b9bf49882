"""Price paths for the floor from the disruption simulator (``--paths disruption``).

Mapping (documented in ``docs/markets.md``): the calibrated model's monthly paths are the
undisturbed market; the disruption simulator supplies, per path and month, the price response
of the commodity to the export restrictions active in that month
(:func:`critmin.disruption.api.price_change_paths`: path ``i``, contract year ``y`` = Monte
Carlo run ``i * years + y``, restrictions lasting their full sampled duration); the market price
is ``baseline * (1 + response / 100)`` (:func:`critmin.markets.floor.calc_shocked_paths`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from critmin.data.normalize.commodities import CommodityId
from critmin.markets.errors import NotComputable

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse
    from critmin.disruption.pricepaths import PriceChangePaths


def disruption_responses(wh: Warehouse, commodity_id: CommodityId, paths: int, years: int, seed: int,
                         run_id: str | None = None) -> PriceChangePaths:
    """Monthly price responses ``[path, month]`` of the commodity (a ``PriceChangePaths``)."""
    from critmin.disruption import api

    try:
        if run_id is not None:
            return api.load_run_price_change_paths(wh, run_id, commodity_id, paths, years)
        market = api.load_market(wh)
        return api.price_change_paths(market, commodity_id, paths, years, seed)
    except KeyError as e:
        raise NotComputable(f"disruption price paths for {commodity_id!r}: {e.args[0]}") from None
    except ValueError as e:
        raise NotComputable(f"disruption price paths: {e}") from None


def summarise_responses(pcp: PriceChangePaths) -> dict[str, Any]:
    """What the disruption sample did to the paths (for the output's ``disruption`` block)."""
    pc, act = pcp.price_change_pct, pcp.event_months
    on = act > 0
    shocked = pc[on]
    return {
        "commodity": pcp.commodity,
        "run_id": pcp.meta.get("run_id"),
        "seed": pcp.seed,
        "mc_runs_used": pcp.paths * pcp.years,
        "hazard_pairs": [{"pair": lab, "annual_rate": r} for lab, r in zip(pcp.pairs, pcp.pair_rates, strict=True)],
        "p_path_with_restriction": float(on.any(axis=1).mean()),
        "mean_restricted_months_per_path": float(on.sum(axis=1).mean()),
        "share_of_months_restricted": float(on.mean()),
        "mean_price_change_pct_when_restricted": float(shocked.mean()) if shocked.size else 0.0,
        "p95_price_change_pct_when_restricted": float(np.percentile(shocked, 95)) if shocked.size else 0.0,
        "max_price_change_pct": float(pc.max()) if pc.size else 0.0,
        "notes": list(pcp.notes),
    }


def assumptions(pcp: PriceChangePaths, run_id: str | None) -> list[str]:
    src = (f"the stored Monte Carlo run {run_id} (seed {pcp.seed}; events re-drawn from its seed and checked "
           f"against its stored price changes on the first {pcp.meta.get('checked_runs')} runs)"
           if run_id else f"a fresh disruption Monte Carlo with seed {pcp.seed} on the full warehouse market "
           f"(the runs of `critmin simulate --monte-carlo --seed {pcp.seed} --runs {pcp.paths * pcp.years}`)")
    return [
        f"price paths: the calibrated model's paths (same draws as --paths model) are the undisturbed market; "
        f"each month's price is multiplied by (1 + the disruption simulator's price response / 100), from {src}",
        f"path i, contract year y takes the export-restriction events of Monte Carlo run i*{pcp.years}+y "
        "(12-month hazard draws, years independent); each restriction lasts its full sampled duration from its "
        "start month, across year ends, truncated at the contract end",
        "the price response in a month is the disruption model's %dP = 100 x world shortfall / world demand / "
        f"(eps_s - eps_d) with eps_s = {pcp.meta.get('supply_elasticity')} and eps_d = "
        f"{pcp.meta.get('demand_elasticity')}, from the restrictions active that month; 0 otherwise, so the "
        "price returns to the undisturbed path when a restriction ends (no persistence, no feedback into the "
        "model's mean reversion)",
        "the disruption model only raises prices (shortages), so against the undisturbed paths a floor costs "
        "the same or less: the simulator does not model price suppression (dumping, overcapacity), the risk a "
        "floor insures against",
        "the hazard model's rates apply to the commodity's supply stage as the simulator models it "
        f"(pairs: {', '.join(pcp.pairs) or 'none'}); the reference price series is assumed to move with that "
        "world market",
        "spare capacity, once ramped up after a path's first restriction, stays available to later "
        "restrictions of the path (engine approximation over multi-year timelines)",
    ]
