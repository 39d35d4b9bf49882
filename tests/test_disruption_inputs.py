"""``load_market``'s set-based loader against the old per-commodity warehouse calls.

The reference below is the previous data access, kept only here: one
``Warehouse.us_salient(commodity, category=...)`` call per commodity and category, one
``Warehouse.trade(consumer, source='BACI')`` call per consumer (and one per consumer and
Comtrade fallback source), filtered in pandas. Both feed
the same market-building rules, so equal Markets mean the batched SQL selects the same rows
(newest release per commodity, category and year; the same BACI rows in the same order).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from critmin.data.tradefallback import fallback_cells
from critmin.disruption import inputs
from critmin.disruption.api import load_market
from critmin.disruption.market import Market

SAMPLE = ["gallium", "rare_earths", "cobalt", "nickel", "platinum", "graphite", "lithium", "copper", "tungsten",
          "palladium"]


def _reference_baci(wh, consumer: str) -> dict[str, pd.DataFrame]:
    df = wh.trade(consumer, source="BACI")
    df = df[df["commodity_id"].notna() & df["partner_iso3"].notna() & (df["partner_iso3"] != "WLD")
            & (df["partner_iso3"] != consumer)]
    return {c: g for c, g in df.groupby("commodity_id")}


def _reference_fallback(wh, consumers) -> dict:
    frames = []
    for c in consumers:
        for src in ("COMTRADE_JPN2020", "COMTRADE_CMM", "COMTRADE_QUAD"):
            df = wh.trade(c, source=src)
            df = df[df["month"].isna() & df["commodity_id"].notna()]
            frames.append(df.assign(consumer=c).rename(columns={"partner_iso3": "partner", "hs_code": "hs_codes"}))
    return fallback_cells(pd.concat(frames, ignore_index=True))[0]


def _reference_salient(wh, cids) -> dict[tuple[str, str], pd.DataFrame]:
    out = {}
    for cid in cids:
        sal_id = inputs.SALIENT_ALIAS.get(cid, (cid, None))[0]
        for cat in ("consumption", "price"):
            try:
                df = wh.us_salient(sal_id, category=cat)
            except KeyError:  # unknown commodity: the old loader reported 'no salient series'
                continue
            if not df.empty:
                out[(sal_id, cat)] = df
    return out


def reference_market(wh, commodities, consumers=("USA", "JPN"), year=None) -> Market:
    """The old slow path: per-consumer trade calls and per-commodity salient calls."""
    baci = {c: _reference_baci(wh, c) for c in consumers}
    prod_rows = inputs._production_all(wh)
    salient = _reference_salient(wh, commodities)
    fallback = _reference_fallback(wh, consumers)
    out, bad = {}, {}
    for cid in commodities:
        try:
            out[cid] = inputs._commodity(cid, tuple(consumers), year, baci, prod_rows, salient, fallback)
        except (LookupError, ValueError) as e:
            bad[cid] = f"not computable: {e}"
    return Market(tuple(consumers), out, year, bad, {"governance": inputs._governance(wh)})


def assert_markets_equal(a: Market, b: Market) -> None:
    assert a.consumers == b.consumers and a.not_computable == b.not_computable
    assert a.meta == b.meta
    assert list(a.commodities) == list(b.commodities)
    for cid, x in a.commodities.items():
        y = b.commodities[cid]
        for f in ("commodity", "stage", "producers", "consumers", "proxy_trade_shares", "mine_producers",
                  "price_note", "notes", "demand_unknown", "provenance"):
            assert getattr(x, f) == getattr(y, f), (cid, f)
        for f in ("production_t", "demand_t", "domestic_t", "import_share", "mine_production_t"):
            np.testing.assert_array_equal(getattr(x, f), getattr(y, f), err_msg=f"{cid}.{f}")
        assert x.price_usd_per_t == y.price_usd_per_t or (np.isnan(x.price_usd_per_t) and np.isnan(y.price_usd_per_t))


@pytest.mark.parametrize("consumers", [("USA", "JPN"), ("JPN", "USA", "KOR")])
def test_batched_loader_equals_per_commodity_reference(warehouse, consumers):
    ref = reference_market(warehouse, SAMPLE, consumers)
    assert set(ref.commodities) >= {"gallium", "rare_earths", "cobalt", "nickel"}
    fast = load_market(warehouse, SAMPLE, consumers, cache=False)
    assert_markets_equal(fast, ref)


def test_batched_salient_rows_equal_the_warehouse_api(warehouse):
    # every commodity, both categories: the one-query selection equals Warehouse.us_salient
    batched = inputs._salient_all(warehouse)
    ids = warehouse.query("SELECT DISTINCT commodity_id FROM us_salient ORDER BY 1")["commodity_id"]
    cols = ["year", "variable", "quantity", "unit"]
    n = 0
    for cid in ids:
        for cat in ("consumption", "price"):
            ref = warehouse.us_salient(cid, category=cat)
            got = batched.get((cid, cat))
            if ref.empty:
                assert got is None, (cid, cat)
                continue
            # rows tied on (variable, year) come in arbitrary order from the API: compare sorted
            def norm(df):
                return df[cols].sort_values(cols, na_position="first", kind="stable").reset_index(drop=True)
            pd.testing.assert_frame_equal(norm(got), norm(ref), check_dtype=False)
            n += 1
    assert n > 50


def test_cache_returns_equal_copies_and_follows_the_contents(warehouse):
    inputs.clear_cache()
    a = load_market(warehouse, ["gallium", "cobalt"])
    b = load_market(warehouse, ["gallium", "cobalt"])
    assert_markets_equal(a, b)
    assert a.commodities["gallium"] is not b.commodities["gallium"]
    a.commodities["gallium"].production_t[:] = 0.0  # a caller scribbling on its copy
    c = load_market(warehouse, ["gallium"])
    assert c.commodities["gallium"].production_t.sum() > 0
    assert_markets_equal(c, load_market(warehouse, ["gallium"], cache=False))
    assert inputs._fingerprint(warehouse) is not None


def test_year_argument_and_unknown_commodity(warehouse):
    m = load_market(warehouse, ["nickel", "unobtainium"], year=2022)
    assert m.commodities["nickel"].provenance["production"]["year"] == 2022
    assert m.not_computable["unobtainium"].startswith("not computable: ")
    ref = reference_market(warehouse, ["nickel", "unobtainium"], year=2022)
    assert_markets_equal(m, ref)


@pytest.mark.parametrize("cid", ["cobalt", "rare_earths", "nickel", "gallium", "copper"])
def test_batched_production_rows_equal_the_warehouse_api(warehouse, cid):
    # the one-query production selection follows Warehouse.production (newest release, misfiled
    # salient-file rows excluded), for every source and stage group
    batched = inputs._production_all(warehouse)
    cols = ["country_iso3", "stage", "product", "year", "quantity", "unit"]
    for source in ("USGS", "WMD"):
        api = warehouse.production(cid, source=source)
        api = api[api["aggregate"].isna() & api["country_iso3"].notna() & api["quantity"].notna()
                  & api["unit"].isin(list(inputs.MASS_TO_T))]
        got = pd.concat([g for (c, s, _), g in batched.items() if c == cid and s == source] or [api.iloc[:0]])

        def norm(df):
            return df[cols].sort_values(cols, kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(norm(got), norm(api), check_dtype=False)
