"""Static checks of the whole package: mypy (config ``[tool.mypy]`` in pyproject.toml) and ruff.

Both run as subprocesses of this interpreter from the repository root, so they use the venv's
tools and the project's configuration; on failure the tool's own report is shown.

mypy checks the warehouse for real only if every ``wh`` is annotated with a real type: an
unannotated parameter or ``Any`` turns every ``wh.method(...)`` into an unchecked call. So an
ast scan requires each parameter named ``wh`` in src/critmin to be annotated, without ``Any``
(the brief: ``Warehouse`` from :mod:`critmin.data.warehouse`), and a small program shows that
mypy rejects a wrong call on a ``Warehouse``.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SRC = REPO_ROOT / "src" / "critmin"


def _run(*args: str, timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def _mentions_any(ann: ast.expr) -> bool:
    """``Any``, ``typing.Any``, ``"Any"`` or any of them inside a union/subscript/string annotation."""
    for node in ast.walk(ann):
        if isinstance(node, ast.Name) and node.id == "Any":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "Any":
            return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                if _mentions_any(ast.parse(node.value, mode="eval").body):
                    return True
            except SyntaxError:
                continue
    return False


def untyped_warehouse_params(source: str, name: str = "<source>") -> list[str]:
    """``file:line: function(wh)`` for each parameter named ``wh`` without annotation or with ``Any``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        a = node.args
        params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *(p for p in (a.vararg, a.kwarg) if p)]
        for p in params:
            if p.arg != "wh":
                continue
            if p.annotation is None:
                out.append(f"{name}:{p.lineno}: {node.name}(wh) is not annotated")
            elif _mentions_any(p.annotation):
                out.append(f"{name}:{p.lineno}: {node.name}(wh: {ast.unparse(p.annotation)}) is Any")
    return out


@pytest.mark.parametrize(
    ("source", "want"),
    [
        ("def f(wh): pass\n", ["<source>:1: f(wh) is not annotated"]),
        ("def f(wh: Any): pass\n", ["<source>:1: f(wh: Any) is Any"]),
        ("def f(x, *, wh: 'typing.Any | None' = None): pass\n", ["<source>:1: f(wh: 'typing.Any | None') is Any"]),
        ("class C:\n    async def m(self, wh: Optional[Any]): pass\n", ["<source>:2: m(wh: Optional[Any]) is Any"]),
        ("def f(wh: Warehouse, con: Any): pass\ndef g(wh: 'Warehouse | None'): pass\nh = lambda wh: wh\n", []),
    ],
)
def test_the_wh_scan(source: str, want: list[str]) -> None:
    assert untyped_warehouse_params(source) == want


def test_every_wh_is_annotated_without_any() -> None:
    bad = [
        line
        for p in sorted(SRC.rglob("*.py"))
        for line in untyped_warehouse_params(p.read_text(encoding="utf-8"), str(p.relative_to(REPO_ROOT)))
    ]
    assert not bad, (
        f"{len(bad)} 'wh' parameter(s) unannotated or Any (annotate with critmin.data.warehouse.Warehouse):\n"
        + "\n".join(bad)
    )


@pytest.mark.slow
def test_mypy_rejects_a_wrong_call_on_a_warehouse(tmp_path: Path) -> None:
    prog = tmp_path / "uses_warehouse.py"
    prog.write_text(
        "from critmin.data.warehouse import Warehouse\n\n\n"
        "def f(wh: Warehouse) -> None:\n"
        "    wh.no_such_read()\n"
        "    wh.production_all(sources=3.5)\n"
    )
    env = {**os.environ, "MYPYPATH": str(REPO_ROOT / "src")}
    result = _run("mypy", "--no-incremental", str(prog), timeout=600, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert '"Warehouse" has no attribute "no_such_read"' in result.stdout, result.stdout
    assert 'Argument "sources" to "production_all"' in result.stdout, result.stdout


@pytest.mark.slow
def test_mypy_reports_no_errors() -> None:
    result = _run("mypy", "src/critmin", timeout=600)
    assert result.returncode == 0, (
        f"mypy src/critmin exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )


def test_ruff_reports_no_errors() -> None:
    result = _run("ruff", "check", "src", "tests", timeout=120)
    assert result.returncode == 0, (
        f"ruff check src tests exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
