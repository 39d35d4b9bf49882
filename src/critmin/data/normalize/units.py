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


#: spellings told apart by case before normalising: "Mt" is the SI symbol for a million metric
#: tons (USGS world tables' unit code); a bare "mt" means a *metric ton* in World Bank usage and
#: a million tonnes in some other sources, so it is refused as ambiguous (None), never guessed.
_CASE_SENSITIVE: dict[str, tuple[str, float]] = {"Mt": ("t", 1e6)}
AMBIGUOUS = frozenset({"mt"})


def to_base(unit_text: str) -> tuple[str, float] | None:
    """(base unit, factor) for a unit text; None when unknown or ambiguous ("mt")."""
    raw = str(unit_text).strip()
    if raw in _CASE_SENSITIVE:
        return _CASE_SENSITIVE[raw]
    norm = norm_unit(raw)
    if norm in AMBIGUOUS:
        return None
    return _UNITS.get(norm)


def to_commodity_unit(base_unit: str, factor: float, trade_unit: str) -> tuple[str, float]:
    """Express mass in the commodity's reporting unit ('t' or 'kg')."""
    if base_unit == "t" and trade_unit == "kg":
        return "kg", factor * 1e3
    if base_unit == "kg" and trade_unit == "t":
        return "t", factor / 1e3
    return base_unit, factor


# --- normalised units -> metric tons / US$ per metric ton --------------------------------------
# The one unit table of critmin for quantities already normalised by the importer (the
# ``unit`` columns of the warehouse) and for price units. "Mt" is the SI symbol for a million
# metric tons; "t" is one metric ton. The World Bank's "$/mt" means US$ per *metric ton*: it is
# spelled "USD/t" here so that no spelling of "mt" means two things.

#: normalised mass unit -> factor to metric tons
MASS_TO_T: dict[str, float] = {"t": 1.0, "kg": 1e-3, "kt": 1e3, "Mt": 1e6, "g": 1e-6}

#: price unit -> factor to US$ per metric ton (1 lb = 0.45359237 kg; 1 troy oz = 31.1034768 g;
#: 1 short ton = 907.18474 kg; 1 flask of mercury = 34.473 kg; 1 metric ton unit (mtu) = 10 kg
#: of the named content: 1 % of a metric ton)
PRICE_TO_USD_PER_T: dict[str, float] = {
    "USD/t": 1.0,
    "USD/kg": 1e3,
    "USD/g": 1e6,
    "USD/lb": 1e3 / 0.45359237,
    "USc/lb": 10.0 / 0.45359237,
    "USD/troy oz": 1e6 / 31.1034768,
    "USD/short ton": 1e3 / 907.18474,
    "USD/flask": 1e3 / 34.473,
    # per-content units (critmin.data.normalize.prices: the basis each converts to, with the USGS
    # metadata that states the unit): US$ per t of the *contained* element or oxide
    "USD/mtu WO3": 1e3 / 7.93,  # 1 mtu WO3 = 10 kg WO3 = 7.93 kg W: US$ per t of W
    "USD/mtu Mn": 100.0,  # 1 mtu = 10 kg of Mn content: US$ per t of Mn
    "USD/kg Ta2O5": 1e3 / (2 * 180.948 / 441.893),  # US$ per t of Ta (Ta2O5 is 81.897 % Ta)
    "USD/t K2O": 1.0,  # US$ per t of K2O equivalent
    "USD/t Li2CO3": 73.888 / 13.88,  # US$ per t of Li (Li2CO3 is 18.785 % Li: 2 x 6.94 / 73.888)
    "USD/lb V2O5": (1e3 / 0.45359237) * 181.878 / 101.883,  # US$ per t of V (V2O5 is 56.017 % V)
}


#: price units as sources spell them -> the unit of :data:`PRICE_TO_USD_PER_T` they name. The
#: World Bank Pink Sheet writes "$/mt" for US$ per metric ton (its unit notes: "mt = metric
#: ton"); the importer keeps it as ``USD/mt``.
PRICE_UNIT_ALIASES: dict[str, str] = {"USD/mt": "USD/t"}

#: a contract's price unit -> mass units per metric ton (kg per t for US$/kg; 1 for US$/t)
MASS_UNITS_PER_T: dict[str, float] = {"USD/kg": 1e3, "USD/t": 1.0}


def mass_to_t(unit: str) -> float:
    """Factor from a normalised mass unit to metric tons; ``KeyError`` naming the unit."""
    try:
        return MASS_TO_T[unit]
    except KeyError:
        raise KeyError(f"unit {unit!r} is not a mass unit (expected one of {sorted(MASS_TO_T)})") from None


def price_to_usd_per_t(unit: str) -> float:
    """Factor from a price unit to US$/t; ``KeyError`` naming the unit."""
    try:
        return PRICE_TO_USD_PER_T[unit]
    except KeyError:
        raise KeyError(f"price unit {unit!r} not convertible (expected one of {sorted(PRICE_TO_USD_PER_T)})") from None
