"""The scenario library API (issue 19 section 5: "save a scenario to the user's library, with its
visibility"). Records are stored by :mod:`critmin.web.scenarios_library`.

* ``GET /api/saved-scenarios``: the saved scenarios the caller may see (name, author,
  visibility, version, updated), newest change first.
* ``POST /api/saved-scenarios`` ``{"spec": {...}, "visibility": "US"}``: save a new one (201).
* ``GET /api/saved-scenarios/{id}``: one record with its document and ``version``;
  ``GET /api/saved-scenarios/{id}/toml``: its TOML file (what ``critmin simulate`` reads).
* ``PUT /api/saved-scenarios/{id}`` ``{"spec", "visibility", "version"}``: update; a stale
  ``version`` answers 409 and nothing is written.
* ``DELETE /api/saved-scenarios/{id}?version=N``: delete.

Visibility follows the project registry's rules (:mod:`critmin.web.access`): a user sees records
of the visibilities of their role; creates records for their own government or joint; a record
stays in its id's namespace (visible to that government or both); a record the caller may not
see answers the same 404 as an id that does not exist, on every route. Narrowing a joint record
to one government needs one approval from each government (:mod:`critmin.web.approvals`); the
record stays joint until then (202 with the pending request). A joint record is deleted by its
author or a joint-admin only (the other government may rely on it).

A document is validated before it is stored by the same ``parse_scenario`` as a run (so a saved
scenario is always runnable): 422 naming each field (``events[0].export_cut: ...``). Every write
is audited (``scenario.create``, ``scenario.update``, ``scenario.delete``; outcomes ``ok``,
``invalid``, ``refused``, ``stale``, ``pending``); browser writes carry the CSRF token like all
writes (the access rules).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from critmin.ops import StaleVersion
from critmin.web import approvals
from critmin.web import scenarios_library as lib
from critmin.web.access import ANY, RULES, WRITERS, CurrentUser, Rule, id_namespace
from critmin.web.auth import Principal
from critmin.web.context import ctx_of
from critmin.web.models import ERRORS
from critmin.web.scenario_builder import _clean, field_errors, to_toml

router = APIRouter(prefix="/api/saved-scenarios", tags=["scenario library"], responses=ERRORS)

_BASE = "/api/saved-scenarios"
_ITEM = _BASE + "/{scenario_id}"
RULES.update({
    ("GET", _BASE): Rule(ANY, records="scenario"),
    # a new record refers to no existing one (a visibility the caller may not assign is a 403)
    ("POST", _BASE): Rule(WRITERS, write=True),
    ("GET", _ITEM): Rule(ANY, records="scenario"),
    ("GET", _ITEM + "/toml"): Rule(ANY, records="scenario"),
    ("PUT", _ITEM): Rule(WRITERS, write=True, records="scenario"),
    ("DELETE", _ITEM): Rule(WRITERS, write=True, records="scenario"),
})

ScenarioId = Annotated[str, Path(min_length=1, max_length=64)]
MAX_SPEC_CHARS = 200_000  # the TOML upload's limit (scenario_builder.ParseRequest)


class SaveRequest(BaseModel):
    spec: dict[str, Any] = Field(description="The scenario document (the fields of the TOML format)")
    visibility: str | None = Field(default=None, pattern="^(US|JP|joint)$",
                                   description="Who may see it (default: your government; joint: both)")


class UpdateRequest(SaveRequest):
    version: int | None = Field(default=None, ge=1, description="The version you edited (409 when stale)")


class SavedScenario(BaseModel):
    scenario_id: str
    version: int
    name: str
    author: str
    visibility: str
    created_at: str
    updated_at: str
    updated_by: str
    events: int
    horizon_months: int | None = None
    spec: dict[str, Any] | None = None


class SavedList(BaseModel):
    scenarios: list[SavedScenario]


def not_found(scenario_id: str) -> HTTPException:
    """The one answer for an id that does not exist and for one the caller may not see."""
    return HTTPException(404, f"no saved scenario with id {scenario_id[:64]!r}")


def validated(request: Request, principal: Principal, action: str, target: str | None,
              spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, document) of a runnable scenario, or 422 naming each field (audited)."""
    from critmin.disruption.scenario import ScenarioError, parse_scenario

    doc = _clean(spec)
    problem = None
    if len(json.dumps(doc)) > MAX_SPEC_CHARS:
        problem = f"spec: the document is longer than {MAX_SPEC_CHARS:,} characters"
    else:
        try:
            parse_scenario(doc, where="<form>")
        except ScenarioError as exc:
            problem = "; ".join(f"{e['field']}: {e['message']}" for e in field_errors(str(exc)))
        name = str(doc.get("name") or "").strip()
        if problem is None and not name:
            problem = "name: give the scenario a name"
        elif problem is None and len(name) > 200:
            problem = "name: at most 200 characters"
    if problem is not None:
        ctx_of(request).audit(request, principal, action, "invalid", target=target, detail={"error": problem[:500]})
        raise HTTPException(422, problem)
    return name, doc


