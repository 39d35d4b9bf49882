"""A country's figure in one source's supply at a stage: reported, withheld, nil, or not named.

The rule behind :meth:`critmin.data.supply.StageSupply.partner`, the one answer to "what does the
chosen source say a partner produces at this stage". A country the source does not name is not
a country with nil output whenever the source leaves part of world output to a residual
('Other countries' in the USGS MCS, 'Rest of world' in the IEA Critical Minerals Data Explorer,
which names only the top four to six countries): Japan's refined nickel is inside the IEA's
'Rest of world' (iea.json ``supply.Nickel.refining.countries``: Indonesia, China, Finland,
Australia, Russia, Canada, Rest of world), while Sumitomo Metal Mining's Niihama refinery alone
has had an electrolytic-nickel capacity of 65,000 t a year since 2013 (mining-technology.com,
"Sumitomo to expand nickel refinery", 2011-08; AMM, "Sumitomo Metal Mining will up nickel
output", 2013-04). Such a country is *not reported*, with the residual as its upper bound.

Pure function; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["NIL_RESIDUAL_SHARE", "PartnerFigure", "calc_partner_figure"]

#: A country a source does not name is nil there only when the named countries leave at most
#: this part of world output unattributed (rows summing to the world total, as World Mining Data
#: lists every producer; half a per cent absorbs the rounding of shares given to 0.1 %); beyond
#: it the country may sit in the residual ('Other countries', IEA 'Rest of world').
NIL_RESIDUAL_SHARE = 0.005


@dataclass(frozen=True)
class PartnerFigure:
    """One country's figure in a stage supply, in the supply's ``unit``.

    ``status``: ``'reported'`` (named with a number), ``'withheld'`` (named, coded: W, NA),
    ``'nil'`` (not named, and the named countries account for world output: 0), ``'not_named'``
    (not named while part of world output is unattributed: ``quantity`` None, at most
    ``at_most``, the residual). ``note`` says which, with the source and year.
    """

    iso3: str
    status: str
    quantity: float | None
    at_most: float | None
    note: str


def calc_partner_figure(iso3: str, quantities: Mapping[str, float], residual_share: float | None,
                        denominator: float | None, missing: Sequence[str] = (),
                        label: str = "the source", unit: str = "") -> PartnerFigure:
    """The figure of ``iso3`` in a source's country list.

    Named (``quantities``): its quantity. Named with a coded cell (``missing`` holds
    "<stage> <year>: <ISO3> production is 'W' ..."): ``withheld``. Not named: 0 only when the
    residual share ``r = 1 - Σ_c q_c / D`` (:class:`critmin.data.supply.Shares`) is at most
    :data:`NIL_RESIDUAL_SHARE`; otherwise ``not_named``, at most ``r · D`` (the country may be
    any part of the residual). No shares (``residual_share`` None): ``not_named``, unbounded.
    """
    if iso3 in quantities:
        return PartnerFigure(iso3, "reported", float(quantities[iso3]), None, "")
    coded = [m for m in missing if f": {iso3} production is " in m]
    if coded:
        return PartnerFigure(iso3, "withheld", None, None, coded[0].split(": ", 1)[1])
    if residual_share is None or denominator is None:
        return PartnerFigure(iso3, "not_named", None, None, f"not_named: {iso3} not named by {label} (no shares)")
    if residual_share <= NIL_RESIDUAL_SHARE:
        return PartnerFigure(iso3, "nil", 0.0, None, f"not listed by {label}: nil production")
    rest = residual_share * denominator
    return PartnerFigure(iso3, "not_named", None, rest,
                         f"not_named: {iso3} not named by {label}: not reported (at most the "
                         f"{residual_share:.1%} of world output not attributed to a named country, {rest:,.6g}"
                         + (f" {unit})" if unit else ")"))
