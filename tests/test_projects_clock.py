"""The clock: deadlines (hand-counted), on-track rules, overdue milestones, the what-if."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from critmin.projects.clock import (
    add_months,
    calc_deadlines,
    deadlines_from_settings,
    milestone_states,
    project_track,
    what_if_permitting,
)
from critmin.projects.clock_report import clock_report
from critmin.projects.io import parse_json
from critmin.projects.registry import Registry

SEED = Path(__file__).parent / "fixtures" / "projects" / "seed_small.json"
D = dt.date


def projects():
    return {p.id: p for p in parse_json(SEED.read_text())}


def test_framework_deadlines_hand_counted():
    # 180 days from 2025-10-28: Oct 3 + Nov 30 + Dec 31 + Jan 31 + Feb 28 + Mar 31 = 154, + 26 -> Apr 26
    d = deadlines_from_settings()
    assert d == {"signed": D(2025, 10, 28), "financing_deadline": D(2026, 4, 28), "ministerial_deadline": D(2026, 4, 26)}


def test_add_months_clamps_day():
    assert add_months(D(2025, 1, 31), 1) == D(2025, 2, 28)
    assert add_months(D(2024, 1, 31), 1) == D(2024, 2, 29)
    assert add_months(D(2025, 10, 28), 6) == D(2026, 4, 28)
    assert add_months(D(2025, 11, 30), 3) == D(2026, 2, 28)


def test_milestones_and_track():
    p = projects()["T-JOINT-MINE"]  # EPA approval target 2025-12-01 open; lease done late
    d = calc_deadlines(D(2025, 10, 28), 6, 180)
    ms = {m["name"]: m for m in milestone_states(p, D(2025, 11, 15))}
    assert ms["EPA approval"]["state"] == "upcoming" and ms["Mining lease"]["state"] == "done_late"
    assert ms["Mining lease"]["days"] == 44
    assert project_track(p, D(2025, 11, 15), d)["on_track"]
    t = project_track(p, D(2026, 1, 10), d)
    assert not t["on_track"] and "overdue by 40 days" in t["reasons"][0]
    # after the financing deadline without financial close
    late = project_track(projects()["T-US-PLANT"], D(2026, 5, 1), d)
    assert any("financing deadline 2026-04-28 passed" in r for r in late["reasons"])
    assert project_track(projects()["T-JP-REFINERY"], D(2026, 5, 1), d)["on_track"]  # under construction


def _model(commodity, additions):
    return max(0.0, 1000.0 - 0.5 * sum((additions or {}).values()))


def test_what_if_moves_only_open_permitting():
    ps = projects()
    sel = [ps["T-JOINT-MINE"], ps["T-US-PLANT"]]
    w = what_if_permitting(sel, 6, _model, range(2026, 2031))
    rows = {r["project"]: r for r in w["projects"]}
    assert rows["T-JOINT-MINE"]["start_year_if_cut"] == pytest.approx(2027.5) and rows["T-JOINT-MINE"]["applies"]
    assert not rows["T-US-PLANT"]["applies"]
    path = {(r["commodity"], r["year"]): r for r in w["shortfall"]}
    # rare earths: the mine (1000 t/yr) runs half of 2027 -> 500 t more supply -> 250 t less shortfall
    assert path[("rare_earths", 2027)]["reduction_t"] == pytest.approx(250.0)
    assert path[("rare_earths", 2028)]["reduction_t"] == pytest.approx(0.0)
    assert path[("gallium", 2027)]["reduction_t"] == 0.0
    assert w["total_reduction_t"] == pytest.approx(250.0)


def test_what_if_needs_start_year_and_capacity_of_projects_online():
    mine = projects()["T-JOINT-MINE"]
    no_start = mine.model_copy(update={"first_production_year": None})
    with pytest.raises(ValueError, match="'T-JOINT-MINE': first_production_year is not stated"):
        what_if_permitting([no_start], 6, _model, range(2026, 2031))
    no_cap = mine.model_copy(update={"capacity_tpy": None})
    with pytest.raises(ValueError, match="'T-JOINT-MINE': capacity_tpy is not stated"):
        what_if_permitting([no_cap], 6, _model, range(2026, 2031))
    # not online within the years asked: its capacity is never needed
    w = what_if_permitting([no_cap], 6, _model, range(2020, 2024))
    assert w["total_reduction_t"] == 0.0


def test_clock_report_without_selection_and_with_saved_one(tmp_path):
    from critmin.ops import open_store

    reg = Registry.open(open_store(f"sqlite:///{tmp_path / 'ops.sqlite'}"), seed_path=SEED)
    rep = clock_report(None, reg, "US", D(2026, 1, 10))
    assert rep["selection"]["source"].startswith("none") and rep["projects"] == []
    assert [m["project"] for m in rep["overdue_milestones"]] == ["T-JOINT-MINE"]
    assert rep["days_to_financing_deadline"] == 108
    # a joint viewer's selection with a JP-only project is not shown to the US viewer
    reg.save_selection({"selected": [{"project": "T-JP-REFINERY"}]}, {}, author="x", viewer="joint")
    assert clock_report(None, reg, "US", D(2026, 1, 10))["projects"] == []
    jp = clock_report(None, reg, "joint", D(2026, 1, 10))
    assert [t["project"] for t in jp["projects"]] == ["T-JP-REFINERY"]
