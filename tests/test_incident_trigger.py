"""Incident triggers: curated events (through disruption.scenario_from_event), market signals,
scenario files; the assumed cut; refused signals (no warehouse needed)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from critmin import settings
from critmin.disruption.scenario import load_scenario
from critmin.incident.trigger import (
    TriggerError,
    calc_scenario_trigger,
    calc_signal_scenario,
    event_trigger,
    mean_assumed_cut,
    restage,
)

ROOT = Path(__file__).resolve().parents[1]


def test_event_is_assessed_as_on_its_first_day_by_default():
    tr = event_trigger("CHN-GAGESB-USBAN-2024", 12)
    assert tr.evidence["cut_assumed"] == []
    # the recorded suspension (2025-11-09) is hindsight: in force for the horizon, duration uncertain
    assert {e.duration_months for e in tr.scenario.events} == {12}
    assert sorted(tr.evidence["open_ended"]) == ["antimony:0", "gallium:0", "germanium:0"]
    assert any("2025-11-09" in n and "incident.use_known_end" in n for n in tr.notes)
    assert tr.scenario.sources and not tr.scenario.flags


def test_event_replayed_with_its_known_end(monkeypatch):
    monkeypatch.setenv("CRITMIN_INCIDENT_USE_KNOWN_END", "true")
    tr = event_trigger("CHN-GAGESB-USBAN-2024", 12)
    # effective 2024-12-03, suspended 2025-11-09: 341 days = 11 months (rounded)
    assert {e.duration_months for e in tr.scenario.events} == {11}
    assert tr.evidence["open_ended"] == []


def test_event_without_a_cut_estimate_takes_the_mean_of_the_beta():
    # CHN-WTEBIMOIN-LIC-2025: five rows, no estimate, still in force
    tr = event_trigger("CHN-WTEBIMOIN-LIC-2025", 12)
    a, b = settings.get("disruption.hazard.severity_alpha"), settings.get("disruption.hazard.severity_beta")
    assert mean_assumed_cut() == pytest.approx(a / (a + b))
    assert all(e.export_cut == pytest.approx(a / (a + b)) for e in tr.scenario.events)
    assert "cut_assumed" in tr.flags and len(tr.evidence["cut_assumed"]) == len(tr.scenario.events) == 5
    assert len(tr.evidence["open_ended"]) == 5
    assert {e.duration_months for e in tr.scenario.events} == {12}


def test_unknown_event_names_the_table():
    with pytest.raises(TriggerError, match="export_restrictions.csv.*NO-SUCH"):
        event_trigger("NO-SUCH", 12)


SIGNAL = {"signal_id": "volume_change:X", "kind": "volume_change", "direction": "collapse", "effect": 0.25,
          "commodity_id": "gallium", "exporter_iso3": "CHN", "importer_iso3": "USA", "window_start": "2023-08",
          "window_end": "2024-01", "source": "CHINA_EXPORTS", "description": "collapse"}


def test_volume_collapse_signal_becomes_a_cut():
    tr = calc_signal_scenario(SIGNAL, 12, "processing")
    (e,) = tr.scenario.events
    assert e.export_cut == pytest.approx(0.75) and e.targets == ("USA",) and e.country == "CHN"
    assert tr.start_date == dt.date(2023, 8, 1) and "unsourced" in tr.flags
    every = calc_signal_scenario({**SIGNAL, "importer_iso3": "*"}, 12, "processing")
    assert every.scenario.events[0].targets is None


def test_downward_structural_break_signal_starts_at_the_break():
    sig = {**SIGNAL, "signal_id": "structural_break:CHINA_EXPORTS:CHN>JPN:811292:2023-08", "kind": "structural_break",
           "direction": "down", "effect": 0.4, "importer_iso3": "JPN", "window_start": "2022-01"}
    tr = calc_signal_scenario(sig, 12, "processing")
    assert tr.start_date == dt.date(2023, 8, 1) and tr.scenario.events[0].export_cut == pytest.approx(0.6)
    assert tr.scenario.events[0].targets == ("JPN",)


@pytest.mark.parametrize("change", [{"kind": "price_discrimination"}, {"direction": "surge"}, {"direction": "down"},
                                    {"effect": None}, {"commodity_id": None}])
def test_other_signals_are_refused(change):
    with pytest.raises(TriggerError, match="signal volume_change:X"):
        calc_signal_scenario({**SIGNAL, **change}, 12, "processing")


def test_scenario_file_trigger():
    sc = load_scenario(ROOT / "scenarios" / "cn_gallium_germanium_antimony_us_ban_2024.toml")
    tr = calc_scenario_trigger(sc, "cn.toml", dt.date(2024, 12, 3))
    assert tr.countries == ("CHN",) and tr.targets == ("USA",) and tr.stages["antimony"] == "mine"


def test_restage_moves_a_processing_ban_to_the_mine_stage_with_a_note():
    tr = event_trigger("CHN-GAGESB-USBAN-2024", 12)
    out = restage(tr, {"gallium": "processing", "germanium": "processing", "antimony": "mine"})
    st = {e.commodity: e.stage for e in out.scenario.events}
    assert st == {"gallium": "processing", "germanium": "processing", "antimony": "mine"}
    assert "restaged" in out.flags and any("antimony" in n for n in out.notes)
    assert restage(tr, {"gallium": "processing", "germanium": "processing", "antimony": "processing"}) is tr
