"""Append-only storage of incidents (SQLAlchemy Core over the operational store's engine).

Every read takes ``sees`` (the visibilities the caller may read: ``Principal.role.sees``, or a
viewer's ``critmin.projects.models.VISIBLE_TO``) and filters in SQL; an incident the caller may
not see raises :class:`IncidentNotFound` with the same message as an unknown id, so the answer
reveals nothing. Nothing is ever updated or deleted: a change is a new ``incident_version``
row, a new decision may supersede an old one, an approval is a new row.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from critmin.incident.tables import (
    incident_approval,
    incident_approver,
    incident_decision,
    incident_doc,
    incident_inventory,
    incident_version,
)

STATUSES = ("open", "assessed", "options", "decided", "closed")
VISIBILITIES = ("US", "JP", "joint")
#: the governments whose approval a decision needs, by the incident's visibility
REQUIRED_APPROVALS = {"US": ("US",), "JP": ("JP",), "joint": ("US", "JP")}


class IncidentNotFound(LookupError):
    """Unknown or not visible (one message for both)."""


class IncidentError(ValueError):
    """A change the workflow refuses (wrong status, approval rules); the message says why."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _sees(sees: Iterable[str]) -> list[str]:
    s = sorted(set(sees))
    bad = [v for v in s if v not in VISIBILITIES]
    if bad:
        raise ValueError(f"sees: unknown visibility {bad}; expected some of {VISIBILITIES}")
    return s


