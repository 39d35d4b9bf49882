"""The damage model: what a tonne of shortfall costs a partner (issue 13). Pure functions.

For a commodity c and a partner k with annual consumption C (t), end-use shares ``share_s``
(fraction of C used by sector s), value added ``VA_s`` (US$/yr) of the industry of sector s and
short-run substitutability ``sub_s`` (0 = no substitute):

* dependence of sector s on c:           ``d_s = e * (1 - sub_s)``, with ``e`` the industry
  exposure (setting ``impact.industry_exposure``): the share of the industry's value added that
  stops, before substitution, if the whole of C is missing;
* value added exposed per tonne:         ``X = sum_s share_s * VA_s * e / C``;
* value added at risk per tonne:         ``R = sum_s share_s * VA_s * d_s / C``
  ``= X * (1 - sub)`` where ``sub`` is the share x VA weighted substitutability;
* loss per tonne of shortfall:           ``L = max(price, R)``: a tonne that does not arrive
  costs at least what replacing it would cost.

The substitutability is applied once, sector by sector (it is inside ``d_s``); ``L`` is the
issue's "value added at risk per tonne consumed, times (1 - short-run substitutability),
bounded below by the market price" with ``X`` as the value added at risk before substitution.

Approach: USGS Open-File Report 2025-1047 values trade disruptions by their effect on the US
industries that use the commodity (value added lost downstream, not the commodity's price);
Nassar & Fortier (2021), *Methodology and technical input for the 2021 review and revision of
the U.S. Critical Minerals List*, USGS OFR 2021-1045, measure economic vulnerability by the
value added of the industries that use the commodity. The linear, per-tonne form is ours.

A commodity without end-use shares, value added or consumption gets ``price * m`` (setting
``impact.default_price_multiple``) and the flag ``default_multiple``, never an error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SectorUse:
    """One end-use sector of a (commodity, partner): its share of consumption (0-1), the value
    added of its industry in US$/yr (NaN = not found) and its short-run substitutability (0-1,
    NaN = none published)."""

    sector: str
    share: float
    va_usd: float
    substitutability: float


@dataclass(frozen=True)
class Damage:
    """Loss per tonne of shortfall and how it was reached."""

    loss_per_t: float
    price: float
    va_exposed_per_t: float  #: X, before substitution (NaN when the default applies)
    va_at_risk_per_t: float  #: R, after substitution (NaN when the default applies)
    substitutability: float  #: share x VA weighted short-run substitutability (NaN: default)
    basis: str  #: 'value_added' | 'price' (R below the price) | 'default_multiple'
    flags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def multiple(self) -> float:
        """Loss per tonne as a multiple of the price."""
        return self.loss_per_t / self.price if self.price > 0 else math.nan


def _finite(x: float) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def check_inputs(price: float, consumption_t: float, exposure: float, default_multiple: float,
                 default_substitutability: float) -> None:
    """Raise ValueError naming the argument that is out of range."""
    if not (_finite(price) and price > 0):
        raise ValueError(f"price: {price!r}; expected a finite price > 0 in US$/t")
    if not (_finite(consumption_t) and consumption_t >= 0):
        raise ValueError(f"consumption_t: {consumption_t!r}; expected a finite tonnage >= 0")
    if not (_finite(exposure) and 0 <= exposure <= 1):
        raise ValueError(f"exposure: {exposure!r}; expected a fraction 0..1")
    if not (_finite(default_multiple) and default_multiple >= 1):
        raise ValueError(f"default_multiple: {default_multiple!r}; expected a multiple >= 1")
    if not (_finite(default_substitutability) and 0 <= default_substitutability <= 1):
        raise ValueError(f"default_substitutability: {default_substitutability!r}; expected a fraction 0..1")


def calc_damage(price: float, consumption_t: float, sectors: Sequence[SectorUse], *, exposure: float,
                default_multiple: float, default_substitutability: float,
                flags: Sequence[str] = ()) -> Damage:
    """Loss per tonne of shortfall of one (commodity, partner); see the module docstring.

    Sectors with a NaN share or value added contribute nothing and are flagged
    (``share_missing:<sector>``, ``va_missing:<sector>``); a NaN substitutability takes
    ``default_substitutability`` (``substitutability_default:<sector>``). With no sector left,
    or no consumption, the loss is ``price * default_multiple`` (``default_multiple``)."""
    check_inputs(price, consumption_t, exposure, default_multiple, default_substitutability)
    out_flags = list(flags)
    exposed = at_risk = 0.0
    used = 0
    for s in sectors:
        if not (_finite(s.share) and s.share >= 0):
            out_flags.append(f"share_missing:{s.sector}")
            continue
        if not (_finite(s.va_usd) and s.va_usd >= 0):
            out_flags.append(f"va_missing:{s.sector}")
            continue
        sub = s.substitutability
        if not _finite(sub):
            sub = default_substitutability
            out_flags.append(f"substitutability_default:{s.sector}")
        if not 0 <= sub <= 1:
            raise ValueError(f"substitutability of {s.sector}: {sub!r}; expected a fraction 0..1")
        exposed += s.share * s.va_usd * exposure
        at_risk += s.share * s.va_usd * exposure * (1.0 - sub)
        used += 1
    if used == 0 or consumption_t <= 0 or exposed <= 0:
        out_flags.append("default_multiple" if consumption_t > 0 else "no_consumption")
        if "default_multiple" not in out_flags:
            out_flags.append("default_multiple")
        return Damage(price * default_multiple, price, math.nan, math.nan, math.nan, "default_multiple",
                      tuple(out_flags))
    x = exposed / consumption_t
    r = at_risk / consumption_t
    sub_eff = 1.0 - at_risk / exposed
    if r >= price:
        return Damage(r, price, x, r, sub_eff, "value_added", tuple(out_flags))
    return Damage(price, price, x, r, sub_eff, "price", tuple(out_flags))
