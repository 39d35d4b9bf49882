"""`critmin incident ...` on a copy of the real warehouse: open from the curated event, the
plain and --json outputs agree, decide/approve/close, one-line user errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from critmin.cli.main import app
from critmin.cli.tables import number_text

EVENT = "CHN-GAGESB-USBAN-2024"


def _run(db, *args):
    r = CliRunner().invoke(app, ["--db", str(db), *args])
    return r


def test_incident_cli_flow(warehouse_rw_path, monkeypatch):
    monkeypatch.setenv("CRITMIN_INCIDENT_MC_RUNS", "50")
    db = warehouse_rw_path
    assert _run(db, "incident", "inventory", "record", "--partner", "USA", "-c", "gallium", "--tonnes", "3",
                "--as-of", "2024-12-01").exit_code == 0
    r = _run(db, "incident", "open", "--trigger", EVENT, "--json")
    assert r.exit_code == 0, r.output
    view = json.loads(r.output)
    iid = view["incident"]["incident_id"]
    assert view["incident"]["status"] == "options"
    ga = next(c for c in view["assessment"]["commodities"] if c["commodity"] == "gallium")
    us = next(p for p in ga["partners"] if p["partner"] == "USA")
    assert us["shortfall_t"] > 0 and us["stock_t"] == 3.0
    # the registry (seed projects, joint ones for a joint incident) was searched
    assert view["options"]["projects_searched"] is True, view["options"]["projects_note"]
    projs = [o for o in view["options"]["options"] if o["kind"] == "project"]
    assert projs and all(o["visibility"] == "joint" for o in projs)
    assert all(o["commodity"] in ("gallium", "germanium", "antimony") for o in projs)
    plain = _run(db, "incident", "show", iid)
    assert plain.exit_code == 0 and iid in plain.output
    assert f" {number_text(us['shortfall_t'])} │" in plain.output  # the table's "shortfall t" cell
    best = view["options"]["options"][0]["option_id"]
    r = _run(db, "incident", "decide", iid, "--option", best, "--reasons", "covers the US shortfall", "--json",
             "--viewer", "US", "--as", "ann")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["status"] == "proposed" and d["approvals_needed"] == ["US", "JP"]
    listed = json.loads(_run(db, "incident", "list", "--json").output)
    assert [i["incident_id"] for i in listed] == [iid]
    assert json.loads(_run(db, "incident", "list", "--json", "--viewer", "JP").output)[0]["incident_id"] == iid
    r = _run(db, "incident", "close", iid, "--reason", "test over", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["status"] == "closed"


def test_incident_cli_errors_are_one_line(warehouse_rw_path):
    db = warehouse_rw_path
    r = _run(db, "incident", "open", "--trigger", "NO-SUCH-EVENT")
    assert r.exit_code == 1 and r.output.startswith("error:") and "NO-SUCH-EVENT" in r.output
    assert len(r.output.strip().splitlines()) == 1
    r = _run(db, "incident", "open")
    assert r.exit_code == 1 and "exactly one trigger" in r.output
    r = _run(db, "incident", "show", "INC-20990101-000000")
    assert r.exit_code == 1 and "no incident" in r.output and "Traceback" not in r.output
