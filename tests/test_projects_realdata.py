"""Projects and geo on the real imported warehouse (conftest fixtures)."""

from __future__ import annotations

import math

import pytest

from critmin.geo.deposits import query_deposits
from critmin.geo.geojson import to_feature_collection
from critmin.projects.registry import Registry


def _hand(lat1, lon1, lat2, lon2, r=6371.0088):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def test_radius_around_mountain_pass(warehouse):
    df = query_deposits(warehouse, "rare_earths", near=(35.478, -115.533), radius_km=300)
    assert "Mountain Pass" in set(df["name"])
    assert set(df["layer"]) <= {"PP1802", "MAJOR"}
    for r in df.itertuples():
        assert r.distance_km == pytest.approx(_hand(35.478, -115.533, r.latitude, r.longitude), rel=1e-9)
    everything = warehouse.deposits(commodity="rare_earths")
    want = {(r.layer, r.source_line) for r in everything.itertuples()
            if r.latitude == r.latitude and _hand(35.478, -115.533, r.latitude, r.longitude) <= 300}
    assert set(zip(df["layer"], df["source_line"], strict=True)) == want


def test_geojson_of_real_query(warehouse):
    df = query_deposits(warehouse, "gallium", country="AUS")
    fc = to_feature_collection(df)
    assert len(fc["features"]) == len(df) > 0
    lon, lat = fc["features"][0]["geometry"]["coordinates"]
    assert 110 < lon < 155 and -45 < lat < -10  # Australia, lon first


def test_registry_seeds_in_the_warehouse(warehouse_rw_path, monkeypatch):
    from critmin.data.warehouse import Warehouse

    monkeypatch.delenv("CRITMIN_DATABASE_URL", raising=False)
    with Warehouse(warehouse_rw_path, read_only=True) as wh:
        reg = Registry.open(wh)  # the operational store beside the warehouse
        assert len(reg.list("joint")) >= 25
        us, jp = {p.id for p in reg.list("US")}, {p.id for p in reg.list("JP")}
        jp_only = {p.id for p in reg.list("joint") if p.visibility == "JP"}
        assert jp_only and not (jp_only & us) and jp_only <= jp


def test_scoring_on_real_data(warehouse):
    from critmin.projects.api import score_with_warehouse
    from critmin.projects.io import read_records
    from critmin.projects.registry import default_seed_path

    scores = score_with_warehouse(warehouse, read_records(default_seed_path()))
    ok = [s for s in scores if s.computable]
    assert ok, [s.reason for s in scores]
    for s in scores:
        assert s.computable or s.reason


def test_processing_project_without_processing_data_uses_market_stage_explicitly(warehouse, monkeypatch):
    """USGS publishes no rare-earth separation output by country; with supply from USGS and WMD
    only, a separation project is scored on the simulator's market stage, and the substitution is
    written into its inputs."""
    from critmin.projects.api import score_with_warehouse

    monkeypatch.setenv("CRITMIN_DATA_SUPPLY_SOURCES", "USGS,WMD")
    from critmin.projects.io import read_records
    from critmin.projects.registry import default_seed_path

    assert warehouse.production("rare earths", stage="processing").empty
    seed = [p for p in read_records(default_seed_path()) if p.id == "P-JARE-LYNAS-HREE"]
    assert seed and seed[0].stage_group == "processing"
    (s,) = score_with_warehouse(warehouse, seed)
    assert s.computable, s.reason
    assert "STAGE SUBSTITUTION" in str(s.inputs)


@pytest.mark.parametrize(("cid", "group"), [
    ("rare_earths", "extraction"), ("gallium", "processing"), ("cobalt", "extraction"), ("lithium", "extraction"),
    ("graphite", "extraction"), ("nickel", "extraction"), ("antimony", "extraction"), ("copper", "processing"),
])
def test_concentration_shares_are_supply_at_the_stage(warehouse, cid, group):
    """Project scoring's production shares are select_stage's: the leading producer and its share
    are the watchlist's and the simulator's."""
    from critmin.data.supply import select_stage
    from critmin.projects.api import STAGE_OF_GROUP, production_by_country

    by, unattributed, year, prov = production_by_country(warehouse, cid, group)
    sup = select_stage(warehouse.production_of(cid), cid, STAGE_OF_GROUP[group])
    total = sum(by.values()) + unattributed
    shares = {c: q / total for c, q in by.items()}
    assert shares == pytest.approx(sup.shares.shares, rel=1e-12)
    lead = max(shares, key=lambda c: (shares[c], c))
    assert lead == sup.leading[0] and shares[lead] == pytest.approx(sup.leading[1], rel=1e-12)
    assert year == sup.year and f"leading {lead} " in prov


def test_concentration_against_published_figures(warehouse, monkeypatch):
    from critmin.projects.api import NotComputable, production_by_country

    monkeypatch.setenv("CRITMIN_DATA_SUPPLY_SOURCES", "USGS,WMD")  # the MCS figures, whatever else is imported
    # USGS MCS 2025: rare earths 2024, China 270,000 t of a world 390,000 t (REO); antimony 2024,
    # China 60,000 t of 100,000 t: the world total is below the country sum (rounded), so the
    # unattributed part is negative and China's share is the MCS's 60 %, not 60,000 / sum
    by, u, year, _ = production_by_country(warehouse, "rare_earths", "extraction")
    assert (year, by["CHN"], sum(by.values()) + u) == (2024, 270_000.0, 390_000.0)
    by, u, year, _ = production_by_country(warehouse, "antimony", "extraction")
    assert (year, by["CHN"], sum(by.values()) + u) == (2024, 60_000.0, 100_000.0) and u < 0
    with pytest.raises(NotComputable, match="not a mass unit"):
        production_by_country(warehouse, "diamond_industrial", "extraction")
    with pytest.raises(NotComputable, match="no processing production of rare_earths"):
        production_by_country(warehouse, "rare_earths", "processing")


def test_score_inputs_carry_the_supply_choice(warehouse):
    from critmin.projects.api import score_with_warehouse
    from critmin.projects.io import read_records
    from critmin.projects.registry import default_seed_path

    seed = [p for p in read_records(default_seed_path()) if p.commodity_id == "rare_earths"
            and p.stage_group == "extraction"][:1]
    assert seed
    (s,) = score_with_warehouse(warehouse, seed)
    sup = s.inputs["market"]["supply"]
    assert sup["leading_country_iso3"] == "CHN" and sup["stage"] == "mine" and sup["source"] == "USGS"
    assert sup["leading_share"] == pytest.approx(270_000 / 390_000)


@pytest.mark.parametrize("year", [2022, 2023])
def test_scoring_takes_production_in_the_markets_year(warehouse, year):
    from critmin.data.supply import select_stage
    from critmin.projects.api import build_contexts, load_market
    from critmin.projects.io import read_records
    from critmin.projects.registry import default_seed_path

    seed = [p for p in read_records(default_seed_path()) if p.commodity_id in ("rare_earths", "gallium")]
    market = load_market(warehouse, ["rare_earths", "gallium"], year)
    ctx, _ = build_contexts(warehouse, seed, market, frozenset())
    assert ctx
    for (cid, _sg), c in ctx.items():
        cm = market.commodities[cid]
        sup = select_stage(warehouse.production_of(cid), cid, str(c.supply["stage"]), year)
        assert c.year == year == cm.provenance["production"]["year"]
        assert (c.supply["leading_country_iso3"], c.supply["leading_share"]) == sup.leading
