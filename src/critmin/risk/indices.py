"""Composite supply-risk indices: EU (JRC 2017), USGS-style (Nassar & Fortier 2021) and the
joint US-Japan score. Pure functions; missing inputs give an explicit "not computable".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from critmin.risk.concentration import calc_hhi_wgi

__all__ = [
    "IndexValue",
    "calc_disruption_potential",
    "calc_eu_supply_risk",
    "calc_joint_score",
    "calc_sourcing_shares",
    "calc_usgs_supply_risk",
    "not_computable",
]


@dataclass(frozen=True)
class IndexValue:
    """A composite index value, or ``value=None`` with the ``reason`` it is not computable."""

    value: float | None
    reason: str | None = None
    detail: str = ""

    @property
    def computable(self) -> bool:
        return self.value is not None


def not_computable(reason: str) -> IndexValue:
    return IndexValue(None, f"not computable: {reason}")


def _unit(name: str, v: float) -> float:
    if not (math.isfinite(v) and 0.0 <= v <= 1.0):
        raise ValueError(f"{name} must be a fraction 0-1, got {v!r}")
    return float(v)


def calc_sourcing_shares(
    consumer: str, import_reliance: float, import_shares: Mapping[str, float]
) -> dict[str, float]:
    """The consumer's sourcing mix: domestic supply plus imports by origin.

    Formula: ``σ_dom = 1 - IR``; ``σ_c = IR · m_c`` for each import partner ``c`` (``m_c``
    import share, ``Σ m_c = 1``); imports the consumer itself reports from its own territory
    (re-imports) are added to the domestic share.

    Source: JRC (2017) section 3.2.3: the "EU sourcing" mix is domestic production plus
    imports by country of origin. Splitting it by IR (rather than adding tonnages) keeps
    production and trade tonnages, which are in different units, apart.
    """
    ir = _unit("import reliance", import_reliance)
    out: dict[str, float] = {consumer: 1.0 - ir}
    for c, m in import_shares.items():
        out[c] = out.get(c, 0.0) + ir * _unit(f"import share of {c}", m)
    return out


def calc_eu_supply_risk(
    hhi_wgi_global: float,
    hhi_wgi_sourcing: float,
    import_reliance: float,
    eol_rir: float,
    si_sr: float,
) -> float:
    """EU supply risk at one stage.

    Formula: ``SR = [HHI_WGI,GS · IR/2 + HHI_WGI,sourcing · (1 - IR/2)] · (1 - EoL-RIR) · SI_SR``
    (the trade-restriction factor ``t`` of the original is 1 here: export restrictions are
    modelled by the disruption package).

    Source: JRC (2017) Blengini et al., *Methodology for establishing the EU list of critical
    raw materials*, eq. (4) in section 3.2; EU CRM 2023 assessment uses the same formula.
    ``HHI_WGI`` values are on 0-10 (HHI normalised 0-1, WGI 0-10), so SR is on 0-10.
    """
    for name, v in (("HHI_WGI global", hhi_wgi_global), ("HHI_WGI sourcing", hhi_wgi_sourcing)):
        if not (math.isfinite(v) and 0.0 <= v <= 10.0 + 1e-9):
            raise ValueError(f"{name} must be 0-10, got {v!r}")
    ir = _unit("import reliance", import_reliance)
    rir = _unit("EoL-RIR", eol_rir)
    si = _unit("SI_SR", si_sr)
    return (hhi_wgi_global * ir / 2.0 + hhi_wgi_sourcing * (1.0 - ir / 2.0)) * (1.0 - rir) * si


def calc_eu_supply_risk_consumer(
    consumer: str,
    global_shares: Mapping[str, float],
    import_shares: Mapping[str, float],
    import_reliance: float,
    wgi_scaled: Mapping[str, float],
    eol_rir: float,
    si_sr: float,
) -> float:
    """EU supply risk for a consumer country at one stage (composition of
    :func:`calc_sourcing_shares`, :func:`critmin.risk.concentration.calc_hhi_wgi` and
    :func:`calc_eu_supply_risk`). Raises ``KeyError`` for a country without WGI."""
    sourcing = calc_sourcing_shares(consumer, import_reliance, import_shares)
    return calc_eu_supply_risk(
        calc_hhi_wgi(global_shares, wgi_scaled),
        calc_hhi_wgi(sourcing, wgi_scaled),
        import_reliance,
        eol_rir,
        si_sr,
    )


def calc_disruption_potential(
    shares: Mapping[str, float], wgi_unit: Mapping[str, float], consumer: str | None = None
) -> float:
    """Disruption potential of foreign supply, 0-1.

    Formula: ``DP = Σ_{c ≠ consumer} s_c² · g_c`` with world production shares ``s_c`` and
    ``g_c`` the six-WGI mean rescaled to 0-1 (1 worst): the governance-weighted production
    concentration, excluding the consumer's own production (which cannot be disrupted by a
    foreign supplier).

    Source: after Nassar et al. (2020) Sci. Adv. 6:eaay8647 and Nassar & Fortier (2021),
    USGS OFR 2021-1045: disruption potential = production concentration weighted by
    producer-country governance. Our governance composite and scaling differ from the
    USGS's (docs/methodology.md).
    """
    foreign = {c: s for c, s in shares.items() if c != consumer}
    return calc_hhi_wgi(foreign, {c: 10.0 * g for c, g in wgi_unit.items()}) / 10.0


def calc_usgs_supply_risk(
    disruption_potential: float, trade_exposure: float, economic_vulnerability: float
) -> float:
    """USGS-style supply risk, 0-1: ``SR = DP · TE · EV``, each factor 0-1.

    Source: Nassar et al. (2020) Sci. Adv. 6:eaay8647; Nassar & Fortier (2021)
    *Methodology and technical input for the 2021 review and revision of the U.S. critical
    minerals list*, USGS OFR 2021-1045 (supply risk = the product of disruption potential,
    trade exposure and economic vulnerability).
    """
    return (
        _unit("disruption potential", disruption_potential)
        * _unit("trade exposure", trade_exposure)
        * _unit("economic vulnerability", economic_vulnerability)
    )


def calc_joint_score(
    usgs_sr: Mapping[str, float],
    eu_sr: Mapping[str, float],
    consumer_weights: Mapping[str, float],
    weight_usgs: float,
    weight_eu: float,
) -> float:
    """Joint criticality score of a commodity for several consumers, 0-1.

    Formula: ``J = Σ_k ŵ_k · (a · SR_USGS,k + b · SR_EU,k / 10) / (a + b)`` with consumer
    weights ``ŵ_k`` normalised to sum 1, component weights ``a = weight_usgs`` and
    ``b = weight_eu``; ``SR_EU / 10`` maps the EU index onto 0-1 by its theoretical
    maximum (HHI_WGI <= 10, the other factors <= 1).

    Source: this project (docs/methodology.md, "Joint score"); the weights are settings
    ``risk.joint.*``. Every consumer needs both components (a missing one raises ``KeyError``
    naming it: the caller reports the score as not computable).
    """
    if weight_usgs < 0 or weight_eu < 0 or weight_usgs + weight_eu <= 0:
        raise ValueError("component weights must be >= 0 and not both 0")
    wsum = float(sum(consumer_weights.values()))
    if wsum <= 0 or any(w < 0 for w in consumer_weights.values()):
        raise ValueError("consumer weights must be >= 0 with a positive sum")
    total = 0.0
    for k, w in consumer_weights.items():
        if weight_usgs > 0 and k not in usgs_sr:
            raise KeyError(f"usgs_supply_risk for {k}")
        if weight_eu > 0 and k not in eu_sr:
            raise KeyError(f"eu_supply_risk for {k}")
        u = _unit(f"USGS SR {k}", usgs_sr[k]) if weight_usgs > 0 else 0.0
        e = eu_sr[k] / 10.0 if weight_eu > 0 else 0.0
        if not 0.0 <= e <= 1.0 + 1e-9:
            raise ValueError(f"EU SR for {k} must be 0-10, got {eu_sr[k]!r}")
        total += (w / wsum) * (weight_usgs * u + weight_eu * e) / (weight_usgs + weight_eu)
    return total
