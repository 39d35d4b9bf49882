"""Generated brief files in the operational store (``brief_file``), content-addressed.

A dashboard brief job may run in any server or worker process; its files are kept in the
store under their sha256 (the job's result names them), so any process can serve the download
and the audit log's sha256 identifies the very bytes served. Migration:
``critmin/ops/migrations/versions/brief_0001_tables.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import sqlalchemy as sa

from critmin.ops import metadata

brief_file = sa.Table(
    "brief_file", metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("media_type", sa.String(100), nullable=False),
    sa.Column("created_at", sa.TIMESTAMP(), nullable=False),
    sa.Column("content", sa.LargeBinary(), nullable=False),
)

MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def put_file(store: Any, name: str, content: bytes) -> str:
    """Store ``content`` (idempotent) and return its sha256."""
    digest = hashlib.sha256(content).hexdigest()
    media = MEDIA_TYPES.get(name[name.rfind("."):], "application/octet-stream")
    with store.transaction():
        if store.execute("SELECT 1 FROM brief_file WHERE sha256 = ?", [digest]).fetchone() is None:
            store.execute("INSERT INTO brief_file VALUES (?, ?, ?, ?, ?)",
                          [digest, name, media, dt.datetime.now(dt.UTC).replace(tzinfo=None), content])
    return digest


def get_file(store: Any, digest: str) -> tuple[str, str, bytes] | None:
    """``(name, media_type, content)`` of a stored file, or None."""
    row = store.execute("SELECT name, media_type, content FROM brief_file WHERE sha256 = ?", [digest]).fetchone()
    return None if row is None else (str(row[0]), str(row[1]), bytes(row[2]))
