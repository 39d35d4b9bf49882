"""Market inputs from the warehouse (``load_market``).

Per commodity (details and caveats in ``docs/disruption.md``):

* production by country: USGS MCS, the latest year with country data at each stage group;
  World Mining Data where USGS has none for that stage group. Within the processing group one
  USGS stage is used (refinery, else smelter, else processing, else plant) and, within it, the
  product with the largest world total, so refinery and smelter output are never added up;
* supply stage: processing if processing production exists, else mine;
* import shares: CEPII BACI bilateral imports (t) of the consumer, latest BACI year, HS codes
  mapped to the commodity at the supply stage (the other stage if only that one is traded,
  with a note); where BACI has no import rows for the consumer, a UN Comtrade extract with a
  partner breakdown (``risk.trade_fallback_sources``, :mod:`critmin.data.tradefallback`; e.g.
  ``COMTRADE_JPN2020`` for Japan's gallium), stated in the notes and in
  ``provenance['trade'][consumer]['source']``; else world production shares (``proxy_trade_shares``);
* consumption: USA = USGS salient apparent consumption (``Consump_*``, latest year with a
  number); other consumers (JPN: no mine output) = BACI net imports + own production at the
  supply stage. A US commodity without a usable salient figure falls back to the same net-import
  method, with a note. The Comtrade extracts hold imports only: a consumer whose shares come
  from one has its consumption reported as not computable;
* price: median of the commodity's USGS salient ``Price_*`` series in their latest year,
  converted to US$/t (conversion table :data:`PRICE_TO_USD_PER_T`); NaN + note where none.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from critmin import settings
from critmin.data.tradefallback import FallbackCell, fallback_cells, pick
from critmin.data.warehouse import NEWEST_RELEASE_FIRST as _NEWEST_RELEASE_FIRST
from critmin.data.warehouse import NOT_MISFILED as _NOT_MISFILED
from critmin.disruption.market import CommodityMarket, Market

log = logging.getLogger(__name__)

MASS_TO_T = {"t": 1.0, "kg": 1e-3, "kt": 1e3, "Mt": 1e6, "g": 1e-6}
#: price unit -> factor to US$/t (1 lb = 0.45359237 kg; 1 troy oz = 31.1034768 g;
#: 1 short ton = 907.18474 kg; 1 flask of mercury = 34.473 kg)
PRICE_TO_USD_PER_T = {
    "USD/t": 1.0,
    "USD/kg": 1e3,
    "USD/g": 1e6,
    "USD/lb": 1e3 / 0.45359237,
    "USc/lb": 10.0 / 0.45359237,
    "USD/troy oz": 1e6 / 31.1034768,
    "USD/short ton": 1e3 / 907.18474,
    "USD/flask": 1e3 / 34.473,
}
PROCESSING_STAGE_ORDER = ("refinery", "smelter", "processing", "plant")
#: salient commodity and variable filter for commodities reported under a group code
SALIENT_ALIAS = {"platinum": ("pgm", "Platinum"), "palladium": ("pgm", "Palladium")}


def _to_t(q: pd.Series, unit: pd.Series) -> pd.Series:
    return q * unit.map(MASS_TO_T)


# The newest-release rule and the exclusion of misfiled files are the Warehouse API's
# (``Warehouse.production`` / ``us_salient``), shared here so the batched queries cannot drift.
_PRODUCTION_SQL = f"""
WITH rows AS (
  SELECT p.*, dense_rank() OVER (PARTITION BY p.commodity_id, p.year, p.source
                                 {_NEWEST_RELEASE_FIRST}) AS _rk
  FROM production p JOIN current_dataset d USING (dataset_id)
  WHERE p.measure = 'production' AND {_NOT_MISFILED})
