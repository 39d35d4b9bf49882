"""The executive summary: its tables, key messages, methodology and captions, in the brief's
language. Values come from :class:`critmin.brief.assemble.Inputs` unchanged (only converted to
the unit of the column header: percent 0-100, US$ million)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from critmin.brief.model import SourceRef, Sources, Table
from critmin.i18n.formats import fmt_date, fmt_number, fmt_percent, fmt_usd_millions
from critmin.i18n.terms import term

if TYPE_CHECKING:
    from critmin.brief.assemble import BriefRequest, Inputs

#: rows per partner in the table of the largest disruption risks
RISKS_PER_PARTNER = 5


@dataclass
class Ctx:
    req: BriefRequest
    inp: Inputs
    _: Callable[[str], str]
    cname: Callable[[str], str]
    stage: Callable[[str | None], str]
    country: Callable[[str], str]
    records: dict[str, dict[str, Any]]
    src: Sources
    notes: list[str] = field(default_factory=list)

    def market_refs(self, c: str) -> list[SourceRef]:
        """The datasets of the simulator's inputs for ``c`` (production at its stage and at the mine)."""
        cm = self.inp.market.commodities.get(c)
        if cm is None:
            return []
        ids: list[int] = []
        for k in ("production", "mine_production"):
            v = cm.provenance.get(k)
            if isinstance(v, dict):
                ids += [int(d) for d in v.get("dataset_ids", [])]
        return [SourceRef(d) for d in dict.fromkeys(ids)]

    def record_refs(self, c: str) -> list[SourceRef]:
        r = self.records.get(c) or {}
        out = [SourceRef(int(d)) for d in r.get("sources", [])]
        for ex in (r.get("exposure") or {}).values():
            nir = (ex or {}).get("net_import_reliance") or {}
            ref = nir.get("ref")
            if ref:
                out.append(SourceRef(int(ref[0]), int(ref[1])))
        return out


def _col(key: str, header: str, unit: str | None = None, kind: str = "text", digits: int = 2):  # noqa: ANN202
    from critmin.brief.assemble import column

    return column(key, header, unit, kind, digits)


def pct(x: Any, scale: float = 100.0) -> float | None:
    return None if x is None or x != x else float(x) * scale


def usd_m(x: Any) -> float | None:
    return None if x is None or x != x else float(x) / 1e6


def tables(ctx: Ctx) -> dict[str, Table]:
    out = {"watchlist": watchlist(ctx), "risks": risks(ctx)}
    out.update(stockpile_tables(ctx))
    out.update(portfolio_tables(ctx))
    out["deadlines"] = deadlines(ctx)
    if ctx.inp.overdue:
        out["overdue"] = overdue(ctx)
    out["incidents"] = incidents(ctx)
    return out


def incidents(ctx: Ctx) -> Table:
    _ = ctx._
    t = Table("Incidents", _("Open incidents"),
              [_col("incident", _("Incident")), _col("title", _("Title")), _col("status", _("Status")),
               _col("commodities", _("Commodities")), _col("start", _("Start date")), _col("updated", _("Last update"))])
    for i in ctx.inp.incidents:
        t.add({"incident": i["incident_id"], "title": i.get("title"), "status": i.get("status"),
               "commodities": ", ".join(ctx.cname(c) for c in i.get("commodities") or []),
               "start": i.get("start_date"), "updated": str(i.get("updated_at", ""))[:10]})
    if not t.rows:
        t.note = _("No open incident visible to this brief.")
    return t


