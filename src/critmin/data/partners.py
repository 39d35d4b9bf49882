"""The partners critmin serves, and which source answers each partner's questions.

One setting, ``risk.consumers``, names the partners (the US and Japan under the framework of
28 October 2025); no other module spells the pair out. Where a partner's figure comes from a
national source rather than from trade data, that is data too: ``risk.nir_source`` and
``disruption.consumption_source`` map a partner to a source, so no module tests
``consumer == "USA"``.
"""

from __future__ import annotations

from critmin import settings

CONSUMERS = settings.register(
    "risk.consumers",
    ("USA", "JPN"),
    "Default consumer countries of the assessment.",
    "US-Japan critical-minerals framework, 2025-10-28.",
)
NIR_SOURCE = settings.register(
    "risk.nir_source",
    ("USA=USGS_MCS",),
    "Source of a consumer's net import reliance (ISO3=SOURCE): USGS_MCS = the published MCS "
    "salient/T5 figure; consumers not listed: computed from trade (BACI) and own production.",
    "USGS Mineral Commodity Summaries publish US net import reliance; no national equivalent is "
    "in the warehouse for other partners.",
)
CONSUMPTION_SOURCE = settings.register(
    "disruption.consumption_source",
    ("USA=USGS_MCS",),
    "Source of a consumer's consumption in the disruption market (ISO3=SOURCE): USGS_MCS = MCS "
    "salient apparent consumption; consumers not listed: trade net imports plus own production.",
    "USGS MCS salient statistics give US apparent consumption; other partners have no such "
    "series in the warehouse.",
)

#: the source codes the two mappings know
NATIONAL_SOURCES = ("USGS_MCS",)
TRADE = "trade"


def partners() -> tuple[str, ...]:
    """The partners (ISO3), from ``risk.consumers``."""
    return tuple(str(c) for c in settings.get("risk.consumers"))


def _mapping(name: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in settings.get(name):
        key, sep, val = str(item).partition("=")
        if not sep or not key.strip() or val.strip() not in NATIONAL_SOURCES:
            raise ValueError(f"setting {name}: {item!r}; expected ISO3=SOURCE with SOURCE one of {NATIONAL_SOURCES}")
        out[key.strip().upper()] = val.strip()
    return out


def nir_source(consumer: str) -> str:
    """'USGS_MCS' where ``risk.nir_source`` names the consumer, else 'trade'."""
    return _mapping("risk.nir_source").get(consumer, TRADE)


def consumption_source(consumer: str) -> str:
    """'USGS_MCS' where ``disruption.consumption_source`` names the consumer, else 'trade'."""
    return _mapping("disruption.consumption_source").get(consumer, TRADE)
