"""Tables that fit (issue 19 §2): with COLUMNS=80 no numeric cell is cut. Every numeric cell of
the table is parsed back and compared with the command's own --json output; names wrap instead
of ending in an ellipsis; display names and units in the titles; --vintage on production."""

from __future__ import annotations

import json
import random

import pytest
from rich.console import Console
from typer.testing import CliRunner

from critmin.cli.main import app
from critmin.cli.production import qty_text
from critmin.cli.tables import Col, fit_table

runner = CliRunner()
ENV = {"COLUMNS": "80", "LINES": "50"}


def _cells(text: str) -> list[list[str]]:
    """The body cells of a rich table, one list per rendered line (a wrapped cell spans lines)."""
    return [[c.strip() for c in line.split("│")[1:-1]] for line in text.splitlines() if line.startswith("│")]


def _all_cells(text: str) -> set[str]:
    return {c for row in _cells(text) for c in row}


def _render(args: list[str], db) -> str:
    r = runner.invoke(app, ["--db", str(db), *args], env=ENV)
    assert r.exit_code == 0, r.output
    return r.stdout


def _check_fits(text: str) -> None:
    assert "…" not in text
    assert all(len(line) <= 80 for line in text.splitlines()), max(text.splitlines(), key=len)


@pytest.mark.parametrize("args", [
    ["production", "rare earths", "--year", "2024"],
    ["production", "cobalt"],
    ["production", "gallium", "--stage", "processing"],
    ["production", "lithium", "--year", "2023", "--source", "WMD"],
    ["production", "gallium", "--year", "2023", "--unit", "t"],
])
def test_production_numbers_are_never_cut(real_db_path, args):
    text = _render(args, real_db_path)
    _check_fits(text)
    cells = _all_cells(text)
    recs = json.loads(_render([*args, "--json"], real_db_path))
    assert recs
    for r in recs:
        if r["quantity"] is not None:
            assert qty_text(r["quantity"]) in cells, (r, text)
        if r["share"] is not None:
            assert f"{100 * r['share']:.1f}%" in cells, (r, text)
        assert str(r["year"]) in cells


def test_production_title_names_and_unit(real_db_path):
    text = _render(["production", "gallium", "--year", "2023"], real_db_path)
    assert text.splitlines()[0].startswith("Gallium production, processing (USGS, kg)")
    assert "gallium production" not in text.splitlines()[0]


def test_production_vintage(real_db_path):
    # as of MCS 2024 (tests/test_cli_vintage.py): no MCS 2025 row; its estimate year 2023 is the newest
    recs = json.loads(_render(["production", "cobalt", "--vintage", "MCS2024", "--json"], real_db_path))
    assert recs and max(r["vintage"] for r in recs) == "MCS2024" and max(r["year"] for r in recs) == 2023
    assert {r["vintage"] for r in recs if r["year"] == 2023} == {"MCS2024"}
    r = runner.invoke(app, ["--db", str(real_db_path), "production", "cobalt", "--vintage", "MCS1999"])
    assert r.exit_code == 1
    assert "releases available: " in r.stderr and "MCS2025" in r.stderr


def test_watchlist_numbers_are_never_cut(real_db_path):
    text = _render(["assess", "--year", "2024"], real_db_path)
    _check_fits(text)
    cells = _all_cells(text)
    recs = json.loads(_render(["assess", "--year", "2024", "--json"], real_db_path))
    for r in recs:
        score = r["indices"]["joint_score"]
        if r["group"] == "ranked":
            assert f"{score:.3f}" in cells, (r["commodity"], text)
            assert str(r["rank"]) in cells
    assert "rare_earths" not in text and "rare earths" in cells


def test_simulation_numbers_are_never_cut(real_db_path):
    args = ["simulate", "scenarios/cn_gallium_germanium_antimony_us_ban_2024.toml", "--no-store"]
    text = _render(args, real_db_path)
    _check_fits(text)
    cells = _all_cells(text)
    doc = json.loads(_render([*args, "--json"], real_db_path))
    for r in doc["results"]:
        if r["mean_shortfall_t"] is not None:
            assert f"{r['mean_shortfall_t']:,.1f}" in cells, (r, text)
        if r["mean_shortfall_pct"] is not None:
            assert f"{r['mean_shortfall_pct']:.2f}" in cells


@pytest.mark.parametrize("width", [40, 60, 80, 100, 140])
def test_fit_table_keeps_numbers_whole_at_any_width(width):
    rng = random.Random(width)
    cols = [Col("name"), Col("quantity", numeric=True), Col("note", priority=2), Col("share", numeric=True),
            Col("source", priority=1)]
    rows = [[" ".join(rng.choice(["magnesium", "metal", "rare", "earths", "platinum-group"]) for _ in range(3)),
             f"{rng.uniform(0, 1e9):,.1f}", "a long note " * rng.randint(1, 4), f"{rng.uniform(0, 100):.1f}%",
             "MCS2025 #1:885"] for _ in range(12)]
    con = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    try:
        con.print(fit_table("t", cols, rows, width=width))
        text = con.export_text()
    finally:
        con.file.close()
    cells = _all_cells(text)
    for r in rows:
        assert r[1] in cells and r[3] in cells, text
    assert "…" not in text


def test_crosscheck_numbers_are_never_cut(real_db_path):
    args = ["data", "crosscheck", "--year", "2023"]
    text = _render(args, real_db_path)
    _check_fits(text)
    cells = _all_cells(text)
    recs = json.loads(_render([*args, "--json"], real_db_path))
    assert recs
    for r in recs:
        assert f"{r['usgs_t']:,.0f}" in cells and f"{r['wmd_converted_t']:,.0f}" in cells, (r, text)


def test_production_in_one_unit(real_db_path):
    kg = json.loads(_render(["production", "gallium", "--year", "2023", "--json"], real_db_path))
    t = json.loads(_render(["production", "gallium", "--year", "2023", "--unit", "t", "--json"], real_db_path))
    assert {r["unit"] for r in kg} == {"kg"} and {r["unit"] for r in t} == {"t"}
    for a, b in zip(kg, t, strict=True):
        assert b["quantity"] == pytest.approx(a["quantity"] / 1000)
    assert _render(["production", "gallium", "--year", "2023", "--unit", "t"], real_db_path).startswith(
        "Gallium production, processing (USGS, t)")
    r = runner.invoke(app, ["--db", str(real_db_path), "production", "gallium", "--unit", "lb"])
    assert r.exit_code == 1 and r.stderr.startswith("error: --unit: 'lb'; expected one of t, kg")
