"""``--vintage``: every data command reads the warehouse as of one USGS MCS release (issue 19).

References are independent of the code under test: the raw MCS 2023 world file (read here with
the csv module, at the path the dataset's provenance gives), the release calendar of the MCS
(the MCS of year Y publishes estimates for Y-1), and the dataset table's vintages.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter

import pandas as pd
import pytest
from typer.testing import CliRunner

from critmin.cli.common import VINTAGE_HELP
from critmin.cli.main import app
from critmin.data.warehouse import Warehouse
from test_cli_errors import ALL, cases  # the commands, and arguments that reach the warehouse

runner = CliRunner()

#: commands without --vintage, and why: none reads data of an MCS release
NO_VINTAGE = {
    "serve": "the dashboard serves the newest data (a server, not one result)",
    "worker": "runs the dashboard's jobs, each on the data its request names",
    "settings": "reads no database",
    "data import": "writes the warehouse (every release)",
    "data fetch": "downloads files, reads no database",
    "data status": "the inventory of every imported release (where the releases are listed)",
    "deposits": "reads only the USGS deposit layers (OFR/SIR/PP releases, not MCS)",
    "markets unit-values": "reads only trade flows (UN Comtrade, China customs), not MCS",
    "projects list": "the project registry only", "projects show": "the project registry only",
    "projects import": "the project registry only", "projects export": "the project registry only",
    **{c: "the operational store (users, audit log, migrations)" for c in (
        "users add", "users token", "users revoke", "users list", "users disable", "users enable",
        "users unlock", "users totp", "audit export", "audit verify", "audit checkpoint",
        "audit checkpoints", "ops migrate", "ops info")},
    "runs list": "stored simulation runs, each listed with the vintage it was computed on (test_run_vintage.py)",
    "runs show": "one stored simulation run, with the vintage it was computed on (test_run_vintage.py)",
    **{f"incident {c}": "stored incident records, each with the data version it was computed on" for c in (
        "list", "show", "decide", "approve", "close", "brief", "inventory record", "inventory adopt-plan",
        "inventory list", "approver grant", "approver revoke")},
}


def _params(command: str) -> dict[str, object]:
    import typer.main

    cmd = typer.main.get_command(app)
    for part in command.split():
        cmd = cmd.commands[part]  # type: ignore[attr-defined]
    return {p.name: p for p in cmd.params}


WITH_VINTAGE = [c for c in ALL if c not in NO_VINTAGE]


def test_every_data_command_takes_vintage():
    assert set(NO_VINTAGE) <= set(ALL), set(NO_VINTAGE) - set(ALL)
    missing = [c for c in WITH_VINTAGE if "vintage" not in _params(c)]
    assert not missing, f"data commands without --vintage: {missing} (or list them in NO_VINTAGE with why)"
    extra = [c for c in NO_VINTAGE if "vintage" in _params(c)]
    assert not extra, f"{extra} take --vintage: remove them from NO_VINTAGE"
    # one definition (critmin.cli.common.VintageOpt): the same flag and help everywhere
    for c in WITH_VINTAGE:
        p = _params(c)["vintage"]
        assert p.opts == ["--vintage"] and p.help == VINTAGE_HELP, c  # type: ignore[attr-defined]
    assert {"production", "assess", "simulate", "brief", "stockpile plan", "projects score", "gap",
            "markets prices", "data crosscheck", "incident assess"} <= set(WITH_VINTAGE)


@pytest.mark.parametrize("command", WITH_VINTAGE)
def test_unknown_vintage_is_one_line(command, real_db_path, tmp_path):
    args = [a.replace("{tmp}", str(tmp_path)) for a in cases(command)[2]]
    r = runner.invoke(app, ["--db", str(real_db_path), *args, "--vintage", "MCS1999"], input="")
    assert r.exit_code == 1, (args, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    lines = [x for x in r.stderr.strip().splitlines() if not x.startswith("note: ")]
    assert len(lines) == 1 and lines[0].startswith("error: vintage 'MCS1999'"), r.stderr
    assert "releases available: MCS2022, MCS2023, MCS2024, MCS2025" in lines[0], r.stderr


@pytest.mark.parametrize(("text", "release"), [("MCS2024", "MCS2024"), ("mcs2024", "MCS2024"),
                                               ("MCS 2024", "MCS2024"), ("mcs-2023", "MCS2023")])
def test_friendly_spellings(warehouse, text, release):
    assert warehouse.resolve_vintage(text) == release


@pytest.mark.parametrize(("text", "says"), [
    ("2024", "ambiguous"),            # the MCS 2024 release, or data year 2024 (first in MCS 2025)?
    ("WGI2023", "not a release the data can be read as of"),  # a vintage, but not of the MCS
    ("MCS2030", "no such release"),
])
def test_refused_spellings(warehouse, text, says):
    with pytest.raises(LookupError, match=says) as exc:
        warehouse.resolve_vintage(text)
    assert "MCS2022, MCS2023, MCS2024, MCS2025" in str(exc.value)


def _production(db, *extra: str) -> list[dict]:
    r = runner.invoke(app, ["--db", str(db), "production", "cobalt", "--stage", "mine", "--json", *extra])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_mcs2023_newest_year_is_its_estimate_and_the_published_number(real_db_path, data_dir):
    recs = _production(real_db_path, "--vintage", "MCS2023")
    assert max(r["year"] for r in recs) == 2022  # MCS 2023 estimates 2022
    assert {r["vintage"] for r in recs} <= {"MCS2022", "MCS2023"}
    cod = next(r for r in recs if r["year"] == 2022 and r["country_iso3"] == "COD")
    assert cod["vintage"] == "MCS2023"
    # the number printed in the MCS 2023 file, found through the row's provenance
    with Warehouse(real_db_path, read_only=True) as wh:
        path = data_dir / str(wh.dataset_row(cod["dataset_id"])["source_path"].iloc[0])
    assert path.name == "mcs2023-cobal_world.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    published = next(x for x in rows if x["Country"] == "Congo (Kinshasa)" and x["Type"].startswith("Mine"))
    assert cod["source_line"] == rows.index(published) + 2  # header is line 1
    assert cod["quantity"] == float(published["Prod_t_est_2022"].replace(",", "")) == 130_000


def test_default_is_the_newest_release(real_db_path):
    default = _production(real_db_path)
    assert max(r["vintage"] for r in default) == "MCS2025"
    assert default == _production(real_db_path, "--vintage", "MCS2025")
    assert default != _production(real_db_path, "--vintage", "MCS2024")


def test_pin_note_names_the_release(real_db_path):
    r = runner.invoke(app, ["--db", str(real_db_path), "production", "cobalt", "--vintage", "mcs2024", "--json"])
    assert r.exit_code == 0
    assert "note: data as of MCS2024:" in r.stderr and "(MCS2025) are not read" in r.stderr, r.stderr


def _dataset_ids(obj: object, out: set[int]) -> set[int]:
    """Every dataset id an assessment record cites ('ref': [dataset_id, source_line], 'dataset_id')."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "ref" and isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) for x in v):
                out.add(v[0])
            elif k == "dataset_id" and isinstance(v, int):
                out.add(v)
            else:
                _dataset_ids(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _dataset_ids(v, out)
    return out


def test_assessment_as_of_mcs2023_reads_no_newer_release(real_db_path):
    r = runner.invoke(app, ["--db", str(real_db_path), "assess", "--year", "2022", "--vintage", "MCS2023", "--json"])
    assert r.exit_code == 0, r.output
    recs = json.loads(r.stdout)
    with Warehouse(real_db_path, read_only=True) as wh:
        vintage_of = dict(zip(wh.datasets()["dataset_id"], wh.datasets()["vintage"], strict=True))
    cited = Counter(vintage_of[i] for i in _dataset_ids(recs, set()))
    mcs = {v for v in cited if re.fullmatch(r"MCS\d{4}", v)}
    assert mcs and max(mcs) == "MCS2023", cited
    text = r.stdout
    assert "MCS2025" not in text and "MCS2024" not in text
    # the stage figures of the mine stage are the MCS 2023 estimate year
    assert {s["year"] for rec in recs for s in rec["stages"].values() if s and s.get("source") == "USGS"} <= {2021, 2022}


def test_fingerprint_keeps_pinned_and_unpinned_apart(real_db_path):
    """Every cache of derived results is keyed by the fingerprint: a pinned warehouse has its own."""
    with Warehouse(real_db_path, read_only=True) as wh:
        plain = wh.fingerprint()
        assert wh.pin("MCS2023").fingerprint() == (*plain, "as_of:MCS2023")
        assert wh.pin(None).fingerprint() == plain


def test_other_publishers_are_not_pinned(real_db_path):
    """WGI, trade and prices of other publishers read the same as of any release."""
    with Warehouse(real_db_path, read_only=True) as wh:
        before = (wh.governance("JPN"), wh.trade("JPN", commodity="cobalt"), wh.prices("Zinc"))
        wh.pin("MCS2022")
        after = (wh.governance("JPN"), wh.trade("JPN", commodity="cobalt"), wh.prices("Zinc"))
    for a, b in zip(before, after, strict=True):
        assert len(a)
        key = ["dataset_id", "source_line"] + (["dimension"] if "dimension" in a else ["flow"] if "flow" in a else [])
        pd.testing.assert_frame_equal(a.sort_values(key).reset_index(drop=True),
                                      b.sort_values(key).reset_index(drop=True))


def test_help_documents_the_option():
    r = runner.invoke(app, ["assess", "--help"], env={"COLUMNS": "200"})
    assert "--vintage" in r.stdout and "RELEASE" in r.stdout
