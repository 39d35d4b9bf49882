"""One registry of settings.

Each setting has a name, a default, help text and an environment override
(``CRITMIN_<NAME>`` upper-cased, dots replaced by underscores). An unknown key is a
``KeyError``; a value that does not parse as the setting's type is a ``ValueError`` naming
the setting and the environment variable. Modules register their own settings at import time
with :func:`register`; ``critmin settings`` and ``docs/settings.md`` list them all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    source: str = ""  # literature source for the default, where there is one

    @property
    def env_var(self) -> str:
        return "CRITMIN_" + self.name.upper().replace(".", "_").replace("-", "_")


_REGISTRY: dict[str, Setting] = {}


def register(name: str, default: Any, help: str, source: str = "") -> Setting:
    """Register a setting (idempotent for an identical re-registration)."""
    s = Setting(name, default, help, source)
    old = _REGISTRY.get(name)
    if old is not None and old != s:
        raise ValueError(f"setting {name!r} registered twice with different definitions")
    _REGISTRY[name] = s
    return s


def _coerce(s: Setting, raw: str) -> Any:
    d = s.default
    try:
        if isinstance(d, bool):
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if isinstance(d, int):
            return int(raw)
        if isinstance(d, float):
            return float(raw)
        if isinstance(d, (list, tuple)):
            return type(d)(x.strip() for x in raw.split(",") if x.strip())
    except ValueError:
        raise ValueError(
            f"setting {s.name!r}: environment variable {s.env_var}={raw!r} is not a valid "
            f"{type(d).__name__}"
        ) from None
    return raw


def get(name: str, overrides: dict[str, Any] | None = None) -> Any:
    """Value of a setting: explicit override, then environment, then default."""
    if name not in _REGISTRY:
        raise KeyError(f"unknown setting {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    s = _REGISTRY[name]
    if overrides and name in overrides:
        return overrides[name]
    raw = os.environ.get(s.env_var)
    if raw is not None:
        return _coerce(s, raw)
    return s.default


def all_settings() -> list[Setting]:
    return sorted(_REGISTRY.values(), key=lambda s: s.name)


#: modules that register settings at import time (``load_all`` imports them all)
SETTINGS_MODULES = (
    "critmin.brief.params",
    "critmin.data.contained", "critmin.data.crosscheck", "critmin.data.importer", "critmin.data.partners", "critmin.data.supply", "critmin.data.tradefallback", "critmin.risk.chain", "critmin.risk.watchlist", "critmin.web.context", "critmin.data.fetch", "critmin.data.versions", "critmin.disruption.params", "critmin.disruption.refprice", "critmin.geo.distance", "critmin.impact.params", "critmin.incident.params",
    "critmin.markets.config", "critmin.outlook.demand", "critmin.outlook.params", "critmin.outlook.pipeline", "critmin.ops.aio", "critmin.ops.engine", "critmin.projects.api", "critmin.projects.clock", "critmin.projects.costs", "critmin.projects.outlook_value",
    "critmin.projects.scoring", "critmin.projects.selection", "critmin.risk.api", "critmin.risk.consumers",
    "critmin.risk.geopolrisk", "critmin.risk.params", "critmin.risk.vulnerability", "critmin.stockpile.config", "critmin.web.assets",
    "critmin.web.audit", "critmin.web.auth", "critmin.web.jobs", "critmin.web.runs", "critmin.web.security", "critmin.web.tasks", "critmin.web.throttle", "critmin.web.totp",
)


def load_all() -> list[Setting]:
    """Import every module that registers settings and return them all, sorted by name."""
    import importlib

    for m in SETTINGS_MODULES:
        importlib.import_module(m)
    return all_settings()


def settings_markdown() -> str:
    """``docs/settings.md``: every setting with default, environment variable, help, source."""
    out = ["# Settings", "", "Generated from the settings registry (`critmin settings`). Do not edit by hand.",
           "Each can be overridden with its environment variable.", "",
           "| name | default | environment variable | help | source of the default |", "|---|---|---|---|---|"]
    for s in load_all():
        def esc(x: object) -> str:
            return str(x).replace("|", "\\|").replace("\n", " ")
        out.append(f"| `{s.name}` | `{esc(s.default)}` | `{s.env_var}` | {esc(s.help)} | {esc(s.source)} |")
    return "\n".join(out) + "\n"
