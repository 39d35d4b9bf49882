"""The scenario builder's server half (issue 19 section 5): the form on ``/scenarios`` is checked
here as the analyst types, and turned into the TOML the CLI reads.

* ``POST /api/scenarios/check`` ``{"spec": {...}}``: the scenario document the form built (the
  fields of the TOML format, :mod:`critmin.disruption.scenario`), validated by the same
  :func:`~critmin.disruption.scenario.parse_scenario` as ``critmin simulate``; the answer is
  ``{"ok", "errors": [{"field", "message"}], "toml"}``: one message per field in the form's
  terms (``events[0].export_cut`` is the first event's cut), and the TOML equivalent written by
  tomli-w from the document as given, so that ``critmin simulate that.toml`` runs the same
  scenario.
* ``POST /api/scenarios/parse`` ``{"toml": "..."}``: an uploaded TOML file read back into the
  document that fills the form (a syntax error names its line).
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from critmin.web.access import ANY, RULES, Rule
from critmin.web.models import ERRORS

router = APIRouter(prefix="/api/scenarios", tags=["scenario builder"], responses=ERRORS)

# every role may check or read a scenario (nothing is stored); a POST carries the CSRF token
RULES.setdefault(("POST", "/api/scenarios/check"), Rule(ANY, write=True))
RULES.setdefault(("POST", "/api/scenarios/parse"), Rule(ANY, write=True))

_LINE = re.compile(r"^<form>: (?P<field>[^:]+): (?P<msg>.*)$")


class CheckRequest(BaseModel):
    spec: dict[str, Any]


class FieldError(BaseModel):
    field: str = Field(description="Path of the field in the document, e.g. events[0].export_cut")
    message: str


class CheckResult(BaseModel):
    ok: bool
    errors: list[FieldError]
    toml: str | None = Field(description="The TOML equivalent (None while the document is invalid)")


class ParseRequest(BaseModel):
    toml: str = Field(max_length=200_000)


def _clean(o: Any) -> Any:
    """The document without empty values (TOML has no null): a blank override is the default."""
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items() if v not in (None, "", [], {})}
    if isinstance(o, list):
        return [_clean(v) for v in o]
    return o


def to_toml(spec: dict[str, Any]) -> str:
    """The TOML text of a scenario document (top-level keys first, then sources, events,
    overrides: the order of the library's files)."""
    import tomli_w

    doc = _clean(spec)
    order = ["name", "description", "horizon_months", "consumers"]
    head = {k: doc[k] for k in order if k in doc}
    rest = {k: v for k, v in doc.items() if k not in head}
    tables = {k: rest.pop(k) for k in ("sources", "events", "overrides") if k in rest}
    return tomli_w.dumps({**head, **rest, **tables}, multiline_strings=True)


def field_errors(message: str) -> list[dict[str, str]]:
    """:class:`~critmin.disruption.scenario.ScenarioError` lines as (field, message)."""
    out = []
    for line in message.splitlines():
        m = _LINE.match(line.strip())
        if m:
            out.append({"field": m.group("field").strip(), "message": m.group("msg").strip()})
        elif line.strip():
            out.append({"field": "(top level)", "message": line.strip().removeprefix("<form>: ")})
    return out


@router.post("/check", response_model=CheckResult)
def check(req: CheckRequest) -> dict[str, Any]:
    """Validate the form's document as ``critmin simulate`` would, and give its TOML."""
    from critmin.disruption.scenario import ScenarioError, parse_scenario

    doc = _clean(req.spec)
    try:
        parse_scenario(doc, where="<form>")
    except ScenarioError as exc:
        return {"ok": False, "errors": field_errors(str(exc)), "toml": None}
    return {"ok": True, "errors": [], "toml": to_toml(doc)}


@router.post("/parse", response_model=dict[str, Any])
def parse(req: ParseRequest) -> dict[str, Any]:
    """An uploaded TOML file as the document the form shows (422 naming the line if it is not TOML)."""
    try:
        doc = tomllib.loads(req.toml)
    except tomllib.TOMLDecodeError as exc:
        raise HTTPException(422, f"the file is not TOML: {exc}") from None
    return {"spec": doc, "check": check(CheckRequest(spec=doc))}