SELECT commodity_id, source, country_iso3, stage, stage_group, product, year, quantity, unit, dataset_id
FROM rows WHERE _rk = 1 AND aggregate IS NULL AND country_iso3 IS NOT NULL AND quantity IS NOT NULL
"""


def _production_all(wh: Any) -> dict[tuple[str, str, str], pd.DataFrame]:
    """Country production rows by (commodity, source, stage group), newest release per year
    (the rule of ``Warehouse.production``), in one query."""
    df = wh.query(_PRODUCTION_SQL)
    df = df[df["unit"].isin(list(MASS_TO_T))]
    return {k: g for k, g in df.groupby(["commodity_id", "source", "stage_group"])}


def _production(prod_rows: dict, cid: str, group: str, year: int | None) -> tuple[pd.Series, dict]:
    """Production (t) by ISO3 at a stage group: latest year (or ``year``), USGS then WMD."""
    for source in ("USGS", "WMD"):
        df = prod_rows.get((cid, source, group))
        if df is None:
            continue
        if year is not None:
            df = df[df["year"] == int(year)]
        if df.empty:
            continue
        y = int(df["year"].max())
        df = df[df["year"] == y]
        if group == "processing":
            for st in PROCESSING_STAGE_ORDER:
                if (df["stage"] == st).any():
                    df = df[df["stage"] == st]
                    break
        df = df.assign(t=_to_t(df["quantity"], df["unit"]))
        prod_tot = df.groupby(df["product"].fillna(""))["t"].sum()
        product = prod_tot.idxmax()
        df = df[df["product"].fillna("") == product]
        s = df.groupby("country_iso3")["t"].sum()
        s = s[s > 0]
        if s.empty:
            continue
        return s, {"source": source, "year": y, "stage": str(df["stage"].iloc[0]), "product": product,
                   "dataset_ids": sorted({int(x) for x in df["dataset_id"]})}
    return pd.Series(dtype=float), {}


_BACI_SQL = """
SELECT c.consumer, t.year, t.commodity_id, t.stage_group, t.value_usd, t.qty_t,
       CASE WHEN t.importer_iso3 = c.iso3 THEN t.exporter_iso3 ELSE t.importer_iso3 END AS partner_iso3,
       CASE WHEN t.importer_iso3 = c.iso3 THEN 'import' ELSE 'export' END AS flow
FROM trade t JOIN current_dataset d USING (dataset_id)
     JOIN (SELECT unnest(?::VARCHAR[]) AS consumer, unnest(?::VARCHAR[]) AS iso3) c
       ON (t.importer_iso3 = c.iso3 OR t.exporter_iso3 = c.iso3)
WHERE t.source = 'BACI' AND t.commodity_id IS NOT NULL AND partner_iso3 IS NOT NULL
  AND partner_iso3 <> 'WLD' AND partner_iso3 <> c.consumer
ORDER BY c.consumer, t.commodity_id, t.year, t.month NULLS FIRST, t.hs_code, partner_iso3
"""


def _baci_all(wh: Any, consumers: tuple[str, ...]) -> dict[str, dict[str, pd.DataFrame]]:
    """BACI flows of every consumer seen from the consumer (``flow`` import/export,
    ``partner_iso3`` the other side), split by consumer and commodity, in one query. Same rows,
    row order and filters as ``Warehouse.trade(consumer, source='BACI')`` followed by dropping
    rows without commodity or partner, the world aggregate and self-trade (the reference
    implementation in ``tests/test_disruption_inputs.py``)."""
    iso = [wh.resolve_country(c) for c in consumers]
    df = wh.query(_BACI_SQL, [list(consumers), iso])
    out: dict[str, dict[str, pd.DataFrame]] = {c: {} for c in consumers}
    for (c, cid), g in df.groupby(["consumer", "commodity_id"], sort=False):
        out[c][cid] = g.reset_index(drop=True)
    return out


_COMTRADE_SQL = """
SELECT t.source, t.year, c.consumer, t.commodity_id, t.value_usd, t.qty_t, t.hs_code AS hs_codes, t.dataset_id,
       CASE WHEN t.importer_iso3 = c.iso3 THEN t.exporter_iso3 ELSE t.importer_iso3 END AS partner,
       CASE WHEN t.importer_iso3 = c.iso3 THEN 'import' ELSE 'export' END AS flow
