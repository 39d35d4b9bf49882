"""The supply pipeline: the IEA base case by country and stage, plus the registry's projects.

* **Base case.** The IEA Critical Minerals Data Explorer (May 2025) gives supply by country for
  2024 (observed) and its base case for 2030, 2035 and 2040, at two stages: ``mine`` and
  ``processing`` (the IEA's refining). Years between are linear interpolations. ``Rest of
  world`` is supply the IEA does not attribute to a country: it counts in the world total but
  never as secure supply (its hosts are unknown), flagged ``unattributed``.
* **Projects.** A registry project adds its capacity (t/yr of the product its
  ``capacity_product`` fact names) at its outlook stage from its first production year on, with
  probability ``outlook.probability.<development stage>`` of reaching production
  (:mod:`critmin.outlook.params`). Value-chain stage -> outlook stage: mine -> ``mine``;
  separation, refining, metal and recycling -> ``processing`` (recycled output replaces refined
  supply); magnet -> none (the IEA has no magnet stage; see :func:`pipeline_projects`).
  A project in production since the base year or earlier is already in the IEA figures and is
  not added again (reason ``in the base case``).
* **Whose supply.** :func:`critmin.outlook.gap.calc_secure_claim`: domestic counts fully, an
  allied host in proportion to the scope's share of world demand, a non-allied host not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from critmin import settings
from critmin.data.iea import iea_supply
from critmin.outlook import params
from critmin.outlook.gap import calc_secure_claim, interpolate_years
from critmin.projects.facts import stages_of
from critmin.projects.models import Project

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

#: outlook stage -> IEA stage
IEA_STAGE = {"mine": "mine", "processing": "refinery"}
STAGES = tuple(IEA_STAGE)
#: value-chain stage (projects/facts.py) -> outlook stage (None: no outlook at that stage)
OUTLOOK_STAGE: dict[str, str | None] = {"mine": "mine", "separation": "processing", "refining": "processing",
                                        "metal": "processing", "recycling": "processing", "magnet": None}
UNATTRIBUTED = "unattributed"
BASE_YEAR = 2024

settings.register(
    "outlook.content.treo_to_magnet_reo", 0.264,
    "Tonnes of magnet rare-earth oxide (Nd+Pr+Dy+Tb, the IEA's basis) per tonne of total rare-earth oxide, for a "
    "project whose capacity is total REO.",
    "ASSUMPTION: one deposit's figure used for all: Arafura, Nolans Bore resource 'NdPr enrichment' 26.4 % of TREO, "
    "https://www.arultd.com/projects/nolans/ (as of 2017-06-07).",
)
settings.register(
    "outlook.pipeline.in_iea_base_case", [],
    "Development stages whose registry projects are taken as already counted in the IEA base case (not added "
    "again), e.g. construction. Projects producing since the base year are always taken as counted.",
    "IEA Global Critical Minerals Outlook 2025: the base case includes projects under development by their likelihood, "
    "without listing them; default: none (the registry adds every project not yet producing; may double count).",
)
#: (words in the capacity product, t of IEA content per t of product, basis)
_CONTENT = (
    ("spodumene concentrate", 0.06 * 2 * 6.94 / 29.88 * 0.90718,
     "SC6 spodumene concentrate: 6 % Li2O x 2 x 6.94/29.88 g Li per g Li2O, short tons x 0.90718 (stoichiometry; "
     "the 6 % grade is the industry standard SC6, an ASSUMPTION for this project)"),
    ("lithium carbonate", 2 * 6.94 / 73.89, "Li2CO3: 2 x 6.94/73.89 t Li per t (stoichiometry)"),
    ("Li2CO3", 2 * 6.94 / 73.89, "Li2CO3: 2 x 6.94/73.89 t Li per t (stoichiometry)"),
    ("carbonate-equivalent basis not stated", 2 * 6.94 / 73.89,
     "ASSUMPTION: taken as lithium carbonate (2 x 6.94/73.89 t Li per t); the source does not state the basis"),
    ("total REO", None, "setting outlook.content.treo_to_magnet_reo"),
    ("TREO", None, "setting outlook.content.treo_to_magnet_reo"),
)


def content_factor(commodity: str, capacity_product: str) -> tuple[float, str]:
    """t of the IEA's content basis (Li content, magnet REO, ...) per t of the project's product;
    1 with the reason where the product is already on that basis or its basis is not stated."""
    for words, f, basis in _CONTENT:
        if words.lower() in capacity_product.lower():
            if f is None:
                return float(settings.get("outlook.content.treo_to_magnet_reo")), basis
            return f, basis
    if not capacity_product:
        return 1.0, "capacity product not stated: taken on the IEA's content basis (flag)"
    return 1.0, f"'{capacity_product}' taken on the IEA's content basis for {commodity}"


def check_stage(stage: str) -> str:
    s = {"refinery": "processing", "refining": "processing", "extraction": "mine"}.get(stage, stage)
    if s not in IEA_STAGE:
        raise ValueError(f"stage {stage!r}: expected one of {', '.join(STAGES)}")
    return s


@dataclass(frozen=True)
class BaseSupply:
    """IEA supply of one commodity at one stage by country (ISO3, or ``unattributed``), t/yr."""

    commodity_id: str
    stage: str
    years: np.ndarray
    by_country: dict[str, np.ndarray]
    world: np.ndarray
    product: str
    sources: dict[str, str] = field(default_factory=dict)
    flags: tuple[str, ...] = ()

    def secure(self, scope: tuple[str, ...], allied: frozenset[str], share: np.ndarray) -> np.ndarray:
        """Secure supply of ``scope`` (``()`` = the world: all supply)."""
        if not scope:
            return self.world.copy()
        out = np.zeros(len(self.years))
        for iso, q in self.by_country.items():
            if iso == UNATTRIBUTED:
                continue
            out += q * np.array([calc_secure_claim(iso, scope, allied, float(s)) for s in share])
        return out


def base_supply(wh: Warehouse, commodity: str, stage: str, years: np.ndarray) -> BaseSupply:
    """The IEA base case of one commodity at one stage in ``years`` (2024..2040)."""
    st = check_stage(stage)
    df = iea_supply(wh, commodity, stage=IEA_STAGE[st])
    if df.empty:
        raise LookupError(f"{commodity} {st}: no IEA supply outlook (the IEA covers copper, cobalt, lithium, nickel, "
                          "graphite and magnet rare earths)")
    by: dict[str, np.ndarray] = {}
    src: dict[str, str] = {}
    world = None
    for key, g in df.groupby(df["country_iso3"].fillna(df["aggregate"]), dropna=False):
        g = g.sort_values("year")
        path = interpolate_years(g["year"].astype(int).tolist(), g["quantity"].astype(float).tolist(), years)
        name = str(key)
        if name == "world":
            world = path
            src["world"] = "; ".join(g["source_ref"].astype(str))
            continue
        if name == "other":
            name = UNATTRIBUTED
        by[name] = by.get(name, np.zeros(len(years))) + path
        src[name] = "; ".join(g["source_ref"].astype(str))
    if world is None:
        raise LookupError(f"{commodity} {st}: the IEA rows have no world total")
    flags = ["interpolated"] if any(int(y) not in set(df["year"]) for y in years) else []
    if UNATTRIBUTED in by:
        flags.append(UNATTRIBUTED)
    return BaseSupply(commodity, st, years, by, world, str(df["product"].iloc[0]), src, tuple(flags))


@dataclass(frozen=True)
class PipelineProject:
    project_id: str
    commodity_id: str
    stage: str
    host_iso3: str
    capacity_t: float
    start_year: int
    probability: float
    development_stage: str
    value_chain_stage: str
    capacity_product: str
    basis: str
    content_note: str = ""

    def online(self, years: np.ndarray) -> np.ndarray:
        return (years >= self.start_year).astype(float) * self.capacity_t


def pipeline_projects(projects: Sequence[Project], overrides: dict[str, object] | None = None,
                      ) -> tuple[list[PipelineProject], list[dict[str, str]]]:
    """The projects that add supply to the outlook, and each other project with what it lacks."""
    out: list[PipelineProject] = []
    left: list[dict[str, str]] = []
    in_base = set(settings.get("outlook.pipeline.in_iea_base_case", overrides))
    for p in projects:
        st = stages_of(p)
        ostage = OUTLOOK_STAGE[st.value_chain_stage]
        lacks = []
        if ostage is None:
            lacks.append(f"value-chain stage {st.value_chain_stage}: the IEA outlook has no {st.value_chain_stage} stage")
        if p.capacity_tpy is None:
            lacks.append("capacity_tpy not stated in the sources")
        if p.first_production_year is None:
            lacks.append("first_production_year not stated in the sources")
        if lacks:
            left.append({"project": p.id, "reason": "; ".join(lacks)})
            continue
        assert ostage is not None and p.capacity_tpy is not None and p.first_production_year is not None
        if st.development_stage == "production" and p.first_production_year <= BASE_YEAR:
            left.append({"project": p.id, "reason": f"in the base case: producing since {p.first_production_year}, "
                                                    f"already in the IEA {BASE_YEAR} figures"})
            continue
        if st.development_stage in in_base:
            left.append({"project": p.id, "reason": f"in the base case: development stage {st.development_stage} is "
                                                    "taken as counted by the IEA (setting outlook.pipeline.in_iea_base_case)"})
            continue
        factor, note = content_factor(p.commodity_id, st.capacity_product)
        out.append(PipelineProject(p.id, p.commodity_id, ostage, p.host_country_iso3, float(p.capacity_tpy) * factor,
                                   int(p.first_production_year), params.probability(st.development_stage, overrides),
                                   st.development_stage, st.value_chain_stage, st.capacity_product, st.basis,
                                   f"capacity {p.capacity_tpy:g} t x {factor:.4g} ({note})"))
    return out, left


def contributions(pp: Sequence[PipelineProject], years: np.ndarray, scope: tuple[str, ...],
                  allied: frozenset[str], share: np.ndarray) -> np.ndarray:
    """``c[p, y]``: what each project adds to the scope's secure supply (t/yr)."""
    c = np.zeros((len(pp), len(years)))
    for i, p in enumerate(pp):
        claim = np.array([calc_secure_claim(p.host_iso3, scope, allied, float(s)) for s in share])
        c[i] = p.online(years) * claim
    return c


__all__ = ["IEA_STAGE", "OUTLOOK_STAGE", "STAGES", "UNATTRIBUTED", "BaseSupply", "PipelineProject", "base_supply",
           "check_stage", "content_factor", "contributions", "pipeline_projects"]
