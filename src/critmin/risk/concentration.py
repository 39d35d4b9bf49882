"""Supply-concentration indicators: HHI, leading producer, top-3, China and alliance shares.

Pure functions on plain mappings (country ISO3 -> quantity or share). No I/O.

Shares are fractions 0-1 of a *denominator* chosen by :func:`critmin.data.supply.calc_shares`: the published
world total where the source gives one (USGS "World total (rounded)"), otherwise the sum of
the country rows plus the "Other countries" aggregate. Aggregate rows never enter the HHI as
if they were a country: the residual share of unnamed producers is reported separately
(``residual_share``), and the HHI over named countries is therefore a lower bound of the
true HHI (the residual could be one country or many).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Shares and the world-total rounding tolerance are data/'s (critmin.data.supply, the one owner
# of supply at a stage); the indicators here take Shares.
from critmin.data.supply import WORLD_TOTAL_ROUNDING, Shares

__all__ = [
    "ConcentrationResult",
    "Shares",
    "calc_concentration",
    "calc_group_share",
    "calc_hhi",
    "calc_hhi_wgi",
    "calc_leading",
    "calc_reserve_life",
    "calc_top_n_share",
]

#: HHI upper bound on the 0-10,000 scale (one producer with 100 %).
HHI_MAX = 10_000.0



def calc_hhi(shares: Iterable[float]) -> float:
    """Herfindahl-Hirschman index on the 0-10,000 scale.

    Formula: ``HHI = Σ_c (100 · s_c)²`` with shares ``s_c`` as fractions 0-1.

    Source: Hirschman (1945); Herfindahl (1950); scale as in the U.S. DOJ/FTC Horizontal
    Merger Guidelines (0-10,000). Used for production concentration in JRC (2017)
    *Methodology for establishing the EU list of critical raw materials* (Blengini et al.).

    Raises ``ValueError`` for a share outside [0, 1] (with a tolerance of 1e-9) or shares
    summing above 1 by more than the world-total rounding tolerance (5 %, see
    :func:`calc_shares`).
    """
    vals = [float(s) for s in shares]
    for s in vals:
        if not (-1e-9 <= s <= 1 + 1e-9):
            raise ValueError(f"share must be a fraction 0-1, got {s!r}")
    if sum(vals) > 1.0 + WORLD_TOTAL_ROUNDING + 1e-9:
        raise ValueError(f"shares sum to {sum(vals):.4f} > 1: not shares of one total")
    return float(sum((100.0 * s) ** 2 for s in vals))


def calc_hhi_wgi(shares: Mapping[str, float], wgi_scaled: Mapping[str, float]) -> float:
    """Governance-weighted concentration (EU method).

    Formula: ``HHI_WGI = Σ_c s_c² · WGI_c`` with shares ``s_c`` as fractions 0-1 and
    ``WGI_c`` the mean of the six World Governance Indicators rescaled to 0-10 (10 = worst,
    see :func:`critmin.risk.governance.calc_wgi_scaled`). Range 0-10.

    Source: JRC (2017), Blengini et al., *Methodology for establishing the EU list of critical
    raw materials*, section 3.2 (supply risk), where the HHI enters normalised 0-1.

    Every country with a share > 0 needs a WGI value; a missing one raises ``KeyError``
    naming the country (the caller reports the index as not computable).
    """
    total = 0.0
    for c, s in shares.items():
        if s <= 0:
            continue
        if c not in wgi_scaled:
            raise KeyError(f"no scaled WGI for producer {c!r} (share {s:.3f})")
        w = float(wgi_scaled[c])
        if not (0.0 <= w <= 10.0):
            raise ValueError(f"scaled WGI for {c!r} must be 0-10, got {w!r}")
        total += s * s * w
    return total


def calc_leading(shares: Mapping[str, float]) -> tuple[str, float]:
    """Leading country and its share: ``argmax_c s_c``. Ties break alphabetically by ISO3.

    Source: USGS MCS 2025 T5 (``Leading_source_country``, ``Leading_source_precent_world``).
    Raises ``ValueError`` when there are no shares.
    """
    if not shares:
        raise ValueError("no country shares")
    c = min(shares, key=lambda k: (-shares[k], k))
    return c, float(shares[c])


def calc_top_n_share(shares: Mapping[str, float], n: int = 3) -> float:
    """Combined share of the ``n`` largest producers: ``Σ_{c in top n} s_c``.

    Source: concentration ratio CR_n (e.g. CR3), standard in industrial economics; used for
    minerals in IEA (2021) *The Role of Critical Minerals in Clean Energy Transitions*.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return float(sum(sorted(shares.values(), reverse=True)[:n]))


def calc_group_share(shares: Mapping[str, float], group: Iterable[str]) -> float:
    """Share of a group of countries (e.g. China ``{'CHN'}``, or an alliance):
    ``Σ_{c in G} s_c``. Countries of the group that do not produce contribute 0."""
    g = set(group)
    return float(sum(s for c, s in shares.items() if c in g))


def calc_reserve_life(reserves: float, production: float) -> float:
    """Static reserve life in years: ``R / P`` (reserves over annual production).

    Source: the static lifetime (reserves-to-production ratio), e.g. USGS MCS reserves and
    production; see Graedel et al. (2012) *Methodology of metal criticality determination*.
    Raises ``ValueError`` for a non-positive production or a negative reserve.
    """
    if not (math.isfinite(reserves) and reserves >= 0):
        raise ValueError(f"reserves must be finite and >= 0, got {reserves!r}")
    if not (math.isfinite(production) and production > 0):
        raise ValueError(f"production must be finite and > 0, got {production!r}")
    return reserves / production


@dataclass(frozen=True)
class ConcentrationResult:
    """All concentration indicators of one commodity, stage and year."""

    hhi: float
    top_country_iso3: str
    top_share: float
    top3_share: float
    china_share: float
    allied_share: float
    hhi_wgi: float | None
    residual_share: float
    basis: str
    missing: tuple[str, ...] = field(default=())


def calc_concentration(
    shares: Shares,
    allied: Iterable[str],
    wgi_scaled: Mapping[str, float] | None = None,
) -> ConcentrationResult:
    """The concentration indicators from country shares (see the functions above).

    ``hhi_wgi`` is None (with the reason in ``missing``) when ``wgi_scaled`` is not given or
    lacks a producer.
    """
    s = shares.shares
    positive = {c: v for c, v in s.items() if v > 0}
    if not positive:
        raise ValueError("no country with positive production")
    top_c, top_s = calc_leading(positive)
    missing: list[str] = []
    hhi_wgi: float | None = None
    if wgi_scaled is None:
        missing.append("hhi_wgi: no governance data")
    else:
        lacking = sorted(c for c in positive if c not in wgi_scaled)
        if lacking:
            missing.append("hhi_wgi: no WGI for producer(s) " + ", ".join(lacking))
        else:
            hhi_wgi = calc_hhi_wgi(positive, wgi_scaled)
    return ConcentrationResult(
        hhi=calc_hhi(positive.values()),
        top_country_iso3=top_c,
        top_share=top_s,
        top3_share=calc_top_n_share(positive, 3),
        china_share=calc_group_share(positive, {"CHN"}),
        allied_share=calc_group_share(positive, allied),
        hhi_wgi=hhi_wgi,
        residual_share=shares.residual_share,
        basis=shares.basis,
        missing=tuple(missing),
    )
