"""The assessment takes supply at a stage from the one owner (critmin.data.supply), its partners
and national sources from settings; checked on the real warehouse against the raw production
rows, and on hand-made frames."""

from __future__ import annotations

import pandas as pd
import pytest

from critmin.data.reads import PRODUCTION_COLUMNS
from critmin.data.supply import NoStageSupply, select_stage
from critmin.risk import api
from critmin.risk.stages import concentration_frame

TRIPLES = [(c, s, y) for c, s in [("rare_earths", "mine"), ("gallium", "processing"), ("cobalt", "mine"),
                                  ("cobalt", "processing"), ("lithium", "mine"), ("graphite", "mine"),
                                  ("nickel", "mine"), ("nickel", "processing")]
           for y in (2022, 2023, 2024)]


@pytest.fixture(scope="module")
def hist(warehouse):
    return api.concentration_history(warehouse).set_index(["commodity_id", "stage", "year"])


@pytest.mark.parametrize(("cid", "stage", "year"), TRIPLES)
def test_concentration_is_select_stage(warehouse, hist, cid, stage, year):
    """The watchlist's leading country and share are select_stage's, with its source and product."""
    try:
        sup = select_stage(warehouse.production_of(cid), cid, stage, year)
    except NoStageSupply:
        assert (cid, stage, year) not in hist.index or pd.isna(hist.loc[(cid, stage, year), "top_share"])
        return
    row = hist.loc[(cid, stage, year)]
    iso, share = sup.leading
    assert (row.top_country_iso3, row.source, row["product"], row.source_stage) == (
        iso, sup.source, sup.product, sup.source_stage)
    assert row.top_share == pytest.approx(share, rel=1e-12)
    assert row.share_basis == sup.share_basis and tuple(row.choices) == sup.choices


def _raw(wh, sql, params):
    return wh.query(sql, params)


def test_wmd_answers_germanium_processing_where_usgs_has_no_country_figure(warehouse, hist):
    usgs = _raw(warehouse, "SELECT count(*) AS n FROM production WHERE source = 'USGS' AND commodity_id = 'germanium' "
                "AND year = 2024 AND country_iso3 IS NOT NULL AND quantity IS NOT NULL", [])
    assert int(usgs.n.iloc[0]) == 0  # the MCS withholds germanium production by country
    wmd = _raw(warehouse, "SELECT country_iso3, aggregate, quantity FROM production WHERE source = 'WMD' "
               "AND commodity_id = 'germanium' AND year = 2024 AND stage_group = 'processing'", [])
    world = float(wmd.loc[wmd["aggregate"] == "world", "quantity"].iloc[0])
    chn = float(wmd.loc[wmd.country_iso3 == "CHN", "quantity"].iloc[0])
    row = hist.loc[("germanium", "processing", 2024)]
    assert row.source == "WMD" and row.top_country_iso3 == "CHN"
    assert row.top_share == pytest.approx(chn / world)
    assert any("USGS has no country figure" in c for c in row.choices)


def test_usgs_answers_wherever_it_has_a_country_figure(warehouse, hist):
    """WMD only fills gaps: no WMD-sourced mine row where the MCS has a mine figure by country."""
    usgs = _raw(warehouse, "SELECT DISTINCT commodity_id, year FROM production WHERE source = 'USGS' "
                "AND stage = 'mine' AND measure = 'production' AND country_iso3 IS NOT NULL "
                "AND aggregate IS NULL AND quantity IS NOT NULL", [])
    have = set(zip(usgs.commodity_id, usgs.year.astype(int), strict=True))
    mine = hist.xs("mine", level="stage")
    wmd = {(c, int(y)) for (c, y), s in mine["source"].items() if s == "WMD"}
    assert wmd and not (wmd & have)
    assert {(c, int(y)) for (c, y), s in mine["source"].items() if s == "USGS"} <= have


def test_own_production_from_the_answering_source(warehouse):
    """Japan's sulfur NIR uses Japan's WMD production (the MCS lists no sulfur mine stage)."""
    raw = _raw(warehouse, "SELECT quantity FROM production WHERE source = 'WMD' AND commodity_id = 'sulfur' "
               "AND year = 2024 AND stage = 'mine' AND country_iso3 = 'JPN'", [])
    p = float(raw.quantity.iloc[0])
    res = api.run(warehouse, ("USA", "JPN"), 2024)
    n = {r["commodity"]: r for r in res.records}["sulfur"]["exposure"]["JPN"]["nir_by_stage"]["mine"]
    assert "WMD production" in n["source"] and f"P={p:g} t" in n["text"]


def test_nir_source_is_a_setting(warehouse, monkeypatch):
    res = api.run(warehouse, ("USA", "JPN"), 2024)
    ga = res.exposure.set_index(["commodity_id", "consumer"]).loc[("gallium", "USA")]
    assert ga.nir_source.startswith("MCS") and ga.nir_flag not in ("computed", "no_domestic_stage", "mass_balance")
    monkeypatch.setenv("CRITMIN_RISK_NIR_SOURCE", "")  # no consumer has a published NIR
    res = api.run(warehouse, ("USA", "JPN"), 2024)
    ex = res.exposure[res.exposure.consumer == "USA"]
    assert not ex.nir_source.dropna().str.startswith("MCS").any()
    assert ex.nir_source.dropna().str.startswith("BACI").any()


