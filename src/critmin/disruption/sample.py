"""The hand-over format between the disruption simulator and its consumers.

The stockpile optimiser, project scoring and the price-floor model read Monte Carlo output
through :class:`ShortfallSample`, so none of them depends on the simulator's internals.
Arrays use named dimensions in this order: ``scenario``, ``commodity``, ``consumer``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ShortfallSample:
    """Annual shortfalls per scenario, commodity and consumer.

    Attributes
    ----------
    commodities, consumers:
        Labels of the ``commodity`` and ``consumer`` dimensions (commodity ids, ISO3 codes).
    shortfall_t:
        ``[scenario, commodity, consumer]`` annual unmet demand in metric tons (>= 0).
    consumption_t:
        ``[commodity, consumer]`` annual consumption (demand) in metric tons.
    price_usd_per_t:
        ``[commodity]`` reference price in US$ per metric ton.
    price_change_pct:
        ``[scenario, commodity]`` price change in percent in each scenario.
    weights:
        ``[scenario]`` probability weights summing to 1.
    run_id, seed:
        Where the sample came from (stored run id, seed), for provenance.
    """

    commodities: tuple[str, ...]
    consumers: tuple[str, ...]
    shortfall_t: np.ndarray
    consumption_t: np.ndarray
    price_usd_per_t: np.ndarray
    price_change_pct: np.ndarray
    weights: np.ndarray
    run_id: str | None = None
    seed: int | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        s, c, k = self.shortfall_t.shape
        if (c, k) != (len(self.commodities), len(self.consumers)):
            raise ValueError(
                f"shortfall_t has shape {self.shortfall_t.shape}; expected "
                f"(scenario, {len(self.commodities)}, {len(self.consumers)})"
            )
        if self.consumption_t.shape != (c, k):
            raise ValueError(f"consumption_t has shape {self.consumption_t.shape}; expected {(c, k)}")
        if self.price_usd_per_t.shape != (c,):
            raise ValueError(f"price_usd_per_t has shape {self.price_usd_per_t.shape}; expected {(c,)}")
        if self.price_change_pct.shape != (s, c):
            raise ValueError(f"price_change_pct has shape {self.price_change_pct.shape}; expected {(s, c)}")
        if self.weights.shape != (s,) or not np.isclose(self.weights.sum(), 1.0):
            raise ValueError("weights must have one entry per scenario and sum to 1")
        if (self.shortfall_t < 0).any():
            raise ValueError("shortfall_t must be non-negative")

    @property
    def n_scenarios(self) -> int:
        return int(self.shortfall_t.shape[0])
