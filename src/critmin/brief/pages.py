"""One commodity page: supply by stage and country, the partners' exposure, import sources,
the scenario results, the stockpile target, the projects, market signals and prices."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np

from critmin import settings
from critmin.brief.model import CommodityPage, SourceRef, Table
from critmin.brief.summary import (
    Ctx,
    _col,
    disruption_columns,
    disruption_row,
    mc_rows,
    pct,
    stockpile_columns,
    usd_m,
)
from critmin.i18n import N_
from critmin.i18n.formats import fmt_number
from critmin.i18n.terms import machine_text, term

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

STAGES = ("mine", "processing", "metal", "component")
#: the kinds of market signal (critmin.markets.signals) as readers see them
SIGNAL_KINDS = {"volume_change": N_("volume change"), "structural_break": N_("structural break"),
                "price_discrimination": N_("price discrimination"), "below_market": N_("below-market price")}


def page(wh: Warehouse, ctx: Ctx, c: str) -> CommodityPage:
    r = ctx.records.get(c) or {}
    _, lang = ctx._, ctx.req.lang
    idx = r.get("indices") or {}
    tables = [exposure(ctx, c), imports(ctx, c), disruption(ctx, c)]
    st = stockpile(ctx, c)
    if st is not None:
        tables.append(st)
    tables.append(projects(ctx, c))
    tables.append(signals(ctx, c))
    supply = supply_by_stage(wh, ctx, c)
    prices, unit = price_history(ctx, c)
    tables.append(prices_table(ctx, c, prices, unit))
    text = []
    if r.get("group") == "ranked":
        text.append(_("Rank {rank} of the joint watchlist, joint score {score}; bottleneck stage: {stage}; data grade {grade}.").format(
            rank=r["rank"], score=fmt_number(idx.get("joint_score"), lang, 3), stage=ctx.stage(r.get("bottleneck_stage")),
            grade=r.get("grade")))
    elif r:
        text.append(_("Not in the ranked watchlist: {why}").format(why="; ".join(r.get("missing") or []) or r.get("group")))
    for st_id, shares in supply.items():
        if shares:
            text.append(_("{stage}: {country} supplies {share}% of the world.").format(
                stage=st_id, country=shares[0][0], share=fmt_number(100 * shares[0][1], lang, 0)))
    return CommodityPage(c, ctx.cname(c), r.get("rank"), idx.get("joint_score"), ctx.stage(r.get("bottleneck_stage")),
                         text, tables, supply, prices, unit)


def exposure(ctx: Ctx, c: str) -> Table:
    _ = ctx._
    t = Table("Exposure", _("US and Japanese exposure"),
              [_col("commodity", _("Commodity")), _col("partner", _("Partner")),
               _col("nir", _("Net import reliance"), "%", "number", 0), _col("nir_text", _("As published")),
               _col("non_allied", _("Imports from non-allied suppliers"), "%", "number", 0),
               _col("import_hhi", _("Import concentration (HHI)"), "0–10,000", "number", 0),
               _col("bottleneck", _("Bottleneck stage")), _col("usgs_sr", _("Supply risk (USGS method)"), _("0–1"), "number", 3)])
    r = ctx.records.get(c) or {}
    for k in ctx.req.partners:
        ex = (r.get("exposure") or {}).get(k) or {}
        nir = ex.get("net_import_reliance") or {}
        idx = r.get("indices") or {}
        t.add({"commodity": ctx.cname(c), "partner": ctx.country(k), "nir": pct(nir.get("usable")),
               "nir_text": machine_text(nir.get("text"), ctx.req.lang), "non_allied": pct(ex.get("non_allied_import_share")),
               "import_hhi": ex.get("import_hhi"),
               "bottleneck": ctx.stage((idx.get("bottleneck_by_consumer") or {}).get(k)),
               "usgs_sr": (idx.get("usgs_supply_risk") or {}).get(k)},
              ctx.record_refs(c))
    return t


def imports(ctx: Ctx, c: str) -> Table:
    """The simulator's import shares by supplier (its trade source per partner)."""
    _ = ctx._
    t = Table("Imports", _("Import sources"),
              [_col("commodity", _("Commodity")), _col("partner", _("Partner")), _col("rank", _("Rank"), None, "int"),
               _col("supplier", _("Supplier")), _col("share", _("Share of imports"), "%", "number", 1),
               _col("source", _("Trade source"))])
    cm = ctx.inp.market.commodities.get(c)
    if cm is None:
        t.note = _("No import data: {why}").format(why=ctx.inp.market.not_computable.get(c, "not in the market"))
        return t
    n = int(settings.get("brief.top_countries"))
    trade = cm.provenance.get("trade") or {}
    for i, k in enumerate(cm.consumers):
        if k not in ctx.req.partners:
            continue
        share = np.asarray(cm.import_share[i], dtype=float)
        order = [j for j in np.argsort(-share) if share[j] > 0][:n]
        info = trade.get(k) if isinstance(trade, dict) else None
        label = " ".join(str(info[x]) for x in ("source", "year") if info.get(x) is not None) if isinstance(info, dict) else "–"
        for rank, j in enumerate(order, start=1):
            t.add({"commodity": ctx.cname(c), "partner": ctx.country(k), "rank": rank,
                   "supplier": ctx.country(cm.producers[j]), "share": 100 * float(share[j]),
                   "source": machine_text(label, ctx.req.lang)},
                  ctx.market_refs(c))
    return t


