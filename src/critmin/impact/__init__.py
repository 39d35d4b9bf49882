"""The damage model (issue 13): what a shortfall costs a partner, per tonne.

:mod:`critmin.impact.damage` holds the pure formula (with citations), :mod:`critmin.impact.params`
its settings and :mod:`critmin.impact.table` the commodity x partner table the stockpile uses.
"""

from critmin.impact.damage import Damage, SectorUse, calc_damage
from critmin.impact.table import damage_for, damage_table

__all__ = ["Damage", "SectorUse", "calc_damage", "damage_for", "damage_table"]
