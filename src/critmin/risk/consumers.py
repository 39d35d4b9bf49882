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

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

from critmin import settings
from critmin.data.tradefallback import FallbackCell, pick
from critmin.risk import params  # noqa: F401
from critmin.risk.chain import OwnStage, StageTrade, stage_nirs, stage_of_trade_group
from critmin.risk.exposure import (
    NIR,
    calc_import_hhi,
    calc_import_shares,
    calc_non_allied_share,
    calc_supplier_governance_risk,
    nir_from_mcs,
)
from critmin.risk.governance import Governance

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
    #: the headline NIR: the highest over the stages (``nir_stage``)
    nir: NIR | None = None
    nir_stage: str | None = None
    #: NIR at each chain stage, the fallback flags behind it, and why a stage has none
    nir_by_stage: dict[str, NIR] = field(default_factory=dict)
    nir_flags: dict[str, list[str]] = field(default_factory=dict)
    nir_reasons: dict[str, str] = field(default_factory=dict)
    import_shares: dict[str, float] = field(default_factory=dict)
    import_shares_by_stage: dict[str, dict[str, float]] = field(default_factory=dict)
    import_hhi: float | None = None
    non_allied_import_share: float | None = None
    supplier_governance_risk: float | None = None
    trade_year: int | None = None
    #: source of the import shares ('BACI', a Comtrade extract, or None)
    trade_source: str | None = None
    missing: list[str] = field(default_factory=list)
    #: fallbacks of the import-share indicators (flags, see risk.bottleneck)
    flags: list[str] = field(default_factory=list)
    dataset_ids: set[int] = field(default_factory=set)

    def headline(self) -> None:
        """Set ``nir``/``nir_stage`` to the highest stage NIR (earliest stage on ties)."""
        best: tuple[float, str] | None = None
        for st, n in self.nir_by_stage.items():
            u = n.usable if n.usable is not None else -1.0
            if best is None or u > best[0]:
                best = (u, st)
        if best is not None:
            self.nir, self.nir_stage = self.nir_by_stage[best[1]], best[1]


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
    return _nir_hit(hit, s, sal_c, commodity, nir_trend, year)


def us_stage_nir(nir_salient: Sequence[NIRCell], variables: Sequence[tuple[str, str]], year: int
                 ) -> tuple[NIR | None, set[int]]:
    """The MCS NIR that measures one stage (one of ``variables``, see
    :data:`critmin.risk.chain.MCS_STAGE_NIR`), or None."""
    for sal_c, var in variables:
        for r in nir_salient:
            if r["commodity_id"] == sal_c and r["year"] == year and r["variable"] == var:
                n = _mcs_nir(r, f"{r['vintage']} salient {r['variable']}")
                if n.usable is not None or n.flag == "E":
                    return n, {int(r["dataset_id"])}
    return None, set()


def _nir_hit(hit: list[NIRCell], s: list[NIRCell], sal_c: str, commodity: str,
             nir_trend: Sequence[NIRCell], year: int) -> tuple[NIR | None, set[int], str | None]:
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
class FormFlows:
    """Tonnages at one stage: t, value and value without a tonnage by flow, and the HS codes."""

    qty: dict[str, float] = field(default_factory=dict)
    value: dict[str, float] = field(default_factory=dict)
    value_noqty: dict[str, float] = field(default_factory=dict)
    codes: set[str] = field(default_factory=set)

    def add(self, flow: str, value: float, qty: float | None, codes: str | None,
            value_noqty: float | None = None) -> None:
        """Add a flow: ``qty`` None means the whole ``value`` has no tonnage; else
        ``value_noqty`` (default 0) is the part of ``value`` without one."""
        self.value[flow] = self.value.get(flow, 0.0) + value
        noq = value if qty is None else float(value_noqty or 0.0)
        self.value_noqty[flow] = self.value_noqty.get(flow, 0.0) + noq
        if qty is not None:
            self.qty[flow] = self.qty.get(flow, 0.0) + qty
        if codes:
            self.codes.update(c for c in str(codes).split(";") if c)


