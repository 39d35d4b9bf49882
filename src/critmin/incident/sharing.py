"""Sharing rules for a coordinated stockpile release between the partners (pure functions).

The problem, for one commodity over the incident's horizon (``docs/incidents.md``):

* partner ``i`` has a shortfall ``D_i`` (t, the simulator's unmet demand over the horizon),
  a recorded stock ``S_i`` (t) and a consumption rate ``c_i`` (t/day = annual consumption / 365);
* a release moves stock to cover shortfalls: partner ``i`` releases ``r_i <= S_i`` from its own
  stock and receives ``a_i <= D_i`` of the pooled release (``sum r = sum a``);
* afterwards its *position* is ``P_i = S_i - r_i - (D_i - a_i)`` (t): what is left of its own
  stock minus what is left of its shortfall. Its days of cover are ``P_i / c_i``; a negative
  value is an unmet shortfall, in days of consumption. ``P_i`` always lies in ``[-D_i, S_i]``.

Three rules:

1. **Self-release** (no coordination): ``r_i = a_i = min(S_i, D_i)``.
2. **Proportional to consumption** (the IEA oil rule: each member's share of a collective
   action is its share of the group's oil consumption; IEA, *Agreement on an International
   Energy Program* (1974), art. 2 and 13-14, and the Coordinated Emergency Response Measures
   of 1995): the collective release is ``R = min(sum D, sum S)``; partner ``i`` contributes
   ``R c_i / sum c``, capped at its stock (what a partner cannot give is spread over the others
   in proportion to consumption, :func:`calc_proportional_contributions`); the pool covers each
   shortfall by the same fraction ``R / sum D``.
3. **Need-based** (equalise days of cover): maximise ``min_i P_i / c_i`` subject to
   ``sum P = sum S - sum D`` and ``P_i in [-D_i, S_i]``; the solution is water-filling,
   ``P_i = clip(k c_i, -D_i, S_i)`` with ``k`` found by bisection
   (:func:`calc_need_based_positions`).

Both coordinated rules leave the same total unmet shortfall, ``max(sum D - sum S, 0)``; they
differ in who carries it. Since the proportional rule's positions are feasible for the
need-based problem, the need-based rule never leaves the partner worst off with fewer days of
cover than the proportional rule does with the same total stock (the property in
``tests/test_incident_sharing.py``). It cannot raise *every* partner's cover: the total
``sum P`` is fixed, so what one partner gains another gives up.

The value of coordination of a rule = (unmet shortfall under self-release - unmet shortfall
under the rule) x price (US$).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

RULES = ("self", "proportional", "need_based")
RULE_LABELS = {
    "self": "each partner releases for itself",
    "proportional": "release in proportion to consumption (IEA oil rule)",
    "need_based": "need-based release equalising days of cover",
}


@dataclass(frozen=True)
class RuleOutcome:
    """One sharing rule's result, per partner (same order as ``partners``)."""

    rule: str
    partners: tuple[str, ...]
    released_t: tuple[float, ...]  # r_i: released from own stock
    received_t: tuple[float, ...]  # a_i: pooled release used against own shortfall
    unmet_t: tuple[float, ...]  # D_i - a_i
    stock_left_t: tuple[float, ...]  # S_i - r_i
    days_of_cover: tuple[float, ...]  # P_i / c_i (negative: unmet shortfall in days)

    @property
    def total_unmet_t(self) -> float:
        return float(sum(self.unmet_t))

    @property
    def min_days_of_cover(self) -> float:
        return float(min(self.days_of_cover))

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "label": RULE_LABELS[self.rule],
            "total_unmet_t": self.total_unmet_t,
            "min_days_of_cover": self.min_days_of_cover,
            "partners": [
                {"partner": p, "released_t": r, "received_t": a, "unmet_t": u, "stock_left_t": s,
                 "days_of_cover": d}
                for p, r, a, u, s, d in zip(self.partners, self.released_t, self.received_t, self.unmet_t,
                                            self.stock_left_t, self.days_of_cover, strict=True)
            ],
        }


