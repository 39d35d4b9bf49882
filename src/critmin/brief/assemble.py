"""Gather the brief's figures from the capabilities' public APIs (no calculation of its own).

* watchlist: :func:`critmin.risk.api.run` (the joint watchlist, its ranked group);
* disruption risks: :func:`critmin.disruption.runs.run_and_store_monte_carlo` (not stored) on
  :func:`critmin.disruption.api.load_market` for the partners and the year;
* stockpile plan: :func:`critmin.stockpile.service.plan` (the workflow of ``critmin stockpile plan``);
* project portfolio: the registry read with the brief's visibility, scored and selected with
  :mod:`critmin.projects.api`; deadlines from :mod:`critmin.projects.clock`;
* market signals and prices: :mod:`critmin.markets.api`.

Visibility: a brief for ``JP`` reads the projects a JP viewer may see (JP and joint records), one
for ``US`` the US and joint records, and a ``joint`` brief only the records marked joint, so a
record one government keeps to itself never reaches the other's brief -- the selection, its
budget use and every total are computed on the visible records only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from critmin import settings
from critmin.brief import params as P
from critmin.brief.model import Brief, Column, Dataset, SourceRef, Sources, Table
from critmin.i18n import N_, check_lang, gettext_for
from critmin.i18n.names import commodity_name, country_name

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse
    from critmin.disruption.market import Market
    from critmin.risk.api import Assessment
    from critmin.stockpile.service import PlanReport

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
VISIBILITIES = ("US", "JP", "joint")

#: stage ids of the value chain and their labels (translated where shown)
STAGE_LABELS = {"mine": N_("mining"), "processing": N_("processing"), "metal": N_("metal"),
                "component": N_("component")}


@dataclass(frozen=True)
class BriefRequest:
    """What a brief is made for. ``commodities`` are resolved ids (None: the first
    ``brief.priority_count`` of the ranked watchlist); the ``None`` sizes and budgets are those
    of the ``brief.*`` settings."""

    partners: tuple[str, ...]
    year: int
    lang: str = "en"
    visibility: str = "joint"
    commodities: tuple[str, ...] | None = None
    mc_runs: int | None = None
    stockpile_runs: int | None = None
    seed: int | None = None
    stockpile_budgets: dict[str, float] | None = None
    project_budgets: dict[str, float] | None = None
    today: dt.date | None = None
    author: str = "cli"

    def resolved(self) -> BriefRequest:
        """The request with every default filled in from the settings, checked."""
        from critmin.data.partners import partners as configured

        check_lang(self.lang)
        if self.visibility not in VISIBILITIES:
            raise ValueError(f"visibility {self.visibility!r}: expected one of {', '.join(VISIBILITIES)}")
        known = configured()
        bad = [p for p in self.partners if p not in known]
        if bad or not self.partners:
            raise ValueError(f"partners {list(self.partners)}: expected some of the partners {list(known)}")
        def budgets(given: dict[str, float] | None, name: str) -> dict[str, float]:
            b = given if given is not None else P.parse_budgets(str(settings.get(name)), name)
            return {k: float(b[k]) for k in self.partners if k in b}
        runs = int(self.mc_runs if self.mc_runs is not None else settings.get("brief.mc_runs"))
        sruns = int(self.stockpile_runs if self.stockpile_runs is not None else settings.get("brief.stockpile_runs"))
        if runs < 1 or sruns < 1:
            raise ValueError(f"Monte Carlo runs must be >= 1 (got {runs}, stockpile {sruns})")
        return BriefRequest(
            partners=tuple(p for p in known if p in self.partners), year=int(self.year), lang=self.lang,
            visibility=self.visibility, commodities=self.commodities, mc_runs=runs, stockpile_runs=sruns,
            seed=int(self.seed if self.seed is not None else settings.get("brief.random_state")),
            stockpile_budgets=budgets(self.stockpile_budgets, "brief.stockpile_budgets"),
            project_budgets=budgets(self.project_budgets, "brief.project_budgets"),
            today=self.today or dt.date.today(), author=self.author)

    def to_params(self) -> dict[str, Any]:
        d = asdict(self)
        d["today"] = self.today.isoformat() if self.today else None
        d["commodities"] = list(self.commodities) if self.commodities is not None else None
        d["partners"] = list(self.partners)
        return d


def visible_projects(wh: Warehouse, visibility: str) -> list[Any]:
    """The registry's current projects a brief of ``visibility`` may name (see module doc)."""
    from critmin.projects.api import open_registry

    projects = open_registry(wh).list("joint" if visibility == "joint" else visibility)
    if visibility == "joint":
        projects = [p for p in projects if p.visibility == "joint"]
    return projects


