"""Scoring: hand-worked values for the online factor, non-allied HHI, instrument costs and a
whole project score with a hand-written shortfall model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from critmin.projects.costs import CostFactors, calc_instrument_cost
from critmin.projects.io import parse_json
from critmin.projects.scoring import (
    CommodityContext,
    ScoreParams,
    calc_non_allied_hhi,
    calc_online_factor,
    score_project,
    score_projects,
)

SEED = Path(__file__).parent / "fixtures" / "projects" / "seed_small.json"
F = CostFactors(1.0, 0.10, 0.10, 0.40, 0.30, 0.15, 0.05)


def test_online_factor_hand_worked():
    # start 2028, years 2026..2030 at 10 %: 1/1.1^2 + 1/1.1^3 + 1/1.1^4
    assert calc_online_factor(2028, 2026, 2030, 0.10) == pytest.approx(0.8264463 + 0.7513148 + 0.6830135, rel=1e-6)
    # half a year earlier adds 0.5 of 2027 discounted once: 0.5/1.1
    assert calc_online_factor(2027.5, 2026, 2030, 0.10) == pytest.approx(2.2607746 + 0.4545455, rel=1e-6)
    assert calc_online_factor(2031, 2026, 2030, 0.10) == 0.0
    assert calc_online_factor(2020, 2026, 2026, 0.0) == 1.0


def test_non_allied_hhi_hand_worked():
    q = {"CHN": 60.0, "AUS": 20.0, "USA": 10.0}
    allied = frozenset({"AUS", "USA"})
    assert calc_non_allied_hhi(q, allied, unattributed_t=10.0) == pytest.approx(0.36)
    q2 = dict(q, AUS=70.0)  # +50 t in Australia: CHN 60/150
    assert calc_non_allied_hhi(q2, allied, unattributed_t=10.0) == pytest.approx(0.16)
    q3 = dict(q, IDN=50.0)  # +50 t in a non-allied host raises it: (60/150)^2 + (50/150)^2
    assert calc_non_allied_hhi(q3, allied, unattributed_t=10.0) == pytest.approx(0.16 + 1 / 9)


@pytest.mark.parametrize(
    ("instrument", "amount", "expected"),
    [("grant", 100.0, 100.0), ("loan", 100.0, 10.0), ("guarantee", 100.0, 4.0), ("equity", 100.0, 30.0),
     ("offtake", 100.0, 15.0), ("insurance", 100.0, 5.0)],
)
def test_instrument_costs(instrument, amount, expected):
    assert calc_instrument_cost(instrument, amount, F)[0] == pytest.approx(expected)


def test_unknown_instrument_and_bad_factor():
    with pytest.raises(ValueError, match="instrument 'bond'"):
        calc_instrument_cost("bond", 1.0, F)
    with pytest.raises(ValueError, match="loan_subsidy_rate"):
        CostFactors(1.0, 1.5, 0.1, 0.4, 0.3, 0.15, 0.05)


def test_cost_factors_come_from_settings(monkeypatch):
    monkeypatch.setenv("CRITMIN_PROJECTS_COST_LOAN_SUBSIDY_RATE", "0.2")
    assert CostFactors.from_settings().loan_subsidy_rate == 0.2


def _model(commodity, additions):
    """Hand model: 1000 t expected shortfall, falling 0.5 t per t/yr of added capacity."""
    return max(0.0, 1000.0 - 0.5 * sum((additions or {}).values()))


def test_score_project_hand_worked():
    p = parse_json(SEED.read_text())[0]  # T-JOINT-MINE: AUS, 1000 t/yr, start 2028, loan 200M (USA)
    ctx = CommodityContext(
        "rare_earths", "extraction", 50_000.0, 10_000.0, {"CHN": 60.0, "AUS": 20.0, "USA": 10.0},
        frozenset({"AUS", "USA"}), 2024, unattributed_t=10.0,
    )
    params = ScoreParams(2026, 2030, 0.10, 1.0)
    s = score_project(p, ctx, _model, params, F)
    d = 0.8264463 + 0.7513148 + 0.6830135
    # shortfall: 1000 -> 500 t/yr; value = d * 500 t * 50,000 $/t
    assert s.value_shortfall_usd == pytest.approx(d * 500 * 50_000, rel=1e-6)
    # concentration: CHN share 60/100 -> 60/1100
    dh = 0.36 - (60 / 1100) ** 2
    assert s.value_concentration_usd == pytest.approx(d * dh * 10_000 * 50_000, rel=1e-6)
    assert s.cost_usa_usd == pytest.approx(20_000_000) and s.cost_jpn_usd == 0
    assert s.score_per_dollar == pytest.approx(s.value_usd / 20_000_000)
    assert s.inputs["shortfall_reduction_t"] == pytest.approx(500)
    assert s.inputs["cost_lines"][0]["formula"].startswith("loan: 200000000 x subsidy rate 0.1")
    json.dumps(s.to_dict())  # traceable inputs serialise


def test_not_computable_is_explicit():
    ps = {p.id: p for p in parse_json(SEED.read_text())}
    params = ScoreParams(2026, 2040, 0.03, 1.0)
    s = score_project(ps["T-JOINT-GRAPHITE"], None, _model, params, F)
    assert not s.computable and "first_production_year not stated" in s.reason
    s2 = score_project(ps["T-US-PLANT"], None, _model, params, F)
    assert not s2.computable and "no market data for gallium" in s2.reason and s2.value_usd is None


def test_score_projects_orders_best_first():
    ps = parse_json(SEED.read_text())
    ctx = {
        ("rare_earths", "extraction"): CommodityContext("rare_earths", "extraction", 5e4, 1e4, {"CHN": 90.0, "AUS": 10.0}, frozenset({"AUS"}), 2024),
        ("gallium", "processing"): CommodityContext("gallium", "processing", 5e5, 50.0, {"CHN": 98.0, "JPN": 2.0}, frozenset({"JPN", "USA"}), 2024),
    }
    out = score_projects(ps, ctx, _model, ScoreParams(2026, 2040, 0.03, 1.0), F)
    scored = [s.score_per_dollar for s in out if s.score_per_dollar is not None]
    assert scored == sorted(scored, reverse=True) and len(scored) == 3
    assert out[-1].score_per_dollar is None


def test_each_request_is_charged_to_its_partners_budget():
    from dataclasses import replace

    from critmin.projects.models import FinancingRequest

    p = parse_json(SEED.read_text())[0]  # loan 200M (USA)
    jp = FinancingRequest.model_validate({"instrument": "grant", "partner": "JPN", "amount_usd": 5_000_000.0})
    p2 = p.model_copy(update={"financing_requests": [*p.financing_requests, jp]})
    ctx = CommodityContext("rare_earths", "extraction", 50_000.0, 10_000.0, {"CHN": 60.0, "AUS": 20.0},
                           frozenset({"AUS"}), 2024)
    s = score_project(p2, ctx, _model, ScoreParams(2026, 2030, 0.10, 1.0), F)
    assert s.cost_by_partner == {"JPN": pytest.approx(5_000_000), "USA": pytest.approx(20_000_000)}
    assert (s.cost_usa_usd, s.cost_jpn_usd) == (s.cost_by_partner["USA"], s.cost_by_partner["JPN"])
    assert s.cost_total_usd == pytest.approx(25_000_000)
    assert s.to_dict()["cost_total_usd"] == pytest.approx(25_000_000)
    # a partner without a request still has its (zero) budget entry, for the selection's budget rows
    one = score_project(p, ctx, _model, ScoreParams(2026, 2030, 0.10, 1.0), F)
    assert one.cost_by_partner == {"JPN": 0.0, "USA": pytest.approx(20_000_000)}
    assert replace(one, cost_by_partner={}).cost_total_usd == one.cost_total_usd
