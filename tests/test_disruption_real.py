"""The simulator on the real warehouse data (session fixture ``warehouse``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from critmin.disruption import api
from critmin.disruption.deterministic import run_scenario
from critmin.disruption.runs import run_and_store_scenario
from critmin.disruption.scenario import load_scenario

SCEN = Path(__file__).resolve().parents[1] / "scenarios"
CONTRACT = ["rare_earths", "gallium", "germanium", "graphite", "cobalt", "lithium", "nickel", "copper", "tungsten",
            "antimony", "platinum", "palladium", "manganese", "vanadium", "niobium", "tantalum", "indium",
            "tellurium", "magnesium", "fluorspar", "barite", "bismuth", "beryllium", "chromium", "tin", "zinc",
            "zirconium", "aluminum", "bauxite"]


@pytest.fixture(scope="module")
def market(warehouse):
    return api.load_market(warehouse)


def test_market_covers_contract_commodities_with_reasons(market):
    for c in CONTRACT:
        assert c in market.commodities or c in market.not_computable
    assert {"gallium", "rare_earths", "cobalt", "nickel", "graphite"} <= set(market.commodities)
    for reason in market.not_computable.values():
        assert reason.startswith("not computable: ")


def test_real_market_matches_usgs_figures(market):
    # USGS MCS 2025: China produced ~98% of world primary gallium in 2024 (750 t of ~760 t)
    ga = market.commodities["gallium"]
    assert ga.stage == "processing"
    share = ga.production_t[ga.producers.index("CHN")] / ga.production_t.sum()
    assert share > 0.95
    # gallium has no BACI HS code: the US (whose Comtrade extract names China only) gets proxy
    # shares, flagged; Japan's come from COMTRADE_JPN2020 (imports only), so its consumption is the
    # curated JOGMEC figure (97 t imported in 2021) + its own primary output (3 t), never 0 t
    assert ga.proxy_trade_shares == (True, False) and "JPN" not in ga.demand_unknown
    assert ga.provenance["trade"]["JPN"]["source"] == "COMTRADE_JPN2020"
    own = ga.production_t[ga.producers.index("JPN")]
    assert ga.demand_t[1] == pytest.approx(97.0 + own)
    cur = ga.provenance["trade"]["JPN"]["curated_consumption"]
    assert cur["year"] == 2021 and cur["consumption_t"] == 167 and cur["url"].startswith("https://")
    # Indonesia is the largest nickel mine producer (MCS 2025: 2.2 Mt of 3.7 Mt in 2024e)
    ni = market.commodities["nickel"]
    assert ni.producers[int(np.argmax(ni.production_t))] == "IDN"
    # prices converted to US$/t: MCS 2025 cobalt spot ~ US$15/lb -> ~ US$33,000/t order of magnitude
    assert 1e4 < market.commodities["cobalt"].price_usd_per_t < 1e5


@pytest.mark.parametrize("path", sorted(SCEN.glob("*.toml")), ids=lambda p: p.stem)
def test_every_library_scenario_runs_on_real_data(warehouse, path):
    sc = load_scenario(path)
    m = api.load_market(warehouse, sorted({e.commodity for e in sc.events}), tuple(sc.consumers))
    out = run_scenario(m, sc)
    for res in out.results.values():
        np.testing.assert_allclose(res.delivered + res.shortfall, res.demand[None], rtol=1e-9, atol=1e-6)
        assert (res.shortfall >= 0).all()


def test_us_gallium_ban_hits_us_not_japan(warehouse):
    sc = load_scenario(SCEN / "cn_gallium_germanium_antimony_us_ban_2024.toml")
    m = api.load_market(warehouse, ["gallium", "germanium", "antimony"], ("USA", "JPN"))
    out = run_scenario(m, sc)
    ga = out.results["gallium"]
    assert ga.shortfall[0, :, 0].sum() > 0
    assert (ga.shortfall[0, :, 1] == 0).all()


def test_cli_scenario_and_monte_carlo_json(warehouse_rw_path):
    from critmin.cli.main import app

    r = CliRunner().invoke(app, ["--db", str(warehouse_rw_path), "simulate",
                                 str(SCEN / "cod_cobalt_export_suspension_2025.toml"), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["runs"] == 1 and doc["results"][0]["commodity"] == "cobalt"
    r = CliRunner().invoke(app, ["--db", str(warehouse_rw_path), "simulate", "--monte-carlo", "--runs", "2000",
                                 "--seed", "5", "--json", "-c", "gallium", "-c", "rare_earths", "-c", "nickel"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert set(doc) >= {"scenario", "runs", "seed", "results", "run_id"}
    keys = {"commodity", "consumer", "mean_shortfall_t", "mean_shortfall_pct", "var95_pct", "cvar95_pct",
            "p_shortfall_gt_10pct", "mean_price_change_pct", "proxy_trade_shares"}
    assert all(keys <= set(row) for row in doc["results"])
    from critmin.data.warehouse import Warehouse

    wh = Warehouse(warehouse_rw_path, read_only=True)
    try:
        s = api.load_run(wh, doc["run_id"])
    finally:
        wh.close()
    assert s.n_scenarios == 2000 and s.seed == 5
    r = CliRunner().invoke(app, ["--db", str(warehouse_rw_path), "simulate", "--monte-carlo", "--runs", "10", "--json"])
    assert r.exit_code != 0 and "--seed is required" in r.output


def test_scenario_run_is_stored(warehouse_rw_path):
    from critmin.data.warehouse import Warehouse
    from critmin.disruption.store import list_runs

    wh = Warehouse(warehouse_rw_path)
    try:
        sc = load_scenario(SCEN / "idn_nickel_ore_ban_2020.toml")
        m = api.load_market(wh, ["nickel"])
        doc = run_and_store_scenario(wh, m, sc)  # the warehouse's operational store (critmin.ops)
        assert any(r["run_id"] == doc["run_id"] for r in list_runs(wh))
    finally:
        wh.close()
