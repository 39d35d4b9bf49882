"""The append-only audit log: who, when, what, outcome; keyed hash chain and signed checkpoints.

Every write, every login attempt (failed ones too), every lockout, every denied request
(rate-limited, see :class:`DeniedLimiter`) and every scenario or stockpile run adds one row to
``web_audit``. The module offers no update or delete.

**Keyed chain.** Each row carries ``hash = HMAC-SHA256(K, prev_hash | seq | at | actor | role |
action | target | outcome | detail | client)``, chaining it to the row before (Schneier & Kelsey
1999, "Secure audit logs to support computer forensics", without the key evolution). ``K`` is a
server secret kept *outside* the database, in the file ``web.audit_key_file`` (default: beside
the operational SQLite file, ``<name>.audit.key``), created with mode 0600 on first use. Someone
who can write the database but not read that file cannot recompute a chain that verifies.

**Checkpoints.** A chain alone cannot show that its newest rows were deleted (the rest still
chains). So the head ``(seq, hash, time)`` is written, signed with ``K``, as one JSON line to a
file outside the database (``web.audit_checkpoint_file``, default ``<key file>.checkpoints.jsonl``):
every ``web.audit_checkpoint_s`` seconds by a background thread of each server process when the
head has moved, and on demand (``critmin audit checkpoint``, ``POST /api/audit/checkpoint``).
:func:`verify_chain` then also checks the newest checkpoint: a log that ends before the
checkpointed ``seq`` was truncated; a row at that ``seq`` whose hash differs was rewritten (a
deletion followed by recomputing the chain, even with the key). Rows written after the last
checkpoint are covered only by the chain. ``critmin audit verify`` runs the check from the
command line; ``critmin audit checkpoints`` exports the checkpoints (copy them off the host:
a checkpoint that lives only beside the database protects only against database-only access).

**Exports.** CSV cells that a spreadsheet would read as a formula (starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) are prefixed with ``'`` (OWASP "CSV Injection").
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import hmac
import io
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from critmin import settings

log = logging.getLogger(__name__)

settings.register(
    "web.audit_key_file",
    "",
    "File with the audit chain's HMAC key (created 0600 on first use). Keep it outside the "
    "database and its backups. Default: beside the operational SQLite file (<name>.audit.key), "
    "or beside the warehouse when the store is PostgreSQL.",
    "OWASP ASVS 4.0.3 V7.3.3/V7.3.4 (log integrity); NIST SP 800-92 sec. 4.3",
)
settings.register(
    "web.audit_checkpoint_file",
    "",
    "Append-only file of signed audit-chain heads (JSON lines). Default: <key file>.checkpoints.jsonl.",
    "",
)
settings.register(
    "web.audit_checkpoint_s",
    60.0,
    "Seconds between automatic checkpoints of the audit chain's head (written only when it moved).",
    "",
)
settings.register(
    "web.audit_denied_per_min",
    20,
    "Denied requests (401/403/CSRF/unknown token, throttled logins) audited per client address "
    "and minute; the rest are counted, and the count is written with the next entry admitted.",
    "OWASP Logging Cheat Sheet (protect the log from flooding)",
)
settings.register(
    "web.audit_denied_total_per_min",
    600,
    "Denied requests audited per minute over all clients of one server process.",
    "",
)

GENESIS = "0" * 64
COLUMNS = ("seq", "at", "actor", "role", "action", "target", "outcome", "detail", "client")
_SELECT = ", ".join(f'"{c}"' for c in COLUMNS)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class AuditKeyError(RuntimeError):
    """The key file cannot be read or created."""


# -- the key and the checkpoint file ----------------------------------------------------------


def key_path(con: Any) -> Path:
    configured = settings.get("web.audit_key_file")
    if configured:
        return Path(configured)
    engine = getattr(con, "engine", None)
    if engine is not None and engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        db = Path(engine.url.database)
        return db.with_name(db.name.removesuffix(".sqlite").removesuffix(".ops") + ".audit.key")
    if engine is None and hasattr(con, "execute"):  # a DuckDB connection (the warehouse file itself)
        try:
            row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
        except Exception:  # noqa: BLE001 - not DuckDB after all
            row = None
        if row and row[0]:
            return Path(row[0]).with_suffix(".audit.key")
    from critmin.data import paths

    base = paths.resolve_db_path()
    if engine is not None:  # PostgreSQL: one key and checkpoint stream per database, never shared
        u = engine.url
        tag = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{u.get_backend_name()}-{u.host or 'local'}-{u.port or ''}-{u.database or ''}")
        return base.with_name(f"{base.stem}.{tag}.audit.key")
    return base.with_suffix(".audit.key")


def checkpoint_path(con: Any) -> Path:
    configured = settings.get("web.audit_checkpoint_file")
    return Path(configured) if configured else key_path(con).with_suffix(".checkpoints.jsonl")


_keys: dict[str, bytes] = {}
_keys_lock = threading.Lock()


def hmac_key(con: Any) -> bytes:
    """The chain key (32 random bytes, hex in the file); the file is created 0600 if missing."""
    path = key_path(con)
    k = str(path)
    with _keys_lock:
        if k in _keys:
            return _keys[k]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_hex(32) + "\n")
                log.info("created audit key file %s (mode 0600)", path)
            if path.stat().st_mode & 0o077:
                raise AuditKeyError(f"audit key file {path} is readable by group or others; chmod 600 it")
            text = path.read_text().strip()
            key = bytes.fromhex(text)
        except (OSError, ValueError) as exc:
            raise AuditKeyError(f"audit key file {path}: {exc} (setting web.audit_key_file)") from None
        if len(key) < 16:
            raise AuditKeyError(f"audit key file {path}: expected at least 32 hex characters")
        _keys[k] = key
        return key


def key_id(key: bytes) -> str:
    """A short public name of the key (in checkpoints: which key signed)."""
    return hashlib.sha256(b"critmin-audit-key-id|" + key).hexdigest()[:12]


def _row_hash(key: bytes, prev_hash: str, values: tuple[Any, ...]) -> str:
    text = "|".join([prev_hash] + ["" if v is None else str(v) for v in values])
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _at_text(at: Any) -> str:
    return at.isoformat() if isinstance(at, datetime) else str(at)


# -- append and read -----------------------------------------------------------------------------


def record(
    con: Any,
    *,
    actor: str,
    role: str | None,
    action: str,
    outcome: str,
    target: str | None = None,
    detail: dict | None = None,
    client: str | None = None,
) -> int:
    """Append one entry and return its sequence number.

    The caller holds the store's ``web_audit`` lock (a transaction), so that the read of the
    last hash and the insert are not interleaved with another append.
    """
    key = hmac_key(con)
    last = con.execute("SELECT seq, hash FROM web_audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq = 1 if last is None else int(last[0]) + 1
    prev = GENESIS if last is None else last[1]
    at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    det = None if detail is None else json.dumps(detail, sort_keys=True, default=str)
    values = (seq, at.isoformat(), actor, role, action, target, outcome, det, client)
    h = _row_hash(key, prev, values)
    con.execute(
        'INSERT INTO web_audit (seq, "at", actor, role, action, target, outcome, detail, client, prev_hash, hash)'
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, at, actor, role, action, target, outcome, det, client, prev, h],
    )
    _ensure_checkpointer(con)
    return seq


def entries(
    con: Any,
    *,
    limit: int | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> list[dict]:
    """Entries, newest first, optionally filtered by actor or action prefix."""
    sql = "SELECT " + _SELECT + " FROM web_audit WHERE 1=1"
    args: list[Any] = []
    if actor:
        sql += " AND actor = ?"
        args.append(actor)
    if action:
        sql += " AND substr(action, 1, ?) = ?"
        args.extend([len(action), action])
    sql += " ORDER BY seq DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = con.execute(sql, args).fetchall()
    out = []
    for r in rows:
        d = dict(zip(COLUMNS, r, strict=True))
        d["at"] = _at_text(d["at"])
        out.append(d)
    return out


def _all_rows(con: Any) -> list[tuple[Any, ...]]:
    return con.execute("SELECT " + _SELECT + ", prev_hash, hash FROM web_audit ORDER BY seq").fetchall()


def head(con: Any) -> tuple[int, str]:
    row = con.execute("SELECT seq, hash FROM web_audit ORDER BY seq DESC LIMIT 1").fetchone()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


# -- checkpoints -----------------------------------------------------------------------------------


def _checkpoint_sig(key: bytes, seq: int, h: str, at: str) -> str:
    return hmac.new(key, f"critmin-audit-checkpoint|{seq}|{h}|{at}".encode(), hashlib.sha256).hexdigest()


def read_checkpoints(con: Any) -> list[dict[str, Any]]:
    """Every checkpoint in the file, oldest first (``valid``: its signature checks with the key)."""
    path = checkpoint_path(con)
    if not path.exists():
        return []
    key = hmac_key(con)
    out = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cp = json.loads(line)
            cp["valid"] = hmac.compare_digest(
                str(cp.get("sig", "")), _checkpoint_sig(key, int(cp["seq"]), str(cp["hash"]), str(cp["at"])))
        except (ValueError, KeyError, TypeError):
            cp = {"line": n, "valid": False, "raw": line[:200]}
        cp["line"] = n
        out.append(cp)
    return out


def checkpoint(con: Any, *, only_if_moved: bool = False) -> dict[str, Any] | None:
    """Write the signed head ``(seq, hash, at)`` to the checkpoint file and return it (None when
    ``only_if_moved`` and the head is the one checkpointed last)."""
    key = hmac_key(con)
    seq, h = head(con)
    path = checkpoint_path(con)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "r+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            if only_if_moved:
                fh.seek(0)
                lines = [x for x in fh.read().splitlines() if x.strip()]
                if lines:
                    try:
                        last = json.loads(lines[-1])
                        if int(last["seq"]) >= seq:
                            return None
                    except (ValueError, KeyError, TypeError):
                        pass
            at = datetime.now(UTC).replace(tzinfo=None, microsecond=0).isoformat()
            cp = {"seq": seq, "hash": h, "at": at, "key_id": key_id(key), "sig": _checkpoint_sig(key, seq, h, at)}
            fh.write(json.dumps(cp, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return cp


_checkpointers: dict[str, threading.Thread] = {}


def _ensure_checkpointer(con: Any) -> None:
    """Start this process's periodic checkpoint thread for the store (once per file)."""
    if getattr(con, "engine", None) is None:
        return  # a DuckDB connection of old code: no background thread on it
    path = str(checkpoint_path(con))
    if path in _checkpointers:
        return

    def loop() -> None:
        while True:
            time.sleep(max(1.0, float(settings.get("web.audit_checkpoint_s"))))
            try:
                checkpoint(con, only_if_moved=True)
            except Exception:  # the log must never take the server down
                log.exception("audit checkpoint to %s failed", path)

    t = threading.Thread(target=loop, name="audit-checkpoint", daemon=True)
    _checkpointers[path] = t
    t.start()


