"""Stored simulation runs record the ``--vintage`` they were computed on (issue 19 follow-up).

``critmin simulate`` stores a run; ``critmin runs list|show`` show its vintage and data
fingerprint; a stockpile plan from a stored run (``--run-id``) under another vintage is refused
in one line unless ``--allow-vintage-mismatch`` (docs/data.md, "Stored results"). References:
the release the user names (``MCS2023``, a vintage of the imported MCS 2023 dataset rows, read
from the ``dataset`` table), and a row written the way runs were stored before the vintage was
recorded (its market metadata without the keys).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from critmin.cli.main import app
from critmin.data.warehouse import Warehouse

runner = CliRunner()
_MC = ["simulate", "--monte-carlo", "--runs", "60", "--seed", "11", "-c", "gallium", "--json"]
_PLAN = ["stockpile", "plan", "--budget", "USA=1B,JPN=1B", "--commodities", "gallium", "--json"]


def _cli(db, *args: str):
    return runner.invoke(app, ["--db", str(db), *args])


def _json(out: str) -> dict:
    return json.loads(out[out.index("{"):])


@pytest.fixture(scope="module")
def db(real_db_path, tmp_path_factory):
    """A private copy (runs are stored beside it) with a run as of MCS2023 and an unpinned one."""
    import shutil

    path = tmp_path_factory.mktemp("runvintage") / "critmin.duckdb"
    shutil.copyfile(real_db_path, path)
    pinned = _cli(path, *_MC, "--vintage", "MCS2023")
    assert pinned.exit_code == 0, pinned.output
    plain = _cli(path, *_MC)
    assert plain.exit_code == 0, plain.output
    return path, _json(pinned.stdout)["run_id"], _json(plain.stdout)["run_id"]


def _listed(path) -> dict[str, dict]:
    r = _cli(path, "runs", "list", "--json")
    assert r.exit_code == 0, r.output
    return {x["run_id"]: x for x in json.loads(r.stdout)}


def test_mcs2023_is_a_release_of_the_warehouse(real_db_path):
    with Warehouse(real_db_path, read_only=True) as wh:
        assert "MCS2023" in set(wh.query("SELECT DISTINCT vintage FROM dataset")["vintage"])


def test_pinned_run_records_and_lists_its_vintage(db):
    path, pinned, _ = db
    row = _listed(path)[pinned]
    assert row["vintage"] == "MCS2023"
    # the fingerprint of the pinned data, not the unpinned one's
    with Warehouse(path, read_only=True, vintage="MCS2023") as wh:
        assert row["data_fingerprint"] == str(wh.fingerprint())
    assert row["data_fingerprint"].endswith("'as_of:MCS2023')")
    shown = _cli(path, "runs", "show", pinned)
    assert shown.exit_code == 0, shown.output
    assert "vintage: MCS2023" in shown.stdout.splitlines()
    table = _cli(path, "runs", "list")
    assert pinned in table.stdout and "MCS2023" in table.stdout


def test_unpinned_run_records_no_vintage(db):
    path, _, plain = db
    row = _listed(path)[plain]
    assert row["vintage"] is None  # unpinned: every release, not "unknown"
    assert "as_of:" not in row["data_fingerprint"]
    with Warehouse(path, read_only=True) as wh:
        assert row["data_fingerprint"] == str(wh.fingerprint())
    assert "vintage: none (every release)" in _cli(path, "runs", "show", plain).stdout.splitlines()


def test_plan_from_a_run_under_another_vintage_is_refused(db):
    path, pinned, plain = db
    r = _cli(path, *_PLAN, "--run-id", pinned)
    assert r.exit_code == 1
    lines = [x for x in r.stderr.strip().splitlines() if not x.startswith("note: ")]
    assert len(lines) == 1 and lines[0].startswith("error: run "), r.stderr
    assert "MCS2023" in lines[0] and "--allow-vintage-mismatch" in lines[0]
    # and the other way round: an unpinned run read as of MCS2023
    r = _cli(path, *_PLAN, "--run-id", plain, "--vintage", "MCS2023")
    assert r.exit_code == 1 and "omit --vintage" in r.stderr, r.stderr


def test_plan_from_a_run_under_its_own_vintage_cites_it(db):
    path, pinned, _ = db
    r = _cli(path, *_PLAN, "--run-id", pinned, "--vintage", "MCS2023")
    assert r.exit_code == 0, r.output
    sample = _json(r.stdout)["sample"]
    assert (sample["run_id"], sample["vintage"], sample["vintage_warning"]) == (pinned, "MCS2023", None)
    assert sample["data_fingerprint"] == _listed(path)[pinned]["data_fingerprint"]


def test_override_uses_the_run_and_keeps_the_mismatch(db):
    path, pinned, _ = db
    r = _cli(path, *_PLAN, "--run-id", pinned, "--allow-vintage-mismatch")
    assert r.exit_code == 0, r.output
    sample = _json(r.stdout)["sample"]
    assert sample["vintage"] == "MCS2023"  # the run's, not the command's
    assert "MCS2023" in sample["vintage_warning"] and "every release" in sample["vintage_warning"]


def test_a_fresh_sample_cites_the_commands_vintage(db):
    path, _, _ = db
    r = _cli(path, *_PLAN, "--runs", "40", "--vintage", "MCS2023")
    assert r.exit_code == 0, r.output
    sample = _json(r.stdout)["sample"]
    assert (sample["run_id"], sample["vintage"]) == (None, "MCS2023")


def test_a_run_stored_before_the_vintage_was_recorded_reads_unknown(db):
    """An old row (market metadata without the keys) is "unknown", never unpinned; reusing it
    warns (it cannot be checked) instead of refusing."""
    from critmin.disruption.store import run_store

    path = db[0]
    made = _cli(path, *_MC)
    assert made.exit_code == 0, made.output
    rid = _json(made.stdout)["run_id"]
    with Warehouse(path, read_only=True) as wh:  # rewrite its row as runs were stored before
        store = run_store(wh)
        mm = json.loads(store.execute("SELECT market_meta FROM sim_run WHERE run_id = ?", [rid]).fetchone()[0])
        old = {k: v for k, v in mm.items() if k not in ("vintage", "data_fingerprint")}
        assert old != mm
        with store.transaction() as tx:
            tx.execute("UPDATE sim_run SET market_meta = ? WHERE run_id = ?", [json.dumps(old), rid])
    row = _listed(path)[rid]
    assert (row["vintage"], row["data_fingerprint"]) == ("unknown", "unknown")
    assert "vintage: unknown (not recorded)" in _cli(path, "runs", "show", rid).stdout.splitlines()
    r = _cli(path, *_PLAN, "--run-id", rid, "--vintage", "MCS2023")
    assert r.exit_code == 0, r.output
    sample = _json(r.stdout)["sample"]
    assert sample["vintage"] == "unknown" and "does not record" in sample["vintage_warning"]


def test_saved_selection_records_its_vintage_and_the_clock_warns_on_another(db):
    """``projects select --save`` records the vintage; ``clock`` (which reuses only the project
    list and recomputes on its own data) shows it and warns under another vintage."""
    path = db[0]
    r = _cli(path, "projects", "select", "--budget", "USA=5e9,JPN=3e9", "--save", "--vintage", "MCS2023", "--json")
    assert r.exit_code == 0, r.output
    sid = _json(r.stdout)["selection_id"]
    same = _cli(path, "clock", "--json", "--vintage", "MCS2023")
    assert same.exit_code == 0, same.output
    sel = _json(same.stdout)["selection"]
    assert sel["source"].startswith(f"saved selection #{sid} ") and sel["vintage"] == "MCS2023"
    assert sel["data_fingerprint"].endswith("'as_of:MCS2023')") and "vintage_warning" not in sel
    other = _cli(path, "clock")
    assert other.exit_code == 0, other.output
    assert "data as of vintage MCS2023" in other.stdout
    assert f"warning: saved selection #{sid} was made on data as of vintage MCS2023; this clock reads as of " \
           "none (every release)" in other.stderr
