"""`critmin markets ...` on the real warehouse: JSON shapes, ISO dates, seeds, assumptions."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from critmin.cli.main import app

FLOOR = ["markets", "floor", "--commodity", "rare earths", "--product", "NdPr-oxide", "--floor", "110",
         "--unit", "USD/kg", "--volume", "10000", "--years", "10", "--runs", "2000", "--seed", "1", "--json"]  # fmt: skip


def _run(db, args):
    res = CliRunner().invoke(app, ["--db", str(db), *args])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def _need_rows(warehouse, sql: str, what: str) -> None:
    if warehouse.query(sql).iloc[0, 0] == 0:
        pytest.skip(f"warehouse has no {what}")


def test_floor_json_states_assumptions_and_is_reproducible(warehouse, real_db_path):
    _need_rows(warehouse, "SELECT count(*) FROM price WHERE series = 'rare_earths:Price_Nd2O3_dkg'", "Nd2O3 prices")
    a = _run(real_db_path, FLOOR)
    for k in ("mean_cost_usd", "p95_cost_usd", "worst_year_cost_usd", "p_binding", "assumptions", "calibration"):
        assert k in a
    assert any("Price_Nd2O3_dkg" in s for s in a["assumptions"])
    assert any("t/yr" in s for s in a["assumptions"])
    assert a["calibration"]["n_obs"] == len(a["history"])  # one value per year (newest release)
    assert 0 <= a["p_binding"] <= 1 and a["p95_cost_usd"] >= a["mean_cost_usd"] * 0.5
    b = _run(real_db_path, FLOOR)
    assert a["mean_cost_usd"] == b["mean_cost_usd"] and a["p95_cost_usd"] == b["p95_cost_usd"]


def test_prices_json_has_iso_dates_units_and_sources(warehouse, real_db_path):
    _need_rows(warehouse, "SELECT count(*) FROM price", "prices")
    rows = _run(real_db_path, ["markets", "prices", "copper", "--json"])
    assert rows
    for r in rows[:50]:
        assert len(r["date"]) == 10 and r["date"][4] == "-"
        assert r["unit"] and r["source"] and r["dataset_id"] is not None


def test_signals_json_carries_evidence_and_rows(warehouse, real_db_path):
    _need_rows(warehouse, "SELECT count(*) FROM trade WHERE source = 'CHINA_EXPORTS'", "CHINA_EXPORTS rows")
    rows = _run(real_db_path, ["markets", "signals", "--exporter", "CHN", "--commodity", "gallium",
                               "--kind", "volume_change", "--json"])
    assert rows
    for r in rows:
        assert r["evidence"] and r["rows"] and r["window_start"] <= r["window_end"]