# -- verification ------------------------------------------------------------------------------------


def verify_chain(con: Any) -> tuple[bool, str]:
    """Recompute the keyed chain and compare it with the newest valid checkpoint; (ok, message
    naming the first problem)."""
    key = hmac_key(con)
    rows = _all_rows(con)
    prev = GENESIS
    by_seq: dict[int, str] = {}
    for expected_seq, r in enumerate(rows, start=1):
        seq = int(r[0])
        if seq != expected_seq:
            return False, f"audit row seq={expected_seq} is missing (next present: {seq})"
        values = (r[0], _at_text(r[1]), *r[2:9])
        if r[9] != prev or _row_hash(key, prev, values) != r[10]:
            return False, f"audit row seq={seq} was altered (its keyed hash does not match)"
        prev = r[10]
        by_seq[seq] = r[10]
    n = len(rows)
    cps = read_checkpoints(con)
    bad = [c for c in cps if not c["valid"]]
    if bad:
        return False, f"checkpoint file {checkpoint_path(con)} line {bad[0]['line']} has a bad signature (edited?)"
    if not cps:
        return True, f"{n} audit rows, keyed chain intact (no checkpoint yet)"
    cp = cps[-1]
    cseq, chash = int(cp["seq"]), str(cp["hash"])
    if cseq > n:
        return False, (f"audit log truncated: checkpoint of {cp['at']} has seq={cseq}, the log ends at "
                       f"seq={n} ({cseq - n} newest rows missing)")
    if cseq > 0 and not hmac.compare_digest(by_seq[cseq], chash):
        return False, (f"audit chain rewritten: row seq={cseq} does not have the hash checkpointed at "
                       f"{cp['at']} (rows deleted or changed and the chain recomputed)")
    return True, f"{n} audit rows, keyed chain intact, matches the checkpoint of {cp['at']} (seq={cseq})"


