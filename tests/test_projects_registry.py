"""Registry: versioning, visibility, seeding, import/export round trip, all-or-nothing import."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from critmin.cli.main import app
from critmin.ops import open_store
from critmin.projects.io import (
    ImportFileError,
    parse_csv,
    parse_json,
    read_records,
    to_csv,
    to_json,
)
from critmin.projects.models import ProjectValidationError, validate_record
from critmin.projects.registry import Registry, RegistryError, default_seed_path
from ops_support import ops_store, ops_url  # noqa: F401

FIX = Path(__file__).parent / "fixtures" / "projects"
SEED = FIX / "seed_small.json"
VISIBLE = {
    "US": {"T-JOINT-MINE", "T-US-PLANT", "T-JOINT-GRAPHITE"},
    "JP": {"T-JOINT-MINE", "T-JP-REFINERY", "T-JOINT-GRAPHITE"},
    "joint": {"T-JOINT-MINE", "T-US-PLANT", "T-JP-REFINERY", "T-JOINT-GRAPHITE"},
}


@pytest.fixture()
def reg(ops_store) -> Registry:  # noqa: F811
    return Registry.open(ops_store, seed_path=SEED)


def _raw() -> list[dict]:
    return json.loads(SEED.read_text())


def test_seed_file_is_valid_and_sourced():
    ps = read_records(default_seed_path())
    assert len(ps) >= 25
    for p in ps:
        assert p.sources and all(s.as_of and s.url for s in p.sources)


@pytest.mark.parametrize("viewer", ["US", "JP", "joint"])
def test_list_and_show_respect_visibility(reg: Registry, viewer: str):
    assert {p.id for p in reg.list(viewer)} == VISIBLE[viewer]
    for pid in VISIBLE["joint"] - VISIBLE[viewer]:
        with pytest.raises(RegistryError, match="no project"):
            reg.get(pid, viewer)
        with pytest.raises(RegistryError):
            reg.history(pid, viewer)


def test_every_change_is_a_new_version(reg: Registry):
    rec = reg.get("T-JOINT-MINE", "joint").record()
    assert reg.put(rec, author="a", viewer="joint") == "unchanged"
    rec["status"] = "financing"
    assert reg.put(rec, author="analyst", viewer="US", note="status update") == "updated"
    hist = reg.history("T-JOINT-MINE", "joint")
    assert [h["version"] for h in hist] == [1, 2]
    assert hist[0]["record"]["status"] == "permitting" and hist[1]["record"]["status"] == "financing"
    assert hist[1]["author"] == "analyst"
    reg.delete("T-JOINT-MINE", author="a", viewer="joint")
    assert "T-JOINT-MINE" not in {p.id for p in reg.list("joint")}
    assert [h["action"] for h in reg.history("T-JOINT-MINE", "joint")] == ["create", "update", "delete"]


def test_visibility_change_hides_old_versions_from_other_government(reg: Registry):
    rec = reg.get("T-JOINT-MINE", "joint").record()
    rec["visibility"] = "JP"
    reg.put(rec, author="jp", viewer="JP")
    assert "T-JOINT-MINE" not in {p.id for p in reg.list("US")}
    # US may still read the version that was joint, not the JP one
    assert [h["visibility"] for h in reg.history("T-JOINT-MINE", "US")] == ["joint"]


def test_writer_may_not_write_what_it_cannot_see(reg: Registry):
    rec = reg.get("T-JP-REFINERY", "joint").record()
    rec["visibility"] = "joint"  # trying to publish a JP-only project it cannot see
    with pytest.raises(RegistryError, match="not writable"):
        reg.put(rec, author="us", viewer="US")
    rec2 = reg.get("T-US-PLANT", "joint").record()
    rec2["visibility"] = "JP"
    with pytest.raises(RegistryError, match="may not write"):
        reg.put(rec2, author="us", viewer="US")


def test_seed_only_once(reg: Registry):
    for p in reg.list("joint"):
        reg.delete(p.id, author="x", viewer="joint")
    again = Registry.open(reg.con, seed_path=SEED)
    assert again.list("joint") == []


def test_validation_errors_name_field_and_expectation():
    rec = _raw()[0]
    rec["commodity_id"] = "unobtainium"
    rec["financing_requests"][0]["amount_usd"] = -5
    rec["host_country_iso3"] = "XXX"
    rec["colour"] = "red"
    with pytest.raises(ProjectValidationError) as ei:
        validate_record(rec)
    text = "\n".join(ei.value.errors)
    assert "commodity_id: expected a canonical commodity id" in text
    assert "financing_requests[0].amount_usd" in text and "greater than 0" in text
    assert "host_country_iso3: expected an ISO 3166-1 alpha-3" in text
    assert "colour: Extra inputs are not permitted" in text


def test_bad_json_file_reports_every_row_and_imports_nothing(reg: Registry, tmp_path: Path):
    recs = _raw()
    recs[0]["name"] = "Changed name"  # a good change that must NOT be applied
    recs[1]["stage"] = "smelting"
    recs[3]["latitude"] = 123.0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(recs))
    with pytest.raises(ImportFileError) as ei:
        read_records(bad)
    assert any("item 1 (id='T-US-PLANT'): stage" in e for e in ei.value.errors)
    assert any("item 3 (id='T-JOINT-GRAPHITE'): latitude" in e for e in ei.value.errors)
    assert reg.get("T-JOINT-MINE", "joint").name == "Joint test mine"


def test_bad_csv_names_line_and_duplicate_ids():
    good = to_csv(parse_json(SEED.read_text()))
    lines = good.splitlines()
    lines.append(lines[1])  # duplicate id on line 6
    with pytest.raises(ImportFileError) as ei:
        parse_csv("\n".join(lines) + "\n")
    assert any(e.startswith("line 6: id 'T-JOINT-MINE' repeats line 2") for e in ei.value.errors)


def test_registry_write_is_all_or_nothing(reg: Registry):
    good = reg.get("T-JOINT-MINE", "joint").record() | {"name": "renamed"}
    forbidden = reg.get("T-JP-REFINERY", "joint").record() | {"name": "renamed"}
    with pytest.raises(RegistryError):
        reg.put_many([good, forbidden], author="us", viewer="US")
    assert reg.get("T-JOINT-MINE", "joint").name == "Joint test mine"


def test_json_and_csv_round_trip_in_memory():
    ps = parse_json(SEED.read_text())
    assert parse_json(to_json(ps)) == ps
    assert parse_csv(to_csv(ps)) == ps


def _cli(db: Path, *args: str):
    return CliRunner().invoke(app, ["--db", str(db), *args])


def test_cli_export_import_round_trip(tmp_path: Path, ops_url):  # noqa: F811
    db = tmp_path / "rt.duckdb"
    duckdb.connect(str(db)).close()  # an (empty) warehouse file for --db
    Registry.open(open_store(warehouse=db), seed_path=SEED)
    r1 = _cli(db, "projects", "export", "--json")
    assert r1.exit_code == 0, r1.output
    f = tmp_path / "export.json"
    f.write_text(r1.stdout)
    r2 = _cli(db, "projects", "import", str(f))
    assert r2.exit_code == 0, r2.output
    assert "0 created, 0 updated, 4 unchanged" in r2.stdout
    # an analyst edits the visibility in the file; import applies exactly that change
    recs = json.loads(r1.stdout)
    next(r for r in recs if r["id"] == "T-JOINT-MINE")["visibility"] = "JP"
    f.write_text(json.dumps(recs))
    assert "1 updated" in _cli(db, "projects", "import", str(f)).stdout
    us = json.loads(_cli(db, "projects", "export", "--json", "--viewer", "US").stdout)
    assert {r["id"] for r in us} == VISIBLE["US"] - {"T-JOINT-MINE"}
    r3 = _cli(db, "projects", "export", "--json")
    assert json.loads(r3.stdout) == recs


def test_cli_bad_file_imports_nothing(tmp_path: Path, ops_url):  # noqa: F811
    db = tmp_path / "bad.duckdb"
    duckdb.connect(str(db)).close()  # an (empty) warehouse file for --db
    Registry.open(open_store(warehouse=db), seed_path=SEED)
    before = _cli(db, "projects", "export", "--json").stdout
    recs = _raw()
    recs[0]["name"] = "new name"
    recs.append(dict(recs[1], id="T-NEW", capacity_tpy="lots"))
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(recs))
    r = _cli(db, "projects", "import", str(f))
    assert r.exit_code == 1
    assert "item 4 (id='T-NEW'): capacity_tpy" in r.output and "nothing imported" in r.output
    assert _cli(db, "projects", "export", "--json").stdout == before


@pytest.mark.parametrize("viewer", ["US", "JP"])
def test_cli_list_show_export_hide_invisible(tmp_path: Path, viewer: str, ops_url):  # noqa: F811
    db = tmp_path / "v.duckdb"
    duckdb.connect(str(db)).close()  # an (empty) warehouse file for --db
    Registry.open(open_store(warehouse=db), seed_path=SEED)
    hidden = VISIBLE["joint"] - VISIBLE[viewer]
    out = _cli(db, "projects", "list", "--viewer", viewer, "--json").stdout
    assert {r["id"] for r in json.loads(out)} == VISIBLE[viewer]
    for pid in hidden:
        assert pid not in _cli(db, "projects", "export", "--viewer", viewer, "--csv").stdout
        r = _cli(db, "projects", "show", pid, "--viewer", viewer)
        assert r.exit_code == 1 and "no project" in r.output