def watchlist(ctx: Ctx) -> Table:
    _, req = ctx._, ctx.req
    cols = [_col("rank", _("Rank"), None, "int"), _col("commodity", _("Commodity")),
            _col("joint_score", _("Joint score"), _("0–1"), "number", 3),
            _col("bottleneck", _("Bottleneck stage")), _col("grade", _("Data grade"))]
    for k in req.partners:
        cols.append(_col(f"nir_{k}", _("Net import reliance, {partner}").format(partner=ctx.country(k)), "%", "number", 0))
    cols += [_col("top_country", _("Leading supplier at the bottleneck")),
             _col("top_share", _("Its share"), "%", "number", 0)]
    t = Table("Watchlist", _("Joint watchlist: the 15 highest supply risks"), cols,
              note=_("Joint score: the partners' supply-risk scores at each commodity's bottleneck stage, weighted; "
                     "grade A (best) to D: how complete the inputs are."))
    ranked = [r for r in ctx.inp.assessment.records if r["group"] == "ranked"][:15]
    for r in ranked:
        c, bn = r["commodity"], r["bottleneck_stage"]
        st = (r["stages"] or {}).get(bn) or {}
        row: dict[str, Any] = {"rank": r["rank"], "commodity": ctx.cname(c), "joint_score": r["indices"]["joint_score"],
                               "bottleneck": ctx.stage(bn), "grade": r["grade"]}
        for k in req.partners:
            nir = (r["exposure"].get(k) or {}).get("net_import_reliance")
            row[f"nir_{k}"] = pct(nir["usable"]) if nir else None
        iso = st.get("top_country_iso3")
        row["top_country"] = ctx.country(iso) if iso else None
        row["top_share"] = pct(st.get("top_share"))
        t.add(row, ctx.record_refs(c))
    return t


def mc_rows(ctx: Ctx) -> list[dict[str, Any]]:
    return [r for r in ctx.inp.mc["results"] if r["consumer"] in ctx.req.partners]


def disruption_columns(ctx: Ctx) -> list[Any]:
    _ = ctx._
    return [_col("commodity", _("Commodity")), _col("partner", _("Partner")),
            _col("mean_pct", _("Mean shortfall"), _("% of consumption"), "number", 2),
            _col("var95", _("VaR 95%"), _("% of consumption"), "number", 2),
            _col("cvar95", _("CVaR 95%"), _("% of consumption"), "number", 2),
            _col("p10", _("P(shortfall > 10%)"), "%", "number", 2),
            _col("shortfall_usd", _("Expected shortfall value"), _("US$ million"), "number", 1)]


def disruption_row(ctx: Ctx, r: dict[str, Any]) -> dict[str, Any]:
    return {"commodity": ctx.cname(r["commodity"]), "partner": ctx.country(r["consumer"]),
            "mean_pct": r.get("mean_shortfall_pct"), "var95": r.get("var95_pct"), "cvar95": r.get("cvar95_pct"),
            "p10": pct(r.get("p_shortfall_gt_10pct")), "shortfall_usd": usd_m(r.get("shortfall_usd")),
            "_cid": r["commodity"]}


def risks(ctx: Ctx) -> Table:
    _ = ctx._
    t = Table("Risks", _("Largest disruption risks (Monte Carlo, one year)"), disruption_columns(ctx),
              note=_("{runs} simulated years of export restrictions and outages (seed {seed}); VaR and CVaR: the "
                     "95th percentile of the annual shortfall and the mean beyond it.").format(
                  runs=fmt_number(ctx.req.mc_runs, ctx.req.lang, 0), seed=ctx.req.seed))
    for k in ctx.req.partners:
        rows = [r for r in mc_rows(ctx) if r["consumer"] == k and r.get("cvar95_pct") is not None]
        rows.sort(key=lambda r: (-float(r["cvar95_pct"]), -float(r.get("mean_shortfall_pct") or 0), r["commodity"]))
        for r in rows[:RISKS_PER_PARTNER]:
            t.add(disruption_row(ctx, r), ctx.market_refs(r["commodity"]))
    return t


def budget_use(targets: list[dict[str, Any]], partners: tuple[str, ...]) -> dict[str, float]:
    """US$ spent per partner: the sum of the plan's target costs (``cost_usd``)."""
    return {k: sum(float(x["cost_usd"]) for x in targets if x["partner"] == k) for k in partners}


