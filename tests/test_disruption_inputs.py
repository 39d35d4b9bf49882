"""``load_market``'s batched loader against the old per-commodity warehouse calls, and its
production against the one owner of supply at a stage (``critmin.data.supply.select_stage``).

The reference below is the previous data access, kept only here: one
``Warehouse.production(commodity, source=...)`` call per commodity and supply source, one
``Warehouse.us_salient(commodity, category=...)`` call per commodity and category, one
``Warehouse.trade(consumer, source='BACI')`` call per consumer (and one per consumer and
Comtrade fallback source) and ``Warehouse.governance``, filtered in pandas. Both feed the same
market-building rules, so equal Markets mean the batched warehouse reads
(``production_all``, ``bilateral_flows``, ``salient_all``, ``governance_estimates``) select the
same rows (newest release per commodity, source and year; the same BACI rows in the same order).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from critmin import settings
from critmin.data.errors import UnknownCommodity
from critmin.data.normalize.units import MASS_TO_T, PRICE_TO_USD_PER_T
from critmin.data.partners import partners
from critmin.data.supply import select_stage
from critmin.data.tradefallback import fallback_cells
from critmin.disruption import inputs
from critmin.disruption.api import load_market
from critmin.disruption.market import Market
from critmin.disruption.refprice import reference_price

SAMPLE = ["gallium", "rare_earths", "cobalt", "nickel", "platinum", "graphite", "lithium", "copper", "tungsten",
          "palladium"]


def _reference_baci(wh, consumer: str) -> dict[str, pd.DataFrame]:
    from critmin.data.contained import factor_table

    df = wh.trade(consumer, source="BACI")
    df = df[df["commodity_id"].notna() & df["partner_iso3"].notna() & (df["partner_iso3"] != "WLD")
            & (df["partner_iso3"] != consumer)]
    # contained metal per line: gross tonnes x the HS code's factor (NaN without one), as the
    # batched read computes it in SQL
    fac = factor_table().drop_duplicates("hs_code").set_index("hs_code")["factor"]
    df = df.assign(qty_contained_t=df["qty_t"] * df["hs_code"].map(fac))
    return {c: g.reset_index(drop=True) for c, g in df.groupby("commodity_id")}


def _reference_fallback(wh, consumers) -> dict:
    frames = []
    for c in consumers:
        for src in settings.get("risk.trade_fallback_sources"):
            df = wh.trade(c, source=src)
            df = df[df["month"].isna() & df["commodity_id"].notna()]
            frames.append(df.assign(consumer=c).rename(columns={"partner_iso3": "partner", "hs_code": "hs_codes"}))
    return fallback_cells(pd.concat(frames, ignore_index=True))[0]


def _reference_salient(wh, cids) -> dict[tuple[str, str], pd.DataFrame]:
    out = {}
    for cid in cids:
        sal_id = inputs.SALIENT_ALIAS.get(cid, (cid, None))[0]
        for cat in ("consumption", "price", "imports"):
            try:
                df = wh.us_salient(sal_id, category=cat)
            except KeyError:  # unknown commodity: the old loader reported 'no salient series'
                continue
            if not df.empty:
                out[(sal_id, cat)] = df
    return out


def _reference_production(wh, cids) -> dict[str, dict[str, pd.DataFrame]]:
    """Per commodity (Warehouse.production, one call per commodity and source) and per stage
    (stage_rows on that commodity alone), the slow path of the loader's one-pass stage rows."""
    from critmin.data.supply import stage_rows

    out = {}
    for cid in cids:
        try:
            frame = pd.concat([wh.production(cid, source=s) for s in settings.get("data.supply_sources")],
                              ignore_index=True)
        except UnknownCommodity:  # no rows: the loader reports 'no production by country'
            continue
        out[cid] = {st: stage_rows(frame, st) for st in ("mine", "processing")}
    return out


