"""Country governance scores from the World Bank Worldwide Governance Indicators (WGI).

Pure functions. The EU criticality method (JRC 2017) uses the mean of the six WGI estimates
(Voice and Accountability VA, Political Stability PV, Government Effectiveness GE,
Regulatory Quality RQ, Rule of Law RL, Control of Corruption CC), each published on
roughly -2.5 (worst) .. +2.5 (best), rescaled to 0-10 with 10 the *worst* governance.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

__all__ = ["WGI_DIMENSIONS", "Governance", "GovernanceFill", "calc_wgi_mean",
           "calc_wgi_scaled", "calc_wgi_unit", "wgi_table"]

#: the six WGI dimensions (World Bank codes)
WGI_DIMENSIONS: tuple[str, ...] = ("CC", "GE", "PV", "RQ", "RL", "VA")

#: the published range of a WGI estimate
WGI_EST_MIN, WGI_EST_MAX = -2.5, 2.5


def calc_wgi_mean(estimates: Mapping[str, float]) -> float:
    """Mean of the six WGI estimates: ``(CC + GE + PV + RQ + RL + VA) / 6``.

    Source: JRC (2017) Blengini et al., *Methodology for establishing the EU list of critical
    raw materials*, section 3.2.2 ("scaled WGI": the average of the six indicators).
    All six dimensions are required; a missing one raises ``KeyError`` naming it.
    """
    missing = [d for d in WGI_DIMENSIONS if d not in estimates or estimates[d] is None
               or (isinstance(estimates[d], float) and math.isnan(estimates[d]))]
    if missing:
        raise KeyError(f"WGI dimension(s) missing: {', '.join(missing)}")
    return float(sum(float(estimates[d]) for d in WGI_DIMENSIONS) / len(WGI_DIMENSIONS))


def calc_wgi_scaled(mean_estimate: float) -> float:
    """WGI rescaled to 0-10, 10 = worst governance.

    Formula: ``WGI_scaled = (2.5 - est) / 5 · 10`` where ``est`` is the (mean) WGI estimate
    on its published -2.5..+2.5 scale; values outside that range (the scale is not strictly
    bounded) are clipped to 0..10.

    Source: JRC (2017) Blengini et al., section 3.2.2: the WGI is rescaled to 0-10 "with
    higher values reflecting worse governance" so that HHI_WGI rises with poor governance.
    """
    if not math.isfinite(mean_estimate):
        raise ValueError(f"WGI estimate must be finite, got {mean_estimate!r}")
    v = (WGI_EST_MAX - float(mean_estimate)) / (WGI_EST_MAX - WGI_EST_MIN) * 10.0
    return min(10.0, max(0.0, v))


def calc_wgi_unit(mean_estimate: float) -> float:
    """WGI rescaled to 0-1, 1 = worst: ``calc_wgi_scaled(est) / 10``.

    This is the normalisation used by the GeoPolRisk method (Gemechu et al. 2016,
    Koyamparambath et al. 2022: ``(2.5 - est) / 5``) and for the USGS-style disruption
    potential in this package (0-1 factors).
    """
    return calc_wgi_scaled(mean_estimate) / 10.0


def wgi_table(estimates: pd.DataFrame) -> pd.DataFrame:
    """Per-country scaled WGI from long estimates.

    Input columns: ``country_iso3, dimension, value`` (one year). Output, indexed by
    ``country_iso3``: ``wgi_mean`` (mean estimate), ``wgi_scaled`` (0-10, 10 worst),
    ``wgi_unit`` (0-1), ``n_dims``. Countries lacking one of the six dimensions are dropped
    (they have no EU-method WGI); callers report them as missing.
    """
    df = estimates[estimates["dimension"].isin(WGI_DIMENSIONS)].dropna(subset=["value", "country_iso3"])
    g = df.groupby("country_iso3")["value"].agg(["mean", "count"])
    g = g[g["count"] == len(WGI_DIMENSIONS)]
    out = pd.DataFrame(index=g.index)
    out["wgi_mean"] = g["mean"].astype(float)
    out["wgi_scaled"] = ((WGI_EST_MAX - out["wgi_mean"]) / 5.0 * 10.0).clip(0.0, 10.0)
    out["wgi_unit"] = out["wgi_scaled"] / 10.0
    out["n_dims"] = g["count"].astype(int)
    return out


@dataclass(frozen=True)
class Governance:
    """Governance scores of one year with the fallbacks for producers that have none.

    ``scaled``: ISO3 -> WGI rescaled 0-10 (10 worst, :func:`calc_wgi_scaled`);
    ``sovereign``: territory ISO3 -> sovereign ISO3 (the warehouse's table,
    :func:`critmin.data.governance.sovereign_of`); ``median_max_share``: a producer without
    a score (and without a sovereign that has one) whose share is at most this takes the
    median of ``scaled``; a larger one leaves the index not computable.
    """

    scaled: Mapping[str, float]
    sovereign: Mapping[str, str] = field(default_factory=dict)
    median_max_share: float = 0.05
    year: int | None = None
    #: countries whose scores in ``scaled`` are already their sovereign's (the warehouse
    #: filled them): territory -> sovereign; flagged like the fallback
    borrowed: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def median(self) -> float | None:
        vals = sorted(float(v) for v in self.scaled.values())
        return float(statistics.median(vals)) if vals else None

    def resolve(self, shares: Mapping[str, float]) -> GovernanceFill:
        """Scores (0-10) for every producer with a share > 0, with the fallbacks taken.

        A territory takes its sovereign's score (flag ``territory``); a producer under
        ``median_max_share`` without a score takes the median (flag ``median``); a larger one
        is listed in ``lacking`` (the caller reports the index as not computable).
        """
        out: dict[str, float] = {}
        flags: list[str] = []
        lacking: list[str] = []
        for c, s in shares.items():
            if s <= 0:
                continue
            if c in self.scaled:
                out[c] = float(self.scaled[c])
                if c in self.borrowed:
                    flags.append(f"territory: {c} (share {s:.1%}) takes the governance of its sovereign "
                                 f"{self.borrowed[c]}")
                continue
            sov = self.sovereign.get(c)
            if sov is not None and sov in self.scaled:
                out[c] = float(self.scaled[sov])
                flags.append(f"territory: {c} (share {s:.1%}) takes the governance of its sovereign {sov}")
            elif s <= self.median_max_share + 1e-12 and self.median is not None:
                out[c] = self.median
                flags.append(f"median: {c} (share {s:.1%}, under {self.median_max_share:.0%}) has no WGI; "
                             f"median WGI of {len(self.scaled)} countries taken")
            else:
                lacking.append(c)
        return GovernanceFill(out, tuple(flags), tuple(sorted(lacking)))


@dataclass(frozen=True)
class GovernanceFill:
    """Result of :meth:`Governance.resolve`: scores 0-10 by producer, fallback flags, and the
    producers left without a score (above the share threshold)."""

    scaled: dict[str, float]
    flags: tuple[str, ...]
    lacking: tuple[str, ...]

    @property
    def unit(self) -> dict[str, float]:
        """Scores rescaled 0-1 (1 worst)."""
        return {c: v / 10.0 for c, v in self.scaled.items()}
