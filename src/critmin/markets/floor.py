"""Price-floor contracts: what a floor costs the government and what it does for a project.

Contract (per month ``m`` of ``12 * years``, price ``P_m`` in the contract's unit)::

    payment_m  = max(floor - P_m, 0) * q / 12                      (government pays)
    clawback_m = share * max(P_m - ceiling, 0) * q / 12             (project pays back, optional)
    cost_m     = payment_m - clawback_m

with ``q`` the contracted volume per year in the price's mass unit (t/yr converted to kg/yr
for USD/kg prices). This is the structure of the July 2025 US Department of Defense - MP
Materials agreement (NdPr oxide floor US$110/kg for ten years; DoD receives a share of the
upside; MP Materials press release and Form 8-K, 10 July 2025), with the volume and ceiling as
inputs.

Project view at production cost ``c`` (same unit as the price): monthly operating cash flow
``CF_m = (P_m + payment_m/q_m - clawback_m/q_m - c) * q_m`` with the floor and
``(P_m - c) * q_m`` without it; NPV discounts at ``r`` per year
(``CF_m / (1+r)^{(m+1)/12}``), minus optional capex at t=0. The project survives a path while
its cumulative cash flow stays above ``-L`` (``L`` = liquidity buffer, setting
``markets.survival_liquidity_years`` times a year of production cost).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from critmin.data.normalize.units import MASS_UNITS_PER_T as MASS_PER_T


@dataclass(frozen=True)
class FloorContract:
    """A price-floor contract. Prices in ``unit`` (USD/kg or USD/t), volume in t/yr."""

    floor: float
    volume_t_per_year: float
    years: int
    unit: str = "USD/kg"
    ceiling: float | None = None
    upside_share: float = 0.0

    def __post_init__(self) -> None:
        if self.unit not in MASS_PER_T:
            raise ValueError(f"contract unit {self.unit!r}; expected one of {sorted(MASS_PER_T)}")
        if self.floor < 0:
            raise ValueError(f"floor must be >= 0, got {self.floor}")
        if self.volume_t_per_year <= 0:
            raise ValueError(f"volume_t_per_year must be > 0, got {self.volume_t_per_year}")
        if self.years < 1:
            raise ValueError(f"years must be >= 1, got {self.years}")
        if not 0.0 <= self.upside_share <= 1.0:
            raise ValueError(f"upside_share must be in [0, 1], got {self.upside_share}")
        if self.upside_share > 0 and self.ceiling is None:
            raise ValueError("upside_share > 0 needs a ceiling (the price above which it applies)")
        if self.ceiling is not None and self.ceiling < self.floor:
            raise ValueError(f"ceiling {self.ceiling} is below the floor {self.floor}")

    @property
    def months(self) -> int:
        return 12 * self.years

    @property
    def monthly_quantity(self) -> float:
        """Contracted quantity per month in the price's mass unit (kg or t)."""
        return self.volume_t_per_year * MASS_PER_T[self.unit] / 12.0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["volume_unit"] = "t/yr"
        return d


def calc_floor_cashflows(prices: np.ndarray, contract: FloorContract) -> np.ndarray:
    """Government net cost per month ``[run, month]`` in USD (formula in the module docstring)."""
    p = np.asarray(prices, dtype=float)
    if p.ndim != 2 or p.shape[1] != contract.months:
        raise ValueError(
            f"prices must be [run, month] with {contract.months} months, got shape {p.shape}"
        )
    cost = np.maximum(contract.floor - p, 0.0)
    if contract.ceiling is not None and contract.upside_share > 0:
        cost -= contract.upside_share * np.maximum(p - contract.ceiling, 0.0)
    cost *= contract.monthly_quantity
    return cost


def calc_shocked_paths(baseline: np.ndarray, price_change_pct: np.ndarray) -> np.ndarray:
    """Market paths with disruption price responses: ``P_m = B_m * (1 + dP_m / 100)``.

    ``baseline[run, month]`` is the undisturbed (calibrated model) price path and
    ``price_change_pct[run, month]`` the disruption simulator's price response in that month
    (0 in months without an active restriction). The shock is a premium on the level of the
    undisturbed market in the months it lasts: it does not feed back into the baseline's
    dynamics, so the price returns to the baseline path when the restriction ends.
    """
    b = np.asarray(baseline, dtype=float)
    pc = np.asarray(price_change_pct, dtype=float)
    if b.shape != pc.shape:
        raise ValueError(f"baseline {b.shape} and price_change_pct {pc.shape} must have the same [run, month] shape")
    if not np.all(np.isfinite(pc)) or np.any(pc <= -100.0):
        raise ValueError("price_change_pct must be finite and > -100 %")
    return b * (1.0 + pc / 100.0)


def _discount(months: int, rate: float) -> np.ndarray:
    return (1.0 + rate) ** (-(np.arange(1, months + 1) / 12.0))


