"""The warehouse: one DuckDB file holding every imported dataset, with provenance.

``critmin.open(db=None)`` returns a :class:`Warehouse`. Its typed query methods return
pandas DataFrames that always carry ``dataset_id`` and ``source_line`` so any number can be
traced back to its source file and row. Where several releases cover the same year (MCS 2024
estimates 2023, MCS 2025 revises it) the newest release is used unless ``vintage`` is given.

**As of a release.** ``Warehouse(path, vintage="MCS2023")`` (or ``wh.pin("MCS2023")``) reads the
warehouse as it stood at that release: for the datasets of the release's family
(:data:`RELEASE_FAMILIES`; today only the USGS Mineral Commodity Summaries, vintages
``MCS2022`` ... ``MCS2025``) the rows of newer releases are not seen, so the newest remaining
release wins per commodity and year (MCS 2023: production through its 2022 estimate). Every
read of every table goes through the one ``current_dataset`` view, which a pinned warehouse
replaces by the releases up to the pin (:meth:`Warehouse.query`), so the per-commodity reads,
the batched reads (:mod:`critmin.data.reads`) and everything computed from them (assessment,
market, stockpile, projects, outlook, brief) see the same data. Datasets of other publishers
and of USGS outside the MCS (World Mining Data, BACI and UN Comtrade trade, IEA outlook, WGI
governance, World Bank prices, OECD, SCRREEN recycling, the deposit layers, the curated
tables) are read as imported: they have no MCS vintage. The pin is part of
:meth:`fingerprint`, so no cache mixes pinned and unpinned results.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from critmin.data import paths
from critmin.data.errors import UnknownCommodity, UnknownCountry
from critmin.data.normalize import commodities, countries
from critmin.data.reads import NEWEST_RELEASE_FIRST, NOT_MISFILED, BatchReads


class WarehouseNotImported(RuntimeError):
    pass


class UnknownVintage(LookupError):
    """A ``vintage`` that names no release of a pinnable family in the warehouse (the message
    lists the releases available)."""


#: release families a warehouse can be read "as of": family -> (the vintage pattern of its
#: datasets, what it is). Releases of one family are ordered by their vintage text (MCS2023 <
#: MCS2024). Datasets whose vintage matches no family are never pinned.
RELEASE_FAMILIES: dict[str, tuple[str, str]] = {
    "MCS": (r"MCS\d{4}", "USGS Mineral Commodity Summaries"),
}
_CURRENT = re.compile(r"\bcurrent_dataset\b")


def _family(vintage: str) -> str | None:
    return next((f for f, (pat, _) in RELEASE_FAMILIES.items() if re.fullmatch(pat, vintage)), None)


_NEWEST_RELEASE_FIRST = NEWEST_RELEASE_FIRST
_NOT_MISFILED = NOT_MISFILED


class Warehouse(BatchReads):
    """The DuckDB warehouse: per-commodity reads here, batched reads in :class:`BatchReads`."""

    #: the release the warehouse is read as of (:meth:`pin`); None = every release, newest wins
    vintage: str | None = None

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False,
                 vintage: str | None = None) -> None:
        self.path = Path(path) if path is not None else paths.resolve_db_path()
        if read_only and not self.path.exists():
            raise WarehouseNotImported(f"no warehouse at {self.path}; run `critmin data import` first")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.read_only = read_only
        #: the file opened: ``path`` itself, or the version its symlink points at now
        #: (:mod:`critmin.data.versions`); a later import switches ``path``, not this file
        self.version_path = self.path.resolve() if self.path.exists() else self.path
        self.con = duckdb.connect(str(self.version_path), read_only=read_only)
        self._lock = threading.RLock()
        if not read_only:
            from critmin.data.importer import ensure_schema

            ensure_schema(self.con)
        if vintage is not None:
            self.pin(vintage)

    # -- releases -------------------------------------------------------------------------
    def releases(self) -> list[str]:
        """The vintages of the pinnable release families (:data:`RELEASE_FAMILIES`) in the
        warehouse, oldest first: e.g. ['MCS2022', 'MCS2023', 'MCS2024', 'MCS2025']."""
        with self._lock:
            cur = self.con.cursor()
        try:
            rows = cur.execute("SELECT DISTINCT vintage FROM current_dataset").fetchall()
        except duckdb.CatalogException:
            rows = []
        finally:
            cur.close()
        return sorted(str(v) for (v,) in rows if _family(str(v)) is not None)

    def resolve_vintage(self, text: str) -> str:
        """``'MCS2024'``, ``'mcs2024'``, ``'MCS 2024'``, ``'mcs-2024'`` -> ``'MCS2024'`` (a release of
        :meth:`releases`). A bare year is refused (is '2024' the MCS 2024 release, or the data
        year 2024 first estimated in MCS 2025?), as is any other text: :class:`UnknownVintage`
        naming the releases available."""
        have = self.releases()
        listed = ", ".join(have) or "none (nothing imported)"
        key = re.sub(r"[\s_-]+", "", str(text)).upper()
        if key.isdigit():
            y = int(key)
            raise UnknownVintage(
                f"vintage {text!r} is ambiguous: give the release, MCS{y} (published {y}, estimates for "
                f"{y - 1}) or MCS{y + 1} (estimates for {y}); releases available: {listed}")
        if key in have:
            return key
        if self.query("SELECT 1 FROM dataset WHERE upper(vintage) = ? LIMIT 1", [key]).shape[0]:
            raise UnknownVintage(f"vintage {text!r} is not a release the data can be read as of (only "
                                 f"{', '.join(n for _, n in RELEASE_FAMILIES.values())} are); releases available: {listed}")
        raise UnknownVintage(f"vintage {text!r}: no such release in the warehouse; releases available: {listed}")

    def pin(self, vintage: str | None) -> Warehouse:
        """Read the warehouse as of release ``vintage`` from now on (None: unpinned); returns
        self. See the module docstring for what is and is not pinned."""
        self.vintage = None if vintage is None else self.resolve_vintage(vintage)
        return self

    def pin_note(self) -> str | None:
        """One line saying what the pin hides (None when not pinned)."""
        if self.vintage is None:
            return None
        fam = _family(self.vintage)
        newer = [v for v in self.releases() if _family(v) == fam and v > self.vintage]
        name = RELEASE_FAMILIES[fam][1] if fam else self.vintage
        return (f"data as of {self.vintage}: {name} releases newer than it "
                f"({', '.join(newer) or 'none imported'}) are not read; other sources as imported")

    def _sql(self, sql: str) -> str:
        """``sql`` with the ``current_dataset`` view limited to the releases up to the pin."""
        if self.vintage is None:
            return sql
        fam = _family(self.vintage)
        pattern = RELEASE_FAMILIES[fam][0] if fam else re.escape(self.vintage)
        v = self.vintage.replace("'", "''")
        view = (f"(SELECT * FROM current_dataset WHERE NOT (regexp_full_match(vintage, '{pattern}') "
                f"AND vintage > '{v}'))")
        return _CURRENT.sub(lambda _m: view, sql)

    # -- plumbing -------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run SQL on a cursor (thread-safe) and return a DataFrame."""
        with self._lock:
            cur = self.con.cursor()
        try:
            return cur.execute(self._sql(sql), params or []).df()
        finally:
            cur.close()

    def fetchone(self, sql: str, params: Sequence[Any] | None = None) -> tuple[Any, ...] | None:
        """Run SQL on a cursor (thread-safe) and return its first row as a tuple (no DataFrame:
        the cheap path for the fingerprint, which every cached call reads)."""
        with self._lock:
            cur = self.con.cursor()
        try:
            return cur.execute(self._sql(sql), list(params or [])).fetchone()
        finally:
            cur.close()

    def is_imported(self) -> bool:
        try:
            return bool(self.query("SELECT count(*) AS n FROM dataset")["n"].iloc[0])
        except duckdb.CatalogException:
            return False

    def import_data(self, data_dir: str | Path | None = None, **kw: Any):  # -> ImportReport
        from critmin.data.importer import import_all

        with self._lock:
            return import_all(self.con, paths.resolve_data_dir(data_dir), **kw)

    # -- lookups --------------------------------------------------------------------------
    def resolve_commodity(self, text: str) -> commodities.CommodityId:
        return commodities.resolve(text)

    @staticmethod
    def resolve_country(text: str) -> str:
        t = text.strip()
        if len(t) == 3 and t.isupper() and t.isalpha():
            if countries.is_known_iso3(t):
                return t
            raise UnknownCountry(f"unknown country code {text!r}: not ISO 3166 alpha-3 nor in catalog/country_aliases.csv")
        try:
            return countries.to_iso3(t)
        except KeyError:
            raise UnknownCountry(f"unknown country {text!r}") from None

    def commodities(self) -> pd.DataFrame:
        return self.query("SELECT * FROM commodity ORDER BY commodity_id")

    def datasets(self) -> pd.DataFrame:
        return self.query("SELECT * FROM dataset ORDER BY dataset_id")

    # -- facts ----------------------------------------------------------------------------
    def production(
        self,
        commodity: str | None,
        stage: str | None = None,
        year: int | None = None,
        *,
        source: str = "USGS",
        measure: str = "production",
        vintage: str | None = None,
        include_aggregates: bool = True,
    ) -> pd.DataFrame:
        """Production by country for one commodity (``None``: every commodity).

        ``stage`` is a stage (mine, refinery, smelter, plant, processing) or a stage group
        (extraction, processing). For each year the newest release that reports it is used
        (of the releases up to the pin, :meth:`pin`). ``vintage`` keeps the rows of that one
        release only (exact match; the CLI's ``--vintage`` is the pin, "as of" the release).
        """
        where = ["p.source = ?", "p.measure = ?", _NOT_MISFILED]
        params: list[Any] = [source, measure]
        if commodity is not None:
            where.insert(0, "p.commodity_id = ?")
            params.insert(0, self.resolve_commodity(commodity))
        if stage is not None:
            if stage in ("extraction",):
                where.append("p.stage_group = 'extraction'")
            elif stage == "processing":
                where.append("p.stage_group = 'processing'")
            else:
                where.append("p.stage = ?")
                params.append(stage)
        if year is not None:
            where.append("p.year = ?")
            params.append(int(year))
        if vintage is not None:
            where.append("d.vintage = ?")
            params.append(vintage)
        if not include_aggregates:
            where.append("p.aggregate IS NULL")
        sql = f"""
        WITH rows AS (
          SELECT p.*, d.vintage, d.key,
                 dense_rank() OVER (PARTITION BY p.commodity_id, p.year, p.source
                                    {_NEWEST_RELEASE_FIRST}) AS _rk
          FROM production p JOIN current_dataset d USING (dataset_id)
          WHERE {' AND '.join(where)}
        )
        SELECT r.commodity_id, r.country_iso3,
               coalesce(c.name, r.country_raw) AS country, r.aggregate, r.stage, r.stage_group,
               r.product, r.measure, r.year, r.quantity, r.unit, r.flag, r.bound_lo, r.bound_hi,
               r.value_raw, r.unit_raw, r.estimated, r.note, r.source, r.vintage,
               r.dataset_id, r.source_line
        FROM rows r LEFT JOIN country c ON c.country_iso3 = r.country_iso3
        WHERE r._rk = 1
        ORDER BY r.year, r.stage, r.product, r.aggregate NULLS FIRST, r.quantity DESC NULLS LAST
        """
        return self.query(sql, params)

    def reserves(self, commodity: str | None = None, country: str | None = None, year: int | None = None) -> pd.DataFrame:
        where: list[str] = ["1=1", _NOT_MISFILED]
        params: list[object] = []
        if commodity is not None:
            where.append("r.commodity_id = ?")
            params.append(self.resolve_commodity(commodity))
        if country is not None:
            where.append("r.country_iso3 = ?")
            params.append(self.resolve_country(country))
        if year is not None:
            where.append("r.year = ?")
            params.append(int(year))
        return self.query(
            f"""WITH rows AS (SELECT r.*, d.vintage, dense_rank() OVER (PARTITION BY r.commodity_id, r.year
                    {_NEWEST_RELEASE_FIRST}) AS _rk
                 FROM reserves r JOIN current_dataset d USING (dataset_id) WHERE {' AND '.join(where)})
                SELECT * EXCLUDE (_rk) FROM rows WHERE _rk = 1
                ORDER BY commodity_id, year, aggregate NULLS FIRST, quantity DESC NULLS LAST""",
            params,
        )

    def us_salient(
        self, commodity: str | None = None, variable: str | None = None, year: int | None = None, category: str | None = None
    ) -> pd.DataFrame:
        where: list[str] = ["1=1"]
        params: list[object] = []
        if commodity is not None:
            where.append("s.commodity_id = ?")
            params.append(self.resolve_commodity(commodity))
        for col, val in (("variable", variable), ("category", category)):
            if val is not None:
                where.append(f"s.{col} = ?")
                params.append(val)
        if year is not None:
            where.append("s.year = ?")
            params.append(int(year))
        return self.query(
            f"""WITH rows AS (SELECT s.*, d.vintage, dense_rank() OVER (PARTITION BY s.commodity_id, s.year
                    {_NEWEST_RELEASE_FIRST}) AS _rk
                 FROM us_salient s JOIN current_dataset d USING (dataset_id) WHERE {' AND '.join(where)})
                SELECT commodity_id, year, variable, category, quantity, unit, flag, bound_lo, bound_hi,
                       value_raw, unit_raw, vintage, dataset_id, source_line
                FROM rows WHERE _rk = 1 ORDER BY commodity_id, variable, year""",
            params,
        )

    def trade(
        self,
        reporter: str,
        partner: str | None = None,
        commodity: str | None = None,
        year: int | None = None,
        *,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Flows in which ``reporter`` is the importer or the exporter, seen from the reporter
        (``flow`` = 'import' or 'export', ``partner_iso3`` the other side; 'WLD' = world)."""
        rep = self.resolve_country(reporter)
        where: list[str] = ["(t.importer_iso3 = ? OR t.exporter_iso3 = ?)"]
        params: list[object] = [rep, rep]
        if partner is not None:
            p = "WLD" if partner.upper() in ("WLD", "WORLD") else self.resolve_country(partner)
            where.append("(CASE WHEN t.importer_iso3 = ? THEN t.exporter_iso3 ELSE t.importer_iso3 END) = ?")
            params += [rep, p]
        if commodity is not None:
            where.append("t.commodity_id = ?")
            params.append(self.resolve_commodity(commodity))
        if year is not None:
            where.append("t.year = ?")
            params.append(int(year))
        if source is not None:
            where.append("t.source = ?")
            params.append(source)
        return self.query(
            f"""SELECT t.source, t.year, t.month, ? AS reporter_iso3,
                   CASE WHEN t.importer_iso3 = ? THEN t.exporter_iso3 ELSE t.importer_iso3 END AS partner_iso3,
                   CASE WHEN t.importer_iso3 = ? THEN 'import' ELSE 'export' END AS flow,
                   t.hs_code, t.commodity_id, t.stage_group, t.value_usd, t.qty_t,
                   t.reporter_iso3 AS reported_by, t.flag, t.dataset_id, t.source_line
                FROM trade t JOIN current_dataset d USING (dataset_id)
                WHERE {' AND '.join(where)}
                ORDER BY t.source, t.year, t.month NULLS FIRST, t.hs_code, partner_iso3""",
            [rep, rep, rep] + params,
        )

    def governance(
        self, country: str | None = None, year: int | None = None, dimension: str | None = None,
        measure: str = "EST", source: str = "WGI",
    ) -> pd.DataFrame:
        where: list[str] = ["g.measure = ?", "g.source = ?"]
        params: list[object] = [measure, source]
        if country is not None:
            where.append("g.country_iso3 = ?")
            params.append(self.resolve_country(country))
        if year is not None:
            where.append("g.year = ?")
            params.append(int(year))
        if dimension is not None:
            where.append("g.dimension = ?")
            params.append(dimension.upper())
        return self.query(
            f"""SELECT g.country_iso3, g.country_raw, g.year, g.dimension, g.measure, g.value, g.value_raw,
                   g.source, g.dataset_id, g.source_line
                FROM governance g JOIN current_dataset d USING (dataset_id)
                WHERE {' AND '.join(where)} ORDER BY g.country_iso3, g.year, g.dimension""",
            params,
        )

    def deposits(
        self,
        commodity: str | None = None,
        country: str | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        layer: str | None = None,
    ) -> pd.DataFrame:
        """Deposits; ``bbox`` = (min_lon, min_lat, max_lon, max_lat)."""
        where: list[str] = ["1=1"]
        params: list[object] = []
        if commodity is not None:
            where.append("list_contains(x.commodity_ids, ?)")
            params.append(self.resolve_commodity(commodity))
        if country is not None:
            where.append("x.country_iso3 = ?")
            params.append(self.resolve_country(country))
        if bbox is not None:
            min_lon, min_lat, max_lon, max_lat = bbox
            where.append("x.latitude BETWEEN ? AND ? AND x.longitude BETWEEN ? AND ?")
            params += [min_lat, max_lat, min_lon, max_lon]
        if layer is not None:
            where.append("x.layer = ?")
            params.append(layer)
        return self.query(
            f"""SELECT x.* FROM deposit x JOIN current_dataset d USING (dataset_id)
                WHERE {' AND '.join(where)} ORDER BY x.layer, x.country_iso3, x.name""",
            params,
        )

    def prices(
        self, series: str | None = None, start: str | None = None, end: str | None = None, *, commodity: str | None = None
    ) -> pd.DataFrame:
        where: list[str] = ["1=1"]
        params: list[object] = []
        if series is not None:
            where.append("p.series = ?")
            params.append(series)
        if commodity is not None:
            where.append("p.commodity_id = ?")
            params.append(self.resolve_commodity(commodity))
        if start is not None:
            where.append("p.date >= CAST(? AS DATE)")
            params.append(_as_date(start))
        if end is not None:
            where.append("p.date <= CAST(? AS DATE)")
            params.append(_as_date(end))
        return self.query(
            f"""SELECT p.series, p.name, p.commodity_id, p.frequency, p.date, p.quantity, p.unit, p.flag,
                   p.value_raw, p.unit_raw, p.dataset_id, p.source_line
                FROM price p JOIN current_dataset d USING (dataset_id)
                WHERE {' AND '.join(where)} ORDER BY p.series, p.date""",
            params,
        )


def _as_date(s: str) -> str:
    s = str(s)
    if len(s) == 4:
        return f"{s}-01-01"
    if len(s) == 7:
        return f"{s}-01"
    return s


def open(db: str | Path | None = None, *, read_only: bool = False,  # noqa: A001
         vintage: str | None = None) -> Warehouse:
    """Open the warehouse (``--db``/``CRITMIN_DB``/user data dir), as of release ``vintage``
    if given (:meth:`Warehouse.pin`)."""
    return Warehouse(paths.resolve_db_path(db), read_only=read_only, vintage=vintage)


__all__ = ["Warehouse", "open", "UnknownCommodity", "WarehouseNotImported"]
