"""The clock report (I/O): deadlines, the selected projects' tracking, overdue permitting
across the registry and the permitting what-if, assembled from the registry and warehouse."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from critmin import settings
from critmin.projects.clock import (
    deadlines_from_settings,
    milestone_states,
    project_track,
    what_if_permitting,
)
from critmin.projects.registry import Registry

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse


def clock_report(
    wh: Warehouse,
    reg: Registry,
    viewer: str,
    today: dt.date,
    budget: Mapping[str, float] | None = None,
    what_if_months: int | None = None,
) -> dict[str, Any]:
    """Everything ``critmin clock`` shows. Without ``budget`` the newest saved selection the
    viewer may see is used; with none, ``projects`` is empty and ``selection.source`` says why."""
    d = deadlines_from_settings()
    projects = reg.list(viewer)
    by_id = {p.id: p for p in projects}
    if budget is not None:
        from critmin.projects.api import score_with_warehouse, select_portfolio

        res = select_portfolio(projects, score_with_warehouse(wh, projects), budget)
        selection = {"source": f"selected now with budget {dict(budget)}", "selected": [s["project"] for s in res["selected"]]}
    else:
        saved = reg.latest_selection(viewer)
        if saved is None:
            selection = {
                "source": "none: no saved selection visible to this viewer (run `critmin projects select "
                "--budget USA=...,JPN=... --save` or pass --budget)",
                "selected": [],
            }
        else:
            selection = _saved(wh, saved)
    tracks, chosen = [], []
    for pid in selection["selected"]:
        p = by_id.get(pid)
        if p is None:
            tracks.append({"project": pid, "on_track": False, "reasons": ["no longer in the registry (deleted)"], "warnings": [], "milestones": []})
        else:
            chosen.append(p)
            tracks.append(project_track(p, today, d))
    overdue = [
        {"project": p.id, **m}
        for p in projects
        for m in milestone_states(p, today)
        if m["state"] == "overdue"
    ]
    out: dict[str, Any] = {
        "today": today.isoformat(),
        "deadlines": {k: v.isoformat() for k, v in d.items()},
        "days_to_financing_deadline": (d["financing_deadline"] - today).days,
        "days_to_ministerial_deadline": (d["ministerial_deadline"] - today).days,
        "selection": selection,
        "projects": tracks,
        "overdue_milestones": overdue,
    }
    if what_if_months is not None:
        if not chosen:
            raise ValueError("--what-if-months needs selected projects (a saved selection or --budget)")
        from critmin.projects.api import load_market, make_shortfall_model

        market = load_market(wh, sorted({p.commodity_id for p in chosen}))
        base, horizon = int(settings.get("projects.score.base_year")), int(settings.get("projects.score.horizon_year"))
        out["what_if"] = what_if_permitting(chosen, what_if_months, make_shortfall_model(market), range(base, horizon + 1))
    return out


def _saved(wh: Warehouse, saved: dict[str, Any]) -> dict[str, Any]:
    """A saved selection as the clock's ``selection``: its source line, projects, the vintage and
    data fingerprint it was made on ('unknown' for one saved before they were recorded) and,
    made under another vintage than ``wh``'s, a ``vintage_warning`` (the clock still uses it: it
    reuses only the project list and recomputes everything else on ``wh``; docs/data.md)."""
    from critmin.disruption.provenance import UNKNOWN, recorded_provenance, vintage_label

    prov = recorded_provenance(saved["params"])
    out: dict[str, Any] = {
        "source": (f"saved selection #{saved['selection_id']} ({saved['created_at']}, by {saved['author']}, "
                   f"viewer {saved['viewer']}, data as of vintage {vintage_label(prov['vintage'])})"),
        "selected": [s["project"] for s in saved["result"]["selected"]],
        **prov,
    }
    now = getattr(wh, "vintage", None)
    if prov["vintage"] != now:
        out["vintage_warning"] = (
            f"saved selection #{saved['selection_id']} "
            + ("does not record the vintage it was made on" if prov["vintage"] == UNKNOWN
               else f"was made on data as of vintage {vintage_label(prov['vintage'])}")
            + f"; this clock reads as of {vintage_label(now)}")
    return out
