"""One answer everywhere (issue 11): the commodity page's API, the watchlist, the simulator's
market and project scoring report the same leading country and share for a commodity, stage
and year, because all four call :func:`critmin.data.supply.select_stage`.

The reference is computed here independently of every consumer, from the raw production rows
(``Warehouse.production_all``) by the published rule: the leading country's quantity over the
published world total (MCS "World total (rounded)"), so that the test also fails if the one
owner itself drifts from the figure USGS prints.
"""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient

from critmin.data.supply import NoStageSupply
from web_support import USERS, bearer, web_db, web_db_template  # noqa: F401

COMMODITIES = ("rare_earths", "gallium", "cobalt", "lithium", "graphite", "nickel")
YEARS = (2022, 2023, 2024)
STAGES = ("mine", "processing")


def _triples(warehouse) -> list[tuple[str, str, int]]:
    out = []
    for c in COMMODITIES:
        for st in STAGES:
            for y in YEARS:
                try:
                    warehouse.stage_supply(c, st, y)
                except NoStageSupply:
                    continue
                out.append((c, st, y))
    return out


@pytest.fixture(scope="module")
def triples(warehouse) -> list[tuple[str, str, int]]:
    t = _triples(warehouse)
    # every commodity must be covered at some stage in every year (gallium: processing only)
    assert {c for c, _, _ in t} == set(COMMODITIES)
    assert len(t) >= len(COMMODITIES) * len(YEARS)
    return t


def _reference(warehouse, c: str, stage: str, y: int) -> tuple[str, float]:
    """Leading country and share recomputed from the raw rows of the source, source stage and
    product that the one owner chose: max country quantity over the published world total (the
    smallest one not below 98 % of the country sum), else over the country sum plus 'Other
    countries'. Which product is chosen is tested against MCS T5 below and in tests/test_data_*."""
    sup = warehouse.stage_supply(c, stage, y)
    p = warehouse.production_all()
    p = p[(p["commodity_id"] == c) & (p["year"] == y) & (p["source"] == sup.source)
          & (p["stage"] == sup.source_stage) & (p["product"].fillna("") == sup.product)]
    cty = p[p["aggregate"].isna() & p["country_iso3"].notna() & p["quantity"].notna()]
    top = cty.groupby("country_iso3")["quantity"].sum().sort_values(ascending=False)
    world = [w for w in p.loc[(p["aggregate"] == "world") & p["quantity"].notna(), "quantity"] if w > 0]
    ok = [w for w in world if w >= 0.98 * top.sum()]
    if world:
        denom = min(ok) if ok else max(world)
    else:
        denom = float(top.sum() + p.loc[p["aggregate"] == "other", "quantity"].sum())
    return str(top.index[0]), float(top.iloc[0]) / float(denom)


def _page(client: TestClient, token: str, c: str, stage: str, y: int) -> tuple[str, float]:
    r = client.get(f"/api/production/{c}", params={"stage": stage, "year": y}, headers=bearer(token))
    assert r.status_code == 200, r.text
    rows = [x for x in r.json()["rows"] if x["selected"] and x["aggregate"] is None and x["share"] is not None]
    assert rows, f"{c} {stage} {y}: no selected rows on the commodity page"
    top = max(rows, key=lambda x: x["share"])
    return top["country_iso3"], top["share"]


def _watchlist(warehouse, c: str, stage: str, y: int) -> tuple[str, float]:
    from critmin.risk.api import run

    doc = run(warehouse, year=y).records  # what `critmin assess --json` prints
    row = next(r for r in doc if r["commodity"] == c)
    st = row["stages"][stage]
    return st["top_country_iso3"], st["top_share"]


def _simulator(warehouse, c: str, stage: str, y: int) -> tuple[str, float]:
    from critmin.disruption.api import load_market

    cm = load_market(warehouse, commodities=[c], year=y).commodities[c]
    prov = cm.provenance["production"] if cm.stage == stage else cm.provenance["mine_production"]
    assert prov.get("analysis_stage", stage) == stage
    return prov["leading_country_iso3"], prov["leading_share"]


def _projects(warehouse, c: str, stage: str, y: int) -> tuple[str, float]:
    from critmin.projects.api import production_by_country

    by, unattributed, year, _ = production_by_country(warehouse, c, "extraction" if stage == "mine" else "processing",
                                                      year=y)
    assert year == y
    iso = max(by, key=lambda k: by[k])
    return iso, by[iso] / (sum(by.values()) + unattributed)


def test_every_consumer_reports_the_same_leading_country_and_share(warehouse, triples, web_db):  # noqa: F811
    """The simulator and project scoring work in tonnes: a stage known only as shares (curated
    processing-stage shares, unit 'fraction') is outside them, and project scoring then says so."""
    from critmin.data.normalize.units import MASS_TO_T
    from critmin.projects.api import NotComputable, production_by_country
    from critmin.web.app import create_app

    app = create_app(web_db.path)
    token = web_db.tokens["viewer"]
    compared = 0
    with TestClient(app) as client:
        for c, stage, y in triples:
            ref_iso, ref_share = _reference(warehouse, c, stage, y)
            got = {
                "commodity page": _page(client, token, c, stage, y),
                "watchlist": _watchlist(warehouse, c, stage, y),
            }
            if warehouse.stage_supply(c, stage, y).unit in MASS_TO_T:
                got["simulator"] = _simulator(warehouse, c, stage, y)
                got["project scoring"] = _projects(warehouse, c, stage, y)
            else:
                with pytest.raises(NotComputable, match="not a mass unit"):
                    production_by_country(warehouse, c, "processing", year=y)
            for where, (iso, share) in got.items():
                assert iso == ref_iso, f"{c} {stage} {y}: {where} leads with {iso}, reference {ref_iso}"
                assert math.isclose(share, ref_share, rel_tol=1e-9), (
                    f"{c} {stage} {y}: {where} share {share}, reference {ref_share}")
                compared += 1
    assert compared >= 4 * len(COMMODITIES) * len(YEARS)


def test_published_leading_shares_2024(warehouse):
    """The one owner against MCS 2025 T5's printed leading shares (rounded percent)."""
    published = {("rare_earths", "mine"): ("CHN", 69), ("cobalt", "mine"): ("COD", 76),
                 ("lithium", "mine"): ("AUS", 37), ("graphite", "mine"): ("CHN", 79),
                 ("nickel", "mine"): ("IDN", 59), ("gallium", "processing"): ("CHN", 99)}
    for (c, st), (iso, pct) in published.items():
        got_iso, share = warehouse.stage_supply(c, st, 2024).leading
        assert got_iso == iso and share is not None and abs(100 * share - pct) <= 1, (c, st, got_iso, share)
