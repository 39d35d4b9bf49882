"""Invariants of the real warehouse's production answers (USGS, 2023-2024, every commodity):
shares are shares, each product group has at most one world total, and the known errors in
the source files are listed here explicitly (so a new one fails the test)."""

from __future__ import annotations

import pandas as pd
import pytest

from critmin.data.supply import production_with_shares

YEARS = (2023, 2024)

#: (commodity, year, product) groups where the published file itself is inconsistent
SOURCE_ERRORS = {
    # MCS2025_World_Data.csv line 264: Clays, World total (rounded), kaolin, PROD_EST_ 2024 = 4400
    # (2023: 44,400; the countries listed alone sum to 44,000): a dropped digit in the release.
    ("clays", 2024, "kaolin"),
}


@pytest.fixture(scope="module")
def answers(warehouse) -> pd.DataFrame:
    cids = warehouse.query("SELECT DISTINCT commodity_id FROM production WHERE source = 'USGS' ORDER BY 1")["commodity_id"]
    frames = []
    for cid in cids:
        for year in YEARS:
            df = warehouse.production(cid, year=year)
            if not df.empty:
                frames.append(production_with_shares(df))
    return pd.concat(frames, ignore_index=True)


def test_country_shares_are_fractions(answers: pd.DataFrame) -> None:
    countries = answers[answers["aggregate"].isna() & answers["share"].notna()]
    assert len(countries) > 1000
    over = countries[countries["share"] > 1.0]
    over = over[[(r.commodity_id, r.year, r.product) not in SOURCE_ERRORS for r in over.itertuples()]]
    assert over.empty, over[["commodity_id", "year", "product", "country_iso3", "quantity", "share"]]
    assert (countries["share"] >= 0).all()


def test_countries_add_up_to_the_world_total(answers: pd.DataFrame) -> None:
    """Countries + 'Other countries' = the rounded world total, within USGS rounding (±10 %)."""
    bad = []
    for (cid, stage, product, _measure, year), g in answers.groupby(["commodity_id", "stage", "product", "measure", "year"]):
        world = g[g["aggregate"] == "world"]["quantity"].dropna()
        parts = g[g["aggregate"].isna() | (g["aggregate"] == "other")]["quantity"]
        if len(world) != 1 or world.iloc[0] <= 0 or parts.isna().any() or len(parts) < 2:
            continue
        ratio = parts.sum() / world.iloc[0]
        if not 0.9 <= ratio <= 1.1 and (cid, year, product) not in SOURCE_ERRORS:
            bad.append((cid, stage, product, year, round(ratio, 3)))
    assert bad == []


def test_one_world_total_per_product(answers: pd.DataFrame) -> None:
    world = answers[answers["aggregate"] == "world"]
    counts = world.groupby(["commodity_id", "stage", "product", "measure", "year"]).size()
    assert counts[counts > 1].empty, counts[counts > 1]
