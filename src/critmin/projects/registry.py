"""The project registry: versioned project records in the warehouse DuckDB.

Storage (created by :func:`ensure_schema`, never touched by the importer):

* ``project_version(project_id, version, valid_from, author, action, visibility, record, note)``:
  one row per change. ``action`` is ``create``, ``update`` or ``delete`` (a tombstone keeping
  the last record). Nothing is ever overwritten; the history of a project is its rows in
  version order.
* ``project_current``: view of the latest version of each project that is not deleted.
* ``project_meta(key, value)``: registry bookkeeping (``seeded_from``), so that a registry
  whose projects were all deleted is not re-seeded.

Every read takes a ``viewer`` (``US``, ``JP`` or ``joint``) and filters by visibility in SQL;
every write checks that the writer may see both the old and the new record. Writes are
validated by :class:`critmin.projects.models.Project`; writing an identical record is a no-op
(not a change, so no new version).
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from critmin.projects.models import VISIBLE_TO, Project, can_see, check_viewer, validate_record

log = logging.getLogger(__name__)

SEED_AUTHOR = "seed:seed_projects.json"

DDL = [
    """CREATE TABLE IF NOT EXISTS project_version (
  project_id VARCHAR NOT NULL,
  version INTEGER NOT NULL,
  valid_from TIMESTAMP NOT NULL,
  author VARCHAR NOT NULL,
  action VARCHAR NOT NULL,
  visibility VARCHAR NOT NULL,
  record JSON NOT NULL,
  note VARCHAR,
  PRIMARY KEY (project_id, version)
)""",
    """CREATE TABLE IF NOT EXISTS project_meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS project_selection (
  selection_id INTEGER PRIMARY KEY,
  created_at TIMESTAMP NOT NULL,
  author VARCHAR NOT NULL,
  viewer VARCHAR NOT NULL,
  params JSON NOT NULL,
  result JSON NOT NULL
)""",
    """CREATE OR REPLACE VIEW project_current AS
SELECT v.* FROM project_version v
JOIN (SELECT project_id, max(version) AS version FROM project_version GROUP BY project_id) m
  USING (project_id, version)
WHERE v.action <> 'delete'""",
]


class RegistryError(RuntimeError):
    """A registry operation that cannot be done (unknown id, not visible, not initialised)."""


def default_seed_path() -> Path:
    return Path(str(resources.files("critmin.projects").joinpath("data", "seed_projects.json")))


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    ).fetchall()
    return {r[0] for r in rows}


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the registry tables if missing (a read-only database must already have them)."""
    have = _tables(con)
    if {"project_version", "project_meta", "project_selection", "project_current"} <= have:
        return
    try:
        for stmt in DDL:
            con.execute(stmt)
    except duckdb.Error as exc:
        raise RegistryError(
            "the project registry is not initialised in this database and it cannot be created "
            f"here ({exc}); open the database writable once, e.g. `critmin projects list`"
        ) from None


def load_seed(path: Path | None = None) -> list[Project]:
    """Read and validate the seed file (a JSON list of project records)."""
    path = path or default_seed_path()
    if not path.is_file():
        raise RegistryError(f"seed file {path} not found; expected a JSON list of project objects")
    from critmin.projects.io import read_records

    return read_records(path)


