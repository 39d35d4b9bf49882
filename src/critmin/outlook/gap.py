"""The gap between demand and secure supply, with the uncertainty of the project pipeline (pure).

For one commodity, one value-chain stage and one scope (the world, or a partner group), in
years ``y = 1..Y``:

    G_y(X) = max(0, D_y - S_y - sum_p X_p c_{p,y})                       (t/yr)

``D_y`` demand, ``S_y`` the secure base supply (the IEA base case counted for the scope),
``c_{p,y} >= 0`` what project *p* adds to the scope's secure supply in year *y* (its capacity
from its first production year, times the scope's claim on it, :mod:`critmin.outlook.pipeline`)
and ``X_p ~ Bernoulli(pi_p)`` whether it reaches production, independent across projects.
The expected gap ``E[G_y]`` is estimated by Monte Carlo (:func:`calc_gap_draws`) or, for a few
projects, computed exactly over the ``2^P`` outcomes (:func:`calc_expected_gap_exact`, the
reference of the tests).

Draws use common random numbers: the uniform for project *p* in draw *n* is the *(p, n)* entry of
``rng.random((P, N))``, so adding a project at the end leaves the other projects' outcomes
unchanged, and every scope and scenario sees the same outcomes. Each draw's gap then never rises
when a project is added (``c >= 0``) and never falls when demand rises; so do the mean and the
quantiles (the properties the tests check).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def _check(demand: Array, base: Array, contrib: Array, prob: Array) -> None:
    if demand.ndim != 1 or base.shape != demand.shape:
        raise ValueError(f"demand and base supply: expected equal 1-d shapes, got {demand.shape} and {base.shape}")
    if contrib.ndim != 2 or contrib.shape[1] != demand.shape[0]:
        raise ValueError(f"contributions: expected shape (projects, {demand.shape[0]}), got {contrib.shape}")
    if prob.shape != (contrib.shape[0],):
        raise ValueError(f"probabilities: expected shape ({contrib.shape[0]},), got {prob.shape}")
    if np.any(contrib < 0) or not np.all(np.isfinite(contrib)):
        raise ValueError("contributions: expected finite values >= 0 t/yr")
    if np.any((prob < 0) | (prob > 1)) or not np.all(np.isfinite(prob)):
        raise ValueError("probabilities: expected values in [0, 1]")


def draw_outcomes(n_projects: int, n_draws: int, prob: Array, random_state: int | np.random.Generator) -> NDArray[np.bool_]:
    """``X[n, p]`` = project *p* reaches production in draw *n* (common random numbers: the
    uniforms are ``rng.random((P, N))``, project-major, see the module docstring)."""
    rng = np.random.default_rng(random_state)
    u = rng.random((n_projects, n_draws))
    return np.asarray((u < prob[:, None]).T)


def calc_gap_paths(demand: Array, base: Array, contrib: Array, outcomes: NDArray[np.bool_]) -> Array:
    """``G[n, y] = max(0, D_y - S_y - sum_p X[n,p] c[p,y])`` for every draw (t/yr)."""
    added = outcomes.astype(np.float64) @ contrib if contrib.shape[0] else np.zeros((outcomes.shape[0], demand.shape[0]))
    return np.maximum(demand[None, :] - base[None, :] - added, 0.0)


@dataclass(frozen=True)
class GapSummary:
    """The gap by year: ``expected`` (mean over draws), ``p05``/``p50``/``p95`` (quantiles of the
    draws), ``without_projects`` (``max(0, D - S)``) and ``all_projects`` (every project
    produces); ``expected_added`` is the expected added secure supply ``sum_p pi_p c_{p,y}``."""

    expected: Array
    p05: Array
    p50: Array
    p95: Array
    without_projects: Array
    all_projects: Array
    expected_added: Array


def calc_gap_draws(demand: Array, base: Array, contrib: Array, prob: Array, n_draws: int,
                   random_state: int | np.random.Generator) -> GapSummary:
    """The gap by year over ``n_draws`` Monte Carlo draws of the project outcomes."""
    demand, base = np.asarray(demand, float), np.asarray(base, float)
    contrib, prob = np.asarray(contrib, float).reshape(-1, demand.shape[0]), np.asarray(prob, float)
    _check(demand, base, contrib, prob)
    if n_draws < 1:
        raise ValueError(f"n_draws: expected >= 1, got {n_draws}")
    x = draw_outcomes(contrib.shape[0], n_draws, prob, random_state)
    return summarise(demand, base, contrib, prob, calc_gap_paths(demand, base, contrib, x))


def summarise(demand: Array, base: Array, contrib: Array, prob: Array, paths: Array) -> GapSummary:
    q = np.quantile(paths, [0.05, 0.5, 0.95], axis=0)
    return GapSummary(
        paths.mean(axis=0), q[0], q[1], q[2], np.maximum(demand - base, 0.0),
        np.maximum(demand - base - contrib.sum(axis=0), 0.0), prob @ contrib,
    )


def calc_expected_gap_exact(demand: Array, base: Array, contrib: Array, prob: Array) -> Array:
    """``E[G_y] = sum over outcomes x in {0,1}^P of prod_p pi_p^x_p (1-pi_p)^(1-x_p) G_y(x)``
    (exact; ``2^P`` terms, so for a few projects only)."""
    demand, base = np.asarray(demand, float), np.asarray(base, float)
    contrib, prob = np.asarray(contrib, float).reshape(-1, demand.shape[0]), np.asarray(prob, float)
    _check(demand, base, contrib, prob)
    if contrib.shape[0] > 20:
        raise ValueError("calc_expected_gap_exact: more than 20 projects (2^P outcomes); use calc_gap_draws")
    out = np.zeros_like(demand)
    for xs in itertools.product((0, 1), repeat=contrib.shape[0]):
        x = np.array(xs, dtype=float)
        w = float(np.prod(np.where(x == 1, prob, 1 - prob)))
        out += w * np.maximum(demand - base - x @ contrib, 0.0)
    return out


def calc_secure_claim(host: str, scope: tuple[str, ...], allied: frozenset[str], demand_share: float) -> float:
    """The scope's claim on one tonne produced in ``host``:

    * 1 for the world (``scope == ()``) and for a host inside the scope (domestic);
    * ``demand_share`` (the scope's share of world demand, ``D_scope / D_world``) for an allied
      host outside the scope: allied supply counts in proportion to the scope's demand;
    * 0 for a host that is not allied: not secure supply.
    """
    if not scope or host in scope:
        return 1.0
    if host in allied:
        if not 0.0 <= demand_share <= 1.0:
            raise ValueError(f"demand_share: expected a fraction in [0, 1], got {demand_share}")
        return demand_share
    return 0.0


def interpolate_years(years: list[int], values: list[float], out_years: NDArray[np.int64]) -> Array:
    """Linear interpolation of a published path (``years`` ascending) at ``out_years``; a year
    outside the published range is an error (never a silent extrapolation)."""
    if not years:
        raise ValueError("interpolate_years: no published years")
    lo, hi = min(years), max(years)
    bad = [int(y) for y in out_years if y < lo or y > hi]
    if bad:
        raise ValueError(f"years {bad} outside the published range {lo}-{hi}")
    return np.interp(out_years.astype(float), np.asarray(years, float), np.asarray(values, float))


__all__ = [
    "GapSummary", "calc_expected_gap_exact", "calc_gap_draws", "calc_gap_paths", "calc_secure_claim",
    "draw_outcomes", "interpolate_years", "summarise",
]