def disruption(ctx: Ctx, c: str) -> Table:
    _ = ctx._
    t = Table("Disruption", _("Scenario results (Monte Carlo)"), disruption_columns(ctx))
    rows = [r for r in mc_rows(ctx) if r["commodity"] == c]
    if not rows:
        t.note = _("Not simulated: {why}").format(why=ctx.inp.market.not_computable.get(c, "not in the market"))
    for r in rows:
        t.add(disruption_row(ctx, r), ctx.market_refs(c))
    return t


def stockpile(ctx: Ctx, c: str) -> Table | None:
    _, rep = ctx._, ctx.inp.stockpile
    if rep is None:
        return None
    t = Table("Stockpile", _("Stockpile target"), stockpile_columns(ctx))
    targets = [x for x in rep.plan.to_dict()["targets"] if x["commodity"] == c]
    if not targets:
        t.note = _("Not planned: {why}").format(why=rep.not_planned.get(c, "not among the planner's candidates"))
    for x in targets:
        t.add({"commodity": ctx.cname(c), "partner": ctx.country(x["partner"]), "stock_t": x["stock_t"],
               "cost": usd_m(x["cost_usd"]), "days": x["days_of_cover"],
               "without": x["expected_shortfall_without_t"], "with": x["expected_shortfall_t"]}, ctx.market_refs(c))
    return t


def projects(ctx: Ctx, c: str) -> Table:
    _ = ctx._
    t = Table("Projects", _("Projects in the registry"),
              [_col("commodity", _("Commodity")), _col("project", _("Project")), _col("name", _("Name")),
               _col("host", _("Host country")), _col("stage", _("Stage")), _col("status", _("Status")),
               _col("capacity", _("Capacity"), _("t/yr"), "number", 0), _col("selected", _("In the portfolio"))])
    chosen = {s["project"] for s in (ctx.inp.selection or {}).get("selected", [])}
    for p in [p for p in ctx.inp.projects if p.commodity_id == c]:
        t.add({"commodity": ctx.cname(c), "project": p.id, "name": p.name, "host": ctx.country(p.host_country_iso3),
               "stage": term("project_stage", p.stage, ctx.req.lang), "status": term("project_status", p.status, ctx.req.lang),
               "capacity": p.capacity_tpy,
               "selected": _("yes") if p.id in chosen else _("no")},
              [ctx.src.external(x.title, x.url, x.as_of.isoformat(), f"project {p.id}") for x in p.sources])
    if not t.rows:
        t.note = _("No project for this commodity is visible to this brief.")
    return t


