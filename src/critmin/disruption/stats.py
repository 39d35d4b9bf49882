"""Risk statistics of Monte Carlo output (pure functions on ``[run, ...]`` arrays)."""

from __future__ import annotations

import math

import numpy as np


def calc_var_cvar(x: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Value at risk and conditional value at risk of losses ``x[run]`` (larger = worse).

    VaR_a = the k-th smallest value with k = ceil(a * N) (the inverted empirical CDF);
    CVaR_a = mean of the N - k + 1 largest values (those at or beyond VaR_a in sort order).
    Rockafellar & Uryasev (2002), J. Banking & Finance 26: 1443-1471, for the discrete case
    with equal weights (exact when a * N is an integer).
    """
    if x.ndim != 1 or len(x) == 0:
        raise ValueError("need a non-empty 1-d array")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    s = np.sort(x)
    k = math.ceil(level * len(s))
    return float(s[k - 1]), float(s[k - 1 :].mean())


def calc_contributions(
    shortfall: np.ndarray, occurred: np.ndarray, pair_commodity: np.ndarray
) -> np.ndarray:
    """Mean shortfall attributed to each hazard pair: ``[pair, consumer]``.

    In each run a commodity's shortfall is split equally among the pairs of that commodity that
    had an event in the run; the attribution is averaged over runs, so contributions of a
    commodity's pairs add up to its mean shortfall.
    """
    n_runs = shortfall.shape[0]
    P = occurred.shape[1]
    C = shortfall.shape[1]
    n_ev = np.zeros((n_runs, C))
    np.add.at(n_ev.T, pair_commodity, occurred.T.astype(float))
    out = np.zeros((P, shortfall.shape[2]))
    for h in range(P):
        c = pair_commodity[h]
        rows = np.flatnonzero(occurred[:, h])
        if len(rows):
            out[h] = (shortfall[rows, c, :] / n_ev[rows, c][:, None]).sum(0) / n_runs
    return out


def summarise(
    shortfall_t: np.ndarray,
    consumption_t: np.ndarray,
    price_change_pct: np.ndarray,
    occurred: np.ndarray,
    pair_commodity: np.ndarray,
    pair_labels: tuple[str, ...],
    commodities: tuple[str, ...],
    consumers: tuple[str, ...],
    proxy: dict[tuple[str, str], bool],
    top: int = 3,
) -> list[dict]:
    """One row per commodity x consumer with the issue-4 output fields."""
    contrib = calc_contributions(shortfall_t, occurred, pair_commodity)
    rows = []
    for c, cid in enumerate(commodities):
        mp = float(price_change_pct[:, c].mean())
        for k, kid in enumerate(consumers):
            x = shortfall_t[:, c, k]
            cons = float(consumption_t[c, k])
            row: dict = {
                "commodity": cid,
                "consumer": kid,
                "mean_shortfall_t": float(x.mean()),
                "consumption_t": cons,
                "mean_price_change_pct": mp,
                "proxy_trade_shares": bool(proxy.get((cid, kid), False)),
            }
            if cons > 0:
                pct = 100.0 * x / cons
                var, cvar = calc_var_cvar(pct)
                row.update(
                    mean_shortfall_pct=float(pct.mean()), var95_pct=var, cvar95_pct=cvar,
                    p_shortfall_gt_10pct=float((pct > 10.0).mean()),
                )
            else:
                row.update(mean_shortfall_pct=None, var95_pct=None, cvar95_pct=None, p_shortfall_gt_10pct=None,
                           not_computable="consumption is 0 t, so % of consumption is undefined")
            pairs = np.flatnonzero(pair_commodity == c)
            order = pairs[np.argsort(-contrib[pairs, k], kind="stable")][:top]
            tot = row["mean_shortfall_t"]
            row["contributions"] = [
                {"pair": pair_labels[h], "mean_shortfall_t": float(contrib[h, k]),
                 "share": float(contrib[h, k] / tot) if tot > 0 else 0.0}
                for h in order if contrib[h, k] > 0
            ]
            rows.append(row)
    return rows