def stockpile_tables(ctx: Ctx) -> dict[str, Table]:
    _, rep = ctx._, ctx.inp.stockpile
    if rep is None:
        return {}
    d = rep.plan.to_dict()
    used = budget_use(d["targets"], ctx.req.partners)
    t = Table("Stockpile budget", _("Stockpile plan: budget use"),
              [_col("partner", _("Partner")), _col("budget", _("Budget"), _("US$ million"), "number", 1),
               _col("used", _("Used"), _("US$ million"), "number", 1), _col("share", _("Share used"), "%", "number", 1)],
              note=_("Two-stage stochastic programme over {n} scenarios; coordinated optimum; budgets are an "
                     "assumption of the brief's settings.").format(n=fmt_number(rep.sample.scenarios, ctx.req.lang, 0)))
    for k in ctx.req.partners:
        b = float(d["budgets"].get(k, float("nan")))
        t.add({"partner": ctx.country(k), "budget": usd_m(b), "used": usd_m(used[k]),
               "share": pct(used[k] / b) if b and b == b and b != float("inf") else None})
    v = d["value_of_coordination"]
    c = Table("Coordination", _("Value of coordination"),
              [_col("coordinated", _("Expected cost, coordinated"), _("US$ million"), "number", 1),
               _col("independent", _("Expected cost, independent"), _("US$ million"), "number", 1),
               _col("value", _("Value of coordination"), _("US$ million"), "number", 1),
               _col("value_pct", _("Value of coordination"), "%", "number", 2)])
    c.add({"coordinated": usd_m(v["coordinated_objective"]), "independent": usd_m(v["independent_objective"]),
           "value": usd_m(v["usd"]), "value_pct": v["pct"]})
    return {"stockpile_budget": t, "coordination": c}


def stockpile_columns(ctx: Ctx) -> list[Any]:
    _ = ctx._
    return [_col("commodity", _("Commodity")), _col("partner", _("Partner")), _col("stock_t", _("Stock target"), "t", "number", 1),
            _col("cost", _("Cost"), _("US$ million"), "number", 1), _col("days", _("Days of cover"), _("days"), "number", 0),
            _col("without", _("Expected shortfall without stock"), "t", "number", 1),
            _col("with", _("Expected shortfall with stock"), "t", "number", 1)]


def portfolio_tables(ctx: Ctx) -> dict[str, Table]:
    _, sel = ctx._, ctx.inp.selection
    if sel is None:
        return {}
    by_id = {p.id: p for p in ctx.inp.projects}
    cols = [_col("project", _("Project")), _col("name", _("Name")), _col("commodity", _("Commodity")),
            _col("stage", _("Stage")), _col("host", _("Host country")), _col("instrument", _("Financing")),
            _col("value", _("Risk reduction"), _("US$ million"), "number", 1)]
    cols += [_col(f"cost_{k}", _("Budget cost, {partner}").format(partner=ctx.country(k)), _("US$ million"), "number", 1)
             for k in ctx.req.partners]
    t = Table("Portfolio", _("Proposed project portfolio"), cols,
              note=_("Joint selection (mixed-integer programme) over the {n} registry projects this brief may name.").format(
                  n=len(ctx.inp.projects)))
    for s in sel["selected"]:
        p = by_id[s["project"]]
        row = {"project": p.id, "name": p.name, "commodity": ctx.cname(p.commodity_id),
               "stage": term("project_stage", p.stage, ctx.req.lang), "host": ctx.country(p.host_country_iso3),
               "instrument": ("、" if ctx.req.lang == "ja" else ", ").join(
                   term("instrument", i, ctx.req.lang) for i in s["instruments"]),
               "value": usd_m(s["value_usd"])}
        row.update({f"cost_{k}": usd_m(s["cost_usd"].get(k, 0.0)) for k in ctx.req.partners})
        t.add(row, [ctx.src.external(x.title, x.url, x.as_of.isoformat(), f"project {p.id}") for x in p.sources])
    b = Table("Portfolio budget", _("Project portfolio: budget use"),
              [_col("partner", _("Partner")), _col("budget", _("Budget"), _("US$ million"), "number", 1),
               _col("used", _("Used"), _("US$ million"), "number", 1), _col("share", _("Share used"), "%", "number", 1)])
    for k in ctx.req.partners:
        bud, used = float(sel["budget"][k]), float(sel["budget_used"].get(k, 0.0))
        b.add({"partner": ctx.country(k), "budget": usd_m(bud), "used": usd_m(used), "share": pct(used / bud) if bud else None})
    return {"portfolio": t, "portfolio_budget": b}


