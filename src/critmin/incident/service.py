"""The incident workflow, one function per step, called by the CLI and the web alike.

``open_incident`` -> ``assess_incident`` -> ``options_incident`` -> ``propose_decision`` /
``approve_decision`` -> ``close_incident``. Each takes the warehouse (reads only), the
:class:`~critmin.incident.store.IncidentStore`, the caller's name and ``sees`` (the visibilities
the caller may read), and an ``audit(action, target, detail)`` callback that the caller
connects to its audit log (every change is audited; the versions are the incident's own history).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import critmin.incident.params  # noqa: F401  (registers the settings)
from critmin import settings
from critmin.data.warehouse import Warehouse
from critmin.disruption.scenario import load_scenario, parse_scenario
from critmin.incident.assess import assess
from critmin.incident.options import (
    demand_options,
    project_options,
    rank,
    stockpile_options,
    supplier_options,
)
from critmin.incident.store import IncidentError, IncidentStore
from critmin.incident.trigger import (
    Trigger,
    TriggerError,
    calc_scenario_trigger,
    calc_signal_scenario,
    event_trigger,
)

Audit = Callable[[str, str, dict[str, Any]], None]
#: (viewer government 'US'|'JP'|'joint', commodities) -> registry projects the viewer may see
ProjectSource = Callable[[str, Sequence[str]], Sequence[Any]]


def _noaudit(action: str, target: str, detail: dict[str, Any]) -> None:
    return None


def trigger_from(wh: Warehouse, *, event: str | None = None, signal: str | None = None,
                 scenario: str | Path | None = None, start_date: dt.date | None = None) -> Trigger:
    """Exactly one of ``event``, ``signal``, ``scenario`` -> a :class:`Trigger`."""
    given = [x for x in (event, signal, scenario) if x]
    if len(given) != 1:
        raise TriggerError("give exactly one trigger: an event id, a signal id or a scenario file")
    horizon = int(settings.get("incident.horizon_months"))
    if event:
        return event_trigger(event, horizon)
    if signal:
        from critmin.disruption.api import load_market
        from critmin.markets.api import signals, signals_to_records

        recs = [r for r in signals_to_records(signals(wh, flagged_only=False)) if r["signal_id"] == signal]
        if not recs:
            raise TriggerError(f"no market signal {signal!r} (see `critmin markets signals --json`)")
        cid = str(recs[0]["commodity_id"]).split(";")[0]
        m = load_market(wh, [cid])
        stage = m.commodities[cid].stage if cid in m.commodities else "processing"
        return calc_signal_scenario(recs[0], horizon, stage)
    path = Path(str(scenario))
    return calc_scenario_trigger(load_scenario(path), path.name, start_date or dt.date.today())


def trigger_of(record: dict[str, Any]) -> Trigger:
    """The stored trigger of an incident record, rebuilt (its scenario re-validated)."""
    t = record["trigger"]
    sc = parse_scenario(t["scenario"], f"incident trigger {t['ref']}")
    return Trigger(t["kind"], t["ref"], sc, dt.date.fromisoformat(t["start_date"]), t["title"],
                   tuple(t["commodities"]), dict(t["stages"]), tuple(t["countries"]), tuple(t["targets"]),
                   tuple(t["flags"]), tuple(t["notes"]), dict(t.get("evidence") or {}))


def inventory_sees(visibility: str) -> tuple[str, ...]:
    """Records (inventory, projects) an incident may use: those everyone who sees the incident
    may see (a joint incident uses only joint records)."""
    return ("joint",) if visibility == "joint" else (visibility, "joint")


def open_incident(wh: Warehouse, store: IncidentStore, trigger: Trigger, *, visibility: str, author: str,
                  sees: Iterable[str], projects: ProjectSource | None = None, runs: int | None = None,
                  seed: int | None = None, audit: Audit = _noaudit, note: str | None = None) -> dict[str, Any]:
    """Record the incident and run its assessment and options (the automatic part)."""
    record = {"title": trigger.title, "trigger": trigger.as_dict(), "commodities": list(trigger.commodities),
              "stages": trigger.stages, "countries": list(trigger.countries), "targets": list(trigger.targets),
              "start_date": trigger.start_date.isoformat(), "people": [author]}
    iid = store.create(record, visibility, author, note)
    audit("incident.open", iid, {"trigger": trigger.kind, "ref": trigger.ref, "visibility": visibility})
    assess_incident(wh, store, iid, sees=sees, author=author, runs=runs, seed=seed, audit=audit)
    options_incident(wh, store, iid, sees=sees, author=author, projects=projects, audit=audit)
    return store.get(iid, sees)


def assess_incident(wh: Warehouse, store: IncidentStore, iid: str, *, sees: Iterable[str], author: str,
                    runs: int | None = None, seed: int | None = None, audit: Audit = _noaudit) -> dict[str, Any]:
    from critmin.disruption.api import load_market

    sees = tuple(sees)
    inc = store.get(iid, sees)
    trig = trigger_of(inc)
    market = load_market(wh, list(trig.commodities))
    inv = store.inventory(inventory_sees(inc["visibility"]), trig.commodities)
    seed = int(settings.get("incident.mc_seed")) if seed is None else int(seed)
    doc = assess(market, trig, inv, runs=runs, seed=seed)
    fp = str(wh.fingerprint())
    did = store.put_doc(iid, sees, "assessment", doc, author, data_version=fp, seed=seed)
    store.change(iid, sees, author, "assess", status="assessed", note=f"assessment {did}")
    audit("incident.assess", iid, {"doc_id": did, "runs": doc["monte_carlo"]["runs"], "seed": seed})
    return {"doc_id": did, **doc}


def options_incident(wh: Warehouse, store: IncidentStore, iid: str, *, sees: Iterable[str], author: str,
                     projects: ProjectSource | None = None, audit: Audit = _noaudit,
                     today: dt.date | None = None) -> dict[str, Any]:
    from critmin.data.curated import economics
    from critmin.disruption.api import load_market
    from critmin.risk.alliances import allied_iso3

    sees = tuple(sees)
    inc = store.get(iid, sees)
    a = store.latest_doc(iid, sees, "assessment")
    if a is None:
        raise IncidentError(f"incident {iid} has no assessment yet: run `critmin incident assess {iid}`")
    cids = [c["commodity"] for c in a["commodities"]]
    market = load_market(wh, cids)
    sources = ["BACI", *settings.get("risk.trade_fallback_sources")]
    flows = wh.bilateral_flows(list(market.consumers), sources, drop_world=True, commodities=cids)
    opts = stockpile_options(a)
    opts += supplier_options(market, a, inc["countries"], flows, allied_iso3())
    projs: list[Any] = []
    projects_note = None if projects is not None else "no project registry given"
    if projects is not None:
        try:
            # only records everyone who may read the incident may read (a joint incident: joint
            # projects), whatever the source returns
            shared = inventory_sees(inc["visibility"])
            projs = [p for p in projects(inc["visibility"], cids) if str(p.visibility) in shared]
        except (RuntimeError, LookupError, ValueError) as exc:  # RegistryError is a RuntimeError
            projects_note = f"project registry not searched: {exc}"
    opts += project_options(projs, a, today or dt.date.today())
    opts += demand_options(a, economics.substitutability(), economics.end_uses(), wh.recycling_rates())
    ranked = rank(opts, a)
    doc = {"assessment_doc_id": a["doc_id"], "options": ranked,
           "projects_searched": projects_note is None, "projects_note": projects_note}
    did = store.put_doc(iid, sees, "options", doc, author, data_version=str(wh.fingerprint()))
    store.change(iid, sees, author, "options", status="options", note=f"options {did}")
    audit("incident.options", iid, {"doc_id": did, "options": len(ranked)})
    return {"doc_id": did, **doc}


def propose_decision(store: IncidentStore, iid: str, *, sees: Iterable[str], proposer: str, government: str,
                     option_id: str, params: dict[str, Any], reasons: str, supersedes: str | None = None,
                     audit: Audit = _noaudit) -> dict[str, Any]:
    """Record a proposed decision for an option of the newest options document."""
    sees = tuple(sees)
    o = store.latest_doc(iid, sees, "options")
    known = {x["option_id"] for x in (o or {}).get("options", [])}
    if option_id not in known and not option_id.startswith("custom:"):
        raise IncidentError(f"option_id {option_id!r} is not an option of incident {iid} "
                            "(see `critmin incident options`; a free-form choice starts with 'custom:')")
    did = store.propose(iid, sees, option_id=option_id, params=params, reasons=reasons, proposer=proposer,
                        proposer_government=government, supersedes=supersedes)
    store.change(iid, sees, proposer, "propose", note=f"decision {did}: {option_id}")
    audit("incident.decision.propose", iid, {"decision_id": did, "option_id": option_id, "supersedes": supersedes})
    return next(d for d in store.decisions(iid, sees) if d["decision_id"] == did)


def approve_decision(store: IncidentStore, iid: str, decision_id: str, *, sees: Iterable[str], approver: str,
                     government: str, comment: str | None = None, audit: Audit = _noaudit) -> dict[str, Any]:
    """One government's approval by a user with the approver flag; the incident is ``decided``
    once every government it needs has approved."""
    sees = tuple(sees)
    if government not in ("US", "JP"):
        raise IncidentError(f"{approver}: only a user of the US or the Japanese government may approve "
                            f"(government {government!r})")
    if not store.is_approver(approver):
        raise IncidentError(f"{approver} is not an incident approver (`critmin incident approver grant {approver}`)")
    d = store.approve(iid, sees, decision_id, approver=approver, government=government, comment=comment)
    done = d["status"] == "approved"
    store.change(iid, sees, approver, "approve", status="decided" if done else None,
                 note=f"decision {decision_id} approved by {government}" + (" (complete)" if done else ""))
    audit("incident.decision.approve", iid, {"decision_id": decision_id, "government": government,
                                             "complete": done})
    return d


def close_incident(store: IncidentStore, iid: str, *, sees: Iterable[str], author: str, reason: str,
                   audit: Audit = _noaudit) -> dict[str, Any]:
    if not reason.strip():
        raise IncidentError("reason: say why the incident is closed")
    out = store.change(iid, sees, author, "close", status="closed", note=reason)
    audit("incident.close", iid, {"reason": reason})
    return out


def incident_view(store: IncidentStore, iid: str, sees: Iterable[str]) -> dict[str, Any]:
    """Everything the dashboard and the brief show: the record, its history (the timeline),
    the newest assessment and options, and the decision log."""
    sees = tuple(sees)
    return {"incident": store.get(iid, sees), "timeline": store.history(iid, sees),
            "assessment": store.latest_doc(iid, sees, "assessment"),
            "options": store.latest_doc(iid, sees, "options"), "decisions": store.decisions(iid, sees)}


def calc_plan_stocks(result: dict[str, Any], mode: str) -> list[tuple[str, str, float]]:
    """``(partner, commodity, t)`` of a stockpile plan's result (the dashboard's plan job result,
    ``stockpile.service.PlanReport.to_dict``: ``side_by_side[mode]['stock_t']`` keyed
    ``commodity/partner``). Raises :class:`IncidentError` naming the missing field."""
    side = (result or {}).get("side_by_side") or {}
    if mode not in side or "stock_t" not in side[mode]:
        raise IncidentError(f"plan result: side_by_side.{mode}.stock_t is missing (modes: {sorted(side)})")
    out = []
    for key, t in sorted(side[mode]["stock_t"].items()):
        cid, sep, partner = str(key).partition("/")
        if not sep:
            raise IncidentError(f"plan result: side_by_side.{mode}.stock_t: key {key!r} is not 'commodity/partner'")
        out.append((partner, cid, float(t)))
    return out


def adopt_plan(store: IncidentStore, job: dict[str, Any] | None, job_id: str, *, sees: Iterable[str], author: str,
               mode: str = "coordinated", as_of: dt.date | None = None, audit: Audit = _noaudit) -> list[int]:
    """Record the stocks of an adopted stockpile plan (a finished ``stockpile`` job the caller may
    see) as inventory: one record per partner and commodity, with the plan's visibility and
    ``source = plan:<job id>:<mode>``. A job the caller may not see is answered like an unknown one."""
    from critmin.incident.store import IncidentNotFound

    if job is None or job.get("visibility") not in set(sees):
        raise IncidentNotFound(f"no stockpile plan {job_id!r}")
    if job.get("kind") != "stockpile" or job.get("status") != "done":
        raise IncidentError(f"job {job_id} is a {job.get('kind')} job with status {job.get('status')}; "
                            "adopt a finished stockpile plan")
    day = (as_of or dt.date.today()).isoformat()
    ids = [store.record_inventory(partner=p, commodity=c, quantity_t=t, as_of=day, source=f"plan:{job_id}:{mode}",
                                  visibility=str(job["visibility"]), recorded_by=author,
                                  note=f"adopted from stockpile plan {job_id} ({mode})")
           for p, c, t in calc_plan_stocks(job.get("result") or {}, mode)]
    audit("incident.inventory.adopt_plan", job_id, {"mode": mode, "records": len(ids)})
    return ids