@dataclass
class Inputs:
    """Everything read from the APIs, before it is shaped into tables."""

    assessment: Assessment
    priority: list[str]
    names: dict[str, str]
    market: Market
    mc: dict[str, Any]
    stockpile: PlanReport | None
    stockpile_error: str | None
    projects: list[Any]
    selection: dict[str, Any] | None
    selection_error: str | None
    deadlines: dict[str, dt.date]
    overdue: list[dict[str, Any]]
    prices: dict[str, Any]
    signals: Any
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    incidents: list[dict[str, Any]] = field(default_factory=list)


def gather(wh: Warehouse, req: BriefRequest, progress: Progress) -> Inputs:
    """Call the APIs in order (with progress); a part that cannot be computed is a note with
    the reason, never a silent gap."""
    from critmin.disruption.api import load_market
    from critmin.disruption.runs import run_and_store_monte_carlo
    from critmin.risk.api import run as assess

    assert req.mc_runs is not None and req.seed is not None and req.stockpile_budgets is not None
    notes: list[str] = []
    clock = _Clock()
    progress(0.05, "watchlist")
    a = assess(wh, req.partners, year=req.year)
    names = {str(c): str(n) for c, n in zip(a.watchlist["commodity"], a.watchlist["name"], strict=True)}
    ranked = [r["commodity"] for r in a.records if r["group"] == "ranked"]
    if req.commodities is not None:
        unknown = [c for c in req.commodities if c not in names]
        if unknown:
            raise ValueError(f"--commodities: {', '.join(unknown)} not on the watchlist of {req.year}")
        priority = list(req.commodities)
    else:
        priority = ranked[: int(settings.get("brief.priority_count"))]
    clock.lap("watchlist")
    progress(0.2, f"disruption Monte Carlo ({req.mc_runs:,} runs)")
    market = load_market(wh, consumers=req.partners, year=req.year)
    mc = run_and_store_monte_carlo(wh, market, runs=req.mc_runs, seed=req.seed, store=False)
    clock.lap("disruption")
    progress(0.4, "stockpile plan")
    report, serr = _stockpile(wh, req)
    if serr:
        notes.append(serr)
    clock.lap("stockpile")
    progress(0.55, "project portfolio")
    projects = visible_projects(wh, req.visibility)
    selection, perr = _selection(wh, projects, req)
    if perr:
        notes.append(perr)
    from critmin.projects.clock import deadlines_from_settings, milestone_states

    assert req.today is not None
    overdue = [{"project": p.id, "commodity": p.commodity_id, **m} for p in projects
               for m in milestone_states(p, req.today) if m["state"] == "overdue"]
    clock.lap("projects")
    progress(0.65, "prices and market signals")
    from critmin.markets import api as markets

    prices = {c: markets.prices_of(wh, c) for c in priority}  # type: ignore[arg-type]
    sig = signals_cached(wh, tuple(settings.get("brief.signal_kinds")))
    clock.lap("markets")
    incidents = open_incidents(wh, req.visibility)
    return Inputs(a, priority, names, market, mc, report, None if report else serr, projects, selection, perr,
                  deadlines_from_settings(), overdue, prices, sig, notes, clock.laps, incidents)


#: which incident visibilities a brief of each visibility may name (as for projects)
INCIDENT_SEES = {"US": ("US", "joint"), "JP": ("JP", "joint"), "joint": ("joint",)}


def open_incidents(wh: Warehouse, visibility: str) -> list[dict[str, Any]]:
    """The incidents not closed that a brief of ``visibility`` may name (critmin.incident's store)."""
    from critmin.incident.store import IncidentStore
    from critmin.ops import get_engine

    store = IncidentStore(get_engine(warehouse=wh.path))
    return store.list(INCIDENT_SEES[visibility], status=("open", "assessed", "options", "decided"))


class _Clock:
    def __init__(self) -> None:
        import time

        self._now = time.perf_counter
        self._last = self._now()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        t = self._now()
        self.laps[name] = t - self._last
        self._last = t


_SIGNALS: dict[tuple[Any, ...], Any] = {}


def signals_cached(wh: Warehouse, kinds: tuple[str, ...]) -> Any:
    """:func:`critmin.markets.api.signals` (flagged) of ``kinds``, kept per warehouse contents
    (``Warehouse.fingerprint()``) for the life of the process: a second brief on unchanged data
    does not re-scan every trade flow."""
    from critmin.markets import api as markets

    key = (wh.fingerprint(), kinds)
    if key not in _SIGNALS:
        _SIGNALS.clear()
        _SIGNALS[key] = markets.signals(wh, kinds=kinds)
    return _SIGNALS[key]