def _reference_governance(wh) -> dict[str, float]:
    """Mean WGI estimate per country in the newest year (the warehouse's governance series,
    extended and with territories filled: Warehouse.governance_estimates), summed plainly."""
    rows = [r for r in wh.governance_estimates("WGI").itertuples() if r.value == r.value]
    y = max(r.year for r in rows)
    by: dict[str, list[float]] = {}
    for r in sorted((r for r in rows if r.year == y), key=lambda r: (r.country_iso3, r.dimension)):
        by.setdefault(r.country_iso3, []).append(float(r.value))
    return {c: float(np.mean(v)) for c, v in by.items()}


def reference_market(wh, commodities, consumers=None, year=None) -> Market:
    """The old slow path: per-consumer trade calls, per-commodity production and salient calls."""
    consumers = tuple(consumers) if consumers is not None else partners()
    baci = {c: _reference_baci(wh, c) for c in consumers}
    prod = _reference_production(wh, commodities)
    salient = _reference_salient(wh, commodities)
    fallback = _reference_fallback(wh, consumers)
    newest = max((int(g["year"].max()) for by in baci.values() for g in by.values() if len(g)), default=None)
    growth = inputs.iea_growth(wh)  # demand growth is tested on its own (tests/test_disruption_growth.py)
    out, bad = {}, {}
    for cid in commodities:
        try:
            out[cid] = inputs.with_demand_growth(
                inputs._commodity(cid, consumers, year, baci, prod, inputs.index_salient(salient), fallback, newest),
                growth)
        except (LookupError, ValueError) as e:
            bad[cid] = f"not computable: {e}"
    # the data the market was built on, as every stored run records it (disruption.provenance)
    prov = {"vintage": getattr(wh, "vintage", None), "data_fingerprint": str(wh.fingerprint())}
    return Market(consumers, out, year, bad, {"governance": _reference_governance(wh), **prov})


def assert_markets_equal(a: Market, b: Market) -> None:
    assert a.consumers == b.consumers and a.not_computable == b.not_computable
    assert set(a.meta) == set(b.meta) and {k: v for k, v in a.meta.items() if k != "governance"} == {
        k: v for k, v in b.meta.items() if k != "governance"}
    # the mean of six WGI dimensions, summed in another order: equal to the last bits
    assert a.meta["governance"] == pytest.approx(b.meta["governance"], rel=1e-14, abs=1e-15)
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


def test_consumers_default_to_the_partners(warehouse, monkeypatch):
    assert load_market(warehouse, ["cobalt"], cache=False).consumers == partners() == ("USA", "JPN")
    monkeypatch.setenv("CRITMIN_RISK_CONSUMERS", "JPN,KOR")
    m = load_market(warehouse, ["cobalt"])
    assert m.consumers == ("JPN", "KOR")
    assert_markets_equal(m, reference_market(warehouse, ["cobalt"]))


def test_batched_salient_rows_equal_the_warehouse_api(warehouse):
    # every commodity, both categories: the one-query selection equals Warehouse.us_salient
    batched = inputs._salient_all(warehouse)
    ids = warehouse.query("SELECT DISTINCT commodity_id FROM us_salient ORDER BY 1")["commodity_id"]
    cols = ["year", "variable", "quantity", "unit"]
    n = 0
    for cid in ids:
        for cat in ("consumption", "price", "imports"):
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


def _reference_consumption(salient, cid):
    """The per-commodity rule, written plainly: latest year with a number in a mass unit,
    apparent before unqualified before reported, secondary/reported-ore/value series excluded."""
    sal_id, filt = inputs.SALIENT_ALIAS.get(cid, (cid, None))
    df = salient.get((sal_id, "consumption"))
    if df is None or df.empty:
        return None, "no USGS salient consumption series"
    rows = [r for r in df.itertuples() if r.quantity == r.quantity and r.unit in MASS_TO_T
            and (not filt or filt in r.variable) and not re.search("Secondary|Reported_ore|Value", r.variable)]
    if not rows:
        return None, "USGS salient consumption withheld or not in mass units"
    y = max(r.year for r in rows)

    def rank(v):
        return 0 if re.search(r"Appa|Apprnt|_App_", v) else (2 if re.search("Report|Rpt|Rprtd", v) else 1)
    best = min((r for r in rows if r.year == y), key=lambda r: (rank(r.variable), r.variable))
    return best.quantity * MASS_TO_T[best.unit], f"USGS salient {best.variable} {y}"