@dataclass
class TradeCell:
    """Flows of one consumer, commodity, source and year (partners 'WLD' and the consumer
    itself excluded): import value by partner and by stage and partner, and the tonnages of
    each stage in contained metal over all HS codes of the stage (``forms['contained']``), so
    that ore, intermediates and metal are never added by gross weight."""

    import_value: dict[str, float] = field(default_factory=dict)
    import_value_by_stage: dict[str, dict[str, float]] = field(default_factory=dict)
    forms: dict[str, dict[str, FormFlows]] = field(default_factory=dict)
    dataset_ids: set[int] = field(default_factory=set)
    source: str = "BACI"

    def stage_trade(self, stage: str) -> StageTrade | None:
        """Imports and exports at ``stage`` in t of contained metal; None without flows."""
        ff = self.forms.get(stage, {}).get("contained")
        if ff is None:
            return None
        tol = float(settings.get("risk.max_uncovered_import_share"))
        gaps = [f"{ff.value_noqty[fl] / ff.value[fl]:.0%} of {fl} value has no contained tonnage"
                for fl in ("import", "export") if ff.value.get(fl, 0.0) > 0
                and ff.value_noqty.get(fl, 0.0) / ff.value[fl] > tol]
        return StageTrade(ff.qty.get("import", 0.0), ff.qty.get("export", 0.0), "contained metal",
                          ", ".join(gaps) or None, tuple(sorted(ff.codes)))


#: (consumer, commodity) -> year -> cell
TradeIndex = dict[tuple[str, str], dict[int, TradeCell]]


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def build_trade_index(trade: pd.DataFrame) -> TradeIndex:
    """Index the aggregated trade frame (:meth:`critmin.data.reads.BatchReads.trade_for`) for
    fast look-ups; only the sources of ``risk.trade_sources`` are kept. Tonnages are the
    frame's contained metal (``qty_contained_t``); the value of lines without a contained
    factor (``qty_no_factor_t``) or without a quantity counts as value without a tonnage."""
    idx: TradeIndex = {}
    if trade.empty:
        return idx
    missing = [c for c in ("qty_contained_t", "qty_no_factor_t") if c not in trade.columns]
    if missing:
        raise ValueError(f"trade frame: column(s) {', '.join(missing)} missing; expected Warehouse.trade_for's "
                         "contained-metal columns")
    sources = set(settings.get("risk.trade_sources"))
    t = trade[trade["source"].isin(sources) & trade["partner"].notna() & (trade["partner"] != "WLD")
              & (trade["partner"] != trade["consumer"])]
    for r in t.itertuples(index=False):
        cell = idx.setdefault((r.consumer, r.commodity_id), {}).setdefault(int(r.year), TradeCell(source=str(r.source)))
        stage = stage_of_trade_group(r.stage_group)
        v = float(r.value_usd)
        if r.flow == "import":
            cell.import_value[r.partner] = cell.import_value.get(r.partner, 0.0) + v
            sv = cell.import_value_by_stage.setdefault(stage, {})
            sv[r.partner] = sv.get(r.partner, 0.0) + v
        cell.dataset_ids.add(int(r.dataset_id))
        q = _num(r.qty_contained_t)
        gross, noq = float(r.qty_t), float(r.value_noqty)
        no_factor = _num(r.qty_no_factor_t) or 0.0
        if q is not None and gross > 0 and no_factor > 0:  # lines without a factor count as untonned
            noq += (v - noq) * min(1.0, no_factor / gross)
        cell.forms.setdefault(stage, {}).setdefault("contained", FormFlows()).add(r.flow, v, q, r.hs_codes, noq)
    return idx


def _uses(cells: Mapping[int, TradeCell] | None, fallback: list[FallbackCell] | None, year: int) -> bool:
    """Imports of the commodity within ``risk.fallback_max_lag_years`` of ``year`` (any source)."""
    lag = int(settings.get("risk.fallback_max_lag_years"))
    return (any(sum(c.import_value.values()) > 0 for y, c in (cells or {}).items() if year - lag <= y <= year)
            or any(year - lag <= f.year <= year and sum(f.import_value.values()) > 0 for f in (fallback or [])))