def calc_floor_summary(
    prices: np.ndarray, contract: FloorContract, fiscal_discount_rate: float
) -> dict:
    """Fiscal cost distribution of a floor over simulated monthly price paths.

    * ``mean_cost_usd`` / ``p95_cost_usd``: mean and 95th percentile over runs of the total
      (undiscounted, nominal) net cost over the contract.
    * ``pv_mean_cost_usd``: mean present value at ``fiscal_discount_rate``.
    * ``worst_year_cost_usd``: 95th percentile over runs of the run's most expensive contract
      year (a 1-in-20 worst budget year); ``max_year_cost_usd`` the largest simulated year.
    * ``p_binding``: share of run-months with market price below the floor;
      ``p_binding_any``: share of runs in which it binds at least once;
      ``p_binding_by_year``: share of run-months binding in each contract year.
    """
    p = np.asarray(prices, dtype=float)
    cost = calc_floor_cashflows(p, contract)
    runs = p.shape[0]
    annual = cost.reshape(runs, contract.years, 12).sum(axis=2)
    total = annual.sum(axis=1)
    pv = cost @ _discount(contract.months, fiscal_discount_rate)
    binding = p < contract.floor
    worst = annual.max(axis=1)
    return {
        "runs": int(runs),
        "mean_cost_usd": float(total.mean()),
        "p50_cost_usd": float(np.percentile(total, 50)),
        "p95_cost_usd": float(np.percentile(total, 95)),
        "pv_mean_cost_usd": float(pv.mean()),
        "mean_annual_cost_usd": float(annual.mean()),
        "worst_year_cost_usd": float(np.percentile(worst, 95)),
        "max_year_cost_usd": float(worst.max()),
        "annual_cost_mean_by_year_usd": [float(v) for v in annual.mean(axis=0)],
        "p_binding": float(binding.mean()),
        "p_binding_any": float(binding.any(axis=1).mean()),
        "p_binding_by_year": [
            float(v) for v in binding.reshape(runs, contract.years, 12).mean(axis=(0, 2))
        ],
        "price_p05_p50_p95_final": [
            float(v) for v in np.percentile(p[:, -1], [5, 50, 95])
        ],
    }


def calc_project_effect(
    prices: np.ndarray,
    contract: FloorContract,
    production_cost: float,
    discount_rate: float,
    liquidity_years: float,
    capex_usd: float = 0.0,
) -> dict:
    """NPV and survival probability of a project selling the contracted volume, with and
    without the floor (formulae in the module docstring). ``production_cost`` is the all-in
    cash cost in the contract's price unit."""
    if production_cost < 0:
        raise ValueError(f"production_cost must be >= 0, got {production_cost}")
    p = np.asarray(prices, dtype=float)
    q = contract.monthly_quantity
    cf_without = (p - production_cost) * q
    cf_with = cf_without + calc_floor_cashflows(p, contract)
    disc = _discount(contract.months, discount_rate)
    buffer = liquidity_years * production_cost * q * 12.0
    out: dict = {
        "production_cost": production_cost,
        "discount_rate": discount_rate,
        "capex_usd": capex_usd,
        "liquidity_buffer_usd": buffer,
    }
    for label, cf in (("without_floor", cf_without), ("with_floor", cf_with)):
        npv = cf @ disc - capex_usd
        survive = np.cumsum(cf, axis=1).min(axis=1) > -buffer
        out[f"npv_mean_usd_{label}"] = float(npv.mean())
        out[f"npv_p05_usd_{label}"] = float(np.percentile(npv, 5))
        out[f"p_npv_positive_{label}"] = float((npv > 0).mean())
        out[f"p_survival_{label}"] = float(survive.mean())
    out["npv_effect_usd"] = out["npv_mean_usd_with_floor"] - out["npv_mean_usd_without_floor"]
    out["survival_effect"] = out["p_survival_with_floor"] - out["p_survival_without_floor"]
    return out


def calc_damage_avoided(survival_effect: float, volume_t_per_year: float, years: int, loss_per_t: float) -> float:
    """Damage avoided by a floor, an upper bound (US$): the extra probability that the project
    survives (``survival_effect`` = p_survive with - without the floor) x its contracted output
    over the contract (``volume_t_per_year * years``) x the damage model's loss per tonne of
    shortfall (:func:`critmin.impact.damage`). An upper bound because it counts every tonne the
    surviving project delivers as a tonne that would otherwise be short; the NPV effect stays
    market-based and is reported beside it, never added to it."""
    for name, v in (("volume_t_per_year", volume_t_per_year), ("loss_per_t", loss_per_t)):
        if not (np.isfinite(v) and v >= 0):
            raise ValueError(f"{name}: {v!r}; expected a finite number >= 0")
    if not (np.isfinite(survival_effect) and -1.0 <= survival_effect <= 1.0):
        raise ValueError(f"survival_effect: {survival_effect!r}; expected a probability difference in [-1, 1]")
    if years < 0:
        raise ValueError(f"years: {years!r}; expected >= 0")
    return float(survival_effect * volume_t_per_year * years * loss_per_t)
