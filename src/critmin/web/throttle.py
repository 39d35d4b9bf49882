"""Login throttling and lockout, per account and per client address (OWASP ASVS 4.0.3 V2.2.1).

Every failed login adds one failure to two keys: ``user:<name>`` (the name typed, whether or
not such a user exists, so that the answer does not reveal which names exist) and
``addr:<client address>``. A key with ``web.login_max_failures_user`` (account) or
``web.login_max_failures_addr`` (address) failures within ``web.login_window_s`` seconds is
locked for ``web.login_lockout_s`` seconds, doubled for each further lockout of the same key
within a day, up to ``web.login_lockout_max_s``. While either key is locked, a login answers
429 with ``Retry-After`` *before* the password is checked (so a locked account cannot be
brute-forced at all, and a right password does not reveal itself by a different answer).

A successful login clears the account key (not the address key: one valid account must not
let an address reset its counter while it sprays other accounts). Each lockout is written to
the audit log (``login.lockout``); a joint-admin can lift one (``POST /api/lockouts/lift``,
the Users page), which is audited too.

The counters live in the operational store (``web_throttle``), so every worker process
enforces the same limits. The read-modify-write of a key runs in one transaction under the
store's named lock ``web_throttle`` (a PostgreSQL advisory lock; SQLite serialises writers).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from critmin import settings
from critmin.web import sectables

settings.register(
    "web.login_max_failures_user",
    5,
    "Failed logins of one account within web.login_window_s that lock the account.",
    "OWASP ASVS 4.0.3 V2.2.1; NIST SP 800-63B sec. 5.2.2 allows up to 100; 5 is the common "
    "government baseline (e.g. CIS Controls, DISA STIG: 3-5)",
)
settings.register(
    "web.login_max_failures_addr",
    20,
    "Failed logins from one client address within web.login_window_s that lock the address "
    "(higher than per account: offices share an address behind NAT).",
    "OWASP Authentication Cheat Sheet (per-IP limits against credential stuffing)",
)
settings.register(
    "web.login_window_s",
    900,
    "Seconds over which failed logins are counted.",
    "DISA STIG (3 failures in 15 minutes)",
)
settings.register(
    "web.login_lockout_s",
    900,
    "Seconds a first lockout lasts; each further lockout of the same key within a day doubles it.",
    "DISA STIG / CIS (15 minutes)",
)
settings.register(
    "web.login_lockout_max_s",
    86_400,
    "Longest lockout, in seconds (an admin can always lift one earlier).",
    "",
)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Locked:
    """A refused attempt: which key is locked and for how many more seconds."""

    key: str
    retry_after_s: int


def keys_for(user: str, client: str | None) -> list[str]:
    out = [f"user:{user.strip().lower()[:64]}"]
    if client:
        out.append(f"addr:{client}")
    return out


def _limit(key: str) -> int:
    name = "web.login_max_failures_user" if key.startswith("user:") else "web.login_max_failures_addr"
    return int(settings.get(name))


@contextmanager
def _tx(db: Any) -> Iterator[Any]:
    """A transaction under the store's ``web_throttle`` lock (the process lock on DuckDB)."""
    if hasattr(db, "transaction"):
        with db.transaction(lock="web_throttle") as con:
            yield con
    else:
        with db.lock, db.cursor() as con:
            yield con


def check(con: Any, keys: list[str], now: datetime | None = None) -> Locked | None:
    """The lock that refuses an attempt on ``keys`` now, or None (the longest if several)."""
    sectables.ensure(con)
    now = now or _now()
    worst: Locked | None = None
    for key in keys:
        row = con.execute("SELECT locked_until FROM web_throttle WHERE key = ?", [key]).fetchone()
        if row is not None and row[0] is not None and row[0] > now:
            secs = max(1, math.ceil((row[0] - now).total_seconds()))
            if worst is None or secs > worst.retry_after_s:
                worst = Locked(key, secs)
    return worst


def record_failure(db: Any, keys: list[str], now: datetime | None = None) -> list[Locked]:
    """Count one failure on each key; returns the keys this failure locked (to audit)."""
    now = now or _now()
    window = timedelta(seconds=int(settings.get("web.login_window_s")))
    base = int(settings.get("web.login_lockout_s"))
    cap = int(settings.get("web.login_lockout_max_s"))
    locked: list[Locked] = []
    with _tx(db) as con:
        sectables.ensure(con)
        for key in keys:
            row = con.execute(
                "SELECT failures, window_start, locked_until, lockouts FROM web_throttle WHERE key = ?", [key]
            ).fetchone()
            if row is None:
                failures, start, lockouts = 1, now, 0
                con.execute("INSERT INTO web_throttle (key, failures, window_start, locked_until, lockouts)"
                            " VALUES (?, ?, ?, NULL, 0)", [key, failures, start])
            else:
                failures, start, until, lockouts = int(row[0]), row[1], row[2], int(row[3])
                if now - start > window:
                    failures, start = 0, now
                if until is not None and now - until > timedelta(days=1):
                    lockouts = 0
                failures += 1
            if failures >= _limit(key):
                secs = min(cap, base * 2 ** min(lockouts, 20))
                until = now + timedelta(seconds=secs)
                con.execute("UPDATE web_throttle SET failures = 0, window_start = ?, locked_until = ?,"
                            " lockouts = ? WHERE key = ?", [now, until, lockouts + 1, key])
                locked.append(Locked(key, secs))
            elif row is not None:
                con.execute("UPDATE web_throttle SET failures = ?, window_start = ?, lockouts = ? WHERE key = ?",
                            [failures, start, lockouts, key])
    return locked


def clear(db: Any, key: str) -> bool:
    """Forget a key's failures and lift its lockout; True when it was locked."""
    now = _now()
    with _tx(db) as con:
        sectables.ensure(con)
        row = con.execute("SELECT locked_until FROM web_throttle WHERE key = ?", [key]).fetchone()
        con.execute("DELETE FROM web_throttle WHERE key = ?", [key])
    return row is not None and row[0] is not None and row[0] > now


def success(db: Any, user: str) -> None:
    """A successful login: the account's failure count starts again (its lockout history stays)."""
    with _tx(db) as con:
        sectables.ensure(con)
        con.execute("UPDATE web_throttle SET failures = 0 WHERE key = ?", keys_for(user, None))


def active_lockouts(con: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    """Keys locked now, with when the lock ends."""
    sectables.ensure(con)
    now = now or _now()
    rows = con.execute(
        "SELECT key, locked_until, lockouts FROM web_throttle WHERE locked_until IS NOT NULL"
        " AND locked_until > ? ORDER BY key", [now]
    ).fetchall()
    return [{"key": r[0], "locked_until": r[1].isoformat(timespec="seconds"),
             "retry_after_s": max(1, math.ceil((r[1] - now).total_seconds())), "lockouts": int(r[2])}
            for r in rows]
