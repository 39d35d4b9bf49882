"""The users' scenario library (issue 19 section 5): scenarios saved from the builder, in the
operational store, each with a visibility like a project's (``US``, ``JP`` or ``joint``).

``scenario_saved(scenario_id, version, name, author, visibility, spec, created_at, updated_at,
updated_by)``: one row per saved scenario, ``spec`` the scenario document (the fields of the TOML
format, :mod:`critmin.disruption.scenario`) as JSON, already validated by the same
``parse_scenario`` that ``critmin simulate`` and a run use. ``version`` is the optimistic lock:
an update names the version it edited and is written only if that is still the current one
(``UPDATE ... WHERE version = ?``), so of two writers that edited the same version the second
gets :class:`~critmin.ops.StaleVersion` (HTTP 409), never a lost update.

Ids are made by the server and namespaced by government like project ids
(:func:`critmin.web.access.id_namespace`): ``US-sc-...``/``JP-sc-...`` for a record created by
that government's analyst (or a joint-admin's record first visible to that government alone),
``JT-sc-...`` for a joint-admin's joint record. A record in a government's namespace is visible
to that government or to both, never to the other government alone.

The functions here are storage only; who may see or write what is decided by
:mod:`critmin.web.api_scenarios_library`.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from critmin.ops import StaleVersion, metadata

scenario_saved = sa.Table(
    "scenario_saved", metadata,
    sa.Column("scenario_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("visibility", sa.String(8), nullable=False),
    sa.Column("spec", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
)

_COLS = ("scenario_id", "version", "name", "author", "visibility", "spec", "created_at", "updated_at", "updated_by")
PREFIXES = {"US": "US-sc-", "JP": "JP-sc-"}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def new_id(namespace: str) -> str:
    """A fresh id in a government's namespace (``US``/``JP``; anything else: the joint ``JT-sc-``)."""
    return PREFIXES.get(namespace, "JT-sc-") + secrets.token_hex(6)


def _row(r: tuple[Any, ...], with_spec: bool = True) -> dict[str, Any]:
    d = dict(zip(_COLS, r, strict=True))
    spec = json.loads(d.pop("spec"))
    if with_spec:
        d["spec"] = spec
    d["events"] = len(spec.get("events") or [])
    d["horizon_months"] = spec.get("horizon_months")
    for k in ("created_at", "updated_at"):
        d[k] = d[k].isoformat() if isinstance(d[k], datetime) else str(d[k])
    return d


def listing(store: Any, visibilities: set[str] | frozenset[str]) -> list[dict[str, Any]]:
    """The saved scenarios with one of ``visibilities``, newest change first (no documents)."""
    vis = sorted(visibilities)
    if not vis:
        return []
    marks = ", ".join("?" for _ in vis)
    rows = store.execute(f"SELECT {', '.join(_COLS)} FROM scenario_saved WHERE visibility IN ({marks})"
                         " ORDER BY updated_at DESC, scenario_id", vis).fetchall()
    return [_row(r, with_spec=False) for r in rows]


def get(store: Any, scenario_id: str) -> dict[str, Any] | None:
    """One record with its document, or None (the caller checks its visibility)."""
    r = store.execute(f"SELECT {', '.join(_COLS)} FROM scenario_saved WHERE scenario_id = ?",
                      [scenario_id]).fetchone()
    return None if r is None else _row(r)


def create(store: Any, *, scenario_id: str, name: str, author: str, visibility: str,
           spec: dict[str, Any]) -> dict[str, Any]:
    """Store a new record at version 1; returns it."""
    now = _now()
    store.execute(f"INSERT INTO scenario_saved ({', '.join(_COLS)}) VALUES ({', '.join('?' for _ in _COLS)})",
                  [scenario_id, 1, name, author, visibility, json.dumps(spec, sort_keys=True), now, now, author])
    out = get(store, scenario_id)
    assert out is not None
    return out


def update(store: Any, scenario_id: str, *, expected_version: int, name: str, visibility: str,
           spec: dict[str, Any], by: str) -> dict[str, Any]:
    """Write a new version over ``expected_version``; :class:`StaleVersion` when it is not the
    current one any more (the record changed, or was deleted, since the writer read it)."""
    n = store.execute(
        "UPDATE scenario_saved SET version = ?, name = ?, visibility = ?, spec = ?, updated_at = ?, updated_by = ?"
        " WHERE scenario_id = ? AND version = ?",
        [expected_version + 1, name, visibility, json.dumps(spec, sort_keys=True), _now(), by, scenario_id,
         expected_version]).rowcount
    if n != 1:
        cur = get(store, scenario_id)
        raise StaleVersion(f"scenario {scenario_id!r}", expected_version, None if cur is None else cur["version"])
    out = get(store, scenario_id)
    assert out is not None
    return out


def delete(store: Any, scenario_id: str, expected_version: int) -> None:
    """Remove a record if it is still at ``expected_version`` (else :class:`StaleVersion`)."""
    n = store.execute("DELETE FROM scenario_saved WHERE scenario_id = ? AND version = ?",
                      [scenario_id, expected_version]).rowcount
    if n != 1:
        cur = get(store, scenario_id)
        raise StaleVersion(f"scenario {scenario_id!r}", expected_version, None if cur is None else cur["version"])
