"""A real ``critmin serve`` (and ``critmin worker``) in subprocesses, for the multi-worker,
fault and concurrency tests: the warehouse and operational store of a ``web_db`` fixture."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
CRITMIN = [sys.executable, "-m", "critmin.cli.main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(db, **extra: str) -> dict[str, str]:
    env = {**os.environ, "CRITMIN_DB": str(db.path), "PYTHONUNBUFFERED": "1", **extra}
    if db.ops_url and not db.ops_url.startswith("sqlite"):
        env["CRITMIN_DATABASE_URL"] = db.ops_url
    else:
        env.pop("CRITMIN_DATABASE_URL", None)
    return env


def critmin(db, *args: str, timeout: float = 300, input: str | None = None, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CRITMIN, *args], env=env_for(db, **extra), capture_output=True, text=True,
                          timeout=timeout, input=input, cwd=REPO)


def _log_of(proc: subprocess.Popen) -> str:
    path = getattr(proc, "log_path", None)
    return Path(path).read_text(errors="replace")[-3000:] if path else ""


def wait_healthy(base: str, proc: subprocess.Popen, timeout: float = 400) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {_log_of(proc)}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{base} not healthy after {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    log = getattr(proc, "log_file", None)
    if log is not None:
        log.close()


def _popen(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """A subprocess whose output goes to a file (a pipe nobody reads could fill and block it)."""
    log = open(log_path, "w")  # noqa: SIM115 - closed by stop()
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, text=True, cwd=REPO,
                            start_new_session=True)
    proc.log_file = log  # type: ignore[attr-defined]
    proc.log_path = log_path  # type: ignore[attr-defined]
    return proc


@contextmanager
def server(db, *, workers: int = 1, job_workers: int = 1, **extra: str) -> Iterator[str]:
    """``critmin serve --workers N`` on a free loopback port; yields its base URL."""
    port = free_port()
    proc = _popen([*CRITMIN, "serve", "--port", str(port), "--workers", str(workers), "--job-workers",
                   str(job_workers)], env_for(db, **extra), db.path.with_name(f"serve-{port}.log"))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        yield base
    finally:
        stop(proc)


def start_worker(db, *args: str, **extra: str) -> subprocess.Popen:
    n = len(list(db.path.parent.glob("worker-*.log")))
    return _popen([*CRITMIN, "worker", *args], env_for(db, **extra), db.path.with_name(f"worker-{n}.log"))
