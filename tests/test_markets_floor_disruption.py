"""Price floor on disruption price paths (``--paths disruption``): pure properties and the CLI on
the real warehouse, fresh and from a stored Monte Carlo run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from critmin.cli.main import app
from critmin.markets.floor import FloorContract, calc_floor_summary, calc_shocked_paths
from critmin.markets.pricemodel import OUParams, simulate_ou_paths

KEYS = ("mean_cost_usd", "p95_cost_usd", "worst_year_cost_usd", "pv_mean_cost_usd", "p_binding", "p_binding_any")


def test_shocked_paths_hand_worked():
    base = np.array([[100.0, 100.0, 80.0, 90.0]])
    pc = np.array([[0.0, 25.0, 50.0, 0.0]])
    np.testing.assert_allclose(calc_shocked_paths(base, pc), [[100.0, 125.0, 120.0, 90.0]])
    # floor 110, 12 t/yr -> 1,000 kg a month (4 months x 3 "years" would not fit: use 1 year of 12 months)
    c = FloorContract(110.0, 12.0, 1)
    b = np.full((1, 12), 100.0)
    s = np.zeros((1, 12))
    s[0, :3] = 20.0  # three months at 120: the floor does not bind there
    assert calc_floor_summary(calc_shocked_paths(b, s), c, 0.0)["mean_cost_usd"] == pytest.approx(9 * 10 * 1000.0)
    with pytest.raises(ValueError, match="shape"):
        calc_shocked_paths(b, s[:, :6])
    with pytest.raises(ValueError, match="-100"):
        calc_shocked_paths(b, s - 150.0)


def test_no_shock_equals_the_baseline_cost():
    p = simulate_ou_paths(OUParams(0.6, math.log(70.0), 0.45), 56.0, 120, 500, random_state=1)
    c = FloorContract(110.0, 10_000.0, 10, ceiling=150.0, upside_share=0.2)
    a = calc_floor_summary(p, c, 0.02)
    b = calc_floor_summary(calc_shocked_paths(p, np.zeros_like(p)), c, 0.02)
    assert a == b


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), floor=st.floats(20, 200), share=st.floats(0, 1),
       k=st.floats(1.0, 5.0), density=st.floats(0.0, 1.0))
def test_larger_or_more_price_shocks_never_raise_the_cost(seed, floor, share, k, density):
    rng = np.random.default_rng(seed)
    p = simulate_ou_paths(OUParams(0.6, math.log(70.0), 0.45), 56.0, 24, 200, random_state=rng)
    few = np.where(rng.random(p.shape) < density, rng.exponential(30.0, p.shape), 0.0)
    more = np.where(rng.random(p.shape) < 0.3, rng.exponential(30.0, p.shape), 0.0)
    c = FloorContract(floor, 100.0, 2, ceiling=floor * 1.5, upside_share=share)
    base = calc_floor_summary(p, c, 0.02)
    s1 = calc_floor_summary(calc_shocked_paths(p, few), c, 0.02)
    s2 = calc_floor_summary(calc_shocked_paths(p, few * k), c, 0.02)  # larger shocks
    s3 = calc_floor_summary(calc_shocked_paths(p, few + more), c, 0.02)  # more shocks
    for key in KEYS:
        tol = 1e-9 * max(1.0, abs(base[key]))
        assert s1[key] <= base[key] + tol and s2[key] <= s1[key] + tol and s3[key] <= s1[key] + tol, key


# --- real warehouse --------------------------------------------------------------------------
FLOOR = ["markets", "floor", "--commodity", "rare earths", "--product", "NdPr-oxide", "--floor", "110",
         "--unit", "USD/kg", "--volume", "10000", "--years", "10", "--runs", "300", "--json"]  # fmt: skip


def _run(db, args, ok=True):
    res = CliRunner().invoke(app, ["--db", str(db), *args])
    if ok:
        assert res.exit_code == 0, res.output
        return json.loads(res.output)
    assert res.exit_code != 0
    return res.output


def _need_nd(warehouse):
    if warehouse.query("SELECT count(*) FROM price WHERE series = 'rare_earths:Price_Nd2O3_dkg'").iloc[0, 0] == 0:
        pytest.skip("warehouse has no Nd2O3 prices")


def test_cli_disruption_paths_on_the_real_warehouse(warehouse, real_db_path):
    _need_nd(warehouse)
    model = _run(real_db_path, [*FLOOR, "--seed", "4"])
    dis = _run(real_db_path, [*FLOOR, "--seed", "4", "--paths", "disruption"])
    again = _run(real_db_path, [*FLOOR, "--seed", "4", "--paths", "disruption"])
    assert dis == again  # same seed, same distribution
    assert model["paths"] == "model" and dis["paths"] == "disruption"
    d = dis["disruption"]
    # the undisturbed paths are exactly the --paths model draws
    for k in ("mean_cost_usd", "p95_cost_usd", "worst_year_cost_usd", "p_binding"):
        assert d["baseline_model_paths"][k] == model[k]
    # disruption responses only raise prices: the floor never costs more than on the model paths
    assert dis["mean_cost_usd"] <= model["mean_cost_usd"] and dis["p_binding"] <= model["p_binding"]
    assert d["commodity"] == "rare_earths" and d["mc_runs_used"] == 3000
    assert {p["pair"] for p in d["hazard_pairs"]} >= {"rare_earths:CHN:mine"}
    assert 0.0 <= d["p_path_with_restriction"] <= 1.0
    assert (d["p_path_with_restriction"] > 0) == (dis["mean_cost_usd"] < model["mean_cost_usd"])
    assert any("disruption simulator's price response" in a for a in dis["assumptions"])
    assert any("i*10+y" in a for a in dis["assumptions"])


def test_cli_disruption_paths_from_a_stored_run_equal_the_fresh_ones(warehouse, warehouse_rw_path):
    _need_nd(warehouse)
    mc = _run(warehouse_rw_path, ["simulate", "--monte-carlo", "--runs", "3072", "--seed", "11", "--json"])
    stored = _run(warehouse_rw_path, [*FLOOR, "--seed", "11", "--paths", "disruption", "--run-id", mc["run_id"]])
    fresh = _run(warehouse_rw_path, [*FLOOR, "--seed", "11", "--paths", "disruption"])
    assert stored["disruption"]["run_id"] == mc["run_id"]
    for k in KEYS:
        assert stored[k] == fresh[k], k
    # a stored run with too few runs for paths x years is an error that says so
    out = _run(warehouse_rw_path, [*FLOOR[:-2], "400", "--json", "--seed", "11", "--paths", "disruption",
                                   "--run-id", mc["run_id"]], ok=False)
    assert "4000" in out and "3072" in out
    assert "--paths disruption" in _run(warehouse_rw_path, [*FLOOR, "--seed", "1", "--run-id", mc["run_id"]], ok=False)