class IncidentStore:
    """Incidents over one engine (``critmin.ops.get_engine(...)``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _read(self) -> sa.Connection:
        """A connection for reads: on SQLite its transaction is ``BEGIN DEFERRED`` (a snapshot,
        no write lock), so reading incidents never waits behind a writer (the engine's default
        ``BEGIN IMMEDIATE`` is for writes, critmin.ops.engine); PostgreSQL ignores the option."""
        return self.engine.connect().execution_options(critmin_begin="DEFERRED")

    # -- incidents -----------------------------------------------------------------------
    def create(self, record: dict[str, Any], visibility: str, author: str, note: str | None = None) -> str:
        if visibility not in VISIBILITIES:
            raise IncidentError(f"visibility: expected one of {', '.join(VISIBILITIES)}, got {visibility!r}")
        iid = f"INC-{_now():%Y%m%d}-{secrets.token_hex(3)}"
        rec = {**record, "people": sorted({author, *record.get("people", [])})}
        with self.engine.begin() as c:
            c.execute(sa.insert(incident_version).values(
                incident_id=iid, version=1, valid_from=_now(), author=author, action="open", status="open",
                visibility=visibility, record=json.dumps(rec, default=str), note=note))
        return iid

    def _latest(self, c: sa.Connection, iid: str, sees: list[str]) -> sa.Row[Any]:
        v = incident_version
        m = sa.select(sa.func.max(v.c.version)).where(v.c.incident_id == iid).scalar_subquery()
        row = c.execute(sa.select(v).where(v.c.incident_id == iid, v.c.version == m,
                                           v.c.visibility.in_(sees))).first()
        if row is None:
            raise IncidentNotFound(f"no incident {iid!r}")
        return row

    @staticmethod
    def _as_dict(row: Mapping[str, Any] | sa.RowMapping) -> dict[str, Any]:
        return {"incident_id": row["incident_id"], "version": row["version"],
                "updated_at": row["valid_from"].isoformat(), "updated_by": row["author"],
                "last_action": row["action"], "status": row["status"], "visibility": row["visibility"],
                **json.loads(row["record"])}

    def get(self, iid: str, sees: Iterable[str]) -> dict[str, Any]:
        with self._read() as c:
            return self._as_dict(self._latest(c, iid, _sees(sees))._mapping)

    @staticmethod
    def _list_query(sees: Iterable[str], status: Iterable[str] | None) -> sa.Select[Any]:
        v = incident_version
        m = sa.select(v.c.incident_id, sa.func.max(v.c.version).label("mv")).group_by(v.c.incident_id).subquery()
        q = (sa.select(v).join(m, sa.and_(v.c.incident_id == m.c.incident_id, v.c.version == m.c.mv))
             .where(v.c.visibility.in_(_sees(sees))).order_by(v.c.valid_from.desc(), v.c.incident_id))
        return q if status is None else q.where(v.c.status.in_(builtins.list(status)))

    def list(self, sees: Iterable[str], status: Iterable[str] | None = None) -> builtins.list[dict[str, Any]]:
        with self._read() as c:
            return [self._as_dict(r._mapping) for r in c.execute(self._list_query(sees, status))]

    async def alist(self, store: Any, sees: Iterable[str],
                    status: Iterable[str] | None = None) -> builtins.list[dict[str, Any]]:
        """:meth:`list`, awaited on the event loop through ``store`` (the operational store of
        this engine: :func:`critmin.ops.aio.select`)."""
        from critmin.ops import aio

        return [self._as_dict(r) for r in await aio.select(store, self._list_query(sees, status))]

    def history(self, iid: str, sees: Iterable[str]) -> builtins.list[dict[str, Any]]:
        v = incident_version
        with self._read() as c:
            self._latest(c, iid, _sees(sees))
            rows = c.execute(sa.select(v.c.version, v.c.valid_from, v.c.author, v.c.action, v.c.status,
                                       v.c.visibility, v.c.note)
                             .where(v.c.incident_id == iid, v.c.visibility.in_(_sees(sees)))
                             .order_by(v.c.version)).all()
        return [{"version": r.version, "at": r.valid_from.isoformat(), "author": r.author, "action": r.action,
                 "status": r.status, "visibility": r.visibility, "note": r.note} for r in rows]

    def change(self, iid: str, sees: Iterable[str], author: str, action: str, *, status: str | None = None,
               update: dict[str, Any] | None = None, note: str | None = None) -> dict[str, Any]:
        """A new version: the current record with ``update`` merged, ``status`` if given, the
        author added to the people who worked on it. Refused on a closed incident."""
        if status is not None and status not in STATUSES:
            raise IncidentError(f"status: expected one of {STATUSES}, got {status!r}")
        with self.engine.begin() as c:
            cur = self._latest(c, iid, _sees(sees))
            if cur.status == "closed":
                raise IncidentError(f"incident {iid} is closed; open a new incident")
            rec = json.loads(cur.record)
            rec.update(update or {})
            rec["people"] = sorted({author, *rec.get("people", [])})
            c.execute(sa.insert(incident_version).values(
                incident_id=iid, version=cur.version + 1, valid_from=_now(), author=author, action=action,
                status=status or cur.status, visibility=cur.visibility, record=json.dumps(rec, default=str),
                note=note))
        return self.get(iid, sees)

    # -- documents (assessment, options) -----------------------------------------------------
    def put_doc(self, iid: str, sees: Iterable[str], kind: str, doc: dict[str, Any], author: str,
                data_version: str | None = None, seed: int | None = None) -> int:
        with self.engine.begin() as c:
            cur = self._latest(c, iid, _sees(sees))
            res = c.execute(sa.insert(incident_doc).values(
                incident_id=iid, kind=kind, created_at=_now(), author=author, visibility=cur.visibility,
                data_version=data_version, seed=seed, doc=json.dumps(doc, default=str)))
            pk = res.inserted_primary_key
            return int(pk[0]) if pk else 0

    def latest_doc(self, iid: str, sees: Iterable[str], kind: str) -> dict[str, Any] | None:
        d = incident_doc
        with self._read() as c:
            self._latest(c, iid, _sees(sees))
            row = c.execute(sa.select(d).where(d.c.incident_id == iid, d.c.kind == kind,
                                               d.c.visibility.in_(_sees(sees)))
                            .order_by(d.c.doc_id.desc()).limit(1)).first()
        if row is None:
            return None
        return {"doc_id": row.doc_id, "created_at": row.created_at.isoformat(), "author": row.author,
                "data_version": row.data_version, "seed": row.seed, **json.loads(row.doc)}

    # -- decisions -----------------------------------------------------------------------------
    def propose(self, iid: str, sees: Iterable[str], *, option_id: str, params: dict[str, Any], reasons: str,
                proposer: str, proposer_government: str, supersedes: str | None = None) -> str:
        if not reasons.strip():
            raise IncidentError("reasons: a decision must state its reasons")
        with self.engine.begin() as c:
            cur = self._latest(c, iid, _sees(sees))
            if cur.status == "closed":
                raise IncidentError(f"incident {iid} is closed")
            if supersedes is not None:
                old = c.execute(sa.select(incident_decision.c.decision_id).where(
                    incident_decision.c.decision_id == supersedes, incident_decision.c.incident_id == iid)).first()
                if old is None:
                    raise IncidentError(f"supersedes: no decision {supersedes!r} in incident {iid}")
                taken = c.execute(sa.select(incident_decision.c.decision_id).where(
                    incident_decision.c.supersedes == supersedes)).first()
                if taken is not None:
                    raise IncidentError(f"supersedes: decision {supersedes} is already superseded by {taken[0]}")
            did = f"DEC-{secrets.token_hex(4)}"
            c.execute(sa.insert(incident_decision).values(
                decision_id=did, incident_id=iid, created_at=_now(), proposer=proposer,
                proposer_government=proposer_government, option_id=option_id, params=json.dumps(params),
                reasons=reasons, supersedes=supersedes, visibility=cur.visibility))
        return did

    def approve(self, iid: str, sees: Iterable[str], decision_id: str, *, approver: str, government: str,
                comment: str | None = None) -> dict[str, Any]:
        """Record one approval. Refused: an approver who proposed the decision, a second approval
        by the same person, an approver whose government the incident does not need or whose
        government has already approved, a superseded decision."""
        with self.engine.begin() as c:
            cur = self._latest(c, iid, _sees(sees))
            need = REQUIRED_APPROVALS[cur.visibility]
            dec = c.execute(sa.select(incident_decision).where(
                incident_decision.c.decision_id == decision_id, incident_decision.c.incident_id == iid)).first()
            if dec is None:
                raise IncidentNotFound(f"no decision {decision_id!r} in incident {iid}")
            if c.execute(sa.select(incident_decision.c.decision_id).where(
                    incident_decision.c.supersedes == decision_id)).first() is not None:
                raise IncidentError(f"decision {decision_id} is superseded")
            if approver == dec.proposer:
                raise IncidentError(f"{approver} proposed decision {decision_id}; another person must approve it")
            if government not in need:
                raise IncidentError(f"a {cur.visibility} incident needs approval by {' and '.join(need)}; "
                                    f"{approver}'s government is {government}")
            got = c.execute(sa.select(incident_approval).where(incident_approval.c.decision_id == decision_id)).all()
            if any(a.approver == approver for a in got):
                raise IncidentError(f"{approver} has already approved decision {decision_id}")
            if any(a.government == government for a in got):
                raise IncidentError(f"decision {decision_id} already has an approval from {government}; a "
                                    f"{cur.visibility} decision needs one approver from each of {', '.join(need)}")
            c.execute(sa.insert(incident_approval).values(decision_id=decision_id, approver=approver,
                                                          government=government, approved_at=_now(), comment=comment))
        return next(d for d in self.decisions(iid, sees) if d["decision_id"] == decision_id)

    def decisions(self, iid: str, sees: Iterable[str]) -> builtins.list[dict[str, Any]]:
        """Decisions oldest first, each with its approvals and derived ``status``: ``approved``
        (every required government approved), ``proposed``, or ``superseded``."""
        d, a = incident_decision, incident_approval
        with self._read() as c:
            cur = self._latest(c, iid, _sees(sees))
            rows = c.execute(sa.select(d).where(d.c.incident_id == iid, d.c.visibility.in_(_sees(sees)))
                             .order_by(d.c.created_at, d.c.decision_id)).all()
            ids = [r.decision_id for r in rows]
            apps = c.execute(sa.select(a).where(a.c.decision_id.in_(ids)).order_by(a.c.approved_at)).all() if ids else []
        need = REQUIRED_APPROVALS[cur.visibility]
        superseded = {r.supersedes: r.decision_id for r in rows if r.supersedes}
        out = []
        for r in rows:
            mine = [{"approver": x.approver, "government": x.government, "at": x.approved_at.isoformat(),
                     "comment": x.comment} for x in apps if x.decision_id == r.decision_id]
            govs = {x["government"] for x in mine}
            status = ("superseded" if r.decision_id in superseded else
                      "approved" if all(g in govs for g in need) else "proposed")
            out.append({"decision_id": r.decision_id, "created_at": r.created_at.isoformat(), "proposer": r.proposer,
                        "proposer_government": r.proposer_government, "option_id": r.option_id,
                        "params": json.loads(r.params), "reasons": r.reasons, "supersedes": r.supersedes,
                        "superseded_by": superseded.get(r.decision_id), "approvals": mine,
                        "approvals_needed": [g for g in need if g not in govs], "status": status})
        return out

    # -- inventory ----------------------------------------------------------------------------
    def record_inventory(self, *, partner: str, commodity: str, quantity_t: float, as_of: str, source: str,
                         visibility: str, recorded_by: str, note: str | None = None) -> int:
        from critmin.data.partners import partners

        if partner not in partners():
            raise IncidentError(f"partner: {partner!r} is not a partner; expected one of {', '.join(partners())} "
                                "(setting risk.consumers)")
        if not quantity_t >= 0:
            raise IncidentError(f"quantity_t: expected >= 0 t, got {quantity_t}")
        if visibility not in VISIBILITIES:
            raise IncidentError(f"visibility: expected one of {VISIBILITIES}, got {visibility!r}")
        dt.date.fromisoformat(as_of)
        with self.engine.begin() as c:
            res = c.execute(sa.insert(incident_inventory).values(
                partner=partner, commodity_id=commodity, quantity_t=float(quantity_t), as_of=as_of, source=source,
                note=note, visibility=visibility, recorded_by=recorded_by, recorded_at=_now()))
            pk = res.inserted_primary_key
            return int(pk[0]) if pk else 0

    def inventory(self, sees: Iterable[str], commodities: Iterable[str] | None = None
                  ) -> dict[tuple[str, str], dict[str, Any]]:
        """The newest visible record per (partner, commodity)."""
        t = incident_inventory
        q = sa.select(t).where(t.c.visibility.in_(_sees(sees))).order_by(t.c.inventory_id)
        if commodities is not None:
            q = q.where(t.c.commodity_id.in_(list(commodities)))
        out: dict[tuple[str, str], dict[str, Any]] = {}
        with self._read() as c:
            for r in c.execute(q):
                out[(r.partner, r.commodity_id)] = {
                    "inventory_id": r.inventory_id, "quantity_t": r.quantity_t, "as_of": r.as_of, "source": r.source,
                    "note": r.note, "visibility": r.visibility, "recorded_by": r.recorded_by,
                    "recorded_at": r.recorded_at.isoformat()}
        return out

    # -- approver flag -----------------------------------------------------------------------
    def set_approver(self, user: str, granted: bool, by: str) -> None:
        with self.engine.begin() as c:
            c.execute(sa.insert(incident_approver).values(user_name=user, action="grant" if granted else "revoke",
                                                          granted_by=by, at=_now()))

    def is_approver(self, user: str) -> bool:
        t = incident_approver
        with self._read() as c:
            row = c.execute(sa.select(t.c.action).where(t.c.user_name == user).order_by(t.c.seq.desc()).limit(1)).first()
        return row is not None and row[0] == "grant"
