"""Data API: status, commodities, production, provenance, assessment, deposits, scenarios.

All of these are joint records (public datasets and the analysts' shared scenario library):
every role may read them. Expensive results (the assessment) are cached per data version.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from critmin import settings
from critmin.data.errors import UnknownCommodity, UnknownCountry
from critmin.data.normalize.commodities import CommodityId, resolve
from critmin.data.supply import production_with_shares
from critmin.risk.api import assess
from critmin.web.context import WebContext, ctx_of, from_memory_or_thread
from critmin.web.convert import jsonable, records
from critmin.web.models import ERRORS, Table

router = APIRouter(prefix="/api", tags=["data"], responses=ERRORS)

CommodityPath = Annotated[str, Path(min_length=1, max_length=64, description="Commodity id or name")]
Year = Annotated[int | None, Query(ge=1900, le=2100)]


class SourceSummary(BaseModel):
    source: str
    datasets: int
    rows: int
    vintages: list[str]
    publisher: str
    licence: str


class DataStatus(BaseModel):
    n_datasets: int
    n_rows: int
    sources: list[SourceSummary]
    tables: dict[str, int]
    datasets: list[dict[str, Any]]


class Commodity(BaseModel):
    commodity_id: str
    name: str
    critical_2022: bool | None
    trade_unit: str | None


class ProductionRow(BaseModel):
    commodity_id: str
    country_iso3: str | None
    country: str | None
    aggregate: str | None
    stage: str
    stage_group: str
    product: str | None
    year: int
    quantity: float | None
    unit: str | None
    flag: str | None
    value_raw: str | None
    share: float | None
    share_basis: str | None
    selected: bool = Field(description="The rows every analysis uses for this commodity's mine or "
                           "processing stage in this year (critmin.data.supply.select_stage)")
    selected_for: list[str] = Field(default_factory=list, description="Every chain stage (mine, processing, "
                                    "metal, component) whose supply this row is part of")
    source: str
    vintage: str | None
    dataset_id: int
    source_line: int


class Production(BaseModel):
    commodity_id: str
    rows: list[ProductionRow]


class Provenance(BaseModel):
    dataset_id: int
    source_line: int
    dataset: dict[str, Any]
    line_text: str | None = Field(description="The source row as found, when the raw file is available")
    line_note: str | None = None


def commodity_or_404(ctx: WebContext, text: str) -> CommodityId:
    """The commodity id of a name from the request (resolved here, once), else 404."""
    try:
        return resolve(text)
    except UnknownCommodity as exc:
        raise HTTPException(404, str(exc)) from None


def country_or_404(ctx: WebContext, text: str) -> str:
    try:
        return ctx.wh.resolve_country(text)
    except UnknownCountry as exc:
        raise HTTPException(404, str(exc)) from None


def data_status(ctx: WebContext) -> dict[str, Any]:
    from critmin.data.status import status

    return ctx.cached(("status",), lambda: jsonable(status(ctx.wh)), shared=True)


@router.get("/data/status", response_model=DataStatus)
def get_status(request: Request) -> dict[str, Any]:
    """Imported datasets with provenance (publisher, licence, vintage, sha256) and table sizes."""
    return data_status(ctx_of(request))


@router.get("/commodities", response_model=list[Commodity])
async def get_commodities(request: Request) -> list[dict[str, Any]]:
    return await from_memory_or_thread(commodity_list, ctx_of(request))


def _at_stage(df: pd.DataFrame, stage: str | None) -> pd.DataFrame:
    """The rows of ``stage`` as :meth:`Warehouse.production` reads it: a stage group
    (``extraction``, ``processing``) or a stage (``mine``, ``refinery``, ...)."""
    if stage is None:
        return df
    col = "stage_group" if stage in ("extraction", "processing") else "stage"
    return df[df[col] == stage]


def production_rows(ctx: WebContext, cid: str, stage: str | None, year: int | None) -> list[dict[str, Any]]:
    """USGS production rows with ``share``, ``share_basis`` and ``selected``
    (:func:`critmin.data.supply.production_with_shares`), and where the analyses answer a stage
    and year from another admitted source (setting ``data.supply_sources``: World Mining Data,
    IEA, curated tables) the rows they use from it, so that every stage and year the watchlist
    reports has its ``selected`` rows here. Shares and the selection are taken over every stage
    and source of the year before ``stage`` filters the rows, so a filter never changes which
    rows are ``selected``."""

    def compute() -> list[dict[str, Any]]:
        sources = dict.fromkeys(("USGS", *settings.get("data.supply_sources")))
        frames = [ctx.wh.production(cid, year=year, source=s) for s in sources]
        present = [f for f in frames if not f.empty]
        df = production_with_shares(pd.concat(present, ignore_index=True) if present else frames[0])
        df = df[(df["source"] == "USGS") | (df["selected_for"].map(len) > 0)]
        return records(_at_stage(df, stage))

    # shared between server processes for the whole series (a year makes a key from a free parameter)
    return ctx.cached(("production", cid, stage, year), compute, shared=year is None)


@router.get("/production/{commodity}", response_model=Production)
async def get_production(
    request: Request,
    commodity: CommodityPath,
    stage: Annotated[
        Literal["mine", "processing", "extraction", "refinery", "smelter", "plant"] | None, Query()
    ] = None,
    year: Year = None,
) -> dict[str, Any]:
    """Production by country (and world/other aggregates) with shares and provenance: the USGS
    rows, and the rows of another source where the analyses use it for a stage and year
    (``selected`` marks the rows every analysis uses)."""
    ctx = ctx_of(request)
    cid = commodity_or_404(ctx, commodity)
    rows = await from_memory_or_thread(production_rows, ctx, cid, stage, year)
    return {"commodity_id": cid, "rows": rows}


@router.get("/provenance/{dataset_id}/{source_line}", response_model=Provenance)
def get_provenance(
    request: Request,
    dataset_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    source_line: Annotated[int, Path(ge=0, le=2**31 - 1)],
) -> dict[str, Any]:
    """Where a number comes from: the dataset's metadata and the source row as found."""
    from critmin.web.provenance import source_line_text

    ctx = ctx_of(request)
    ds = ctx.wh.dataset_row(dataset_id)
    if ds.empty:
        raise HTTPException(404, f"no dataset with id {dataset_id}")
    meta = records(ds)[0]
    text, note = source_line_text(meta["source_path"], source_line)
    return {"dataset_id": dataset_id, "source_line": source_line, "dataset": meta,
            "line_text": text, "line_note": note}


