"""Comtrade fallback for consumer exposure where BACI has no flows (issue 3)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from critmin.data.tradefallback import fallback_cells, pick
from critmin.risk import api


def _flows(rows):
    cols = ["source", "year", "consumer", "commodity_id", "partner", "flow", "value_usd", "qty_t", "hs_codes",
            "dataset_id"]
    return pd.DataFrame(rows, columns=cols)


def test_partner_breakdown_accepted_world_and_china_rejected():
    rows = [
        # a full breakdown: partners 60 + 40 = world 100 -> coverage 1
        ("COMTRADE_JPN2020", 2020, "JPN", "gallium", "WLD", "import", 100.0, 10.0, "811292", 1),
        ("COMTRADE_JPN2020", 2020, "JPN", "gallium", "KOR", "import", 60.0, 4.0, "811292", 1),
        ("COMTRADE_JPN2020", 2020, "JPN", "gallium", "CHN", "import", 40.0, 6.0, "811292", 1),
        # World + China only: China 20 of 100 -> rejected
        ("COMTRADE_CMM", 2024, "USA", "gallium", "WLD", "import", 100.0, 5.0, "811292", 2),
        ("COMTRADE_CMM", 2024, "USA", "gallium", "CHN", "import", 20.0, 1.0, "811292", 2),
    ]
    cells, reasons = fallback_cells(_flows(rows))
    (c,) = cells[("JPN", "gallium")]
    assert c.source == "COMTRADE_JPN2020" and c.year == 2020 and c.coverage == pytest.approx(1.0)
    assert c.import_value == {"KOR": 60.0, "CHN": 40.0}
    assert c.import_qty == {"KOR": 4.0, "CHN": 6.0}
    assert not c.has_exports
    note = c.note("JPN", "gallium")
    assert "COMTRADE_JPN2020 2020" in note and "hafnium, indium" in note and "imports only" in note
    assert ("USA", "gallium") not in cells
    assert "20% of imports from World" in reasons[("USA", "gallium")][0]
    # year window: 2020 is within 5 years of 2024, not of 2026; never after the year asked for
    assert pick(cells[("JPN", "gallium")], 2024, 5) is c
    assert pick(cells[("JPN", "gallium")], 2026, 5) is None
    assert pick(cells[("JPN", "gallium")], 2019, 5) is None


def _hand_shares(wh, hs: str) -> dict[str, float]:
    raw = wh.query(
        "SELECT exporter_iso3 AS p, value_usd FROM trade "
        "WHERE source = 'COMTRADE_JPN2020' AND importer_iso3 = 'JPN' AND hs_code = ? AND month IS NULL",
        [hs],
    )
    world = float(raw.loc[raw["p"] == "WLD", "value_usd"].sum())
    named = raw[~raw["p"].isin(["WLD", "JPN"])].groupby("p")["value_usd"].sum()
    assert named.sum() == pytest.approx(world, rel=0.05)  # the extract is a partner breakdown
    return (named / named.sum()).to_dict()


def test_japan_gallium_exposure_from_comtrade(warehouse):
    res = api.run(warehouse, ("USA", "JPN"), 2024)
    ex = res.exposure.set_index(["commodity_id", "consumer"])
    row = ex.loc[("gallium", "JPN")]
    assert row["trade_source"] == "COMTRADE_JPN2020" and int(row["trade_year"]) == 2020
    shares = _hand_shares(warehouse, "811292")
    hhi = sum((100 * s) ** 2 for s in shares.values())
    assert row["import_hhi"] == pytest.approx(hhi, rel=1e-9)
    assert int(row["n_partners"]) == len(shares)
    rec = next(r for r in res.records if r["commodity"] == "gallium")
    assert rec["exposure"]["JPN"]["import_hhi"] == pytest.approx(hhi, rel=1e-9)
    notes = " | ".join(rec["missing"])
    assert "import shares from COMTRADE_JPN2020 2020" in notes
    assert "HS 811292 covers unwrought gallium, hafnium, indium, niobium, rhenium and thallium" in notes
    # imports only: Japan refines some gallium itself, so its NIR is bounded by M / (P + M)
    raw = warehouse.query(
        "SELECT sum(qty_t) AS m FROM trade WHERE source = 'COMTRADE_JPN2020' AND importer_iso3 = 'JPN' "
        "AND hs_code = '811292' AND month IS NULL AND exporter_iso3 NOT IN ('WLD', 'JPN')", [])
    m = float(raw["m"].iloc[0])
    p = warehouse.stage_supply("gallium", "processing", 2024).quantities_t()["JPN"]
    nir = rec["exposure"]["JPN"]["nir_by_stage"]["processing"]
    assert nir["flag"] == "<" and nir["value"] is None and nir["hi"] == pytest.approx(m / (p + m), rel=1e-9)
    assert "imports only" in nir["text"] and any(f.startswith("fallback_trade") for f in rec["flags"])
    # the US extract (COMTRADE_CMM) names China only: rejected, and said so
    assert "USA gallium: Comtrade fallback rejected" in notes
    assert math.isnan(ex.loc[("gallium", "USA"), "import_hhi"])


def test_baci_covered_exposures_unchanged(warehouse, monkeypatch):
    with_fb = api.run(warehouse, ("USA", "JPN"), 2024).exposure.set_index(["commodity_id", "consumer"])
    monkeypatch.setenv("CRITMIN_RISK_TRADE_FALLBACK_SOURCES", "")
    without = api.run(warehouse, ("USA", "JPN"), 2024).exposure.set_index(["commodity_id", "consumer"])
    assert without.loc[("gallium", "JPN"), "n_partners"] == 0  # the pre-fallback state
    cols = ["trade_year", "import_hhi", "non_allied_import_share", "supplier_governance_risk", "nir", "nir_source"]
    for cid in ("cobalt", "rare_earths", "graphite", "nickel", "lithium", "tungsten"):
        for k in ("USA", "JPN"):
            a, b = with_fb.loc[(cid, k)], without.loc[(cid, k)]
            assert a["trade_source"] == "BACI"
            for c in cols:
                if isinstance(a[c], float) or isinstance(b[c], float):
                    assert (pd.isna(a[c]) and pd.isna(b[c])) or a[c] == pytest.approx(b[c], rel=1e-12), (cid, k, c)
                else:
                    assert a[c] == b[c], (cid, k, c)
