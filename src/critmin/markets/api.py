"""Markets API over the warehouse: price series, trade unit values, signals.

These functions do the I/O (warehouse queries) and call the pure functions in
:mod:`critmin.markets.unitvalues`, :mod:`critmin.markets.signals` and
:mod:`critmin.markets.reference`. They return pandas DataFrames; dates are ISO 8601 strings
('2023-08-01' for ``date``, '2023-08' or '2023' for ``period``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmin.data.ingest.usgs_salient import decode_variable
from critmin.data.normalize.commodities import CommodityId
from critmin.data.normalize.commodities import resolve as resolve_commodity
from critmin.markets import signals as sig
from critmin.markets.errors import NotComputable
from critmin.markets.events import load_events
from critmin.markets.priceunits import convert_price, price_unit
from critmin.markets.reference import below_market, load_reference_table
from critmin.markets.unitvalues import monthly_series, unit_values

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

log = logging.getLogger(__name__)

#: Trade sources and who reports them (contracts: Warehouse.trade needs a reporter).
TRADE_SOURCES = {
    "CHINA_EXPORTS": ("CHN",),
    "COMTRADE_CMM": ("USA", "CHN"),
    "COMTRADE_QUAD": ("JPN", "USA", "AUS", "IND"),
    "COMTRADE_JPN2020": ("JPN",),
}

#: Products whose warehouse rows carry no single commodity id, and the commodities they
#: cover (keys: hs_code lower-cased, without the 'GROUP:' prefix). Sources: the China
#: extract's own code list (comtrade_china_exports/hs_map.csv: the 'Gallium/Germanium' group
#: sums China's 8-digit Ga and Ge codes) and the HS 2022 nomenclature (811292: unwrought
#: gallium, germanium, indium, niobium, vanadium and other 8112.9 metals; 250410 natural
#: graphite in powder or flakes; 380110 artificial graphite).
PRODUCT_COMMODITIES = {
    "gallium/germanium": frozenset({"gallium", "germanium"}),
    "811292": frozenset({"gallium", "germanium"}),
    "250410": frozenset({"graphite"}),
    "380110": frozenset({"graphite"}),
}


def product_label(hs_code: object) -> str:
    h = str(hs_code).strip().lower()
    return h[len("group:"):] if h.startswith("group:") else h


def unit_from_variable(variable: str) -> str | None:
    """The unit a USGS salient variable name states in its suffix (``Price_LME_dlb`` -> USD/lb;
    the importer's rule, :func:`critmin.data.ingest.usgs_salient.decode_variable`)."""
    return decode_variable(variable)[1]


def _sources(wh: Warehouse) -> dict[int, str]:
    d = wh.datasets()
    return {
        int(r.dataset_id): f"{r.publisher}, {r.title} ({r.vintage}; {r.source_path})"
        for r in d.itertuples()
    }


def prices(wh: Warehouse, commodity: str) -> pd.DataFrame:
    """All price series for a commodity (a name, resolved here once): :func:`prices_of`."""
    return prices_of(wh, resolve_commodity(commodity))


def prices_of(wh: Warehouse, cid: CommodityId) -> pd.DataFrame:
    """All price series for a (resolved) commodity: World Bank Pink Sheet (monthly) and USGS
    MCS salient prices (annual, newest release per year), with unit and source.

    Columns: ``series, name, commodity_id, frequency, date, period, price, unit, flag,
    value_raw, source, dataset_id, source_line``.
    """
    pt = wh.prices(commodity=cid)
    us = wh.us_salient(commodity=cid, category="price")
    frames = []
    if not pt.empty:
        frames.append(
            pd.DataFrame({
                "series": pt["series"], "name": pt["name"], "commodity_id": pt["commodity_id"],
                "frequency": pt["frequency"], "date": pd.to_datetime(pt["date"]),
                "price": pt["quantity"], "unit": pt["unit"], "flag": pt["flag"],
                "value_raw": pt["value_raw"], "dataset_id": pt["dataset_id"],
                "source_line": pt["source_line"],
            })  # fmt: skip
        )
    if not us.empty:
        have = set(pt["series"]) if not pt.empty else set()
        us = us[~(cid + ":" + us["variable"]).isin(have)]
        unit = us["unit"] if "unit" in us else pd.Series(None, index=us.index)
        derived = us["variable"].map(unit_from_variable)
        frames.append(
            pd.DataFrame({
                "series": cid + ":" + us["variable"], "name": us["variable"], "commodity_id": cid,
                "frequency": "A", "date": pd.to_datetime(us["year"].astype(str) + "-01-01"),
                "price": us["quantity"], "unit": unit.where(unit.notna(), derived),
                "flag": us["flag"], "value_raw": us["value_raw"], "dataset_id": us["dataset_id"],
                "source_line": us["source_line"],
            })  # fmt: skip
        )
    if not frames:
        raise NotComputable(f"no price series for {cid!r} in the warehouse (price and us_salient tables)")
    frames = [f for f in frames if not f.empty]
    df = pd.concat(frames, ignore_index=True)
    # several releases report the same year (MCS 2024 and 2025 both give 2023): keep the
    # newest release per series and date, as Warehouse.us_salient does
    ds = wh.datasets().set_index("dataset_id")
    df["_vintage"] = df["dataset_id"].map(ds["vintage"])
    df = (
        df.sort_values(["series", "date", "_vintage", "dataset_id"], ascending=[True, True, False, False])
        .drop_duplicates(["series", "date"])
        .drop(columns="_vintage")
        .reset_index(drop=True)
    )
    src = _sources(wh)
    df["source"] = df["dataset_id"].map(lambda i: src.get(int(i)))
    df["period"] = np.where(
        df["frequency"] == "A", df["date"].dt.strftime("%Y"), df["date"].dt.strftime("%Y-%m")
    )
    df["date"] = df["date"].dt.strftime("%Y-%m-%d")
    cols = ["series", "name", "commodity_id", "frequency", "date", "period", "price", "unit",
            "flag", "value_raw", "source", "dataset_id", "source_line"]  # fmt: skip
    return df[cols]


def trade_flows(
    wh: Warehouse, exporter: str | None = None, commodity: str | None = None, source: str | None = None
) -> pd.DataFrame:
    """Trade rows in exporter view (``exporter_iso3``, ``importer_iso3``) with unit values,
    de-duplicated across the reporters queried (a flow reported by both sides is kept twice,
    once per reporter, marked by ``reported_by``)."""
    cid = resolve_commodity(commodity) if commodity is not None else None
    frames = []
    srcs = [source] if source else list(TRADE_SOURCES)
    for s in srcs:
        reporters = TRADE_SOURCES.get(s)
        if reporters is None:
            raise ValueError(f"unknown trade source {s!r}; known: {sorted(TRADE_SOURCES)}")
        for rep in reporters:
            t = wh.trade(rep, commodity=cid, source=s)
            if not t.empty:
                frames.append(t)
    if not frames:
        return unit_values(_empty_trade())
    t = pd.concat(frames, ignore_index=True)
    t = t.drop_duplicates(subset=["dataset_id", "source_line", "hs_code"])
    df = unit_values(t)
    if exporter is not None:
        df = df[df["exporter_iso3"] == wh.resolve_country(exporter)]
    return df.reset_index(drop=True)


def _empty_trade() -> pd.DataFrame:
    cols = ["source", "year", "month", "reporter_iso3", "partner_iso3", "flow", "hs_code",
            "commodity_id", "stage_group", "value_usd", "qty_t", "dataset_id", "source_line"]  # fmt: skip
    return pd.DataFrame(columns=cols)


def tag_commodities(monthly: pd.DataFrame) -> tuple[pd.DataFrame, dict[tuple[str, str, str], set[str]]]:
    """Give rows without a commodity id the ';'-joined commodities of their product
    (:data:`PRODUCT_COMMODITIES`) and return the product -> commodities map for event matching."""
    m = monthly.copy()
    groups: dict[tuple[str, str, str], set[str]] = {}
    labels = m["hs_code"].map(product_label)
    for i in m.index[(m["commodity_id"].fillna("") == "") & labels.isin(PRODUCT_COMMODITIES)]:
        m.at[i, "commodity_id"] = ";".join(sorted(PRODUCT_COMMODITIES[labels[i]]))
    for s, hs, cid in m[["source", "hs_code", "commodity_id"]].drop_duplicates().itertuples(index=False):
        covered = PRODUCT_COMMODITIES.get(product_label(hs))
        groups[(s, hs, cid)] = set(covered) if covered else set(str(cid).split(";"))
    return m, groups


def _has_commodity(col: pd.Series, cid: str) -> pd.Series:
    return col.fillna("").astype(str).str.split(";").map(lambda parts: cid in parts)


def signals(
    wh: Warehouse,
    commodity: str | None = None,
    exporter: str | None = None,
    kinds: tuple[str, ...] = ("volume_change", "structural_break", "price_discrimination", "below_market"),
    flagged_only: bool = True,
) -> pd.DataFrame:
    """All signals (see :mod:`critmin.markets.signals`), newest window first."""
    flows = trade_flows(wh, exporter=exporter)
    cid = resolve_commodity(commodity) if commodity else None
    events = load_events()
    monthly, groups = tag_commodities(sig.add_partner_totals(monthly_series(flows)))
    if cid is not None:
        monthly = monthly[[cid in groups[k] for k in monthly[["source", "hs_code", "commodity_id"]].itertuples(index=False, name=None)]]
    parts = []
    if "volume_change" in kinds:
        parts.append(sig.event_volume_tests(monthly, events, groups))
    if "structural_break" in kinds:
        parts.append(sig.structural_breaks(monthly, events))
    if "price_discrimination" in kinds:
        parts.append(sig.price_discrimination(monthly))
    if "below_market" in kinds:
        table = load_reference_table()
        if cid is not None:
            table = table[table["commodity_id"] == cid]
        parts.append(below_market(flows, reference_prices(wh, table), table))
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=sig.SIGNAL_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    if cid is not None:
        out = out[_has_commodity(out["commodity_id"], cid)]
    if flagged_only:
        out = out[out["flagged"]]
    return out.sort_values(["window_end", "kind", "signal_id"], ascending=[False, True, True], ignore_index=True)


def reference_prices(wh: Warehouse, table: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """Reference price frames (USD/kg of the traded product) for the table's rows that the
    warehouse holds; rows whose series is missing are logged and left out (no signal). The
    series is converted from its unit in the warehouse with the one unit table; a unit that
    differs from the table's ``reference_unit`` is an error naming the row."""
    out: dict[tuple[str, str], pd.DataFrame] = {}
    for r in table.itertuples():
        if r.reference_kind == "us_salient":
            s = wh.us_salient(commodity=r.commodity_id, variable=r.reference_series)
            freq = "A"
            dates = pd.to_datetime(s["year"].astype(str) + "-01-01") if not s.empty else None
        else:
            s = wh.prices(series=r.reference_series)
            freq = "M"
            dates = pd.to_datetime(s["date"]) if not s.empty else None
        if s.empty or s["quantity"].notna().sum() == 0:
            log.info("reference series %s for %s/%s not in the warehouse: not tested",
                     r.reference_series, r.commodity_id, r.hs_code)
            continue
        units = {price_unit(str(u)) for u in s["unit"].dropna()}
        if units != {price_unit(str(r.reference_unit))}:
            raise ValueError(f"reference price table, {r.commodity_id}/{r.hs_code}, column 'reference_unit': "
                             f"{r.reference_unit!r}, but series {r.reference_series} is in {sorted(units)}")
        out[(r.commodity_id, str(r.hs_code))] = pd.DataFrame({
            "date": dates, "frequency": freq,
            "usd_per_kg": convert_price(s["quantity"].to_numpy(float), units.pop(), "USD/kg") * float(r.content_factor),
            "dataset_id": s["dataset_id"], "source_line": s["source_line"],
        }).dropna(subset=["usd_per_kg"])  # fmt: skip
    return out


def signals_to_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records (NaN -> None)."""
    recs = df.astype(object).where(df.notna(), None).to_dict(orient="records")
    for r in recs:
        for k, v in r.items():
            if isinstance(v, float) and not np.isfinite(v):
                r[k] = None
            elif isinstance(v, np.generic):
                r[k] = v.item()
    return recs
