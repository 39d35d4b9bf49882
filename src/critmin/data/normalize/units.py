"""Unit conversion: every mass to metric tons (or kg for kg-reported commodities).

Conversion factors are exact SI definitions. Non-mass units (carats, cubic meters) are kept
in their own base unit ('carat', 'm3'). Unknown units are an error, never guessed.
"""

from __future__ import annotations

import re

# unit text (normalised) -> (base unit, factor to base)
_UNITS: dict[str, tuple[str, float]] = {
    "metric tons": ("t", 1.0),
    "metric ton": ("t", 1.0),
    "t": ("t", 1.0),
    "tons": ("t", 1.0),
    "metr. t": ("t", 1.0),
    "thousand metric tons": ("t", 1e3),
    "thousand metric dry tons": ("t", 1e3),
    "kt": ("t", 1e3),
    "million metric tons": ("t", 1e6),
    "mt": ("t", 1e6),
    "mmt": ("t", 1e6),
    "kilograms": ("kg", 1.0),
    "kilogram": ("kg", 1.0),
    "kg": ("kg", 1.0),
    "million carats": ("carat", 1e6),
    "thousand carats": ("carat", 1e3),
    "ct": ("carat", 1.0),
    "mct": ("carat", 1e6),
    "carats": ("carat", 1.0),
    "million cubic meters": ("m3", 1e6),
    "mio m3": ("m3", 1e6),
    "mmcm": ("m3", 1e6),
}


def norm_unit(text: str) -> str:
    return re.sub(r"\s+", " ", str(text).strip().lower())


def to_base(unit_text: str) -> tuple[str, float] | None:
    """(base unit, factor) for a unit text; None when unknown."""
    return _UNITS.get(norm_unit(unit_text))


def to_commodity_unit(base_unit: str, factor: float, trade_unit: str) -> tuple[str, float]:
    """Express mass in the commodity's reporting unit ('t' or 'kg')."""
    if base_unit == "t" and trade_unit == "kg":
        return "kg", factor * 1e3
    if base_unit == "kg" and trade_unit == "t":
        return "t", factor / 1e3
    return base_unit, factor