def visible(request: Request, principal: Principal, scenario_id: str) -> dict[str, Any]:
    rec = lib.get(ctx_of(request).ops, scenario_id)
    if rec is None or not principal.can_see(rec["visibility"]):
        raise not_found(scenario_id)
    return rec


@router.get("", response_model=SavedList)
def list_saved(request: Request, principal: CurrentUser) -> dict[str, Any]:
    """The saved scenarios you may see (another government's own records never appear)."""
    return {"scenarios": lib.listing(ctx_of(request).ops, principal.role.sees)}


@router.post("", response_model=SavedScenario, status_code=201)
def save(request: Request, principal: CurrentUser, req: SaveRequest) -> dict[str, Any]:
    """Save a scenario to the library (validated as a run would be: 422 names the field)."""
    ctx = ctx_of(request)
    vis = req.visibility or principal.default_visibility
    if not principal.may_assign(vis):
        ctx.audit(request, principal, "scenario.create", "refused", detail={"visibility": vis})
        raise HTTPException(403, f"role {principal.role.name} may not create {vis}-only records")
    name, doc = validated(request, principal, "scenario.create", None, req.spec)
    ns = principal.role.government if principal.role.government in lib.PREFIXES else vis
    rec = lib.create(ctx.ops, scenario_id=lib.new_id(ns), name=name, author=principal.name, visibility=vis, spec=doc)
    ctx.audit(request, principal, "scenario.create", "ok", target=rec["scenario_id"],
              detail={"name": name, "visibility": vis})
    return rec


@router.get("/{scenario_id}", response_model=SavedScenario)
def open_saved(request: Request, principal: CurrentUser,
               scenario_id: ScenarioId) -> dict[str, Any]:
    """One saved scenario with its document and ``version`` (send it back with an update)."""
    return visible(request, principal, scenario_id)


_SLUG = re.compile(r"[^a-z0-9]+")


@router.get("/{scenario_id}/toml", response_class=Response,
            responses={200: {"content": {"application/toml": {}}, "description": "The TOML file"}})
def download_toml(request: Request, principal: CurrentUser,
                  scenario_id: ScenarioId) -> Response:
    """The saved scenario as a TOML file, as ``critmin simulate FILE.toml`` reads it."""
    rec = visible(request, principal, scenario_id)
    slug = _SLUG.sub("_", rec["name"].lower()).strip("_")[:80] or "scenario"
    return Response(to_toml(rec["spec"]), media_type="application/toml",
                    headers={"Content-Disposition": f'attachment; filename="{slug}.toml"'})


def _check_visibility(principal: Principal, scenario_id: str, new: str) -> None:
    if not principal.may_assign(new):
        raise HTTPException(403, f"role {principal.role.name} may not make records {new}-only")
    ns = id_namespace(scenario_id)
    if ns is not None and new not in (ns, "joint"):
        raise HTTPException(422, f"visibility: scenario {scenario_id!r} is in the {ns} namespace: its visibility "
                                 f"must be {ns} or joint, not {new}")


class Pending(BaseModel):
    status: str = Field(description="'pending': the change waits for both governments' approval")
    approval: dict[str, Any]
    detail: str


@router.put("/{scenario_id}", response_model=SavedScenario,
            responses={202: {"model": Pending, "description": "Narrowing a joint scenario: pending approval"}})
def update(request: Request, principal: CurrentUser, scenario_id: ScenarioId,
           req: UpdateRequest) -> Any:
    """Update a saved scenario you may see. Send the ``version`` you edited: when the record has
    changed since, the answer is 409 and nothing is written. Narrowing a joint scenario to one
    government answers 202 with a pending request that needs both governments' approval."""
    ctx = ctx_of(request)
    cur = visible(request, principal, scenario_id)
    new_vis = req.visibility or cur["visibility"]
    try:
        _check_visibility(principal, scenario_id, new_vis)
    except HTTPException as exc:
        ctx.audit(request, principal, "scenario.update", "refused", target=scenario_id,
                  detail={"reason": str(exc.detail)[:200]})
        raise
    name, doc = validated(request, principal, "scenario.update", scenario_id, req.spec)
    expected = req.version if req.version is not None else cur["version"]
    if cur["visibility"] == "joint" and new_vis != "joint":
        if expected != cur["version"]:
            return _stale(request, principal, scenario_id, StaleVersion(f"scenario {scenario_id!r}", expected,
                                                                        cur["version"]))
        return _request_narrowing(request, principal, cur, new_vis, name, doc)
    try:
        rec = lib.update(ctx.ops, scenario_id, expected_version=expected, name=name, visibility=new_vis, spec=doc,
                         by=principal.name)
    except StaleVersion as exc:
        return _stale(request, principal, scenario_id, exc)
    ctx.audit(request, principal, "scenario.update", "ok", target=scenario_id,
              detail={"version": rec["version"], "visibility": new_vis})
    return rec


