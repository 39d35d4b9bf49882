"""The data API and the commodity page on the real warehouse: the production rows the page
draws are the rows every analysis uses (the watchlist's leading country and share), provenance
and the data version come from the warehouse's own reads."""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient

from web_support import bearer, login, web_db, web_db_template  # noqa: F401

#: (commodity, stage, years) with USGS country figures. Titanium minerals: MCS 2024/2025 give
#: a world total for rutile only, so the analyses use rutile (Australia 44 % in 2024), not the
#: product with the most country rows (ilmenite, China 37 %) that the page used to draw.
CASES = [("rare_earths", "mine", (2022, 2023, 2024)), ("cobalt", "mine", (2022, 2023, 2024)),
         ("lithium", "mine", (2022, 2023, 2024)), ("graphite", "mine", (2022, 2023, 2024)),
         ("nickel", "mine", (2022, 2023, 2024)), ("gallium", "processing", (2022, 2023, 2024)),
         ("titanium_minerals", "mine", (2023, 2024))]


@pytest.fixture()
def client(web_db):  # noqa: F811
    from critmin.web.app import create_app

    app = create_app(web_db.path)
    with TestClient(app) as c:
        c.headers.update(bearer(web_db.tokens["viewer"]))
        yield c, app.state.ctx


def _leading(rows: list[dict], year: int) -> tuple[str, float]:
    sel = [r for r in rows if r["year"] == year and r["aggregate"] is None and r["share"] is not None]
    best = max(sel, key=lambda r: (r["share"], r["country_iso3"]))
    return best["country_iso3"], best["share"]


@pytest.mark.slow
def test_commodity_page_shows_the_watchlists_leading_country_and_share(client):
    from critmin.web import views
    from critmin.web.pages import sparkline_values

    c, ctx = client
    watch = {r["commodity"]: r for r in c.get("/api/assess").json()["rows"]}
    for cid, stage, years in CASES:
        rows = c.get(f"/api/production/{cid}").json()["rows"]
        used = views.main_product_rows(rows, stage)
        assert used and all(r["selected"] for r in used)
        for year in years:
            sup = ctx.wh.stage_supply(cid, stage, year)  # what every analysis uses
            iso, share = _leading(used, year)
            assert (iso, share) == (sup.leading[0], pytest.approx(sup.leading[1], rel=1e-12)), (cid, year)
            assert {r["product"] for r in used if r["year"] == year} == {sup.product}, (cid, year)
        # the assessment year: the watchlist row, the page's table and map, the sparkline
        w = watch[cid]
        iso, share = _leading(used, 2024)
        assert (iso, share) == (w[f"top_country_{stage}"], pytest.approx(w[f"top_share_{stage}"], rel=1e-12))
        assert sparkline_values(ctx, cid, stage)[-1] == pytest.approx(share, rel=1e-12)
        page = c.get(f"/commodity/{cid}", params={"stage": stage, "year": 2024})
        assert page.status_code == 200
        name = next(r["country"] for r in used if r["country_iso3"] == iso)
        assert f"({100 * share:.1f}% of world)" in html.unescape(page.text), (cid, name)


def test_rare_earths_mine_2024_by_hand(client):
    """MCS 2025, Rare Earths: China 270,000 t of a world total of 390,000 t = 69.2 %."""
    c, _ = client
    rows = c.get("/api/production/rare earths", params={"stage": "mine", "year": 2024}).json()["rows"]
    chn = [r for r in rows if r["country_iso3"] == "CHN"]
    assert len(chn) == 1 and chn[0]["selected"]
    assert chn[0]["share"] == pytest.approx(270_000 / 390_000)
    assert chn[0]["share_basis"] == "world_total"
    assert {r["stage"] for r in rows} == {"mine"}


