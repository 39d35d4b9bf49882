"""Schemathesis against /openapi.json: no 5xx, responses conform to the schema.

Bounded: ``FUZZ_EXAMPLES`` generated requests per operation (a few minutes in all). The
background job pool is replaced by one that records and drops submissions, so fuzzed
``POST /api/simulations`` bodies (up to 200,000 runs) are validated and answered but not run.
Requests carry a joint-admin bearer token, so every operation is reachable.
"""

from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from web_support import bearer, make_web_db

FUZZ_EXAMPLES = 25


class _DropPool:
    submitted = 0

    def submit(self, *a, **k):
        _DropPool.submitted += 1

    def shutdown(self, **k):
        pass


@pytest.fixture(scope="module")
def fuzz_app(real_db_path, tmp_path_factory):
    from critmin.web.app import create_app

    d = tmp_path_factory.mktemp("fuzz")
    db = make_web_db(real_db_path, d / "fuzz.duckdb")
    app = create_app(db.path)
    app.state.ctx.jobs._pool = _DropPool()
    app.state.token = db.tokens["joint-admin"]
    yield app
    app.state.ctx.close()
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.slow
def test_api_conforms_to_its_schema(fuzz_app):
    from hypothesis import given

    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    checks = (not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance)
    failures: list[str] = []
    n_ops = 0
    for result in schema.get_all_operations():
        op = result.ok()
        n_ops += 1

        @given(case=op.as_strategy())
        @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            response = case.call(headers=bearer(fuzz_app.state.token))
            case.validate_response(response, checks=checks)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure
            failures.append(f"{op.method.upper()} {op.path}: {exc}"[:2000])
    assert n_ops >= 20
    assert not failures, "\n\n".join(failures)


def test_unknown_country_code_is_a_404_not_a_server_error(real_db_path, tmp_path):
    """Found by the fuzzer: a well-formed but unknown ISO3 code ('AAA') on /api/deposits."""
    from fastapi.testclient import TestClient

    from critmin.web.app import create_app

    db = make_web_db(real_db_path, tmp_path / "country.duckdb")
    app = create_app(db.path)
    with TestClient(app) as client:  # its own app: the lifespan closes only this one's database
        h = {"Authorization": f"Bearer {db.tokens['joint-admin']}"}
        r = client.get("/api/deposits?country=AAA", headers=h)
        assert r.status_code == 404 and "AAA" in r.text
        assert client.get("/api/deposits?country=JPN&limit=5", headers=h).status_code == 200
