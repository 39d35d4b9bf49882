"""The incident workflow's tables (critmin.incident.tables): versions, documents, decisions,
approvals, recorded stockpile inventory, approver flags. All append-only.

Revision ID: incident_0001
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "incident_0001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts, txt = sa.DateTime(), sa.Text()
    op.create_table(
        "incident_version",
        sa.Column("incident_id", sa.String(40), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("valid_from", ts, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("visibility", sa.String(10), nullable=False),
        sa.Column("record", txt, nullable=False),
        sa.Column("note", txt),
    )
    op.create_table(
        "incident_doc",
        sa.Column("doc_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("visibility", sa.String(10), nullable=False),
        sa.Column("data_version", txt),
        sa.Column("seed", sa.BigInteger()),
        sa.Column("doc", txt, nullable=False),
    )
    op.create_index("ix_incident_doc_incident_id", "incident_doc", ["incident_id"])
    op.create_table(
        "incident_decision",
        sa.Column("decision_id", sa.String(40), primary_key=True),
        sa.Column("incident_id", sa.String(40), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("proposer", sa.String(200), nullable=False),
        sa.Column("proposer_government", sa.String(20), nullable=False),
        sa.Column("option_id", sa.String(200), nullable=False),
        sa.Column("params", txt, nullable=False),
        sa.Column("reasons", txt, nullable=False),
        sa.Column("supersedes", sa.String(40)),
        sa.Column("visibility", sa.String(10), nullable=False),
    )
    op.create_index("ix_incident_decision_incident_id", "incident_decision", ["incident_id"])
    op.create_table(
        "incident_approval",
        sa.Column("decision_id", sa.String(40), primary_key=True),
        sa.Column("approver", sa.String(200), primary_key=True),
        sa.Column("government", sa.String(20), nullable=False),
        sa.Column("approved_at", ts, nullable=False),
        sa.Column("comment", txt),
    )
    op.create_table(
        "incident_inventory",
        sa.Column("inventory_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("partner", sa.String(3), nullable=False),
        sa.Column("commodity_id", sa.String(64), nullable=False),
        sa.Column("quantity_t", sa.Float(), nullable=False),
        sa.Column("as_of", sa.String(10), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("note", txt),
        sa.Column("visibility", sa.String(10), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", ts, nullable=False),
    )
    op.create_table(
        "incident_approver",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_name", sa.String(200), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("granted_by", sa.String(200), nullable=False),
        sa.Column("at", ts, nullable=False),
    )
    op.create_index("ix_incident_approver_user_name", "incident_approver", ["user_name"])


def downgrade() -> None:
    for t in ("incident_approver", "incident_inventory", "incident_approval", "incident_decision", "incident_doc",
              "incident_version"):
        op.drop_table(t)