def _check(shortfall_t: Sequence[float], stock_t: Sequence[float], daily_use_t: Sequence[float]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d, s, c = (np.asarray(x, dtype=float) for x in (shortfall_t, stock_t, daily_use_t))
    if not (d.shape == s.shape == c.shape) or d.ndim != 1 or d.size == 0:
        raise ValueError(f"shortfall_t, stock_t, daily_use_t: expected equal-length vectors, got "
                         f"{d.shape}, {s.shape}, {c.shape}")
    for name, x in (("shortfall_t", d), ("stock_t", s)):
        if not np.all(np.isfinite(x)) or np.any(x < 0):
            raise ValueError(f"{name}: expected finite values >= 0, got {x.tolist()}")
    if not np.all(np.isfinite(c)) or np.any(c <= 0):
        raise ValueError(f"daily_use_t: expected finite values > 0 (days of cover need a consumption), got {c.tolist()}")
    return d, s, c


def _outcome(rule: str, partners: Sequence[str], d: np.ndarray, s: np.ndarray, c: np.ndarray,
             r: np.ndarray, a: np.ndarray) -> RuleOutcome:
    unmet = np.maximum(d - a, 0.0)
    left = np.maximum(s - r, 0.0)
    pos = left - unmet
    return RuleOutcome(rule, tuple(partners), tuple(map(float, r)), tuple(map(float, a)), tuple(map(float, unmet)),
                       tuple(map(float, left)), tuple(map(float, pos / c)))


def calc_self_release(partners: Sequence[str], shortfall_t: Sequence[float], stock_t: Sequence[float],
                      daily_use_t: Sequence[float]) -> RuleOutcome:
    """Rule 1: each partner covers its own shortfall from its own stock, ``r_i = a_i = min(S_i, D_i)``."""
    d, s, c = _check(shortfall_t, stock_t, daily_use_t)
    r = np.minimum(s, d)
    return _outcome("self", partners, d, s, c, r, r)


def calc_proportional_contributions(total_t: float, stock_t: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Contributions ``r_i`` to a collective release of ``total_t`` in proportion to ``weight``
    (consumption), each capped at ``stock_t[i]``; the part a capped partner cannot give is
    spread over the others in proportion to their weight (repeated until nobody is over cap).
    ``total_t`` must not exceed ``sum(stock_t)``."""
    if total_t > float(stock_t.sum()) * (1 + 1e-12) + 1e-12:
        raise ValueError(f"total_t {total_t} exceeds the stock {float(stock_t.sum())}")
    r = np.zeros_like(stock_t)
    free = np.ones(stock_t.shape, bool)
    left = float(total_t)
    for _ in range(stock_t.size + 1):
        if left <= 0 or not free.any():
            break
        w = weight * free
        want = left * w / w.sum()
        cap = stock_t - r
        over = free & (want >= cap)
        if not over.any():
            r += want
            break
        r[over] = stock_t[over]
        left -= float(cap[over].sum())
        free &= ~over
    return np.minimum(r, stock_t)


def calc_proportional_release(partners: Sequence[str], shortfall_t: Sequence[float], stock_t: Sequence[float],
                              daily_use_t: Sequence[float]) -> RuleOutcome:
    """Rule 2 (IEA): ``R = min(sum D, sum S)``; contributions by consumption share, capped at
    each stock (:func:`calc_proportional_contributions`); every shortfall covered by the same
    fraction ``R / sum D``."""
    d, s, c = _check(shortfall_t, stock_t, daily_use_t)
    total_d = float(d.sum())
    big_r = min(total_d, float(s.sum()))
    r = calc_proportional_contributions(big_r, s, c)
    a = d * (big_r / total_d) if total_d > 0 else np.zeros_like(d)
    return _outcome("proportional", partners, d, s, c, r, a)


def calc_need_based_positions(shortfall_t: np.ndarray, stock_t: np.ndarray, daily_use_t: np.ndarray,
                              tol: float = 1e-12) -> np.ndarray:
    """Positions ``P_i = clip(k c_i, -D_i, S_i)`` with ``sum P = sum S - sum D`` (water-filling;
    ``k`` in days of cover, found by bisection on the monotone ``sum clip``). This maximises the
    smallest days of cover ``min P_i / c_i`` over all feasible releases."""
    d, s, c = shortfall_t, stock_t, daily_use_t
    target = float(s.sum() - d.sum())
    lo = float(np.min(-d / c)) - 1.0
    hi = float(np.max(s / c)) + 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if float(np.clip(mid * c, -d, s).sum()) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= tol * max(1.0, abs(hi)):
            break
    return np.clip(hi * c, -d, s)


def calc_need_based_release(partners: Sequence[str], shortfall_t: Sequence[float], stock_t: Sequence[float],
                            daily_use_t: Sequence[float]) -> RuleOutcome:
    """Rule 3: the release that equalises days of cover as far as stocks and shortfalls allow
    (:func:`calc_need_based_positions`). The net inflow of partner ``i`` is
    ``P_i - (S_i - D_i)`` (they sum to 0): a partner with a negative one gives it to the pool,
    one with a positive one receives it."""
    d, s, c = _check(shortfall_t, stock_t, daily_use_t)
    pos = calc_need_based_positions(d, s, c)
    net_in = pos - (s - d)  # > 0 receives, < 0 gives (sums to 0)
    own = np.minimum(s, d)
    give = np.maximum(-net_in, 0.0)
    take = np.maximum(net_in, 0.0)
    # a giver releases its own shortfall's cover plus what it gives (at most its stock); a
    # receiver uses the pool first and its own stock for the rest of its shortfall
    r_give = np.minimum(s, own + give)
    a_take = np.minimum(d, own + take)
    r = np.where(net_in < 0, r_give, a_take - take)
    a = np.where(net_in < 0, r_give - give, a_take)
    r, a = np.clip(r, 0.0, s), np.clip(a, 0.0, d)
    return _outcome("need_based", partners, d, s, c, r, a)


def compare_rules(partners: Sequence[str], shortfall_t: Sequence[float], stock_t: Sequence[float],
                  daily_use_t: Sequence[float], price_usd_per_t: float | None) -> dict[str, object]:
    """The three rules side by side, with each rule's value of coordination
    ``(unmet_self - unmet_rule) x price`` in US$ (None without a price)."""
    outs = [calc_self_release(partners, shortfall_t, stock_t, daily_use_t),
            calc_proportional_release(partners, shortfall_t, stock_t, daily_use_t),
            calc_need_based_release(partners, shortfall_t, stock_t, daily_use_t)]
    base = outs[0].total_unmet_t
    rows = []
    for o in outs:
        row = o.as_dict()
        avoided = base - o.total_unmet_t
        row["avoided_shortfall_t"] = avoided
        row["value_of_coordination_usd"] = (avoided * price_usd_per_t
                                            if price_usd_per_t is not None and math.isfinite(price_usd_per_t) else None)
        rows.append(row)
    return {"partners": list(partners), "price_usd_per_t": price_usd_per_t, "rules": rows}


def daily_use(consumption_t_per_year: Mapping[str, float], days_per_year: float = 365.0) -> dict[str, float]:
    """Annual consumption (t/yr) to t/day."""
    return {k: float(v) / days_per_year for k, v in consumption_t_per_year.items()}
