"""The incident workflow's operational tables (SQLAlchemy Core, on :data:`critmin.ops.metadata`).

All of them are append-only: the code below this package only ever inserts (``store.py``).

* ``incident_version``: one row per change of an incident (open, assess, options, decide,
  close, ...): the whole record as JSON, its status and visibility; the current state of an
  incident is its newest version.
* ``incident_doc``: the assessment and option documents (JSON), each with the data version
  (``Warehouse.fingerprint()``) and Monte Carlo seed it was made with.
* ``incident_decision``: a decision (option chosen, parameters, reasons, proposer); a new
  decision may name the one it ``supersedes``: decisions are never edited.
* ``incident_approval``: one row per approver of a decision, with the approver's government.
* ``incident_inventory``: recorded stockpile inventory per partner and commodity (by hand, or
  copied from an adopted stockpile plan), visibility-scoped; the newest row counts.
* ``incident_approver``: the per-user approver flag (grants and revocations; the newest counts).

The migration that creates them is ``critmin/ops/migrations/versions/incident_0001_tables.py``.
"""

from __future__ import annotations

import sqlalchemy as sa

from critmin.ops import metadata

_ts = sa.TIMESTAMP()  # DateTime would re-parse the datetimes the ops engine already converts (SQLite)
_txt = sa.Text()

incident_version = sa.Table(
    "incident_version", metadata,
    sa.Column("incident_id", sa.String(40), primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("valid_from", _ts, nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("visibility", sa.String(10), nullable=False),
    sa.Column("record", _txt, nullable=False),
    sa.Column("note", _txt),
)

incident_doc = sa.Table(
    "incident_doc", metadata,
    sa.Column("doc_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.String(40), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("visibility", sa.String(10), nullable=False),
    sa.Column("data_version", _txt),
    sa.Column("seed", sa.BigInteger()),
    sa.Column("doc", _txt, nullable=False),
)

incident_decision = sa.Table(
    "incident_decision", metadata,
    sa.Column("decision_id", sa.String(40), primary_key=True),
    sa.Column("incident_id", sa.String(40), nullable=False, index=True),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("proposer", sa.String(200), nullable=False),
    sa.Column("proposer_government", sa.String(20), nullable=False),
    sa.Column("option_id", sa.String(200), nullable=False),
    sa.Column("params", _txt, nullable=False),
    sa.Column("reasons", _txt, nullable=False),
    sa.Column("supersedes", sa.String(40)),
    sa.Column("visibility", sa.String(10), nullable=False),
)

incident_approval = sa.Table(
    "incident_approval", metadata,
    sa.Column("decision_id", sa.String(40), primary_key=True),
    sa.Column("approver", sa.String(200), primary_key=True),
    sa.Column("government", sa.String(20), nullable=False),
    sa.Column("approved_at", _ts, nullable=False),
    sa.Column("comment", _txt),
)

incident_inventory = sa.Table(
    "incident_inventory", metadata,
    sa.Column("inventory_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("partner", sa.String(3), nullable=False),
    sa.Column("commodity_id", sa.String(64), nullable=False),
    sa.Column("quantity_t", sa.Float(), nullable=False),
    sa.Column("as_of", sa.String(10), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("note", _txt),
    sa.Column("visibility", sa.String(10), nullable=False),
    sa.Column("recorded_by", sa.String(200), nullable=False),
    sa.Column("recorded_at", _ts, nullable=False),
)

incident_approver = sa.Table(
    "incident_approver", metadata,
    sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("user_name", sa.String(200), nullable=False, index=True),
    sa.Column("action", sa.String(10), nullable=False),
    sa.Column("granted_by", sa.String(200), nullable=False),
    sa.Column("at", _ts, nullable=False),
)

TABLES = (incident_version, incident_doc, incident_decision, incident_approval, incident_inventory,
          incident_approver)
