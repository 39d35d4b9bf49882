"""Demand growth from the IEA scenarios (issue 14 §3): STEPS by default, the setting elsewhere,
a scenario's override first."""

from __future__ import annotations

import pytest

from critmin.data.iea import iea_demand
from critmin.disruption import api
from critmin.disruption.deterministic import outcome_rows, run_scenario
from critmin.disruption.engine import compile_commodity
from critmin.disruption.inputs import clear_cache
from critmin.disruption.params import ModelParams
from critmin.disruption.scenario import parse_scenario


def test_graphite_growth_is_the_iea_steps_compound_rate(warehouse):
    d = iea_demand(warehouse, "graphite", section="totalDemand", measure="total_demand")
    d = d[d["sector_or_technology"].isna()]
    d0 = d[(d["scenario"] == "observed")].sort_values("year").iloc[-1]
    d1 = d[(d["scenario"] == "STEPS") & (d["year"] > d0["year"])].sort_values("year").iloc[0]
    want = (d1["quantity"] / d0["quantity"]) ** (1 / (d1["year"] - d0["year"])) - 1
    cm = api.load_market(warehouse, ["graphite"]).commodities["graphite"]
    assert cm.demand_growth == pytest.approx(want, rel=1e-12)
    assert cm.provenance["demand_growth"]["scenario"] == "STEPS"
    assert compile_commodity(cm, [], ModelParams.from_settings()).growth == pytest.approx(want)
    # an analyst's override wins
    assert compile_commodity(cm, [], ModelParams.from_settings({"demand_growth": 0.01})).growth == 0.01


def test_commodity_without_iea_demand_and_scenario_none_use_the_setting(warehouse, monkeypatch):
    cm = api.load_market(warehouse, ["gallium"]).commodities["gallium"]
    assert cm.demand_growth is None and "setting" in cm.provenance["demand_growth"]["source"]
    monkeypatch.setenv("CRITMIN_DISRUPTION_DEMAND_SCENARIO", "none")
    monkeypatch.setenv("CRITMIN_DISRUPTION_DEMAND_GROWTH", "0.02")
    clear_cache()
    cm = api.load_market(warehouse, ["graphite"]).commodities["graphite"]
    assert cm.demand_growth is None
    assert compile_commodity(cm, [], ModelParams.from_settings()).growth == 0.02


def test_scenario_rows_report_growth_and_no_event_means_no_shortfall(warehouse):
    m = api.load_market(warehouse, ["graphite"])
    s = parse_scenario({"name": "baseline", "events": [
        {"country": "CHN", "commodity": "graphite", "stage": "processing", "export_cut": 0.0, "start_month": 1,
         "duration_months": 12}]})
    rows = outcome_rows(m, run_scenario(m, s))
    assert all(r["demand_growth_per_year"] == m.commodities["graphite"].demand_growth > 0 for r in rows)
    assert all(r["mean_shortfall_t"] == 0 for r in rows)
    # demand grows month by month: December's demand is January's times (1 + g)^(11/12)
    g = m.commodities["graphite"].demand_growth
    jan, dec = rows[0]["monthly"][0]["demand_t"], rows[0]["monthly"][11]["demand_t"]
    assert dec / jan == pytest.approx((1 + g) ** (11 / 12), rel=1e-12)
