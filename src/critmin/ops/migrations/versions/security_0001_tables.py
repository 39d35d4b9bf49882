"""The security controls' tables (critmin.web.sectables): login throttle and lockouts, TOTP
secrets, two-government approvals of visibility changes, dashboard notices.

Revision ID: security_0001
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "security_0001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts, txt = sa.DateTime(), sa.Text()
    op.create_table(
        "web_throttle",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", ts, nullable=False),
        sa.Column("locked_until", ts),
        sa.Column("lockouts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "web_totp",
        sa.Column("user_name", sa.String(200), primary_key=True),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("enabled_at", ts),
        sa.Column("last_step", sa.BigInteger()),
    )
    op.create_table(
        "web_approval",
        sa.Column("approval_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("from_visibility", sa.String(10), nullable=False),
        sa.Column("to_visibility", sa.String(10), nullable=False),
        sa.Column("record", txt, nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_at", ts, nullable=False),
        sa.Column("us_by", sa.String(200)),
        sa.Column("us_at", ts),
        sa.Column("jp_by", sa.String(200)),
        sa.Column("jp_at", ts),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("decided_at", ts),
    )
    op.create_index("web_approval_target", "web_approval", ["kind", "target", "status"])
    op.create_table(
        "web_notice",
        sa.Column("notice_id", sa.String(64), primary_key=True),
        sa.Column("government", sa.String(10), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("text", txt, nullable=False),
        sa.Column("link", sa.String(300)),
    )
    op.create_index("web_notice_gov", "web_notice", ["government", "created_at"])


def downgrade() -> None:
    op.drop_index("web_notice_gov", "web_notice")
    op.drop_table("web_notice")
    op.drop_index("web_approval_target", "web_approval")
    op.drop_table("web_approval")
    op.drop_table("web_totp")
    op.drop_table("web_throttle")