def trade_exposure(
    cells: dict[int, TradeCell] | None,
    own: Mapping[str, OwnStage],
    chain: Sequence[str],
    consumer: str,
    commodity: str,
    year: int,
    allied: frozenset[str],
    governance: Governance | None,
    want_nir: bool,
    fallback: list[FallbackCell] | None = None,
    fallback_reasons: list[str] | None = None,
    uses_hint: bool = False,
    hosts: Sequence[str] = (),
) -> Exposure:
    """Import-based exposure of one consumer to one commodity (see module doc).

    ``own`` maps the chain stages to the consumer's output there (a stage missing counts as
    nil production); with ``want_nir`` the NIR is computed at every stage of ``chain``
    (:func:`critmin.risk.chain.stage_nirs`). ``uses_hint``: the consumer is known to use the
    commodity (its own critical-minerals list names it) even without recorded imports."""
    ex = Exposure(consumer, commodity)
    sources = "/".join(settings.get("risk.trade_sources"))
    lag = int(settings.get("risk.trade_max_lag_years"))
    years = [y for y in (cells or {}) if year - lag <= y <= year]
    uses = {"trade"} if _uses(cells, fallback, year) else set()
    if uses_hint:
        uses.add("list")
    fb = None
    if not years:
        fb = pick(fallback, year, int(settings.get("risk.fallback_max_lag_years")))
        max_age = int(settings.get("risk.fallback_max_lag_years"))
        older = [y for y in (cells or {}) if year - max_age <= y <= year]
        if older and (fb is None or max(older) >= fb.year):
            years, fb = [max(older)], None
            ex.missing.append(f"{consumer} trade: no {sources} flows for {commodity} within {lag} year(s) of "
                              f"{year}; those of {max(older)} used")
    if not years:
        why = (f"{consumer} trade: no {sources} flows for {commodity}" if not cells
               else f"{consumer} trade: no {sources} flows for {commodity} within {lag} year(s) of {year}")
        if fb is None:
            ex.missing.append(why)
            if fallback_reasons:
                ex.missing.append(f"{consumer} {commodity}: Comtrade fallback rejected: "
                                  + "; ".join(sorted(fallback_reasons)))
        else:
            ex.missing.append(why + "; " + fb.note(consumer, commodity))
            _fallback_exposure(ex, fb, allied, governance)
        if want_nir:
            src = (f"{fb.source} {fb.year} imports" if fb is not None else "no trade") + "; own production"
            trade = _fallback_trade(fb) if fb is not None else {}
            _stage_nirs(ex, chain, own, trade, uses, src, hosts, extra=[f"fallback_trade: {fb.source} {fb.year} "
                        "(imports only)"] if fb is not None else [])
        return ex
    ty = max(years)
    cell = cells[ty]  # type: ignore[index]
    ex.trade_year = ty
    ex.trade_source = cell.source
    ex.dataset_ids |= cell.dataset_ids
    age_flag = (f"trade_lag: {consumer} trade of {ty}" if year - ty <= lag else
                f"latest_year:{year - ty}: {consumer} trade of {ty}")
    if ty < year:
        ex.flags.append(age_flag)
    if sum(cell.import_value.values()) > 0:
        ex.import_shares = calc_import_shares(cell.import_value)
        for st, v in cell.import_value_by_stage.items():
            if sum(v.values()) > 0:
                ex.import_shares_by_stage[st] = calc_import_shares(v)
        ex.import_hhi = calc_import_hhi(ex.import_shares)
        ex.non_allied_import_share = calc_non_allied_share(ex.import_shares, allied)
        _governance(ex, governance)
    else:
        ex.missing.append(f"{consumer} trade {ty}: no imports of {commodity}")
    if want_nir:
        trade = {st: t for st in chain if (t := cell.stage_trade(st)) is not None}
        _stage_nirs(ex, chain, own, trade, uses, f"{cell.source} {ty}", hosts,
                    extra=[age_flag] if ty < year else [])
    return ex


