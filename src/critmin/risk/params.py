"""Settings of the risk package (registered in :mod:`critmin.settings` at import)."""

from __future__ import annotations

from critmin import settings
from critmin.data.partners import CONSUMERS  # noqa: F401  (registered in data/)
from critmin.data.supply import PROCESSING_PREFERENCE, STAGES  # noqa: F401

ALLIANCES = settings.register(
    "risk.alliances",
    ("MSP", "EU"),
    "Alliances whose members count as 'allied' (union), from src/critmin/risk/data/alliances.csv.",
    "Minerals Security Partnership members (U.S. Department of State, 2022-2024) plus the EU-27.",
)
WGI_MAX_LAG = settings.register(
    "risk.wgi_max_lag_years",
    2,
    "Use the newest WGI year at most this many years before the assessment year (the lag "
    "used is reported); older -> not computable.",
    "World Bank WGI 2023 update ends in 2022; JRC (2017) uses the latest available WGI.",
)
TRADE_MAX_LAG = settings.register(
    "risk.trade_max_lag_years",
    1,
    "Use trade flows of the newest year at most this many years before the assessment year "
    "(the year used is reported).",
    "Project choice; CEPII BACI is published with a lag of about one year.",
)
JOINT_CONSUMER_WEIGHTS = settings.register(
    "risk.joint.consumer_weights",
    (),
    "Relative weight of each consumer in the joint score (ISO3=weight, e.g. USA=2); consumers "
    "not listed get weight 1. Normalised over the consumers assessed.",
    "Project choice: equal partners under the 2025-10-28 framework (every partner weight 1).",
)
JOINT_WEIGHT_USGS = settings.register(
    "risk.joint.weight_usgs",
    0.5,
    "Weight of the USGS-style supply risk (DP*TE*EV, 0-1) in the joint score.",
    "Project choice (docs/methodology.md): equal weight of the two established indices.",
)
JOINT_WEIGHT_EU = settings.register(
    "risk.joint.weight_eu",
    0.0,
    "Weight of the EU supply risk (divided by its maximum 10) in the joint score. 0 while the "
    "curated substitution indices are SCARCE proxies for 31 commodities only (the EU index is "
    "not computable for the rest); set 0.5 for equal weight once EU CRM SI values are curated.",
    "Project choice (docs/methodology.md).",
)
GOVERNANCE_FALLBACK_MAX_SHARE = settings.register(
    "risk.governance_fallback_max_share",
    0.05,
    "A producer (or import partner) without a WGI score, and without a sovereign that has one, "
    "takes the median WGI of the year when its share is at most this (flagged 'median', grade B); "
    "a larger one leaves the index not computable at that stage.",
    "Project choice (issue 12: 'a producer under a threshold share takes the median, flagged'); "
    "5 % as risk.max_uncovered_import_share.",
)
HIGH_RISK_TOP_N = settings.register(
    "risk.high_risk_top_n",
    12,
    "Number of top-ranked commodities of the joint watchlist treated as 'high risk' "
    "(e.g. by stockpile planning).",
    "Project choice; the USGS 2021 list used a supply-risk cut-off instead (Nassar & Fortier 2021).",
)


def consumer_weights(consumers: tuple[str, ...] | list[str]) -> dict[str, float]:
    """Weights of the given consumers from ``risk.joint.consumer_weights`` (1 if unlisted)."""
    raw = settings.get("risk.joint.consumer_weights")
    table: dict[str, float] = {}
    for item in raw:
        if "=" not in item:
            raise ValueError(
                f"setting risk.joint.consumer_weights: entry {item!r} is not ISO3=weight"
            )
        k, v = item.split("=", 1)
        try:
            table[k.strip().upper()] = float(v)
        except ValueError:
            raise ValueError(
                f"setting risk.joint.consumer_weights: weight {v!r} for {k} is not a number"
            ) from None
    return {c: table.get(c, 1.0) for c in consumers}
