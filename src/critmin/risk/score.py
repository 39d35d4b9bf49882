"""Scores of one commodity for one consumer at every chain stage (pure: the inputs are passed in).

At each stage ``s`` with data: the USGS-style ``SR = DP_s · TE_s · EV`` (disruption potential of
the stage's foreign producers, the consumer's net import reliance at that stage, the price
volatility of the commodity) and the EU ``SR_s`` (JRC 2017 eq. 4 with the stage's shares and
the consumer's imports of the stage's products); their combination by the joint weights is the
stage score (:func:`critmin.risk.bottleneck.calc_stage_score`). Producers without a WGI take
the documented fallbacks of :class:`critmin.risk.governance.Governance`; every fallback is a flag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from critmin.risk.bottleneck import StageScore, calc_stage_score
from critmin.risk.chain import StageView
from critmin.risk.exposure import NIR
from critmin.risk.governance import Governance
from critmin.risk.indices import (
    calc_disruption_potential,
    calc_eu_supply_risk_consumer,
    calc_usgs_supply_risk,
)

__all__ = ["CommodityInputs", "consumer_stage_scores"]


@dataclass(frozen=True)
class CommodityInputs:
    """The commodity-level inputs: price volatility (EV, 0-1) with its flags, EoL-RIR and SI_SR,
    or why each is missing."""

    ev: float | None
    ev_flags: tuple[str, ...] = ()
    ev_reason: str | None = None
    eol_rir: float | None = None
    si_sr: float | None = None
    eu_reason: str | None = None  #: why the EU index cannot be computed (SI or RIR missing)
    extra: dict[str, Any] = field(default_factory=dict)


def _dp(view: StageView, governance: Governance | None, consumer: str) -> tuple[float | None, tuple[str, ...], str | None]:
    sh = view.supply.shares
    if sh is None:
        return None, (), "no country shares"
    if governance is None:
        return None, (), "no WGI within the allowed lag"
    fill = governance.resolve({c: s for c, s in sh.shares.items() if c != consumer})
    if fill.lacking:
        lack = ", ".join(f"{c} ({sh.shares[c]:.1%})" for c in fill.lacking)
        return None, fill.flags, (f"no WGI for producer(s) {lack}, above the "
                                  f"{governance.median_max_share:.0%} share of the median fallback")
    return calc_disruption_potential(sh.shares, fill.unit, consumer=consumer), fill.flags, None


def _eu(view: StageView, governance: Governance | None, consumer: str, nir: NIR | None,
        imports: Mapping[str, float] | None, ci: CommodityInputs) -> tuple[float | None, str | None]:
    if ci.eu_reason is not None or ci.si_sr is None or ci.eol_rir is None:
        return None, ci.eu_reason or "no SI_SR or EoL-RIR"
    ir = nir.usable if nir is not None else None
    if ir is None:
        return None, f"no net import reliance for {consumer} at {view.stage}"
    if governance is None or view.supply.shares is None:
        return None, "no WGI within the allowed lag" if governance is None else "no country shares"
    if imports is None and ir > 0:
        return None, f"no {consumer} imports by partner at {view.stage}"
    shares = view.supply.shares.shares
    need = {**{c: s for c, s in shares.items() if s > 0}, **(imports or {}), consumer: 1.0 - ir}
    fill = governance.resolve({c: min(s, 1.0) for c, s in need.items()})
    if fill.lacking:
        return None, f"no WGI for {', '.join(fill.lacking)}"
    try:
        return calc_eu_supply_risk_consumer(consumer, shares, imports or {}, ir, fill.scaled,
                                            ci.eol_rir, ci.si_sr), None
    except (KeyError, ValueError) as e:
        return None, str(e.args[0])


def consumer_stage_scores(
    consumer: str,
    views: Mapping[str, StageView],
    governance: Governance | None,
    nir_by_stage: Mapping[str, NIR],
    nir_flags: Mapping[str, Sequence[str]],
    nir_reasons: Mapping[str, str],
    imports_by_stage: Mapping[str, Mapping[str, float]],
    ci: CommodityInputs,
    weight_usgs: float,
    weight_eu: float,
    extra_flags: Sequence[str] = (),
) -> dict[str, StageScore]:
    """The consumer's score at every stage of ``views`` (see module doc). ``extra_flags`` are
    the consumer's flags that apply at every stage (the governance year)."""
    out: dict[str, StageScore] = {}
    for st, view in views.items():
        reasons: list[str] = []
        dp, gov_flags, dp_why = _dp(view, governance, consumer)
        nir = nir_by_stage.get(st)
        te = nir.usable if nir is not None else None
        usgs = None
        if dp is None:
            reasons.append(f"disruption potential: {dp_why}")
        if te is None:
            reasons.append(f"net import reliance: {nir_reasons.get(st, 'not computable')}")
        if ci.ev is None:
            reasons.append(f"economic vulnerability: {ci.ev_reason or 'no price series'}")
        if dp is not None and te is not None and ci.ev is not None:
            usgs = calc_usgs_supply_risk(min(1.0, dp), te, ci.ev)
        usgs_reasons = list(reasons)
        eu, eu_why = _eu(view, governance, consumer, nir, imports_by_stage.get(st), ci)
        if weight_usgs <= 0:
            reasons = []
        if weight_eu > 0 and eu is None:
            reasons.append(f"EU supply risk: {eu_why}")
        flags = [*view.flags, *gov_flags, *nir_flags.get(st, ()), *extra_flags]
        if weight_usgs > 0:
            flags += list(ci.ev_flags)
        sc = calc_stage_score(st, usgs, eu, weight_usgs, weight_eu, tuple(dict.fromkeys(flags)), reasons)
        out[st] = replace(sc, usgs_reason="; ".join(usgs_reasons) or None, eu_reason=eu_why)
    return out
