"""Reference tables (commodity, aliases, country, HS map), regenerated from the packaged
catalogues on every import, inside the import transaction."""

from __future__ import annotations

import csv
from importlib import resources

import duckdb
import pandas as pd
import pycountry

from critmin.data.normalize import commodities


def _catalog_csv(name: str) -> list[dict[str, str]]:
    with resources.files("critmin.data.catalog").joinpath(name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def hs_map() -> pd.DataFrame:
    rows = _catalog_csv("hs_map.csv")
    cat = commodities.catalogue()
    for i, r in enumerate(rows, start=2):
        if r["commodity_id"] not in cat:
            raise ValueError(f"catalog/hs_map.csv, line {i}, column 'commodity_id': found {r['commodity_id']!r}, expected a catalogue id")
        if r["stage_group"] not in ("extraction", "processing"):
            raise ValueError(f"catalog/hs_map.csv, line {i}, column 'stage_group': found {r['stage_group']!r}, expected extraction|processing")
    return pd.DataFrame(rows, columns=["hs_code", "commodity_id", "stage_group", "description", "source"])


def refresh(con: duckdb.DuckDBPyConnection) -> None:
    cat = commodities.catalogue()
    com = pd.DataFrame(
        [(c.commodity_id, c.name, c.critical_2022, c.trade_unit) for c in cat.values()],
        columns=["commodity_id", "name", "critical_2022", "trade_unit"],
    )
    ali = pd.DataFrame(
        [(a, cid, kind) for a, (cid, kind) in commodities.alias_index().items()],
        columns=["alias", "commodity_id", "kind"],
    )
    ctry = pd.DataFrame(
        [(c.alpha_3, getattr(c, "common_name", None) or c.name, c.alpha_2, c.numeric) for c in pycountry.countries]
        + [("XKX", "Kosovo", "XK", None), ("ANT", "Netherlands Antilles", "AN", "530"), ("SCG", "Serbia and Montenegro", "CS", "891")],
        columns=["country_iso3", "name", "iso2", "numeric"],
    )
    for table, df in (("commodity", com), ("commodity_alias", ali), ("country", ctry), ("hs_map", hs_map())):
        con.execute(f"DELETE FROM {table}")
        con.register("_ref", df)
        con.execute(f"INSERT INTO {table} SELECT * FROM _ref")
        con.unregister("_ref")
