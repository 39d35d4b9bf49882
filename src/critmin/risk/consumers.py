"""Exposure of consumer countries, from the warehouse inputs (data selection + the pure
functions of :mod:`critmin.risk.exposure`).

* US net import reliance: MCS salient ``NIR_pct`` (newest release for the year), else the
  MCS T5 / Fig2 value for that year; codes ``E``, ``>x``, ``<x`` stay explicit.
* Any other consumer (and the US when MCS has no NIR): from trade, per stage group,
  ``(M - X) / (P + M - X)`` with tonnages from CEPII BACI and the consumer's own production
  from the rows that answer supply at that stage (:func:`critmin.data.supply.select_stages`:
  the USGS world tables, else World Mining Data); the highest stage-group value is reported.
* Import shares (by value, all HS codes of the commodity): import HHI, non-allied share,
  import-weighted supplier governance risk.
* Where BACI has no flows for a consumer and commodity in the year window, the UN Comtrade
  extracts with a partner breakdown are used instead (:mod:`critmin.data.tradefallback`); the
  source, year and caveats are stated in ``missing`` and ``Exposure.trade_source``. The
  extracts hold imports only, so a computed NIR stays not computable from them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd

from critmin import settings
from critmin.data.normalize.units import MASS_TO_T
from critmin.data.tradefallback import FallbackCell, pick
from critmin.risk import params  # noqa: F401
from critmin.risk.exposure import (
    NIR,
    calc_import_hhi,
    calc_import_shares,
    calc_net_import_reliance,
    calc_non_allied_share,
    calc_supplier_governance_risk,
    nir_from_mcs,
)

settings.register(
    "risk.trade_sources",
    ("BACI",),
    "Trade sources with complete partner breakdowns used for import shares and computed NIR.",
    "CEPII BACI (Gaulier & Zignago 2010) reconciles reporter and partner declarations.",
)
settings.register(
    "risk.max_uncovered_import_share",
    0.05,
    "Supplier governance risk is computed over partners with a WGI when those without one "
    "supply at most this share of imports (the uncovered share is reported); else not computable.",
    "Project choice: small territories without a WGI must not void the indicator.",
)

#: MCS salient (commodity, variable) holding the NIR of a commodity whose salient file has
#: no plain ``NIR_pct`` column, chosen to match the form in MCS T5 (e.g. rare earths:
#: compounds and metals; zinc and tin: refined metal; titanium: sponge).
NIR_VARIABLE: dict[str, tuple[str, str]] = {
    "platinum": ("pgm", "NIR_Platinum_pct"),
    "palladium": ("pgm", "NIR_Palladium_pct"),
    "rare_earths": ("rare_earths", "NIR_Compounds-Metals_t"),
    "titanium": ("titanium", "NIR_Sponge_pct"),
    "bauxite": ("bauxite", "Bauxite_NIR_pct"),
    "zirconium": ("zirconium", "NIR_Zr_ore_pct"),
    "hafnium": ("zirconium", "NIR_Hf_pct"),
    "zinc": ("zinc", "NIR_Refined_pct"),
    "tin": ("tin", "NIR_Refined_pct"),
    "lead": ("lead", "NIR_Metal_pct"),
    "cadmium": ("cadmium", "NIR_Metal_pct"),
    "bismuth": ("bismuth", "NIR_Consump_pct"),
    "arsenic": ("arsenic", "NIR_All_pct"),
    "feldspar": ("feldspar", "NIR_Feldspar_pct"),
    "mica": ("mica", "NIR_Sheet_pct"),
}
#: plain NIR column names (``NIR_ct`` is how some 2025 files spell ``NIR_pct``)
PLAIN_NIR = ("NIR_pct", "NIR_ct")


@dataclass
class Exposure:
    consumer: str
    commodity_id: str
    nir: NIR | None = None
    nir_stage: str | None = None
    import_shares: dict[str, float] = field(default_factory=dict)
    import_shares_by_stage: dict[str, dict[str, float]] = field(default_factory=dict)
    import_hhi: float | None = None
    non_allied_import_share: float | None = None
    supplier_governance_risk: float | None = None
    trade_year: int | None = None
    #: source of the import shares ('BACI', a Comtrade extract, or None)
    trade_source: str | None = None
    missing: list[str] = field(default_factory=list)
    dataset_ids: set[int] = field(default_factory=set)


#: one NIR cell of the MCS (a row of ``Warehouse.nir_salient`` or ``Warehouse.nir_trend`` as a dict)
NIRCell = Mapping[str, Any]


def nir_cells(df: pd.DataFrame) -> dict[tuple[str, int], list[NIRCell]]:
    """NIR cells by (commodity, year), in the frame's order (for :func:`us_nir`)."""
    out: dict[tuple[str, int], list[NIRCell]] = {}
    if df.empty:
        return out
    for r in df.to_dict("records"):
        out.setdefault((str(r["commodity_id"]), int(r["year"])), []).append(r)
    return out