def deadlines(ctx: Ctx) -> Table:
    _, lang = ctx._, ctx.req.lang
    assert ctx.req.today is not None
    t = Table("Deadlines", _("Financing and ministerial deadlines"),
              [_col("item", _("Deadline")), _col("date", _("Date")), _col("days", _("Days from today"), _("days"), "int")],
              note=_("From the framework's signature date (setting projects.clock.signed); negative: passed."))
    labels = {"signed": _("Framework signed"), "financing_deadline": _("Financing decisions (six months)"),
              "ministerial_deadline": _("Ministerial meeting (180 days)")}
    for k, d in ctx.inp.deadlines.items():
        t.add({"item": labels.get(k, k), "date": fmt_date(d, lang), "days": (d - ctx.req.today).days})
    return t


def overdue(ctx: Ctx) -> Table:
    _ = ctx._
    t = Table("Overdue milestones", _("Overdue permitting milestones"),
              [_col("project", _("Project")), _col("commodity", _("Commodity")), _col("milestone", _("Milestone")),
               _col("target", _("Target date")), _col("days", _("Days overdue"), _("days"), "int")])
    for m in ctx.inp.overdue:
        t.add({"project": m["project"], "commodity": ctx.cname(m["commodity"]), "milestone": m["name"],
               "target": fmt_date(dt.date.fromisoformat(str(m["target_date"])), ctx.req.lang), "days": m["days"]})
    return t


def messages(ctx: Ctx, tabs: dict[str, Table]) -> list[str]:
    """The key messages above the summary tables (each figure also in a table below)."""
    _, lang, out = ctx._, ctx.req.lang, []
    wl = tabs["watchlist"].rows
    if wl:
        top = wl[0]
        out.append(_("Highest joint supply risk: {commodity} (score {score}; bottleneck: {stage}).").format(
            commodity=top["commodity"], score=fmt_number(top["joint_score"], lang, 3), stage=top["bottleneck"]))
    for k in ctx.req.partners:
        rows = [r for r in tabs["risks"].rows if r["partner"] == ctx.country(k)]
        if rows:
            out.append(_("Largest disruption risk for {partner}: {commodity}, CVaR 95% {cvar}% of consumption.").format(
                partner=ctx.country(k), commodity=rows[0]["commodity"], cvar=fmt_number(rows[0]["cvar95"], lang, 2)))
    if "stockpile_budget" in tabs:
        for r in tabs["stockpile_budget"].rows:
            out.append(_("Stockpile plan, {partner}: US$ {used} million of US$ {budget} million used.").format(
                partner=r["partner"], used=fmt_number(r["used"], lang, 1), budget=fmt_number(r["budget"], lang, 1)))
        v = tabs["coordination"].rows[0]
        out.append(_("Coordinating the two stockpiles saves US$ {usd} million a year ({pct}% of the expected cost).").format(
            usd=fmt_number(v["value"], lang, 1), pct=fmt_number(v["value_pct"], lang, 2)))
    if "portfolio" in tabs:
        out.append(_("Project portfolio: {n} projects selected, risk reduction US$ {value} million.").format(
            n=len(tabs["portfolio"].rows), value=fmt_number(sum(r["value"] or 0 for r in tabs["portfolio"].rows), lang, 1)))
    for r in tabs["deadlines"].rows[1:]:
        if r["days"] is not None and r["days"] < 0:  # passed: said as passed, not as a negative count
            out.append(_("{item}: {date} (passed {days} days ago).").format(item=r["item"], date=r["date"], days=-r["days"]))
        else:
            out.append(_("{item}: {date} ({days} days from today).").format(item=r["item"], date=r["date"], days=r["days"]))
    return out


