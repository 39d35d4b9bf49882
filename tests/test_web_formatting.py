"""One number format for every page (issue 19 section 3, critmin.web.formatting): units,
thousands separators, significant figures per kind of quantity, USGS qualifiers as published;
and the pages use it (no exponent, no ids where a name exists, qualifiers kept)."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from critmin.web import formatting as f
from web_support import bearer, web_db, web_db_template  # noqa: F401

NB = "\u00a0"


@pytest.mark.parametrize(("value", "unit", "text"), [
    (270000.0, "t", f"270,000{NB}t"), (191578.4, "t", f"191,578{NB}t"), (4780.0, "t", f"4,780{NB}t"),
    (12.34, "kg", f"12.3{NB}kg"), (0.000947, "t", f"0.000947{NB}t"), (0.35, None, "0.350"),
    (0.0, "t", f"0{NB}t"), (None, "t", "–"), (float("nan"), "t", "–"), (999.6, None, "1,000"),
])
def test_quantities(value, unit, text):
    assert f.qty(value, unit) == text


@pytest.mark.parametrize(("value", "text"), [
    (0.7586, "76%"), (0.045, "4.5%"), (0.003, "0.3%"), (0.0000001, "<0.1%"), (0.0, "0%"), (1.0, "100%"),
    (None, "–"),
])
def test_shares(value, text):
    assert f.pct(value) == text


@pytest.mark.parametrize(("value", "text"), [(0.440703, "0.44"), (0.0936, "0.094"), (None, "–"), (0.0, "0.00")])
def test_scores(value, text):
    assert f.score(value) == text


@pytest.mark.parametrize(("value", "text"), [(2.26e9, f"US$2.26{NB}bn"), (918_100_000.0, f"US$918{NB}m"),
                                             (45_000.0, f"US$45.0{NB}k"), (950.0, "US$950"), (None, "–")])
def test_money(value, text):
    assert f.usd(value) == text


@pytest.mark.parametrize(("raw", "value", "text"), [
    (">75", 0.75, ">75%"), ("<50", 0.5, "<50%"), ("76", 0.76, "76%"), ("E", 0.0, "E"), ("W", None, "W"),
    (">95", 0.95, ">95%"), ("stage not performed at home: all supply imported", 1.0, "100%"), (None, 0.4, "40%"),
])
def test_usgs_qualifiers_kept_as_published(raw, value, text):
    assert f.published(raw, value) == text


def test_no_exponent_ever():
    for v in (2.7e5, 1.23e9, 4.2e-5, 7.77e-3, 123456789.0):
        for text in (f.qty(v, "t"), f.number(v)):
            assert "e" not in text.lower().replace("–", ""), text


def test_hhi_and_names():
    assert f.hhi(5867.279429) == "5,867"
    assert f.country("COD") == "DR Congo" and f.country("CHN") == "China"
    assert f.commodity("rare_earths") == "rare earths"


@pytest.fixture()
def client(web_db):  # noqa: F811
    from critmin.web.app import create_app

    with TestClient(create_app(web_db.path)) as c:
        c.headers.update(bearer(web_db.tokens["viewer"]))
        yield c


def _visible(page: str) -> str:
    """The page's text as read (scripts, tags and attributes dropped)."""
    body = re.sub(r"<script.*?</script>", " ", page.split("<body", 1)[1], flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _cells(page: str, table_id: str) -> list[list[str]]:
    body = page[page.index(f'id="{table_id}"'):]
    body = body[body.index("<tbody>"):body.index("</tbody>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
            for r in rows]


def test_watchlist_keeps_the_usgs_qualifiers_and_names(client):
    api = {r["commodity"]: r for r in client.get("/api/assess").json()["rows"]}
    page = client.get("/").text
    assert not re.search(r"\de[+-]\d", _visible(page))
    rows = {r[1]: r for r in _cells(page, "watchlist")}
    qualified = [r for r in api.values() if str(r.get("nir_text_USA") or "").startswith((">", "<"))]
    assert qualified, "the real data has qualified USGS import reliances (>75, <50, ...)"
    for r in qualified:
        cells = rows[r["name"]]
        assert f"{r['nir_text_USA']}%" in cells, (r["commodity"], cells)
    for r in api.values():
        assert r["name"] in rows  # the display name, never the id
        if r.get("top_country_mine") == "COD":
            assert any(c.startswith("DR Congo") for c in rows[r["name"]])
    legend = page[page.index('id="watch-legend"'):]
    for term in ("joint score", "supply risk", "import reliance", "non-allied imports", "leading producer"):
        assert f"<dt>{term}</dt>" in legend


def test_commodity_page_quantities_have_units_and_separators(client):
    page = client.get("/commodity/rare_earths", params={"stage": "mine", "year": 2024}).text
    assert not re.search(r"\de[+-]\d", _visible(page)) and "rare_earths)" not in page
    cells = _cells(page, "production")
    chn = next(c for c in cells if c[0] == "China")
    assert chn[2] == f"270,000{NB}t", chn  # MCS 2025: China 270,000 t
    assert chn[4] == "69%", chn  # of 390,000 t
