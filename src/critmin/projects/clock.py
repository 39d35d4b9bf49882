"""The framework clock: deadlines, project tracking, overdue permitting and the what-if.

The US-Japan framework (signed 2025-10-28) commits the governments to finance selected
projects within six months (calendar months: 2026-04-28) and to hold a ministerial meeting
within 180 days (2026-04-26).

A selected project is *on track* unless (each is a reason listed in the output):

* its status is ``suspended``;
* a permitting milestone is overdue (target date before ``today``, no actual date);
* the financing deadline has passed and the project has not reached financial close
  (status before ``construction``).

Milestones due after the financing deadline are listed as a warning (not a failure).

What-if (:func:`what_if_permitting`): cut permitting by *N* months. A project whose
permitting is not complete (some milestone without an actual date) starts *N*/12 years
earlier; the projected joint expected shortfall of each commodity in each year is recomputed
with every selected project's capacity online for the part of the year it runs.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from critmin import settings
from critmin.projects.models import Project
from critmin.projects.scoring import ShortfallModel

settings.register(
    "projects.clock.signed",
    "2025-10-28",
    "Date the US-Japan critical-minerals framework was signed (ISO date).",
    "White House, 'United States-Japan Framework for Securing the Supply in the Mining and "
    "Processing of Critical Minerals and Rare Earths', 2025-10-28.",
)
settings.register(
    "projects.clock.financing_months",
    6,
    "Months after signature by which selected projects are to be financed.",
    "US-Japan framework, 2025-10-28: financing 'within six months'.",
)
settings.register(
    "projects.clock.ministerial_days",
    180,
    "Days after signature by which the ministerial meeting is to be held.",
    "US-Japan framework, 2025-10-28: ministerial meeting 'within 180 days'.",
)

FINANCIAL_CLOSE = {"construction", "operating"}


def add_months(d: dt.date, months: int) -> dt.date:
    """Calendar-month addition, clamping the day to the month's length (Jan 31 + 1 -> Feb 28/29)."""
    m0 = d.month - 1 + months
    y, m = d.year + m0 // 12, m0 % 12 + 1
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def calc_deadlines(signed: dt.date, financing_months: int, ministerial_days: int) -> dict[str, dt.date]:
    """``financing = signed + financing_months`` (calendar), ``ministerial = signed + days``."""
    return {
        "signed": signed,
        "financing_deadline": add_months(signed, financing_months),
        "ministerial_deadline": signed + dt.timedelta(days=ministerial_days),
    }


def deadlines_from_settings() -> dict[str, dt.date]:
    return calc_deadlines(
        dt.date.fromisoformat(str(settings.get("projects.clock.signed"))),
        int(settings.get("projects.clock.financing_months")),
        int(settings.get("projects.clock.ministerial_days")),
    )


def milestone_states(project: Project, today: dt.date) -> list[dict[str, Any]]:
    """Each permitting milestone with its state: done, done_late, overdue or upcoming."""
    out = []
    for m in project.permitting_milestones:
        if m.actual_date is not None:
            state = "done_late" if m.actual_date > m.target_date else "done"
            days = (m.actual_date - m.target_date).days
        elif m.target_date < today:
            state, days = "overdue", (today - m.target_date).days
        else:
            state, days = "upcoming", (m.target_date - today).days
        out.append(
            {
                "name": m.name,
                "target_date": m.target_date.isoformat(),
                "actual_date": m.actual_date.isoformat() if m.actual_date else None,
                "state": state,
                "days": days,
            }
        )
    return out


