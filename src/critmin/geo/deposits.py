"""Deposit queries over the USGS layers in the warehouse (``Warehouse.deposits``).

Layers: ``PP1802`` (USGS Professional Paper 1802 critical-mineral sites, 2017), ``MAJOR``
(USGS OFR 2005-1294 major mineral deposits of the world) and the GMRAP copper layers. Filters
by commodity, country and layer are done by the warehouse; the bounding box and the radius
(great-circle, :func:`critmin.geo.distance.calc_haversine_km`) are pure functions here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from critmin.data.warehouse import Warehouse
from critmin.geo.distance import calc_bbox_around, calc_haversine_km

BBox = tuple[float, float, float, float]  # west, south, east, north (degrees)


def check_bbox(bbox: BBox) -> BBox:
    w, s, e, n = (float(x) for x in bbox)
    if not (-180 <= w <= 180 and -180 <= e <= 180):
        raise ValueError(f"bbox: expected west/east longitudes in [-180, 180], got {w}, {e}")
    if not (-90 <= s <= n <= 90):
        raise ValueError(f"bbox: expected -90 <= south <= north <= 90, got south={s}, north={n}")
    return (w, s, e, n)


def filter_bbox(df: pd.DataFrame, bbox: BBox) -> pd.DataFrame:
    """Rows inside ``(west, south, east, north)``; west > east means the box crosses the antimeridian."""
    w, s, e, n = check_bbox(bbox)
    lat, lon = df["latitude"], df["longitude"]
    in_lat = (lat >= s) & (lat <= n)
    in_lon = ((lon >= w) & (lon <= e)) if w <= e else ((lon >= w) | (lon <= e))
    return df[in_lat & in_lon]


def filter_radius(df: pd.DataFrame, lat: float, lon: float, radius_km: float) -> pd.DataFrame:
    """Rows within ``radius_km`` (great circle) of (lat, lon), with ``distance_km``, nearest first."""
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise ValueError(f"near: expected latitude in [-90, 90] and longitude in [-180, 180], got {lat}, {lon}")
    if not radius_km > 0:
        raise ValueError(f"radius_km: expected > 0, got {radius_km}")
    box = filter_bbox(df, calc_bbox_around(lat, lon, radius_km))
    d = calc_haversine_km(lat, lon, box["latitude"].to_numpy(float), box["longitude"].to_numpy(float))
    out = box.assign(distance_km=d)
    return out[out["distance_km"] <= radius_km].sort_values(["distance_km", "name"], kind="stable")


def query_deposits(
    wh: Warehouse,
    commodity: str | None = None,
    country: str | None = None,
    layers: Sequence[str] | None = None,
    bbox: BBox | None = None,
    near: tuple[float, float] | None = None,
    radius_km: float | None = None,
) -> pd.DataFrame:
    """Deposits matching all given filters (``near`` and ``radius_km`` go together)."""
    if (near is None) != (radius_km is None):
        raise ValueError("near and radius_km must be given together (--near LAT,LON --radius-km R)")
    if commodity is not None:
        commodity = wh.resolve_commodity(commodity)
    df = wh.deposits(commodity=commodity, country=country)
    if layers:
        unknown = set(layers) - set(df["layer"].unique()) - {"PP1802", "MAJOR", "GMRAP_PORPHYRY", "GMRAP_SEDCU"}
        if unknown:
            raise ValueError(f"layers: unknown {sorted(unknown)}; expected PP1802, MAJOR, GMRAP_PORPHYRY, GMRAP_SEDCU")
        df = df[df["layer"].isin(list(layers))]
    if bbox is not None:
        df = filter_bbox(df, bbox)
    if near is not None and radius_km is not None:
        df = filter_radius(df, near[0], near[1], radius_km)
    return df.reset_index(drop=True)


def deposit_rows_for_output(df: pd.DataFrame) -> pd.DataFrame:
    """The columns shown to users (provenance kept)."""
    cols = [
        c
        for c in (
            "layer", "name", "country_iso3", "latitude", "longitude", "commodity_ids", "commodity_raw",
            "deposit_type", "status", "tonnage_mt", "grade", "distance_km", "dataset_id", "source_line",
        )
        if c in df.columns
    ]
    out = df[cols].copy()
    if "commodity_ids" in out:
        out["commodity_ids"] = out["commodity_ids"].map(lambda v: list(v) if isinstance(v, list | tuple | np.ndarray) else v)
    return out