def test_a_stage_filter_does_not_change_what_is_selected():
    """A year with refinery and smelter figures: the analyses use the refinery rows
    (risk.processing_stage_preference), so smelter rows are never selected, also when the API
    is asked for smelter rows only; their shares are those of the full answer."""
    from types import SimpleNamespace

    import pandas as pd

    from critmin.web.api_data import production_rows

    def row(stage: str, iso3: str | None, agg: str | None, q: float, line: int) -> dict:
        return {"commodity_id": "x", "source": "USGS", "stage": stage, "stage_group": "processing",
                "product": "metal", "year": 2024, "country_iso3": iso3, "aggregate": agg, "quantity": q,
                "unit": "t", "vintage": "MCS2025", "dataset_id": 1, "source_line": line}

    frame = pd.DataFrame([row("refinery", "AAA", None, 8.0, 1), row("refinery", "BBB", None, 2.0, 2),
                          row("smelter", "AAA", None, 1.0, 3), row("smelter", "CCC", None, 3.0, 4)])

    def production(cid: str, stage: str | None = None, year: int | None = None, *, source: str) -> pd.DataFrame:
        assert stage is None  # the selection is made on every stage of the year
        return frame if source == "USGS" else frame.iloc[:0]

    ctx = SimpleNamespace(wh=SimpleNamespace(production=production), cached=lambda key, compute, shared=False: compute())
    smelter = production_rows(ctx, "x", "smelter", 2024)  # type: ignore[arg-type]
    assert [(r["country_iso3"], r["selected"]) for r in smelter] == [("AAA", False), ("CCC", False)]
    assert [r["share"] for r in smelter] == pytest.approx([0.25, 0.75])
    group = production_rows(ctx, "x", "processing", 2024)  # type: ignore[arg-type]
    assert [r["source_line"] for r in group if r["selected"]] == [1, 2]
    assert production_rows(ctx, "x", "mine", 2024) == []  # type: ignore[arg-type]


def test_provenance_reads_the_dataset_row(client):
    c, ctx = client
    row = ctx.wh.dataset_row(1)
    r = c.get("/api/provenance/1/2")
    assert r.status_code == 200
    assert r.json()["dataset"]["key"] == row["key"].iloc[0]
    assert r.json()["dataset"]["sha256"] == row["sha256"].iloc[0]
    assert c.get("/api/provenance/999999/1").status_code == 404


def test_data_version_is_the_warehouse_fingerprint(client, monkeypatch):
    _, ctx = client
    assert ctx.data_version() == ctx.wh.fingerprint()
    calls = []
    monkeypatch.setattr(type(ctx.wh), "fingerprint", lambda self: calls.append(1) or ("new",))
    assert ctx.data_version() != ("new",)  # within web.data_version_ttl_s: not looked up again
    assert calls == []
    monkeypatch.setenv("CRITMIN_WEB_DATA_VERSION_TTL_S", "0")
    assert ctx.data_version() == ("new",)
    assert calls == [1]


def test_overview_lists_the_watchlist(client, web_db):  # noqa: F811
    c, _ = client
    c.headers.pop("Authorization")
    assert login(c, "vic-viewer").status_code in (302, 303)
    page = c.get("/")
    assert page.status_code == 200
    assert "not available in this build" not in page.text
    assert "rare_earths" in page.text or "Rare earths" in page.text


def test_commodity_page_shows_every_stage_of_the_chain(client):
    """Issue 12: the commodity page lists every chain stage that has data, with the watchlist's
    leading producer, share and source per stage, marks the bottleneck, and opens at a stage
    that has data (gallium: processing, not an empty mine page)."""
    c, ctx = client
    watch = {r["commodity"]: r for r in c.get("/api/assess").json()["rows"]}
    r = c.get("/commodity/gallium")
    assert r.status_code == 200 and "No mine production" not in r.text
    assert '<option value="processing" selected' in r.text
    for cid in ("magnesium", "rare_earths", "cobalt"):
        page = html.unescape(c.get(f"/commodity/{cid}").text)
        chain = page[page.index('id="chain"'):page.index("</table>", page.index('id="chain"'))]
        w = watch[cid]
        shown = [st for st in ("mine", "processing", "metal", "component") if w.get(f"top_country_{st}")]
        assert len(shown) >= 2, (cid, shown)  # magnesium: processing + metal; REE/cobalt: mine + processing (IEA)
        for st in shown:
            assert f"<td>{st}" in chain and w[f"top_country_{st}"] in chain, (cid, st)
            if w.get(f"top_share_{st}") is not None:
                assert f"{100 * w[f'top_share_{st}']:.0f}%" in chain, (cid, st)
        assert "bottleneck" in chain and f"<td>{w['bottleneck_stage']} <span" in chain, cid
        assert "– · – · –" not in page
        # every stage with data can be opened and draws its selected rows
        for st in shown:
            assert c.get(f"/commodity/{cid}", params={"stage": st}).status_code == 200, (cid, st)
