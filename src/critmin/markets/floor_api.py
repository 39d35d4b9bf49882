"""Evaluate a price-floor contract on the warehouse's price history (I/O + assumptions).

Steps: pick the reference price series (a product proxy or an explicit series), convert it to
the contract unit, calibrate the OU log-price model (:mod:`critmin.markets.pricemodel`) on it,
simulate monthly paths from the last observation, and summarise the fiscal cost and the
project effect (:mod:`critmin.markets.floor`). Every assumption made on the way is returned in
``assumptions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmin import settings
from critmin.data.normalize.commodities import CommodityId
from critmin.data.normalize.commodities import resolve as resolve_commodity
from critmin.markets import config as _config  # noqa: F401
from critmin.markets.api import prices_of
from critmin.markets.errors import NotComputable
from critmin.markets.floor import (
    FloorContract,
    calc_floor_summary,
    calc_project_effect,
    calc_shocked_paths,
)
from critmin.markets.pricemodel import OUParams, calibrate_ou, simulate_ou_paths
from critmin.markets.priceunits import convert_price, is_convertible

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse


@dataclass(frozen=True)
class ProductProxy:
    commodity_id: str
    series: str
    ratio_setting: str | None
    explanation: str


#: Products without their own series in the warehouse and the proxy used for each.
PRODUCTS: dict[str, ProductProxy] = {
    "ndpr-oxide": ProductProxy(
        "rare_earths",
        "rare_earths:Price_Nd2O3_dkg",
        "markets.ndpr_to_nd2o3_ratio",
        "NdPr oxide price proxied by the USGS MCS neodymium oxide (Nd2O3) price, "
        "'Price_Nd2O3_dkg' (annual average, USD/kg, newest MCS release per year), times "
        "markets.ndpr_to_nd2o3_ratio. Why: the warehouse holds no NdPr oxide series; NdPr "
        "oxide is roughly 75 % Nd2O3 and 25 % Pr6O11 and the two oxides trade close to each "
        "other, so the Nd2O3 price is the closest published series.",
    ),
}


def reference_history(
    wh: Warehouse, cid: CommodityId, product: str | None, series: str | None, unit: str,
    start: str | None = None, end: str | None = None,
) -> tuple[pd.Series, str, list[str], list[list[int]]]:
    """The reference price history of a (resolved) commodity in the contract unit: (series
    indexed by ISO period, frequency 'A'/'M', assumptions, provenance rows)."""
    assumptions: list[str] = []
    ratio = 1.0
    if series is None:
        if product is None:
            raise NotComputable("give --product (with a known proxy) or --series (a price series id)")
        proxy = PRODUCTS.get(product.strip().lower())
        if proxy is None:
            raise NotComputable(
                f"no price proxy known for product {product!r} (known: {sorted(PRODUCTS)}); "
                "give --series explicitly"
            )
        if proxy.commodity_id != cid:
            raise NotComputable(f"product {product!r} belongs to {proxy.commodity_id!r}, not {cid!r}")
        series = proxy.series
        assumptions.append(proxy.explanation)
        if proxy.ratio_setting:
            ratio = float(settings.get(proxy.ratio_setting))
            src = next(x.source for x in settings.all_settings() if x.name == proxy.ratio_setting)
            assumptions.append(f"{proxy.ratio_setting} = {ratio} ({src})")
    p = prices_of(wh, cid)
    s = p[p["series"] == series]
    if s.empty:
        raise NotComputable(
            f"price series {series!r} not in the warehouse for {cid!r}; available: {sorted(set(p['series']))}"
        )
    if start:
        s = s[s["period"] >= start]
    if end:
        s = s[s["period"] <= end]
    missing = s[s["price"].isna()]
    if not missing.empty:
        raise NotComputable(
            f"price series {series!r} has no number for {list(missing['period'])} "
            f"(codes {list(missing['value_raw'])}); choose a window without them (--start/--end)"
        )
    units = set(s["unit"].dropna())
    if len(units) != 1:
        raise NotComputable(f"price series {series!r} has units {units}; expected exactly one")
    src_unit = units.pop()
    if not is_convertible(src_unit):
        raise NotComputable(f"price series {series!r}: unit {src_unit!r} not convertible to {unit}")
    values = convert_price(s["price"].to_numpy(float), src_unit, unit) * ratio
    if src_unit != unit:
        assumptions.append(f"series unit {src_unit} converted to {unit}")
    freq = str(s["frequency"].iloc[0])
    hist = pd.Series(values, index=s["period"].to_list(), name=series)
    rows = [[int(a), int(b)] for a, b in zip(s["dataset_id"], s["source_line"], strict=True)]
    srcs = sorted(set(s["source"].dropna()))
    assumptions.append(f"reference series {series} ({'annual' if freq == 'A' else 'monthly'}); sources: {'; '.join(srcs)}")
    return hist, freq, assumptions, rows


def evaluate_floor(
    wh: Warehouse,
    *,
    commodity: str,
    floor: float,
    volume_t_per_year: float,
    years: int,
    runs: int,
    random_state: int | np.random.Generator | None,
    unit: str = "USD/kg",
    product: str | None = None,
    series: str | None = None,
    ceiling: float | None = None,
    upside_share: float = 0.0,
    production_cost: float | None = None,
    capex_usd: float = 0.0,
    start: str | None = None,
    end: str | None = None,
    ou_params: OUParams | None = None,
    paths: str = "model",
    run_id: str | None = None,
) -> dict[str, Any]:
    """Fiscal cost distribution and project effect of a floor (see module docstring).

    ``commodity`` is a name, resolved here once (the edge); the id is passed down.

    ``paths``: ``"model"`` (calibrated mean-reverting log-normal) or ``"disruption"`` (the same
    model paths with the disruption simulator's monthly price responses applied,
    :mod:`critmin.markets.floor_disruption`; from a fresh Monte Carlo with the same seed, or from
    the stored Monte Carlo run ``run_id``)."""
    if paths not in ("model", "disruption"):
        raise ValueError(f"paths must be 'model' or 'disruption', got {paths!r}")
    if run_id is not None and paths != "disruption":
        raise ValueError("a run id (--run-id) only applies to --paths disruption")
    if paths == "disruption" and random_state is None:
        raise ValueError("--paths disruption needs an explicit seed (random_state)")
    cid = resolve_commodity(commodity)
    contract = FloorContract(floor, volume_t_per_year, years, unit, ceiling, upside_share)
    hist, freq, assumptions, rows = reference_history(wh, cid, product, series, unit, start, end)
    dt = 1.0 if freq == "A" else 1.0 / 12.0
    if ou_params is None:
        params = calibrate_ou(hist, dt, series=str(hist.name), unit=unit)
        assumptions.append(
            "price model: Ornstein-Uhlenbeck on ln(price) (Schwartz 1997 model 1), calibrated by "
            f"AR(1) OLS on {params.n_obs} {'annual' if freq == 'A' else 'monthly'} observations "
            f"{params.window_start}..{params.window_end}, simulated monthly with the exact discretisation"
        )
        if freq == "A":
            assumptions.append(
                "calibrated on annual averages: averaging smooths prices, so monthly volatility and "
                "the chance of short dips below the floor are likely understated"
            )
    else:
        params = ou_params
        assumptions.append("price model: Ornstein-Uhlenbeck on ln(price) with parameters given by the user")
    start_price = float(hist.iloc[-1])
    assumptions += [
        f"paths start at the last observation, {hist.index[-1]}: {start_price:.4g} {unit}",
        f"volume {volume_t_per_year:g} t/yr of product, delivered evenly ({volume_t_per_year / 12:g} t/month); "
        f"payment (floor - market) x volume in each month the market is below the floor",
        "all amounts in nominal USD; no inflation indexation of the floor",
    ]
    if ceiling is not None:
        assumptions.append(f"upside share {upside_share:g} of (market - {ceiling:g}) x volume returned above the ceiling")
    rng = np.random.default_rng(random_state) if isinstance(random_state, int) else random_state
    price_paths = simulate_ou_paths(params, start_price, contract.months, runs, rng)
    fdr = float(settings.get("markets.fiscal_discount_rate"))
    disruption = None
    if paths == "disruption":
        from critmin.disruption.hazard import seed_entropy
        from critmin.markets import floor_disruption as fd

        baseline = calc_floor_summary(price_paths, contract, fdr)
        if random_state is None:  # rejected at the top already; this narrows the type
            raise ValueError("--paths disruption needs an explicit seed (random_state)")
        seed = random_state if isinstance(random_state, int) else seed_entropy(random_state)
        pcp = fd.disruption_responses(wh, cid, runs, years, seed, run_id)
        price_paths = calc_shocked_paths(price_paths, pcp.price_change_pct)
        assumptions += fd.assumptions(pcp, run_id)
        disruption = fd.summarise_responses(pcp)
        disruption["baseline_model_paths"] = {k: baseline[k] for k in (
            "mean_cost_usd", "p95_cost_usd", "worst_year_cost_usd", "p_binding", "p_binding_any")}
    out = calc_floor_summary(price_paths, contract, fdr)
    out["paths"] = paths
    if disruption is not None:
        out["disruption"] = disruption
    out["fiscal_discount_rate"] = fdr
    out["contract"] = contract.as_dict()
    out["calibration"] = params.as_dict()
    out["history"] = {str(k): float(v) for k, v in hist.items()}
    out["history_rows"] = rows
    out["seed"] = random_state if isinstance(random_state, int) else None
    if production_cost is None:
        out["project"] = {"not_computable": "no production cost given (--production-cost, in the contract unit)"}
    else:
        pdr = float(settings.get("markets.project_discount_rate"))
        liq = float(settings.get("markets.survival_liquidity_years"))
        out["project"] = calc_project_effect(price_paths, contract, production_cost, pdr, liq, capex_usd)
        assumptions.append(
            f"project sells the contracted volume at the market price (plus floor payments) at a cash "
            f"cost of {production_cost:g} {unit}; NPV at {pdr:.0%}/yr "
            f"{'excluding capex' if not capex_usd else f'net of capex {capex_usd:,.0f} USD'}; survives while "
            f"cumulative cash flow stays above -{liq:g} year(s) of production cost"
        )
    out["damage"] = _damage_beside_npv(wh, cid, contract, out["project"])
    if "not_computable" not in out["damage"]:
        assumptions.append(out["damage"]["basis"])
    out["assumptions"] = assumptions
    return out


def _damage_beside_npv(wh: Warehouse, cid: str, contract: FloorContract, project: dict[str, Any]) -> dict[str, Any]:
    """The damage model's view of the floor (issue 13), beside the market-based NPV: the loss
    per tonne of shortfall for each partner and the damage avoided by the floor's survival
    effect (:func:`critmin.markets.floor.calc_damage_avoided`, an upper bound)."""
    from critmin.data.partners import partners
    from critmin.impact import damage
    from critmin.markets.floor import calc_damage_avoided

    if "survival_effect" not in project:
        return {"not_computable": "no project effect (give --production-cost) to value the avoided damage"}
    by: dict[str, Any] = {}
    for k in partners():
        try:
            d = damage(wh, cid, k)
        except ValueError as exc:
            return {"not_computable": f"damage model: {exc}"}
        by[k] = {"loss_per_t": d.loss_per_t, "basis": d.damage.basis, "flags": list(d.damage.flags),
                 "sources": list(d.sources),
                 "damage_avoided_usd_upper": calc_damage_avoided(float(project["survival_effect"]),
                                                                 contract.volume_t_per_year, contract.years,
                                                                 d.loss_per_t)}
    return {"by_partner": by, "survival_effect": float(project["survival_effect"]),
            "basis": ("damage avoided (upper bound) = survival effect of the floor x contracted output "
                      f"({contract.volume_t_per_year:g} t/yr x {contract.years} yr, product tonnes taken as "
                      "the commodity's tonnes) x the damage model's loss per tonne of shortfall of each "
                      "partner (critmin.impact); reported beside the NPV effect, not added to it")}
