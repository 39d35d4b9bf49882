"""The project registry: versioned project records in the operational store (:mod:`critmin.ops`).

Storage (tables on :data:`critmin.ops.metadata`, created by the ops migrations; the warehouse
importer never sees them):

* ``project_version(project_id, version, valid_from, author, action, visibility, record, note)``:
  one row per change. ``action`` is ``create``, ``update`` or ``delete`` (a tombstone keeping
  the last record). Nothing is ever overwritten; the history of a project is its rows in
  version order. The primary key ``(project_id, version)`` is the optimistic lock: two writers
  that both read version *n* both try to insert *n + 1*; the second gets :class:`StaleVersion`
  (HTTP 409), never a lost update. A writer can also state the version it edited
  (``expected_version``): a newer current version is :class:`StaleVersion` too.
* the current record of a project is its newest version that is not a delete.
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
from typing import TYPE_CHECKING, Any, Union

import sqlalchemy as sa

from critmin.ops import StaleVersion, Store, metadata, open_store
from critmin.projects.models import VISIBLE_TO, Project, can_see, check_viewer, validate_record

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

log = logging.getLogger(__name__)

SEED_AUTHOR = "seed:seed_projects.json"

project_version = sa.Table(
    "project_version", metadata,
    sa.Column("project_id", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("valid_from", sa.DateTime(), nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("visibility", sa.String(20), nullable=False),
    sa.Column("record", sa.Text(), nullable=False),
    sa.Column("note", sa.Text()),
)
project_meta = sa.Table(
    "project_meta", metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text()),
)
project_selection = sa.Table(
    "project_selection", metadata,
    sa.Column("selection_id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("viewer", sa.String(20), nullable=False),
    sa.Column("params", sa.Text(), nullable=False),
    sa.Column("result", sa.Text(), nullable=False),
)

#: the current version of each project that is not deleted (SQL both SQLite and PostgreSQL accept)
CURRENT = ("(SELECT v.* FROM project_version v JOIN (SELECT project_id, max(version) AS version"
           " FROM project_version GROUP BY project_id) m ON v.project_id = m.project_id AND v.version = m.version"
           " WHERE v.action <> 'delete') cur")
RegistryStore = Union[Store, "Warehouse"]


class RegistryError(RuntimeError):
    """A registry operation that cannot be done (unknown id, not visible, not initialised)."""


def default_seed_path() -> Path:
    return Path(str(resources.files("critmin.projects").joinpath("data", "seed_projects.json")))


def registry_store(con: RegistryStore) -> Store:
    """The store itself, or the operational store that belongs to a warehouse."""
    if isinstance(con, Store):
        return con
    return open_store(warehouse=con.path)


def _marks(values: builtins.list[str]) -> str:
    return ", ".join("?" for _ in values)


def load_seed(path: Path | None = None) -> list[Project]:
    """Read and validate the seed file (a JSON list of project records)."""
    path = path or default_seed_path()
    if not path.is_file():
        raise RegistryError(f"seed file {path} not found; expected a JSON list of project objects")
    from critmin.projects.io import read_records

    return read_records(path)


@dataclass
class Registry:
    """Versioned project records in the operational store."""

    con: Store

    # -- setup -------------------------------------------------------------------------
    @classmethod
    def open(cls, con: RegistryStore, seed_path: Path | None = None, seed: bool = True) -> Registry:
        """The registry of a store (or of a warehouse's store), seeded from ``seed_projects.json``
        on first use (once per store, also when several processes start at once)."""
        reg = cls(registry_store(con))
        if seed and reg._meta("seeded_from") is None:
            with reg.con.transaction(lock="project_seed"):
                if reg._meta("seeded_from") is None:
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
        vis = self._vis(viewer)
        rows = self.con.execute(
            f"SELECT record FROM {CURRENT} WHERE visibility IN ({_marks(vis)}) ORDER BY project_id", vis
        ).fetchall()
        wanted = {k: v for k, v in (("commodity_id", commodity), ("host_country_iso3", country),
                                    ("status", status)) if v is not None}
        records = [json.loads(r[0]) for r in rows]
        return [Project.model_validate(rec) for rec in records
                if all(rec.get(k) == v for k, v in wanted.items())]

    def get(self, project_id: str, viewer: str) -> Project:
        """The current record; an unknown id and an invisible one give the same error."""
        vis = self._vis(viewer)
        row = self.con.execute(
            f"SELECT record FROM {CURRENT} WHERE project_id = ? AND visibility IN ({_marks(vis)})",
            [project_id, *vis],
        ).fetchone()
        if row is None:
            raise RegistryError(f"no project with id {project_id!r} visible to viewer {viewer}")
        return Project.model_validate(json.loads(row[0]))

    def history(self, project_id: str, viewer: str) -> builtins.list[dict[str, Any]]:
        """All versions the viewer may see (a version is visible if its own record is)."""
        vis = self._vis(viewer)
        rows = self.con.execute(
            "SELECT version, valid_from, author, action, visibility, record, note FROM project_version "
            f"WHERE project_id = ? AND visibility IN ({_marks(vis)}) ORDER BY version",
            [project_id, *vis],
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
    def current_version(self, project_id: str, viewer: str) -> int:
        """The version number of the newest record (the one an editor must name to update it)."""
        self.get(project_id, viewer)
        latest = self._latest(project_id)
        assert latest is not None
        return latest[0]

    def _plan(self, project: Project, viewer: str, expected: int | None = None) -> tuple[str, int] | None:
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
        if expected is not None and can_see(viewer, vis) and expected != version:
            raise StaleVersion(f"project {project.id!r}", expected, version)
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
        expected_versions: dict[str, int] | None = None,
    ) -> dict[str, builtins.list[str]]:
        """Write several records in one transaction (all or nothing).

        Returns ``{"created": [...], "updated": [...], "unchanged": [...]}`` (project ids).
        ``expected_versions`` (project id -> the version the writer edited): a project whose
        current version differs is :class:`StaleVersion`, and so is a concurrent writer that
        stored the same next version first.
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
        expected_versions = expected_versions or {}
        try:
            with self.con.transaction():
                for p in projects:
                    plan = self._plan(p, viewer, expected_versions.get(p.id))
                    if plan is None:
                        out["unchanged"].append(p.id)
                        continue
                    action, version = plan
                    self.con.execute(
                        "INSERT INTO project_version VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [p.id, version, now, author, action, str(p.visibility), json.dumps(p.record()), note],
                    )
                    out["created" if action == "create" else "updated"].append(p.id)
        except sa.exc.IntegrityError:
            raise StaleVersion("project " + ", ".join(repr(p.id) for p in projects), None, None) from None
        return out

    def put(self, project: Project | dict[str, Any], author: str, viewer: str, note: str | None = None,
            expected_version: int | None = None) -> str:
        """Write one record; returns ``created``, ``updated`` or ``unchanged``."""
        p = project if isinstance(project, Project) else validate_record(project)
        res = self.put_many([p], author=author, viewer=viewer, note=note,
                            expected_versions=None if expected_version is None else {p.id: expected_version})
        return next(k for k, v in res.items() if v)

    def delete(self, project_id: str, author: str, viewer: str, note: str | None = None) -> int:
        """Retire a project (a tombstone version); returns the new version number."""
        current = self.get(project_id, viewer)
        latest = self._latest(project_id)
        assert latest is not None
        version = latest[0] + 1
        try:
            self.con.execute(
                "INSERT INTO project_version VALUES (?, ?, ?, ?, 'delete', ?, ?, ?)",
                [
                    project_id,
                    version,
                    dt.datetime.now(dt.UTC).replace(tzinfo=None),
                    author,
                    str(current.visibility),
                    json.dumps(current.record()),
                    note,
                ],
            )
        except sa.exc.IntegrityError:
            raise StaleVersion(f"project {project_id!r}", latest[0], None) from None
        return version

    # -- saved selections (read by the clock) ------------------------------------------------
    def save_selection(self, result: dict[str, Any], params: dict[str, Any], author: str, viewer: str) -> int:
        check_viewer(viewer)
        with self.con.transaction(lock="project_selection"):
            row = self.con.execute("SELECT coalesce(max(selection_id), 0) + 1 FROM project_selection").fetchone()
            sid = int(row[0]) if row else 1
            self.con.execute(
                "INSERT INTO project_selection VALUES (?, ?, ?, ?, ?, ?)",
                [sid, dt.datetime.now(dt.UTC).replace(tzinfo=None), author, viewer, json.dumps(params),
                 json.dumps(result)],
            )
        return sid

    def latest_selection(self, viewer: str) -> dict[str, Any] | None:
        """The newest saved selection made by a viewer whose projects this viewer may all see."""
        allowed = [v for v in VISIBLE_TO if VISIBLE_TO[v] <= VISIBLE_TO[check_viewer(viewer)]]
        row = self.con.execute(
            "SELECT selection_id, created_at, author, viewer, params, result FROM project_selection "
            f"WHERE viewer IN ({_marks(allowed)}) ORDER BY selection_id DESC LIMIT 1",
            allowed,
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
