"""Pure calculation functions of the stockpile capability (no I/O, no solver).

Arrays use the named dimensions of :class:`critmin.disruption.sample.ShortfallSample`:
``scenario``, ``commodity``, ``partner`` (the sample's ``consumer`` axis), in that order.
"""

from __future__ import annotations

import numpy as np

from critmin.stockpile.config import DAYS_PER_YEAR


def calc_cvar(losses: np.ndarray, weights: np.ndarray, alpha: float) -> float:
    """Conditional value-at-risk of a discrete loss distribution.

    CVaR_a(L) = min_eta { eta + 1/(1-a) * sum_s w_s * max(L_s - eta, 0) }, attained at
    eta = VaR_a(L) = min{ l : P(L <= l) >= a }  (Rockafellar & Uryasev 2002, "Conditional
    value-at-risk for general loss distributions", J. Banking & Finance 26: 1443-1471, Thm 10).
    ``alpha`` in [0, 1); alpha = 0 gives the mean.
    """
    losses = np.asarray(losses, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"alpha must be in [0, 1), got {alpha}")
    if losses.shape != weights.shape:
        raise ValueError(f"losses {losses.shape} and weights {weights.shape} differ in shape")
    order = np.argsort(losses, kind="stable")
    sorted_l = losses[order]
    cum = np.cumsum(weights[order])
    # first index where the cumulative probability reaches alpha (tolerant to rounding)
    k = int(np.searchsorted(cum, alpha - 1e-12, side="left"))
    var = sorted_l[min(k, len(sorted_l) - 1)]
    return float(var + np.sum(weights * np.maximum(losses - var, 0.0)) / (1.0 - alpha))


def calc_holding_cost_per_t(
    price_usd_per_t: np.ndarray, capital_cost_rate: float, storage_usd_per_t_yr: float
) -> np.ndarray:
    """Annual holding cost per ton: h_c = r * p_c + s.

    r = capital cost rate (opportunity cost of the money in stock), s = storage, handling and
    insurance per ton-year. Standard inventory carrying cost (e.g. Silver, Pyke & Thomas 2017,
    *Inventory and Production Management in Supply Chains*, 4th ed., sec. 4.5).
    """
    return capital_cost_rate * np.asarray(price_usd_per_t, dtype=float) + storage_usd_per_t_yr


def calc_loss_multiple(economic_vulnerability: np.ndarray, multiple_max: float) -> np.ndarray:
    """Economic loss per ton of unmet demand as a multiple of price: m_c = 1 + (M - 1) * EV_c.

    EV_c in [0, 1] is the assessment's economic-vulnerability factor (USGS method, Nassar &
    Fortier 2021, USGS OFR 2021-1045); M is the value added per dollar of mineral input of the
    consuming industries (setting ``stockpile.loss_multiple_max``). EV = 0 means the consumer
    can replace the material at its price (m = 1); EV = 1 means the whole downstream value
    added per dollar of material is lost.
    """
    ev = np.asarray(economic_vulnerability, dtype=float)
    if np.isnan(ev).any() or (ev < 0).any() or (ev > 1).any():
        raise ValueError("economic vulnerability must be in [0, 1] for every commodity")
    if multiple_max < 1.0:
        raise ValueError(f"loss multiple maximum must be >= 1, got {multiple_max}")
    return 1.0 + (multiple_max - 1.0) * ev


def calc_transfer_cover_fraction(lead_time_months: float, horizon_months: float) -> float:
    """Share of a horizon-long shortfall that a transfer can still cover: phi = 1 - L / H.

    A shortfall spread evenly over the horizon H; stock lent by the partner arrives after the
    lead time L and covers only what is missing from then on (phi = 0 when L >= H).
    """
    if horizon_months <= 0:
        raise ValueError(f"horizon must be positive, got {horizon_months} months")
    if lead_time_months < 0:
        raise ValueError(f"transfer lead time must be >= 0, got {lead_time_months} months")
    return max(0.0, 1.0 - lead_time_months / horizon_months)


def calc_days_of_cover(stock_t: np.ndarray, consumption_t_per_yr: np.ndarray) -> np.ndarray:
    """Days of cover = stock / (annual consumption / 365); NaN where consumption is 0."""
    stock = np.asarray(stock_t, dtype=float)
    cons = np.asarray(consumption_t_per_yr, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cons > 0, stock * DAYS_PER_YEAR / np.where(cons > 0, cons, 1.0), np.nan)


def calc_policy_stock(
    consumption_t: np.ndarray, days: np.ndarray | float
) -> np.ndarray:
    """Rule-based stock: x_ck = days_c / 365 * consumption_ck (JOGMEC days-of-consumption rule).

    ``consumption_t`` is ``[commodity, partner]``; ``days`` a scalar or ``[commodity]``.
    """
    cons = np.asarray(consumption_t, dtype=float)
    d = np.broadcast_to(np.asarray(days, dtype=float), (cons.shape[0],))
    return cons * (d[:, None] / DAYS_PER_YEAR)


def calc_unmet_without_transfers(shortfall_t: np.ndarray, stock_t: np.ndarray) -> np.ndarray:
    """Optimal recourse without transfers: u_sck = max(d_sck - x_ck, 0).

    With a positive loss per unmet ton, releasing min(x, d) from own stock is optimal in every
    scenario, so the second stage needs no solver.
    """
    return np.maximum(np.asarray(shortfall_t, dtype=float) - np.asarray(stock_t)[None, :, :], 0.0)


def calc_scenario_losses(
    unmet_t: np.ndarray,
    loss_usd_per_t: np.ndarray,
    transfer_t: np.ndarray | None = None,
    transfer_cost_usd_per_t: float = 0.0,
) -> np.ndarray:
    """Second-stage loss per scenario: L_s = sum_ck l_ck u_sck + tau * sum_ck y_sck.

    ``unmet_t`` and ``transfer_t`` (tons sent by each partner) are ``[scenario, commodity,
    partner]``; ``loss_usd_per_t`` is ``[commodity]`` (the same for every partner) or
    ``[commodity, partner]``.
    """
    unmet = np.asarray(unmet_t, dtype=float)
    lc = np.asarray(loss_usd_per_t, dtype=float)
    loss = np.einsum("sck,ck->s", unmet, lc) if lc.ndim == 2 else np.einsum("sck,c->s", unmet, lc)
    if transfer_t is not None:
        loss = loss + transfer_cost_usd_per_t * np.asarray(transfer_t).sum(axis=(1, 2))
    return loss
