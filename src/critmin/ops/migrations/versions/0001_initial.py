"""The first operational schema: web users, tokens, sessions, audit, jobs; the project
registry; simulation runs (all moved out of the DuckDB warehouse).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts, txt = sa.DateTime(), sa.Text()
    op.create_table(
        "web_user",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("password_hash", txt, nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "web_token",
        sa.Column("token_id", sa.String(64), primary_key=True),
        sa.Column("user_name", sa.String(200), nullable=False, index=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("revoked_at", ts),
    )
    op.create_table(
        "web_session",
        sa.Column("session_sha256", sa.String(64), primary_key=True),
        sa.Column("user_name", sa.String(200), nullable=False, index=True),
        sa.Column("csrf_token", sa.String(200), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("expires_at", ts, nullable=False),
        sa.Column("revoked_at", ts),
    )
    op.create_table(
        "web_audit",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("at", ts, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(40)),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("target", txt),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("detail", txt),
        sa.Column("client", sa.String(200)),
        sa.Column("prev_hash", sa.String(128), nullable=False),
        sa.Column("hash", sa.String(128), nullable=False),
    )
    op.create_table(
        "web_job",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("role", sa.String(40), nullable=False, server_default=""),
        sa.Column("visibility", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False, server_default="0"),
        sa.Column("message", txt),
        sa.Column("spec", txt, nullable=False),
        sa.Column("seed", sa.BigInteger()),
        sa.Column("result", txt),
        sa.Column("error", txt),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("finished_at", ts),
        sa.Column("started_at", ts),
        sa.Column("worker", sa.String(200)),
        sa.Column("lease_until", ts),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("size", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("payload", txt),
    )
    op.create_index("web_job_queue", "web_job", ["status", "created_at"])
    op.create_index("web_job_owner", "web_job", ["owner", "status"])
    op.create_table(
        "project_version",
        sa.Column("project_id", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("valid_from", ts, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("visibility", sa.String(20), nullable=False),
        sa.Column("record", txt, nullable=False),
        sa.Column("note", txt),
    )
    op.create_table(
        "project_meta",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("value", txt),
    )
    op.create_table(
        "project_selection",
        sa.Column("selection_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("viewer", sa.String(20), nullable=False),
        sa.Column("params", txt, nullable=False),
        sa.Column("result", txt, nullable=False),
    )
    op.create_table(
        "sim_run",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("name", txt),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("seed", sa.BigInteger()),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("horizon_months", sa.Integer(), nullable=False),
        sa.Column("spec", txt, nullable=False),
        sa.Column("market_meta", txt, nullable=False),
        sa.Column("critmin_version", sa.String(40)),
    )
    op.create_table(
        "sim_result",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("commodity_id", sa.String(64), primary_key=True),
        sa.Column("consumer_iso3", sa.String(8), primary_key=True),
        *[sa.Column(c, sa.Float()) for c in (
            "mean_shortfall_t", "mean_shortfall_pct", "var95_pct", "cvar95_pct",
            "p_shortfall_gt_10pct", "mean_price_change_pct", "shortfall_usd")],
        sa.Column("proxy_trade_shares", sa.Boolean()),
        sa.Column("detail", txt),
    )
    op.create_table(
        "sim_sample",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("npz", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    for t in ("sim_sample", "sim_result", "sim_run", "project_selection", "project_meta",
              "project_version", "web_job", "web_audit", "web_session", "web_token", "web_user"):
        op.drop_table(t)
