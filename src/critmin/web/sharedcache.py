"""Derived results computed once per warehouse version and shared by every server process.

``critmin serve --workers N`` runs N processes; each keeps its results in memory
(:meth:`critmin.web.context.WebContext.cached`), and without this module each would compute
the watchlist, the assessment and the sparklines itself, N times over on a new version. The
results that ask for it (``shared=True``: those whose keys are bounded, not built from free
request parameters) also go through a file cache **beside the warehouse version**::

    critmin.duckdb.versions/20261202T031946-611075.duckdb            the version (read-only)
    critmin.duckdb.versions/20261202T031946-611075.duckdb.webcache/  its shared results
        <signature>/<key hash>.json

* The *signature* names what the results depend on besides the key: the warehouse
  fingerprint (:meth:`~critmin.data.reads.Reads.fingerprint`: version, datasets, factors), the
  settings that can change a result (every ``CRITMIN_*`` environment variable except the
  operational ones listed in :data:`OPERATIONAL_ENV`), and the code (critmin's version and
  the size and time of every file of the package, so an upgrade never serves an old page).
  A new version, a changed setting or new code finds no file and computes afresh.
* One process computes a key while the others wait for it (an ``fcntl`` lock file per key),
  then read the file; a file is written to a temporary name and renamed (atomic), so a reader
  never sees half a result.
* Values are stored as JSON (never pickle: reading the cache cannot run code); a value that
  does not survive the round trip unchanged (NaN, a tuple, a non-string key) is kept in memory
  only. Rendered fragments (``markupsafe.Markup``) keep their type.
* The cache of a version that :func:`critmin.data.versions.prune` deleted is removed with
  it on the next start (:func:`remove_orphans`), and signatures of a version unused for a day are
  removed when a new one is created. If the directory cannot be written (a read-only data
  directory), results stay per process and a warning says so once.

The warehouse is still read by :mod:`critmin.data` alone: this module stores what the web
layer computed from it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from markupsafe import Markup

T = TypeVar("T")
log = logging.getLogger(__name__)

SUFFIX = ".webcache"
#: environment variables that configure where and how the server runs, not what it computes
#: (and may hold secrets): left out of the signature, so a worker (which gets CRITMIN_DB and
#: CRITMIN_WEB_JOB_WORKERS from ``critmin serve``) shares the parent's results
OPERATIONAL_ENV = ("CRITMIN_DB", "CRITMIN_DATA", "CRITMIN_DATABASE_URL")
OPERATIONAL_PREFIXES = ("CRITMIN_TEST_", "CRITMIN_OPS_", "CRITMIN_JOBS_", "CRITMIN_WEB_")
#: web settings that do shape cached results (the rest of CRITMIN_WEB_* is operational)
RESULT_WEB_ENV = ("CRITMIN_WEB_HISTOGRAM_BINS", "CRITMIN_WEB_SCENARIO_DIR", "CRITMIN_WEB_TOPOJSON_DIR")
STALE_SIGNATURE_S = 86_400.0


def cache_dir(version_path: Path) -> Path:
    """The shared-results directory of a warehouse version (a sibling of the file)."""
    return version_path.with_name(version_path.name + SUFFIX)


def settings_signature(environ: dict[str, str] | None = None) -> str:
    """Hash of the environment variables that can change a computed result."""
    env = os.environ if environ is None else environ
    items = sorted(
        (k, v) for k, v in env.items()
        if k.startswith("CRITMIN_") and k not in OPERATIONAL_ENV
        and (not k.startswith(OPERATIONAL_PREFIXES) or k in RESULT_WEB_ENV)
    )
    return hashlib.sha256(repr(items).encode()).hexdigest()[:16]


@lru_cache(maxsize=1)
def code_signature() -> str:
    """Hash of critmin's version and the size and modification time of every package file."""
    import critmin

    root = Path(critmin.__file__).parent
    h = hashlib.sha256(str(getattr(critmin, "__version__", "")).encode())
    for p in sorted(root.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            st = p.stat()
            h.update(f"{p.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _encode(value: Any) -> str | None:
    """JSON text that decodes to a value equal to ``value`` (with its type), or None."""
    kind = "markup" if isinstance(value, Markup) else "json"
    try:
        text = json.dumps({"kind": kind, "value": str(value) if kind == "markup" else value},
                          allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    if kind == "json" and not _same(json.loads(text)["value"], value):
        return None
    return text


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same container types (JSON turns tuples into lists, int keys into str)."""
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))
                                       and not isinstance(a, bool) and not isinstance(b, bool)):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _decode(text: str) -> Any:
    doc = json.loads(text)
    return Markup(doc["value"]) if doc["kind"] == "markup" else doc["value"]


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class SharedCache:
    """The file layer under :meth:`WebContext.cached` (see the module docstring).

    ``stats`` counts, per key name (the key's first element), how often a value was
    ``computed`` here, ``loaded`` from a file another process (or an earlier start) wrote, or
    ``unshareable`` (kept in memory only).
    """

    def __init__(self) -> None:
        self._broken: set[Path] = set()
        self._lock = threading.Lock()
        self.stats: dict[str, dict[str, int]] = {}

    def _count(self, key: tuple, what: str) -> None:
        with self._lock:
            d = self.stats.setdefault(str(key[0]) if key else "", {})
            d[what] = d.get(what, 0) + 1

    def directory(self, version_path: Path, fingerprint: tuple[Any, ...]) -> Path:
        sig = hashlib.sha256(repr((fingerprint, settings_signature(), code_signature())).encode()).hexdigest()[:20]
        return cache_dir(version_path) / sig

    def get(self, version_path: Path, fingerprint: tuple[Any, ...], key: tuple, compute: Callable[[], T]) -> T:
        """The value of ``key`` for this warehouse version: read from its file, or computed
        (one process at a time per key) and written for the others."""
        d = self.directory(version_path, fingerprint)
        if d.parent in self._broken or not self._ready(d):
            self._count(key, "computed")
            return compute()
        name = hashlib.sha256(repr(key).encode()).hexdigest()[:32]
        path = d / f"{name}.json"
        hit = self._read(path, key)
        if hit is not None:
            return hit[0]
        try:
            lock = _file_lock(d / f"{name}.lock")
            lock.__enter__()
        except OSError as exc:
            self._give_up(d.parent, exc)
            self._count(key, "computed")
            return compute()
        try:
            hit = self._read(path, key)  # another process computed it while we waited
            if hit is not None:
                return hit[0]
            value = compute()
            self._count(key, "computed")
            text = _encode(value)
            if text is None:
                self._count(key, "unshareable")
                log.debug("shared cache: %r is not JSON-exact; kept in this process only", key[:1])
                return value
            tmp = d / f".{name}.{secrets.token_hex(4)}.tmp"
            try:
                tmp.write_text(text, encoding="utf-8")
                os.replace(tmp, path)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                self._give_up(d.parent, exc)
            return value
        finally:
            lock.__exit__(None, None, None)

    def _read(self, path: Path, key: tuple) -> tuple[Any] | None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("shared cache: cannot read %s (%s); computing", path, exc)
            return None
        try:
            value = _decode(text)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("shared cache: %s is not a valid cache file (%s); computing it again", path, exc)
            return None
        self._count(key, "loaded")
        return (value,)

    def _ready(self, d: Path) -> bool:
        if d.is_dir():
            return True
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._give_up(d.parent, exc)
            return False
        _remove_stale_signatures(d)
        return True

    def _give_up(self, root: Path, exc: OSError) -> None:
        with self._lock:
            if root in self._broken:
                return
            self._broken.add(root)
        log.warning("shared cache: cannot write %s (%s); each server process computes its own results",
                    root, exc)


def _remove_stale_signatures(current: Path) -> None:
    now = time.time()
    for other in current.parent.iterdir():
        if other == current or not other.is_dir():
            continue
        try:
            if now - other.stat().st_mtime > STALE_SIGNATURE_S:
                shutil.rmtree(other, ignore_errors=True)
        except OSError:
            continue


def remove_orphans(warehouse: Path) -> list[Path]:
    """Remove the shared caches of versions that no longer exist (pruned); returns them."""
    from critmin.data.versions import versions_dir

    gone = []
    for folder in (versions_dir(warehouse), warehouse.parent):
        if not folder.is_dir():
            continue
        for d in folder.glob(f"*.duckdb{SUFFIX}"):
            if not d.with_name(d.name[: -len(SUFFIX)]).exists():
                shutil.rmtree(d, ignore_errors=True)
                gone.append(d)
    return gone
