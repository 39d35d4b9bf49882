"""Two-government approval of visibility changes to joint records, and dashboard notices.

A joint record (visible to both governments) can be narrowed to one government's record only
with one approval from *each* government: ``US`` (a us-analyst) and ``JP`` (a jp-analyst). The
request itself counts as its author's government's approval; a joint-admin (government
``joint``) may request but approves for neither. Until both approvals are in, nothing changes:
the record stays joint and the other government's users see the request in their dashboard
notices (``GET /api/notices``, the banner on every page, the Approvals page). Either
government may reject it. When the second approval arrives, the proposed record is written
with the author ``approval:<id>``; if the record was changed meanwhile, the request is marked
``stale`` instead and nothing is written (the requester asks again on the current record).

Every step is audited (``approval.request``, ``approval.approve``, ``approval.reject``,
``approval.apply``) and notified to both governments.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from critmin.web import sectables

GOVERNMENTS = ("US", "JP")


class ApprovalError(ValueError):
    """A request that cannot be approved, rejected or found (the caller answers 404/409/422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def notify(con: Any, government: str, text: str, link: str | None = None) -> None:
    sectables.ensure(con)
    con.execute("INSERT INTO web_notice (notice_id, government, created_at, text, link) VALUES (?, ?, ?, ?, ?)",
                [secrets.token_hex(8), government, _now(), text, link])


def notices(con: Any, government: str, limit: int = 20) -> list[dict[str, Any]]:
    """Newest notices for a government's users (``joint``: the admin, sees both)."""
    sectables.ensure(con)
    govs = list(GOVERNMENTS) if government == "joint" else [government]
    marks = ", ".join("?" for _ in govs)
    rows = con.execute(
        f"SELECT notice_id, government, created_at, text, link FROM web_notice WHERE government IN ({marks})"
        f" ORDER BY created_at DESC LIMIT {int(limit)}", govs).fetchall()
    return [{"notice_id": r[0], "government": r[1], "created_at": r[2].isoformat(), "text": r[3], "link": r[4]}
            for r in rows]


_COLS = ("approval_id", "kind", "target", "from_visibility", "to_visibility", "record", "requested_by",
         "requested_at", "us_by", "us_at", "jp_by", "jp_at", "status", "decided_at")


def _row(r: tuple[Any, ...]) -> dict[str, Any]:
    d = dict(zip(_COLS, r, strict=True))
    d["record"] = json.loads(d["record"])
    for k in ("requested_at", "us_at", "jp_at", "decided_at"):
        d[k] = d[k].isoformat() if d[k] is not None else None
    return d


def get(con: Any, approval_id: str) -> dict[str, Any] | None:
    sectables.ensure(con)
    r = con.execute(f"SELECT {', '.join(_COLS)} FROM web_approval WHERE approval_id = ?", [approval_id]).fetchone()
    return None if r is None else _row(r)


def pending_for(con: Any, kind: str, target: str) -> dict[str, Any] | None:
    sectables.ensure(con)
    r = con.execute(f"SELECT {', '.join(_COLS)} FROM web_approval WHERE kind = ? AND target = ? AND status = 'pending'",
                    [kind, target]).fetchone()
    return None if r is None else _row(r)


def listing(con: Any, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Requests, newest first (every request concerns a joint record: all users may see them)."""
    sectables.ensure(con)
    sql = f"SELECT {', '.join(_COLS)} FROM web_approval"
    args: list[Any] = []
    if status:
        sql += " WHERE status = ?"
        args.append(status)
    rows = con.execute(sql + f" ORDER BY requested_at DESC, approval_id LIMIT {int(limit)}", args).fetchall()
    return [_row(r) for r in rows]


def request_change(con: Any, *, kind: str, target: str, from_visibility: str, to_visibility: str,
                   record: dict[str, Any], base_version: int | None, author: str, government: str) -> dict[str, Any]:
    """File a request (one per record at a time); the author's government approves by asking."""
    sectables.ensure(con)
    existing = pending_for(con, kind, target)
    if existing is not None:
        raise ApprovalError(409, f"{kind} {target!r} already has a pending visibility change "
                                 f"({existing['approval_id']}); approve or reject that one first")
    aid = "apr-" + secrets.token_hex(6)
    now = _now()
    us_by, us_at, jp_by, jp_at = (author, now, None, None) if government == "US" else \
        (None, None, author, now) if government == "JP" else (None, None, None, None)
    stored = {"record": record, "base_version": base_version}
    con.execute(
        f"INSERT INTO web_approval ({', '.join(_COLS)}) VALUES ({', '.join('?' for _ in _COLS)})",
        [aid, kind, target, from_visibility, to_visibility, json.dumps(stored, sort_keys=True), author, now,
         us_by, us_at, jp_by, jp_at, "pending", None])
    waiting = [g for g, by in (("US", us_by), ("JP", jp_by)) if by is None]
    text = (f"{author} asks to change the visibility of joint {kind} {target} from {from_visibility} to "
            f"{to_visibility}; it needs the approval of {' and '.join(waiting)}.")
    for g in GOVERNMENTS:
        notify(con, g, text, "/approvals")
    out = get(con, aid)
    assert out is not None
    return out


def decide(con: Any, approval_id: str, *, approve: bool, author: str, government: str) -> dict[str, Any]:
    """Record one government's approval or a rejection; returns the request (``status``
    ``approved`` when both approvals are in: the caller then applies it)."""
    req = get(con, approval_id)
    if req is None:
        raise ApprovalError(404, f"no visibility change request {approval_id!r}")
    if req["status"] != "pending":
        raise ApprovalError(409, f"request {approval_id} is already {req['status']}")
    if government not in GOVERNMENTS:
        raise ApprovalError(403, "only a US or a JP analyst approves for a government; a joint-admin approves for neither")
    now = _now()
    if not approve:
        con.execute("UPDATE web_approval SET status = 'rejected', decided_at = ? WHERE approval_id = ? AND status = 'pending'",
                    [now, approval_id])
        for g in GOVERNMENTS:
            notify(con, g, f"{author} ({government}) rejected the visibility change of {req['kind']} {req['target']} "
                           f"to {req['to_visibility']}; it stays {req['from_visibility']}.", "/approvals")
        out = get(con, approval_id)
        assert out is not None
        return out
    col = "us" if government == "US" else "jp"
    if req[f"{col}_by"] is not None:
        raise ApprovalError(409, f"{government} has already approved request {approval_id} ({req[f'{col}_by']})")
    con.execute(f"UPDATE web_approval SET {col}_by = ?, {col}_at = ? WHERE approval_id = ? AND status = 'pending'",
                [author, now, approval_id])
    req = get(con, approval_id)
    assert req is not None
    if req["us_by"] and req["jp_by"]:
        con.execute("UPDATE web_approval SET status = 'approved', decided_at = ? WHERE approval_id = ?", [now, approval_id])
        req["status"] = "approved"
    else:
        other = "JP" if government == "US" else "US"
        notify(con, other, f"{author} ({government}) approved the visibility change of {req['kind']} {req['target']} "
                           f"to {req['to_visibility']}; it waits for {other}.", "/approvals")
    return req


def mark(con: Any, approval_id: str, status: str, text: str) -> None:
    """Final state after applying (``applied``) or finding the record changed (``stale``)."""
    con.execute("UPDATE web_approval SET status = ?, decided_at = ? WHERE approval_id = ?", [status, _now(), approval_id])
    for g in GOVERNMENTS:
        notify(con, g, text, "/approvals")