FROM trade t JOIN current_dataset d USING (dataset_id)
     JOIN (SELECT unnest(?::VARCHAR[]) AS consumer, unnest(?::VARCHAR[]) AS iso3) c
       ON (t.importer_iso3 = c.iso3 OR t.exporter_iso3 = c.iso3)
WHERE list_contains(?::VARCHAR[], t.source) AND t.commodity_id IS NOT NULL AND t.month IS NULL
ORDER BY t.source, t.year, c.consumer, t.commodity_id, t.hs_code, partner, t.source_line
"""


def _fallback_all(wh: Any, consumers: tuple[str, ...]) -> dict[tuple[str, str], list[FallbackCell]]:
    """Accepted fallback (UN Comtrade) import cells per (consumer, commodity), newest first
    (:func:`critmin.data.tradefallback.fallback_cells`)."""
    sources = list(settings.get("risk.trade_fallback_sources"))
    if not sources:
        return {}
    iso = [wh.resolve_country(c) for c in consumers]
    df = wh.query(_COMTRADE_SQL, [list(consumers), iso, sources])
    cells, reasons = fallback_cells(df)
    for (c, cid), r in reasons.items():
        log.info("%s %s: Comtrade fallback rejected: %s", c, cid, "; ".join(r))
    return cells


_SALIENT_SQL = f"""
WITH rows AS (
  SELECT s.*, dense_rank() OVER (PARTITION BY s.commodity_id, s.category, s.year
                                 {_NEWEST_RELEASE_FIRST}) AS _rk
  FROM us_salient s JOIN current_dataset d USING (dataset_id)
  WHERE s.category IN ('consumption', 'price'))
