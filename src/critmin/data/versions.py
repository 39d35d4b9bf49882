"""Warehouse versions: ``critmin data import`` writes a new DuckDB file and switches atomically.

Layout, for the warehouse path ``P`` (``--db``, e.g. ``~/.local/share/critmin/critmin.duckdb``)::

    P                      a symlink to the current version (relative: P.versions/<id>.duckdb)
    P.versions/<id>.duckdb one complete warehouse per import (<id> = UTC time + random suffix)
    P.import.lock          held by the one import that runs (a second one waits for it)

An import copies the current version (or starts empty with ``fresh``), imports what is new
into the copy, checkpoints it and then replaces ``P`` by a new symlink with ``os.replace``
(atomic on POSIX): a reader opening ``P`` gets the old or the new version, never a half-written
one, and nobody ever waits for the writer (the old version stays open read-only where it is
in use). Running servers look at ``P``'s target every ``web.data_version_ttl_s`` seconds and
open the new version. The newest ``data.keep_versions`` versions are kept; older ones are
deleted (a process still reading one keeps its open file until it lets go).

A ``P`` that is a plain file (a warehouse from before versions) is kept as the first version
(hard-linked into ``P.versions``) when the first versioned import switches.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from critmin import settings

if TYPE_CHECKING:
    from critmin.data.importer import ImportReport

settings.register("data.keep_versions", 3,
                  "Warehouse versions kept beside the current one's predecessors (older ones are deleted).",
                  "Enough to roll back by hand after a bad import")


def versions_dir(path: Path) -> Path:
    return path.with_name(path.name + ".versions")


def current_version(path: Path) -> Path | None:
    """The file ``path`` stands for now (itself when it is a plain file), or None."""
    if not path.exists():
        return None
    return path.resolve()


@contextmanager
def import_lock(path: Path) -> Iterator[None]:
    """One import at a time per warehouse (a second one waits, then finds nothing new)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".import.lock"), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def new_version_path(path: Path) -> Path:
    d = versions_dir(path)
    d.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return d / f"{stamp}-{secrets.token_hex(3)}.duckdb"


def switch(path: Path, version: Path) -> None:
    """Point ``path`` at ``version`` atomically (a plain-file ``path`` is kept as a version)."""
    if path.exists() and not path.is_symlink():
        keep = versions_dir(path) / f"legacy-{datetime.now(UTC):%Y%m%dT%H%M%S}.duckdb"
        os.link(path, keep)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    os.symlink(os.path.relpath(version, path.parent), tmp)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def prune(path: Path, keep: int | None = None) -> list[Path]:
    """Delete versions older than the newest ``keep`` (never the current one); returns them."""
    keep = int(settings.get("data.keep_versions")) if keep is None else keep
    cur = current_version(path)
    files = sorted(versions_dir(path).glob("*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True)
    gone = []
    for f in files[keep:]:
        if cur is not None and f.resolve() == cur:
            continue
        for extra in (f, f.with_name(f.name + ".wal")):
            extra.unlink(missing_ok=True)
        gone.append(f)
    return gone


def import_version(path: Path, data_dir: Path, *, fresh: bool = False, **kw: Any) -> tuple[ImportReport, Path | None, dict[str, float]]:
    """Import into a new version of ``path`` and switch to it.

    Returns the import report, the new version (None when nothing was new, so no switch was
    needed) and where the time went, in seconds, in steps that follow one another: ``lock``
    (wait for another import), ``copy`` (the current version, unless ``fresh``), ``open``
    (open the new version and create its schema), ``import`` (:func:`~critmin.data.importer.import_all`,
    split further in ``report.timing``), ``checkpoint``, ``close``, ``switch`` and ``prune``.
    """
    from critmin.data.warehouse import Warehouse

    timing: dict[str, float] = {}
    t = time.perf_counter()
    with import_lock(path):
        timing["lock"] = time.perf_counter() - t
        cur = current_version(path)
        new = new_version_path(path)
        t = time.perf_counter()
        if cur is not None and not fresh:
            shutil.copyfile(cur, new)
            wal = cur.with_name(cur.name + ".wal")
            if wal.exists():
                shutil.copyfile(wal, new.with_name(new.name + ".wal"))
        timing["copy"] = time.perf_counter() - t
        ok = False
        try:
            t = time.perf_counter()
            wh = Warehouse(new)
            timing["open"] = time.perf_counter() - t
            try:
                t = time.perf_counter()
                report = wh.import_data(data_dir, **kw)
                timing["import"] = time.perf_counter() - t
                t = time.perf_counter()
                wh.con.execute("CHECKPOINT")
                timing["checkpoint"] = time.perf_counter() - t
            finally:
                t = time.perf_counter()
                wh.close()
                timing["close"] = time.perf_counter() - t
            if not report.added and cur is not None and not fresh:
                return report, None, timing
            t = time.perf_counter()
            switch(path, new)
            timing["switch"] = time.perf_counter() - t
            ok = True
        finally:
            if not ok:
                for f in (new, new.with_name(new.name + ".wal")):
                    f.unlink(missing_ok=True)
        t = time.perf_counter()
        prune(path)
        timing["prune"] = time.perf_counter() - t
    return report, new, timing