def commodity_list(ctx: WebContext) -> list[dict[str, Any]]:
    return ctx.cached(("commodities",), lambda: records(ctx.wh.commodities()), shared=True)


def assessment_rows(ctx: WebContext) -> dict[str, Any]:
    """The joint watchlist from :func:`critmin.risk.api.assess` (cached per data version)."""

    def compute() -> dict[str, Any]:
        df = assess(ctx.wh)
        return {"columns": [str(c) for c in df.columns], "rows": records(df)}

    return ctx.cached(("assess",), compute, shared=True)


@router.get("/assess", response_model=Table)
def get_assess(request: Request, commodity: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    """The joint US-Japan watchlist: one row per commodity, sorted by the joint score
    (``commodity``: that commodity's row only, by any name critmin resolves)."""
    ctx = ctx_of(request)
    table = assessment_rows(ctx)
    if commodity is None:
        return table
    cid = commodity_or_404(ctx, commodity)
    return {"columns": table["columns"], "rows": [r for r in table["rows"] if r.get("commodity") == cid]}


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]]


@router.get("/deposits", response_model=FeatureCollection)
def get_deposits(
    request: Request,
    commodity: Annotated[str | None, Query(max_length=64)] = None,
    country: Annotated[str | None, Query(pattern="^[A-Z]{3}$")] = None,
    layer: Annotated[list[Literal["PP1802", "MAJOR", "GMRAP_PORPHYRY", "GMRAP_SEDCU"]] | None, Query()] = None,
    west: Annotated[float | None, Query(ge=-180, le=180)] = None,
    south: Annotated[float | None, Query(ge=-90, le=90)] = None,
    east: Annotated[float | None, Query(ge=-180, le=180)] = None,
    north: Annotated[float | None, Query(ge=-90, le=90)] = None,
    limit: Annotated[int, Query(ge=1, le=100000)] = 20000,
) -> dict[str, Any]:
    """Deposits, mines and prospects (USGS layers) as an RFC 7946 GeoJSON FeatureCollection."""
    from critmin.geo.deposits import deposit_rows_for_output, query_deposits
    from critmin.geo.geojson import to_feature_collection

    ctx = ctx_of(request)
    cid = commodity_or_404(ctx, commodity) if commodity else None
    country = country_or_404(ctx, country) if country else None
    box = (west, south, east, north)
    if any(v is not None for v in box) and not all(v is not None for v in box):
        raise HTTPException(422, "bbox: give all of west, south, east, north or none")
    try:
        df = query_deposits(ctx.wh, commodity=cid, country=country, layers=layer,
                            bbox=box if all(v is not None for v in box) else None)  # type: ignore[arg-type]
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return to_feature_collection(deposit_rows_for_output(df.head(limit)))