# -- export ------------------------------------------------------------------------------------------


def neutralise_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet would run as a formula, made inert with a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def export(con: Any, fmt: str) -> str:
    """The whole log, oldest first, as CSV or JSON text (with the chain hashes)."""
    cols = (*COLUMNS, "prev_hash", "hash")
    dicts = []
    for r in _all_rows(con):
        d = dict(zip(cols, r, strict=True))
        d["at"] = _at_text(d["at"])
        dicts.append(d)
    if fmt == "json":
        return json.dumps(dicts, indent=1)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows({k: neutralise_cell(v) for k, v in d.items()} for d in dicts)
        return buf.getvalue()
    raise ValueError(f"audit export format {fmt!r}: expected 'csv' or 'json'")


# -- denied requests, rate-limited ---------------------------------------------------------------------


class DeniedLimiter:
    """At most ``web.audit_denied_per_min`` audited denials per client and minute, and
    ``web.audit_denied_total_per_min`` in all (per process); :meth:`admit` says whether to
    write this one and how many were suppressed for the key since the last one written."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._win: dict[str, tuple[float, int]] = {}
        self._suppressed: dict[str, int] = {}
        self._total: tuple[float, int] = (clock(), 0)

    def admit(self, key: str) -> tuple[bool, int]:
        now = self._clock()
        per = int(settings.get("web.audit_denied_per_min"))
        total_cap = int(settings.get("web.audit_denied_total_per_min"))
        with self._lock:
            start, n = self._win.get(key, (now, 0))
            if now - start >= 60:
                start, n = now, 0
            tstart, tn = self._total
            if now - tstart >= 60:
                tstart, tn = now, 0
            if n >= per or tn >= total_cap:
                self._win[key] = (start, n)
                self._total = (tstart, tn)
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return False, 0
            self._win[key] = (start, n + 1)
            self._total = (tstart, tn + 1)
            if len(self._win) > 50_000:
                self._win.clear()
            return True, self._suppressed.pop(key, 0)
