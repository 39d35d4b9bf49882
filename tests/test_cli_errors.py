"""Every CLI command, given an unknown name, an impossible year, a database locked by another
process and a missing warehouse, ends with one line on stderr and a non-zero exit, never a
traceback (issue 19, section 1); ``--debug`` shows the traceback.

The commands are enumerated from the Typer app. A command with a row in :data:`CASES` uses the
arguments written there (a case that cannot apply says why, ``NA``); any other command -- one
added since, by any module -- gets its cases built from its own parameters (:func:`auto_cases`):
its required parameters filled with valid values by name (:data:`VALID`), a name option given an
unknown name (:data:`UNKNOWN`), a year option an impossible year (:data:`YEAR_OPTIONS`). Those run
in a subprocess with a time limit (a new command may serve or wait forever). A new command whose
required parameter has a name this file does not know fails :func:`test_every_command_has_cases`
with what to add.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from critmin.cli.main import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]

NA = None  # the case does not apply to the command (reason in the comment beside it)

SCEN_UNKNOWN = "{tmp}/unknown.toml"
SCEN_YEAR = "{tmp}/year.toml"

#: command -> (unknown-name args, impossible-year args, args that open the database)
CASES: dict[str, tuple[list[str] | None, list[str] | None, list[str] | None]] = {
    "production": (["production", "unobtainium"], ["production", "cobalt", "--year", "1990"],
                   ["production", "cobalt"]),
    "assess": (["assess", "--for", "Atlantis"], ["assess", "--year", "2030"], ["assess"]),
    "simulate": (["simulate", SCEN_UNKNOWN, "--no-store"], ["simulate", SCEN_YEAR, "--no-store"],
                 ["simulate", "scenarios/cn_graphite_licensing_2023.toml", "--no-store"]),
    "deposits": (["deposits", "--commodity", "unobtainium"], NA,  # no year option
                 ["deposits", "--commodity", "gallium"]),
    "clock": (["clock", "--viewer", "Atlantis"], ["clock", "--today", "1800-13-45"], ["clock"]),
    # serve: no name or year; a missing warehouse is imported on first start (not an error)
    "serve": (NA, NA, ["serve", "--port", "1"]),
    # settings: reads no database, takes no name or year
    "settings": (NA, NA, NA),
    # data import: a missing warehouse is created (that is what it is for)
    "data import": (NA, NA, ["data", "import"]),
    "data status": (NA, NA, ["data", "status"]),
    "data crosscheck": (NA, ["data", "crosscheck", "--year", "1800"], ["data", "crosscheck"]),
    # data fetch: downloads into a directory and reads no database
    "data fetch": (["data", "fetch", "--only", "unobtainium", "--list"], NA, NA),
    "stockpile plan": (["stockpile", "plan", "--budget", "USA=1bn,JPN=1bn", "--commodities", "unobtainium"], NA,
                       ["stockpile", "plan", "--budget", "USA=1bn,JPN=1bn"]),
    "stockpile frontier": (["stockpile", "frontier", "--budget", "USA=1bn,JPN=1bn", "--commodities", "unobtainium"],
                           NA, ["stockpile", "frontier", "--budget", "USA=1bn,JPN=1bn"]),
    "stockpile compare": (["stockpile", "compare", "--budget", "USA=1bn,JPN=1bn", "--commodities", "unobtainium"],
                          NA, ["stockpile", "compare", "--budget", "USA=1bn,JPN=1bn"]),
    "projects list": (["projects", "list", "--viewer", "joint", "--commodity", "unobtainium"], NA,
                      ["projects", "list", "--viewer", "joint"]),
    "projects show": (["projects", "show", "no-such-project", "--viewer", "joint"], NA,
                      ["projects", "show", "no-such-project", "--viewer", "joint"]),
    "projects import": (["projects", "import", "{tmp}/no-such-file.csv", "--viewer", "joint"], NA,
                        ["projects", "import", "{tmp}/no-such-file.csv", "--viewer", "joint"]),
    "projects export": (["projects", "export", "--viewer", "Atlantis"], NA, ["projects", "export", "--viewer", "joint"]),
    "projects score": (["projects", "score", "--viewer", "Atlantis"], NA, ["projects", "score", "--viewer", "joint"]),
    "projects select": (["projects", "select", "--budget", "USA=1bn,JPN=1bn", "--viewer", "Atlantis"], NA,
                        ["projects", "select", "--budget", "USA=1bn,JPN=1bn", "--viewer", "joint"]),
    "projects gaps": (["projects", "gaps", "--viewer", "Atlantis"], NA, ["projects", "gaps", "--viewer", "joint"]),
    "markets prices": (["markets", "prices", "unobtainium"], NA, ["markets", "prices", "gallium"]),
    "markets unit-values": (["markets", "unit-values", "--exporter", "Atlantis"], NA, ["markets", "unit-values"]),
    "markets signals": (["markets", "signals", "--commodity", "unobtainium"], NA, ["markets", "signals"]),
    "markets floor": (["markets", "floor", "--commodity", "unobtainium", "--floor", "100", "--volume", "1", "--years", "5"],
                      ["markets", "floor", "--commodity", "gallium", "--floor", "100", "--volume", "1", "--years", "5",
                       "--start", "1800", "--end", "1801"],
                      ["markets", "floor", "--commodity", "gallium", "--floor", "100", "--volume", "1", "--years", "5"]),
    "users add": (["users", "add", "x", "--role", "emperor", "--password-stdin"], NA,
                  ["users", "add", "x", "--role", "viewer", "--password-stdin"]),
    "users token": (["users", "token", "nobody"], NA, ["users", "token", "nobody"]),
    "users revoke": (["users", "revoke", "nobody"], NA, ["users", "revoke", "nobody"]),
    "users list": (NA, NA, ["users", "list"]),
    "audit export": (["audit", "export", "--format", "parquet"], NA, ["audit", "export"]),
}


def _commands(group: typer.Typer, prefix: str = "") -> set[str]:
    import typer.main

    out: set[str] = set()

    def walk(cmd: object, path: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
        else:
            out.add(" ".join(path))

    walk(typer.main.get_command(group), [])
    return out


@pytest.fixture(scope="module")
def db_copy(real_db_path, tmp_path_factory):
    """A private copy of the warehouse: commands that write (users, projects) never touch the
    session's shared one."""
    path = tmp_path_factory.mktemp("errors") / "critmin.duckdb"
    shutil.copyfile(real_db_path, path)
    return path


