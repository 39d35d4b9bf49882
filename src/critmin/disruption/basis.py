"""The unit basis of a commodity market: production, consumption and price on one basis.

A market adds and compares tonnes of production, of consumption and values them at one price,
so the three must measure the same thing (docs/data.md: gross weight and contained metal are
never mixed silently). The commodity's basis is what its traded tonnes are counted in
(``contained_as`` of :mod:`critmin.data.contained`: an element symbol such as ``Cr``, ``REO``,
or the product itself for commodities measured in gross weight, e.g. bauxite, feldspar).

* production: a supply figure whose product says *gross weight* for a commodity counted as an
  element is converted where a cited factor exists (:data:`PRODUCTION_CONVERSIONS`: chromium,
  marketable chromite ore x Cr2O3 grade x 0.6842; arsenic, arsenic trioxide x 0.7571), else the
  market is flagged; so is production of an oxide (equivalent) of an element-counted commodity;
* consumption: USGS salient apparent consumption and BACI net imports are in contained metal
  (``qty_contained_t``); curated figures state their basis in their note;
* price: the reference price of :mod:`critmin.disruption.refprice` states its basis in its note
  (``gross = contained``, ``per lb of chromium content``, ``gross weight``); a price per t of
  gross weight for a commodity counted as an element is flagged.

:func:`market_basis` states the three bases and the flags (``provenance['basis']``); a flagged
market is reported with the flag in its notes, never silently. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd

from critmin import settings
from critmin.data.contained import contained_factors

__all__ = ["CR_IN_CR2O3", "PRODUCTION_CONVERSIONS", "ProductionConversion", "commodity_basis",
           "convert_production", "market_basis"]

#: mass fraction of Cr in Cr2O3, 2 x 51.9961 / (2 x 51.9961 + 3 x 15.999) (CIAAW standard atomic
#: weights, abridged 2021, https://ciaaw.org/atomic-weights.htm)
CR_IN_CR2O3 = 2 * 51.9961 / (2 * 51.9961 + 3 * 15.999)

settings.register(
    "disruption.chromite_cr2o3_grade",
    0.45,
    "Cr2O3 mass fraction of marketable chromite ore, by which USGS world mine production of "
    "chromium (gross weight of marketable chromite ore) is converted to t of contained Cr "
    "(x 0.6842, Cr in Cr2O3) so that it is on the basis of the market's consumption (t of "
    "contained Cr). ASSUMPTION: USGS does not state the grade of the production figures.",
    "USGS MCS 2024 world data, mcs2024-chrom_world.csv, Reserves_notes: 'shipping-grade chromite "
    "ore, which is deposit quantity and grade normalized to 45% Cr2O3' (except the United States, "
    "7 %, and Finland, 26 %); USGS Minerals Yearbook, Chromium: marketable chromite ore is mostly "
    "44-46 % Cr2O3 (metallurgical grade; South African UG2 concentrate about 40-42 %). The trade "
    "factor of HS 2610 (data.contained_factor.2610, 42 % Cr2O3) is the traded average, a lower "
    "grade.",
)


@dataclass(frozen=True)
class ProductionConversion:
    """A cited conversion of a production product (gross weight) to the commodity's basis."""

    product: str  #: regular expression on the supply figure's product text
    contained_as: str
    factor: Callable[[], float]  #: t of contained_as per t of product (reads the settings)
    formula: str  #: the factor as stated in the notes


#: production products converted to the commodity's basis, by commodity
PRODUCTION_CONVERSIONS: dict[str, ProductionConversion] = {
    "chromium": ProductionConversion(
        r"chromite ore", "Cr",
        lambda: float(settings.get("disruption.chromite_cr2o3_grade")) * CR_IN_CR2O3,
        "Cr2O3 grade (setting disruption.chromite_cr2o3_grade, ASSUMPTION) x 0.6842 (Cr in Cr2O3)"),
    # USGS world production is plant production of arsenic trioxide (or equivalent), the US
    # salient figures are t of contained As: mcs2025-arsen_meta.xml, 'arsenic content of ...
    # arsenic trioxide is 75.71%' (2 x 74.9216 / (2 x 74.9216 + 3 x 15.999) = 0.7574)
    "arsenic": ProductionConversion(
        r"arsenic trioxide", "As", lambda: 0.7571,
        "0.7571 (As in As2O3, USGS MCS 2025 arsenic metadata mcs2025-arsen_meta.xml)"),
}
#: a production product that names an oxide or an oxide equivalent (not a contained element)
_OXIDE = re.compile(r"\boxide\b|trioxide|equivalent|U3O8|\bTiO2\b|K2O", re.IGNORECASE)