def _fallback_trade(fb: FallbackCell) -> dict[str, StageTrade]:
    """The imports of a fallback extract as one stage's trade (exports None: imports only),
    when all its HS codes are one heading of one stage; else none (forms would be mixed)."""
    groups = _hs_groups()
    stages = {stage_of_trade_group(groups[h]) for h in fb.hs_codes if h in groups}
    heads = {h[:4] for h in fb.hs_codes}
    if len(stages) != 1 or len(heads) != 1 or len(fb.hs_codes) != len([h for h in fb.hs_codes if h in groups]):
        return {}
    total = sum(fb.import_value.values()) + fb.value_noqty
    tol = float(settings.get("risk.max_uncovered_import_share"))
    reason = (f"{fb.value_noqty / total:.0%} of import value has no tonnage"
              if total > 0 and fb.value_noqty / total > tol else None)
    return {stages.pop(): StageTrade(sum(fb.import_qty.values()), None, f"imports only, HS {heads.pop()}",
                                     reason, tuple(fb.hs_codes))}


@lru_cache(maxsize=1)
def _hs_groups() -> dict[str, str]:
    """HS code -> stage group of the catalogue's HS map (read once)."""
    from critmin.data.reference import hs_map

    df = hs_map()
    return dict(zip(df["hs_code"].astype(str), df["stage_group"].astype(str), strict=True))


def _stage_nirs(ex: Exposure, chain: Sequence[str], own: Mapping[str, OwnStage], trade: Mapping[str, StageTrade],
                uses: Collection[str], source: str, hosts: Sequence[str] = (), extra: Sequence[str] = ()) -> None:
    nirs, flags, reasons = stage_nirs(chain, own, trade, uses, source, hosts)
    ex.nir_by_stage = nirs
    ex.nir_flags = {st: [*fl, *extra] for st, fl in flags.items()}
    ex.nir_reasons = reasons
    ex.headline()
    if ex.nir is None:
        ex.missing.append(f"{ex.consumer} net_import_reliance: not computable from trade ("
                          + ("; ".join(reasons.values()) or "no stage with data") + ")")


def _fallback_exposure(ex: Exposure, fb: FallbackCell, allied: frozenset[str], governance: Governance | None) -> None:
    """Import-share indicators from a fallback extract (see :mod:`critmin.data.tradefallback`)."""
    ex.trade_year, ex.trade_source = fb.year, fb.source
    ex.dataset_ids |= set(fb.dataset_ids)
    ex.import_shares = calc_import_shares(fb.import_value)
    ex.import_hhi = calc_import_hhi(ex.import_shares)
    ex.non_allied_import_share = calc_non_allied_share(ex.import_shares, allied)
    ex.flags.append(f"fallback_trade: {ex.consumer} import shares from {fb.source} {fb.year}")
    _governance(ex, governance)


def _governance(ex: Exposure, governance: Governance | None) -> None:
    if governance is None:
        ex.missing.append(f"{ex.consumer} supplier_governance_risk: no WGI for the year")
        return
    fill = governance.resolve(ex.import_shares)
    lacking = {c: ex.import_shares[c] for c in fill.lacking}
    uncovered = sum(lacking.values())
    if uncovered > float(settings.get("risk.max_uncovered_import_share")):
        ex.missing.append(
            f"{ex.consumer} supplier_governance_risk: partners without WGI supply "
            f"{uncovered:.1%} of imports ({', '.join(sorted(lacking))})"
        )
        return
    unit = fill.unit
    covered = {c: s / (1.0 - uncovered) for c, s in ex.import_shares.items() if c in unit}
    ex.supplier_governance_risk = calc_supplier_governance_risk(covered, unit)
    ex.missing += [f"{ex.consumer} supplier_governance_risk: {f}" for f in fill.flags]
    if lacking:
        ex.missing.append(
            f"{ex.consumer} supplier_governance_risk: {uncovered:.1%} of imports from partners "
            f"without WGI ({', '.join(sorted(lacking))}) left out"
        )
