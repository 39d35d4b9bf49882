"""Comtrade fallback for consumer import shares in the market inputs (issue 4, via issue 3)."""

from __future__ import annotations

import numpy as np
import pytest

from critmin.disruption import api


def test_japan_gallium_shares_from_comtrade(warehouse):
    m = api.load_market(warehouse, ["gallium", "cobalt"], cache=False)
    cm = m.commodities["gallium"]
    j = cm.consumers.index("JPN")
    assert cm.proxy_trade_shares[j] is False
    meta = cm.provenance["trade"]["JPN"]
    assert meta["source"] == "COMTRADE_JPN2020" and meta["year"] == 2020 and meta["basis"] == "qty_t"
    # hand computation from the raw rows: partner tonnage / named-partner total
    raw = warehouse.query(
        "SELECT exporter_iso3 AS p, sum(qty_t) AS t FROM trade WHERE source = 'COMTRADE_JPN2020' "
        "AND importer_iso3 = 'JPN' AND hs_code = '811292' AND exporter_iso3 NOT IN ('WLD', 'JPN') GROUP BY 1")
    hand = dict(zip(raw["p"], raw["t"] / raw["t"].sum(), strict=True))
    got = {p: cm.import_share[j, i] for i, p in enumerate(cm.producers) if cm.import_share[j, i] > 0}
    assert got.keys() == hand.keys()
    for p, s in hand.items():
        assert got[p] == pytest.approx(s, rel=1e-12), p
    notes = " | ".join(cm.notes)
    assert "import shares from COMTRADE_JPN2020 2020" in notes and "HS 811292 covers" in notes
    # imports only: the extract cannot give Japan's consumption, said so; the curated JOGMEC
    # figure is used instead (issue 14 §5), never 0 t
    assert "JPN" not in cm.demand_unknown
    assert "COMTRADE_JPN2020 2020 has imports only" in notes and "consumption from a curated figure" in notes
    assert cm.demand_t[j] > 0 and "curated_consumption" in meta
    # the US extract names China only: still the world-production proxy, flagged
    u = cm.consumers.index("USA")
    assert cm.proxy_trade_shares[u] is True
    assert cm.provenance["trade"]["USA"]["source"].startswith("world production shares")
    assert m.commodities["cobalt"].provenance["trade"]["JPN"]["source"] == "BACI"


def test_baci_covered_markets_unchanged(warehouse, monkeypatch):
    ids = ["cobalt", "rare_earths", "graphite", "nickel", "lithium", "tungsten", "gallium"]
    with_fb = api.load_market(warehouse, ids, cache=False)
    monkeypatch.setenv("CRITMIN_RISK_TRADE_FALLBACK_SOURCES", "")
    without = api.load_market(warehouse, ids, cache=False)
    assert without.commodities["gallium"].proxy_trade_shares == (True, True)  # the pre-fallback state
    for cid in ids[:-1]:
        a, b = with_fb.commodities[cid], without.commodities[cid]
        assert a.producers == b.producers and a.proxy_trade_shares == b.proxy_trade_shares
        np.testing.assert_array_equal(a.import_share, b.import_share)
        np.testing.assert_array_equal(a.demand_t, b.demand_t)
        assert a.notes == b.notes
