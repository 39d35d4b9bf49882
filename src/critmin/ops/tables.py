"""Which modules define tables on :data:`critmin.ops.metadata` (for Alembic's comparison and
for tests that check the migrations create exactly what the code declares).

A package with operational tables adds its module here (one line) and a migration revision
in ``migrations/versions``.
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa

TABLE_MODULES: list[str] = [
    "critmin.web.store",
    "critmin.projects.registry",
    "critmin.disruption.store",
    "critmin.incident.tables",
    "critmin.web.sectables",
    "critmin.brief.store",
    "critmin.web.lang",
    "critmin.web.scenarios_library",
]


def all_metadata() -> sa.MetaData:
    """:data:`critmin.ops.metadata` with every table module imported."""
    from critmin.ops.engine import metadata

    for name in TABLE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a package listed before its module is committed
            if exc.name != name:
                raise
    return metadata
