"""Markets on the real data: the raw Comtrade extracts and the imported warehouse.

The known-event check runs the monitor, with its documented default thresholds, on China's
monthly exports by partner (comtrade_china_exports/country_monthly_stats.csv) and checks
that it flags the gallium/germanium export collapse after the August 2023 licensing, as the
event history table (disruption/data/export_restrictions.csv) records it.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from critmin.markets import signals as sg
from critmin.markets.api import PRODUCT_COMMODITIES
from critmin.markets.events import load_events
from critmin.markets.unitvalues import monthly_series

PARTNERS = {"South Korea": "KOR", "Japan": "JPN", "USA": "USA", "Germany": "DEU", "Netherlands": "NLD",
            "India": "IND", "Taiwan": "TWN", "Vietnam": "VNM", "Thailand": "THA", "Poland": "POL",
            "Hong Kong": "HKG", "Belgium": "BEL", "Italy": "ITA", "Russia": "RUS", "Hungary": "HUN",
            "Malaysia": "MYS"}  # fmt: skip


def _china_csv(data_dir: Path) -> Path:
    p = data_dir / "comtrade_china_exports" / "country_monthly_stats.csv"
    if not p.is_file():
        pytest.skip(f"{p} not available")
    return p


def _raw_rows(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    for i, r in enumerate(rows):
        r["line"] = i + 2  # header is line 1
    return rows


def _frame_from_raw(rows: list[dict], group: str) -> pd.DataFrame:
    sel = [r for r in rows if r["broad_group"] == group]
    return pd.DataFrame({
        "source": "CHINA_EXPORTS", "year": [int(r["period_dt"][:4]) for r in sel],
        "month": [int(r["period_dt"][5:7]) for r in sel], "reporter_iso3": "CHN",
        "partner_iso3": [PARTNERS[r["partner_name"]] for r in sel], "flow": "export",
        "hs_code": group, "commodity_id": "gallium", "stage_group": "processing",
        "value_usd": [float(r["val"]) for r in sel], "qty_t": [float(r["qty"]) / 1000 for r in sel],
        "dataset_id": 1, "source_line": [r["line"] for r in sel],
    })  # fmt: skip


def _gage_2023_events() -> pd.DataFrame:
    ev = load_events()
    m = (ev["country_iso3"] == "CHN") & ev["commodity_id"].isin(["gallium", "germanium"]) & (
        ev["effective"].dt.strftime("%Y-%m") == "2023-08"
    )
    assert m.any(), "event history table lacks China's August 2023 Ga/Ge controls"
    return ev[m]


def test_gallium_germanium_2023_collapse_found_in_raw_extract(data_dir):
    rows = _raw_rows(_china_csv(data_dir))
    trade = _frame_from_raw(rows, "Gallium/Germanium")
    monthly = sg.add_partner_totals(monthly_series(trade))
    groups = {("CHINA_EXPORTS", "Gallium/Germanium", "gallium"): set(PRODUCT_COMMODITIES["gallium/germanium"])}
    tests = sg.event_volume_tests(monthly, load_events(), groups)
    expected = _gage_2023_events()
    hits = tests[tests["flagged"] & (tests["direction"] == "collapse") & tests["event_id"].isin(expected["event_id"])]
    assert not hits.empty, tests[tests["event_id"].isin(expected["event_id"])][["importer_iso3", "effect", "p_value"]]
    assert set(hits["commodity_id"]) == {"gallium", "germanium"}
    # The evidence reproduces from the raw file, by hand: Japan, baseline = the 12 months
    # before the announcement month (2022-07..2023-06), post = 6 months from 2023-08.
    jpn = hits[hits["importer_iso3"] == "JPN"].iloc[0]
    q = {r["period_dt"][:7]: float(r["qty"]) / 1000 for r in rows
         if r["broad_group"] == "Gallium/Germanium" and r["partner_name"] == "Japan"}  # fmt: skip
    pre = [q[f"2022-{m:02d}"] for m in range(7, 13)] + [q[f"2023-{m:02d}"] for m in range(1, 7)]
    post = [q[m] for m in ("2023-08", "2023-09", "2023-10", "2023-11", "2023-12", "2024-01")]
    assert jpn["effect"] == pytest.approx(sum(post) / 6 / (sum(pre) / 12))
    assert jpn["p_value"] == pytest.approx(stats.mannwhitneyu(post, pre).pvalue)
    assert jpn["effect"] < 0.5


# ---------------------------------------------------------------- the imported warehouse


def _wh_trade_rows(warehouse, source: str) -> pd.DataFrame:
    df = warehouse.query(
        "SELECT t.* FROM trade t JOIN current_dataset d USING (dataset_id) WHERE t.source = ?", [source]
    )
    if df.empty:
        pytest.skip(f"warehouse has no {source} trade rows (importer not available)")
    return df


def test_unit_values_match_hand_computed_raw_rows(warehouse, data_dir):
    from critmin.markets.api import trade_flows

    wt = _wh_trade_rows(warehouse, "CHINA_EXPORTS")
    path = _china_csv(data_dir)
    raw = _raw_rows(path)
    flows = trade_flows(warehouse, exporter="CHN", source="CHINA_EXPORTS")
    ds = warehouse.datasets()
    ds_ids = set(ds[ds["source_path"].str.contains("country_monthly_stats")]["dataset_id"])
    checked = 0
    for r in (raw[0], raw[1000], raw[2500]):
        if float(r["qty"]) <= 0:
            continue
        hand = float(r["val"]) / float(r["qty"])  # USD / kg
        got = flows[flows["dataset_id"].isin(ds_ids) & (flows["source_line"] == r["line"])]
        assert len(got) == 1, f"line {r['line']} not found once in the warehouse"
        assert got["uv_usd_per_kg"].iloc[0] == pytest.approx(hand, rel=1e-9)
        checked += 1
    assert checked == 3
    assert len(wt) > 0


def test_every_signal_reproduces_from_stored_rows(warehouse):
    from critmin.markets.api import signals

    _wh_trade_rows(warehouse, "CHINA_EXPORTS")
    df = signals(warehouse, exporter="CHN", kinds=("volume_change", "price_discrimination", "structural_break"))
    assert not df.empty
    for r in df.itertuples():
        rows = pd.DataFrame(r.rows, columns=["dataset_id", "source_line"])
        stored = _fetch(warehouse, rows)
        assert len(stored) == len(rows), r.signal_id
        stored["ym"] = stored["year"].astype(str) + "-" + stored["month"].astype(int).map("{:02d}".format)
        if r.kind == "volume_change":
            by = stored.groupby("ym")["qty_t"].sum()
            pre = [by.get(m, 0.0) for m in r.evidence["pre"]]
            post = [by.get(m, 0.0) for m in r.evidence["post"]]
            assert pre == pytest.approx(list(r.evidence["pre"].values()))
            assert r.effect == pytest.approx(np.mean(post) / np.mean(pre))
            assert r.p_value == pytest.approx(stats.mannwhitneyu(post, pre).pvalue)
        elif r.kind == "price_discrimination":
            uv = {}
            for imp, g in stored.groupby("importer_iso3"):
                uv[imp] = g["value_usd"].sum() / (1000 * g["qty_t"].sum())
            assert max(uv.values()) / min(uv.values()) == pytest.approx(r.effect)
        elif r.kind == "structural_break":
            by = stored.groupby("ym")["qty_t"].sum()
            months = list(r.evidence["series"])
            y = np.log1p([by.get(m, 0.0) for m in months])
            b = months.index(r.evidence["break"])
            assert math.exp(y[b:].mean() - y[:b].mean()) == pytest.approx(r.effect)


def _fetch(warehouse, rows: pd.DataFrame) -> pd.DataFrame:
    con = warehouse.con.cursor()
    try:
        con.register("wanted", rows)
        return con.execute(
            "SELECT t.* FROM trade t JOIN wanted w ON t.dataset_id = w.dataset_id AND t.source_line = w.source_line"
        ).df()
    finally:
        con.close()


def test_warehouse_monitor_finds_gallium_germanium_collapse(warehouse):
    from critmin.markets.api import signals

    _wh_trade_rows(warehouse, "CHINA_EXPORTS")
    expected = _gage_2023_events()
    df = signals(warehouse, exporter="CHN", kinds=("volume_change",))
    hits = df[(df["direction"] == "collapse") & df["event_id"].isin(expected["event_id"])]
    assert not hits.empty


def test_reference_prices_convert_each_series_from_its_warehouse_unit(warehouse):
    from critmin.markets.api import reference_prices
    from critmin.markets.reference import load_reference_table

    table = load_reference_table()
    refs = reference_prices(warehouse, table)
    # the World Bank nickel series is in USD/mt (= USD/t): USD/kg is the price / 1000
    ni = warehouse.prices(series="NICKEL")
    assert set(ni["unit"]) == {"USD/mt"}
    got = refs[("nickel", "7502")]
    assert got["usd_per_kg"].to_numpy() == pytest.approx(ni["quantity"].dropna().to_numpy() / 1000.0)
    # cobalt oxides: USGS LME price in USD/lb x 1/0.45359237 kg x the Co content of Co3O4
    co = warehouse.us_salient(commodity="cobalt", variable="Price_LME_dlb")
    got = refs[("cobalt", "282200")]
    assert got["usd_per_kg"].to_numpy() == pytest.approx(co["quantity"].dropna().to_numpy() / 0.45359237 * 0.734)
    # a table whose unit does not match the series is an error naming the row
    wrong = table.assign(reference_unit=table["reference_unit"].where(table["commodity_id"] != "nickel", "USD/kg"))
    with pytest.raises(ValueError, match="nickel/7502, column 'reference_unit': 'USD/kg'"):
        reference_prices(warehouse, wrong)


def test_floor_resolves_the_commodity_once(warehouse, monkeypatch):
    from critmin.data.normalize import commodities
    from critmin.markets import api, floor_api

    calls = []

    def counting(text):
        calls.append(text)
        return commodities.resolve(text)

    monkeypatch.setattr(floor_api, "resolve_commodity", counting)
    monkeypatch.setattr(api, "resolve_commodity", lambda text: pytest.fail(f"resolved again: {text!r}"))
    out = floor_api.evaluate_floor(warehouse, commodity="Rare earths ", product="NdPr-oxide", floor=110.0,
                                   volume_t_per_year=1e4, years=2, runs=20, random_state=1)
    assert calls == ["Rare earths "] and out["history"]
