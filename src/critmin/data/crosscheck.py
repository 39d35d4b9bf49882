"""Cross-check of the two independent production sources: USGS MCS and World Mining Data.

For each commodity, stage group, country and year present in both, the relative difference
``(WMD − USGS) / USGS`` is computed; pairs beyond the tolerance (10 % by default) are listed.

Bases differ between the sources for some minerals. Where the WMD series is an oxide of an
element USGS reports as contained metal, the WMD value is converted with the stoichiometric
mass fraction (Li₂O → Li 0.4646, Nb₂O₅ → Nb 0.6990, Ta₂O₅ → Ta 0.8190; from atomic masses,
IUPAC 2021). Where no exact conversion exists (e.g. WMD Cr₂O₃ content vs USGS gross chromite
ore), the pair is reported with ``comparable = False`` and kept out of the disagreement list.
When USGS gives several products at the same stage (e.g. iron ore: usable ore and iron
content), the one whose country total is closest to the WMD total is compared, and named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from critmin import settings

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

settings.register("crosscheck.tolerance", 0.10, "Relative difference above which USGS and WMD disagree.",
                  "critmin issue 2: 'list where the two disagree by more than 10%'")

#: WMD table -> factor converting the WMD value to the USGS basis
OXIDE_TO_ELEMENT = {"Lithium (Li2O)": 0.4646, "Niobium (Nb2O5)": 0.6990, "Tantalum (Ta2O5)": 0.8190}
#: WMD tables whose basis has no exact conversion to the USGS series
NOT_COMPARABLE = {"Chromium (Cr2O3)", "Phosphate Rock (P2O5)", "Iron (Fe)", "Bauxite", "Magnesite", "Boron Minerals",
                  "Beryllium (conc.)", "Zircon", "Titanium (TiO2)", "Diamonds (Gem)", "Diamonds (Ind)"}


def calc_crosscheck(usgs: pd.DataFrame, wmd: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """Pair USGS and WMD country rows and compute relative differences.

    Both frames have the columns of ``Warehouse.production`` (countries only, plain numbers).
    Returns one row per pair with ``usgs_t, wmd_t, wmd_converted_t, rel_diff, comparable,
    disagrees`` and both sides' provenance.
    """
    keys = ["commodity_id", "stage_group", "country_iso3", "year"]
    u = usgs[usgs["aggregate"].isna() & usgs["quantity"].notna()]
    w = wmd[wmd["aggregate"].isna() & wmd["quantity"].notna()]
    if u.empty or w.empty:
        return pd.DataFrame()
    # choose, per commodity/stage/year, the USGS product closest in total to WMD
    wt = w.groupby(["commodity_id", "stage_group", "year"])["quantity"].sum().rename("wmd_total")
    ut = u.groupby(["commodity_id", "stage_group", "year", "product"])["quantity"].sum().rename("usgs_total").reset_index()
    ut = ut.join(wt, on=["commodity_id", "stage_group", "year"])
    ut["gap"] = (np.log(ut["usgs_total"].clip(lower=1e-9)) - np.log(ut["wmd_total"].clip(lower=1e-9))).abs()
    best = ut.sort_values("gap").drop_duplicates(["commodity_id", "stage_group", "year"])[["commodity_id", "stage_group", "year", "product"]]
    u = u.merge(best, on=["commodity_id", "stage_group", "year", "product"])
    m = u.merge(w, on=keys, suffixes=("_usgs", "_wmd"))
    m["factor"] = m["product_wmd"].map(OXIDE_TO_ELEMENT).fillna(1.0)
    m["comparable"] = ~m["product_wmd"].isin(NOT_COMPARABLE) & (m["unit_usgs"] == m["unit_wmd"])
    m["usgs_t"] = m["quantity_usgs"]
    m["wmd_t"] = m["quantity_wmd"]
    m["wmd_converted_t"] = m["quantity_wmd"] * m["factor"]
    m["rel_diff"] = (m["wmd_converted_t"] - m["usgs_t"]) / m["usgs_t"].where(m["usgs_t"] != 0)
    m["disagrees"] = m["comparable"] & (m["rel_diff"].abs() > tolerance)
    cols = keys + ["product_usgs", "product_wmd", "unit_usgs", "usgs_t", "wmd_t", "factor", "wmd_converted_t", "rel_diff",
                   "comparable", "disagrees", "dataset_id_usgs", "source_line_usgs", "dataset_id_wmd", "source_line_wmd"]
    return m[cols].sort_values(["disagrees", "commodity_id", "year", "country_iso3"], ascending=[False, True, True, True]).reset_index(drop=True)


def crosscheck(wh: Warehouse, year: int | None = None, tolerance: float | None = None) -> pd.DataFrame:
    """USGS vs WMD for every commodity both sources cover (two warehouse queries in all)."""
    tol = settings.get("crosscheck.tolerance") if tolerance is None else tolerance
    u = wh.production(None, year=year, source="USGS", include_aggregates=False)
    w = wh.production(None, year=year, source="WMD", include_aggregates=False)
    return calc_crosscheck(u, w, tol)
