"""Signal detectors and unit values on small hand-built inputs with hand-worked answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from critmin.markets import signals as sg
from critmin.markets.api import convert_price, unit_from_variable
from critmin.markets.unitvalues import calc_unit_value, monthly_series, unit_values


def _trade(rows):
    cols = ["source", "year", "month", "reporter_iso3", "partner_iso3", "flow", "hs_code",
            "commodity_id", "stage_group", "value_usd", "qty_t", "dataset_id", "source_line"]
    return pd.DataFrame(rows, columns=cols)


def _events(**kw):
    e = {
        "event_id": "EV1", "country_iso3": "CHN", "commodity_id": "gallium",
        "announced": pd.Timestamp("2023-07-03"), "effective": pd.Timestamp("2023-08-01"),
        "ended": pd.NaT, "targets": (),
    }
    e.update(kw)
    return pd.DataFrame([e])


def _series(qty_by_month: dict[str, float], partner="JPN", hs="GRP", cid="gallium", value=None):
    rows = []
    for i, (m, q) in enumerate(sorted(qty_by_month.items())):
        y, mm = (int(x) for x in m.split("-"))
        v = value(q) if value else q * 1000.0 * 10
        rows.append(["SRC", y, mm, "CHN", partner, "export", hs, cid, "processing", v, q, 7, 100 + i])
    return _trade(rows)


def test_unit_value_hand_worked_and_not_computable():
    # 9,328,564 USD for 3,424.288594 t -> 2.7242... USD/kg (first row of the China extract)
    uv = calc_unit_value(np.array([9328564.0, 87500.0, 5.0]), np.array([3424.288594, 0.0, np.nan]), 0.001)
    assert uv[0] == pytest.approx(9328564.0 / 3424288.594)
    assert math.isnan(uv[1]) and math.isnan(uv[2])
    df = unit_values(_trade([
        ["S", 2020, None, "USA", "CHN", "import", "811292", "gallium", "processing", 12636598.0, 35.97, 1, 2],
        ["S", 2020, 3, "CHN", "USA", "export", "811292", "gallium", "processing", 10.0, 0.0, 1, 3],
    ]))
    assert df.loc[0, "exporter_iso3"] == "CHN" and df.loc[0, "importer_iso3"] == "USA"
    assert df.loc[0, "uv_usd_per_kg"] == pytest.approx(12636598.0 / 35970.0)
    assert df.loc[0, "period"] == "2020" and df.loc[1, "period"] == "2020-03"
    assert df.loc[1, "uv_note"].startswith("not computable")


def test_unknown_flow_is_an_error_naming_the_column():
    with pytest.raises(ValueError, match="flow"):
        unit_values(_trade([["S", 2020, 1, "CHN", "USA", "transit", "1", "x", "p", 1.0, 1.0, 1, 2]]))


def test_collapse_hand_worked_mann_whitney():
    # Baseline 2022-07..2023-06 all 100 t; 2023-08..2024-01 all 30 t. Every post value is
    # below every baseline value, so U = 0 and the exact two-sided p = 2 / C(18, 6).
    q = {f"{y}-{m:02d}": 100.0 + 0.5 * m + 10 * (y - 2022) for y in (2022, 2023) for m in range(1, 13)}
    for m in ("2023-08", "2023-09", "2023-10", "2023-11", "2023-12"):
        q[m] = 30.0 + int(m[-2:]) * 0.1
    q["2024-01"] = 31.7
    monthly = monthly_series(_series(q))
    t = sg.event_volume_tests(monthly, _events())
    assert len(t) == 1
    r = t.iloc[0]
    pre = [q[f"{y}-{m:02d}"] for y, m in [(2022, m) for m in range(7, 13)] + [(2023, m) for m in range(1, 7)]]
    post = [q[m] for m in ("2023-08", "2023-09", "2023-10", "2023-11", "2023-12", "2024-01")]
    assert r["effect"] == pytest.approx(np.mean(post) / np.mean(pre))
    assert r["statistic"] == 0.0
    assert r["p_value"] == pytest.approx(2 / math.comb(18, 6))
    assert r["flagged"] and r["direction"] == "collapse"
    assert r["window_start"] == "2022-07" and r["window_end"] == "2024-01"
    # rows: the 18 months used, with their (dataset_id, source_line)
    assert len(r["rows"]) == 18


def test_small_change_is_not_flagged_and_short_series_is_not_computable():
    q = {f"{y}-{m:02d}": 100.0 + m for y in (2022, 2023) for m in range(1, 13)}
    q["2024-01"] = 90.0
    t = sg.event_volume_tests(monthly_series(_series(q)), _events())
    assert not t.iloc[0]["flagged"]
    short = {k: v for k, v in q.items() if k >= "2023-01"}
    t2 = sg.event_volume_tests(monthly_series(_series(short)), _events())
    assert not t2.iloc[0]["flagged"]
    assert t2.iloc[0]["description"].startswith("not computable")


def test_event_targets_and_missing_months_are_zero_filled():
    q = {f"{y}-{m:02d}": 50.0 for y in (2022, 2023) for m in range(1, 13)}
    for m in ("2023-08", "2023-09", "2023-10", "2023-11", "2023-12"):
        del q[m]  # no rows: no trade
    q["2024-01"] = 50.0
    monthly = monthly_series(_series(q))
    assert sg.event_volume_tests(monthly, _events(targets=("USA",))).empty
    r = sg.event_volume_tests(monthly, _events(targets=("JPN",))).iloc[0]
    assert r["evidence"]["zero_filled_months"] == ["2023-08", "2023-09", "2023-10", "2023-11", "2023-12"]
    assert r["effect"] == pytest.approx(50.0 / 6 / 50.0)
    assert r["flagged"]


def test_structural_break_found_at_the_shift():
    rng = np.random.default_rng(0)
    dates = pd.date_range("2018-01-01", "2024-12-01", freq="MS")
    q = {f"{d.year}-{d.month:02d}": float(np.exp(6.0 + (0 if d < pd.Timestamp("2021-04-01") else -1.5) + rng.normal(0, 0.1)))
         for d in dates}
    br = sg.structural_breaks(monthly_series(_series(q)))
    assert list(br["evidence"].map(lambda e: e["break"])) == ["2021-04"]
    r = br.iloc[0]
    assert r["direction"] == "down"
    assert r["effect"] == pytest.approx(math.exp(r["evidence"]["mean_after"] - r["evidence"]["mean_before"]))


def test_no_break_in_stationary_noise():
    rng = np.random.default_rng(1)
    dates = pd.date_range("2018-01-01", "2024-12-01", freq="MS")
    q = {f"{d.year}-{d.month:02d}": float(np.exp(6.0 + rng.normal(0, 0.2))) for d in dates}
    assert sg.structural_breaks(monthly_series(_series(q))).empty


def test_price_discrimination_hand_worked():
    rows = []
    line = 2
    for m in range(1, 13):
        for partner, uv in (("JPN", 30.0 + m * 0.1), ("USA", 10.0 + m * 0.1), ("KOR", 11.0 + m * 0.05)):
            rows.append(["S", 2023, m, "CHN", partner, "export", "811292", "gallium", "p", uv * 1000.0 * 5, 5.0, 1, line])
            line += 1
    pdisc = sg.price_discrimination(monthly_series(_trade(rows)))
    r = pdisc.iloc[0]
    jpn = np.mean([30.0 + m * 0.1 for m in range(1, 13)])
    usa = np.mean([10.0 + m * 0.1 for m in range(1, 13)])
    assert r["effect"] == pytest.approx(jpn / usa)
    assert r["importer_iso3"] == "JPN;USA"
    assert r["flagged"]
    # uniform prices: not flagged
    flat = [r_[:9] + [10.0 * 1000 * 5] + r_[10:] for r_ in rows]
    assert not sg.price_discrimination(monthly_series(_trade(flat))).iloc[0]["flagged"]


def test_price_units_from_usgs_variable_names():
    assert unit_from_variable("Price_Nd2O3_dkg") == "USD/kg"
    assert unit_from_variable("Price_LME_dlb") == "USD/lb"
    assert unit_from_variable("Price_dt") == "USD/t"
    # 1 USD/lb = 2.20462 USD/kg; 1,000 USD/t = 1 USD/kg
    assert convert_price(1.0, "USD/lb", "USD/kg") == pytest.approx(2.2046226218)
    assert convert_price(1000.0, "USD/t", "USD/kg") == pytest.approx(1.0)


def test_price_units_are_the_one_unit_table():
    from critmin.data.normalize.units import PRICE_TO_USD_PER_T
    from critmin.markets.priceunits import is_convertible, price_unit

    # the World Bank's "$/mt" is US$ per metric ton, never per million tonnes
    assert price_unit("USD/mt") == "USD/t" and "USD/mt" not in PRICE_TO_USD_PER_T
    assert convert_price(8_000.0, "USD/mt", "USD/kg") == pytest.approx(8.0)
    assert convert_price(1.0, "USD/troy oz", "USD/kg") == pytest.approx(1000 / 31.1034768)
    # every unit of the one table converts here (e.g. USD/g, USD/short ton), by its factors
    for u, f in PRICE_TO_USD_PER_T.items():
        assert is_convertible(u) and convert_price(1.0, u, "USD/t") == pytest.approx(f)
    assert not is_convertible("USD/mmbtu") and not is_convertible("Mt")
    with pytest.raises(ValueError, match="price unit 'USD/mmbtu' not convertible"):
        convert_price(1.0, "USD/mmbtu", "USD/kg")


def test_reference_table_units_are_checked(tmp_path):
    from critmin.markets.reference import REFERENCE_PATH, load_reference_table

    table = load_reference_table()
    assert "to_usd_per_kg" not in table.columns  # the factor comes from the one unit table
    bad = REFERENCE_PATH.read_text().replace("Price_LME_dlb,USD/lb", "Price_LME_dlb,USD/bag", 1)
    (tmp_path / "ref.csv").write_text(bad)
    with pytest.raises(ValueError, match=r"ref.csv, line 3, column 'reference_unit': 'USD/bag'"):
        load_reference_table(tmp_path / "ref.csv")
