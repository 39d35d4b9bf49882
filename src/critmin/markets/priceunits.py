"""Price units: the warehouse's spellings mapped onto the one unit table, and conversion.

The factors are those of :data:`critmin.data.normalize.units.PRICE_TO_USD_PER_T` (the one unit
table of critmin); this module only says which warehouse spelling names which of its units.
The World Bank Pink Sheet writes "$/mt" for US$ per *metric ton* (the Pink Sheet's unit notes:
"mt = metric ton"), which the importer keeps as ``USD/mt``: it is ``USD/t`` here (1 US$/t =
0.001 US$/kg), never per million tonnes (``Mt``).
"""

from __future__ import annotations

import numpy as np

from critmin.data.normalize.units import PRICE_TO_USD_PER_T, PRICE_UNIT_ALIASES, price_to_usd_per_t


def price_unit(unit: str) -> str:
    """The unit of the one unit table that a warehouse price unit names (``USD/mt`` -> ``USD/t``)."""
    return PRICE_UNIT_ALIASES.get(unit, unit)


def is_convertible(unit: str) -> bool:
    """Whether a price unit converts to US$ per mass (:data:`PRICE_TO_USD_PER_T`)."""
    return price_unit(unit) in PRICE_TO_USD_PER_T


def convert_price(values: np.ndarray | float, from_unit: str, to_unit: str) -> np.ndarray:
    """Convert prices between units of the one unit table: ``x * f(from) / f(to)`` with ``f``
    the factor to US$/t (1 lb = 0.45359237 kg, 1 troy oz = 31.1034768 g, 1 t = 1000 kg, ...;
    ``USD/mt`` is ``USD/t``). ``ValueError`` naming the unit otherwise."""
    try:
        f_from, f_to = price_to_usd_per_t(price_unit(from_unit)), price_to_usd_per_t(price_unit(to_unit))
    except KeyError as e:
        raise ValueError(e.args[0]) from None
    return np.asarray(values, dtype=float) * f_from / f_to