def project_track(project: Project, today: dt.date, deadlines: Mapping[str, dt.date]) -> dict[str, Any]:
    """On-track status of one project (rules in the module docstring)."""
    ms = milestone_states(project, today)
    reasons, warnings = [], []
    if project.status == "suspended":
        reasons.append("project suspended")
    for m in ms:
        if m["state"] == "overdue":
            reasons.append(f"permitting milestone '{m['name']}' overdue by {m['days']} days (target {m['target_date']})")
        elif m["state"] == "upcoming" and dt.date.fromisoformat(m["target_date"]) > deadlines["financing_deadline"]:
            warnings.append(f"permitting milestone '{m['name']}' due {m['target_date']}, after the financing deadline")
    fin = deadlines["financing_deadline"]
    if project.status not in FINANCIAL_CLOSE:
        if today > fin:
            reasons.append(f"financing deadline {fin.isoformat()} passed without financial close (status {project.status})")
        if not project.financing_requests:
            warnings.append("no financing request recorded")
    return {
        "project": project.id,
        "name": project.name,
        "status": project.status,
        "on_track": not reasons,
        "reasons": reasons,
        "warnings": warnings,
        "milestones": ms,
    }


def permitting_complete(project: Project) -> bool | None:
    """True if every milestone has an actual date, False if one is open, None if none recorded."""
    if not project.permitting_milestones:
        return None
    return all(m.actual_date is not None for m in project.permitting_milestones)


def online_fraction(start_year: float, year: int) -> float:
    return min(max(year + 1 - start_year, 0.0), 1.0)


def calc_shortfall_path(
    projects: Sequence[Project],
    starts: Mapping[str, float],
    shortfall_model: ShortfallModel,
    years: Sequence[int],
    cache: dict[tuple[str, tuple[tuple[str, float], ...]], float] | None = None,
) -> dict[tuple[str, int], float]:
    """Projected expected joint shortfall per (commodity, year) with the projects' capacity
    ``K_p x online_fraction(start_p, y)`` added to their host countries."""
    cache = {} if cache is None else cache
    out = {}
    for c in sorted({p.commodity_id for p in projects}):
        for y in years:
            add: dict[str, float] = {}
            for p in projects:
                if p.commodity_id == c:
                    f = online_fraction(starts[p.id], y)
                    if f > 0:
                        if p.capacity_tpy is None:
                            raise ValueError(f"project {p.id!r}: capacity_tpy is not stated; the shortfall path needs it")
                        if p.capacity_tpy > 0:
                            add[p.host_country_iso3] = add.get(p.host_country_iso3, 0.0) + f * p.capacity_tpy
            key = (c, tuple(sorted(add.items())))
            if key not in cache:
                cache[key] = float(shortfall_model(c, add or None))
            out[(c, y)] = cache[key]
    return out


def what_if_permitting(
    projects: Sequence[Project], months: int, shortfall_model: ShortfallModel, years: Sequence[int]
) -> dict[str, Any]:
    """Effect of cutting permitting by ``months`` on the projected shortfall (module docstring)."""
    if months < 0:
        raise ValueError(f"months: expected >= 0, got {months}")
    base: dict[str, float] = {}
    for p in projects:
        if p.first_production_year is None:
            raise ValueError(f"project {p.id!r}: first_production_year is not stated; the what-if needs it")
        base[p.id] = float(p.first_production_year)
    cut = dict(base)
    rows = []
    for p in projects:
        done = permitting_complete(p)
        if done is False:
            cut[p.id] = base[p.id] - months / 12.0
            note = f"permitting open: first production moves from {base[p.id]:.2f} to {cut[p.id]:.2f}"
        elif done is True:
            note = "permitting complete: a shorter permitting time changes nothing"
        else:
            note = "no permitting milestones recorded: not applied"
        rows.append({"project": p.id, "start_year": base[p.id], "start_year_if_cut": cut[p.id], "applies": done is False, "note": note})
    cache: dict[tuple[str, tuple[tuple[str, float], ...]], float] = {}
    b = calc_shortfall_path(projects, base, shortfall_model, years, cache)
    w = calc_shortfall_path(projects, cut, shortfall_model, years, cache)
    path = [
        {"commodity": c, "year": y, "baseline_t": b[(c, y)], "with_cut_t": w[(c, y)], "reduction_t": b[(c, y)] - w[(c, y)]}
        for (c, y) in sorted(b)
    ]
    return {
        "months": months,
        "projects": rows,
        "shortfall": path,
        "total_reduction_t": sum(r["reduction_t"] for r in path),
    }
