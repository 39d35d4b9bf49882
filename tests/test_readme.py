"""The README cannot drift (issue 19 §6): every command of its "Using it" section runs on the real
warehouse, and the output pasted in its Quickstart is what the commands print today."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from critmin.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
runner = CliRunner()

#: commands the test does not run, and why
SKIP = {
    "serve": "starts a long-running web server (its start-up is tested in tests/test_web_*.py)",
    "data fetch": "downloads the official releases over the network",
}


def _section(title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, flags=re.S | re.M)
    assert m, f"README has no section {title!r}"
    return m.group(1)


def _console_blocks(text: str) -> list[str]:
    return re.findall(r"```console\n(.*?)```", text, flags=re.S)


def _commands(block: str) -> list[list[str]]:
    """``$ .venv/bin/critmin ARGS  # comment`` lines (with ``\\`` continuations; ``;`` separates
    two commands) -> argument lists after ``critmin``."""
    joined = re.sub(r"\\\n\s*", " ", block)
    out: list[list[str]] = []
    for line in joined.splitlines():
        if not line.startswith("$ "):
            continue
        cmd: list[str] = []
        for word in [*shlex.split(line[2:], comments=True), ";"]:
            if word.endswith(";"):
                if word != ";":
                    cmd.append(word[:-1])
                assert cmd and cmd[0].endswith("critmin"), line
                out.append(cmd[1:])
                cmd = []
            else:
                cmd.append(word)
    return out


USING = _commands("\n".join(_console_blocks(_section("Using it"))))


def _skip_reason(args: list[str]) -> str | None:
    for prefix, why in SKIP.items():
        if " ".join(args).startswith(prefix):
            return why
    return None


def test_the_section_lists_every_command_group():
    names = {a[0] for a in USING}
    assert {"data", "production", "assess", "simulate", "stockpile", "projects", "clock", "deposits",
            "markets", "serve", "users", "settings"} <= names


@pytest.fixture(scope="module")
def readme_db(real_db_path, tmp_path_factory):
    """A private copy: the README imports data and adds a user."""
    path = tmp_path_factory.mktemp("readme") / "critmin.duckdb"
    shutil.copyfile(real_db_path, path)
    return path


@pytest.mark.parametrize("args", USING, ids=[" ".join(a)[:60] for a in USING])
def test_using_it_commands_run(args, readme_db, data_dir):
    why = _skip_reason(args)
    if why:
        pytest.skip(why)
    r = runner.invoke(app, ["--db", str(readme_db), "--data", str(data_dir), *args], env={"COLUMNS": "100"})
    assert r.exit_code == 0, (args, r.output)
    assert r.stdout.strip(), args


QUICK = [(b.splitlines()[0], b) for b in _console_blocks(_section("Quickstart"))]


@pytest.mark.parametrize(("command", "block"), QUICK, ids=[c[:60] for c, _ in QUICK])
def test_quickstart_output_is_live(command, block, real_db_path):
    (args,) = _commands(command)
    r = runner.invoke(app, ["--db", str(real_db_path), *args], env={"COLUMNS": "100"})
    assert r.exit_code == 0, r.output
    live = [line.rstrip() for line in r.stdout.splitlines()]
    shown = [line.rstrip() for line in block.splitlines()[1:] if line.strip() and line.strip() != "..."]
    assert shown
    for line in shown:
        assert line in live, (line, "\n".join(live))


def test_readme_links_the_scenario_guide_and_the_glossary_formulas():
    assert "(scenarios/README.md)" in README
    glossary = _section("Glossary")
    for term in ("joint score", "SR", "NIR", "**E**", "CVaR", "HHI", "proxy", "loss multiple",
                 "bottleneck stage", "grade"):
        assert term in glossary, term
    for link in re.findall(r"\]\((docs/[^)#]+)(?:#([^)]+))?\)", glossary):
        page = ROOT / link[0]
        assert page.exists(), link
        if link[1]:
            anchors = {re.sub(r"[^\w\- ]", "", h.strip().lstrip("#").strip().lower()).replace(" ", "-")
                       for h in page.read_text(encoding="utf-8").splitlines() if h.startswith("#")}
            assert link[1] in anchors, link


def test_every_screenshot_exists_and_is_made_by_a_browser_test():
    """The README's pictures are the browser tests' screenshots (docs/screenshots/NAME.png taken
    with doc_shot(page, NAME)), so they are remade, not drawn by hand."""
    images = re.findall(r"!\[[^\]]*\]\((docs/screenshots/[^)]+)\)", README)
    assert len(images) >= 3
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests" / "browser").glob("test_*.py"))
    for img in images:
        assert (ROOT / img).is_file(), img
        assert f'doc_shot(page, "{Path(img).stem}")' in tests, img
