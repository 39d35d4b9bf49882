"""The value chain as data (critmin.data.value_chain, catalog/value_chain.csv) and supply at every
chain stage (critmin.data.supply): hand-made frames, the real warehouse against the IEA's
published 2024 refining shares (SOURCES.md section 16), and the pre-change answers kept where
the USGS MCS or World Mining Data answer."""

from __future__ import annotations

import pandas as pd
import pytest

from critmin.data import supply, value_chain
from critmin.data.supply import (
    CHAIN_STAGES,
    NoStageSupply,
    chain_supply,
    select_stage,
    select_stages,
)
from critmin.data.value_chain import _check, chain_mask, stages_of_row


def _rows(commodity: str, source: str, stage: str, rows: list[tuple[str | None, str | None, float | None]], *,
          product: str = "p", year: int = 2024, unit: str = "t") -> list[dict[str, object]]:
    group = "extraction" if stage == "mine" else "processing"
    return [{"commodity_id": commodity, "source": source, "stage": stage, "stage_group": group, "product": product,
             "year": year, "country_iso3": iso, "aggregate": agg, "quantity": q, "unit": unit, "flag": None,
             "value_raw": str(q), "vintage": "v", "dataset_id": 1, "source_line": i + 2}
            for i, (iso, agg, q) in enumerate(rows)]


