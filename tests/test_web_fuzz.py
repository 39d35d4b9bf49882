"""Schemathesis against /openapi.json: no 5xx, responses conform to the schema.

Bounded: ``FUZZ_EXAMPLES`` generated requests per operation (a few minutes in all). The app
runs no job threads (``job_workers=0``), so fuzzed ``POST /api/simulations`` bodies (up to
200,000 runs) are validated, queued or refused (quota: 429) and answered, but never run.
Requests carry a joint-admin bearer token, so every operation is reachable. The same checks run
against ``critmin serve --workers 3`` over HTTP (fewer examples), and the OpenAPI document must
state the 400 and 413 answers of every API operation.
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


@pytest.fixture(scope="module")
def fuzz_app(real_db_path, tmp_path_factory):
    from critmin.web.app import create_app

    d = tmp_path_factory.mktemp("fuzz")
    db = make_web_db(real_db_path, d / "fuzz.duckdb")
    app = create_app(db.path, job_workers=0, ops_url=db.ops_url)
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
    app = create_app(db.path, ops_url=db.ops_url)
    with TestClient(app) as client:  # its own app: the lifespan closes only this one's database
        h = {"Authorization": f"Bearer {db.tokens['joint-admin']}"}
        r = client.get("/api/deposits?country=AAA", headers=h)
        assert r.status_code == 404 and "AAA" in r.text
        assert client.get("/api/deposits?country=JPN&limit=5", headers=h).status_code == 200


def test_openapi_states_400_and_413_for_every_api_operation(fuzz_app):
    from fastapi.testclient import TestClient

    with TestClient(fuzz_app) as c:
        doc = c.get("/openapi.json").json()
    missing = [f"{m.upper()} {p}: {code}" for p, ops in doc["paths"].items() if p.startswith("/api/")
               for m, op in ops.items() for code in ("400", "413") if code not in op.get("responses", {})]
    assert not missing, missing[:10]


@pytest.mark.slow
def test_api_conforms_on_several_workers(real_db_path, tmp_path):
    """Schemathesis over HTTP against a 3-worker server on the store of the run: no 5xx."""
    from hypothesis import given

    from server_support import server

    db = make_web_db(real_db_path, tmp_path / "mw.duckdb")
    failures: list[str] = []
    with server(db, workers=3, job_workers=0) as base:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        for result in schema.get_all_operations():
            op = result.ok()

            @given(case=op.as_strategy())
            @settings(max_examples=max(3, FUZZ_EXAMPLES // 5), deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case) -> None:
                response = case.call(base_url=base, headers=bearer(db.tokens["joint-admin"]), timeout=120)
                case.validate_response(response, checks=(not_a_server_error, status_code_conformance))

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure
                failures.append(f"{op.method.upper()} {op.path}: {exc}"[:2000])
    assert not failures, "\n\n".join(failures)
