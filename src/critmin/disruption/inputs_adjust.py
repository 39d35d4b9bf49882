"""Adjustments of the market inputs (issue 14 §3, §5), used by :mod:`critmin.disruption.inputs`:

* US imports by the form bought (USGS salient imports: ores and concentrates vs oxides, metal,
  compounds) and import shares weighted by it (:func:`by_bought_stage`);
* annual demand growth per commodity from the IEA scenario of ``disruption.demand_scenario``
  (:func:`iea_growth`, :func:`with_demand_growth`).

Details and caveats in ``docs/disruption.md`` (market inputs).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from critmin import settings
from critmin.data.normalize.units import MASS_TO_T
from critmin.disruption import params as _params  # noqa: F401  (registers the disruption settings)
from critmin.disruption.market import CommodityMarket

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

#: salient commodity and variable filter for commodities reported under a group code
SALIENT_ALIAS = {"platinum": ("pgm", "Platinum"), "palladium": ("pgm", "Palladium")}


#: salient import forms standing for ores and concentrates; scrap, waste and articles are not
#: the commodity as first sold (left out); every other form (oxide, metal, unwrought, compounds)
#: is the processing group
_ORE_FORMS = re.compile(r"^Imports_(Ore|Conc|Concentrate|Ore_conc|Mineral|Crude)", re.I)
_NOT_FORMS = re.compile(r"Scrap|Waste|Articles|Value|Total|Gross", re.I)


def imports_by_group(c: pd.DataFrame) -> dict[str, tuple[int, dict[str, float]]]:
    """:attr:`SalientIndex.imports_of` from the 'imports' salient rows."""
    out: dict[str, tuple[int, dict[str, float]]] = {}
    if c.empty:
        return out
    c = c[c["quantity"].notna() & c["unit"].isin(list(MASS_TO_T)) & c["variable"].astype(str).str.startswith("Imports_")]
    c = c[~c["variable"].astype(str).str.contains(_NOT_FORMS)]
    for sal_id, g in c.groupby("sal_id", sort=False):
        y = int(g["year"].max())
        g = g[g["year"] == y].drop_duplicates("variable")
        by: dict[str, float] = {}
        for r in g.itertuples(index=False):
            grp = "extraction" if _ORE_FORMS.match(str(r.variable)) else "processing"
            by[grp] = by.get(grp, 0.0) + float(r.quantity) * MASS_TO_T[str(r.unit)]
        out[str(sal_id)] = (y, by)
    return out


def by_bought_stage(s: pd.Series, group: str, used: pd.DataFrame,
                    imports_of: Mapping[str, tuple[int, dict[str, float]]], cid: str,
                    proxy: pd.Series, meta: dict[str, Any], notes: list[str], c: str) -> pd.Series:
    """Import shares weighted by the stage the consumer buys (issue 14 §5): where the USGS
    salient imports by form (ore and concentrate vs oxide, metal, compounds; latest year) put
    less than half of the consumer's imports in the trade group ``group`` that the BACI shares
    ``s`` describe, the shares are the salient-tonnage-weighted mix of each group's BACI shares,
    and of world production shares (a proxy, its weight in ``meta['proxy_part']``) for a group
    without BACI partner rows. US antimony: 310 t ore, 24,100 t oxide and metal (2024)."""
    sal_id = SALIENT_ALIAS.get(cid, (cid, None))[0]
    got = imports_of.get(sal_id)
    if got is None:
        return s
    y, by = got
    tot = sum(by.values())
    if tot <= 0 or by.get(group, 0.0) >= 0.5 * tot:
        return s
    mix = pd.Series(0.0, index=sorted(set(s.index) | set(proxy.index)))
    parts = []
    proxy_w = 0.0
    for g, t in sorted(by.items()):
        w = t / tot
        if g == group:
            sg = s
        else:
            other = used[(used["stage_group"] == g) & (used["flow"] == "import")]
            sg = other[other["year"] == other["year"].max()].groupby("partner_iso3")["qty_t"].sum() if not other.empty \
                else pd.Series(dtype=float)
            sg = sg[sg > 0]
            if sg.empty:
                sg, proxy_w = proxy[proxy > 0], proxy_w + w
        sg = sg / sg.sum()
        mix = mix.add(sg * w, fill_value=0.0)
        parts.append(f"{g} {t:,.0f} t ({100 * w:.1f} %)")
    meta.update(bought_stage_weights={g: t / tot for g, t in by.items()}, bought_stage_year=y, proxy_part=proxy_w)
    notes.append(f"{c}: USGS salient imports {y} by form: {', '.join(parts)}; BACI shares are for {group} only, "
                 f"so the shares mix each form's sources by tonnage" +
                 (f" ({100 * proxy_w:.1f} % from world production shares: no partner data for that form)"
                  if proxy_w else ""))
    return mix[mix > 0]


def iea_growth(wh: Warehouse) -> dict[str, dict[str, Any]]:
    """Annual demand growth per commodity from the IEA scenario of ``disruption.demand_scenario``:
    ``(D(y1) / D(y0)) ** (1 / (y1 - y0)) - 1`` with D the IEA total demand (t), y0 the observed
    year, y1 the scenario's first projection year (``critmin.data.iea.iea_demand``)."""
    from critmin.data.iea import iea_demand

    scen = str(settings.get("disruption.demand_scenario"))
    if scen.lower() == "none":
        return {}
    d = iea_demand(wh, section="totalDemand", measure="total_demand")
    d = d[d["sector_or_technology"].isna() & d["quantity"].notna() & d["commodity_id"].notna()]
    out: dict[str, dict[str, Any]] = {}
    for cid, g in d.groupby("commodity_id"):
        obs = g[g["scenario"] == "observed"]
        proj = g[g["scenario"] == scen]
        if obs.empty or proj.empty:
            continue
        y0 = int(obs["year"].max())
        proj = proj[proj["year"] > y0]
        if proj.empty:
            continue
        y1 = int(proj["year"].min())
        d0 = float(obs.loc[obs["year"] == y0, "quantity"].iloc[0])
        d1 = float(proj.loc[proj["year"] == y1, "quantity"].iloc[0])
        if d0 > 0 and d1 > 0:
            out[str(cid)] = {"growth": (d1 / d0) ** (1.0 / (y1 - y0)) - 1.0, "source": "IEA", "scenario": scen,
                             "from": [y0, d0], "to": [y1, d1], "vintage": str(g["vintage"].iloc[0]),
                             "mineral": str(g["mineral_raw"].iloc[0])}
    return out


def with_demand_growth(cm: CommodityMarket, growth: Mapping[str, Mapping[str, Any]]) -> CommodityMarket:
    """``cm`` with its IEA demand growth (:func:`iea_growth`), recorded in
    ``provenance['demand_growth']``; without one, the setting applies and the provenance says so."""
    g = growth.get(cm.commodity)
    why = ("no IEA demand for this commodity" if str(settings.get("disruption.demand_scenario")).lower() != "none"
           else "disruption.demand_scenario = none")
    prov = {**cm.provenance,
            "demand_growth": dict(g) if g else {"source": f"setting disruption.demand_growth ({why})"}}
    return replace(cm, demand_growth=None if g is None else float(g["growth"]), provenance=prov)