@dataclass
class Registry:
    """Versioned project records over a DuckDB connection (usually ``Warehouse.con``)."""

    con: duckdb.DuckDBPyConnection

    # -- setup -------------------------------------------------------------------------
    @classmethod
    def open(
        cls, con: duckdb.DuckDBPyConnection, seed_path: Path | None = None, seed: bool = True
    ) -> Registry:
        """Create the tables if needed and seed from ``seed_projects.json`` on first use."""
        ensure_schema(con)
        reg = cls(con)
        if seed and reg._meta("seeded_from") is None:
            projects = load_seed(seed_path)
            reg.put_many(projects, author=SEED_AUTHOR, viewer="joint", note="initial seed")
            reg._set_meta("seeded_from", str(seed_path or default_seed_path()))
            log.info("seeded project registry with %d projects", len(projects))
        return reg

    def _meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM project_meta WHERE key = ?", [key]).fetchone()
        return None if row is None else row[0]

    def _set_meta(self, key: str, value: str) -> None:
        self.con.execute(
            "INSERT INTO project_meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    # -- reads ---------------------------------------------------------------------------
    @staticmethod
    def _vis(viewer: str) -> list[str]:
        return sorted(VISIBLE_TO[check_viewer(viewer)])

    def list(
        self,
        viewer: str,
        commodity: str | None = None,
        country: str | None = None,
        status: str | None = None,
    ) -> list[Project]:
        """Current projects visible to ``viewer``, ordered by id."""
        sql = "SELECT record FROM project_current WHERE list_contains(?, visibility)"
        args: list[Any] = [self._vis(viewer)]
        for col, val in (
            ("commodity_id", commodity),
            ("host_country_iso3", country),
            ("status", status),
        ):
            if val is not None:
                sql += f" AND json_extract_string(record, '$.{col}') = ?"
                args.append(val)
        rows = self.con.execute(sql + " ORDER BY project_id", args).fetchall()
        return [Project.model_validate(json.loads(r[0])) for r in rows]

    def get(self, project_id: str, viewer: str) -> Project:
        """The current record; an unknown id and an invisible one give the same error."""
        row = self.con.execute(
            "SELECT record FROM project_current WHERE project_id = ? AND list_contains(?, visibility)",
            [project_id, self._vis(viewer)],
        ).fetchone()
        if row is None:
            raise RegistryError(f"no project with id {project_id!r} visible to viewer {viewer}")
        return Project.model_validate(json.loads(row[0]))

    def history(self, project_id: str, viewer: str) -> builtins.list[dict[str, Any]]:
        """All versions the viewer may see (a version is visible if its own record is)."""
        rows = self.con.execute(
            "SELECT version, valid_from, author, action, visibility, record, note FROM project_version "
            "WHERE project_id = ? AND list_contains(?, visibility) ORDER BY version",
            [project_id, self._vis(viewer)],
        ).fetchall()
        if not rows:
            raise RegistryError(f"no project with id {project_id!r} visible to viewer {viewer}")
        return [
            {
                "version": r[0],
                "valid_from": r[1].isoformat(),
                "author": r[2],
                "action": r[3],
                "visibility": r[4],
                "record": json.loads(r[5]),
                "note": r[6],
            }
            for r in rows
        ]

    def _latest(self, project_id: str) -> tuple[int, str, str, dict[str, Any]] | None:
        row = self.con.execute(
            "SELECT version, action, visibility, record FROM project_version WHERE project_id = ? "
            "ORDER BY version DESC LIMIT 1",
            [project_id],
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2], json.loads(row[3]))

    # -- writes --------------------------------------------------------------------------
    def _plan(self, project: Project, viewer: str) -> tuple[str, int] | None:
        """(action, version) for writing ``project``, or None when nothing changes."""
        if not can_see(viewer, str(project.visibility)):
            raise RegistryError(
                f"project {project.id!r}: viewer {viewer} may not write a record with "
                f"visibility {project.visibility}"
            )
        latest = self._latest(project.id)
        if latest is None:
            return ("create", 1)
        version, action, vis, record = latest
        if not can_see(viewer, vis):
            # same message as an unknown id would get elsewhere: do not reveal existence
            raise RegistryError(
                f"project {project.id!r}: an existing project with this id is not writable by viewer {viewer}"
            )
        if action != "delete" and record == project.record():
            return None
        return ("create" if action == "delete" else "update", version + 1)

    def put_many(
        self,
        projects: Iterable[Project],
        author: str,
        viewer: str,
        note: str | None = None,
        now: dt.datetime | None = None,
    ) -> dict[str, builtins.list[str]]:
        """Write several records in one transaction (all or nothing).

        Returns ``{"created": [...], "updated": [...], "unchanged": [...]}`` (project ids).
        """
        check_viewer(viewer)
        if not author:
            raise ValueError("author: expected a non-empty name")
        projects = [p if isinstance(p, Project) else validate_record(p) for p in projects]
        ids = [p.id for p in projects]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise RegistryError(f"project ids repeated in one write: {dup}")
        now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        out: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
        self.con.execute("BEGIN TRANSACTION")
        try:
            for p in projects:
                plan = self._plan(p, viewer)
                if plan is None:
                    out["unchanged"].append(p.id)
                    continue
                action, version = plan
                self.con.execute(
                    "INSERT INTO project_version VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [p.id, version, now, author, action, p.visibility, json.dumps(p.record()), note],
                )
                out["created" if action == "create" else "updated"].append(p.id)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return out

    def put(self, project: Project | dict[str, Any], author: str, viewer: str, note: str | None = None) -> str:
        """Write one record; returns ``created``, ``updated`` or ``unchanged``."""
        p = project if isinstance(project, Project) else validate_record(project)
        res = self.put_many([p], author=author, viewer=viewer, note=note)
        return next(k for k, v in res.items() if v)

    def delete(self, project_id: str, author: str, viewer: str, note: str | None = None) -> int:
        """Retire a project (a tombstone version); returns the new version number."""
        current = self.get(project_id, viewer)
        latest = self._latest(project_id)
        assert latest is not None
        version = latest[0] + 1
        self.con.execute(
            "INSERT INTO project_version VALUES (?, ?, ?, ?, 'delete', ?, ?, ?)",
            [
                project_id,
                version,
                dt.datetime.now(dt.UTC).replace(tzinfo=None),
                author,
                current.visibility,
                json.dumps(current.record()),
                note,
            ],
        )
        return version

    # -- saved selections (read by the clock) ------------------------------------------------
    def save_selection(self, result: dict[str, Any], params: dict[str, Any], author: str, viewer: str) -> int:
        check_viewer(viewer)
        row = self.con.execute("SELECT coalesce(max(selection_id), 0) + 1 FROM project_selection").fetchone()
        sid = int(row[0]) if row else 1
        self.con.execute(
            "INSERT INTO project_selection VALUES (?, ?, ?, ?, ?, ?)",
            [sid, dt.datetime.now(dt.UTC).replace(tzinfo=None), author, viewer, json.dumps(params), json.dumps(result)],
        )
        return sid

    def latest_selection(self, viewer: str) -> dict[str, Any] | None:
        """The newest saved selection made by a viewer whose projects this viewer may all see."""
        allowed = [v for v in VISIBLE_TO if VISIBLE_TO[v] <= VISIBLE_TO[check_viewer(viewer)]]
        row = self.con.execute(
            "SELECT selection_id, created_at, author, viewer, params, result FROM project_selection "
            "WHERE list_contains(?, viewer) ORDER BY selection_id DESC LIMIT 1",
            [allowed],
        ).fetchone()
        if row is None:
            return None
        return {
            "selection_id": row[0],
            "created_at": row[1].isoformat(),
            "author": row[2],
            "viewer": row[3],
            "params": json.loads(row[4]),
            "result": json.loads(row[5]),
        }
