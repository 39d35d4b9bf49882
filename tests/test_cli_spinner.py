"""A spinner from the first second of every command (issue 19 §2), tested on a real terminal.

Each command of the README's "Using it" section runs as the installed console script under a
pseudo-terminal (stdout and stderr on one pty, 80 columns) on a copy of the real warehouse. The
first byte must be a spinner frame, come within 1 s of starting the process and before a third
of the run, and every frame must come before the command's result (the spinner is cleared and
stopped when the result is printed; the result follows whole). Marked slow: about 17 runs of
5-60 s. With stderr a pipe, three of them write no spinner byte on either stream. In-process: the spinner is running before the warehouse is first opened, and a
write to stdout clears its line first.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from critmin.cli import spinner
from test_readme import USING, _skip_reason

ROOT = Path(__file__).resolve().parents[1]
CRITMIN = Path(sys.executable).with_name("critmin")
FRAME = re.compile(r"\r\x1b\[2K[" + spinner.FRAMES + re.escape(spinner.ASCII_FRAMES) + r"] [^\r\n]*")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")

pytestmark = pytest.mark.skipif(not CRITMIN.exists(), reason="the console script is not installed")


def _env(db: Path, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRITMIN_", "COLUMNS", "LINES"))}
    env.update(CRITMIN_DB=str(db), CRITMIN_DATA=str(data_dir), COLUMNS="80", LINES="50", TERM="xterm")
    return env


def _on_pty(args: list[str], env: dict[str, str]) -> tuple[int, float, list[tuple[float, bytes]]]:
    """Run ``critmin ARGS`` with stdout and stderr on one 80-column pty: (exit code, seconds from
    just before the process is created to its end, [(seconds, bytes read)])."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 80, 0, 0))
    t0 = time.monotonic()
    proc = subprocess.Popen([str(CRITMIN), *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                            env=env, cwd=ROOT, close_fds=True)
    os.close(slave)
    chunks: list[tuple[float, bytes]] = []
    while True:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the pty
            break
        if not data:
            break
        chunks.append((time.monotonic() - t0, data))
    rc = proc.wait(timeout=600)
    os.close(master)
    return rc, time.monotonic() - t0, chunks


#: the README's commands that run here (a long-running server and the network download do not)
CASES = [a for a in USING if _skip_reason(a) is None]


@pytest.fixture(scope="module")
def db_copy(real_db_path, tmp_path_factory):
    """A private copy: `data import` and `users add` write."""
    path = tmp_path_factory.mktemp("spinner") / "critmin.duckdb"
    shutil.copyfile(real_db_path, path)
    return path


def _result(tail: str, args: list[str]) -> None:
    """The command's result is all in ``tail`` (the screen after the spinner's last frame): with
    ``--json`` a whole JSON document, else at least one line of text."""
    visible = ANSI.sub("", tail)
    if "--json" in args or "--geojson" in args:
        start = re.search(r"^[\[{]", visible, flags=re.M)
        assert start, visible[:400]
        doc, _ = json.JSONDecoder().raw_decode(visible[start.start():])
        assert doc or doc == [], visible[:400]
    else:
        assert visible.strip(), args


@pytest.mark.slow
@pytest.mark.parametrize("args", CASES, ids=[" ".join(a)[:60] for a in CASES])
def test_spinner_from_the_first_second_on_a_terminal(args, db_copy, data_dir):
    rc, seconds, chunks = _on_pty(args, _env(db_copy, data_dir))
    screen = b"".join(c for _, c in chunks).decode("utf-8", errors="replace")
    assert rc == 0, screen[-2000:]
    first_at, first = chunks[0]
    assert FRAME.match(first.decode("utf-8", errors="replace")), first[:80]
    assert first_at < 1.0, (first_at, seconds)
    assert first_at < seconds / 3, (first_at, seconds)
    # every frame comes before the result, and the last one is cleared before it is printed
    last = list(FRAME.finditer(screen))[-1]
    assert screen[last.end():].startswith("\r\x1b[2K"), repr(screen[last.end():last.end() + 40])
    _result(screen[last.end():], args)


PIPED = [["production", "rare earths", "--year", "2024"],
         ["stockpile", "plan", "--budget", "USA=2e9,JPN=1.5e9", "--runs", "200", "--seed", "7"],
         ["simulate", "scenarios/cn_gallium_germanium_antimony_us_ban_2024.toml", "--no-store", "--json"]]


@pytest.mark.parametrize("args", PIPED, ids=[" ".join(a)[:40] for a in PIPED])
def test_no_spinner_byte_when_stderr_is_a_pipe(args, real_db_path, data_dir):
    piped = subprocess.run([str(CRITMIN), *args], capture_output=True, text=True, env=_env(real_db_path, data_dir),
                           cwd=ROOT, timeout=600, stdin=subprocess.DEVNULL)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.strip()
    for text in (piped.stdout, piped.stderr):
        assert "\x1b" not in text and not FRAME.search(text) and "\r" not in text


def test_spinner_is_running_before_the_warehouse_is_opened(real_db_path, monkeypatch):
    """In-process, through the console script's entry point: when the command first opens the
    warehouse, the spinner has drawn a frame and is still running."""
    from critmin.cli import start
    from critmin.data import warehouse

    class Tty(io.StringIO):
        encoding = "utf-8"

        def isatty(self) -> bool:
            return True

    err = Tty()
    seen: list[tuple[bool, float | None, str]] = []
    real_init = warehouse.Warehouse.__init__

    def spy(self, *a, **k):
        sp = spinner.current()
        seen.append((sp is not None and sp.running, sp and sp.first_drawn, err.getvalue()))
        real_init(self, *a, **k)

    monkeypatch.setattr(warehouse.Warehouse, "__init__", spy)
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(sys, "argv", ["critmin", "--db", str(real_db_path), "production", "cobalt"])
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    with pytest.raises(SystemExit) as exit_:
        start.main()
    assert exit_.value.code == 0
    assert seen, "the command did not open the warehouse"
    running, drawn, before = seen[0]
    assert running and drawn is not None
    assert FRAME.search(before) and "critmin production cobalt" in before
    assert spinner.current() is None and sys.stdout is out and sys.stderr is err  # given back
    assert "Cobalt production" in out.getvalue() and "\x1b" not in out.getvalue()
    assert err.getvalue().endswith("\r\x1b[2K")  # its line cleared at the end


def test_a_write_to_stdout_clears_the_line_first(monkeypatch):
    class Tty(io.StringIO):
        encoding = "utf-8"

        def isatty(self) -> bool:
            return True

    term = Tty()  # stdout and stderr on one terminal
    monkeypatch.setattr(sys, "stderr", term)
    monkeypatch.setattr(sys, "stdout", term)
    try:
        sp = spinner.install(["stockpile", "plan", "--budget", "USA=1"])
        assert sp is not None and sp.running
        time.sleep(0.3)
        print("result line")
        assert not sp.running
        time.sleep(0.3)  # stopped: nothing is drawn after the result
        with spinner.step("a long step ..."):
            assert sp.running and sp.message == "a long step ..."
        sys.stderr.write("note: something\n")
    finally:
        spinner.uninstall()
    text = term.getvalue()
    before, after = text.split("result line\n", 1)
    assert before.endswith("\r\x1b[2K") and "critmin stockpile plan ..." in before
    assert "a long step ..." in FRAME.findall(after)[0]  # nothing drawn between the result and the step
    assert after.index("a long step ...") < after.index("note: something")
    assert re.search(r"\r\x1b\[2Knote: something\n", after)


def test_nothing_when_stderr_is_not_a_terminal(monkeypatch):
    err, out = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(sys, "stdout", out)
    try:
        assert spinner.install(["stockpile", "plan"]) is None
        with spinner.step("solving ..."):
            time.sleep(0.2)
        assert sys.stdout is out and sys.stderr is err
    finally:
        spinner.uninstall()
    assert err.getvalue() == "" and out.getvalue() == ""


def test_the_title_is_the_command():
    assert spinner._title(["--db", "x.duckdb", "stockpile", "plan", "--budget", "USA=2e9"]) == "critmin stockpile plan"
    assert spinner._title(["simulate", "--runs", "200"]) == "critmin simulate"
