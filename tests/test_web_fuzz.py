"""Schemathesis against /openapi.json: no 5xx, responses conform to the schema.

Bounded: ``FUZZ_EXAMPLES`` generated requests per operation (a few minutes in all). The app
runs no job threads (``job_workers=0``), so fuzzed ``POST /api/simulations`` bodies (up to
200,000 runs) are validated, queued or refused (quota: 429) and answered, but never run.
Requests carry a joint-admin bearer token, so every operation is reachable. The same checks run
against ``critmin serve --workers 3`` over HTTP (fewer examples), and the OpenAPI document must
state the 400 and 413 answers of every API operation.

Every call waits up to ``FUZZ_TIMEOUT_S`` for its answer. Schemathesis' own default (10 s) is
shorter than a cold computation on a loaded machine (the first ``GET /api/assess`` computes the
assessment: about 5 s of CPU, 20-40 s of wall time at a load of 7-9 on 2 cores), so the first
call timed out, the computation finished in its worker thread and filled the cache, the replay
was answered at once, and hypothesis reported a "Flaky" failure instead of a server fault.
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
#: seconds a fuzzed call waits for its answer (a genuine hang still fails)
FUZZ_TIMEOUT_S = 120


def call(case, token: str):
    """Send a generated request with the bearer token; wait up to FUZZ_TIMEOUT_S."""
    return case.call(headers=bearer(token), timeout=FUZZ_TIMEOUT_S)


def failure_text(op, exc: BaseException) -> str:
    """The operation and the error, with the errors inside a group (hypothesis' "Flaky" names
    only their number)."""
    subs = getattr(exc, "exceptions", ())
    inner = "".join(f"\n  {type(e).__name__}: {e}" for e in subs)
    return f"{op.method.upper()} {op.path}: {type(exc).__name__}: {exc}{inner}"[:2000]


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
            case.validate_response(call(case, fuzz_app.state.token), checks=checks)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure
            failures.append(failure_text(op, exc))
    assert n_ops >= 20
    assert not failures, "\n\n".join(failures)


def test_a_cold_computation_slower_than_the_client_default_is_not_flaky(real_db_path, tmp_path,
                                                                        monkeypatch):
    """Found by the fuzzer ("Flaky" on GET /api/assess): the first call computes the assessment,
    which on a loaded machine took longer than schemathesis' default read timeout. Here the
    default is 1 s and the computation 2 s: the fuzzed calls (through ``call``) get answers that
    conform, the assessment is computed once, and hypothesis reports nothing (without the
    timeout of ``call`` this fails as "Flaky", a ReadTimeout on the first call only)."""
    import threading
    import time

    import pandas as pd
    from hypothesis import given

    import critmin.web.api_data as api_data
    from critmin.web.app import create_app

    monkeypatch.setattr("schemathesis.transport.requests.DEFAULT_RESPONSE_TIMEOUT", 1.0)
    computed = []
    lock = threading.Lock()

    def slow_assess(wh):
        with lock:
            computed.append(1)
        time.sleep(2.0)
        return pd.DataFrame({"rank": [1], "commodity": ["gallium"], "joint_score": [0.5]})

    monkeypatch.setattr(api_data, "assess", slow_assess)
    db = make_web_db(real_db_path, tmp_path / "cold.duckdb")
    app = create_app(db.path, job_workers=0, ops_url=db.ops_url)
    try:
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        op = next(r.ok() for r in schema.get_all_operations()
                  if r.ok().method.upper() == "GET" and r.ok().path == "/api/assess")
        statuses: list[int] = []

        @given(case=op.as_strategy())
        @settings(max_examples=5, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            response = call(case, db.tokens["joint-admin"])
            statuses.append(response.status_code)
            case.validate_response(response, checks=(not_a_server_error, status_code_conformance,
                                                     response_schema_conformance))

        run()
    finally:
        app.state.ctx.close()
    assert computed == [1]  # once: the slow first call was waited for, the rest read the cache
    assert 200 in statuses and set(statuses) <= {200, 404}  # 404: an unknown commodity name


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
                response = case.call(base_url=base, headers=bearer(db.tokens["joint-admin"]),
                                     timeout=FUZZ_TIMEOUT_S)
                case.validate_response(response, checks=(not_a_server_error, status_code_conformance))

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure
                failures.append(failure_text(op, exc))
    assert not failures, "\n\n".join(failures)
