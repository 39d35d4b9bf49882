"""run_for_partners / scenario_from_event: the incident workflow's entry point (issue 14 -> 15)."""

from __future__ import annotations

import datetime as dt

import pytest

from critmin.disruption import api
from critmin.disruption.hazard import load_event_history


def test_scenario_from_event_reads_the_table_rows():
    hist = load_event_history()
    rows = hist[hist["event_id"] == "CHN-GAGESB-USBAN-2024"]
    sc, assumptions = api.scenario_from_event("CHN-GAGESB-USBAN-2024", horizon_months=12)
    assert sorted(e.commodity for e in sc.events) == sorted(rows["commodity_id"])
    for e in sc.events:
        r = rows[rows["commodity_id"] == e.commodity].iloc[0]
        assert e.targets == tuple(r["targets"].split(";"))
        assert e.export_cut == float(r["export_cut_estimate"])
        days = (dt.date.fromisoformat(r["ended"]) - dt.date.fromisoformat(r["effective"])).days
        assert e.duration_months == min(12, max(1, round(days / 30.4375)))
    assert not sc.unsourced and sc.sources[0].url == rows["source_url"].iloc[0]


def test_unestimated_cut_is_an_assumption_and_unknown_id_names_the_file():
    sc, assumptions = api.scenario_from_event("CHN-DUALUSE-JPN-2026", cut_if_unknown=0.5)
    assert all(e.export_cut == 0.5 for e in sc.events)
    assert any("no export_cut_estimate" in a for a in assumptions)
    with pytest.raises(KeyError, match="export_restrictions.csv: no event_id 'NOPE'"):
        api.scenario_from_event("NOPE")


def test_run_for_partners_on_the_2010_embargo(warehouse):
    run = api.run_for_partners(warehouse, "CHN-REE-JPN-2010")
    rows = {r["consumer"]: r for r in run.rows}
    jp, us = rows["JPN"], rows["USA"]
    assert jp["pool"] == "restricted" and us["pool"] == "open"
    assert jp["shortfall_t"] > 0 and us["shortfall_t"] == 0
    assert jp["monthly"][0]["shortfall_t"] > 0 and jp["monthly"][-1]["shortfall_t"] == 0
    assert jp["price_restricted_pct"] >= jp["price_open_pct"]
    total = sum(m["shortfall_t"] for m in jp["monthly"])
    assert total == pytest.approx(jp["shortfall_t"])
    assert jp["shortfall_pct"] == pytest.approx(100 * total / jp["consumption_t"])
