"""Triggers -> disruption scenarios (pure once the trigger's rows are read).

An incident starts from one of three triggers (``docs/incidents.md``):

* a **curated event** (``event_id`` of ``src/critmin/disruption/data/export_restrictions.csv``,
  one row per commodity): :func:`critmin.disruption.api.scenario_from_event` (month 1 = the
  effective month, duration to ``ended`` or the horizon, cut = ``export_cut_estimate``); a row
  without an estimate takes the mean cut of the hazard model's Beta(``severity_alpha``,
  ``severity_beta``) distribution, fitted to the table's estimates (flag ``cut_assumed``);
* a **market signal** (``signal_id`` of ``critmin markets signals``): only a volume collapse
  (``volume_change``, ``collapse``) or a downward break (``structural_break``, ``down``)
  describes a supply cut: cut = 1 - after/before volume ratio, exporter -> importer (``*`` =
  every importer);
* a **scenario file** (TOML, :func:`critmin.disruption.scenario.load_scenario`) as written.

Month 1 of the scenario is the month of the trigger's start date.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from critmin import settings
from critmin.data.partners import partners
from critmin.disruption.scenario import Scenario, parse_scenario
from critmin.incident import params  # noqa: F401  (registers the settings)


class TriggerError(ValueError):
    """A trigger that cannot become a scenario; the message names the row or field."""


@dataclass(frozen=True)
class Trigger:
    """What started an incident, and the scenario it became."""

    kind: str  # 'event' | 'signal' | 'scenario'
    ref: str  # event id, signal id or scenario file name
    scenario: Scenario
    start_date: dt.date
    title: str
    commodities: tuple[str, ...]
    stages: dict[str, str]
    countries: tuple[str, ...]  # restricting countries
    targets: tuple[str, ...]  # () = all importers
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": self.ref, "title": self.title, "start_date": self.start_date.isoformat(),
                "commodities": list(self.commodities), "stages": dict(self.stages), "countries": list(self.countries),
                "targets": list(self.targets), "flags": list(self.flags), "notes": list(self.notes),
                "evidence": self.evidence, "scenario": self.scenario.to_spec()}


def mean_assumed_cut() -> float:
    """Mean of the hazard model's Beta cut distribution, ``alpha / (alpha + beta)``."""
    a = float(settings.get("disruption.hazard.severity_alpha"))
    b = float(settings.get("disruption.hazard.severity_beta"))
    return a / (a + b)


def event_trigger(event_id: str, horizon_months: int) -> Trigger:
    """The trigger of a curated event: the scenario from
    :func:`critmin.disruption.api.scenario_from_event` (the one event -> scenario conversion,
    owned by the disruption package), with a blank cut estimate replaced by
    :func:`mean_assumed_cut` (flag ``cut_assumed``), and the event's rows recorded for the
    Monte Carlo part (which events are still in force, which cuts are assumed)."""
    from critmin.disruption.api import scenario_from_event
    from critmin.disruption.hazard import load_event_history

    hist = load_event_history()
    rows = hist[hist["event_id"] == event_id]
    try:
        sc, assumptions = scenario_from_event(event_id, horizon_months=horizon_months,
                                              cut_if_unknown=mean_assumed_cut())
    except KeyError as exc:
        raise TriggerError(str(exc.args[0])) from None
    known_end = bool(settings.get("incident.use_known_end"))
    open_ended, assumed, per_c = [], [], {}  # type: ignore[var-annotated]
    ignored_end = []
    for _, r in rows.iterrows():
        cid = str(r["commodity_id"])
        key = f"{cid}:{per_c.get(cid, 0)}"
        per_c[cid] = per_c.get(cid, 0) + 1
        if not r["ended"] or not known_end:
            open_ended.append(key)
        if r["ended"] and not known_end:
            ignored_end.append(f"{cid} ended {r['ended']}")
        if not r["export_cut_estimate"]:
            assumed.append(key)
    if ignored_end:
        sc = sc.model_copy(update={"events": tuple(
            e.model_copy(update={"duration_months": horizon_months - e.start_month + 1}) for e in sc.events)})
        assumptions = [a for a in assumptions if "lasts the whole horizon" not in a]
    r0 = rows.iloc[0]
    start = min(dt.date.fromisoformat(str(x)) for x in rows["effective"])
    cuts = [e for e in sc.events if e.kind == "export_restriction"]
    flags = tuple(sc.flags) + (("cut_assumed",) if assumed else ())
    notes = tuple(assumptions) + ((f"a blank export_cut_estimate takes {mean_assumed_cut():.3f}, the mean of the "
                                   "hazard model's Beta cut distribution",) if assumed else ())
    if ignored_end:
        notes += (f"assessed as on its first day: the recorded end ({'; '.join(ignored_end)}) is not used; the "
                  f"measure is in force for the {horizon_months}-month horizon in the central case and of "
                  "uncertain duration in the Monte Carlo part (setting incident.use_known_end)",)
    return Trigger("event", event_id, sc, start,
                   f"{event_id}: {r0['measure']} by {r0['country_iso3']} on "
                   + ", ".join(dict.fromkeys(e.commodity for e in sc.events)),
                   tuple(dict.fromkeys(e.commodity for e in sc.events)),
                   {e.commodity: str(e.stage) for e in sc.events if e.stage},
                   tuple(sorted({str(e.country) for e in cuts})),
                   tuple(sorted({t for e in cuts for t in (e.targets or ())})), flags, notes,
                   {"event_rows": len(rows), "open_ended": open_ended, "cut_assumed": assumed,
                    "description": str(r0["description"])})


