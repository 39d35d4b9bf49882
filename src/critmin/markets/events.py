"""The curated export-restriction event history (owned by the disruption capability).

Read from ``src/critmin/disruption/data/export_restrictions.csv``; columns
``event_id,country_iso3,commodity_id,stage,measure,announced,effective,ended,targets,
export_cut_estimate,description,source_title,source_url,as_of``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

EVENTS_PATH = Path(__file__).resolve().parents[1] / "disruption" / "data" / "export_restrictions.csv"
REQUIRED = ["event_id", "country_iso3", "commodity_id", "measure", "announced", "effective", "ended", "targets"]


def load_events(path: Path | str | None = None) -> pd.DataFrame:
    """The event table with ``announced``/``effective``/``ended`` as Timestamps and
    ``targets`` as a tuple of ISO3 codes (``()`` for ALL)."""
    p = Path(path) if path is not None else EVENTS_PATH
    if not p.is_file():
        raise FileNotFoundError(f"event history table not found: {p}")
    df = pd.read_csv(p, dtype=str, keep_default_na=False)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"{p}: missing columns {missing}; header is {list(df.columns)}")
    for col in ("announced", "effective", "ended"):
        parsed = pd.to_datetime(df[col].replace("", None), format="%Y-%m-%d", errors="coerce")
        bad = df[col].ne("") & parsed.isna()
        if bad.any():
            i = int(bad.idxmax())
            raise ValueError(f"{p}, line {i + 2}, column {col!r}: {df.at[i, col]!r} is not an ISO date")
        df[col] = parsed
    if df["announced"].isna().any() or df["effective"].isna().any():
        i = int((df["announced"].isna() | df["effective"].isna()).idxmax())
        raise ValueError(f"{p}, line {i + 2}: 'announced' and 'effective' are required")
    df["targets"] = [
        () if t.strip().upper() == "ALL" else tuple(x.strip() for x in t.split(";") if x.strip())
        for t in df["targets"]
    ]
    return df