def _mcs_nir(r: NIRCell, src: str) -> NIR:
    return nir_from_mcs(r["quantity"], r["flag"], r["bound_lo"], r["bound_hi"], r["value_raw"], src,
                        (int(r["dataset_id"]), int(r["source_line"])))


def us_nir(
    nir_salient: Sequence[NIRCell], nir_trend: Sequence[NIRCell], commodity: str, year: int
) -> tuple[NIR | None, set[int], str | None]:
    """The MCS net import reliance of the US for a commodity and year (or the reason).

    ``nir_salient``/``nir_trend``: cells of :meth:`Warehouse.nir_salient`/``nir_trend`` (see
    :func:`nir_cells`); the salient cell of ``NIR_VARIABLE`` (else a plain NIR column, else the
    only NIR variable) wins, then the newest T5, then Fig2 value."""
    sal_c, var = NIR_VARIABLE.get(commodity, (commodity, ""))
    s = [r for r in nir_salient if r["commodity_id"] == sal_c and r["year"] == year]
    hit = [r for r in s if r["variable"] == var] if var else []
    for plain in PLAIN_NIR:
        if not hit and sal_c == commodity:
            hit = [r for r in s if r["variable"] == plain]
    if not hit and sal_c == commodity and len({r["variable"] for r in s}) == 1:
        hit = s
    if hit:
        r = hit[0]
        n = _mcs_nir(r, f"{r['vintage']} salient {r['variable']}")
        if n.usable is not None or n.flag == "E":
            return n, {int(r["dataset_id"])}, None
    t = [r for r in nir_trend if r["commodity_id"] == commodity and r["year"] == year]
    for table in ("T5", "Fig2"):
        # newest release first; rows of one release keep their order
        rows = sorted((r for r in t if r["table_id"] == table), key=lambda r: str(r["vintage"]), reverse=True)
        if rows:
            r = rows[0]
            n = _mcs_nir(r, f"{r['vintage']} {table} {r['field']}")
            if n.usable is not None or n.flag == "E":
                return n, {int(r["dataset_id"])}, None
    return None, set(), f"net_import_reliance: no MCS NIR for {commodity} {year}"


@dataclass
class TradeCell:
    """Flows of one consumer, commodity, source and year (partners 'WLD' and the consumer
    itself excluded): import value by partner and by stage and partner, tonnages and the
    value of flows without a tonnage by stage and flow."""

    import_value: dict[str, float] = field(default_factory=dict)
    import_value_by_stage: dict[str, dict[str, float]] = field(default_factory=dict)
    qty: dict[tuple[str, str], float] = field(default_factory=dict)
    value: dict[tuple[str, str], float] = field(default_factory=dict)
    value_noqty: dict[tuple[str, str], float] = field(default_factory=dict)
    dataset_ids: set[int] = field(default_factory=set)
    source: str = "BACI"


#: (consumer, commodity) -> year -> cell
TradeIndex = dict[tuple[str, str], dict[int, TradeCell]]


