"""The route-generated authorisation matrix (tests/test_web_authz.py) again, against a real
``critmin serve --workers 3`` over HTTP, on the store of the run (SQLite, or PostgreSQL with
CRITMIN_TEST_DATABASE_URL): every rule holds whichever worker process answers."""

from __future__ import annotations

import httpx
import pytest

import test_web_authz as authz
from server_support import server
from web_support import web_db, web_db_template  # noqa: F401

pytestmark = pytest.mark.slow


def test_authorisation_matrix_on_several_workers(web_db):  # noqa: F811
    with server(web_db, workers=3, job_workers=0, **authz.QUOTA_ENV) as base, httpx.Client(base_url=base, timeout=120) as c:
        authz.test_authorisation_matrix((c, web_db))
