"""Settings of the disruption simulator and the hazard model (registered in critmin.settings).

Every tunable number of the model lives here with its default and the source of the default.
:class:`ModelParams` gathers the market-model settings for one simulation, with scenario
overrides applied on top (``[overrides]`` in a scenario TOML file).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from critmin import settings

settings.register(
    "disruption.supply_elasticity",
    0.1,
    "Short-run price elasticity of supply (epsilon_s) used in %dP = shortage / (eps_s - eps_d).",
    "Fally, T. & Sayre, J. (2018), 'Commodity Trade Matters', NBER WP 24965: short-run supply "
    "elasticities of primary commodities are low, of the order of 0.1.",
)
settings.register(
    "disruption.demand_elasticity",
    -0.1,
    "Short-run price elasticity of demand (epsilon_d, negative).",
    "Fernandez, V. (2018), 'Price and income elasticity of demand for mineral commodities', "
    "Resources Policy 59: 160-183: short-run price elasticities of metal demand mostly between "
    "0 and -0.3; -0.1 is a central value.",
)
settings.register(
    "disruption.leakage",
    0.2,
    "Share of a restricted (targeted) flow that still reaches the target through third countries.",
    "Analyst assumption (contract example value). Trans-shipment of Chinese Ga/Ge/Sb via third "
    "countries after the Dec-2024 US ban was reported (e.g. Reuters 2025) but not quantified.",
)
settings.register(
    "disruption.re_export_lag_months",
    3,
    "Segmented markets: months after a targeted restriction starts before leaked volume "
    "(trans-shipment, re-export through third countries, share disruption.leakage) reaches the "
    "targeted importers; until then the targets get no leakage.",
    "Analyst assumption: third-country re-exports of Chinese Ga/Ge/Sb to the US after the "
    "Dec-2024 ban were reported from early 2025 (USGS MCS 2025/2026 commodity notes; Reuters "
    "2025), i.e. after a few months of rerouting and relabelling.",
)
settings.register(
    "disruption.contract_cover_months",
    6,
    "Segmented markets: months after a targeted restriction starts during which buyers in the "
    "open pool are held by their term contracts with unrestricted producers, so they cannot "
    "release that supply to the restricted pool (redirection between pools starts after them).",
    "Analyst assumption: minor-metal and rare-earth supply runs on quarterly to annual term "
    "contracts (e.g. Roskill/Project Blue market notes); half a year is a central value.",
)
settings.register(
    "disruption.inventory_months",
    0.0,
    "Stocks held by each importer, in months of its baseline demand, drawn down to cover its "
    "shortfall before it counts (cumulative over the horizon, not rebuilt).",
    "Neutral default: company and state stocks are modelled by the stockpile optimiser, which "
    "consumes these shortfalls; a scenario may override (e.g. 2-3 months of working stock).",
)
settings.register(
    "disruption.spare_capacity",
    0.05,
    "Spare capacity of each unrestricted producer, as a fraction of its annual production.",
    "Analyst assumption: USGS MCS 2025 reports capacity for few commodities; typical metal "
    "capacity utilisation of 85-95% (e.g. ILZSG, INSG statistics) suggests 5-15% headroom.",
)
settings.register(
    "disruption.ramp_up_months",
    6,
    "Months for a producer's spare capacity to ramp linearly from 0 to full after a disruption starts.",
    "Analyst assumption: restarting idle capacity/brownfield debottlenecking takes months, "
    "greenfield years (IEA 2021, The Role of Critical Minerals in Clean Energy Transitions, ch. 3).",
)
settings.register(
    "disruption.demand_growth",
    0.0,
    "Annual growth of the baseline market (demand and baseline supply) over the horizon.",
    "Neutral default; scenario files may override.",
)
settings.register(
    "disruption.horizon_months",
    12,
    "Default simulation horizon in months.",
    "Issue 4 (scenario default).",
)
# --- hazard model --------------------------------------------------------------------------
settings.register(
    "disruption.hazard.history_start_year",
    2010,
    "First year of the event history used to estimate restriction rates.",
    "Issue 4: event table covers real export restrictions since 2010.",
)
settings.register(
    "disruption.hazard.as_of_year",
    2025,
    "Last (inclusive) year of the event-history observation window.",
    "as_of dates of export_restrictions.csv (up to 2025-11).",
)
settings.register(
    "disruption.hazard.min_share",
    0.05,
    "Producers with at least this share of world production at a stage are hazard candidates "
    "(plus every (country, commodity, stage) in the event table).",
    "Analyst assumption; the EU CRM methodology treats shares below a few % as negligible for "
    "supply risk (European Commission 2017, Methodology for establishing the EU list of CRMs).",
)
settings.register(
    "disruption.hazard.prior_strength",
    1.0,
    "Gamma prior shape alpha of the per-pair restriction rate (pseudo-events).",
    "Weakly informative Gamma-Poisson prior (Gelman et al. 2013, Bayesian Data Analysis, 3rd ed., sec. 2.6).",
)
settings.register(
    "disruption.hazard.wgi_beta",
    0.5,
    "Governance sensitivity beta: prior rate scales with exp(-beta * WGI) (mean of the six WGI estimates).",
    "Analyst assumption; WGI as proxy of supply-disruption likelihood follows the EU CRM "
    "methodology (European Commission 2017) and GeoPolRisk (Gemechu et al. 2016, J. Ind. Ecol. 20(1)).",
)
settings.register(
    "disruption.hazard.severity_alpha",
    0.95,
    "Beta(alpha, beta) distribution of the export cut of a sampled restriction: alpha.",
    "Method-of-moments fit to the 15 export_cut_estimate values in "
    "disruption/data/export_restrictions.csv (mean 0.875, var 0.0526); recomputed in tests.",
)
settings.register(
    "disruption.hazard.severity_beta",
    0.14,
    "Beta(alpha, beta) distribution of the export cut of a sampled restriction: beta.",
    "Same method-of-moments fit as severity_alpha.",
)
settings.register(
    "disruption.hazard.duration_median_months",
    11.2,
    "Median of the log-normal duration of a sampled restriction, in months.",
    "Median of (ended - effective) of the 12 ended events in export_restrictions.csv "
    "(censored: ongoing events are left out, so this understates durations).",
)
settings.register(
    "disruption.hazard.duration_sigma",
    1.51,
    "Log-standard deviation of the log-normal restriction duration.",
    "Sample sd of log durations of the same 12 ended events (recomputed from the table by "
    "tests/test_disruption_montecarlo.py).",
)
#: BACI imports older than BACI's newest year by more than this are not used (an HS code that
#: disappeared in a revision, e.g. germanium's 811230 after HS 2007)
settings.register(
    "disruption.max_trade_lag_years", 4,
    "BACI import shares of a consumer and commodity whose newest year is more than this many years "
    "older than BACI's newest year are not used (the Comtrade fallback or world production shares "
    "are used instead, with a note).",
    "Project choice: a code that stops in BACI was moved by an HS revision (germanium 811230 ended "
    "with HS 2007; the US rows after 2006 are one partner with under 2 t).",
)
settings.register(
    "disruption.calibration.prior_weight", 1.0,
    "Weight w of the log-prior residual w (ln θ - ln θ_prior) in the calibration of the price "
    "response (θ_prior: the literature θ0 for the pooled fit, the pooled θ for a group).",
    "ASSUMPTION (analyst): one episode's worth of weight, a weakly informative prior (Gelman et al. "
    "2013, BDA §2.9); with few episodes per group the fit needs some pooling.",
)
settings.register(
    "disruption.hazard.targeted_share",
    0.18,
    "Share of sampled Monte Carlo events aimed at one partner (the targeted consumer drawn uniformly "
    "among the modelled consumers); the rest target all importers. Targeted events split the market "
    "into a restricted and an open pool, as in scenarios.",
    "4 of the 22 distinct events of export_restrictions.csv with effect in 2010-2025 targeted the US or "
    "Japan (recomputed from the table by tests/test_disruption_montecarlo.py); the uniform choice of the "
    "partner is an ASSUMPTION (3 of the 4 aimed at the US).",
)
settings.register(
    "disruption.demand_scenario",
    "STEPS",
    "IEA scenario whose total demand sets a commodity's annual demand growth (IEA observed 2024 to "
    "the scenario's first projection year, compound): STEPS, APS or NZE; 'none' uses "
    "disruption.demand_growth for every commodity. A scenario's [overrides] demand_growth wins.",
    "IEA Global Critical Minerals Outlook (Critical Minerals Data Explorer, totalDemand); STEPS = the "
    "stated-policies scenario, the IEA's central case (issue 14 §3).",
)
settings.register(
    "disruption.price_response",
    "calibrated",
    "Price response of a net shortage s: 'calibrated' = 100 (exp(theta_g s) - 1), theta_g the "
    "group's calibrated value (disruption.calibration.theta.*; docs/disruption.md, calibration); "
    "'linear' = 100 s / (eps_s - eps_d), floored at -100 % (the uncalibrated literature response).",
    "Issue 14 §4: the linear response with eps_s - eps_d = 0.2 overstates large moves about "
    "fourfold against the observed episodes (back-test in docs/disruption.md).",
)
#: commodity groups of the calibrated price response (the episodes' groups, data/episodes.toml)
THETA_GROUPS = {"pooled": 1.54, "battery_and_base": 1.30, "minor_metals": 1.09, "rare_earths": 1.49}
for _g, _v in THETA_GROUPS.items():
    settings.register(
        f"disruption.calibration.theta.{_g}", _v,
        f"Calibrated theta = 1/(eps_s - eps_d) of the log price response for the group '{_g}'"
        + (" (commodities without a group)" if _g == "pooled" else "") + ".",
        "Full-sample least-squares fit to the episodes of disruption/data/episodes.toml on the real "
        "warehouse (critmin simulate --backtest --json, theta_full_sample; recomputed by "
        "tests/test_disruption_calibrate.py).",
    )
settings.register(
    "disruption.mc.block_size",
    1024,
    "Runs per random-number block; each block has its own SeedSequence child stream, so results "
    "do not depend on batch size or worker count. Changing it changes the sample.",
    "Implementation constant.",
)
settings.register(
    "disruption.mc.batch_runs",
    8192,
    "Runs per batch (a whole number of blocks) sent to one worker.",
    "Implementation constant (memory ~ batch_runs x commodities x 12 months).",
)


@dataclass(frozen=True)
class ModelParams:
    """Market-model parameters for one simulation (settings + scenario overrides)."""

    supply_elasticity: float
    demand_elasticity: float
    leakage: float
    demand_growth: float
    spare_capacity_default: float
    ramp_up_months_default: float
    spare_capacity: Mapping[str, float] = field(default_factory=dict)
    ramp_up_months: Mapping[str, float] = field(default_factory=dict)
    #: absolute spare capacity (t/yr) added per producer (new projects; see api.expected_joint_shortfall)
    extra_spare_t: Mapping[str, float] = field(default_factory=dict)
    #: segmented markets (docs/disruption.md): leakage lag, contract cover, inventories (months)
    re_export_lag_months: float = 0.0
    contract_cover_months: float = 0.0
    inventory_months: float = 0.0
    #: True when a scenario's [overrides] set demand_growth (it then wins over the IEA growth)
    demand_growth_override: bool = False
    #: 'calibrated' (log response, theta per commodity group) or 'linear'
    price_response: str = "linear"
    #: True when a scenario's [overrides] set an elasticity (theta = 1/(eps_s - eps_d) then)
    elasticity_override: bool = False

    def theta_for(self, commodity: str) -> float | None:
        """theta of the calibrated log price response for ``commodity`` (None: linear response).
        A scenario that overrides the elasticities gets theta = 1/(eps_s - eps_d)."""
        if self.price_response != "calibrated":
            return None
        if self.elasticity_override:
            return 1.0 / (self.supply_elasticity - self.demand_elasticity)
        group = commodity_groups().get(commodity, "pooled")
        return float(settings.get(f"disruption.calibration.theta.{group}"))

    @classmethod
    def from_settings(cls, overrides: Mapping[str, Any] | None = None) -> ModelParams:
        o = dict(overrides or {})
        p = cls(
            supply_elasticity=float(o.get("supply_elasticity", settings.get("disruption.supply_elasticity"))),
            demand_elasticity=float(o.get("demand_elasticity", settings.get("disruption.demand_elasticity"))),
            leakage=float(o.get("leakage", settings.get("disruption.leakage"))),
            demand_growth=float(o.get("demand_growth", settings.get("disruption.demand_growth"))),
            spare_capacity_default=float(settings.get("disruption.spare_capacity")),
            ramp_up_months_default=float(settings.get("disruption.ramp_up_months")),
            spare_capacity=dict(o.get("spare_capacity", {})),
            ramp_up_months=dict(o.get("ramp_up_months", {})),
            re_export_lag_months=float(o.get("re_export_lag_months",
                                             settings.get("disruption.re_export_lag_months"))),
            contract_cover_months=float(o.get("contract_cover_months",
                                              settings.get("disruption.contract_cover_months"))),
            inventory_months=float(o.get("inventory_months", settings.get("disruption.inventory_months"))),
            demand_growth_override="demand_growth" in o,
            price_response=str(settings.get("disruption.price_response")),
            elasticity_override="supply_elasticity" in o or "demand_elasticity" in o,
        )
        p.validate()
        return p

    def validate(self) -> None:
        if not self.supply_elasticity - self.demand_elasticity > 0:
            raise ValueError(
                "supply_elasticity - demand_elasticity must be > 0 "
                f"(got {self.supply_elasticity} - ({self.demand_elasticity}))"
            )
        if not 0.0 <= self.leakage <= 1.0:
            raise ValueError(f"leakage must be in [0, 1], got {self.leakage}")
        if self.demand_growth <= -1.0:
            raise ValueError(f"demand_growth must be > -1, got {self.demand_growth}")
        for k, v in self.spare_capacity.items():
            if v < 0:
                raise ValueError(f"spare_capacity[{k}] must be >= 0, got {v}")
        for k, v in self.ramp_up_months.items():
            if v <= 0:
                raise ValueError(f"ramp_up_months[{k}] must be > 0, got {v}")
        for name in ("re_export_lag_months", "contract_cover_months", "inventory_months"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.price_response not in ("calibrated", "linear"):
            raise ValueError(f"disruption.price_response: expected 'calibrated' or 'linear', got {self.price_response!r}")
        if self.spare_capacity_default < 0 or self.ramp_up_months_default <= 0:
            raise ValueError("disruption.spare_capacity must be >= 0 and ramp_up_months > 0")

    def spare_for(self, country: str) -> float:
        return float(self.spare_capacity.get(country, self.spare_capacity_default))

    def ramp_for(self, country: str) -> float:
        return float(self.ramp_up_months.get(country, self.ramp_up_months_default))

    @property
    def price_denominator(self) -> float:
        return self.supply_elasticity - self.demand_elasticity


@functools.lru_cache(maxsize=1)
def commodity_groups() -> dict[str, str]:
    """Commodity -> group of the calibrated price response (the episodes of
    ``data/episodes.toml``; a commodity in none of them uses the pooled theta)."""
    import tomllib

    path = Path(__file__).parent / "data" / "episodes.toml"
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for e in doc.get("episodes", []):
        if out.setdefault(str(e["commodity"]), str(e["group"])) != str(e["group"]):
            raise ValueError(f"{path.name}: {e['commodity']} is in two groups")
    return out