def _reference_price(salient, cid):
    """The raw rows of one commodity, filtered plainly (a number, a unit of the unit table, the
    alias' series), priced by the one reference-price rule (critmin.disruption.refprice, tested
    against the MCS rows in test_reference_price.py): the index's batched path must equal it."""
    sal_id, filt = inputs.SALIENT_ALIAS.get(cid, (cid, None))
    df = salient.get((sal_id, "price"))
    rows = [] if df is None else [r for r in df.itertuples() if r.quantity == r.quantity
                                  and r.unit in PRICE_TO_USD_PER_T and (not filt or filt in r.variable)]
    frame = pd.DataFrame({"variable": [r.variable for r in rows], "year": [r.year for r in rows],
                          "usd_per_t": [r.quantity * PRICE_TO_USD_PER_T[r.unit] for r in rows]})
    got = reference_price(frame if rows else None, cid)
    return (None if got[0] != got[0] else got[0]), got[1]


def test_salient_consumption_and_price_equal_a_plain_per_commodity_reference(warehouse):
    raw = inputs._salient_all(warehouse)
    index = inputs.index_salient(raw)
    ids = sorted({k[0] for k in raw} | set(inputs.SALIENT_ALIAS) | {"unobtainium"})
    n = 0
    for cid in ids:
        (got_c, note_c), (want_c, want_note_c) = inputs._salient_consumption(index, cid), _reference_consumption(raw, cid)
        assert note_c == want_note_c and (got_c is want_c is None or got_c == pytest.approx(want_c, rel=1e-15)), cid
        got, note = inputs._price(index, cid)
        want, want_note = _reference_price(raw, cid)
        assert note == want_note and (got == pytest.approx(want, rel=1e-15) if want is not None else np.isnan(got)), cid
        n += want is not None
    assert n > 50


def test_cache_returns_equal_copies_and_follows_the_contents(warehouse, monkeypatch):
    inputs.clear_cache()
    a = load_market(warehouse, ["gallium", "cobalt"])
    b = load_market(warehouse, ["gallium", "cobalt"])
    assert_markets_equal(a, b)
    assert a.commodities["gallium"] is not b.commodities["gallium"]
    a.commodities["gallium"].production_t[:] = 0.0  # a caller scribbling on its copy
    a.commodities["gallium"].import_share[:] = 0.0
    a.commodities["gallium"].provenance["production"]["choices"].append("scribble")
    a.commodities["gallium"].provenance["trade"]["USA"]["source"] = "scribble"
    c = load_market(warehouse, ["gallium"])
    assert c.commodities["gallium"].production_t.sum() > 0
    assert_markets_equal(c, b.subset(["gallium"]))
    assert_markets_equal(c, load_market(warehouse, ["gallium"], cache=False))
    # a setting that changes the choice of supply is part of the key: WMD only, not the cached USGS market
    monkeypatch.setenv("CRITMIN_DATA_SUPPLY_SOURCES", "WMD")
    w = load_market(warehouse, ["cobalt"])
    assert w.commodities["cobalt"].provenance["production"]["source"] == "WMD"
    assert a.commodities["cobalt"].provenance["production"]["source"] != "WMD"


def test_year_argument_and_unknown_commodity(warehouse):
    m = load_market(warehouse, ["nickel", "unobtainium"], year=2022)
    assert m.commodities["nickel"].provenance["production"]["year"] == 2022
    assert m.not_computable["unobtainium"].startswith("not computable: ")
    ref = reference_market(warehouse, ["nickel", "unobtainium"], year=2022)
    assert_markets_equal(m, ref)


