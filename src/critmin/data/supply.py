"""Supply at a stage: the one place that decides which production rows answer
"who supplies commodity X at stage S in year Y, and with what share".

Every consumer (the watchlist, the disruption market, project scoring, the commodity page, the
CLI) calls :func:`select_stage` (or :func:`select_stages` for all commodities at once), so they
cannot give two answers to one question. The choices, and why they were made, are recorded on
the returned :class:`StageSupply` (``choices``):

* **stage**: a chain stage of :mod:`critmin.data.value_chain` (``mine`` -> ``processing`` ->
  ``metal`` -> ``component``; the catalogue ``catalog/value_chain.csv`` says which rows stand
  for each), or any other value, a source stage taken as is (``refinery``, ``smelter``,
  ``plant``, ...). Within a chain stage, per commodity, source and year, only the first source
  stage of the setting ``risk.processing_stage_preference`` that has a country figure is used
  (for ``processing`` a source stage not in the setting is not used at all);
* **source**: the first source of the stage's order (setting ``data.stage_sources.<stage>``,
  restricted to the sources admitted by ``data.supply_sources``; a source stage: the order of
  ``data.supply_sources``) with a country figure at that stage and year; with no year, the
  newest year of the first source that has any. Defaults: mine USGS, WMD, IEA; processing
  USGS, IEA, WMD, CURATED; metal USGS, WMD, CURATED; component CURATED;
* **product**: within a stage, one product (USGS TYPE remainder): the one with a published world
  total, then the most country figures, then a ``content`` basis; shares are never mixed across
  products such as ilmenite and rutile;
* **world total**: the published world total (the smallest one not below 98 % of the country
  sum when a product carries several), else the country sum plus ``Other countries``
  (:func:`calc_shares`);
* **a partner's figure** (:meth:`StageSupply.partner`, :mod:`critmin.data.partner_figure`): a
  country the chosen source does not name is nil only where the named countries account for
  world output; otherwise it is *not reported* (at most the residual), never 0.

Pure functions on DataFrames with the columns of ``Warehouse.production``; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from critmin import settings
from critmin.data.normalize.units import MASS_TO_T
from critmin.data.partner_figure import NIL_RESIDUAL_SHARE, PartnerFigure, calc_partner_figure
from critmin.data.value_chain import CHAIN_STAGES, chain_mask

__all__ = [
    "CHAIN_STAGES",
    "NIL_RESIDUAL_SHARE",
    "NoStageSupply",
    "PartnerFigure",
    "Shares",
    "StageSupply",
    "WORLD_TOTAL_ROUNDING",
    "calc_partner_figure",
    "calc_shares",
    "chain_supply",
    "production_with_shares",
    "select_from_stage_rows",
    "select_stage",
    "select_stages",
    "stage_rows",
    "stage_rows_by_commodity",
    "stage_sources",
    "supply_sources",
]

STAGES = settings.register(
    "risk.stages",
    CHAIN_STAGES,
    "Chain stages assessed, upstream first: 'mine' (extraction), 'processing' (refining, "
    "separation, chemicals), 'metal' (metal or alloy), 'component' (magnets, anode material); "
    "which production rows stand for each: catalog/value_chain.csv (docs/data.md).",
    "JRC (2017) assesses supply risk at the extraction and the processing stage; issue 12 "
    "extends the chain to metal and component where the data exist.",
)
PROCESSING_PREFERENCE = settings.register(
    "risk.processing_stage_preference",
    ("refinery", "smelter", "processing", "plant", "separation", "chemical"),
    "When a commodity has several source stages standing for one chain stage in one source and "
    "year, the first of these that has country data is used ('processing' uses only these).",
    "Project choice: refined metal is the form traded and stockpiled (USGS MCS refinery rows); "
    "the curated stages 'separation' and 'chemical' come last.",
)
SUPPLY_SOURCES = settings.register(
    "data.supply_sources",
    ("USGS", "IEA", "WMD", "CURATED"),
    "Production sources admitted for supply at a stage (what the batched reads load); the order "
    "for a literal source stage. The order at a chain stage is data.stage_sources.<stage>.",
    "USGS Mineral Commodity Summaries are the backbone; the IEA is the only refining-by-country "
    "source for cobalt, lithium, nickel, battery graphite and magnet rare earths; World Mining "
    "Data (BMLRT Austria) covers stages and commodities the MCS world tables do not; CURATED = "
    "the processing-stage shares of curated/stage_shares.csv (shares, unit 'fraction').",
)
_STAGE_SOURCE_DEFAULTS: dict[str, tuple[tuple[str, ...], str]] = {
    "mine": (("USGS", "WMD", "IEA"), "USGS MCS first; World Mining Data where the MCS has no country "
             "figure; the IEA mining rows (2024, six minerals the MCS covers) last."),
    "processing": (("USGS", "IEA", "WMD", "CURATED"), "USGS MCS first where it has country figures "
                   "(existing answers kept); the IEA refining rows (the only refining-by-country source "
                   "for Co, Li, Ni, battery graphite, magnet REE); World Mining Data; curated shares last."),
    "metal": (("USGS", "WMD", "CURATED"), "USGS MCS metal products (magnesium, silicon metal, titanium "
              "sponge, aluminium); World Mining Data; curated shares last."),
    "component": (("CURATED",), "Only the curated tables give component (magnet, anode) shares."),
}
STAGE_SOURCES = {
    stage: settings.register(
        f"data.stage_sources.{stage}", default,
        f"Source order at the chain stage '{stage}': the first with a country figure at that stage and "
        "year answers (restricted to data.supply_sources; the source used is reported).",
        f"Project choice: {why}",
    )
    for stage, (default, why) in _STAGE_SOURCE_DEFAULTS.items()
}

#: the stages production_with_shares marks as 'selected' by default (the mine and processing
#: answers shown by tables and maps)
ANALYSIS_STAGES = ("mine", "processing")


def supply_sources() -> tuple[str, ...]:
    """Every production source admitted for supply at a stage (setting ``data.supply_sources``):
    pass it to ``Warehouse.production_all(sources=...)`` to load all the rows select_stage may use."""
    return tuple(settings.get("data.supply_sources"))


def stage_sources(stage: str) -> tuple[str, ...]:
    """The source order at ``stage``: ``data.stage_sources.<stage>`` for a chain stage, restricted
    to :func:`supply_sources`; for a literal source stage the order of ``data.supply_sources``."""
    admitted = supply_sources()
    if stage in CHAIN_STAGES:
        return tuple(s for s in settings.get(f"data.stage_sources.{stage}") if s in admitted)
    return admitted


class NoStageSupply(LookupError):
    """No production figure for a commodity at a stage (and year): the reason is the message."""


@dataclass(frozen=True)
class Shares:
    """Country shares of a world total.

    ``shares`` maps ISO3 -> fraction of ``denominator``; ``basis`` says which denominator was
    used (``'world_total'`` or ``'sum_of_rows'``); ``residual_share`` is the part of the
    denominator not attributed to a named country (``Other countries``, withheld values,
    rounding), ``>= 0`` up to rounding of the published world total.
    """

    shares: dict[str, float]
    denominator: float
    basis: str
    residual_share: float
    notes: tuple[str, ...] = ()


#: USGS rounds world totals to two significant digits, so the country rows may exceed the
#: published total by up to 5 % (e.g. 1,045 rounded to 1,000).
WORLD_TOTAL_ROUNDING = 0.05


def calc_shares(
    quantities: Mapping[str, float],
    world_total: float | None = None,
    other: float | None = None,
    rounding_tolerance: float = WORLD_TOTAL_ROUNDING,
) -> Shares:
    """Country shares of world production.

    Formula: ``s_c = q_c / D`` with ``D`` = published world total when given, else
    ``D = Σ_c q_c + q_other``. A published total is used as long as the country rows do not
    exceed it by more than ``rounding_tolerance`` (its two-significant-digit rounding; the
    shares may then sum to slightly above 1, as in the MCS's own percentages); beyond that
    the total is inconsistent with the rows and ``D = Σ_c q_c`` (with a note).

    Source: USGS MCS world tables (shares as in MCS T5 ``Leading_source_precent_world`` =
    leading-country production / world total).

    Countries with a zero quantity are kept with share 0. Raises ``ValueError`` for a negative
    or non-finite quantity, or when the denominator is not positive.
    """
    for c, q in quantities.items():
        if not math.isfinite(q) or q < 0:
            raise ValueError(f"quantity for {c!r} must be a finite number >= 0, got {q!r}")
    if other is not None and (not math.isfinite(other) or other < 0):
        raise ValueError(f"'other countries' quantity must be finite and >= 0, got {other!r}")
    notes: list[str] = []
    if world_total is not None:
        if not math.isfinite(world_total) or world_total <= 0:
            raise ValueError(f"world total must be a finite number > 0, got {world_total!r}")
        denom, basis = float(world_total), "world_total"
        listed = float(sum(quantities.values()))
        if listed > denom * (1.0 + rounding_tolerance):
            # a rounded world total can undershoot the sum of the country rows
            notes.append(
                f"countries sum to {listed:g}, more than the published world total {denom:g} "
                "allows for rounding: shares taken of the country sum"
            )
            denom, basis = listed, "sum_of_rows"
    else:
        denom = float(sum(quantities.values()) + (other or 0.0))
        basis = "sum_of_rows"
        if denom <= 0:
            raise ValueError("no positive production: the shares are undefined")
        if other is None:
            notes.append("no world total and no 'Other countries' row: shares of listed countries")
    shares = {c: q / denom for c, q in quantities.items()}
    residual = 1.0 - sum(shares.values())
    return Shares(shares, denom, basis, residual, tuple(notes))



@dataclass(frozen=True)
class StageSupply:
    """Supply of one commodity at one stage in one year, and how it was chosen."""

    commodity_id: str
    stage: str  #: the stage asked for ('mine', 'processing' or a source stage)
    source_stage: str  #: the stage of the rows used
    product: str  #: the product (USGS TYPE remainder), '' if none
    year: int
    source: str  #: 'USGS', 'IEA', 'WMD' or 'CURATED'
    unit: str | None
    vintage: str | None
    quantities: dict[str, float]  #: ISO3 -> quantity in ``unit`` (countries with a figure)
    other: float | None  #: the 'Other countries' aggregate, where published
    world_total: float | None  #: the published world total used, if any
    shares: Shares | None  #: None when the shares are not computable (reason in ``missing``)
    dataset_ids: tuple[int, ...]
    choices: tuple[str, ...]  #: which stage, source, product and total were chosen, and why
    missing: tuple[str, ...] = ()  #: withheld figures and other gaps, as sentences
    positions: tuple[int, ...] = field(default=(), compare=False, repr=False)
    frame: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)

    @property
    def rows(self) -> pd.DataFrame:
        """The production rows used (the chosen stage, source, year and product, with the
        world and 'Other countries' aggregates)."""
        return self.frame.iloc[list(self.positions)]

    @property
    def leading(self) -> tuple[str | None, float | None]:
        """The largest producer and its share (``None`` when not computable)."""
        if self.shares is None or not self.shares.shares:
            return None, None
        iso, share = max(self.shares.shares.items(), key=lambda kv: (kv[1], kv[0]))
        return iso, share

    @property
    def share_basis(self) -> str | None:
        return None if self.shares is None else self.shares.basis

    @property
    def to_t(self) -> float:
        """Factor from ``unit`` to metric tons; raises :class:`NoStageSupply` for a unit that
        is not a mass (carats, cubic metres)."""
        f = MASS_TO_T.get(str(self.unit))
        if f is None:
            raise NoStageSupply(f"{self.commodity_id} {self.stage} {self.year}: production is in "
                                f"{self.unit!r}, not a mass unit")
        return f

    def quantities_t(self) -> dict[str, float]:
        """Country quantities in metric tons."""
        f = self.to_t
        return {c: q * f for c, q in self.quantities.items()}

    @property
    def denominator_t(self) -> float | None:
        """The shares' denominator (world total) in metric tons."""
        return None if self.shares is None else self.shares.denominator * self.to_t

    def partner(self, iso3: str) -> PartnerFigure:
        """``iso3``'s figure here (:func:`calc_partner_figure`): a country the source does not
        name is 0 only where the named countries account for world output, else not reported."""
        label = f"{self.source} {self.year} {self.source_stage}" + (f" ({self.product})" if self.product else "")
        sh = self.shares
        return calc_partner_figure(iso3, self.quantities, None if sh is None else sh.residual_share,
                                   None if sh is None else sh.denominator, self.missing, label, self.unit or "")

    def summary(self) -> dict[str, object]:
        """JSON-ready description: what was used, the leading producer and why."""
        iso, share = self.leading
        return {
            "commodity_id": self.commodity_id, "stage": self.stage, "source_stage": self.source_stage,
            "product": self.product, "year": self.year, "source": self.source, "unit": self.unit,
            "vintage": self.vintage, "world_total": None if self.shares is None else self.shares.denominator,
            "share_basis": self.share_basis, "leading_country_iso3": iso, "leading_share": share,
            "dataset_ids": list(self.dataset_ids), "choices": list(self.choices), "missing": list(self.missing),
        }


def stage_rows(production: pd.DataFrame, stage: str, preference: Sequence[str] | None = None) -> pd.DataFrame:
    """Rows that can stand for ``stage``, with a column ``analysis_stage`` = ``stage``.

    A chain stage (:data:`CHAIN_STAGES`) takes the rows that ``catalog/value_chain.csv`` maps to
    it (:func:`critmin.data.value_chain.chain_mask`; ``mine`` is source stage ``mine``) and keeps,
    per (commodity, source, year), only the first source stage of ``preference`` (default: setting
    ``risk.processing_stage_preference``; other source stages after it, alphabetically) that has a
    country figure; ``processing`` uses only the source stages in ``preference``. Any other
    ``stage`` is matched literally.
    """
    if production.empty:
        return production.assign(analysis_stage=pd.Series(dtype=str))
    if stage not in CHAIN_STAGES:
        return production[production["stage"] == stage].assign(analysis_stage=stage)
    p = production[chain_mask(production, stage)]
    if stage == "mine" or p.empty:
        return p.assign(analysis_stage=stage)
    pref = list(preference if preference is not None else settings.get("risk.processing_stage_preference"))
    if stage == "processing":
        p = p[p["stage"].isin(pref)]
    if p.empty:
        return p.assign(analysis_stage=stage)
    has = p[p["aggregate"].isna() & p["quantity"].notna() & p["country_iso3"].notna()]
    present = has.groupby(["commodity_id", "source", "year"])["stage"].agg(set)
    rank = {s: i for i, s in enumerate(pref)}

    def order(s: str) -> tuple[int, str]:
        return (rank.get(s, len(rank)), s)

    chosen = {k: min(v, key=order) for k, v in present.items()}
    key = pd.Series(list(zip(p["commodity_id"], p["source"], p["year"], strict=True)), index=p.index)
    keep = [chosen.get(k) == s for k, s in zip(key, p["stage"], strict=True)]
    return p[keep].assign(analysis_stage=stage)


class _Cols:
    """Column arrays of a production frame, for fast per-group work (pandas per-group
    indexing costs milliseconds; the assessment builds several hundred groups)."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df

        def get(col: str) -> np.ndarray:
            return df[col].to_numpy(dtype=object) if col in df else np.full(len(df), None, dtype=object)

        self.product = np.array(["" if _na(v) else str(v) for v in get("product")], dtype=object)
        self.aggregate = get("aggregate")
        self.country = get("country_iso3")
        self.quantity = pd.to_numeric(df["quantity"], errors="coerce").to_numpy(dtype=float) if len(df) else np.array([])
        self.stage = get("stage")
        self.unit = get("unit")
        self.vintage = get("vintage")
        self.flag = get("flag")
        self.value_raw = get("value_raw")
        self.dataset_id = get("dataset_id")


def _na(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _pick_product(c: _Cols, idx: np.ndarray) -> tuple[str, np.ndarray, str]:
    best_key: tuple[bool, bool, int, bool] | None = None
    best: tuple[str, np.ndarray] | None = None
    products = sorted(set(c.product[idx]))
    for prod in products:
        pi = idx[c.product[idx] == prod]
        agg, cty, q = c.aggregate[pi], c.country[pi], c.quantity[pi]
        is_country = np.array([_na(a) and not _na(k) for a, k in zip(agg, cty, strict=True)], dtype=bool)
        has_world = bool(np.any((agg == "world") & ~np.isnan(q)))
        n_fig = int(np.sum(is_country & ~np.isnan(q)))
        # a product with country figures beats one with only a world row: the MCS 2023/2024
        # releases label some world rows with another product than their country rows (e.g.
        # "world mine production: palladium" vs ": palladium"), and a world row alone has no
        # shares to give
        key = (n_fig > 0, has_world, n_fig, "content" in prod)
        if best_key is None or key > best_key:
            best_key, best = key, (prod, pi)
    assert best is not None and best_key is not None
    why = (f"product {best[0]!r} of {len(products)}: "
           + ("has a world total, " if best_key[1] else "no world total for a product with country figures, ")
           + f"{best_key[2]} country figures" + (", content basis" if best_key[3] else ""))
    return best[0], best[1], why


def _world_total_of(world: list[float], country_sum: float) -> tuple[float | None, str]:
    w = [x for x in world if x > 0]
    if not w:
        return None, "no published world total: country sum plus 'Other countries'"
    ok = [x for x in w if x >= 0.98 * country_sum]
    if len(w) == 1:
        return w[0], "published world total"
    if ok:
        return min(ok), f"smallest of {len(w)} published world totals not below the country sum"
    return max(w), f"largest of {len(w)} published world totals (all below the country sum)"


def _build(c: _Cols, cid: str, stage: str, year: int, source: str, idx: np.ndarray,
           choices: list[str]) -> StageSupply:
    product, pi, why = _pick_product(c, idx)
    choices = [*choices, why]
    q: dict[str, float] = {}
    missing: list[str] = []
    other: float | None = None
    world: list[float] = []
    for i in pi:
        agg, cty, qty = c.aggregate[i], c.country[i], c.quantity[i]
        if _na(agg) and not _na(cty):
            if math.isnan(qty):
                missing.append(f"{stage} {year}: {cty} production is '{c.value_raw[i]}' (flag {c.flag[i]})")
            else:
                q[str(cty)] = q.get(str(cty), 0.0) + float(qty)
        elif agg == "other" and not math.isnan(qty):
            other = (other or 0.0) + float(qty)
        elif agg == "world" and not math.isnan(qty):
            world.append(float(qty))
    total, why_total = _world_total_of(world, sum(q.values()))
    units = [u for u in c.unit[pi] if not _na(u)]
    if units and units[0] == "fraction" and total == 1.0:
        why_total = "world = 1: the source gives shares of world output, not tonnages (unit 'fraction')"
    choices.append(why_total)
    shares: Shares | None = None
    if not any(v > 0 for v in q.values()):
        missing.append(f"{stage} {year}: no country with a production figure")
    else:
        try:
            shares = calc_shares(q, world_total=total, other=other)
        except ValueError as e:
            missing.append(f"{stage} {year}: shares not computable: {e}")
    vint = [v for v in c.vintage[pi] if not _na(v)]
    return StageSupply(
        commodity_id=cid, stage=stage, source_stage=str(c.stage[pi[0]]), product=product,
        year=int(year), source=source, unit=str(units[0]) if units else None,
        vintage=str(vint[0]) if vint else None, quantities=q, other=other, world_total=total,
        shares=shares, dataset_ids=tuple(sorted({int(d) for d in c.dataset_id[pi]})),
        choices=tuple(choices), missing=tuple(missing), positions=tuple(int(i) for i in pi), frame=c.df,
    )


def _figures(c: _Cols) -> np.ndarray:
    """Country rows with a number."""
    return np.array([_na(a) and not _na(k) for a, k in zip(c.aggregate, c.country, strict=True)],
                    dtype=bool) & ~np.isnan(c.quantity)


def _choices(stage: str, source_stage: str, src: str, srcs: Sequence[str], year: int, newest: bool) -> list[str]:
    earlier = list(srcs[: list(srcs).index(src)]) if src in srcs else []
    why = "; ".join(f"{e} has no country figure there" for e in earlier)
    return [f"stage {stage}: source stage {source_stage}",
            f"source {src}" + (f" ({why})" if earlier else ""),
            f"year {year}" + (" (the newest with a country figure)" if newest else "")]


def select_stage(
    production: pd.DataFrame,
    commodity: str,
    stage: str,
    year: int | None = None,
    *,
    sources: Sequence[str] | None = None,
    preference: Sequence[str] | None = None,
) -> StageSupply:
    """Supply of ``commodity`` at ``stage`` in ``year`` (``None``: the newest year).

    ``production`` holds ``Warehouse.production``/``production_all`` rows (other commodities
    are ignored). ``sources`` (default: :func:`stage_sources` of the stage) is the source
    order. Raises :class:`NoStageSupply` with the reason when no source has a country figure
    there.
    """
    rows = stage_rows(production[production["commodity_id"] == commodity], stage, preference)
    return select_from_stage_rows(rows, commodity, stage, year, sources=sources)


def stage_rows_by_commodity(production: pd.DataFrame, stages: Iterable[str],
                            preference: Sequence[str] | None = None) -> dict[str, dict[str, pd.DataFrame]]:
    """:func:`stage_rows` of every stage computed once for all commodities, split by commodity:
    ``{commodity: {stage: rows}}``, for callers that run :func:`select_from_stage_rows` for many
    commodities (the disruption market: one pass instead of one per commodity and stage)."""
    out: dict[str, dict[str, pd.DataFrame]] = {}
    for stage in stages:
        rows = stage_rows(production, stage, preference)
        for cid, g in rows.groupby("commodity_id", sort=False):
            out.setdefault(str(cid), {})[stage] = g
    return out


def select_from_stage_rows(
    rows: pd.DataFrame,
    commodity: str,
    stage: str,
    year: int | None = None,
    *,
    sources: Sequence[str] | None = None,
) -> StageSupply:
    """:func:`select_stage` on rows already restricted to ``commodity`` and to ``stage`` by
    :func:`stage_rows` (the rule is the same; only the row selection is done by the caller)."""
    srcs = tuple(sources if sources is not None else stage_sources(stage))
    c = _Cols(rows)
    fig = _figures(c)
    years = rows["year"].to_numpy()
    src_col = rows["source"].to_numpy(dtype=object)
    for src in srcs:
        sel = fig & (src_col == src)
        if year is not None:
            sel &= years == int(year)
        if not sel.any():
            continue
        y = int(years[sel].max())
        idx = np.flatnonzero((src_col == src) & (years == y))
        choices = _choices(stage, str(c.stage[idx[0]]), src, srcs, y, year is None)
        return _build(c, commodity, stage, y, src, idx, choices)
    when = f" in {year}" if year is not None else ""
    have = sorted({int(v) for v in years[fig]})
    hint = f"; years with figures: {have[0]}-{have[-1]}" if have else ""
    raise NoStageSupply(f"no {stage} production of {commodity}{when} by country in {', '.join(srcs)}{hint}")


def select_stages(
    production: pd.DataFrame,
    stages: Iterable[str] | None = None,
    *,
    sources: Sequence[str] | None = None,
    preference: Sequence[str] | None = None,
) -> dict[tuple[str, str, int], StageSupply]:
    """:func:`select_stage` for every commodity, stage and year that has rows, in one pass:
    ``{(commodity, stage, year): StageSupply}``. A (commodity, stage, year) whose rows have no
    country figure is kept, with ``shares`` None and the reason in ``missing``; its source is
    then the first source that has rows. ``sources`` (default: :func:`stage_sources` of each
    stage) is the source order."""
    out: dict[tuple[str, str, int], StageSupply] = {}
    if production.empty:
        return out
    for stage in tuple(stages if stages is not None else settings.get("risk.stages")):
        srcs = tuple(sources if sources is not None else stage_sources(stage))
        rows = stage_rows(production, stage, preference)
        rows = rows[rows["source"].isin(srcs)]
        if rows.empty:
            continue
        c = _Cols(rows)
        fig = _figures(c)
        groups: dict[tuple[str, int], dict[str, list[int]]] = {}
        figs: set[tuple[str, int, str]] = set()
        for i, (cid, y, src) in enumerate(zip(rows["commodity_id"], rows["year"], rows["source"], strict=True)):
            groups.setdefault((str(cid), int(y)), {}).setdefault(str(src), []).append(i)
            if fig[i]:
                figs.add((str(cid), int(y), str(src)))
        for (cid, y) in sorted(groups):
            by_src = groups[(cid, y)]
            present = [s for s in srcs if (cid, y, s) in figs]
            src = present[0] if present else next(s for s in srcs if s in by_src)
            idx = np.array(by_src[src])
            out[(cid, stage, y)] = _build(c, cid, stage, y, src, idx,
                                          _choices(stage, str(c.stage[idx[0]]), src, srcs, y, False))
    return out


def chain_supply(
    production: pd.DataFrame, commodity: str, year: int | None = None, *, stages: Iterable[str] | None = None,
) -> dict[str, StageSupply | NoStageSupply]:
    """Every chain stage of ``commodity`` that has production rows (in ``stages``, default
    :data:`CHAIN_STAGES`, upstream first): ``{stage: StageSupply}``, or the
    :class:`NoStageSupply` (with its reason) where the stage has rows but no country figure for
    ``year``. Stages without any row are left out. For the commodity page and the chain view."""
    rows = production[production["commodity_id"] == commodity]
    out: dict[str, StageSupply | NoStageSupply] = {}
    for stage in tuple(stages if stages is not None else CHAIN_STAGES):
        if stage_rows(rows, stage)["source"].isin(stage_sources(stage)).any():
            try:
                out[stage] = select_stage(rows, commodity, stage, year)
            except NoStageSupply as e:
                out[stage] = e
    return out


def production_with_shares(production: pd.DataFrame, stage: str | None = None,
                           preference: Sequence[str] | None = None) -> pd.DataFrame:
    """``Warehouse.production`` rows with ``share``, ``share_basis``, ``selected`` and ``selected_for``.

    Each (source, stage, product, year) group gets its shares from :func:`calc_shares` with the
    world-total rule of :func:`select_stage`; ``selected`` marks the rows of the product that
    :func:`select_stage` uses for ``stage`` (a chain stage; default: ``mine`` and ``processing``) of that year, so
    a page showing "the leading producer" shows the same one as every other part of critmin;
    ``selected_for`` lists every chain stage (mine, processing, metal, component) whose supply
    the row is part of (magnesium metal rows stand for processing and metal).
    Rows without a figure get no share; ``share_basis`` then carries ``+incomplete``.
    """
    out = production.copy()
    out["share"] = float("nan")
    out["share_basis"] = None
    out["selected"] = False
    out["selected_for"] = pd.Series([[] for _ in range(len(out))], index=out.index, dtype=object)
    if out.empty:
        return out
    keys = ["source", "stage", "product", "year"]
    for _, g in out.groupby([out[k].fillna("") for k in keys], sort=False):
        countries = g[g["aggregate"].isna() & g["country_iso3"].notna()]
        q = countries[countries["quantity"].notna()].groupby("country_iso3")["quantity"].sum()
        other_rows = g.loc[(g["aggregate"] == "other") & g["quantity"].notna(), "quantity"]
        wq = g.loc[(g["aggregate"] == "world") & g["quantity"].notna(), "quantity"].astype(float).tolist()
        world, _ = _world_total_of(wq, float(q.sum()))
        try:
            sh = calc_shares({str(k): float(v) for k, v in q.items()}, world_total=world,
                             other=float(other_rows.sum()) if not other_rows.empty else None)
        except ValueError:
            continue
        basis = sh.basis + ("+incomplete" if countries["quantity"].isna().any() else "")
        out.loc[g.index, "share"] = g["quantity"].astype(float) / sh.denominator
        out.loc[g.index, "share_basis"] = basis
    wanted = [stage] if stage in CHAIN_STAGES else list(ANALYSIS_STAGES)
    chosen: dict[object, list[str]] = {}
    for st in CHAIN_STAGES:
        for sup in select_stages(production, [st], preference=preference).values():
            for i in sup.rows.index:
                chosen.setdefault(i, []).append(st)
    out["selected_for"] = [chosen.get(i, []) for i in out.index]
    out["selected"] = [any(st in wanted for st in v) for v in out["selected_for"]]
    return out