def test_default_consumers_are_the_partners_setting(warehouse, monkeypatch):
    assert api.run(warehouse, None, 2024).consumers == ("USA", "JPN")
    monkeypatch.setenv("CRITMIN_RISK_CONSUMERS", "JPN")
    res = api.run(warehouse, None, 2024)
    assert res.consumers == ("JPN",) and set(res.exposure.consumer) == {"JPN"}
    assert set(api.assess(warehouse, year=2024).columns) >= {"nir_JPN"}


def _production(rows):
    df = pd.DataFrame(rows, columns=["commodity_id", "country_iso3", "aggregate", "stage", "quantity", "unit",
                                     "source"])
    df = df.assign(stage_group="extraction", product="x", year=2024, flag=None, value_raw=df["quantity"].astype(str),
                   vintage="V", dataset_id=1, source_line=range(len(df)))
    return df[PRODUCTION_COLUMNS]


def _reserves(cid, q, unit):
    return pd.DataFrame([{"commodity_id": cid, "country_iso3": None, "aggregate": "world", "type_raw": "",
                          "year": 2024, "quantity": q, "unit": unit, "flag": None, "vintage": "V",
                          "dataset_id": 2}])


def test_reserve_life_converts_units_and_refuses_non_mass():
    # production 600 + 400 = 1,000 kg (world total 1,000 kg); reserves 50 t = 50,000 kg -> 50 years
    prod = _production([("m", "AAA", None, "mine", 600.0, "kg", "WMD"), ("m", "BBB", None, "mine", 400.0, "kg", "WMD"),
                        ("m", None, "world", "mine", 1000.0, "kg", "WMD")])
    sd = concentration_frame(prod, _reserves("m", 50.0, "t"), pd.DataFrame(), frozenset())
    row = sd.frame.iloc[0]
    assert row.source == "WMD" and row.reserve_life_years == pytest.approx(50.0)
    assert row.top_country_iso3 == "AAA" and row.top_share == pytest.approx(0.6)
    sd = concentration_frame(prod, _reserves("m", 50.0, "m3"), pd.DataFrame(), frozenset())
    row = sd.frame.iloc[0]
    assert row.reserve_life_years is None or pd.isna(row.reserve_life_years)
    assert any("not comparable" in m for m in row.missing)


def test_first_source_with_a_country_figure_answers():
    # USGS lists the stage but withholds every country figure: WMD answers (and says why)
    prod = _production([("m", "AAA", None, "mine", float("nan"), "t", "USGS"),
                        ("m", None, "world", "mine", 10.0, "t", "USGS"),
                        ("m", "BBB", None, "mine", 3.0, "t", "WMD"), ("m", "CCC", None, "mine", 1.0, "t", "WMD")])
    sd = concentration_frame(prod, pd.DataFrame(), pd.DataFrame(), frozenset())
    row = sd.frame.iloc[0]
    assert row.source == "WMD" and row.top_country_iso3 == "BBB" and row.top_share == pytest.approx(0.75)
    assert sd.supplies[("m", "mine", 2024)].source == "WMD"


def test_processing_stage_order_comes_from_the_setting(monkeypatch):
    # refinery: AAA leads; smelter: BBB leads
    prod = _production([("m", "AAA", None, "refinery", 3.0, "t", "USGS"), ("m", "BBB", None, "refinery", 1.0, "t", "USGS"),
                        ("m", "AAA", None, "smelter", 1.0, "t", "USGS"), ("m", "BBB", None, "smelter", 4.0, "t", "USGS")])
    prod["stage_group"] = "processing"
    row = concentration_frame(prod, pd.DataFrame(), pd.DataFrame(), frozenset()).frame.iloc[0]
    assert (row.stage, row.source_stage, row.top_country_iso3) == ("processing", "refinery", "AAA")
    monkeypatch.setenv("CRITMIN_RISK_PROCESSING_STAGE_PREFERENCE", "smelter,refinery")
    row = concentration_frame(prod, pd.DataFrame(), pd.DataFrame(), frozenset()).frame.iloc[0]
    assert (row.stage, row.source_stage, row.top_country_iso3) == ("processing", "smelter", "BBB")
    assert row.top_share == pytest.approx(0.8)


def test_consumer_weights_default_equal_and_overridable(monkeypatch):
    from critmin.risk.params import consumer_weights

    assert consumer_weights(("USA", "JPN", "KOR")) == {"USA": 1.0, "JPN": 1.0, "KOR": 1.0}
    monkeypatch.setenv("CRITMIN_RISK_JOINT_CONSUMER_WEIGHTS", "USA=2")
    assert consumer_weights(("USA", "JPN")) == {"USA": 2.0, "JPN": 1.0}
    monkeypatch.setenv("CRITMIN_RISK_JOINT_CONSUMER_WEIGHTS", "USA:2")
    with pytest.raises(ValueError, match="consumer_weights"):
        consumer_weights(("USA",))