SELECT commodity_id, category, year, variable, quantity, unit
FROM rows WHERE _rk = 1 ORDER BY commodity_id, category, variable, year, source_line, quantity NULLS FIRST
"""


def _salient_all(wh: Any) -> dict[tuple[str, str], pd.DataFrame]:
    """USGS salient consumption and price rows by (commodity, category), newest release per
    commodity, category and year, in one query. ``Warehouse.us_salient(c, category=k)`` ranks
    releases within the rows it selected, i.e. per (commodity, category, year): the partition
    here is the same, so the rows are identical (tested against the per-commodity calls).
    Rows tied on (variable, year) (the warehouse has a few, e.g. iodine ``Consump_t`` as ``W``
    and as a number on one source line) come in a fixed order here, arbitrary in the API."""
    df = wh.query(_SALIENT_SQL)
    return {k: g.reset_index(drop=True) for k, g in df.groupby(["commodity_id", "category"], sort=False)}


_NO_ROWS = pd.DataFrame(columns=["commodity_id", "category", "year", "variable", "quantity", "unit"])


def _us_consumption(salient: dict[tuple[str, str], pd.DataFrame], cid: str) -> tuple[float | None, str]:
    sal_id, filt = SALIENT_ALIAS.get(cid, (cid, None))
    df = salient.get((sal_id, "consumption"), _NO_ROWS)
    if df.empty:
        return None, "no USGS salient consumption series"
    df = df[df["quantity"].notna() & df["unit"].isin(list(MASS_TO_T))]
    if filt:
        df = df[df["variable"].str.contains(filt)]
    df = df[~df["variable"].str.contains("Secondary|Reported_ore|Value", regex=True)]
    if df.empty:
        return None, "USGS salient consumption withheld or not in mass units"
    rank = df["variable"].map(lambda v: 0 if re.search(r"Appa|Apprnt|_App_", v) else (2 if "Report" in v or "Rpt" in v or "Rprtd" in v else 1))
    df = df.assign(rank=rank)
    y = int(df["year"].max())
    d = df[df["year"] == y].sort_values(["rank", "variable"]).iloc[0]
    return float(d["quantity"] * MASS_TO_T[d["unit"]]), f"USGS salient {d['variable']} {y}"


def _price(salient: dict[tuple[str, str], pd.DataFrame], cid: str) -> tuple[float, str]:
    sal_id, filt = SALIENT_ALIAS.get(cid, (cid, None))
    df = salient.get((sal_id, "price"), _NO_ROWS)
    df = df[df["quantity"].notna() & df["unit"].isin(list(PRICE_TO_USD_PER_T))] if not df.empty else df
    if filt and not df.empty:
        df = df[df["variable"].str.contains(filt)]
    if df.empty:
        return float("nan"), "not computable: no USGS salient price in a convertible unit"
    y = int(df["year"].max())
    d = df[df["year"] == y]
    vals = d["quantity"] * d["unit"].map(PRICE_TO_USD_PER_T)
    return float(np.median(vals)), f"median of {', '.join(sorted(d['variable']))} ({y}), converted to US$/t"


def _commodity(cid: str, consumers: tuple[str, ...], year: int | None, baci: dict[str, dict[str, pd.DataFrame]],
               prod_rows: dict, salient: dict[tuple[str, str], pd.DataFrame],
               fallback: dict[tuple[str, str], list[FallbackCell]] | None = None) -> CommodityMarket:
    mine, mine_meta = _production(prod_rows, cid, "extraction", year)
    proc, proc_meta = _production(prod_rows, cid, "processing", year)
    if mine.empty and proc.empty:
        raise LookupError("no production by country in mass units (USGS or WMD)")
    stage = "processing" if not proc.empty else "mine"
    prod = proc if stage == "processing" else mine
    group = "processing" if stage == "processing" else "extraction"
    notes: list[str] = []
    shares: dict[str, pd.Series] = {}
    demand: dict[str, float] = {}
    proxy: list[bool] = []
    trade_meta: dict[str, Any] = {}
    unknown: list[str] = []
    for c in consumers:
        tr = baci[c].get(cid, pd.DataFrame(columns=["stage_group", "flow", "year", "partner_iso3", "qty_t", "value_usd"]))
        used = tr[tr["stage_group"] == group] if not tr.empty else tr
        if not tr.empty and used.empty:
            other = tr["stage_group"].dropna().unique().tolist()
            used = tr[tr["stage_group"].isin(other)]
            notes.append(f"{c}: BACI has {cid} trade only at {other}; its import shares are used for the {stage} stage")
        imp = used[used["flow"] == "import"] if not used.empty else used
        if not imp.empty:
            y = int(imp["year"].max())
            imp_y = imp[imp["year"] == y]
            col = "qty_t" if imp_y["qty_t"].notna().any() else "value_usd"
            s = imp_y.groupby("partner_iso3")[col].sum()
            s = s[s > 0]
            exp_y = used[(used["flow"] == "export") & (used["year"] == y)]
            net = float(imp_y["qty_t"].sum() - exp_y["qty_t"].sum())
            trade_meta[c] = {"source": "BACI", "year": y, "basis": col, "partners": len(s), "net_imports_t": net}
        else:
            s, net = pd.Series(dtype=float), None
        fb_used = False
        if s.empty:
            fb = pick((fallback or {}).get((c, cid)), None if year is None else int(year),
                      int(settings.get("risk.fallback_max_lag_years")))
            if fb is not None:
                col = "qty_t" if fb.value_noqty == 0 and fb.import_qty else "value_usd"
                s = pd.Series(fb.import_qty if col == "qty_t" else fb.import_value, dtype=float)
                s = s[s > 0]
                note = fb.note(c, cid) + ("" if col == "qty_t" else "; value basis (tonnage missing for some partners)")
                trade_meta[c] = {"source": fb.source, "year": fb.year, "basis": col, "partners": len(s),
                                 "net_imports_t": None, "note": note}
                notes.append(note)
                fb_used = True
        if s.empty:
            s = prod.drop(c, errors="ignore")
            proxy.append(True)
            trade_meta[c] = {"source": "world production shares (proxy: no BACI or Comtrade partner data)"}
        else:
            proxy.append(False)
        shares[c] = s / s.sum()
        own = float(prod.get(c, 0.0))
        if c == "USA":
            q, how = _us_consumption(salient, cid)
            if q is not None:
                demand[c] = q
                trade_meta.setdefault(c, {})["consumption"] = how
                continue
            notes.append(f"USA: {how}; consumption = BACI net imports + US production instead")
        if net is None:
            demand[c] = 0.0
            unknown.append(c)
            why = (f"{trade_meta[c]['source']} {trade_meta[c]['year']} has imports only, no exports"
                   if fb_used else "no salient series and no BACI trade")
            notes.append(f"{c}: consumption not computable ({why}); "
                         "modelled as 0 t, results for this consumer are reported as not computable")
            continue
        demand[c] = max(net, 0.0) + own
        trade_meta.setdefault(c, {})["consumption"] = "BACI net imports + own production"
    partners = set().union(*[set(s.index) for s in shares.values()]) if shares else set()
    producers = tuple(sorted(set(prod.index) | partners))
    dem = np.array([demand[c] for c in consumers])
    dom = np.array([min(float(prod.get(c, 0.0)), demand[c]) for c in consumers])
    share = np.zeros((len(consumers), len(producers)))
    for i, c in enumerate(consumers):
        s = shares[c].drop(c, errors="ignore")
        if s.sum() > 0:
            for p, v in (s / s.sum()).items():
                share[i, producers.index(p)] = v
        elif dem[i] > dom[i]:
            raise LookupError(f"{c}: imports {dem[i] - dom[i]:.0f} t but no source country")
    price, pnote = _price(salient, cid)
    mp = mine if stage == "processing" else pd.Series(dtype=float)
    return CommodityMarket(
        commodity=cid, stage=stage, producers=producers,
        production_t=np.array([float(prod.get(p, 0.0)) for p in producers]),
        consumers=consumers, demand_t=dem, domestic_t=dom, import_share=share,
        proxy_trade_shares=tuple(proxy),
        mine_producers=tuple(mp.index), mine_production_t=mp.to_numpy(dtype=float),
        price_usd_per_t=price, price_note=pnote, notes=tuple(notes),
        demand_unknown=tuple(unknown),
        provenance={"production": proc_meta if stage == "processing" else mine_meta,
                    "mine_production": mine_meta, "trade": trade_meta},
    )


def _governance(wh: Any) -> dict[str, float]:
    g = wh.governance(measure="EST", source="WGI")
    if g.empty:
        g = wh.governance(measure="EST", source="GPR_WGI")
    g = g[g["country_iso3"].notna() & g["value"].notna()]
    if g.empty:
        return {}
    y = int(g["year"].max())
    return g[g["year"] == y].groupby("country_iso3")["value"].mean().to_dict()


def _all_commodities(wh: Any) -> list[str]:
    df = wh.query("SELECT DISTINCT commodity_id FROM production WHERE quantity IS NOT NULL AND measure = 'production' ORDER BY 1")
    return df["commodity_id"].tolist()


_FINGERPRINT_SQL = """
SELECT count(*), coalesce(max(dataset_id), 0), CAST(max(imported_at) AS VARCHAR),
       md5(coalesce(string_agg(dataset_id || ':' || sha256 || ':' || row_count, ',' ORDER BY dataset_id), ''))
