"""Shared fixtures for the web tests (imported by tests/test_web_*.py and tests/browser).

``web_db`` is a private writable copy of the real imported warehouse with one user per role
(password ``PASSWORD``) and a bearer token each, three projects of each visibility from the
seed registry, and finished jobs of each kind and visibility (for the access tests).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

PASSWORD = "test-password-123"
USERS = {"us-analyst": "ann-us", "jp-analyst": "jun-jp", "joint-admin": "ada-admin", "viewer": "vic-viewer"}
# seed projects (src/critmin/projects/data/seed_projects.json) of each visibility
PROJECTS = {"US": "P-USAR-STILLWATER", "JP": "P-NYR-HOBART", "joint": "P-MPM-MTNPASS"}
JOB_KINDS = ("simulation", "stockpile", "selection")


@dataclass
class WebDB:
    path: Path
    tokens: dict[str, str] = field(default_factory=dict)  # role -> bearer token
    jobs: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, visibility) -> job id


def make_web_db(src: Path, dst: Path) -> WebDB:
    from critmin.projects.registry import Registry
    from critmin.web import auth
    from critmin.web.store import ensure_tables

    shutil.copyfile(src, dst)
    con = duckdb.connect(str(dst))
    ensure_tables(con)
    Registry.open(con)
    out = WebDB(dst)
    for role, name in USERS.items():
        auth.add_user(con, name, role, PASSWORD)
        out.tokens[role] = auth.create_token(con, name)
    now = datetime.now(UTC).replace(tzinfo=None)
    for kind in JOB_KINDS:
        for vis in ("US", "JP", "joint"):
            jid = f"{kind[:3]}-{vis.lower()}0001"
            result = {"sim_run_id": f"run-{vis.lower()}-0001", "note": f"fixture {vis}"}
            con.execute(
                "INSERT INTO web_job VALUES (?, ?, 'fixture', ?, 'done', 1, 'done', ?, 1, ?, NULL, ?, ?)",
                [jid, kind, vis, json.dumps({"monte_carlo": {"runs": 1}}), json.dumps(result), now, now],
            )
            out.jobs[(kind, vis)] = jid
    con.execute("CHECKPOINT")
    con.close()
    return out


@pytest.fixture(scope="session")
def web_db_template(real_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> WebDB:
    return make_web_db(real_db_path, tmp_path_factory.mktemp("web") / "template.duckdb")


@pytest.fixture()
def web_db(web_db_template: WebDB, tmp_path: Path) -> WebDB:
    dst = tmp_path / "web.duckdb"
    shutil.copyfile(web_db_template.path, dst)
    return WebDB(dst, dict(web_db_template.tokens), dict(web_db_template.jobs))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client, name: str, password: str = PASSWORD):
    """Log in through the form (with its CSRF cookie); returns the response."""
    import re

    r = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token},
                       follow_redirects=False)


def csrf_of(client) -> str:
    import re

    r = client.get("/data")
    return re.search(r'name="csrf-token" content="([^"]*)"', r.text).group(1)