_GROSS = re.compile(r"gross", re.IGNORECASE)


@lru_cache(maxsize=1)
def _basis_of() -> dict[str, str]:
    out: dict[str, set[str]] = {}
    for f in contained_factors():
        out.setdefault(f.commodity_id, set()).add(f.contained_as)
    return {k: ";".join(sorted(v)) for k, v in out.items()}


def commodity_basis(cid: str) -> str | None:
    """What the commodity's tonnes count (``contained_as`` of its HS codes in
    ``catalog/hs_contained.csv``): an element ('Cr'), 'REO', or the commodity id itself where
    it is measured in the gross weight of the product; None for a commodity without HS codes."""
    return _basis_of().get(cid)


def _is_product(cid: str, basis: str | None) -> bool:
    return basis is None or basis == cid


def convert_production(cid: str, product: str, *series: pd.Series) -> tuple[tuple[pd.Series, ...], str | None]:
    """The production series in the commodity's basis, and the note of the conversion (None
    where none applies): gross weight of a product of :data:`PRODUCTION_CONVERSIONS` x its
    factor, e.g. chromium: t of marketable chromite ore x 0.45 x 0.6842 = t of contained Cr;
    arsenic: t of arsenic trioxide x 0.7571 = t of contained As."""
    conv = PRODUCTION_CONVERSIONS.get(cid)
    if conv is None or not re.search(conv.product, product or "", re.IGNORECASE):
        return series, None
    f = conv.factor()
    if not 0.0 < f <= 1.0:
        raise ValueError(f"{cid}: production conversion factor {f} outside (0, 1] ({conv.formula})")
    note = (f"{cid} production converted from t of {product!r} to t of contained "
            f"{conv.contained_as}: x {f:.4f} = {conv.formula}")
    return tuple(s * f for s in series), note


def market_basis(cid: str, product: str, converted: str | None, consumption: dict[str, str],
                 price_note: str) -> dict[str, Any]:
    """``provenance['basis']`` of a market: the basis of production, consumption (per
    consumer) and price, and ``flags`` (sentences) where they are not one basis.

    Rule: the commodity's basis is :func:`commodity_basis`. Production in gross weight
    (product text says *gross*) of a commodity counted as an element is a mismatch unless
    converted; a price on gross weight (its note says *gross weight*) likewise. Consumption
    is contained metal (salient, BACI ``qty_contained_t``) or the curated figure's own basis
    (stated in its note)."""
    basis = commodity_basis(cid)
    product_basis = _is_product(cid, basis)
    gross_prod = bool(_GROSS.search(product or ""))
    prod = (f"contained {basis} (converted: {converted})" if converted
            else f"gross weight of {product}" if gross_prod else f"as reported: {product or 'n/a'}")
    cons_basis = "product gross weight" if product_basis and basis else f"contained {basis or 'n/a'}"
    cons = {c: cons_basis for c in consumption}
    price = ("n/a" if price_note.startswith("not computable")
             else "contained" if re.search(r"contained|content", price_note)  # incl. 'converted to t of contained'
             else "gross weight" if re.search(r"gross weight", price_note) else "not audited")
    flags: list[str] = []
    if gross_prod and not converted and not product_basis:
        flags.append(f"basis mismatch: production is in gross weight of {product!r}, the commodity's traded "
                     f"tonnes (BACI net imports) in contained {basis}; no cited conversion factor (critmin.disruption.basis.PRODUCTION_CONVERSIONS): "
                     "production shares hold, world tonnes and the shortage relative to consumption do not")
    if _OXIDE.search(product or "") and not converted and not product_basis and basis != "REO":
        flags.append(f"basis mismatch: production is in t of {product!r}, the market's tonnes are contained "
                     f"{basis}; no cited conversion factor (critmin.disruption.basis.PRODUCTION_CONVERSIONS)")
    if price == "gross weight" and not product_basis:
        flags.append(f"basis mismatch: the reference price is per t of gross weight, the market's tonnes are "
                     f"contained {basis}")
    return {"commodity": basis, "production": prod, "consumption": cons, "price": price, "flags": flags}