def methodology(ctx: Ctx) -> list[tuple[str, str]]:
    _ = ctx._
    return [
        (_("Watchlist"), _("Country concentration (HHI) of each value-chain stage weighted by governance (WGI), "
                           "the partner's net import reliance and the share of imports from non-allied suppliers give "
                           "a supply-risk score per stage (USGS 2021 method); the bottleneck is the riskiest stage and "
                           "the joint score combines the partners (docs/methodology.md).")),
        (_("Disruption risks"), _("A hazard model draws export restrictions and outages per producer from the curated "
                                  "event history; each simulated year gives each partner's shortfall after spare capacity "
                                  "and trade diversion. VaR and CVaR are taken over the simulated years (docs/disruption.md).")),
        (_("Stockpile plan"), _("A two-stage stochastic linear programme (HiGHS) chooses stocks that minimise the cost "
                                "of the stock plus the expected loss of unmet demand, within each partner's budget; the "
                                "value of coordination compares the joint with the independent optimum (docs/stockpile.md).")),
        (_("Project portfolio"), _("Each project's risk reduction is the fall in expected shortfall its capacity brings "
                                   "(common random numbers), valued at the loss per unmet ton; a mixed-integer programme "
                                   "chooses the portfolio within the budgets (docs/projects.md).")),
        (_("Sources"), _("Every row cites the datasets it came from; the numbers refer to the source list, which "
                         "gives the publisher, the release, the file and the rows as the warehouse records them.")),
    ]


def labels(ctx: Ctx) -> dict[str, str]:
    """Captions the typesetter and the workbook use."""
    _ = ctx._
    vis = {"US": _("US ONLY"), "JP": _("JAPAN ONLY"), "joint": _("JOINT US–JAPAN")}[ctx.req.visibility]
    return {
        "title": _("Critical minerals: ministerial briefing pack"),
        "subtitle": _("United States – Japan framework for securing the supply of critical minerals"),
        "visibility": vis, "visibility_label": _("Visibility"),
        "prepared_for": _("Prepared for"), "date": _("Date"), "data_version": _("Data version"),
        "data_usgs": _("USGS data"), "data_others": _("Other sources (as imported)"),
        "data_imported": _("Data imported"), "data_as_of": _("Data as of"),
        "datasets": _("datasets imported"), "year": _("Data year"), "page": _("Page"),
        "summary": _("Executive summary"), "key_messages": _("Key messages"), "commodities": _("Priority commodities"),
        "annex": _("Annex"), "methodology": _("Methodology in short"), "source_list": _("Sources"),
        "notes": _("Not computed, and why"), "src": _("Src."), "rows": _("rows"),
        "supply_chart": _("Supply by stage and country"), "price_chart": _("Price history"),
        "rank": _("Rank"), "score": _("joint score"), "bottleneck": _("bottleneck"),
        "no_rows": _("none"), "other": _("other"), "parameters": _("Parameters"),
        "generated": _("Generated by critmin from the live analysis; every figure is traceable to its dataset."),
        "sheet_sources": _("Sources"), "sheet_about": _("About"),
        "col_sheet": _("Sheet"), "col_row": _("Row"), "col_ref": _("Reference"), "col_dataset": _("Dataset"),
        "col_publisher": _("Publisher"), "col_title": _("Title"), "col_release": _("Release"),
        "col_file": _("File"), "col_line": _("Source line"), "col_url": _("URL"),
        "whole_dataset": _("whole dataset"), "registry_record": _("project registry record"),
    }


def fmt_cell(value: Any, kind: str, digits: int, lang: str) -> str:
    """A cell as the PDF shows it (the workbook keeps the number)."""
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if kind == "int":
        return fmt_number(float(value), lang, 0)
    if kind in ("number", "t"):
        return fmt_number(float(value), lang, digits)
    if kind == "percent":
        return fmt_percent(float(value) / 100.0, lang, digits)
    if kind == "usd_m":
        return fmt_usd_millions(float(value) * 1e6, lang, digits)
    return str(value)