#: a valid value for a required parameter, by its Python name (a new command with a required
#: parameter not listed here, and no CASES row, fails test_every_command_has_cases)
VALID: dict[str, str] = {
    "commodity": "gallium", "commodities": "gallium", "country": "CHN", "exporter": "CHN",
    "importer": "JPN", "consumers": "USA,JPN", "partner": "JPN", "partners": "USA,JPN",
    "for_": "JPN", "target": "JPN", "targets": "JPN", "viewer": "joint", "year": "2022",
    "budget": "USA=1bn,JPN=1bn", "scenario": "scenarios/cn_graphite_licensing_2023.toml",
    "name": "nobody", "title": "test", "start": "2022", "end": "2023", "horizon": "2030",
    "incident_id": "no-such-incident", "project_id": "no-such-project", "job_id": "no-such-job",
    "id": "no-such-id", "run_id": "no-such-run", "out": "{tmp}/out", "output": "{tmp}/out", "dest": "{tmp}/dest",
    "lang": "en", "language": "en", "locale": "en", "decision": "approve", "author": "tester",
    "reason": "test", "reasons": "test", "option": "none", "tonnes": "1", "as_of": "2025-01-01",
}
#: an unknown value for a name-like parameter
UNKNOWN: dict[str, str] = {
    "commodity": "unobtainium", "commodities": "unobtainium", "country": "Atlantis",
    "exporter": "Atlantis", "importer": "Atlantis", "consumers": "Atlantis", "partner": "Atlantis",
    "partners": "Atlantis", "for_": "Atlantis", "target": "Atlantis", "targets": "Atlantis",
    "viewer": "Atlantis", "lang": "xx-unknown", "language": "xx-unknown", "locale": "xx-unknown",
    "vintage": "MCS1999",  # the --vintage of every data command (each one: tests/test_cli_vintage.py)
}
#: parameters that take a year, given an impossible one
YEAR_OPTIONS = ("year", "start_year", "end_year", "from_year", "to_year", "horizon", "horizon_year")
IMPOSSIBLE_YEAR = "1800"


