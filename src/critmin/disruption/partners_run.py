"""Run one scenario for both partners: the entry point of the incident workflow (issue 15).

:func:`scenario_from_event` turns a row group of the curated event table
(``data/export_restrictions.csv``, one ``event_id``) into a :class:`Scenario`;
:func:`run_for_partners` simulates a scenario (an event id, a scenario file or a
:class:`Scenario`) on the warehouse for the partners and returns, per commodity and consumer, the
monthly shortfall in t, in % of consumption and in US$, and the open and restricted pool prices
(segmented markets, ``docs/disruption.md`` rule 8).

Event -> scenario (each choice is written into ``Scenario.description`` and the result's
``assumptions``):

* start month 1 = the event's ``effective`` month; ``duration_months`` = whole months from
  ``effective`` to ``ended`` (at least 1), or the horizon when the event has not ended (or ends
  after the horizon);
* ``export_cut`` = ``export_cut_estimate``; blank (not estimated) -> ``cut_if_unknown`` (default
  1.0, a full ban of the flows to the targets), marked as an assumption;
* ``targets`` = the row's ``targets`` (``ALL`` -> all importers).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from critmin.disruption.scenario import Scenario, load_scenario, parse_scenario

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

__all__ = ["PartnerRun", "run_for_partners", "scenario_from_event"]


def _months_between(a: dt.date, b: dt.date) -> int:
    """Whole months from ``a`` to ``b``, rounded to the nearest month, at least 1."""
    return max(1, round((b - a).days / (365.25 / 12)))


def scenario_from_event(event_id: str, *, horizon_months: int = 12, cut_if_unknown: float = 1.0,
                        consumers: Sequence[str] | None = None) -> tuple[Scenario, list[str]]:
    """The curated event ``event_id`` as a scenario, and the assumptions made. Raises
    ``KeyError`` naming the file when the id is not in the table."""
    from critmin.disruption.hazard import EVENTS_CSV, load_event_history

    hist = load_event_history()
    rows = hist[hist["event_id"] == event_id]
    if rows.empty:
        raise KeyError(f"{EVENTS_CSV.name}: no event_id {event_id!r} (ids: {', '.join(sorted(set(hist['event_id'])))})")
    events: list[dict[str, Any]] = []
    assumptions: list[str] = []
    sources: list[dict[str, str]] = []
    for line, r in rows.iterrows():
        eff = dt.date.fromisoformat(r["effective"])
        dur = horizon_months
        if r["ended"]:
            dur = min(horizon_months, _months_between(eff, dt.date.fromisoformat(r["ended"])))
        else:
            assumptions.append(f"{r['commodity_id']}: in force as of {r['as_of']}: lasts the whole horizon "
                               f"({horizon_months} months)")
        cut_raw = r["export_cut_estimate"]
        if cut_raw:
            cut = float(cut_raw)
        else:
            cut = float(cut_if_unknown)
            assumptions.append(f"{r['commodity_id']}: {EVENTS_CSV.name} line {int(str(line)) + 2} has no "
                               f"export_cut_estimate: cut {cut:g} assumed")
        ev: dict[str, Any] = {"country": r["country_iso3"], "commodity": r["commodity_id"], "stage": r["stage"],
                              "export_cut": cut, "start_month": 1, "duration_months": dur}
        if r["targets"] and r["targets"] != "ALL":
            ev["targets"] = r["targets"].split(";")
        events.append(ev)
        if r["source_url"] and not any(s["url"] == r["source_url"] for s in sources):
            sources.append({"title": r["source_title"], "url": r["source_url"], "as_of": r["as_of"]})
    first = rows.iloc[0]
    doc: dict[str, Any] = {
        "name": f"{event_id} (from the event table)",
        "description": f"{first['description']} Simulated from {first['effective']}; assumptions: "
                       + ("; ".join(assumptions) or "none"),
        "horizon_months": horizon_months, "sources": sources, "events": events,
    }
    if consumers is not None:
        doc["consumers"] = list(consumers)
    return parse_scenario(doc, f"{EVENTS_CSV.name} event {event_id}"), assumptions


@dataclass(frozen=True)
class PartnerRun:
    """A scenario simulated for the partners.

    ``rows``: one dict per commodity x consumer with ``commodity``, ``consumer``, ``pool``
    (``'restricted'``/``'open'``), ``shortfall_t``, ``shortfall_pct`` (``None`` when the consumer's
    consumption is not computable: reason in ``not_computable``), ``shortfall_usd`` (``None``
    without a price: ``price_note``), ``price_world_pct``, ``price_open_pct``,
    ``price_restricted_pct``, ``price_spread_pct`` (annual means) and ``monthly``: a list of
    ``{month, shortfall_t, shortfall_pct, shortfall_usd, price_open_pct, price_restricted_pct}``.
    ``document`` is the full scenario JSON document of ``critmin simulate --json``."""

    scenario: Scenario
    rows: list[dict[str, Any]]
    document: dict[str, Any]
    assumptions: list[str] = field(default_factory=list)
    flags: tuple[str, ...] = ()


def run_for_partners(wh: Warehouse, scenario: str | Path | Scenario, *, consumers: Sequence[str] | None = None,
                     horizon_months: int = 12, cut_if_unknown: float = 1.0) -> PartnerRun:
    """Simulate ``scenario`` (a curated ``event_id``, a scenario TOML path, or a
    :class:`Scenario`) for ``consumers`` (default: the scenario's, i.e. the partners) with
    segmented markets. Nothing is stored. Errors: ``KeyError`` (unknown event id or commodity not
    computable), ``ScenarioError`` (invalid file)."""
    from critmin.disruption.api import load_market
    from critmin.disruption.runs import run_and_store_scenario

    assumptions: list[str] = []
    if isinstance(scenario, Scenario):
        sc = scenario
    elif isinstance(scenario, Path) or str(scenario).endswith(".toml"):
        sc = load_scenario(scenario)
    else:
        sc, assumptions = scenario_from_event(str(scenario), horizon_months=horizon_months,
                                              cut_if_unknown=cut_if_unknown, consumers=consumers)
    if consumers is not None and tuple(consumers) != tuple(sc.consumers):
        sc = sc.model_copy(update={"consumers": tuple(consumers)})
    market = load_market(wh, sorted({e.commodity for e in sc.events}) or None, tuple(sc.consumers))
    doc = run_and_store_scenario(wh, market, sc, store=False)
    rows = []
    for r in doc["results"]:
        out = {
            "commodity": r["commodity"], "consumer": r["consumer"], "pool": r["pool"],
            "shortfall_t": r["mean_shortfall_t"], "shortfall_pct": r["mean_shortfall_pct"],
            "shortfall_usd": r["shortfall_usd"], "consumption_t": r["consumption_t"],
            "price_world_pct": r["mean_price_change_pct"], "price_open_pct": r["price_open_pct"],
            "price_restricted_pct": r["price_restricted_pct"], "price_spread_pct": r["price_spread_pct"],
            "monthly": [{"month": m["month"], "shortfall_t": m["shortfall_t"],
                         "shortfall_pct": None if r.get("not_computable") else m["shortfall_pct"],
                         "shortfall_usd": m["shortfall_usd"], "price_open_pct": m["price_open_pct"],
                         "price_restricted_pct": m["price_restricted_pct"]} for m in r["monthly"]],
            "flags": r["flags"], "notes": r["notes"],
        }
        for k in ("not_computable", "price_note"):
            if k in r:
                out[k] = r[k]
        if out["shortfall_usd"] is not None and not math.isfinite(out["shortfall_usd"]):
            out["shortfall_usd"] = None
        rows.append(out)
    return PartnerRun(sc, rows, doc, assumptions, tuple(sc.flags))
