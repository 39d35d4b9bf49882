"""Stochastic price model: mean-reverting log price (Ornstein-Uhlenbeck on ln P).

Model (Schwartz 1997, "The stochastic behavior of commodity prices", J. Finance 52(3),
model 1)::

    d ln P = kappa (mu - ln P) dt + sigma dW

Exact discretisation over a step ``dt`` (years)::

    x_{t+dt} = mu + (x_t - mu) e^{-kappa dt} + sigma sqrt((1 - e^{-2 kappa dt}) / (2 kappa)) eps

Calibration is the AR(1) regression ``x_{t+1} = a + b x_t + e`` on the observed log prices at
their own spacing ``dt`` (ordinary least squares, statsmodels), mapped back with
``b = e^{-kappa dt}``, ``a = mu (1 - b)``, ``Var(e) = sigma^2 (1 - b^2) / (2 kappa)``;
standard errors by the delta method. No mean reversion (``b >= 1``) or oscillation (``b <= 0``)
is reported as not computable, never replaced by a default.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from critmin.markets.errors import NotComputable

RandomState = int | np.random.Generator | None


def _rng(random_state: RandomState) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


@dataclass(frozen=True)
class OUParams:
    """Parameters of the OU log-price model (annual units) with their calibration record."""

    kappa: float  # mean-reversion speed, 1/yr
    mu: float  # long-run mean of ln P (P in the series' unit)
    sigma: float  # volatility of ln P, 1/sqrt(yr)
    kappa_se: float | None = None
    mu_se: float | None = None
    sigma_se: float | None = None
    n_obs: int | None = None
    dt_years: float | None = None
    window_start: str | None = None
    window_end: str | None = None
    series: str | None = None
    unit: str | None = None

    @property
    def long_run_price(self) -> float:
        """Median of the stationary distribution, e^mu."""
        return math.exp(self.mu)

    @property
    def half_life_years(self) -> float:
        return math.log(2.0) / self.kappa

    def as_dict(self) -> dict:
        d = asdict(self)
        d["long_run_price"] = self.long_run_price
        d["half_life_years"] = self.half_life_years
        return d


def calibrate_ou(
    prices: pd.Series, dt_years: float, series: str | None = None, unit: str | None = None
) -> OUParams:
    """Calibrate the OU log-price model to a regularly spaced price series.

    ``prices`` is indexed by date (any sortable labels) with positive values; ``dt_years`` is the
    spacing (1 for annual, 1/12 for monthly). Formulae in the module docstring (AR(1) OLS,
    Schwartz 1997 exact discretisation, delta-method standard errors).
    """
    import statsmodels.api as sm

    s = prices.dropna().sort_index()
    if (s <= 0).any():
        bad = s[s <= 0]
        raise NotComputable(f"price series {series!r}: non-positive prices at {list(bad.index)}")
    n = len(s)
    if n < 4:
        raise NotComputable(
            f"price series {series!r}: {n} observations; at least 4 are needed to fit an AR(1) "
            "with a residual variance"
        )
    x = np.log(s.to_numpy(dtype=float))
    X = sm.add_constant(x[:-1])
    fit = sm.OLS(x[1:], X).fit()
    a, b = (float(v) for v in fit.params)
    cov = np.asarray(fit.cov_params())
    if not 0.0 < b < 1.0:
        raise NotComputable(
            f"price series {series!r}: AR(1) slope b={b:.3f} on {n} observations; mean "
            "reversion needs 0 < b < 1 (b >= 1: random walk, b <= 0: oscillation). Give the "
            "model parameters explicitly (kappa, mu, sigma)"
        )
    kappa = -math.log(b) / dt_years
    mu = a / (1.0 - b)
    s2 = float(fit.mse_resid)
    sigma = math.sqrt(s2 * 2.0 * kappa / (1.0 - b * b))
    # delta method
    kappa_se = math.sqrt(cov[1, 1]) / (b * dt_years)
    g_mu = np.array([1.0 / (1.0 - b), a / (1.0 - b) ** 2])
    mu_se = math.sqrt(float(g_mu @ cov @ g_mu))
    dof = max(n - 1 - 2, 1)
    sigma_se = sigma / math.sqrt(2.0 * dof)  # from Var(s^2) = 2 s^4 / dof, ignoring b's error
    idx = list(s.index)
    return OUParams(
        kappa=kappa,
        mu=mu,
        sigma=sigma,
        kappa_se=kappa_se,
        mu_se=mu_se,
        sigma_se=sigma_se,
        n_obs=n,
        dt_years=dt_years,
        window_start=_iso(idx[0]),
        window_end=_iso(idx[-1]),
        series=series,
        unit=unit,
    )


def _iso(v: object) -> str:
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def simulate_ou_paths(
    params: OUParams,
    start_price: float,
    months: int,
    runs: int,
    random_state: RandomState,
) -> np.ndarray:
    """Monthly price paths ``[run, month]`` from the exact OU discretisation (module docstring).

    Month ``m`` (0-based) holds the price at the end of month ``m+1``; the path starts from
    ``start_price`` at time 0. Vectorised over runs; one loop over months.
    """
    if start_price <= 0:
        raise ValueError(f"start_price must be positive, got {start_price}")
    if months < 1 or runs < 1:
        raise ValueError(f"months and runs must be >= 1, got months={months}, runs={runs}")
    rng = _rng(random_state)
    dt = 1.0 / 12.0
    phi = math.exp(-params.kappa * dt)
    sd = params.sigma * math.sqrt((1.0 - phi * phi) / (2.0 * params.kappa))
    eps = rng.standard_normal((runs, months))
    eps *= sd
    dev = np.empty((runs, months))
    prev = np.full(runs, math.log(start_price) - params.mu)
    for m in range(months):
        prev = phi * prev + eps[:, m]
        dev[:, m] = prev
    dev += params.mu
    return np.exp(dev, out=dev)


def ou_mean_log(params: OUParams, start_price: float, t_years: float) -> float:
    """E[ln P_t] = mu + (ln P_0 - mu) e^{-kappa t} (for tests and reports)."""
    return params.mu + (math.log(start_price) - params.mu) * math.exp(-params.kappa * t_years)


def ou_var_log(params: OUParams, t_years: float) -> float:
    """Var[ln P_t] = sigma^2 (1 - e^{-2 kappa t}) / (2 kappa)."""
    return params.sigma**2 * (1.0 - math.exp(-2.0 * params.kappa * t_years)) / (2.0 * params.kappa)