FROM dataset
"""
_CACHE_SIZE = 4
_FALLBACK_SETTINGS = ("risk.trade_fallback_sources", "risk.fallback_min_partner_coverage",
                      "risk.fallback_max_lag_years")
_cache_lock = threading.Lock()
#: (db path, dataset fingerprint, consumers) -> fetched warehouse inputs; LRU, newest last
_input_cache: OrderedDict[tuple, _Inputs] = OrderedDict()


@dataclass
class _Inputs:
    """The warehouse rows the market is built from, plus the commodities built so far."""

    baci: dict[str, dict[str, pd.DataFrame]]
    prod_rows: dict
    salient: dict[tuple[str, str], pd.DataFrame]
    governance: dict[str, float]
    all_ids: list[str]
    fallback: dict[tuple[str, str], list[FallbackCell]]
    built: dict[tuple[str, int | None], CommodityMarket | str] = field(default_factory=dict)


def _fingerprint(wh: Any) -> tuple | None:
    """Identity of the warehouse contents: its file and the imported datasets (ids, hashes,
    row counts, import times). Any re-import changes it. None (no caching) if unavailable."""
    path = getattr(wh, "path", None)
    if path is None:
        return None
    try:
        row = wh.con.execute(_FINGERPRINT_SQL).fetchone()
    except duckdb.CatalogException:  # no dataset table: nothing imported, nothing to cache
        return None
    return (str(Path(path).resolve()), *row)


def _fetch(wh: Any, consumers: tuple[str, ...]) -> _Inputs:
    return _Inputs(_baci_all(wh, consumers), _production_all(wh), _salient_all(wh), _governance(wh),
                   _all_commodities(wh), _fallback_all(wh, consumers))


def _inputs(wh: Any, consumers: tuple[str, ...], cache: bool) -> _Inputs:
    fp = _fingerprint(wh) if cache else None
    if fp is None:
        return _fetch(wh, consumers)
    key = (*fp, consumers, *(repr(settings.get(n)) for n in _FALLBACK_SETTINGS))
    with _cache_lock:
        hit = _input_cache.get(key)
        if hit is not None:
            _input_cache.move_to_end(key)
            return hit
    inp = _fetch(wh, consumers)
    with _cache_lock:
        _input_cache[key] = inp
        while len(_input_cache) > _CACHE_SIZE:
            _input_cache.popitem(last=False)
    return inp


def clear_cache() -> None:
    """Forget cached warehouse inputs (they are also invalidated by any re-import)."""
    with _cache_lock:
        _input_cache.clear()


def market_from_warehouse(wh: Any, commodities=None, consumers=("USA", "JPN"), year=None, *,
                          cache: bool = True) -> Market:
    """Build a :class:`Market`; commodities that cannot be built are listed with the reason.

    The warehouse rows are read with five set-based queries (production, BACI trade of all
    consumers, the Comtrade fallback extracts, USGS salient consumption and prices, WGI). With ``cache`` they and the commodity
    markets built from them are kept per warehouse contents (file + imported datasets, see
    :func:`_fingerprint`), so a second call on an unchanged warehouse does no SQL beyond the
    fingerprint; callers get deep copies, never the cached objects.
    """
    consumers = tuple(consumers)
    inp = _inputs(wh, consumers, cache)
    ids = list(commodities) if commodities is not None else list(inp.all_ids)
    out: dict[str, CommodityMarket] = {}
    bad: dict[str, str] = {}
    for cid in ids:
        key = (cid, None if year is None else int(year))
        res = inp.built.get(key)
        if res is None:
            try:
                res = _commodity(cid, consumers, year, inp.baci, inp.prod_rows, inp.salient, inp.fallback)
            except (LookupError, ValueError) as e:
                res = f"not computable: {e}"
                log.info("%s: %s", cid, res)
            inp.built[key] = res
        if isinstance(res, str):
            bad[cid] = res
        else:
            out[cid] = copy.deepcopy(res)
    if commodities is not None and not out:
        raise LookupError("no requested commodity could be built: " + "; ".join(f"{k}: {v}" for k, v in bad.items()))
    return Market(consumers, out, year, bad, {"governance": dict(inp.governance)})
