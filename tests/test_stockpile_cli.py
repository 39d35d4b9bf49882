"""``critmin stockpile`` on the real warehouse (and its option errors)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from critmin.cli.main import app

runner = CliRunner()


def test_bad_budget_is_a_clear_cli_error(tmp_path):
    r = runner.invoke(app, ["--db", str(tmp_path / "none.duckdb"), "stockpile", "plan",
                            "--budget", "USA=2B,JPN=abc", "--json"])
    assert r.exit_code == 1
    assert "--budget JPN: 'abc' is not an amount" in r.output


def _plan(db, *extra):
    r = runner.invoke(app, ["--db", str(db), "stockpile", "plan", "--budget", "USA=2B,JPN=1.5B",
                            "--runs", "300", "--seed", "3", "--json", *extra])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.mark.slow
def test_plan_json_on_real_data(real_db_path):
    d = _plan(real_db_path, "--mode", "coordinated")
    assert list(d) == ["mode", "budgets", "objective", "expected_loss", "cvar",
                       "value_of_coordination", "targets", "loss_model", "why", "sample"]
    assert d["loss_model"] == "damage"
    assert (d["sample"]["run_id"], d["sample"]["vintage"]) == (None, None)  # sampled now, unpinned
    funded = {(t["commodity"], t["partner"]) for t in d["targets"] if t["stock_t"] > 1e-9}
    assert {(w["commodity"], w["partner"]) for w in d["why"]} == funded
    assert all(w["loss_per_t"] > 0 and w["lists"] for w in d["why"])
    assert d["mode"] == "coordinated" and d["budgets"] == {"USA": 2e9, "JPN": 1.5e9}
    spent = {"USA": 0.0, "JPN": 0.0}
    for t in d["targets"]:
        assert t["stock_t"] >= -1e-9
        assert t["expected_shortfall_t"] <= t["expected_shortfall_without_t"] + 1e-6
        spent[t["partner"]] += t["cost_usd"]
    assert spent["USA"] <= 2e9 * (1 + 1e-7) and spent["JPN"] <= 1.5e9 * (1 + 1e-7)
    assert d["value_of_coordination"]["usd"] >= -1e-7 * d["value_of_coordination"]["independent_objective"]
    # same seed -> same answer; independent mode reports the same value of coordination
    ind = _plan(real_db_path, "--mode", "independent")
    assert ind["value_of_coordination"] == pytest.approx(d["value_of_coordination"], rel=1e-6)
    assert ind["objective"] == pytest.approx(d["value_of_coordination"]["independent_objective"])


@pytest.mark.slow
def test_frontier_html_on_real_data(real_db_path, tmp_path):
    out = tmp_path / "frontier.html"
    r = runner.invoke(app, ["--db", str(real_db_path), "stockpile", "frontier", "--budget",
                            "USA=1B,JPN=1B", "--runs", "200", "--points", "3", "--html", str(out),
                            "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert {row["mode"] for row in rows} == {"coordinated", "independent"}
    assert len(rows) == 6
    html = out.read_text()
    assert "Stockpile budget" in html and '<script src="http' not in html


@pytest.mark.slow
def test_plan_from_stored_run_matches_api(warehouse_rw_path):
    from critmin.data.warehouse import Warehouse
    from critmin.disruption import api
    from critmin.disruption.runs import run_and_store_monte_carlo
    from critmin.stockpile import inputs, losses
    from critmin.stockpile.plan import make_problem, plan

    wh = Warehouse(warehouse_rw_path)
    try:
        run_id = run_and_store_monte_carlo(wh, api.load_market(wh), runs=200, seed=11)["run_id"]
    finally:
        wh.close()
    r = runner.invoke(app, ["--db", str(warehouse_rw_path), "stockpile", "plan", "--budget",
                            "USA=1B,JPN=1B", "--run-id", run_id, "--json"])
    assert r.exit_code == 0, r.output
    cli = json.loads(r.stdout)
    wh = Warehouse(warehouse_rw_path, read_only=True)
    try:
        sample = inputs.sample_for(wh, runs=0, random_state=0, run_id=run_id)
        assert sample.n_scenarios == 200 and sample.run_id == run_id
        # the default: the commodities of the candidate lists, the damage model's loss per ton
        on_lists = losses.candidates()
        assert on_lists
        sample = inputs.subset_sample(sample, [c for c in sample.commodities if c in on_lists])
        mult, _src, damage = losses.damage_losses(wh, sample)
        sample = inputs.subset_sample(sample, [c for c in sample.commodities if c in mult])
    finally:
        wh.close()
    # each partner's unmet ton at its own damage
    own = {c: [damage[c]["by_partner"][k]["loss_per_t"] for k in sample.consumers] for c in sample.commodities}
    ref = plan(make_problem(sample, {"USA": 1e9, "JPN": 1e9}, mult, partner_loss_usd_per_t=own)).to_dict()
    assert cli["objective"] == pytest.approx(ref["objective"], rel=1e-9)
    assert [t["commodity"] for t in cli["targets"]] == [t["commodity"] for t in ref["targets"]]


@pytest.mark.slow
def test_compare_on_real_data(real_db_path):
    r = runner.invoke(app, ["--db", str(real_db_path), "stockpile", "compare", "--budget",
                            "USA=2B,JPN=1.5B", "--runs", "200", "--seed", "1", "--high-risk",
                            "gallium,rare_earths", "--fixed", "gallium:USA=50", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    names = [row["name"] for row in d["rows"]]
    assert names == ["optimal (coordinated)", "optimal (independent)", "60 days",
                     "60/180 days (high-risk)", "fixed (user)"]
    rows = {row["name"]: row for row in d["rows"]}
    # the optimum is optimal on these scenarios: no baseline that fits the budgets beats it
    for row in d["rows"][2:]:
        if row["within_budget_USA"] and row["within_budget_JPN"]:
            assert row["objective"] >= rows["optimal (coordinated)"]["objective"] * (1 - 1e-9)
    # 180 days for the high-risk ones costs more than 60 days everywhere
    assert rows["60/180 days (high-risk)"]["cost_usd"] >= rows["60 days"]["cost_usd"]


def test_a_bad_loss_model_is_a_one_line_error(tmp_path):
    r = runner.invoke(app, ["--db", str(tmp_path / "none.duckdb"), "stockpile", "plan",
                            "--budget", "USA=2B,JPN=1B", "--loss-model", "price"])
    assert r.exit_code == 1
    assert "--loss-model: 'price'; expected one of damage, multiple" in r.output
    assert "Traceback" not in r.output


@pytest.mark.slow
def test_the_loss_model_option_and_the_loss_column(real_db_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    old = _plan(real_db_path, "--loss-model", "multiple")
    assert old["loss_model"] == "multiple"
    assert all(w["basis"] is None for w in old["why"])  # no damage figures behind a multiple
    r = runner.invoke(app, ["--db", str(real_db_path), "stockpile", "plan", "--budget", "USA=2B,JPN=1.5B",
                            "--runs", "300", "--seed", "3"])
    assert r.exit_code == 0, r.output
    assert "loss $/t" in r.stdout
    new = _plan(real_db_path)
    ga = [w for w in new["why"] if w["commodity"] == "gallium" and w["partner"] == "USA"]
    assert ga and f"{ga[0]['loss_per_t']:,.0f}" in r.stdout  # the partner's own loss, as charged
