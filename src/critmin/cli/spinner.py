"""A spinner on stderr from the first moment of every command (issue 19 §2).

The console script (:func:`critmin.cli.start.main`) calls :func:`install` before it imports
anything heavy (Typer, the command modules, DuckDB, pandas), so a command shows a spinner within
a fraction of a second of starting, whatever it then loads. Only the standard library is used
here, so that this module itself loads in a few milliseconds.

* Only when stderr is a terminal: with stderr a pipe or a file nothing is drawn, and the spinner
  never writes to stdout (``--json`` output and pipes stay clean).
* One spinner per process. :func:`step` (``working(message)`` in :mod:`critmin.cli.common`)
  re-titles it for a long step and starts it again if it was stopped.
* Hand-over: after :func:`install`, ``sys.stdout`` and ``sys.stderr`` are thin wrappers that
  clear the spinner's line before anything else is written. A write to stdout (the result)
  stops the spinner until the next :func:`step`; a write to stderr (a note, a log line, a rich
  progress bar or status, which redraw several times a second) hides it, and it comes back only
  after :data:`QUIET_S` seconds without stderr output, so it never fights a rich Live display.
* At exit (and on Ctrl-C) its line is cleared; a forked child never inherits a running spinner.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ASCII_FRAMES = "|/-\\"
#: back to the line start and erase it
CLEAR = "\r\x1b[2K"
#: seconds without stderr output before a hidden spinner is drawn again
QUIET_S = 0.6
INTERVAL_S = 0.08


def _width(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 80


class Spinner:
    """A one-line spinner drawn by a daemon thread on ``stream`` (a terminal)."""

    def __init__(self, stream: TextIO, message: str, interval: float = INTERVAL_S) -> None:
        self.stream = stream
        self.message = message
        self.interval = interval
        enc = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        self.frames = FRAMES if enc.startswith("utf") else ASCII_FRAMES
        self.lock = threading.RLock()
        self.first_drawn: float | None = None  # time.monotonic() of the first frame
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._hidden_until = 0.0
        self._drawn = False
        self._dead = False  # in a forked child, or after close()
        self._i = 0

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, message: str | None = None) -> None:
        """Show the spinner (with ``message``), drawing the first frame at once."""
        with self.lock:
            if self._dead:
                return
            if message:
                self.message = message
            self._hidden_until = 0.0
            self._draw()
            if self._thread is None:
                self._wake.clear()
                self._thread = threading.Thread(target=self._run, name="critmin-spinner", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        me = threading.current_thread()
        while not self._wake.wait(self.interval):
            with self.lock:
                if self._thread is not me:
                    return
                if time.monotonic() >= self._hidden_until:
                    self._draw()

    def _draw(self) -> None:
        self._i += 1
        text = f"{self.frames[self._i % len(self.frames)]} {self.message}"
        try:
            self.stream.write(CLEAR + text[: max(_width(self.stream) - 1, 1)])
            self.stream.flush()
        except (OSError, ValueError):
            self._dead = True
            return
        self._drawn = True
        if self.first_drawn is None:
            self.first_drawn = time.monotonic()

    def _clear(self) -> None:
        if self._drawn:
            self._drawn = False
            try:
                self.stream.write(CLEAR)
                self.stream.flush()
            except (OSError, ValueError):
                pass

    def hide(self, seconds: float) -> None:
        """Clear the line now; draw again after ``seconds`` without another :meth:`hide`."""
        with self.lock:
            self._clear()
            self._hidden_until = time.monotonic() + seconds

    def stop(self) -> None:
        """Clear the line and stop until the next :meth:`start`."""
        with self.lock:
            self._clear()
            thread, self._thread = self._thread, None
            self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)

    def close(self) -> None:
        self.stop()
        self._dead = True


class ClearingStream:
    """A text stream that clears the spinner's line before anything is written through it:
    ``stops`` (stdout) stops the spinner, otherwise (stderr) it is hidden for :data:`QUIET_S`."""

    def __init__(self, stream: TextIO, spinner: Spinner, *, stops: bool) -> None:
        self._stream = stream
        self._spinner = spinner
        self._stops = stops

    def _before(self) -> None:
        if self._stops:
            self._spinner.stop()
        else:
            self._spinner.hide(QUIET_S)

    def write(self, text: str) -> int:
        if not text:  # (b"" must fail on a text stream as usual: click probes with it)
            return self._stream.write(text)
        with self._spinner.lock:
            self._before()
            return self._stream.write(text)

    def writelines(self, lines: Any) -> None:
        with self._spinner.lock:
            self._before()
            self._stream.writelines(lines)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


_spinner: Spinner | None = None
_streams: tuple[Any, Any] | None = None  # (stdout, stderr) before install()


def current() -> Spinner | None:
    """The process's spinner (None when stderr is not a terminal or nothing started one)."""
    return _spinner


