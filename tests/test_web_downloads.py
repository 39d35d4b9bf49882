"""Downloads (issue 19 section 4): ``?download=csv|xlsx`` on a GET API route is that route's own
answer as a file -- the same rows in the same order, typed cells in Excel with a sources sheet,
and only what the viewer may read (web/downloads.py)."""

from __future__ import annotations

import csv
import io
import math

import pytest
from fastapi.testclient import TestClient

from critmin.web import downloads
from web_support import PROJECTS, bearer, web_db, web_db_template  # noqa: F401


@pytest.fixture()
def app(web_db):  # noqa: F811
    from critmin.web.app import create_app

    return create_app(web_db.path), web_db


def _client(app, role: str | None) -> TestClient:
    a, db = app
    c = TestClient(a)
    if role:
        c.headers.update(bearer(db.tokens[role]))
    return c


def _csv(content: bytes) -> list[dict[str, str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the file as UTF-8
    return list(csv.DictReader(io.StringIO(text[1:])))


def _same(cell: object, value: object) -> bool:
    """A downloaded cell (CSV text or an Excel value) is the API's value."""
    if value is None:
        return cell in ("", None)
    if isinstance(value, bool):
        return cell in (value, "TRUE" if value else "FALSE")
    if isinstance(value, (int, float)):
        got = float(cell) if isinstance(cell, str) else cell
        return isinstance(got, (int, float)) and math.isclose(got, value, rel_tol=1e-12, abs_tol=0)
    if isinstance(value, list):
        return cell == "; ".join(str(v) for v in value)
    return cell == value


@pytest.mark.parametrize("url", ["/api/production/gallium?year=2024", "/api/assess",
                                 "/api/data/status?table=datasets"])
def test_csv_is_the_apis_rows(app, url):
    c = _client(app, "viewer")
    api = c.get(url.split("?table=")[0] if "table=" in url else url).json()
    columns, rows = downloads.table_of(api, url.split("table=")[1] if "table=" in url else None)
    r = c.get(url + ("&" if "?" in url else "?") + "download=csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    got = _csv(r.content)
    assert len(got) == len(rows) > 0
    assert list(got[0]) == columns
    for g, want in zip(got, rows, strict=True):
        for col in columns:
            assert _same(g[col], want.get(col)), (col, g[col], want.get(col))


def test_xlsx_has_typed_cells_and_a_sources_sheet(app):
    import openpyxl

    c = _client(app, "viewer")
    api = c.get("/api/production/gallium?year=2024").json()["rows"]
    r = c.get("/api/production/gallium?year=2024&download=xlsx")
    assert r.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    data = list(book["data"].iter_rows(values_only=True))
    header, body = list(data[0]), data[1:]
    assert len(body) == len(api)
    for row, want in zip(body, api, strict=True):
        cells = dict(zip(header, row, strict=True))
        for col, v in want.items():
            assert _same(cells[col], v), (col, cells[col], v)
        if want["quantity"] is not None:
            assert isinstance(cells["quantity"], (int, float))  # a number, not text
    src = [row for row in book["sources"].iter_rows(values_only=True)]
    assert src[0][0] == "request" and src[0][1].startswith("/api/production/gallium")
    listed = {row[0] for row in src if isinstance(row[0], (int, float))}
    assert listed == {r["dataset_id"] for r in api}
    with_vintage = [row for row in src if isinstance(row[0], (int, float))]
    assert all(row[2] for row in with_vintage)  # each cited dataset has its vintage


def test_a_download_shows_only_what_the_viewer_may_read(app):
    us = _client(app, "us-analyst")
    ids = [p["id"] for p in us.get("/api/projects").json()["projects"]]
    got = [r["id"] for r in _csv(us.get("/api/projects?download=csv").content)]
    assert got == ids
    assert PROJECTS["US"] in got and PROJECTS["joint"] in got and PROJECTS["JP"] not in got
    r = us.get(f"/api/projects/{PROJECTS['JP']}?download=xlsx")
    assert r.status_code == 404 and "json" in r.headers["content-type"]  # the route's own answer
    anon = _client(app, None)
    r = anon.get("/api/projects?download=csv")
    assert r.status_code == 401 and not r.headers["content-type"].startswith("text/csv")


def test_errors_pass_through(app):
    c = _client(app, "viewer")
    r = c.get("/api/production/unobtainium?download=csv")
    assert r.status_code == 404 and "unobtainium" in r.json()["detail"]
    r = c.get("/api/production/gallium?download=pdf")
    assert r.status_code == 422
    r = c.get("/api/data/status?download=csv&table=nonsense")
    assert r.status_code == 422 and "sources" in r.json()["detail"]


def test_text_that_would_run_as_a_formula_is_neutralised():
    import openpyxl

    rows = [{"name": "=HYPERLINK(\"http://x\")", "n": -3.5, "flag": True, "list": ["a", "b"]}]
    text = downloads.to_csv(["name", "n", "flag", "list"], rows).decode("utf-8")
    assert "'=HYPERLINK" in text and ",-3.5," in text and ",TRUE," in text and "a; b" in text
    book = openpyxl.load_workbook(io.BytesIO(downloads.to_xlsx(["name", "n"], rows, [], {"request": "x"})))
    name, n = next(book["data"].iter_rows(min_row=2, values_only=True))
    assert name == rows[0]["name"] and n == -3.5  # text stays text (never a formula), numbers numbers


def test_table_of_shapes():
    assert downloads.table_of([{"a": 1}, {"b": 2}]) == (["a", "b"], [{"a": 1}, {"b": 2}])
    assert downloads.table_of({"columns": ["y", "x"], "rows": [{"x": 1, "y": 2}]})[0] == ["y", "x"]
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [10.5, -3.0]}, "properties": {"n": "m"}}]}
    assert downloads.table_of(fc)[1] == [{"n": "m", "longitude": 10.5, "latitude": -3.0}]
    job = {"job_id": "j", "result": {"results": [{"c": "ga"}]}}
    assert downloads.table_of(job, "result.results")[1] == [{"c": "ga"}]
    assert downloads.table_of({"tables": {"t": 3}}, "tables")[1] == [{"field": "t", "value": 3}]
    assert downloads.table_of({"id": "P", "capex_usd": 5.0})[1] == [
        {"field": "id", "value": "P"}, {"field": "capex_usd", "value": 5.0}]
    with pytest.raises(KeyError):
        downloads.table_of(job, "result.nope")
