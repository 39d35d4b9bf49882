"""The project record: a validated pydantic model of one priority project.

The field set is the cross-team contract (``docs/projects.md``): id, name, sponsors, host
country, coordinates, commodity, stage, capacity, capex, first production year, status,
permitting milestones, financing requests, visibility and sources. Unknown fields are an
error, so a typo in an analyst's edited file is reported instead of silently dropped.
Validation errors are rendered by :func:`describe_errors` as ``field: expected …, got …``.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any

import pycountry
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from critmin.data.normalize.commodities import catalogue


class Stage(StrEnum):
    mine = "mine"
    processing = "processing"
    refining = "refining"
    recycling = "recycling"
    magnets = "magnets"
    batteries = "batteries"
    catalysts = "catalysts"
    optical = "optical"
    other = "other"


#: project stage → the warehouse's analysis stage group (mine = extraction, all else processing)
STAGE_GROUP: dict[str, str] = {s.value: ("extraction" if s is Stage.mine else "processing") for s in Stage}


class Status(StrEnum):
    announced = "announced"
    feasibility = "feasibility"
    permitting = "permitting"
    financing = "financing"
    construction = "construction"
    operating = "operating"
    suspended = "suspended"


class Instrument(StrEnum):
    grant = "grant"
    loan = "loan"
    guarantee = "guarantee"
    equity = "equity"
    offtake = "offtake"
    insurance = "insurance"


class Partner(StrEnum):
    USA = "USA"
    JPN = "JPN"


class Visibility(StrEnum):
    US = "US"
    JP = "JP"
    joint = "joint"


#: who may see what: a viewer's government → the visibility labels it may read
VISIBLE_TO: dict[str, frozenset[str]] = {
    "US": frozenset({"US", "joint"}),
    "JP": frozenset({"JP", "joint"}),
    "joint": frozenset({"US", "JP", "joint"}),
}


def check_viewer(viewer: str) -> str:
    """Return ``viewer`` if it is ``US``, ``JP`` or ``joint``, else raise ``ValueError``."""
    if viewer not in VISIBLE_TO:
        raise ValueError(f"viewer {viewer!r}: expected one of US, JP, joint")
    return viewer


def can_see(viewer: str, visibility: str) -> bool:
    return visibility in VISIBLE_TO[check_viewer(viewer)]


_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True, use_enum_values=True)


class Milestone(BaseModel):
    model_config = _STRICT
    name: Annotated[str, Field(min_length=1)]
    target_date: dt.date
    actual_date: dt.date | None = None


class FinancingRequest(BaseModel):
    model_config = _STRICT
    instrument: Instrument
    #: None: amount not public (the request cannot be costed, so the project cannot be selected)
    amount_usd: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None
    partner: Partner
    #: True marks an invented request (e.g. in access-control test records), never a real one
    illustrative: bool = False


class Source(BaseModel):
    model_config = _STRICT
    title: Annotated[str, Field(min_length=1)]
    url: Annotated[str, Field(min_length=1)]
    as_of: dt.date

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://\S+$", v):
            raise ValueError("expected an http(s) URL")
        return v


_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$")


class Project(BaseModel):
    """One priority project (mining, processing, recycling or a derived product)."""

    model_config = _STRICT

    id: str
    name: Annotated[str, Field(min_length=1)]
    sponsors: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    host_country_iso3: str
    # None = not stated in the sources (an explicit unknown, never a made-up value)
    latitude: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None
    longitude: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None
    commodity_id: str
    stage: Stage
    capacity_tpy: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None
    capex_usd: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None
    first_production_year: Annotated[int, Field(ge=1900, le=2100)] | None
    status: Status
    permitting_milestones: list[Milestone] = Field(default_factory=list)
    financing_requests: list[FinancingRequest] = Field(default_factory=list)
    visibility: Visibility
    sources: Annotated[list[Source], Field(min_length=1)]
    notes: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(
                "expected 1-80 characters of letters, digits, '.', '_', ':' or '-' "
                "starting with a letter or digit"
            )
        return v

    @field_validator("host_country_iso3")
    @classmethod
    def _iso3(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", v) or pycountry.countries.get(alpha_3=v) is None:
            raise ValueError("expected an ISO 3166-1 alpha-3 country code such as 'AUS'")
        return v

    @field_validator("commodity_id")
    @classmethod
    def _commodity(cls, v: str) -> str:
        if v not in catalogue():
            raise ValueError(
                "expected a canonical commodity id from critmin/data/catalog/commodities.csv "
                "(e.g. 'rare_earths', 'gallium', 'graphite')"
            )
        return v

    @model_validator(mode="after")
    def _coordinates(self) -> Project:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude, longitude: expected both or neither (null = location not stated)")
        return self

    @model_validator(mode="after")
    def _unique_milestones(self) -> Project:
        names = [m.name for m in self.permitting_milestones]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"permitting_milestones: milestone names must be unique; repeated: {dup}")
        return self

    @property
    def stage_group(self) -> str:
        return STAGE_GROUP[str(self.stage)]

    def record(self) -> dict[str, Any]:
        """The JSON-ready record (the export format; import reads it back unchanged)."""
        return self.model_dump(mode="json")


def describe_errors(exc: ValidationError) -> list[str]:
    """Render a pydantic error as ``field.path: expected …, got …`` lines."""
    out = []
    for e in exc.errors(include_url=False):
        loc = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in e["loc"]).replace(".[", "[")
        msg = e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        got = e.get("input")
        got_s = "" if e["type"] == "missing" else f" (got {got!r})"
        if isinstance(got, dict | list):
            got_s = ""
        out.append(f"{loc or '<record>'}: {msg}{got_s}")
    return out


class ProjectValidationError(ValueError):
    """A record failed validation; ``errors`` lists ``field: expected …`` lines."""

    def __init__(self, where: str, errors: list[str]):
        self.where = where
        self.errors = errors
        super().__init__(f"{where}: " + "; ".join(errors))


def validate_record(record: Any, where: str = "project") -> Project:
    """Validate a raw record (dict) into a :class:`Project` or raise :class:`ProjectValidationError`."""
    if not isinstance(record, dict):
        raise ProjectValidationError(where, [f"expected a JSON object, got {type(record).__name__}"])
    try:
        return Project.model_validate(record)
    except ValidationError as exc:
        rid = record.get("id")
        label = f"{where} (id={rid!r})" if rid is not None else where
        raise ProjectValidationError(label, describe_errors(exc)) from None