def _title(argv: Sequence[str]) -> str:
    """``['--db', 'x', 'stockpile', 'plan', '--budget', ...]`` -> ``'critmin stockpile plan'``:
    the words before the command's first option (the global ``--db``/``--data`` skipped)."""
    words: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--db", "--data"):
            skip = True
        elif a.startswith("-") and words:
            break
        elif not a.startswith("-"):
            words.append(a)
        if len(words) == 3:
            break
    return " ".join(["critmin", *words])


def _ensure(message: str) -> Spinner | None:
    """The spinner, created (and stdout/stderr wrapped) on first use if stderr is a terminal."""
    global _spinner, _streams
    if _spinner is not None:
        return _spinner
    err = sys.stderr
    try:
        if err is None or not err.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    _spinner = Spinner(err, message)
    atexit.register(uninstall)
    _streams = (sys.stdout, sys.stderr)
    sys.stdout = ClearingStream(sys.stdout, _spinner, stops=True)  # type: ignore[assignment]
    sys.stderr = ClearingStream(sys.stderr, _spinner, stops=False)  # type: ignore[assignment]
    return _spinner


def install(argv: Sequence[str]) -> Spinner | None:
    """Start the spinner for the command in ``argv`` (``sys.argv[1:]``) if stderr is a terminal.
    Nothing for ``--help`` or no arguments (the help is printed at once)."""
    if not argv or "--help" in argv or "-h" in argv:
        return None
    sp = _ensure(f"{_title(argv)} ...")
    if sp is not None:
        sp.start()
    return sp


def uninstall() -> None:
    """Clear and stop the spinner, and give back the original stdout and stderr."""
    global _spinner, _streams
    if _spinner is not None:
        _spinner.close()
    if _streams is not None:
        if isinstance(sys.stdout, ClearingStream):
            sys.stdout = _streams[0]
        if isinstance(sys.stderr, ClearingStream):
            sys.stderr = _streams[1]
    _spinner, _streams = None, None


def retitle(message: str) -> None:
    """Change the running spinner's message (nothing if there is none)."""
    if _spinner is not None:
        with _spinner.lock:
            _spinner.message = message


@contextmanager
def step(message: str) -> Iterator[None]:
    """Show the spinner with ``message`` during a long step (started if needed; only when
    stderr is a terminal); afterwards the previous message comes back."""
    sp = _ensure(message)
    if sp is None:
        yield
        return
    previous = sp.message
    sp.start(message)
    try:
        yield
    finally:
        with sp.lock:
            sp.message = previous


def _before_fork() -> None:
    if _spinner is not None:
        _spinner.lock.acquire()


def _after_fork_parent() -> None:
    if _spinner is not None:
        _spinner.lock.release()


def _after_fork_child() -> None:
    # the thread is not copied into the child: a fresh lock, and nothing drawn from here
    if _spinner is not None:
        _spinner.lock = threading.RLock()
        _spinner._thread = None
        _spinner._drawn = False
        _spinner._dead = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_parent,
                        after_in_child=_after_fork_child)