def _params(command: str) -> list:
    import typer.main

    cmd = typer.main.get_command(app)
    for part in command.split():
        cmd = cmd.commands[part]  # type: ignore[attr-defined]
    return [p for p in cmd.params if p.name not in ("help",)]


def _flag(p) -> str:
    return max(p.opts, key=len)


def auto_cases(command: str) -> tuple[list[str] | None, list[str] | None, list[str] | None]:
    """(unknown-name, impossible-year, open-the-database) arguments built from the command's own
    parameters; ``KeyError`` names a required parameter :data:`VALID` does not know."""
    params = _params(command)

    def build(override: dict[str, str]) -> list[str]:
        args = command.split()
        for p in params:
            if p.name in override:
                value = override[p.name]
            elif p.required:
                value = VALID[p.name]  # KeyError: say what to add
            else:
                continue
            args += [value] if p.param_type_name == "argument" else [_flag(p), value]
        return args

    names = [p.name for p in params if p.name in UNKNOWN and not getattr(p, "is_flag", False)]
    years = [p.name for p in params if p.name in YEAR_OPTIONS and not getattr(p, "is_flag", False)]
    unknown = build({names[0]: UNKNOWN[names[0]]}) if names else NA
    year = build({years[0]: IMPOSSIBLE_YEAR}) if years else NA
    return unknown, year, build({})


def cases(command: str) -> tuple[list[str] | None, list[str] | None, list[str] | None]:
    return CASES[command] if command in CASES else auto_cases(command)


ALL = sorted(_commands(app))
AUTO = [c for c in ALL if c not in CASES]


def test_every_command_has_cases():
    assert set(CASES) <= set(ALL), f"CASES rows for commands that no longer exist: {set(CASES) - set(ALL)}"
    for command in AUTO:
        try:
            auto_cases(command)
        except KeyError as exc:
            pytest.fail(f"`critmin {command}` has a required parameter {exc} this test cannot fill: add it "
                        "to VALID (and UNKNOWN if it is a name), or give the command a row in CASES")


def _scenarios(tmp: Path) -> None:
    body = """
        name = "t"
        horizon_months = 12
        consumers = ["USA", "JPN"]
        {extra}
        [[events]]
        country = "CHN"
        commodity = "{commodity}"
        stage = "mine"
        export_cut = 0.5
        start_month = 1
        duration_months = 6
    """
    (tmp / "unknown.toml").write_text(textwrap.dedent(body.format(extra="", commodity="unobtainium")))
    (tmp / "year.toml").write_text(textwrap.dedent(body.format(extra="year = 1800", commodity="graphite")))


def _args(args: list[str], tmp: Path) -> list[str]:
    return [a.replace("{tmp}", str(tmp)) for a in args]


def _one_line(r, args) -> None:
    assert r.exit_code not in (0, None), (args, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit), (args, repr(r.exception))
    assert "Traceback" not in r.output, (args, r.output)
    err = r.stderr.strip().splitlines()
    errors = [x for x in err if not x.startswith("note: ")]
    assert len(errors) == 1, (args, r.stderr)
    assert errors[0].startswith("error: "), (args, r.stderr)
    assert "Traceback" not in r.output and "np.int64" not in r.stderr, (args, r.stderr)


