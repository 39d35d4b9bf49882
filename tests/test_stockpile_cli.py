"""``critmin stockpile`` on the real warehouse (and its option errors)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from critmin.cli.main import app
from critmin.cli.stockpile import parse_amount, parse_pairs

runner = CliRunner()


def test_parse_amounts():
    assert parse_amount("2.5B", "x") == 2.5e9
    assert parse_amount("500M", "x") == 5e8
    assert parse_amount("1_000k", "x") == 1e6
    assert parse_amount("inf", "x") == float("inf")
    assert parse_pairs("USA=2B, JPN=1.5e9", "--budget", amount=True) == {"USA": 2e9, "JPN": 1.5e9}
    with pytest.raises(ValueError, match="--budget JPN: 'lots' is not an amount"):
        parse_pairs("USA=1,JPN=lots", "--budget", amount=True)
    with pytest.raises(ValueError, match="'USA' given twice"):
        parse_pairs("USA=1,USA=2", "--budget", amount=True)


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
                       "value_of_coordination", "targets"]
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
