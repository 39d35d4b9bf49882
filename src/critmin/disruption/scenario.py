"""Scenario files (TOML): parsing and validation.

Format (``docs/disruption.md``, ``scenarios/*.toml``)::

    name = "..."                # required
    description = "..."         # optional for user scenarios (the shipped library has one)
    horizon_months = 12         # default 12
    consumers = ["USA", "JPN"]  # default: the partners (setting risk.consumers)
    [[sources]]                 # optional: title, url, as_of (ISO date); none -> flagged unsourced
    [[events]]                  # required (zero or more: ``events = []`` is a valid baseline)
    country = "CHN"; commodity = "gallium"; stage = "processing"; export_cut = 1.0
    start_month = 1; duration_months = 12; targets = ["USA"]   # targets optional -> all
    # kind = "export_restriction" (default) | "supply_addition" (change = fraction of the
    # country's production, or quantity_t = t/yr) | "demand_change" (change > -1; targets = the
    # importers whose demand changes, absent = all incl. the rest of the world)
    [overrides]                 # all optional
    demand_growth, supply_elasticity, demand_elasticity, leakage,
    spare_capacity = { AUS = 0.10 }, ramp_up_months = { AUS = 6 },
    re_export_lag_months, contract_cover_months, inventory_months   (segmented markets)

Every error names the file, the field (e.g. ``events[2].export_cut``) and what was expected.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from critmin.data.normalize import commodities as _commodities
from critmin.data.partners import partners

ISO3 = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3 code, upper case")]


class ScenarioError(ValueError):
    """A scenario file is missing, unreadable or invalid; the message names file and field."""


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Source(_Base):
    title: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://\S+$")
    as_of: dt.date


#: event kinds: an export restriction (cut), a supply addition (new capacity, a quota increase),
#: a demand change (a collapse when negative, a surge when positive)
EVENT_KINDS = ("export_restriction", "supply_addition", "demand_change")


class Event(_Base):
    kind: Literal["export_restriction", "supply_addition", "demand_change"] = "export_restriction"
    country: ISO3 | None = None
    commodity: str
    stage: Literal["mine", "processing"] | None = None
    export_cut: float | None = Field(default=None, ge=0.0, le=1.0)
    #: supply_addition: added output as a fraction of the country's production at the stage (>= 0);
    #: demand_change: relative change of the targeted importers' demand (> -1)
    change: float | None = Field(default=None, gt=-1.0)
    #: supply_addition: added output in t/yr (instead of ``change``)
    quantity_t: float | None = Field(default=None, ge=0.0)
    start_month: int = Field(ge=1)
    duration_months: int = Field(ge=1)
    targets: tuple[ISO3, ...] | None = Field(default=None, min_length=1)

    @field_validator("commodity")
    @classmethod
    def _known_commodity(cls, v: str) -> str:
        if v not in _commodities.catalogue():
            raise ValueError(
                f"a commodity id from src/critmin/data/catalog/commodities.csv (e.g. 'gallium', "
                f"'rare_earths'); got {v!r}"
            )
        return v

    @model_validator(mode="after")
    def _fields_of_kind(self) -> Event:
        k = self.kind
        if k in ("export_restriction", "supply_addition"):
            for f in ("country", "stage"):
                if getattr(self, f) is None:
                    raise ValueError(f"{f}: required for kind = {k!r}")
        if k == "export_restriction":
            if self.export_cut is None:
                raise ValueError("export_cut: required for kind = 'export_restriction' (0..1)")
            if self.change is not None or self.quantity_t is not None:
                raise ValueError("change/quantity_t: only for kind = 'supply_addition' or 'demand_change'")
        elif k == "supply_addition":
            if (self.change is None) == (self.quantity_t is None):
                raise ValueError("change or quantity_t: expected exactly one for kind = 'supply_addition'")
            if self.change is not None and self.change < 0:
                raise ValueError(f"change: expected >= 0 for a supply addition, got {self.change}")
            if self.export_cut is not None or self.targets is not None:
                raise ValueError("export_cut/targets: not used by kind = 'supply_addition'")
        else:
            if self.change is None:
                raise ValueError("change: required for kind = 'demand_change' (relative change, > -1)")
            if self.export_cut is not None or self.quantity_t is not None:
                raise ValueError("export_cut/quantity_t: not used by kind = 'demand_change'")
        return self

    @property
    def magnitude(self) -> float:
        """The number the engine scales its slot by: the cut, the change or the tonnage."""
        if self.kind == "export_restriction":
            return float(self.export_cut or 0.0)
        if self.kind == "supply_addition" and self.quantity_t is not None:
            return float(self.quantity_t)
        return float(self.change or 0.0)


class Overrides(_Base):
    demand_growth: float | None = Field(default=None, gt=-1.0)
    supply_elasticity: float | None = Field(default=None, ge=0.0)
    demand_elasticity: float | None = Field(default=None, le=0.0)
    leakage: float | None = Field(default=None, ge=0.0, le=1.0)
    spare_capacity: dict[ISO3, Annotated[float, Field(ge=0.0)]] = Field(default_factory=dict)
    ramp_up_months: dict[ISO3, Annotated[float, Field(gt=0.0)]] = Field(default_factory=dict)
    re_export_lag_months: float | None = Field(default=None, ge=0.0)
    contract_cover_months: float | None = Field(default=None, ge=0.0)
    inventory_months: float | None = Field(default=None, ge=0.0)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v not in (None, {})}


class Scenario(_Base):
    name: str = Field(min_length=1)
    description: str = ""
    horizon_months: int = Field(default=12, ge=1, le=120)
    consumers: tuple[ISO3, ...] = Field(default_factory=partners, min_length=1)
    sources: tuple[Source, ...] = ()
    events: tuple[Event, ...]
    overrides: Overrides = Field(default_factory=Overrides)

    @model_validator(mode="after")
    def _events_in_horizon(self) -> Scenario:
        for i, e in enumerate(self.events):
            if e.start_month > self.horizon_months:
                raise ValueError(
                    f"events[{i}].start_month: expected 1..horizon_months ({self.horizon_months}), "
                    f"got {e.start_month}"
                )
        if len(set(self.consumers)) != len(self.consumers):
            raise ValueError(f"consumers: expected distinct ISO3 codes, got {list(self.consumers)}")
        return self

    @property
    def unsourced(self) -> bool:
        """True when the scenario cites no source (an analyst's quick what-if): its outputs
        carry the flag ``unsourced``. Every file of the shipped library cites sources (tested)."""
        return not self.sources

    @property
    def flags(self) -> tuple[str, ...]:
        """Flags every output of this scenario carries (``'unsourced'``)."""
        return ("unsourced",) if self.unsourced else ()

    def to_spec(self) -> dict[str, Any]:
        """JSON-serialisable form (stored with runs)."""
        return self.model_dump(mode="json")


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _format(err: ValidationError, where: str) -> str:
    lines = []
    for e in err.errors():
        loc = _loc(tuple(x for x in e["loc"] if x not in ("function-after",)))
        msg = e["msg"]
        if e["type"] == "missing":
            msg = "required field is missing"
        elif e["type"] == "extra_forbidden":
            msg = "unknown field (allowed fields are listed in docs/disruption.md)"
        elif e["type"] == "literal_error":
            msg = f"expected {e['ctx']['expected']}"
        elif e["type"] == "string_pattern_mismatch":
            msg = (
                "expected an ISO 3166-1 alpha-3 code such as 'USA'"
                if "A-Z" in e["ctx"]["pattern"] else f"expected text matching {e['ctx']['pattern']}"
            )
        elif e["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")
        if "input" in e and e["type"] not in ("missing", "value_error"):
            msg += f" (got {e['input']!r})"
        lines.append(f"{where}: {loc}: {msg}")
    return "\n".join(lines)


def parse_scenario(data: dict[str, Any], where: str = "<scenario>") -> Scenario:
    """Validate a decoded TOML document; ``where`` names the file in error messages."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(_format(e, where)) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file (errors name the file, line/column or field)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{p}: scenario file not found") from None
    except UnicodeDecodeError as e:
        raise ScenarioError(f"{p}: expected UTF-8 text ({e})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{p}: invalid TOML: {e}") from None
    return parse_scenario(data, str(p))