def _stale(request: Request, principal: Principal, scenario_id: str, exc: StaleVersion) -> Any:
    ctx_of(request).audit(request, principal, "scenario.update", "stale", target=scenario_id,
                          detail={"error": str(exc)})
    raise HTTPException(409, f"{exc}; open the scenario again and apply your change to the current version")


def _request_narrowing(request: Request, principal: Principal, cur: dict[str, Any], new_vis: str, name: str,
                       doc: dict[str, Any]) -> JSONResponse:
    ctx = ctx_of(request)
    sid = cur["scenario_id"]
    try:
        with ctx.db.lock, ctx.db.cursor() as con:
            pending = approvals.request_change(
                con, kind="scenario", target=sid, from_visibility="joint", to_visibility=new_vis,
                record={"name": name, "spec": doc}, base_version=cur["version"], author=principal.name,
                government=principal.role.government)
    except approvals.ApprovalError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    ctx.audit(request, principal, "scenario.update", "pending", target=sid,
              detail={"approval_id": pending["approval_id"], "to": new_vis})
    return JSONResponse({"status": "pending", "approval": pending,
                         "detail": f"scenario {sid} is joint: making it {new_vis}-only needs one approval from each "
                                   f"government; it stays joint until then (request {pending['approval_id']}, "
                                   "/approvals)"}, status_code=202)


def apply_approved(request: Request, req: dict[str, Any]) -> dict[str, Any]:
    """Write an approved narrowing of a joint scenario (both governments agreed), unless the
    record changed or was deleted since the request (then the request is marked stale)."""
    ctx = ctx_of(request)
    sid, base = req["target"], req["record"].get("base_version")
    actor = "approval:" + req["approval_id"]
    with ctx.db.cursor() as con:
        try:
            stored = req["record"]["record"]
            lib.update(ctx.ops, sid, expected_version=int(base), name=stored["name"],
                       visibility=req["to_visibility"], spec=stored["spec"], by=actor)
        except StaleVersion as exc:
            approvals.mark(con, req["approval_id"], "stale",
                           f"The visibility change of scenario {sid} was approved but the scenario changed "
                           f"meanwhile ({exc}); nothing was written, ask again.")
            ctx.audit(request, None, "approval.apply", "stale", actor=actor, target=sid, detail={"error": str(exc)})
        else:
            approvals.mark(con, req["approval_id"], "applied",
                           f"Scenario {sid} is now {req['to_visibility']}-only: approved by {req['us_by']} (US) "
                           f"and {req['jp_by']} (JP).")
            ctx.audit(request, None, "approval.apply", "ok", actor=actor, target=sid,
                      detail={"to": req["to_visibility"]})
        out = approvals.get(con, req["approval_id"])
    assert out is not None
    return out


@router.delete("/{scenario_id}", response_model=dict[str, Any])
def delete(request: Request, principal: CurrentUser, scenario_id: ScenarioId,
           version: Annotated[int | None, Query(ge=1, description="The version you saw (409 when stale)")] = None,
           ) -> dict[str, Any]:
    """Delete a saved scenario you may see (a joint one: its author or a joint-admin only)."""
    ctx = ctx_of(request)
    cur = visible(request, principal, scenario_id)
    if cur["visibility"] == "joint" and not (principal.role.is_admin or cur["author"] == principal.name):
        ctx.audit(request, principal, "scenario.delete", "refused", target=scenario_id)
        raise HTTPException(403, "a joint scenario is deleted by its author or a joint-admin: the other government "
                                 "may rely on it")
    try:
        lib.delete(ctx.ops, scenario_id, version if version is not None else cur["version"])
    except StaleVersion as exc:
        ctx.audit(request, principal, "scenario.delete", "stale", target=scenario_id, detail={"error": str(exc)})
        raise HTTPException(409, f"{exc}; open the scenario again before deleting it") from None
    ctx.audit(request, principal, "scenario.delete", "ok", target=scenario_id, detail={"name": cur["name"]})
    return {"deleted": scenario_id}
