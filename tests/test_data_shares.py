"""Country shares of production with the rows every analysis uses
(critmin.data.supply.production_with_shares), hand-worked."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.data.supply import production_with_shares, select_stage

Row = tuple[str | None, str | None, float | None]  # (ISO3, aggregate, quantity)


def _frame(rows: list[Row], *, product: str = "p", stage: str = "mine", year: int = 2024,
           commodity: str = "rare_earths") -> pd.DataFrame:
    group = "extraction" if stage == "mine" else "processing"
    return pd.DataFrame([
        {"commodity_id": commodity, "source": "USGS", "stage": stage, "stage_group": group,
         "product": product, "year": year, "country_iso3": iso3, "aggregate": agg, "quantity": q,
         "unit": "t", "flag": None if q is not None else "W", "value_raw": "W" if q is None else str(q),
         "vintage": "MCS2025", "dataset_id": 1, "source_line": i + 2}
        for i, (iso3, agg, q) in enumerate(rows)
    ])


def _share(df: pd.DataFrame, key: str, **where: object) -> float:
    sel = df[(df["country_iso3"] == key) | (df["aggregate"] == key)]
    for col, val in where.items():
        sel = sel[sel[col] == val]
    assert len(sel) == 1, sel
    return float(sel["share"].iloc[0])


def test_share_of_the_world_total() -> None:
    # MCS 2025, Rare Earths: China 270,000 t of a rounded world total of 390,000 t = 69.23 %
    df = production_with_shares(_frame([("CHN", None, 270_000.0), ("USA", None, 45_000.0),
                                        (None, "other", 1_100.0), (None, "world", 390_000.0)]))
    assert _share(df, "CHN") == pytest.approx(0.6923, abs=5e-5)
    assert _share(df, "USA") == pytest.approx(45_000 / 390_000)
    assert set(df["share_basis"]) == {"world_total"}
    assert _share(df, "world") == 1.0
    assert df["selected"].all()  # the only product: these are the rows of the mine stage


def test_share_of_the_sum_of_rows_without_a_world_row() -> None:
    # 3 + 1 (+ 'other' 1) = 5 -> 0.6, 0.2, 0.2
    df = production_with_shares(_frame([("AAA", None, 3.0), ("BBB", None, 1.0), (None, "other", 1.0)]))
    assert df["share"].tolist() == pytest.approx([0.6, 0.2, 0.2])
    assert set(df["share_basis"]) == {"sum_of_rows"}


def test_withheld_rows_get_no_share_and_mark_the_basis_incomplete() -> None:
    df = production_with_shares(_frame([("AAA", None, 3.0), ("BBB", None, None), ("CCC", None, 1.0)]))
    assert df["share"].iloc[0] == pytest.approx(0.75)  # W is not counted as 0 ... nor given a share
    assert math.isnan(df["share"].iloc[1])
    assert df["share"].iloc[2] == pytest.approx(0.25)
    assert set(df["share_basis"]) == {"sum_of_rows+incomplete"}


def test_several_world_totals_the_smallest_not_below_the_country_sum() -> None:
    # countries 60 + 40 = 100; world rows 99 (>= 98 % of 100) and 120: 99 is the total
    df = production_with_shares(_frame([("AAA", None, 60.0), ("BBB", None, 40.0),
                                        (None, "world", 120.0), (None, "world", 99.0)]))
    assert _share(df, "AAA") == pytest.approx(60 / 99)
    assert _share(df, "BBB") == pytest.approx(40 / 99)


def test_a_world_total_far_below_the_countries_is_not_the_denominator() -> None:
    # MCS 2025 kaolin 2024 prints a world total of 4,400 for countries summing to 44,000 (a
    # dropped digit): beyond the 5 % rounding allowance the shares are of the country sum
    df = production_with_shares(_frame([("AAA", None, 24_000.0), ("BBB", None, 20_000.0),
                                        (None, "world", 4_400.0)], product="kaolin", commodity="clays"))
    assert _share(df, "AAA") == pytest.approx(24_000 / 44_000)
    assert set(df["share_basis"]) == {"sum_of_rows"}
    # ... while a rounded total the countries exceed by less than 5 % stays the denominator
    df = production_with_shares(_frame([("AAA", None, 620.0), ("BBB", None, 425.0), (None, "world", 1_000.0)]))
    assert _share(df, "AAA") == pytest.approx(0.62)
    assert set(df["share_basis"]) == {"world_total"}


def test_products_are_separate_groups_and_the_one_with_a_world_total_is_selected() -> None:
    # ilmenite: AAA 1 of a world total 4; rutile: AAA 9, BBB 1, CCC 2 of their sum 12, no total.
    # Shares are never mixed across products; the analyses use the product with a world total
    # even though rutile lists more countries.
    a = _frame([("AAA", None, 1.0), (None, "world", 4.0)], product="ilmenite")
    b = _frame([("AAA", None, 9.0), ("BBB", None, 1.0), ("CCC", None, 2.0)], product="rutile")
    df = production_with_shares(pd.concat([a, b], ignore_index=True))
    assert _share(df, "AAA", product="ilmenite") == pytest.approx(0.25)
    assert _share(df, "AAA", product="rutile") == pytest.approx(0.75)
    assert set(df.loc[df["selected"], "product"]) == {"ilmenite"}
    assert df["selected"].sum() == 2


def test_between_products_with_world_totals_more_country_figures_then_content_basis_win() -> None:
    gross = _frame([("AAA", None, 5.0), ("BBB", None, 5.0), (None, "world", 10.0)], product="gross weight")
    content = _frame([("AAA", None, 1.0), ("BBB", None, 1.0), (None, "world", 2.0)], product="cobalt content")
    three = _frame([("AAA", None, 1.0), ("BBB", None, 1.0), ("CCC", None, 1.0), (None, "world", 3.0)],
                   product="three countries")
    df = production_with_shares(pd.concat([gross, content], ignore_index=True))
    assert set(df.loc[df["selected"], "product"]) == {"cobalt content"}
    df = production_with_shares(pd.concat([gross, content, three], ignore_index=True))
    assert set(df.loc[df["selected"], "product"]) == {"three countries"}


def test_processing_selects_the_preferred_stage_each_year() -> None:
    # 2024: refinery and smelter both reported -> refinery (first of
    # risk.processing_stage_preference); 2023: only a smelter figure -> smelter
    frames = [
        _frame([("AAA", None, 8.0), ("BBB", None, 2.0)], stage="refinery", product="metal"),
        _frame([("AAA", None, 1.0), ("CCC", None, 3.0)], stage="smelter", product="metal"),
        _frame([("CCC", None, 4.0), ("DDD", None, 4.0)], stage="smelter", product="metal", year=2023),
        _frame([("AAA", None, 50.0), (None, "world", 100.0)], stage="mine", product="ore"),
    ]
    df = production_with_shares(pd.concat(frames, ignore_index=True))
    chosen = df[df["selected"]].groupby("year")["stage"].agg(lambda s: sorted(set(s))).to_dict()
    assert chosen == {2023: ["smelter"], 2024: ["mine", "refinery"]}
    # shares are still given for the smelter rows of 2024 (of their own stage's total)
    assert _share(df, "CCC", stage="smelter", year=2024) == pytest.approx(0.75)
    # the selected rows are the ones select_stage answers with, and give its leading producer
    prod = pd.concat(frames, ignore_index=True)
    sup = select_stage(prod, "rare_earths", "processing", 2024)
    assert sorted(sup.rows.index) == sorted(df.index[df["selected"] & (df["stage_group"] == "processing")
                                                     & (df["year"] == 2024)])
    assert sup.leading == ("AAA", pytest.approx(0.8))


def test_empty_frame() -> None:
    out = production_with_shares(_frame([]).reindex(columns=list(_frame([("A", None, 1.0)]).columns)))
    assert out.empty
    assert {"share", "share_basis", "selected"} <= set(out.columns)


@settings(deadline=None)  # pandas / first-use catalogue loading can be slow on a busy CI machine
@given(st.lists(st.floats(min_value=0.001, max_value=1e9, allow_nan=False), min_size=1, max_size=20))
def test_shares_without_world_row_sum_to_one(qs: list[float]) -> None:
    df = production_with_shares(_frame([(f"C{i:02d}", None, q) for i, q in enumerate(qs)]))
    assert df["share"].sum() == pytest.approx(1.0)
    assert (df["share"] >= 0).all()
    assert df["selected"].all()
