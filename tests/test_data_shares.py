"""Country shares of production (critmin.data.shares.calc_shares), hand-worked."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.data.shares import calc_shares


def _frame(rows: list[tuple[str | None, str | None, float | None]], product: str = "p") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"commodity_id": "rare_earths", "stage": "mine", "product": product, "year": 2024,
             "country_iso3": iso3, "aggregate": agg, "quantity": q}
            for iso3, agg, q in rows
        ]
    )


def test_share_of_the_world_total() -> None:
    # MCS 2025, Rare Earths: China 270,000 t of a rounded world total of 390,000 t = 69.23 %
    df = calc_shares(_frame([("CHN", None, 270_000.0), ("USA", None, 45_000.0), (None, "other", 1_100.0), (None, "world", 390_000.0)]))
    chn = df[df["country_iso3"] == "CHN"].iloc[0]
    assert chn["share"] == pytest.approx(0.6923, abs=5e-5)
    assert chn["share_basis"] == "world_total"
    assert df[df["aggregate"] == "world"]["share"].iloc[0] == 1.0


def test_share_of_the_sum_of_countries_without_a_world_row() -> None:
    # 3 + 1 (+ 'other' 1) = 5 -> 0.6, 0.2, 0.2
    df = calc_shares(_frame([("AAA", None, 3.0), ("BBB", None, 1.0), (None, "other", 1.0)]))
    assert df["share"].tolist() == pytest.approx([0.6, 0.2, 0.2])
    assert set(df["share_basis"]) == {"sum_of_countries"}


def test_withheld_rows_get_no_share_and_mark_the_basis_incomplete() -> None:
    df = calc_shares(_frame([("AAA", None, 3.0), ("BBB", None, None), ("CCC", None, 1.0)]))
    assert df["share"].iloc[0] == pytest.approx(0.75)  # W is not counted as 0 ... nor given a share
    assert math.isnan(df["share"].iloc[1])
    assert set(df["share_basis"]) == {"sum_of_countries+incomplete"}


def test_products_are_separate_groups() -> None:
    a = _frame([("AAA", None, 1.0), (None, "world", 4.0)], product="sheet")
    b = _frame([("AAA", None, 9.0), (None, "world", 10.0)], product="scrap")
    df = calc_shares(pd.concat([a, b], ignore_index=True))
    got = dict(zip(df["product"] + ":" + df["country_iso3"].fillna(df["aggregate"]), df["share"], strict=True))
    assert got["sheet:AAA"] == pytest.approx(0.25)
    assert got["scrap:AAA"] == pytest.approx(0.9)


def test_empty_frame() -> None:
    out = calc_shares(_frame([]).reindex(columns=["commodity_id", "stage", "product", "year", "country_iso3", "aggregate", "quantity"]))
    assert out.empty
    assert {"share", "share_basis"} <= set(out.columns)


@settings(deadline=None)  # pandas / first-use catalogue loading can be slow on a busy CI machine
@given(st.lists(st.floats(min_value=0.001, max_value=1e9, allow_nan=False), min_size=1, max_size=20))
def test_shares_without_world_row_sum_to_one(qs: list[float]) -> None:
    df = calc_shares(_frame([(f"C{i:02d}", None, q) for i, q in enumerate(qs)]))
    assert df["share"].sum() == pytest.approx(1.0)
    assert (df["share"] >= 0).all()
