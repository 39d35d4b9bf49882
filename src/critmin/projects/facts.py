"""Facts about the seed projects that the project record does not hold
(``data/seed_project_facts.csv``): the value-chain stage of the product counted in
``capacity_tpy`` (mine, separation, refining, metal, magnet, recycling), the development stage
(announced ... production), the capacity product and the state of each permitting milestone.
Every row has a source (with a URL) and an as-of date; the loader checks it.

A project without facts (an analyst's new record) gets both stages from its record
(:func:`stages_of`): ``Project.stage`` and ``Project.status``, stated as derived.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from critmin.projects.models import Project

FACTS_FILE = "seed_project_facts.csv"
VALUE_CHAIN_STAGES = ("mine", "separation", "refining", "metal", "magnet", "recycling")
DEVELOPMENT_STAGES = ("exploration", "announced", "feasibility", "permitting", "financing", "construction",
                      "production")
FACTS = ("value_chain_stage", "integrated_stages", "development_stage", "capacity_product", "milestone_status")

#: project record stage -> value-chain stage (when no fact row says otherwise)
_FROM_RECORD_STAGE = {"mine": "mine", "processing": "separation", "refining": "refining", "recycling": "recycling",
                      "magnets": "magnet", "batteries": "refining", "catalysts": "metal", "optical": "metal",
                      "other": "refining"}
#: project status -> development stage
_FROM_STATUS = {"announced": "announced", "feasibility": "feasibility", "permitting": "permitting",
                "financing": "financing", "construction": "construction", "operating": "production",
                "suspended": "suspended"}


class FactsError(ValueError):
    pass


@dataclass(frozen=True)
class ProjectStages:
    value_chain_stage: str
    development_stage: str
    capacity_product: str
    basis: str  # 'facts' (seed_project_facts.csv lines ...) or 'derived from the record'


@lru_cache(maxsize=1)
def facts() -> dict[str, dict[str, tuple[str, int]]]:
    """``{project_id: {fact: (value, csv line)}}`` (milestone rows are keyed ``milestone_status:<name>``)."""
    text = resources.files("critmin.projects").joinpath("data", FACTS_FILE).read_text(encoding="utf-8")
    out: dict[str, dict[str, tuple[str, int]]] = {}
    rd = csv.DictReader(io.StringIO(text))
    for i, r in enumerate(rd, start=2):
        where = f"{FACTS_FILE} line {i}"
        if r["fact"] not in FACTS:
            raise FactsError(f"{where}, column fact: expected one of {', '.join(FACTS)}, got {r['fact']!r}")
        if not re.search(r"https?://\S+", r["source"] or ""):
            raise FactsError(f"{where}, column source: expected a source with a URL")
        try:
            dt.date.fromisoformat(r["as_of"])
        except ValueError:
            raise FactsError(f"{where}, column as_of: expected an ISO date, got {r['as_of']!r}") from None
        if r["fact"] == "value_chain_stage" and r["value"] not in VALUE_CHAIN_STAGES:
            raise FactsError(f"{where}, column value: expected one of {', '.join(VALUE_CHAIN_STAGES)}, got {r['value']!r}")
        if r["fact"] == "development_stage" and r["value"] not in DEVELOPMENT_STAGES:
            raise FactsError(f"{where}, column value: expected one of {', '.join(DEVELOPMENT_STAGES)}, got {r['value']!r}")
        key = r["fact"] if r["fact"] != "milestone_status" else f"milestone_status:{r['milestone']}"
        out.setdefault(r["project_id"], {})[key] = (r["value"], i)
    return out


def stages_of(p: Project) -> ProjectStages:
    """Value-chain and development stage of a project (facts first, else from its record). A
    suspended project is development stage ``suspended`` whatever its facts say."""
    f = facts().get(p.id, {})
    if "value_chain_stage" in f and "development_stage" in f:
        dev = f["development_stage"][0] if p.status != "suspended" else "suspended"
        lines = sorted(v[1] for v in f.values())
        return ProjectStages(f["value_chain_stage"][0], dev, f.get("capacity_product", ("", 0))[0],
                             f"{FACTS_FILE} lines {lines[0]}-{lines[-1]}")
    return ProjectStages(_FROM_RECORD_STAGE[str(p.stage)], _FROM_STATUS[str(p.status)], "",
                         f"derived from the record (stage {p.stage}, status {p.status})")


__all__ = ["DEVELOPMENT_STAGES", "FactsError", "ProjectStages", "VALUE_CHAIN_STAGES", "facts", "stages_of"]
