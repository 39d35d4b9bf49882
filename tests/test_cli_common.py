"""The CLI's shared pieces (critmin.cli.common): amounts and budgets for stockpile and projects,
the warehouse context (a user error is one line and exit code 1, never a traceback), and one
registration style for the command modules."""

from __future__ import annotations

import importlib
import inspect
import math

import pytest
import typer
from typer.testing import CliRunner

from critmin.cli.common import parse_amount, parse_budgets, parse_pairs
from critmin.cli.main import COMMAND_MODULES, app

runner = CliRunner()


@pytest.mark.parametrize(("text", "value"), [
    ("2e9", 2e9), ("1.5e9", 1.5e9), ("2bn", 2e9), ("2.5B", 2.5e9), ("500m", 5e8), ("500M", 5e8),
    ("750k", 7.5e5), ("1_000k", 1e6), ("1,500,000", 1.5e6), ("0", 0.0), (".5b", 5e8), ("3T", 3e12),
])
def test_amounts(text, value):
    assert parse_amount(text, "x") == value


def test_unlimited_only_where_allowed():
    assert parse_amount("inf", "x") == math.inf
    with pytest.raises(ValueError, match="--budget USA: 'inf'; expected a finite amount"):
        parse_amount("inf", "--budget USA", allow_inf=False)


@pytest.mark.parametrize(("text", "message"), [
    ("nan", "--budget USA: 'nan' is not an amount"),
    ("-1", "--budget USA: '-1'; expected an amount >= 0"),
    ("-2bn", "--budget USA: '-2bn'; expected an amount >= 0"),
    ("lots", "--budget USA: 'lots' is not an amount"),
    ("2 bn dollars", "--budget USA: '2 bn dollars' is not an amount"),
])
def test_bad_amounts_name_the_field(text, message):
    with pytest.raises(ValueError, match=message):
        parse_amount(text, "--budget USA")


def test_budgets():
    assert parse_budgets("USA=2bn, jpn=1.5e9") == {"USA": 2e9, "JPN": 1.5e9}
    assert parse_budgets("JPN=500m") == {"JPN": 5e8}
    with pytest.raises(ValueError, match="--budget: missing \\['JPN'\\]"):
        parse_budgets("USA=500m", require_all=True)
    with pytest.raises(ValueError, match="--budget: unknown partner 'KOR'; expected USA=AMOUNT,JPN=AMOUNT"):
        parse_budgets("USA=1,KOR=2")
    with pytest.raises(ValueError, match="--budget: 'USA' given twice"):
        parse_budgets("USA=1,usa=2")
    with pytest.raises(ValueError, match="--budget JPN: 'lots' is not an amount"):
        parse_budgets("USA=1,JPN=lots")
    with pytest.raises(ValueError, match="--budget: 'USA' is not KEY=VALUE"):
        parse_budgets("USA")
    with pytest.raises(ValueError, match="--budget: no budget given"):
        parse_budgets(" ")


def test_pairs():
    assert parse_pairs("gallium=20, *=3", "--loss-multiple") == {"gallium": 20.0, "*": 3.0}
    assert parse_pairs(None, "--param") == {}
    with pytest.raises(ValueError, match="--param: risk_aversion='x' is not a number"):
        parse_pairs("risk_aversion=x", "--param")


@pytest.mark.parametrize("args", [
    ["stockpile", "plan", "--budget", "USA=2bn,JPN=nan"],
    ["stockpile", "plan", "--budget", "USA=-1,JPN=1"],
    ["stockpile", "plan", "--budget", "USA=1,KOR=1"],
    ["projects", "select", "--budget", "USA=2bn,JPN=nan"],
    ["projects", "select", "--budget", "USA=-1,JPN=1"],
    ["projects", "select", "--budget", "USA=1,KOR=1"],
    ["projects", "select", "--budget", "USA=1"],
])
def test_bad_budgets_are_one_line_errors_for_stockpile_and_projects(tmp_path, args):
    r = runner.invoke(app, ["--db", str(tmp_path / "none.duckdb"), *args])
    assert r.exit_code == 1, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --budget"), r.stderr


@pytest.mark.parametrize("args", [
    ["production", "rare earths"],
    ["markets", "prices", "gallium"],
    ["stockpile", "plan", "--budget", "USA=2bn,JPN=1.5e9"],
    ["deposits", "--commodity", "gallium"],
    ["data", "status"],
    ["data", "crosscheck"],
    ["assess"],
])
def test_no_warehouse_is_a_one_line_error(tmp_path, args):
    r = runner.invoke(app, ["--db", str(tmp_path / "none.duckdb"), *args])
    assert r.exit_code == 1, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no warehouse at"), r.stderr


def test_unknown_commodity_is_a_one_line_error(real_db_path):
    r = runner.invoke(app, ["--db", str(real_db_path), "markets", "prices", "unobtainium"])
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines() == ["error: unknown commodity 'unobtainium'"]


def test_every_command_module_registers_the_same_way():
    """Commands are module-level functions; ``register(app)`` only attaches them."""
    for name in COMMAND_MODULES:
        mod = importlib.import_module(name)
        sig = inspect.signature(mod.register)
        assert list(sig.parameters) == ["app"], name
        src = inspect.getsource(mod.register)
        assert "def " not in src.split(":", 1)[1], f"{name}.register defines commands inside itself"
        probe = typer.Typer()
        mod.register(probe)
        assert probe.registered_commands or probe.registered_groups, name