def _frame(*parts: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame([r for p in parts for r in p])


# ------------------------------------------------------------------------------ the catalogue

def test_stage_vocabulary_and_order() -> None:
    assert CHAIN_STAGES == ("mine", "processing", "metal", "component")
    assert value_chain.CHAIN_STAGES is CHAIN_STAGES


def test_catalogue_rules_map_rows_as_documented() -> None:
    # generic rules
    assert stages_of_row("copper", "USGS", "mine", "recoverable copper content") == {"mine"}
    assert stages_of_row("copper", "WMD", "mine", "Copper") == {"mine"}
    assert stages_of_row("cobalt", "IEA", "refinery", "refined cobalt, Co content") == {"processing"}
    assert stages_of_row("germanium", "WMD", "processing", "Germanium") == {"processing"}
    assert stages_of_row("rare_earths", "CURATED", "magnet", "NdFeB magnets") == {"component"}
    assert stages_of_row("rare_earths", "CURATED", "separation", "x") == {"processing"}
    # one step, two stages (the catalogue says so)
    assert stages_of_row("magnesium", "USGS", "smelter", "magnesium smelter production") == {"processing", "metal"}
    assert stages_of_row("titanium", "USGS", "processing", "sponge metal production") == {"processing", "metal"}
    # a product pattern narrows the metal stage of silicon to silicon metal
    assert stages_of_row("silicon", "USGS", "plant", "silicon metal") == {"processing", "metal"}
    assert stages_of_row("silicon", "USGS", "plant", "ferosilicon, silicon content") == {"processing"}
    # a commodity's own rule replaces the generic one: graphite anode material is a component
    assert stages_of_row("graphite", "CURATED", "chemical", "graphite anode material") == {"component"}
    assert stages_of_row("cobalt", "CURATED", "chemical", "battery-grade cobalt chemicals") == {"processing"}
    # capacity and unknown stages stand for nothing
    assert stages_of_row("copper", "USGS", "capacity_refinery", "x") == frozenset()


def test_value_chain_lists_a_commodity_in_chain_order() -> None:
    ree = value_chain.value_chain("rare_earths")
    assert list(ree["stage"]) == sorted(ree["stage"], key=CHAIN_STAGES.index)
    assert {"mine", "processing", "component"} <= set(ree["stage"])
    mg = value_chain.value_chain("magnesium")
    # magnesium's own smelter rules replace the generic USGS smelter rule
    smelter = mg[(mg["data_source"] == "USGS") & (mg["source_stage"] == "smelter")]
    assert set(smelter["commodity_id"]) == {"magnesium"} and set(smelter["stage"]) == {"processing", "metal"}
    assert (value_chain.value_chain()["description"] != "").all()


@pytest.mark.parametrize(("row", "column"), [
    ({"commodity_id": "unobtainium"}, "commodity_id"),
    ({"stage": "smelting"}, "stage"),
    ({"product_pattern": "(unclosed"}, "product_pattern"),
    ({"reference": ""}, "reference"),
])
def test_a_broken_catalogue_row_is_named(row: dict[str, str], column: str) -> None:
    good = {"commodity_id": "cobalt", "stage": "processing", "data_source": "IEA", "source_stage": "refinery",
            "product_pattern": "", "description": "d", "reference": "r"}
    with pytest.raises(ValueError, match=rf"line 3, column '{column}'"):
        _check([good, {**good, **row}], "value_chain.csv")


def test_a_repeated_rule_is_refused() -> None:
    good = {"commodity_id": "cobalt", "stage": "processing", "data_source": "IEA", "source_stage": "refinery",
            "product_pattern": "", "description": "d", "reference": "r"}
    with pytest.raises(ValueError, match="line 3: found a repeated rule"):
        _check([good, dict(good)], "value_chain.csv")


# ------------------------------------------------------------------------------ hand-made frames

def test_processing_order_usgs_iea_wmd_curated() -> None:
    usgs = _rows("copper", "USGS", "refinery", [("CHN", None, 12.0), ("CHL", None, 2.0), (None, "world", 20.0)])
    iea = _rows("copper", "IEA", "refinery", [("CHN", None, 9.0), (None, "world", 20.0)])
    wmd = _rows("copper", "WMD", "processing", [("JPN", None, 1.0), (None, "world", 20.0)])
    cur = _rows("copper", "CURATED", "refinery", [("CHN", None, 0.5), (None, "world", 1.0)], unit="fraction")
    both = _frame(usgs, iea, wmd, cur)
    assert select_stage(both, "copper", "processing", 2024).source == "USGS"
    assert select_stage(_frame(iea, wmd, cur), "copper", "processing", 2024).source == "IEA"
    s = select_stage(_frame(wmd, cur), "copper", "processing", 2024)
    assert s.source == "WMD"
    assert "source WMD (USGS has no country figure there; IEA has no country figure there)" in s.choices
    c = select_stage(_frame(cur), "copper", "processing", 2024)
    assert (c.source, c.leading, c.share_basis) == ("CURATED", ("CHN", 0.5), "world_total")
    assert c.shares is not None and c.shares.residual_share == pytest.approx(0.5)
    assert any("world = 1" in x for x in c.choices)
    with pytest.raises(NoStageSupply, match="not a mass unit"):
        _ = c.to_t  # a share is never a tonnage


def test_stage_source_order_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    iea = _rows("cobalt", "IEA", "refinery", [("CHN", None, 9.0), (None, "world", 10.0)])
    cur = _rows("cobalt", "CURATED", "chemical", [("FIN", None, 0.9), (None, "world", 1.0)], unit="fraction")
    monkeypatch.setenv("CRITMIN_DATA_STAGE_SOURCES_PROCESSING", "CURATED,IEA")
    assert supply.stage_sources("processing") == ("CURATED", "IEA")
    assert select_stage(_frame(iea, cur), "cobalt", "processing", 2024).source == "CURATED"
    # data.supply_sources admits the sources at every stage
    monkeypatch.setenv("CRITMIN_DATA_SUPPLY_SOURCES", "USGS,IEA")
    assert supply.stage_sources("processing") == ("IEA",)
    assert supply.stage_sources("refinery") == ("USGS", "IEA")


def test_metal_and_component_stages() -> None:
    mg = _rows("magnesium", "USGS", "smelter", [("CHN", None, 950.0), ("USA", None, 50.0), (None, "world", 1000.0)],
               product="magnesium smelter production")
    si = _rows("silicon", "USGS", "plant", [("CHN", None, 6.0), ("NOR", None, 4.0), (None, "world", 10.0)],
               product="silicon metal") + _rows(
        "silicon", "USGS", "plant", [("CHN", None, 7.0), ("RUS", None, 3.0), (None, "world", 10.0)],
        product="ferosilicon, silicon content")
    mag = _rows("rare_earths", "CURATED", "magnet", [("CHN", None, 0.87), (None, "world", 1.0)],
                product="NdFeB magnets", year=2018, unit="fraction")
    df = _frame(mg, si, mag)
    m = select_stage(df, "magnesium", "metal", 2024)
    p = select_stage(df, "magnesium", "processing", 2024)
    assert m.leading == p.leading == ("CHN", 0.95) and m.source_stage == "smelter"
    s = select_stage(df, "silicon", "metal", 2024)
    assert (s.product, s.leading) == ("silicon metal", ("CHN", 0.6))
    c = select_stage(df, "rare_earths", "component")
    assert (c.year, c.source, c.leading) == (2018, "CURATED", ("CHN", 0.87))
    with pytest.raises(NoStageSupply, match="no metal production of rare_earths"):
        select_stage(df, "rare_earths", "metal")
    chain = chain_supply(df, "rare_earths")
    assert list(chain) == ["component"]
    out = select_stages(df, CHAIN_STAGES)
    assert set(out) == {("magnesium", "processing", 2024), ("magnesium", "metal", 2024),
                        ("silicon", "processing", 2024), ("silicon", "metal", 2024),
                        ("rare_earths", "component", 2018)}
    assert out[("silicon", "metal", 2024)].product == "silicon metal"


def test_a_literal_source_stage_is_still_matched_as_is() -> None:
    df = _frame(_rows("copper", "USGS", "smelter", [("CHN", None, 1.0)]),
                _rows("copper", "USGS", "refinery", [("JPN", None, 1.0)]))
    assert select_stage(df, "copper", "smelter", 2024).leading == ("CHN", 1.0)
    assert chain_mask(df, "processing").all() and not chain_mask(df, "mine").any()


# ------------------------------------------------------------------------------ the real warehouse

# (commodity, ISO3, published 2024 refining share in %): SOURCES.md section 16 (IEA 2025)
IEA_REFINING_2024 = [("cobalt", "CHN", 78.4), ("lithium", "CHN", 70.2), ("graphite", "CHN", 95.7),
                     ("rare_earths", "CHN", 91.3), ("nickel", "IDN", 42.9)]


@pytest.fixture(scope="module")
def production(warehouse) -> pd.DataFrame:
    return warehouse.production_all(sources=supply.supply_sources())


@pytest.mark.parametrize(("cid", "iso", "pct"), IEA_REFINING_2024)
def test_processing_2024_is_the_iea_refining_share(production, cid: str, iso: str, pct: float) -> None:
    s = select_stage(production, cid, "processing", 2024)
    assert (s.source, s.source_stage) == ("IEA", "refinery")
    assert s.leading[0] == iso
    assert 100 * s.leading[1] == pytest.approx(pct, abs=0.05)
    assert s.to_t == 1.0 and s.unit == "t"


def test_usgs_still_answers_copper_and_gallium_processing(production) -> None:
    # refined copper 2024: USGS MCS 2025 China 12,000 of a world 27,000 kt = 44.4 %
    cu = select_stage(production, "copper", "processing", 2024)
    assert (cu.source, cu.source_stage, cu.leading[0]) == ("USGS", "refinery", "CHN")
    assert cu.leading[1] == pytest.approx(12_000 / 27_000)
    ga = select_stage(production, "gallium", "processing", 2024)
    assert (ga.source, ga.product, ga.leading[0]) == ("USGS", "primary production", "CHN")


# the pre-change answers (select_stages of commit 3180649 on the same warehouse), frozen:
# (commodity, stage, year) -> (source, source stage, product, leading country)
BEFORE = {
    ("germanium", "processing", 2024): ("WMD", "processing", "Germanium", "CHN"),
    ("magnesium", "processing", 2024): ("USGS", "smelter", "magnesium smelter production", "CHN"),
    ("titanium", "processing", 2024): ("USGS", "processing", "sponge metal production", "CHN"),
    ("silicon", "processing", 2024): ("USGS", "plant", "ferosilicon, silicon content", "CHN"),
    ("aluminum", "processing", 2024): ("USGS", "smelter", "aluminum", "CHN"),
    ("bauxite", "processing", 2024): ("USGS", "refinery", "alumina - calcined equivalent weights", "CHN"),
    ("cobalt", "mine", 2024): ("USGS", "mine", "cobalt content", "COD"),
    ("rare_earths", "mine", 2024): ("USGS", "mine", "rare-earth-oxide equivalent", "CHN"),
}


@pytest.mark.parametrize("key", sorted(BEFORE))
def test_pre_change_answers_are_kept(production, key: tuple[str, str, int]) -> None:
    s = select_stage(production, *key)
    assert (s.source, s.source_stage, s.product, s.leading[0]) == BEFORE[key]


def test_new_sources_never_replace_a_usgs_or_wmd_answer(production) -> None:
    """Every mine/processing answer that USGS or WMD gave alone is the answer with all sources."""
    old = select_stages(production[production["source"].isin(["USGS", "WMD"])], ["mine", "processing"],
                        sources=("USGS", "WMD"))
    new = select_stages(production, ["mine", "processing"])
    changed = [k for k, s in old.items() if s.shares is not None and (
        new[k].source, new[k].product, new[k].leading) != (s.source, s.product, s.leading)]
    assert changed == []
    added = sorted(k for k in new if k not in old or (old[k].shares is None and new[k].shares is not None))
    assert {(c, s) for c, s, _ in added} <= {("cobalt", "processing"), ("graphite", "processing"),
                                             ("lithium", "processing"), ("nickel", "processing"),
                                             ("rare_earths", "processing"), ("manganese", "processing")}
    assert ("cobalt", "processing", 2024) in added and ("rare_earths", "processing", 2023) in added


def test_chain_of_rare_earths_and_graphite(production) -> None:
    ree = chain_supply(production, "rare_earths", 2024)
    assert list(ree) == ["mine", "processing", "component"]
    assert isinstance(ree["component"], NoStageSupply)  # the magnet shares are for 2010, 2018, 2025
    gr = chain_supply(production, "graphite")
    assert gr["component"].source == "CURATED" and gr["component"].leading == ("CHN", 0.9)
    mg = chain_supply(production, "magnesium", 2024)
    assert list(mg) == ["processing", "metal"] and mg["metal"].leading == mg["processing"].leading
