"""World reference prices for below-market export pricing, and the detector itself.

The curated table ``markets/data/reference_prices.csv`` says, per commodity and HS code,
which warehouse price series is the world reference, its unit (``reference_unit``; converted to
USD/kg with the one unit table, :mod:`critmin.markets.priceunits`), how to express it per kg of
the traded product (``content_factor`` for metal content) and how comparable the two are (good /
fair / poor, with the reason). Only pairs listed there are
tested: an HS code without a comparable reference is not tested rather than compared with an
unrelated price.

Signal (per flow and period): ``ratio = uv / (reference * content_factor)``; flagged when
``ratio <= markets.below_market_ratio``. For monthly flows against an annual reference the
statistic is a one-sided Wilcoxon signed-rank test (Wilcoxon 1945) that the monthly
``ln(uv / ref)`` lie below ``ln(markets.below_market_ratio)``; annual flows have one
observation per year, so the ratio is the statistic and no p-value is reported.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from critmin import settings
from critmin.markets import config as _config  # noqa: F401
from critmin.markets.priceunits import is_convertible
from critmin.markets.signals import SIGNAL_COLUMNS
from critmin.markets.unitvalues import calc_unit_value

REFERENCE_PATH = Path(__file__).resolve().parent / "data" / "reference_prices.csv"


def load_reference_table(path: Path | str | None = None) -> pd.DataFrame:
    p = Path(path) if path else REFERENCE_PATH
    df = pd.read_csv(p, dtype={"hs_code": str})
    need = {"commodity_id", "hs_code", "reference_kind", "reference_series", "reference_unit", "content_factor"}
    if missing := need - set(df.columns):
        raise ValueError(f"{p}: missing columns {sorted(missing)}")
    bad = ~df["reference_kind"].isin(["us_salient", "price"])
    if bad.any():
        i = int(bad.idxmax())
        raise ValueError(f"{p}, line {i + 2}, column 'reference_kind': {df.at[i, 'reference_kind']!r}; expected us_salient or price")
    bad = ~df["reference_unit"].astype(str).map(is_convertible)
    if bad.any():
        i = int(bad.idxmax())
        raise ValueError(f"{p}, line {i + 2}, column 'reference_unit': {df.at[i, 'reference_unit']!r}; expected a "
                         "price unit of critmin.data.normalize.units.PRICE_TO_USD_PER_T")
    return df


def below_market(
    flows: pd.DataFrame, references: dict[tuple[str, str], pd.DataFrame], table: pd.DataFrame
) -> pd.DataFrame:
    """Below-market export pricing signals (module docstring).

    ``flows``: trade rows in exporter view with ``period`` and ``uv_usd_per_kg``
    (:func:`critmin.markets.unitvalues.unit_values`). ``references[(commodity_id, hs_code)]``:
    reference price frame with ``date`` (Timestamp), ``frequency`` ('A'/'M'), ``usd_per_kg``
    (already converted, content factor applied), ``dataset_id``, ``source_line``.
    """
    thr = float(settings.get("markets.below_market_ratio"))
    alpha = float(settings.get("markets.alpha"))
    out = []
    for _, ref_row in table.iterrows():
        key = (ref_row["commodity_id"], str(ref_row["hs_code"]))
        ref = references.get(key)
        if ref is None or ref.empty:
            continue
        f = flows[(flows["hs_code"].astype(str) == key[1]) & flows["uv_usd_per_kg"].notna()]
        if f.empty:
            continue
        annual_ref = ref["frequency"].iloc[0] == "A"
        ref_by = ref.assign(y=ref["date"].dt.year, m=ref["date"].dt.month)
        f = f.assign(reported_by=f["reported_by"].fillna("") if "reported_by" in f else "")
        grp_cols = ["source", "reported_by", "exporter_iso3", "importer_iso3", "year"]
        for (source, rep, exp, imp, year), g in f.groupby(grp_cols, sort=True):
            if annual_ref:
                r = ref_by[ref_by["y"] == year]
                if r.empty:
                    continue
                refv = np.full(len(g), float(r["usd_per_kg"].iloc[0]))
                ref_rows = [[int(r["dataset_id"].iloc[0]), int(r["source_line"].iloc[0])]]
            else:
                if g["month"].isna().any():
                    r = ref_by[ref_by["y"] == year]
                    if len(r) < 12:
                        continue
                    refv = np.full(len(g), float(r["usd_per_kg"].mean()))
                else:
                    r = ref_by[(ref_by["y"] == year) & ref_by["m"].isin(g["month"].astype(int))]
                    if len(r) != len(g):
                        continue
                    refv = r.set_index("m").loc[g["month"].astype(int), "usd_per_kg"].to_numpy()
                ref_rows = [[int(a), int(b)] for a, b in zip(r["dataset_id"], r["source_line"], strict=True)]
            uv = calc_unit_value(g["value_usd"].sum(), g["qty_t"].sum(), 0.0)
            ratio = float(uv / np.average(refv, weights=g["qty_t"]))
            lr = np.log(g["uv_usd_per_kg"].to_numpy() / refv)
            if len(g) >= 6:
                res = stats.wilcoxon(lr - math.log(thr), alternative="less")
                stat, p, name = float(res.statistic), float(res.pvalue), "wilcoxon_signed_rank"
                flagged = ratio <= thr and p < alpha
            else:
                stat, p, name = ratio, math.nan, "ratio_uv_to_reference"
                flagged = ratio <= thr
            rows = [[int(a), int(b)] for a, b in zip(g["dataset_id"], g["source_line"], strict=True)]
            out.append({
                "signal_id": f"below_market:{source}:{rep}:{exp}>{imp}:{key[1]}:{key[0]}:{year}",
                "kind": "below_market", "source": source, "commodity_id": key[0],
                "exporter_iso3": exp, "importer_iso3": imp, "hs_code": key[1],
                "window_start": f"{year}-01" if g["month"].notna().all() else str(year),
                "window_end": f"{year}-12" if g["month"].notna().all() else str(year),
                "statistic_name": name, "statistic": stat, "p_value": p,
                "effect_name": "ratio_uv_to_reference", "effect": ratio,
                "threshold": {"ratio": thr, "alpha": alpha}, "direction": "below" if ratio < 1 else "above",
                "flagged": bool(flagged), "event_id": None,
                "description": (
                    f"{exp}->{imp} HS {key[1]} ({source}, reported by {rep or '?'}) {year}: unit value {uv:,.2f} USD/kg vs "
                    f"reference {ref_row['reference_series']} {np.average(refv, weights=g['qty_t']):,.2f} "
                    f"USD/kg (ratio {ratio:.2f}; comparability {ref_row.get('comparability', '?')})"
                ),
                "evidence": {
                    "uv_usd_per_kg": {str(pp): float(v) for pp, v in zip(g["period"], g["uv_usd_per_kg"], strict=True)},
                    "value_usd": float(g["value_usd"].sum()), "qty_t": float(g["qty_t"].sum()),
                    "reference_series": ref_row["reference_series"], "reference_usd_per_kg": [float(v) for v in refv],
                    "reference_rows": ref_rows, "content_factor": float(ref_row["content_factor"]),
                    "comparability": ref_row.get("comparability"), "rationale": ref_row.get("rationale"),
                },
                "rows": rows,
            })  # fmt: skip
    return pd.DataFrame(out, columns=SIGNAL_COLUMNS) if out else pd.DataFrame(columns=SIGNAL_COLUMNS)
