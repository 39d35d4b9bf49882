"""A consumer's consumption is never silently 0 t (issue 14 §5): a curated figure with a source
where trade cannot give it, else "not computable" with the reason in every output."""

from __future__ import annotations

import pytest

from critmin.disruption import api
from critmin.disruption.deterministic import outcome_rows, run_scenario
from critmin.disruption.inputs import CURATED_CONSUMPTION_CSV, load_curated_consumption
from critmin.disruption.runs import run_and_store_monte_carlo
from critmin.disruption.scenario import parse_scenario


def test_no_consumer_is_silently_zero(warehouse):
    m = api.load_market(warehouse)
    zero = [(cid, c) for cid, cm in m.commodities.items() for i, c in enumerate(cm.consumers) if cm.demand_t[i] <= 0]
    assert zero  # the warehouse has such cells (e.g. Japan's antimony: BACI 2024 ore net imports < 0)
    for cid, c in zero:
        cm = m.commodities[cid]
        assert c in cm.demand_unknown, f"{cid} {c}: 0 t consumption not flagged"
        reason = cm.demand_unknown_reason(c)
        assert reason.startswith(f"{c} consumption of {cid} not computable from the warehouse: "), reason
        assert any(n.startswith(f"{c}: consumption not computable (") for n in cm.notes)
    assert "net imports are" in m.commodities["antimony"].demand_unknown_reason("JPN")
    # germanium's BACI code (811230) ends with HS 2007: its trade is not used, and the reason says so
    assert "trade ends in 2015" in m.commodities["germanium"].demand_unknown_reason("JPN")


def test_not_computable_reason_in_scenario_and_monte_carlo_outputs(warehouse):
    m = api.load_market(warehouse, ["germanium"], ("USA", "JPN"))
    s = parse_scenario({"name": "n", "events": [{"country": "CHN", "commodity": "germanium", "stage": "processing",
                                                 "export_cut": 1.0, "start_month": 1, "duration_months": 12}]})
    jp = [r for r in outcome_rows(m, run_scenario(m, s)) if r["consumer"] == "JPN"][0]
    assert jp["mean_shortfall_pct"] is None and "trade ends in 2015" in jp["not_computable"]
    doc = run_and_store_monte_carlo(None, m, runs=50, seed=1, horizon=12, store=False)
    jp = [r for r in doc["results"] if r["consumer"] == "JPN"][0]
    assert jp["mean_shortfall_pct"] is None and "trade ends in 2015" in jp["not_computable"]


def test_curated_rows_cite_sources_and_are_numbers(tmp_path):
    cur = load_curated_consumption(CURATED_CONSUMPTION_CSV)
    assert ("gallium", "JPN") in cur
    for r in cur.values():
        assert r["source"] and r["url"].startswith(("https://", "http://")) and r["as_of"]  # The TEX Report is http only
        assert (r["imports_t"] > 0) if r["use"] == "fallback" else (r["consumption_t"] > 0), r
    text = CURATED_CONSUMPTION_CSV.read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "c.csv"
    bad.write_text(text[0] + "\ngallium,JPN,2021,97,167,,https://x.org,2025-01-01,n\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"c\.csv: line 2: source_title: expected a source"):
        load_curated_consumption(bad)
    bad.write_text(text[0] + "\ngallium,JPN,2021,lots,167,t,https://x.org,2025-01-01,n\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2: imports_t: expected a number"):
        load_curated_consumption(bad)
    # a 'consumption' row needs its published consumption_t, not imports_t; an unknown use is refused
    bad.write_text(text[0] + "\nnickel,JPN,2018,,,t,https://x.org,2025-01-01,n,consumption\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2: consumption_t: expected a number"):
        load_curated_consumption(bad)
    bad.write_text(text[0] + "\nnickel,JPN,2018,,5,t,https://x.org,2025-01-01,n,always\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2: use: expected 'fallback' or 'consumption'"):
        load_curated_consumption(bad)
