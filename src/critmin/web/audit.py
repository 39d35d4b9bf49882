"""The append-only audit log: who, when, what, outcome.

Every write, every login attempt (failed ones too) and every scenario or stockpile run adds
one row to ``web_audit``. The module offers no update or delete. Each row carries
``hash = sha256(prev_hash | seq | at | actor | role | action | target | outcome | detail |
client)``, chaining it to the row before, so that an edit or deletion made behind the
application's back (with a DuckDB shell) is detected by :func:`verify_chain` -- the property
that lets both governments trust the log (the construction of Schneier & Kelsey 1999,
"Secure audit logs to support computer forensics", without the key evolution).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime
from typing import Any

from critmin.ops import Store

GENESIS = "0" * 64
COLUMNS = ("seq", "at", "actor", "role", "action", "target", "outcome", "detail", "client")
_SELECT = ", ".join(f'"{c}"' for c in COLUMNS)


def _row_hash(prev_hash: str, values: tuple[Any, ...]) -> str:
    text = "|".join([prev_hash] + ["" if v is None else str(v) for v in values])
    return hashlib.sha256(text.encode()).hexdigest()


def record(
    con: Store,
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

    The caller holds the database write lock, so that the read of the last hash and the insert
    are not interleaved with another append.
    """
    last = con.execute("SELECT seq, hash FROM web_audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq = 1 if last is None else int(last[0]) + 1
    prev = GENESIS if last is None else last[1]
    at = datetime.now(UTC).replace(tzinfo=None)
    det = None if detail is None else json.dumps(detail, sort_keys=True, default=str)
    values = (seq, at.isoformat(), actor, role, action, target, outcome, det, client)
    h = _row_hash(prev, values)
    con.execute(
        "INSERT INTO web_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, at, actor, role, action, target, outcome, det, client, prev, h],
    )
    return seq


def entries(
    con: Store,
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
        sql += " AND starts_with(action, ?)"
        args.append(action)
    sql += " ORDER BY seq DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = con.execute(sql, args).fetchall()
    out = []
    for r in rows:
        d = dict(zip(COLUMNS, r, strict=True))
        d["at"] = d["at"].isoformat()
        out.append(d)
    return out


def verify_chain(con: Store) -> tuple[bool, str]:
    """Recompute the hash chain; (ok, message naming the first broken row)."""
    rows = con.execute(
        "SELECT " + _SELECT + ", prev_hash, hash FROM web_audit ORDER BY seq"
    ).fetchall()
    prev = GENESIS
    expected_seq = 1
    for r in rows:
        seq = r[0]
        if seq != expected_seq:
            return False, f"audit row seq={expected_seq} is missing (next present: {seq})"
        values = (r[0], r[1].isoformat(), *r[2:9])
        if r[9] != prev or _row_hash(prev, values) != r[10]:
            return False, f"audit row seq={seq} was altered (hash does not match)"
        prev = r[10]
        expected_seq += 1
    return True, f"{len(rows)} audit rows, chain intact"


def export(con: Store, fmt: str) -> str:
    """The whole log, oldest first, as CSV or JSON text (with the chain hashes)."""
    rows = con.execute(
        "SELECT " + _SELECT + ", prev_hash, hash FROM web_audit ORDER BY seq"
    ).fetchall()
    cols = (*COLUMNS, "prev_hash", "hash")
    dicts = []
    for r in rows:
        d = dict(zip(cols, r, strict=True))
        d["at"] = d["at"].isoformat()
        dicts.append(d)
    if fmt == "json":
        return json.dumps(dicts, indent=1)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(dicts)
        return buf.getvalue()
    raise ValueError(f"audit export format {fmt!r}: expected 'csv' or 'json'")