def signals(ctx: Ctx, c: str) -> Table:
    _ = ctx._
    t = Table("Signals", _("Market signals (flagged)"),
              [_col("commodity", _("Commodity")), _col("kind", _("Signal")), _col("exporter", _("Exporter")),
               _col("importer", _("Importer")), _col("window", _("Window")), _col("effect", _("Effect"), None, "number", 2),
               _col("description", _("Description"))])
    df = ctx.inp.signals
    if df is not None and len(df):
        mine = df[[c in str(v).split(";") for v in df["commodity_id"]]]
        for s in mine.head(8).itertuples(index=False):
            rows = [SourceRef(int(a), int(b)) for a, b in (s.rows or [])[:20]] if isinstance(s.rows, list) else []
            t.add({"commodity": ctx.cname(c), "kind": _(SIGNAL_KINDS[str(s.kind)]) if str(s.kind) in SIGNAL_KINDS else str(s.kind),
                   "exporter": ctx.country(str(s.exporter_iso3)) if s.exporter_iso3 else None,
                   "importer": ctx.country(str(s.importer_iso3)) if s.importer_iso3 else None,
                   "window": f"{s.window_start}–{s.window_end}", "effect": float(s.effect) if s.effect == s.effect else None,
                   "description": machine_text(s.description, ctx.req.lang, ctx.cname)}, rows)
    if not t.rows:
        t.note = _("No flagged signal for this commodity.")
    return t


def supply_by_stage(wh: Warehouse, ctx: Ctx, c: str) -> dict[str, list[tuple[str, float]]]:
    """Shares of the leading countries at each stage of the watchlist record (the same
    :func:`critmin.data.supply.select_stage` supply), the rest as 'other'."""
    from critmin.data.supply import NoStageSupply

    out: dict[str, list[tuple[str, float]]] = {}
    n = int(settings.get("brief.top_countries"))
    r = ctx.records.get(c) or {}
    for st in [s for s in STAGES if s in (r.get("stages") or {})]:
        try:
            sup = wh.stage_supply(c, st, (r["stages"][st] or {}).get("year"))
        except (NoStageSupply, LookupError, ValueError):
            continue
        if sup.shares is None:
            continue
        items = sorted(sup.shares.shares.items(), key=lambda kv: -kv[1])
        top = [(ctx.country(k), float(v)) for k, v in items[:n]]
        rest = 1.0 - sum(v for _k, v in top)
        if rest > 0.005:
            top.append((ctx._("other"), rest))
        out[f"{ctx.stage(st)} ({sup.year})"] = top
    return out


def price_history(ctx: Ctx, c: str) -> tuple[list[tuple[dt.date, float, str]], str | None]:
    """The commodity's first price series (Pink Sheet monthly before USGS annual) over the
    last ``brief.price_years`` years."""
    df = ctx.inp.prices.get(c)
    if df is None or not len(df):
        return [], None
    df = df.dropna(subset=["price"])
    if not len(df):
        return [], None
    monthly = df[df["frequency"] == "M"]
    use = monthly if len(monthly) else df
    first = str(use["series"].iloc[0])
    s = use[use["series"] == first]
    dates = [dt.date.fromisoformat(str(d)[:10]) for d in s["date"]]
    start = max(dates).replace(year=max(dates).year - int(settings.get("brief.price_years")))
    pts = [(d, float(p), str(s["name"].iloc[0])) for d, p in zip(dates, s["price"], strict=True) if d >= start]
    return pts, str(s["unit"].iloc[0])


def prices_table(ctx: Ctx, c: str, pts: list[tuple[dt.date, float, str]], unit: str | None) -> Table:
    """The newest observations of the charted price series, with their source rows."""
    _ = ctx._
    t = Table("Prices", _("Price history (newest observations)"),
              [_col("commodity", _("Commodity")), _col("series", _("Series")), _col("date", _("Date")),
               _col("price", _("Price"), unit or "", "number", 2)])
    df = ctx.inp.prices.get(c)
    if not pts or df is None:
        t.note = _("No price series in the warehouse.")
        return t
    lines = {(str(n), str(d)[:10]): (int(ds), int(ln)) for n, d, ds, ln in
             zip(df["name"], df["date"], df["dataset_id"], df["source_line"], strict=True) if ds == ds and ln == ln}
    for d, p, name in pts[-6:]:
        ref = lines.get((name, d.isoformat()))
        t.add({"commodity": ctx.cname(c), "series": name, "date": d.isoformat(), "price": p},
              [SourceRef(*ref)] if ref else [])
    return t
