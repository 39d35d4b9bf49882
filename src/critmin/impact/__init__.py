"""The damage model (issue 13): what a shortfall costs a partner, per tonne.

:mod:`critmin.impact.damage` holds the pure formula (with citations), :mod:`critmin.impact.params`
its settings and :mod:`critmin.impact.table` the commodity x partner table the stockpile uses.

Public API (what the stockpile, the projects, the price floor and the watchlist call):

* ``damage(wh, commodity, partner) -> DamageEstimate``: loss per tonne of shortfall
  (``.loss_per_t``, US$/t, at least the price), ``.avoided_usd(t)`` for a shortfall avoided,
  the basis, flags and sources;
* ``damage_table(wh, partners)``: the same for every commodity of the disruption market;
* ``calc_damage(...)``: the pure formula.
"""

from critmin.impact.damage import Damage, SectorUse, calc_damage
from critmin.impact.table import DamageEstimate, damage, damage_for, damage_table

__all__ = ["Damage", "DamageEstimate", "SectorUse", "calc_damage", "damage", "damage_for", "damage_table"]
