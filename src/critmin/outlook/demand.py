"""Demand by technology and scenario to 2040, for the world and for each partner.

World demand (t/yr) of commodity *c* by technology *k* in scenario *s*:

* the six minerals of the IEA ``totalDemand`` section (copper, cobalt, lithium, nickel, graphite,
  magnet rare earths): each clean-technology sector plus ``Other uses``; they add up to the IEA
  ``total_demand`` (checked by the tests against the shared file);
* the other minerals of the IEA (``cleantechByMineral``): clean technologies only; the IEA
  publishes no total for them, so the demand is flagged ``clean_tech_only``;
* plus the curated drivers the IEA leaves out (``data/curated/demand_drivers.csv``: AI and data
  centres, communications, quantum, fusion, space, shipbuilding, defence) where intensity and
  activity are known or given by their ASSUMPTION setting (``outlook.drivers.*``). A driver
  counts only in the years its rows cover (interpolated between them, never extrapolated).

2024 is the IEA's observed year (scenario ``observed``, shared by every scenario); the IEA
publishes 2030, 2035, 2040 (and 2045, 2050); the years between are linear interpolations
(flag ``interpolated``).

**Partner demand (the share method).** The IEA gives no national demand. Partner *k*'s demand
for *c* is ``D_{k,c,t,y} = sigma_{k,c} x D_{world,c,t,y}`` with ``sigma_{k,c} = C_{k,c} / Q_c``:
the partner's consumption ``C`` (the disruption market's consumption, setting
``disruption.consumption_source``) over world production ``Q`` at the market's stage in the
market's year. The share is held constant and applied to every technology (no national
technology split is curated); national curated driver rows (region USA or JPN) are added to
that partner directly instead of through the share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from critmin import settings
from critmin.data.curated.outlook import assumed_fields, assumption_settings, demand_drivers
from critmin.data.iea import iea_demand
from critmin.outlook.gap import interpolate_years

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

SCENARIOS = ("STEPS", "APS", "NZE")
OTHER_USES = "Other uses"
#: the IEA's total minus its sectors and other uses, where they do not add up (copper: the
#: sectors exceed the clean-technology total by 32 kt in 2024); kept so the total is the IEA's
RESIDUAL = "IEA residual (total minus sectors)"

for _, _row in assumption_settings().iterrows():
    settings.register(
        str(_row["setting"]), float(_row["default"]),
        f"Demand driver {_row['driver']} / {_row['commodity_id']}: assumed {_row['field']} ({_row['unit']}); "
        f"NaN = no default, the driver adds nothing until it is set. demand_drivers.csv lines {_row['csv_lines']}.",
        "ASSUMPTION: no public figure (see the note of the rows in src/critmin/data/curated/demand_drivers.csv).",
    )


def check_scenario(scenario: str) -> str:
    s = scenario.upper()
    if s not in SCENARIOS:
        raise ValueError(f"scenario {scenario!r}: expected one of {', '.join(SCENARIOS)}")
    return s


def iea_points(wh: Warehouse, commodity: str, scenario: str) -> tuple[pd.DataFrame, str]:
    """Published IEA points of one commodity and scenario: ``technology, year, demand_t,
    source_ref`` (2024 observed + the scenario's years) and the basis ('total' or
    'clean_tech_only')."""
    s = check_scenario(scenario)
    td = iea_demand(wh, commodity, section="totalDemand")
    basis = "total"
    if td.empty:
        basis = "clean_tech_only"
        for section in ("cleantechByTech", "byTechnology"):  # clean-technology demand by technology
            td = iea_demand(wh, commodity, section=section)
            if not td["element"].isna().all():
                td = td[td["element"].isna()] if td["element"].isna().any() else td  # elements only: their sum
            if not td[td["measure"] == "clean_tech"].empty:
                break
    td = td[td["scenario"].isin(["observed", s])]
    clean = td[td["measure"] == "clean_tech"].assign(technology=lambda d: d["sector_or_technology"])
    other = td[td["measure"] == "other_uses"].assign(technology=OTHER_USES)
    pts = pd.concat([clean, other], ignore_index=True)
    if pts.empty:
        raise LookupError(f"{commodity}: no IEA demand in the warehouse (run `critmin data import`)")
    out = (pts.groupby(["technology", "year"], as_index=False)
           .agg(demand_t=("quantity", "sum"), source_ref=("source_ref", lambda r: "; ".join(sorted(set(r))))))
    if basis == "total":
        tot = td[td["measure"] == "total_demand"].set_index("year")
    else:  # the IEA's clean-technology total of the mineral (its by-technology rows may not add up to it)
        cm = iea_demand(wh, commodity, section="cleantechByMineral")
        cm = cm[(cm["measure"] == "total_clean") & cm["scenario"].isin(["observed", s])]
        cm = cm[cm["element"].isna()] if cm["element"].isna().any() else cm.groupby(["year"], as_index=False).agg(
            quantity=("quantity", "sum"), source_ref=("source_ref", lambda r: "; ".join(sorted(set(r)))))
        tot = cm.set_index("year")
    if not tot.empty:
        parts = out.groupby("year")["demand_t"].sum()
        res = [{"technology": RESIDUAL, "year": int(y),
                "demand_t": float(tot.at[y, "quantity"] - parts[y]) if y in tot.index else 0.0,
                "source_ref": f"{tot.at[y, 'source_ref']} minus the sectors and other uses" if y in tot.index
                else "no IEA total this year: no residual"}
               for y in parts.index]
        if any(abs(float(str(r["demand_t"]))) > 1e-6 for r in res):  # t; IEA rounding leaves up to ~2 t
            out = pd.concat([out, pd.DataFrame(res)], ignore_index=True)
    return out, basis


@dataclass(frozen=True)
class DemandPath:
    """Annual demand of one commodity, scenario and region by technology (t/yr)."""

    commodity_id: str
    scenario: str
    region: str
    years: np.ndarray
    by_technology: dict[str, np.ndarray]
    basis: str
    sources: dict[str, str]
    flags: tuple[str, ...] = ()
    share: float | None = None
    share_note: str = ""
    drivers: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total(self) -> np.ndarray:
        return np.sum(list(self.by_technology.values()), axis=0) if self.by_technology else np.zeros(len(self.years))

    def records(self) -> list[dict[str, object]]:
        return [{"commodity": self.commodity_id, "scenario": self.scenario, "region": self.region, "technology": t,
                 "year": int(y), "demand_t": float(v), "source": self.sources.get(t, "")}
                for t, vals in self.by_technology.items() for y, v in zip(self.years, vals, strict=True)]


def _driver_paths(commodity: str, region: str, years: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, str], list[str]]:
    df = demand_drivers()
    df = df[(df["commodity_id"] == commodity) & (df["region"] == region)]
    paths: dict[str, np.ndarray] = {}
    sources: dict[str, str] = {}
    notes: list[str] = []
    for (driver, unit), g in df.groupby(["driver", "intensity_unit"]):
        vals: dict[int, float] = {}
        for line, r in g.iterrows():
            inten, act = float(r["intensity"]), float(r["activity"])
            names = [s for s in str(r["setting"]).split(";") if s]
            for name, f in zip(names, assumed_fields(str(r["note"])), strict=True):
                v = float(settings.get(name))
                if f == "intensity":
                    inten = v
                else:
                    act = v
            if math.isfinite(inten) and math.isfinite(act):
                vals[int(r["activity_year"])] = vals.get(int(r["activity_year"]), 0.0) + inten * act
            else:
                notes.append(f"{driver} ({unit}) {r['activity_year']}: not counted, intensity or activity unknown "
                             f"(demand_drivers.csv line {line}; settings {', '.join(names)})")
        if not vals:
            continue
        ys = sorted(vals)
        inside = (years >= ys[0]) & (years <= ys[-1])
        path = np.zeros(len(years))
        if inside.any():
            path[inside] = interpolate_years(ys, [vals[y] for y in ys], years[inside])
        if (~inside).any():
            notes.append(f"{driver} ({unit}): rows cover {ys[0]}-{ys[-1]}; nothing counted outside")
        key = f"driver:{driver}"
        paths[key] = paths.get(key, np.zeros(len(years))) + path
        sources[key] = f"demand_drivers.csv lines {', '.join(str(i) for i in g.index)}"
    return paths, sources, notes


def world_demand(wh: Warehouse, commodity: str, scenario: str, years: np.ndarray, *,
                 drivers: bool = True) -> DemandPath:
    """World demand by technology in ``years`` (see the module docstring)."""
    s = check_scenario(scenario)
    pts, basis = iea_points(wh, commodity, s)
    by: dict[str, np.ndarray] = {}
    src: dict[str, str] = {}
    for tech, g in pts.groupby("technology"):
        g = g.sort_values("year")
        by[str(tech)] = interpolate_years(g["year"].tolist(), g["demand_t"].tolist(), years)
        src[str(tech)] = "IEA Critical Minerals Data Explorer 2025: " + "; ".join(g["source_ref"])
    flags = [basis] if basis != "total" else []
    published = set(pts["year"])
    if any(int(y) not in published for y in years):
        flags.append("interpolated")
    notes: list[str] = []
    if drivers:
        dp, ds, notes = _driver_paths(commodity, "WORLD", years)
        by.update(dp)
        src.update(ds)
    return DemandPath(commodity, s, "WORLD", years, by, basis, src, tuple(flags), drivers=tuple(notes))


def partner_demand(world: DemandPath, partner: str, share: float, share_note: str, *, drivers: bool = True) -> DemandPath:
    """``sigma x`` world demand by technology, plus the partner's national driver rows."""
    if not (0.0 <= share <= 1.0 and math.isfinite(share)):
        raise ValueError(f"{partner} share of world {world.commodity_id} demand: expected a fraction in [0, 1], got {share}")
    by = {t: share * v for t, v in world.by_technology.items()}
    src = {t: f"{share:.4f} x world ({s})" for t, s in world.sources.items()}
    notes: list[str] = []
    if drivers:
        dp, ds, notes = _driver_paths(world.commodity_id, partner, world.years)
        for k, v in dp.items():
            by[k] = by.get(k, np.zeros(len(world.years))) + v
            src[k] = ds[k] + f" (national rows, region {partner})"
    return DemandPath(world.commodity_id, world.scenario, partner, world.years, by, world.basis, src,
                      world.flags, share, share_note, tuple(notes))


__all__ = ["OTHER_USES", "RESIDUAL", "SCENARIOS", "DemandPath", "check_scenario", "iea_points", "partner_demand", "world_demand"]