@dataclass
class Ran:
    """What a subprocess run of the console script left (the fields of CliRunner's Result the
    checks read)."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None = None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


AUTO_TIMEOUT_S = 120


def _run(command: str, argv: list[str], stdin: str = "pw\n"):
    """A CASES command through CliRunner (in-process, fast); any other command in a subprocess
    with a time limit (it may be a server or a worker that never returns)."""
    if command in CASES:
        return runner.invoke(app, argv, input=stdin)
    try:
        p = subprocess.run([sys.executable, "-m", "critmin.cli.main", *argv], input=stdin, text=True,
                           capture_output=True, timeout=AUTO_TIMEOUT_S, cwd=ROOT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`critmin {' '.join(argv)}` still running after {AUTO_TIMEOUT_S} s on a user error: "
                    "a long-running command should check its inputs first (or add a CASES row)")
    return Ran(p.returncode, p.stdout, p.stderr)


def _with(index: int) -> list[str]:
    """Commands with that case (one whose parameters cannot be filled is reported by
    test_every_command_has_cases instead of breaking the collection)."""
    out = []
    for c in ALL:
        try:
            if cases(c)[index]:
                out.append(c)
        except KeyError:
            pass
    return out


@pytest.mark.parametrize("command", _with(0))
def test_unknown_name(command, db_copy, tmp_path):
    _scenarios(tmp_path)
    args = _args(cases(command)[0], tmp_path)
    r = _run(command, ["--db", str(db_copy), *args])
    _one_line(r, args)


@pytest.mark.parametrize("command", _with(1))
def test_impossible_year(command, db_copy, tmp_path):
    _scenarios(tmp_path)
    args = _args(cases(command)[1], tmp_path)
    r = _run(command, ["--db", str(db_copy), *args], stdin="")
    _one_line(r, args)


@pytest.mark.parametrize("command", [c for c in _with(2) if c != "data import"])
def test_missing_warehouse(command, tmp_path):
    _scenarios(tmp_path)
    args = _args(cases(command)[2], tmp_path)
    if command == "serve":
        pytest.skip("serve imports the data into a missing warehouse on first start (by design)")
    if command == "users add":
        pytest.skip("users add creates the dashboard database before the first serve (by design, "
                    "tests/test_web_auth.py)")
    r = _run(command, ["--db", str(tmp_path / "none.duckdb"), *args])
    assert not (tmp_path / "none.duckdb").exists(), "a mistyped --db must not create a file"
    if command not in CASES and r.exit_code == 0:
        return  # a new command that succeeds without the warehouse does not read it
    _one_line(r, args)


@pytest.fixture(scope="module")
def locked_db(real_db_path, tmp_path_factory):
    """A copy of the warehouse opened read-write (holding DuckDB's lock) by a sleeping process."""
    path = tmp_path_factory.mktemp("locked") / "critmin.duckdb"
    shutil.copyfile(real_db_path, path)
    proc = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); time.sleep(600)", str(path)],
        stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    yield path
    proc.kill()
    proc.wait()
    proc.stdout.close()


#: commands whose records live in the operational store (critmin.ops: SQLite or PostgreSQL), not in
#: the DuckDB warehouse, so a lock on the warehouse does not concern them
OPS_STORE = {"users add", "users token", "users revoke", "users list", "audit export"}


#: commands that must work while another process holds the warehouse file: an import writes a
#: new warehouse version beside it and switches atomically (critmin.data.versions)
WORKS_WHILE_LOCKED = {"data import"}


@pytest.mark.parametrize("command", [c for c in _with(2) if c not in OPS_STORE])
def test_locked_database(command, locked_db, tmp_path):
    _scenarios(tmp_path)
    args = _args(cases(command)[2], tmp_path)
    r = _run(command, ["--db", str(locked_db), *args])
    if command in WORKS_WHILE_LOCKED:
        assert r.exit_code == 0, r.output
        return
    if command not in CASES and r.exit_code == 0:
        return  # a new command that succeeds while the warehouse is locked does not need it
    _one_line(r, args)
    if command in CASES and command != "projects import":  # its missing file is found first
        assert "in use by another process" in r.stderr or "lock" in r.stderr, r.stderr


