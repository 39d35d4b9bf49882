"""``critmin outlook`` and ``critmin gap`` on the real warehouse, and their one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from critmin.cli.main import app

runner = CliRunner()


def test_outlook_json_and_plain(warehouse_rw_path):
    args = ["--db", str(warehouse_rw_path), "outlook", "--commodity", "Li", "--stage", "processing",
            "--scenario", "STEPS", "--to", "2040", "--draws", "300", "--seed", "2"]
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["commodity"] == "lithium" and d["stage"] == "processing" and d["scenario"] == "STEPS"
    assert d["years"] == list(range(2024, 2041)) and d["draws"] == 300 and d["random_state"] == 2
    assert {"WORLD|STEPS", "USA|STEPS", "JPN|STEPS", "USA+JPN|APS"} <= set(d["demand"])
    rows = [g for g in d["gap"] if g["scope"] == "WORLD" and g["scenario"] == "STEPS" and g["year"] == 2024]
    assert rows[0]["demand_t"] == pytest.approx(205_000, rel=1e-9)  # the IEA's 205 kt
    assert any(p["project"] == "P-LAC-THACKERPASS" for p in d["projects"])
    plain = runner.invoke(app, args)
    assert plain.exit_code == 0, plain.output
    assert "lithium at the processing stage, IEA STEPS, 2024-2040" in plain.stdout
    assert "not in the pipeline" in plain.stdout


def test_gap_json_for_the_partners(warehouse_rw_path):
    r = runner.invoke(app, ["--db", str(warehouse_rw_path), "gap", "--for", "US,JP", "--year", "2030",
                            "--draws", "200", "--seed", "1", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["years"] == [2030] and not d["not_computable"]
    keys = {(x["commodity"], x["stage"], x["scope"], x["scenario"]) for x in d["rows"]}
    assert len(keys) == len(d["rows"]) == 6 * 2 * 4 * 3
    assert ("rare_earths", "processing", "USA+JPN", "NZE") in keys
    # which gaps matter most: the partners' expected gap valued at the impact model's loss per tonne
    pr = d["priorities"]
    assert pr and [p["expected_gap_value_usd"] for p in pr] == sorted((p["expected_gap_value_usd"] for p in pr), reverse=True)
    for p in pr:
        assert p["expected_gap_value_usd"] == pytest.approx(p["expected_gap_t"] * p["loss_per_t"])
    assert all(r["expected_gap_value_usd"] is None for r in d["rows"] if r["scope"] == "WORLD")
    nickel = next(p for p in pr if p["commodity"] == "nickel")
    assert any(f.startswith("share_check:JPN") for f in nickel["flags"])  # Japan's nickel share is trade weight


@pytest.mark.parametrize("argv, message", [
    (["outlook", "--commodity", "lithium", "--to", "2060"], "2024 <= first <= last <= 2050"),
    (["outlook", "--commodity", "lithium", "--stage", "magnet"], "stage 'magnet'"),
    (["outlook", "--commodity", "lithium", "--scenario", "XYZ"], "scenario 'XYZ'"),
    (["gap", "--year", "2050"], "--year 2050"),
    (["gap", "--for", "Atlantis"], "unknown country 'Atlantis'"),
])
def test_user_errors_are_one_line(warehouse_rw_path, argv, message):
    r = runner.invoke(app, ["--db", str(warehouse_rw_path), *argv])
    assert r.exit_code != 0
    assert message in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1


def test_projects_score_outlook_basis_scores_25_and_says_what_the_rest_lack(warehouse_rw_path):
    r = runner.invoke(app, ["--db", str(warehouse_rw_path), "projects", "score", "--basis", "outlook", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["summary"]["projects"] == 35 and d["summary"]["scored"] >= 25
    for p in d["projects"]:
        assert p["scored"] == (p["value_usd"] is not None)
        if not p["scored"]:
            assert "not stated in the sources" in p["reason"] or "no IEA supply outlook" in p["reason"]
    plain = runner.invoke(app, ["--db", str(warehouse_rw_path), "projects", "score", "--basis", "outlook"])
    assert plain.exit_code == 0 and "of 35 scored" in plain.stdout


def test_outlook_of_a_mineral_without_iea_supply_gives_its_demand_and_says_why_no_gap(warehouse_rw_path, data_dir):
    raw = json.loads((data_dir / "iea_cmde_2025" / "iea.json").read_text(encoding="utf-8"))["cleantechByMineral"]
    r = runner.invoke(app, ["--db", str(warehouse_rw_path), "outlook", "--commodity", "Ga", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["gap"] == [] and "no IEA supply outlook" in d["not_computable"][0]
    w = d["demand"]["WORLD|STEPS"]
    assert w["basis"] == "clean_tech_only"
    assert w["total"][0] == pytest.approx(raw["Gallium"]["2024"] * 1000)  # the IEA's clean-technology total
    assert w["total"][d["years"].index(2040)] == pytest.approx(raw["Gallium"]["STEPS"]["2040"] * 1000)
