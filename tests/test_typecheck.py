"""Static checks of the whole package: mypy (config ``[tool.mypy]`` in pyproject.toml) and ruff.

Both run as subprocesses of this interpreter from the repository root, so they use the venv's
tools and the project's configuration; on failure the tool's own report is shown.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


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
