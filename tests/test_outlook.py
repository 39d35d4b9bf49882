"""Outlook (issue 17): IEA totals against the shared file, the gap on paper, its invariants, real data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.outlook.gap import calc_expected_gap_exact, calc_gap_draws, calc_secure_claim

IEA_NAMES = {"copper": "Copper", "cobalt": "Cobalt", "lithium": "Lithium", "nickel": "Nickel",
             "rare_earths": "Rare Earth Elements", "graphite": "Graphite"}


# ---------------------------------------------------------------- the IEA totals
def test_iea_2024_and_2030_steps_totals_equal_the_shared_file(warehouse, data_dir: Path):
    from critmin.outlook.demand import world_demand

    raw = json.loads((data_dir / "iea_cmde_2025" / "iea.json").read_text(encoding="utf-8"))["totalDemand"]
    # the figures the issue quotes, read from the file itself (kt)
    assert raw["Lithium"]["totalDemand"]["2024"] == pytest.approx(205.0)
    assert raw["Copper"]["totalDemand"]["2024"] == pytest.approx(26717, abs=0.5)
    years = np.array([2024, 2030])
    for cid, name in IEA_NAMES.items():
        d = world_demand(warehouse, cid, "STEPS", years, drivers=False)
        want = [raw[name]["totalDemand"]["2024"] * 1000, raw[name]["totalDemand"]["STEPS"]["2030"] * 1000]
        assert d.total == pytest.approx(want, rel=1e-9), cid
        assert d.basis == "total"
        assert "Other uses" in d.by_technology


def test_world_demand_interpolates_between_iea_years_and_flags_it(warehouse, data_dir: Path):
    from critmin.outlook.demand import world_demand

    raw = json.loads((data_dir / "iea_cmde_2025" / "iea.json").read_text(encoding="utf-8"))["totalDemand"]
    d = world_demand(warehouse, "lithium", "NZE", np.array([2030, 2032, 2035]), drivers=False)
    a, b = raw["Lithium"]["totalDemand"]["NZE"]["2030"], raw["Lithium"]["totalDemand"]["NZE"]["2035"]
    assert d.total[1] == pytest.approx((a + (b - a) * 2 / 5) * 1000)
    assert "interpolated" in d.flags


# ---------------------------------------------------------------- the gap on paper
def test_hand_worked_expected_gap_two_projects():
    """D = 100, S = 60; A adds 30 t with p = 0.5 from year 2, B adds 20 t with p = 0.4 in both years.

    Year 1: only B can produce: 0.4 x max(0, 40-20) + 0.6 x 40 = 8 + 24 = 32.
    Year 2: none 0.3 x 40 = 12; A only 0.3 x 10 = 3; B only 0.2 x 20 = 4; both 0.2 x 0 = 0 -> 19.
    """
    d, s = np.array([100.0, 100.0]), np.array([60.0, 60.0])
    c = np.array([[0.0, 30.0], [20.0, 20.0]])
    p = np.array([0.5, 0.4])
    assert calc_expected_gap_exact(d, s, c, p) == pytest.approx([32.0, 19.0])
    mc = calc_gap_draws(d, s, c, p, 200_000, random_state=7)
    assert mc.expected == pytest.approx([32.0, 19.0], abs=0.15)
    assert mc.without_projects == pytest.approx([40.0, 40.0])
    assert mc.all_projects == pytest.approx([20.0, 0.0])
    assert mc.expected_added == pytest.approx([8.0, 23.0])


def test_secure_claim_rules():
    allied = frozenset({"AUS"})
    assert calc_secure_claim("CHN", (), allied, 0.2) == 1.0  # the world: all supply
    assert calc_secure_claim("USA", ("USA", "JPN"), allied, 0.2) == 1.0
    assert calc_secure_claim("AUS", ("USA",), allied, 0.2) == 0.2
    assert calc_secure_claim("CHN", ("USA",), allied, 0.2) == 0.0


# ---------------------------------------------------------------- invariants
_vals = st.floats(0, 1e6, allow_nan=False)


@st.composite
def _problem(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    y = draw(st.integers(1, 4))
    p = draw(st.integers(0, 4))
    d = np.array(draw(st.lists(_vals, min_size=y, max_size=y)))
    s = np.array(draw(st.lists(_vals, min_size=y, max_size=y)))
    c = np.array(draw(st.lists(_vals, min_size=y * p, max_size=y * p))).reshape(p, y)
    pr = np.array(draw(st.lists(st.floats(0, 1), min_size=p, max_size=p)))
    return d, s, c, pr


@settings(max_examples=60, deadline=None)
@given(_problem(), st.lists(_vals, min_size=4, max_size=4), st.floats(0, 1), st.integers(0, 2**32 - 1))
def test_adding_a_project_never_widens_the_gap(prob, extra, p_new, seed):
    d, s, c, p = prob
    new = np.array(extra[: len(d)])[None, :]
    c2, p2 = np.vstack([c, new]), np.append(p, p_new)
    a, b = calc_gap_draws(d, s, c, p, 300, seed), calc_gap_draws(d, s, c2, p2, 300, seed)
    for x, y in ((a.expected, b.expected), (a.p05, b.p05), (a.p95, b.p95), (a.all_projects, b.all_projects)):
        assert np.all(y <= x + 1e-9 * (1 + x))
    assert np.all(calc_expected_gap_exact(d, s, c2, p2) <= calc_expected_gap_exact(d, s, c, p) + 1e-6)


@settings(max_examples=60, deadline=None)
@given(_problem(), st.lists(_vals, min_size=4, max_size=4), st.integers(0, 2**32 - 1))
def test_gap_is_monotone_in_demand(prob, more, seed):
    d, s, c, p = prob
    d_hi = d + np.array(more[: len(d)])
    lo, hi = calc_gap_draws(d, s, c, p, 300, seed), calc_gap_draws(d_hi, s, c, p, 300, seed)
    assert np.all(hi.expected >= lo.expected - 1e-9)
    assert np.all(hi.p95 >= lo.p95 - 1e-9)


# ---------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def seed_projects():
    from critmin.projects.registry import load_seed

    return load_seed()


def test_real_gap_table_is_ordered_like_the_scenarios_demand(warehouse, seed_projects):
    from critmin.outlook.service import gap_table

    res = gap_table(warehouse, seed_projects, commodities=["lithium", "rare_earths"], year=2035, n_draws=500,
                    random_state=1)
    assert not res["not_computable"]
    rows = {(r["commodity"], r["stage"], r["scope"], r["scenario"]): r for r in res["rows"]}
    assert len(rows) == 2 * 2 * 4 * 3
    for (c, stg, scope, _), _r in rows.items():
        by = {s: rows[(c, stg, scope, s)] for s in ("STEPS", "APS", "NZE")}
        order = sorted(by, key=lambda s: by[s]["demand_t"])
        gaps = [by[s]["expected_gap_t"] for s in order]
        assert gaps == sorted(gaps), (c, stg, scope)
        for r in by.values():
            # the mean may lie above the 95th percentile (a skewed gap), so the band is checked on its own
            assert r["gap_all_projects_t"] - 1e-6 <= r["gap_p05_t"] <= r["gap_p95_t"] <= r["gap_without_projects_t"] + 1e-6
            assert r["gap_all_projects_t"] <= r["expected_gap_t"] + 1e-6 <= r["gap_without_projects_t"] + 2e-6
    # a world gap is demand minus all supply; the partners' secure supply is never above the world's
    w = rows[("lithium", "processing", "WORLD", "STEPS")]
    j = rows[("lithium", "processing", "USA+JPN", "STEPS")]
    assert j["secure_base_t"] <= w["secure_base_t"] and j["demand_t"] < w["demand_t"]


def test_real_pipeline_counts_capacity_on_the_iea_content_basis(seed_projects):
    from critmin.outlook.pipeline import pipeline_projects

    pp, left = pipeline_projects(seed_projects)
    by = {p.project_id: p for p in pp}
    # Thacker Pass: 40,000 t Li2CO3 = 40,000 x 2 x 6.94 / 73.89 t Li
    assert by["P-LAC-THACKERPASS"].capacity_t == pytest.approx(40_000 * 2 * 6.94 / 73.89)
    assert by["P-LAC-THACKERPASS"].stage == "processing"
    reasons = {e["project"]: e["reason"] for e in left}
    assert "magnet" in reasons["P-MPM-INDEPENDENCE"]
    assert "in the base case" in reasons["P-LYC-MTWELD"]
    assert all(0 < p.probability <= 1 for p in pp)


def test_national_figures_replace_the_market_share_where_curated(warehouse, data_dir: Path):
    import csv

    from critmin.outlook.service import NATIONAL_FILE, national_demand, partner_shares

    rows = national_demand()
    assert rows, NATIONAL_FILE
    for r in rows.values():
        assert "http" in r["source"] and "http" in r["world_source"] and r["as_of"]
    sh = partner_shares(warehouse, "lithium", ["USA", "JPN"])
    # Japan 2024: 11,520 t Li2CO3 and 37,640 t LiOH.H2O imported, over world lithium chemicals (IEA)
    li = 11_520 * 2 * 6.94 / 73.89 + 37_640 * 6.94 / 41.96
    assert li == pytest.approx(8390, abs=1)
    raw = json.loads((data_dir / "iea_cmde_2025" / "iea.json").read_text(encoding="utf-8"))
    assert raw["supply"]["Lithium"]["refining"]["total"]["2024"] * 1000 == pytest.approx(241612, abs=1)
    assert sh["JPN"].share == pytest.approx(8390 / 241612)
    assert "national figure" in sh["JPN"].note and "national figure" not in sh["USA"].note
    # rare earths: like-for-like bases (all rare earths over all rare earths, USGS world 390,000 t)
    re = partner_shares(warehouse, "rare_earths", ["USA", "JPN"])
    assert re["USA"].share == pytest.approx(6600 / 390000)
    assert re["JPN"].share == pytest.approx(18835 / 390000)
    # copper: Japan's refined copper demand FY2017 (JMIA) over world refined consumption 2017 (WBMS)
    cu = partner_shares(warehouse, "copper", ["USA", "JPN"])
    assert cu["JPN"].share == pytest.approx(992_152 / 23_464_000)
    with open(Path(__file__).parents[1] / "src" / "critmin" / "outlook" / "data" / NATIONAL_FILE, encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == len(rows)


def test_an_assumed_driver_counts_only_once_its_setting_is_given(warehouse, monkeypatch):
    """DDG-51 destroyers: 5,200 lb of rare earths each (CRS R41744), no public procurement rate
    (ASSUMPTION, no default): US rare-earth demand in 2030 rises by 2,358.7 kg x the rate set."""
    from critmin import settings as st_
    from critmin.data.curated.outlook import assumption_settings
    from critmin.outlook.demand import partner_demand, world_demand

    for name in assumption_settings()["setting"]:
        st_.get(name)  # every assumption named in demand_drivers.csv is a registered setting
    years = np.array([2030])
    w = world_demand(warehouse, "rare_earths", "STEPS", years)
    before = partner_demand(w, "USA", 0.02, "test").total[0]
    monkeypatch.setenv("CRITMIN_OUTLOOK_DRIVERS_DEFENCE_RARE_EARTHS_DDG51_PER_YEAR", "2")
    after = partner_demand(w, "USA", 0.02, "test").total[0]
    assert after - before == pytest.approx(2 * 2.3587)


def test_stages_taken_as_in_the_iea_base_case_leave_the_pipeline(seed_projects, monkeypatch):
    from critmin.outlook.pipeline import pipeline_projects

    pp, _ = pipeline_projects(seed_projects)
    assert "P-LAC-THACKERPASS" in {p.project_id for p in pp}  # construction: added by default
    monkeypatch.setenv("CRITMIN_OUTLOOK_PIPELINE_IN_IEA_BASE_CASE", "construction")
    pp2, left = pipeline_projects(seed_projects)
    assert "P-LAC-THACKERPASS" not in {p.project_id for p in pp2}
    assert all(p.development_stage != "construction" for p in pp2)
    assert "setting outlook.pipeline.in_iea_base_case" in {e["project"]: e["reason"] for e in left}["P-LAC-THACKERPASS"]