#: the signals that describe a fall of supply (kind, direction of markets.signals)
SUPPLY_FALLS = {("volume_change", "collapse"), ("structural_break", "down")}


def calc_signal_scenario(signal: Mapping[str, Any], horizon_months: int, stage: str) -> Trigger:
    """The scenario of a market signal (a record of ``markets.api.signals_to_records``): a
    volume collapse around a policy date (``volume_change``, ``collapse``; effect = post/pre mean
    quantity, start = the window's start) or a downward break (``structural_break``, ``down``;
    effect = after/before geometric-mean quantity, start = the break month, the last part of its
    id). Cut = 1 - effect."""
    sid = str(signal.get("signal_id"))
    kind, direction = signal.get("kind"), signal.get("direction")
    if (kind, direction) not in SUPPLY_FALLS:
        raise TriggerError(f"signal {sid}: kind {kind!r}, direction {direction!r}: only a volume collapse "
                           "(volume_change, collapse) or a downward break (structural_break, down) describes a "
                           "supply cut; open the incident with --scenario FILE instead")
    ratio = signal.get("effect")
    if ratio is None or not math.isfinite(float(ratio)):
        raise TriggerError(f"signal {sid}: effect (after/before volume ratio) is missing")
    if not signal.get("commodity_id"):
        raise TriggerError(f"signal {sid}: no commodity (HS {signal.get('hs_code')} is not mapped to one)")
    cut = min(max(1.0 - float(ratio), 0.0), 1.0)
    cid = str(signal["commodity_id"]).split(";")[0]
    exporter = str(signal["exporter_iso3"])
    importer = str(signal.get("importer_iso3") or "*")
    month = str(signal["window_start"])
    if kind == "structural_break":
        last = sid.rsplit(":", 1)[-1]
        month = last if len(last) == 7 and last[4] == "-" else month
    start = pd.Timestamp(month + "-01").date()
    ev: dict[str, Any] = {"country": exporter, "commodity": cid, "stage": stage, "export_cut": cut,
                          "start_month": 1, "duration_months": horizon_months}
    if importer not in ("*", "WLD"):
        ev["targets"] = [importer]
    doc = {"name": f"incident: signal {sid}", "description": str(signal.get("description") or ""),
           "horizon_months": horizon_months, "consumers": list(partners()), "events": [ev]}
    sc = parse_scenario(doc, f"signal {sid}")
    what = "volume collapse" if kind == "volume_change" else "downward break"
    return Trigger("signal", sid, sc, start, f"{what} of {cid} from {exporter} to {importer} "
                   f"(after/before {float(ratio):.2f})", (cid,), {cid: stage}, (exporter,),
                   tuple(ev.get("targets", [])), ("unsourced",),
                   (f"cut = 1 - after/before volume ratio = {cut:.3f}; in force for the horizon, duration "
                    "uncertain in the Monte Carlo part",),
                   {"signal": {k: signal.get(k) for k in ("kind", "source", "hs_code", "window_start", "window_end",
                                                          "statistic_name", "statistic", "p_value", "effect",
                                                          "rows", "event_id")},
                    "open_ended": [f"{cid}:0"]})


def calc_scenario_trigger(sc: Scenario, ref: str, start_date: dt.date) -> Trigger:
    """A scenario file as an incident trigger."""
    cuts = [e for e in sc.events if e.kind == "export_restriction"]
    return Trigger("scenario", ref, sc, start_date, sc.name,
                   tuple(dict.fromkeys(e.commodity for e in sc.events)),
                   {e.commodity: str(e.stage) for e in sc.events if e.stage},
                   tuple(sorted({str(e.country) for e in cuts})),
                   tuple(sorted({t for e in cuts for t in (e.targets or ())})), tuple(sc.flags))


def restage(trigger: Trigger, market_stage: Mapping[str, str]) -> Trigger:
    """Move events to the stage the simulator supplies the commodity at, where the warehouse has
    no production at the event's stage (a processing ban on antimony, supplied at the mine stage:
    otherwise the engine finds no effect). Each move is a note and the flag ``restaged``."""
    evs, notes = [], list(trigger.notes)
    for e in trigger.scenario.events:
        ms = market_stage.get(e.commodity)
        if e.kind == "export_restriction" and ms and e.stage == "processing" and ms == "mine":
            notes.append(f"{e.commodity}: no processing production in the warehouse; the processing-stage "
                         "restriction is modelled at the mine stage (understates the restricting country's "
                         "share where it refines imported ore)")
            evs.append(e.model_copy(update={"stage": "mine"}))
        else:
            evs.append(e)
    if len(notes) == len(trigger.notes):
        return trigger
    sc = trigger.scenario.model_copy(update={"events": tuple(evs)})
    from dataclasses import replace

    stages = {**trigger.stages, **{e.commodity: str(e.stage) for e in evs if e.stage}}
    return replace(trigger, scenario=sc, stages=stages, notes=tuple(notes),
                   flags=tuple(dict.fromkeys((*trigger.flags, "restaged"))))
