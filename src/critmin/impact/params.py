"""Settings of the damage model (registered in :mod:`critmin.settings`, listed by ``critmin settings``).

Every number of :mod:`critmin.impact.damage` that is not a curated input is a setting here, with
the source of its default. Where no published figure exists the source says ASSUMPTION and what
the default was anchored on.
"""

from __future__ import annotations

from collections.abc import Mapping

from critmin import settings
from critmin.data.curated.economics import RATING_SCALE

settings.register(
    "impact.industry_exposure",
    0.1,
    "Share of a using industry's value added that stops, before any substitution, if the "
    "partner loses its whole annual consumption of one commodity that the industry uses "
    "(the dependence of the industry on the commodity is this times 1 - short-run "
    "substitutability).",
    "ASSUMPTION, stated: no public input-output table of the sectors' dependence on single "
    "minerals was reachable offline (USGS OFR 2025-1047 values disruptions by their effect on "
    "US industries with such a table). One tenth is an order of magnitude, the same for "
    "every sector and commodity; replace it with the OFR 2025-1047 industry impacts.",
)
settings.register(
    "impact.default_price_multiple",
    2.0,
    "Loss per tonne of a commodity without end-use data, value added or consumption, as a "
    "multiple of its price (flagged 'default_multiple' in the damage table).",
    "ASSUMPTION, stated: between the replacement value (1x price) and the USGS MCS 2025 "
    "Fig. 1 ratio of value added by the industries that consume processed mineral materials "
    "to the value of those materials (US$4,080 bn / US$977 bn = about 4.2).",
)
settings.register(
    "impact.default_substitutability",
    0.5,
    "Short-run substitutability of a (commodity, sector) with no published value (flagged "
    "'substitutability_default').",
    "ASSUMPTION: the 'adequate' rating of Graedel et al. (2015), the middle of their scale.",
)
settings.register(
    "impact.rating_scale",
    ",".join(f"{k}={v:g}" for k, v in RATING_SCALE.items()),
    "Short-run substitutability given to Graedel et al.'s substitute-performance ratings "
    "(exemplary, good, adequate, poor, none), as 'rating=value,...'; single-rating rows of substitutability.csv are "
    "recomputed with it.",
    "ASSUMPTION (docs/curated_data.md): exemplary 1, good 0.75, adequate 0.5, poor 0.25, "
    "none 0 over the qualitative ratings of Graedel et al. (2015), PNAS 112(20):6295-6300.",
)
settings.register(
    "impact.end_use_fallback",
    ("WORLD", "JPN"),
    "Where a partner has no end-use shares for a commodity, the end_uses.csv partners whose "
    "shares are used instead, in order (flagged 'proxy_end_uses:<partner>').",
    "docs/curated_data.md: WORLD rows hold a global split; the JPN rows are global shares of "
    "Graedel et al. (2015) or the IEA (marked PROXY).",
)


def rating_scale() -> dict[str, float]:
    """The rating -> substitutability scale (setting ``impact.rating_scale``), checked."""
    raw = settings.get("impact.rating_scale")
    expected = f"'rating=value,...' for each of {sorted(RATING_SCALE)}, values 0..1"
    try:
        scale = dict(raw) if isinstance(raw, Mapping) else dict(x.split("=", 1) for x in str(raw).split(",") if x.strip())
        out = {str(k).strip(): float(v) for k, v in scale.items()}
    except ValueError:
        raise ValueError(f"impact.rating_scale: {raw!r}; expected {expected}") from None
    if set(out) != set(RATING_SCALE):
        raise ValueError(f"impact.rating_scale: {raw!r}; expected {expected}")
    bad = {k: v for k, v in out.items() if not 0.0 <= v <= 1.0}
    if bad:
        raise ValueError(f"impact.rating_scale: {bad}; expected values in 0..1")
    return out
