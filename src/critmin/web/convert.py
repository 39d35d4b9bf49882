"""Presentation helpers: library results (DataFrames, numpy, dataclasses) to JSON-ready values.

NaN and infinities become ``None`` (JSON ``null``): a value the library marks as not
computable stays visibly missing, never a zero.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd


def jsonable(o: Any) -> Any:
    """Recursively convert to JSON-serialisable Python values (NaN -> None)."""
    if o is None or isinstance(o, (str, bool)):
        return o
    if isinstance(o, (int, np.integer)) and not isinstance(o, bool):
        return int(o)
    if isinstance(o, (float, np.floating)):
        f = float(o)
        return f if math.isfinite(f) else None
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, pd.DataFrame):
        return records(o)
    if isinstance(o, pd.Series):
        return {str(k): jsonable(v) for k, v in o.items()}
    if isinstance(o, np.ndarray):
        return [jsonable(v) for v in o.tolist()]
    if isinstance(o, dict):
        return {str(k): jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in o]
    if isinstance(o, (pd.Timestamp, dt.datetime, dt.date)):
        return o.isoformat()
    if o is pd.NaT or o is pd.NA:
        return None
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return {f.name: jsonable(getattr(o, f.name)) for f in dataclasses.fields(o)}
    if hasattr(o, "item"):
        return jsonable(o.item())
    return str(o)


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as dicts with JSON-ready values."""
    out = []
    cols = [str(c) for c in df.columns]
    for row in df.itertuples(index=False, name=None):
        out.append({c: _cell(v) for c, v in zip(cols, row, strict=True)})
    return out


def _cell(v: Any) -> Any:
    if isinstance(v, (list, tuple, np.ndarray)):
        return [jsonable(x) for x in v]
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return jsonable(v)