@pytest.mark.parametrize("year", [None, 2022, 2023])
@pytest.mark.parametrize("cid", ["cobalt", "rare_earths", "nickel", "gallium", "copper", "lithium", "graphite"])
def test_market_production_is_supply_at_the_stage(warehouse, cid, year):
    # the simulator's production is select_stage's at the market stage, in tonnes, and its
    # provenance reports the same leading country and share as the watchlist
    cm = load_market(warehouse, [cid], year=year).commodities[cid]
    sup = select_stage(warehouse.production_of(cid), cid, cm.stage, year)
    want = {c: q for c, q in sup.quantities_t().items() if q > 0}
    # 'Other countries' is kept (issue 14 §5): the world total less the countries, as producer OTH
    rest = sup.denominator_t - sum(want.values())
    if rest > 1e-9 * sup.denominator_t:
        want["OTH"] = rest
    got = {p: q for p, q in zip(cm.producers, cm.production_t.tolist(), strict=True) if q > 0}
    assert got == pytest.approx(want, rel=1e-12)
    assert sum(got.values()) == pytest.approx(max(sup.denominator_t, sum(want.values())), rel=1e-12)
    prov = cm.provenance["production"]
    assert (prov["leading_country_iso3"], prov["leading_share"]) == sup.leading
    assert (prov["source"], prov["year"], prov["product"], prov["stage"]) == (
        sup.source, sup.year, sup.product, sup.source_stage)
    assert prov["analysis_stage"] == cm.stage and prov["choices"] == list(sup.choices)
    if year is not None:
        assert prov["year"] == year
    if cm.mine_producers:  # the mine feed (processing markets) is the mine stage's supply
        assert cm.stage == "processing"
        mine = select_stage(warehouse.production_of(cid), cid, "mine", year)
        want_mine = {c: q for c, q in mine.quantities_t().items() if q > 0}
        rest = mine.denominator_t - sum(want_mine.values())
        if rest > 1e-9 * mine.denominator_t:
            want_mine["OTH"] = rest
        assert dict(zip(cm.mine_producers, cm.mine_production_t.tolist(), strict=True)) == pytest.approx(
            want_mine, rel=1e-12)
        assert cm.provenance["mine_production"]["leading_country_iso3"] == mine.leading[0]


def test_units_in_tonnes_and_non_mass_not_computable(warehouse):
    m = load_market(warehouse, ["gallium", "helium", "diamond_industrial"], cache=False)
    # USGS reports gallium in kg: 2024 Chinese primary gallium 750 t (MCS 2025) = 750,000 kg
    ga = m.commodities["gallium"]
    prov = ga.provenance["production"]
    assert prov["unit"] == "kg" and ga.production_t[ga.producers.index("CHN")] == pytest.approx(750.0, rel=0.2)
    assert "production is in 'm3', not a mass unit" in m.not_computable["helium"]
    assert "production is in 'carat', not a mass unit" in m.not_computable["diamond_industrial"]


def test_consumption_source_is_a_setting(warehouse, monkeypatch):
    # Japan's cobalt is a curated published figure (use=consumption, ahead of any source): the
    # setting is tested without the curated rows
    from critmin.disruption import inputs as _inputs

    monkeypatch.setattr(_inputs, "_CURATED", {})
    us = load_market(warehouse, ["cobalt"], cache=False).commodities["cobalt"]
    assert us.provenance["trade"]["USA"]["consumption"].startswith("USGS salient ")
    assert us.provenance["trade"]["JPN"]["consumption"].startswith("BACI net imports + own production")
    monkeypatch.setenv("CRITMIN_DISRUPTION_CONSUMPTION_SOURCE", "JPN=USGS_MCS")
    sw = load_market(warehouse, ["cobalt"], cache=False).commodities["cobalt"]
    assert sw.provenance["trade"]["USA"]["consumption"].startswith("BACI net imports + own production")
    assert sw.provenance["trade"]["JPN"]["consumption"] == us.provenance["trade"]["USA"]["consumption"]
    net = sw.provenance["trade"]["USA"]["net_imports_t"]
    own = dict(zip(sw.producers, sw.production_t.tolist(), strict=True)).get("USA", 0.0)
    assert sw.demand_t[0] == pytest.approx(max(net, 0.0) + own)
