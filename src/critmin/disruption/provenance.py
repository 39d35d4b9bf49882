"""What a stored result records of the data it was computed on, and the check on reuse.

A stored simulation run (:mod:`critmin.disruption.store`) records, in its market metadata,

* ``vintage``: the release the warehouse was pinned to (``Warehouse.pin``, ``--vintage``):
  ``"MCS2023"``, or ``None`` for an unpinned warehouse (every release, the newest wins);
* ``data_fingerprint``: ``str(Warehouse.fingerprint())`` (the imported datasets, the
  contained-metal factors and the pin).

Runs stored before these were recorded read as :data:`UNKNOWN` for both, never as unpinned.

Reuse (a stockpile plan or a price-floor evaluation reading a stored Monte Carlo run) under
another vintage than the run's is refused with :class:`RunVintageMismatch` (one line); a
stockpile plan may override it (``--allow-vintage-mismatch``), and then the mismatch is logged
as a warning and kept in the plan's ``sample`` record. A run that does not record its vintage
is used with a warning (it cannot be checked).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: what a record stored before provenance was recorded reads as (not the same as unpinned)
UNKNOWN = "unknown"


class _Pinnable(Protocol):
    def fingerprint(self) -> tuple[Any, ...]: ...


class RunVintageMismatch(ValueError):
    """A stored run reused under another vintage than the one it was computed on."""


def data_provenance(wh: _Pinnable) -> dict[str, Any]:
    """``{"vintage": wh's pin or None, "data_fingerprint": str(wh.fingerprint())}``."""
    return {"vintage": getattr(wh, "vintage", None), "data_fingerprint": str(wh.fingerprint())}


def recorded_provenance(market_meta: dict[str, Any]) -> dict[str, Any]:
    """The vintage and fingerprint a stored run's market metadata records (:data:`UNKNOWN`
    for a run stored before they were recorded)."""
    return {"vintage": market_meta.get("vintage", UNKNOWN),
            "data_fingerprint": market_meta.get("data_fingerprint", UNKNOWN)}


def vintage_label(vintage: str | None) -> str:
    """How a vintage is shown: the release, ``none (every release)`` or ``unknown (not recorded)``."""
    if vintage is None:
        return "none (every release)"
    if vintage == UNKNOWN:
        return "unknown (not recorded)"
    return vintage


def check_reuse(run_id: str, recorded: str | None, now: str | None, *, allow: bool = False,
                override: str | None = "--allow-vintage-mismatch") -> str | None:
    """Check that run ``run_id``, computed as of ``recorded``, may be reused as of ``now``.

    Same vintage: None. Not recorded (:data:`UNKNOWN`): a warning, returned. Different:
    :class:`RunVintageMismatch`, or with ``allow`` a warning, returned (``override`` names the
    option that allows it in the message; None: no override)."""
    if recorded == UNKNOWN:
        msg = f"run {run_id!r} does not record the vintage it was computed on; it cannot be checked against {vintage_label(now)}"
        log.warning(msg)
        return msg
    if recorded == now:
        return None
    msg = (f"run {run_id!r} was computed on data as of vintage {vintage_label(recorded)}, "
           f"this command reads as of {vintage_label(now)}")
    if not allow:
        hint = f"pass --vintage {recorded}" if recorded is not None else "omit --vintage"
        raise RunVintageMismatch(f"{msg}: {hint}" + (f", or {override} to use it anyway" if override else ""))
    log.warning(msg)
    return msg
