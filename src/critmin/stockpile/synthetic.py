"""Synthetic shortfall samples for tests and benchmarks (never used for real answers).

The generator imitates the shape of the disruption simulator's output: each commodity is
disrupted in a scenario with its own probability, the disruption removes a Beta-distributed
share of consumption, and each partner is hit by it with a partner-specific exposure, so that
the partners' shortfalls are correlated but not equal (which is what makes sharing useful).
"""

from __future__ import annotations

import numpy as np

from critmin.data.partners import partners as configured_partners
from critmin.disruption.sample import ShortfallSample


def synthetic_sample(
    n_commodities: int = 60,
    n_scenarios: int = 2000,
    partners: tuple[str, ...] | None = None,
    random_state: int | np.random.Generator | None = 0,
) -> ShortfallSample:
    """A reproducible synthetic :class:`ShortfallSample` (same seed -> same sample) for
    ``partners`` (default: setting ``risk.consumers``)."""
    if partners is None:
        partners = configured_partners()
    rng = np.random.default_rng(random_state)
    C, K, S = n_commodities, len(partners), n_scenarios
    consumption = rng.lognormal(mean=np.log(5_000), sigma=1.5, size=(C, K))
    price = rng.lognormal(mean=np.log(20_000), sigma=1.5, size=C)
    p_disrupt = rng.uniform(0.03, 0.30, size=C)
    exposure = rng.uniform(0.2, 1.0, size=(C, K))  # share of the cut each partner feels
    hit = rng.random((S, C)) < p_disrupt[None, :]
    cut = rng.beta(2.0, 5.0, size=(S, C)) * hit  # share of consumption lost
    noise = rng.lognormal(0.0, 0.3, size=(S, C, K))
    shortfall = np.minimum(cut[:, :, None] * exposure[None] * noise, 1.0) * consumption[None]
    price_change = 100.0 * cut * rng.uniform(1.0, 5.0, size=(S, C))
    return ShortfallSample(
        commodities=tuple(f"c{i:02d}" for i in range(C)),
        consumers=tuple(partners),
        shortfall_t=shortfall,
        consumption_t=consumption,
        price_usd_per_t=price,
        price_change_pct=price_change,
        weights=np.full(S, 1.0 / S),
        run_id=None,
        seed=random_state if isinstance(random_state, int) else None,
        meta={"synthetic": True},
    )