def _stockpile(wh: Warehouse, req: BriefRequest) -> tuple[PlanReport | None, str | None]:
    from critmin.stockpile.problem import StockpileInputError, StockpileSolveError
    from critmin.stockpile.service import PlanRequest, plan

    assert req.stockpile_budgets is not None and req.stockpile_runs is not None and req.seed is not None
    if not req.stockpile_budgets:
        return None, "stockpile plan: no budget for the brief's partners (setting brief.stockpile_budgets)"
    try:
        return plan(wh, PlanRequest(budgets_usd=req.stockpile_budgets, runs=req.stockpile_runs, seed=req.seed)), None
    except (StockpileInputError, StockpileSolveError) as exc:
        return None, f"stockpile plan not computable: {exc}"


def _selection(wh: Warehouse, projects: Sequence[Any], req: BriefRequest) -> tuple[dict[str, Any] | None, str | None]:
    from critmin.projects.api import score_with_warehouse, select_portfolio

    assert req.project_budgets is not None
    if not projects:
        return None, "project portfolio: no project of the registry is visible to this brief"
    missing = [p for p in req.partners if p not in req.project_budgets]
    if missing:
        return None, f"project portfolio: no budget for {missing} (setting brief.project_budgets)"
    try:
        return select_portfolio(projects, score_with_warehouse(wh, projects, year=req.year), req.project_budgets), None
    except ValueError as exc:
        return None, f"project portfolio not computable: {exc}"


def dataset_loader(wh: Warehouse) -> Callable[[int], Dataset | None]:
    """Reads one row of the warehouse's dataset table (``Warehouse.dataset_row``) per dataset cited."""
    def load(d: int) -> Dataset | None:
        df = wh.dataset_row(int(d))
        if df.empty:
            return None
        row = df.iloc[0]
        return Dataset(int(d), str(row["publisher"]), str(row["title"]), str(row["vintage"] or ""),
                       str(row["source_path"]), str(row["url"] or ""), str(row["sha256"] or ""))
    return load


def data_version(wh: Warehouse) -> tuple[str, int]:
    """A short key of ``Warehouse.fingerprint()`` without the file path, and the dataset count."""
    fp = wh.fingerprint()
    key = hashlib.sha256(json.dumps([str(x) for x in fp[1:]]).encode()).hexdigest()[:12]
    return key, int(fp[1]) if len(fp) > 1 and fp[1] is not None else 0


def build(wh: Warehouse, req: BriefRequest, progress: Progress | None = None) -> Brief:
    """The whole brief as data (tables with sources, pages, notes) in ``req.lang``."""
    from critmin.brief import pages, provenance, summary

    req = req.resolved()
    note = progress or (lambda f, m: None)
    inp = gather(wh, req, note)
    _ = gettext_for(req.lang)
    note(0.7, "tables")
    src = Sources(dataset_loader(wh))
    version, n = data_version(wh)
    records = {r["commodity"]: r for r in inp.assessment.records}

    def cname(c: str) -> str:
        return commodity_name(c, req.lang, inp.names.get(c, c))

    def stage(s: str | None) -> str:
        return _(STAGE_LABELS[s]) if s in STAGE_LABELS else (s or "–")

    ctx = summary.Ctx(req, inp, _, cname, stage, lambda c: country_name(c, req.lang), records, src)
    tables = summary.tables(ctx)
    page_list = [pages.page(wh, ctx, c) for c in inp.priority]
    brief = Brief(
        lang=req.lang, visibility=req.visibility, partners=req.partners, year=req.year,
        generated=dt.datetime.now(dt.UTC).replace(microsecond=0), data_version=version, datasets_imported=n,
        params=req.to_params(), summary=summary.messages(ctx, tables), tables=tables, pages=page_list,
        methodology=summary.methodology(ctx), notes=inp.notes + ctx.notes, sources=src,
        labels=summary.labels(ctx), timings=dict(inp.timings))
    stmt = provenance.statement(wh, version, n, _)
    brief.data_lines, brief.data_release = stmt.lines(brief.labels), stmt.short
    cite_all(brief)
    return brief


def cite_all(brief: Brief) -> None:
    """Number every dataset cited, in the order a reader meets them (summary, pages)."""
    for t in list(brief.tables.values()) + [t for p in brief.pages for t in p.tables]:
        for refs in t.sources:
            brief.sources.cite(refs)


def column(key: str, header: str, unit: str | None = None, kind: str = "text", digits: int = 2) -> Column:
    return Column(key, header, unit, kind, digits)  # type: ignore[arg-type]


def refs(ids: Sequence[Any], lines: Sequence[Sequence[Any]] = ()) -> list[SourceRef]:
    """Dataset ids, and ``[dataset_id, line]`` pairs, as source references."""
    out = [SourceRef(int(d)) for d in ids if d is not None]
    out += [SourceRef(int(p[0]), int(p[1])) for p in lines if p and p[0] is not None]
    return out


def new_table(key: str, title: str, columns: list[Column], note: str | None = None) -> Table:
    return Table(key, title, columns, note=note)
