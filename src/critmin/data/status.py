"""What is in the warehouse: datasets with provenance, grouped by source, and table sizes."""

from __future__ import annotations

from typing import Any

import duckdb

from critmin.data.schema import TABLES
from critmin.data.warehouse import Warehouse


def status(wh: Warehouse) -> dict[str, Any]:
    ds = wh.datasets()
    tables = {}
    for name in TABLES:
        try:
            tables[name] = int(wh.query(f"SELECT count(*) AS n FROM {name}")["n"].iloc[0])
        except duckdb.CatalogException:  # table not created yet (a read-only DB from an older schema)
            tables[name] = 0
    ds["source"] = ds["source_path"].str.split("/").str[0].str.split("#").str[0]
    sources = []
    for src, g in ds.groupby("source", sort=True):
        sources.append({
            "source": src, "datasets": len(g), "rows": int(g["row_count"].sum()),
            "vintages": sorted(g["vintage"].unique().tolist()), "publisher": g["publisher"].iloc[0],
            "licence": g["licence"].iloc[0],
        })
    return {
        "db": str(wh.path),
        "n_datasets": len(ds),
        "n_rows": int(ds["row_count"].sum()) if len(ds) else 0,
        "sources": sources,
        "tables": tables,
        "datasets": [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items() if k != "source"}
            for r in ds.to_dict(orient="records")
        ],
    }
