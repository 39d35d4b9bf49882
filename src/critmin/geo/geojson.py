"""GeoJSON (RFC 7946) output: a FeatureCollection of Points, positions in [longitude, latitude]."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd


def _jsonable(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float | np.floating):
        return None if math.isnan(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.ndarray | list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, pd.Timestamp | dt.date):
        return v.isoformat()
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def to_feature_collection(df: pd.DataFrame, lat: str = "latitude", lon: str = "longitude") -> dict[str, Any]:
    """Rows → RFC 7946 FeatureCollection. Rows without coordinates get ``"geometry": null``
    (RFC 7946 section 3.2), so nothing is dropped silently; all other columns become properties."""
    feats = []
    props_cols = [c for c in df.columns if c not in (lat, lon)]
    for rec in df.to_dict("records"):
        la, lo = _jsonable(rec.get(lat)), _jsonable(rec.get(lon))
        geom = None if la is None or lo is None else {"type": "Point", "coordinates": [lo, la]}
        feats.append({"type": "Feature", "geometry": geom, "properties": {c: _jsonable(rec[c]) for c in props_cols}})
    return {"type": "FeatureCollection", "features": feats}