def build_trade_index(trade: pd.DataFrame) -> TradeIndex:
    """Index the aggregated trade frame (:meth:`critmin.data.reads.BatchReads.trade_for`) for fast
    look-ups; only the sources of ``risk.trade_sources`` are kept."""
    idx: TradeIndex = {}
    if trade.empty:
        return idx
    sources = set(settings.get("risk.trade_sources"))
    t = trade[trade["source"].isin(sources) & trade["partner"].notna() & (trade["partner"] != "WLD")
              & (trade["partner"] != trade["consumer"])]
    for r in t.itertuples(index=False):
        cell = idx.setdefault((r.consumer, r.commodity_id), {}).setdefault(int(r.year), TradeCell(source=str(r.source)))
        stage = "mine" if r.stage_group == "extraction" else "processing"
        v, q, vn = float(r.value_usd), float(r.qty_t), float(r.value_noqty)
        if r.flow == "import":
            cell.import_value[r.partner] = cell.import_value.get(r.partner, 0.0) + v
            sv = cell.import_value_by_stage.setdefault(stage, {})
            sv[r.partner] = sv.get(r.partner, 0.0) + v
        key = (stage, r.flow)
        cell.qty[key] = cell.qty.get(key, 0.0) + q
        cell.value[key] = cell.value.get(key, 0.0) + v
        cell.value_noqty[key] = cell.value_noqty.get(key, 0.0) + vn
        cell.dataset_ids.add(int(r.dataset_id))
    return idx


class OwnProduction(NamedTuple):
    """A consumer's production at an analysis stage, from the rows that answer supply there."""

    quantity: float | None  #: None: the figure is coded (withheld, ...); see ``raw``
    unit: str
    raw: str  #: the value as published
    source: str  #: 'USGS' or 'WMD'
    listed: bool = True  #: False: the source lists other countries there, not this one (nil)


def _consumer_production(production: dict[str, OwnProduction], stage: str) -> tuple[float | None, str]:
    """Consumer's production (t) at an analysis stage, and a note when taken as nil or not usable."""
    if stage not in production:
        by = " or ".join(settings.get("data.supply_sources"))
        return 0.0, f"no {stage} production listed by {by}: taken as nil production"
    q, unit, raw, source, listed = production[stage]
    if not listed:
        return 0.0, f"not listed by {source}: taken as nil production"
    if q is None:
        return None, f"production coded '{raw}'"
    if unit in MASS_TO_T:
        return q * MASS_TO_T[unit], ""
    return None, f"production unit {unit!r} is not a mass"


def trade_exposure(
    cells: dict[int, TradeCell] | None,
    production: dict[str, OwnProduction],
    consumer: str,
    commodity: str,
    year: int,
    allied: frozenset[str],
    wgi_unit: dict[str, float] | None,
    want_nir: bool,
    fallback: list[FallbackCell] | None = None,
    fallback_reasons: list[str] | None = None,
) -> Exposure:
    """Import-based exposure of one consumer to one commodity (see module doc).

    ``production`` maps the consumer's analysis stages to its production in ``year``; a stage
    missing there counts as nil production (noted)."""
    ex = Exposure(consumer, commodity)
    sources = "/".join(settings.get("risk.trade_sources"))
    lag = int(settings.get("risk.trade_max_lag_years"))
    years = [y for y in (cells or {}) if year - lag <= y <= year]
    if not years:
        why = (f"{consumer} trade: no {sources} flows for {commodity}" if not cells
               else f"{consumer} trade: no {sources} flows for {commodity} within {lag} year(s) of {year}")
        fb = pick(fallback, year, int(settings.get("risk.fallback_max_lag_years")))
        if fb is None:
            ex.missing.append(why)
            if fallback_reasons:
                ex.missing.append(f"{consumer} {commodity}: Comtrade fallback rejected: "
                                  + "; ".join(sorted(fallback_reasons)))
            return ex
        ex.missing.append(why + "; " + fb.note(consumer, commodity))
        _fallback_exposure(ex, fb, allied, wgi_unit, want_nir)
        return ex
    ty = max(years)
    cell = cells[ty]  # type: ignore[index]
    ex.trade_year = ty
    ex.trade_source = cell.source
    ex.dataset_ids |= cell.dataset_ids
    if sum(cell.import_value.values()) > 0:
        ex.import_shares = calc_import_shares(cell.import_value)
        for st, v in cell.import_value_by_stage.items():
            if sum(v.values()) > 0:
                ex.import_shares_by_stage[st] = calc_import_shares(v)
        ex.import_hhi = calc_import_hhi(ex.import_shares)
        ex.non_allied_import_share = calc_non_allied_share(ex.import_shares, allied)
        _governance(ex, wgi_unit)
    else:
        ex.missing.append(f"{consumer} trade {ty}: no imports of {commodity}")
    if want_nir:
        _computed_nir(ex, cell, production)
    return ex


