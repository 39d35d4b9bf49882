"""The commodity page's end-use section: end uses, value at stake and loss per tonne with sources (issue 13)."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from web_support import bearer, web_db, web_db_template  # noqa: F401


@pytest.fixture()
def client(web_db):  # noqa: F811
    from critmin.web.app import create_app

    with TestClient(create_app(web_db.path)) as c:
        yield c, bearer(web_db.tokens["viewer"])


def _section(html: str) -> str:
    m = re.search(r'<section class="card" id="end-uses">(.*?)</section>\s*$', html, re.S | re.M)
    assert m, "no end-use section"
    return m.group(1)


def test_gallium_shows_its_end_uses_value_at_stake_and_loss_with_sources(client, warehouse):
    from critmin.impact import damage

    c, h = client
    r = c.get("/commodity/gallium", headers=h)
    assert r.status_code == 200, r.text
    sec = _section(r.text)
    for k in ("USA", "JPN"):
        d = damage(warehouse, "gallium", k)
        assert f"{d.loss_per_t:,.0f} US$/t" in sec  # the damage model's number, as computed
        for s in d.sectors:
            assert f"<td>{s.sector}</td>" in sec
    us = damage(warehouse, "gallium", "USA")
    assert us.sources and all(src.replace("&", "&amp;")[:40] in sec or src[:40] in sec for src in us.sources)
    chart = json.loads(re.search(r'<script type="application/json" id="enduse-data">(.*?)</script>', r.text, re.S).group(1))
    assert chart["partners"] == ["USA", "JPN"]
    for i, k in enumerate(chart["partners"]):
        total = sum(chart["share"][sec_][i] for sec_ in chart["series"])
        assert 0.5 < total <= 1.0 + 1e-9, (k, total)  # the shares with an industry ('other' has none)
    assert "/static/end_uses.js" in r.text


def test_copper_loss_is_its_price_and_says_so(client):
    c, h = client
    sec = _section(c.get("/commodity/copper", headers=h).text)
    assert "<td>price</td>" in sec  # basis: the value added at risk per tonne is below the price