@pytest.mark.parametrize(("args", "expected"), [
    (["assess", "--year", "abc"], "error: Invalid value for '--year'"),
    (["production"], "error: Missing argument 'commodity'. (see `critmin production --help`)"),
    (["production", "cobalt", "--no-such-option"], "error: No such option: --no-such-option"),
])
def test_usage_errors_are_one_line(real_db_path, args, expected):
    r = runner.invoke(app, ["--db", str(real_db_path), *args])
    assert r.exit_code == 2
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith(expected), r.stderr


def test_help_still_works():
    r = runner.invoke(app, ["production", "--help"])
    assert r.exit_code == 0 and "Usage" in r.stdout
    r = runner.invoke(app, [])
    assert r.exit_code == 2 and "Usage" in r.output


def test_debug_shows_the_traceback(real_db_path):
    r = runner.invoke(app, ["--db", str(real_db_path), "--debug", "production", "unobtainium"])
    assert r.exit_code != 0
    assert r.exception is not None and not isinstance(r.exception, SystemExit)
    assert "unobtainium" in str(r.exception)


@pytest.mark.parametrize(("args", "expected"), [
    (["production", "rare earth", "--year", "1990"], "rare earths"),
    (["production", "rare eart"], "did you mean rare earths?"),
    (["production", "cobalt", "--year", "1990"], "years available: 2020, 2021, 2022, 2023, 2024"),
    (["assess", "--year", "2030"], "2020, 2021"),
])
def test_messages_speak_the_users_terms(real_db_path, args, expected):
    r = runner.invoke(app, ["--db", str(real_db_path), *args])
    assert r.exit_code == 1
    assert expected in r.stderr, r.stderr
    assert "rare_earths" not in r.stderr and "np." not in r.stderr


@pytest.mark.parametrize(("text", "cid", "note"), [
    ("Neodymium", "rare_earths", True), ("Nd", "rare_earths", True), ("Dysprosium", "rare_earths", True),
    ("REO", "rare_earths", False), ("rare earth", "rare_earths", False), ("Li", "lithium", False),
    ("lithium", "lithium", False), ("wolfram", "tungsten", False),
])
def test_element_names_and_synonyms(text, cid, note):
    from critmin.data.normalize.commodities import resolution_note, resolve, resolve_or_none

    assert resolve(text) == cid
    assert (resolution_note(text) is not None) is note
    if note:
        assert "as a group" in str(resolution_note(text))
    if text in ("Nd", "Li", "REO"):  # the parsers' lookup on source labels stays strict
        assert resolve_or_none(text) is None


def test_an_element_name_works_with_a_note(real_db_path):
    r = runner.invoke(app, ["--db", str(real_db_path), "deposits", "--commodity", "Neodymium", "--json"])
    assert r.exit_code == 0, r.stderr
    assert r.stderr.startswith("note: 'Neodymium' is read as rare earths: critmin models rare earths as a group")


@pytest.mark.parametrize("text", ["Japan", "日本", "JP", "jpn"])
def test_countries_by_name_japanese_name_and_code(text):
    from critmin.cli.common import countries

    assert countries(text, "--for") == ["JPN"]
    assert countries(f"{text}, 米国", "--for") == ["JPN", "USA"]


def test_assess_for_japan(real_db_path):
    r = runner.invoke(app, ["--db", str(real_db_path), "assess", "--for", "Japan", "--json", "--top", "1"])
    assert r.exit_code == 0, r.stderr
    assert '"JPN"' in r.stdout


def test_users_list_before_first_serve(real_db_path, tmp_path):
    db = tmp_path / "fresh.duckdb"
    shutil.copyfile(real_db_path, db)
    r = runner.invoke(app, ["--db", str(db), "users", "list"])
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no dashboard users yet"), lines
    assert "`critmin serve`" in lines[0] and "`critmin users add NAME --role ROLE`" in lines[0], lines