def _fallback_exposure(ex: Exposure, fb: FallbackCell, allied: frozenset[str],
                       wgi_unit: dict[str, float] | None, want_nir: bool) -> None:
    """Import-share indicators from a fallback extract (see :mod:`critmin.data.tradefallback`)."""
    ex.trade_year, ex.trade_source = fb.year, fb.source
    ex.dataset_ids |= set(fb.dataset_ids)
    ex.import_shares = calc_import_shares(fb.import_value)
    ex.import_hhi = calc_import_hhi(ex.import_shares)
    ex.non_allied_import_share = calc_non_allied_share(ex.import_shares, allied)
    _governance(ex, wgi_unit)
    if want_nir and not fb.has_exports:
        ex.missing.append(f"{ex.consumer} net_import_reliance: not computable from {fb.source} "
                          f"{fb.year} (imports only, no exports)")


def _governance(ex: Exposure, wgi_unit: dict[str, float] | None) -> None:
    if wgi_unit is None:
        ex.missing.append(f"{ex.consumer} supplier_governance_risk: no WGI for the year")
        return
    lacking = {c: s for c, s in ex.import_shares.items() if c not in wgi_unit}
    uncovered = sum(lacking.values())
    if uncovered > float(settings.get("risk.max_uncovered_import_share")):
        ex.missing.append(
            f"{ex.consumer} supplier_governance_risk: partners without WGI supply "
            f"{uncovered:.1%} of imports ({', '.join(sorted(lacking))})"
        )
        return
    covered = {c: s / (1.0 - uncovered) for c, s in ex.import_shares.items() if c in wgi_unit}
    ex.supplier_governance_risk = calc_supplier_governance_risk(covered, wgi_unit)
    if lacking:
        ex.missing.append(
            f"{ex.consumer} supplier_governance_risk: {uncovered:.1%} of imports from partners "
            f"without WGI ({', '.join(sorted(lacking))}) left out"
        )


def _computed_nir(ex: Exposure, cell: TradeCell, production: dict[str, OwnProduction]) -> None:
    best: tuple[float, NIR, str] | None = None
    reasons: list[str] = []
    tol = float(settings.get("risk.max_uncovered_import_share"))
    for stage in sorted({st for st, _ in cell.qty}):
        m, x = cell.qty.get((stage, "import"), 0.0), cell.qty.get((stage, "export"), 0.0)
        gaps = []
        for flow in ("import", "export"):
            tot, noq = cell.value.get((stage, flow), 0.0), cell.value_noqty.get((stage, flow), 0.0)
            if tot > 0 and noq / tot > tol:
                gaps.append(f"{noq / tot:.0%} of {flow} value has no tonnage")
        if gaps:
            reasons.append(f"{stage}: " + ", ".join(gaps))
            continue
        p, note = _consumer_production(production, stage)
        if p is None:
            reasons.append(f"{stage}: {note}")
            continue
        own = production[stage].source if stage in production else "/".join(settings.get("data.supply_sources"))
        src = f"{cell.source} {ex.trade_year} {stage} tonnages; {own} production" + (f" ({note})" if note else "")
        if p + m - x <= 0:
            n = NIR(None, "E", None, 0.0, f"E (P={p:g} t, M={m:g} t, X={x:g} t)", src)
        else:
            v = calc_net_import_reliance(m, x, p)
            flag = "E" if v < 0 else ("computed_nil_production" if note else "computed")
            n = NIR(v, flag, None, None, f"(M-X)/(P+M-X) = ({m:g}-{x:g})/({p:g}+{m:g}-{x:g})", src)
        u = n.usable if n.usable is not None else 0.0
        if best is None or u > best[0]:
            best = (u, n, stage)
    if best is None:
        ex.missing.append(
            f"{ex.consumer} net_import_reliance: not computable from trade ({'; '.join(reasons) or 'no flows'})"
        )
        return
    ex.nir, ex.nir_stage = best[1], best[2]
