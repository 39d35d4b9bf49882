"""Signals of unfair trade practices and market disruption, each with its evidence.

Four detectors, all pure functions over frames of monthly trade series
(:func:`critmin.markets.unitvalues.monthly_series`):

* :func:`event_volume_tests` - volume collapse/surge around known policy dates (event table):
  ratio of mean monthly quantity in ``[effective, effective + post)`` to the baseline
  ``[announced - pre, announced)``, Mann-Whitney U test (Mann & Whitney 1947) on the monthly
  quantities; flagged when the ratio is <= 1/R or >= R and p < alpha.
* :func:`structural_breaks` - changes in mean of ``ln(1 + qty_t)`` found by PELT
  (``ruptures``; Killick, Fearnhead & Eckley 2012) with an MBIC penalty.
* :func:`price_discrimination` - one exporter, one product, one year: ratio of the highest to
  the lowest destination unit value (annual, value-weighted) and a Kruskal-Wallis test
  (Kruskal & Wallis 1952) on monthly log unit values across destinations.
* :func:`below_market` - export unit value against a world reference price
  (:mod:`critmin.markets.reference`).

Every signal row has ``evidence`` (a JSON-able dict with the series values used) and
``rows`` (the ``[dataset_id, source_line]`` pairs of the warehouse rows behind it), so the
statistic can be recomputed from the stored rows. Within a series' span a month without a row
counts as zero trade (Comtrade publishes no row for a zero flow); the zero-filled months are
listed in the evidence.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from critmin import settings
from critmin.markets import config as _config  # noqa: F401
from critmin.markets.unitvalues import SERIES_KEY, calc_unit_value

SIGNAL_COLUMNS = [
    "signal_id", "kind", "source", "commodity_id", "exporter_iso3", "importer_iso3", "hs_code",
    "window_start", "window_end", "statistic_name", "statistic", "p_value", "effect_name",
    "effect", "threshold", "direction", "flagged", "event_id", "description", "evidence", "rows",
]  # fmt: skip

ALL_PARTNERS = "*"


def _month(ts: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(year=ts.year, month=ts.month, day=1)


def _iso_m(ts: pd.Timestamp) -> str:
    return f"{ts.year:04d}-{ts.month:02d}"


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=SIGNAL_COLUMNS)


def add_partner_totals(monthly: pd.DataFrame) -> pd.DataFrame:
    """Append, per exporter and product, the sum over the partners in the extract
    (``importer_iso3 = '*'``: all partners listed, not necessarily the world)."""
    if monthly.empty:
        return monthly
    key = ["source", "exporter_iso3", "hs_code", "commodity_id", "date"]
    tot = (
        monthly[monthly["importer_iso3"] != ALL_PARTNERS]
        .groupby(key, sort=True)
        .agg(
            value_usd=("value_usd", lambda s: s.sum(min_count=1)),
            qty_t=("qty_t", lambda s: s.sum(min_count=1)),
            rows=("rows", lambda s: [r for rows in s for r in rows]),
        )
        .reset_index()
    )
    tot["importer_iso3"] = ALL_PARTNERS
    return pd.concat([monthly, tot[monthly.columns]], ignore_index=True)


def fill_series(g: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """One series' months from its first to its last month, missing months as zero trade.
    Returns the filled frame (indexed by month) and the ISO months that were filled."""
    g = g.set_index("date").sort_index()
    idx = pd.date_range(g.index.min(), g.index.max(), freq="MS")
    filled = [_iso_m(d) for d in idx.difference(g.index)]
    g = g.reindex(idx)
    g["value_usd"] = g["value_usd"].fillna(0.0)
    g["qty_t"] = g["qty_t"].fillna(0.0)
    g["rows"] = [r if isinstance(r, list) else [] for r in g["rows"]]
    return g, filled


def calc_volume_change(pre: np.ndarray, post: np.ndarray) -> dict:
    """Ratio of means ``mean(post)/mean(pre)`` and a two-sided Mann-Whitney U test of
    ``post`` against ``pre`` (scipy; exact p for small samples without ties)."""
    pre = np.asarray(pre, dtype=float)
    post = np.asarray(post, dtype=float)
    if pre.mean() <= 0:
        return {"ratio": math.nan, "U": math.nan, "p": math.nan, "note": "not computable: zero baseline"}
    res = stats.mannwhitneyu(post, pre, alternative="two-sided")
    return {"ratio": float(post.mean() / pre.mean()), "U": float(res.statistic), "p": float(res.pvalue)}


def _event_matches(series_commodities: set[str], event: pd.Series) -> bool:
    return event["commodity_id"] in series_commodities


def event_volume_tests(
    monthly: pd.DataFrame,
    events: pd.DataFrame,
    commodities_of: dict[tuple[str, str, str], set[str]] | None = None,
) -> pd.DataFrame:
    """Test every (event, matching series) pair; return all tests with ``flagged``.

    A series matches an event when its exporter is the event's country, its commodity (or one
    of ``commodities_of[(source, hs_code, commodity_id)]`` for a product group covering
    several commodities) is the event's, and its importer is a target (or the event targets
    ALL, or the series is the partner total). Tests whose windows the series does not cover
    are returned with ``flagged=False`` and a 'not computable' description.
    """
    pre_n = int(settings.get("markets.event_pre_months"))
    post_n = int(settings.get("markets.event_post_months"))
    r_thr = float(settings.get("markets.volume_change_ratio"))
    alpha = float(settings.get("markets.alpha"))
    commodities_of = commodities_of or {}
    out = []
    for key, g in monthly.groupby(SERIES_KEY, sort=True):
        source, exporter, importer, hs, cid = key
        covered = commodities_of.get((source, hs, cid), {cid})
        ev = events[(events["country_iso3"] == exporter)]
        for _, e in ev.iterrows():
            if not _event_matches(covered, e):
                continue
            if e["targets"] and importer not in e["targets"] and importer != ALL_PARTNERS:
                continue
            out.append(_one_event_test(key, g, e, pre_n, post_n, r_thr, alpha))
    return pd.DataFrame(out, columns=SIGNAL_COLUMNS) if out else _empty()


def _one_event_test(key, g, e, pre_n, post_n, r_thr, alpha) -> dict:
    source, exporter, importer, hs, cid = key
    s, filled = fill_series(g)
    pre_start = _month(e["announced"]) - pd.DateOffset(months=pre_n)
    pre_end = _month(e["announced"]) - pd.DateOffset(months=1)
    post_start = _month(e["effective"])
    post_end = post_start + pd.DateOffset(months=post_n - 1)
    base = {
        "kind": "volume_change", "source": source, "commodity_id": e["commodity_id"],
        "exporter_iso3": exporter, "importer_iso3": importer, "hs_code": hs,
        "window_start": _iso_m(pre_start), "window_end": _iso_m(post_end),
        "statistic_name": "mann_whitney_u", "effect_name": "ratio_mean_qty_post_to_pre",
        "threshold": {"ratio_low": 1.0 / r_thr, "ratio_high": r_thr, "alpha": alpha},
        "event_id": e["event_id"],
        "signal_id": f"volume_change:{e['event_id']}:{e['commodity_id']}:{source}:{exporter}>{importer}:{hs}",
    }  # fmt: skip
    if s.index.min() > pre_start or s.index.max() < post_end:
        return {
            **base, "statistic": math.nan, "p_value": math.nan, "effect": math.nan,
            "direction": None, "flagged": False, "evidence": {}, "rows": [],
            "description": (
                f"not computable: series covers {_iso_m(s.index.min())}..{_iso_m(s.index.max())}, "
                f"the windows need {_iso_m(pre_start)}..{_iso_m(post_end)}"
            ),
        }  # fmt: skip
    pre = s.loc[pre_start:pre_end]
    post = s.loc[post_start:post_end]
    res = calc_volume_change(pre["qty_t"].to_numpy(), post["qty_t"].to_numpy())
    ratio, p = res["ratio"], res["p"]
    direction = None
    flagged = False
    if np.isfinite(ratio) and p < alpha:
        if ratio <= 1.0 / r_thr:
            direction, flagged = "collapse", True
        elif ratio >= r_thr:
            direction, flagged = "surge", True
    used = set(pre.index) | set(post.index)
    rows = sorted({tuple(r) for d, rr in s["rows"].items() if d in used for r in rr})
    desc = (
        f"{exporter}->{importer} {cid or hs} ({source}): mean monthly quantity "
        f"{post['qty_t'].mean():,.1f} t in {_iso_m(post_start)}..{_iso_m(post_end)} vs "
        f"{pre['qty_t'].mean():,.1f} t in {_iso_m(pre_start)}..{_iso_m(pre_end)} "
        f"(ratio {ratio:.2f}, Mann-Whitney p={p:.3g}) around {e['event_id']}"
    )
    if not flagged:
        desc = "not flagged: " + desc
    return {
        **base, "statistic": res["U"], "p_value": p, "effect": ratio, "direction": direction,
        "flagged": flagged, "description": res.get("note", desc),
        "evidence": {
            "pre": {_iso_m(d): float(v) for d, v in pre["qty_t"].items()},
            "post": {_iso_m(d): float(v) for d, v in post["qty_t"].items()},
            "unit": "t", "zero_filled_months": [m for m in filled if m in {_iso_m(d) for d in used}],
            "announced": e["announced"].date().isoformat(), "effective": e["effective"].date().isoformat(),
        },
        "rows": [list(r) for r in rows],
    }  # fmt: skip


def calc_break_penalty(y: np.ndarray, factor: float) -> tuple[float, float]:
    """MBIC-type penalty for PELT on a change in mean: ``factor * sigma^2 * ln(n)`` with
    ``sigma = 1.4826 * MAD(diff(y)) / sqrt(2)`` (robust to the shifts themselves)."""
    d = np.diff(y)
    sigma = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2.0)
    return factor * sigma**2 * math.log(len(y)), sigma


def structural_breaks(monthly: pd.DataFrame, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """Breaks in the mean of ``ln(1 + qty_t)`` per monthly series (PELT, l2 cost, MBIC
    penalty). Statistic per break: ``n1 n2 / (n1+n2) * (m2 - m1)^2 / sigma^2`` (the l2 cost
    reduction in units of sigma^2, a likelihood-ratio statistic); effect: ``e^{m2-m1}``.
    No p-value: the break date is selected from the data, so a nominal p would be invalid."""
    import ruptures as rpt

    factor = float(settings.get("markets.break_penalty_factor"))
    min_size = int(settings.get("markets.break_min_size"))
    min_n = int(settings.get("markets.min_series_months"))
    out = []
    for key, g in monthly.groupby(SERIES_KEY, sort=True):
        source, exporter, importer, hs, cid = key
        if g["qty_t"].notna().sum() < min_n:  # months with a row, not the zero-filled span
            continue
        s, filled = fill_series(g)
        y = np.log1p(s["qty_t"].to_numpy(dtype=float))
        pen, sigma = calc_break_penalty(y, factor)
        if sigma <= 0:
            continue
        bkps = rpt.Pelt(model="l2", min_size=min_size, jump=1).fit(y).predict(pen=pen)
        edges = [0, *bkps]
        for i in range(1, len(edges) - 1):
            a, b, c = edges[i - 1], edges[i], edges[i + 1]
            m1, m2 = float(y[a:b].mean()), float(y[b:c].mean())
            n1, n2 = b - a, c - b
            stat = n1 * n2 / (n1 + n2) * (m2 - m1) ** 2 / sigma**2
            when = s.index[b]
            ev_id = _nearest_event(events, exporter, cid, when, min_size) if events is not None else None
            used = s.index[a:c]
            rows = sorted({tuple(r) for rr in s.loc[used, "rows"] for r in rr})
            out.append({
                "signal_id": f"structural_break:{source}:{exporter}>{importer}:{hs}:{_iso_m(when)}",
                "kind": "structural_break", "source": source, "commodity_id": cid,
                "exporter_iso3": exporter, "importer_iso3": importer, "hs_code": hs,
                "window_start": _iso_m(s.index[a]), "window_end": _iso_m(s.index[c - 1]),
                "statistic_name": "lr_mean_shift_log1p_qty", "statistic": stat, "p_value": math.nan,
                "effect_name": "ratio_geomean_1p_qty_after_to_before", "effect": math.exp(m2 - m1),
                "threshold": {"penalty_over_sigma2": pen / sigma**2, "min_size": min_size},
                "direction": "down" if m2 < m1 else "up", "flagged": True, "event_id": ev_id,
                "description": (
                    f"{exporter}->{importer} {cid or hs} ({source}): break in {_iso_m(when)}, "
                    f"geometric-mean quantity x{math.exp(m2 - m1):.2f} "
                    f"({_iso_m(s.index[a])}..{_iso_m(s.index[b - 1])} vs "
                    f"{_iso_m(when)}..{_iso_m(s.index[c - 1])})"
                ),
                "evidence": {
                    "series": {_iso_m(d): float(v) for d, v in s["qty_t"].iloc[a:c].items()},
                    "unit": "t", "transform": "ln(1+qty_t)", "break": _iso_m(when),
                    "sigma": sigma, "penalty": pen, "mean_before": m1, "mean_after": m2,
                    "zero_filled_months": [m for m in filled if m in {_iso_m(d) for d in used}],
                },
                "rows": [list(r) for r in rows],
            })  # fmt: skip
    return pd.DataFrame(out, columns=SIGNAL_COLUMNS) if out else _empty()


def _nearest_event(events, exporter, cid, when, tol_months) -> str | None:
    if events is None or events.empty:
        return None
    ev = events[(events["country_iso3"] == exporter) & (events["commodity_id"] == cid)]
    best, best_d = None, None
    for _, e in ev.iterrows():
        d = abs((when.year - e["effective"].year) * 12 + when.month - e["effective"].month)
        if d <= tol_months and (best_d is None or d < best_d):
            best, best_d = e["event_id"], d
    return best


def calc_dispersion(groups: dict[str, np.ndarray]) -> dict:
    """Kruskal-Wallis H test (scipy) on the monthly log unit values of each destination."""
    samples = [np.log(v) for v in groups.values()]
    if np.ptp(np.concatenate(samples)) == 0:  # all equal: no dispersion (H undefined in scipy)
        return {"H": 0.0, "p": 1.0}
    res = stats.kruskal(*samples)
    return {"H": float(res.statistic), "p": float(res.pvalue)}


def price_discrimination(monthly: pd.DataFrame) -> pd.DataFrame:
    """Price discrimination per exporter, product and year (module docstring)."""
    thr = float(settings.get("markets.discrimination_uv_ratio"))
    min_share = float(settings.get("markets.discrimination_min_share"))
    min_months = int(settings.get("markets.discrimination_min_months"))
    alpha = float(settings.get("markets.alpha"))
    min_q = float(settings.get("markets.min_qty_t"))
    m = monthly[monthly["importer_iso3"] != ALL_PARTNERS].copy()
    if m.empty:
        return _empty()
    m["year"] = m["date"].dt.year
    m["uv"] = calc_unit_value(m["value_usd"], m["qty_t"], min_q)
    out = []
    for (source, exporter, hs, cid, year), g in m.groupby(
        ["source", "exporter_iso3", "hs_code", "commodity_id", "year"], sort=True
    ):
        tot = g["qty_t"].sum()
        if not tot > 0:
            continue
        dest = g.groupby("importer_iso3").agg(value=("value_usd", "sum"), qty=("qty_t", "sum"))
        dest["share"] = dest["qty"] / tot
        dest["uv"] = calc_unit_value(dest["value"], dest["qty"], min_q)
        months = g[g["uv"].notna()].groupby("importer_iso3")["uv"].apply(lambda s: s.to_numpy())
        ok = [d for d in dest.index if dest.at[d, "share"] >= min_share and d in months.index
              and len(months[d]) >= min_months and np.isfinite(dest.at[d, "uv"])]  # fmt: skip
        if len(ok) < 2:
            continue
        uv = dest.loc[ok, "uv"]
        hi, lo = uv.idxmax(), uv.idxmin()
        ratio = float(uv[hi] / uv[lo])
        kw = calc_dispersion({d: months[d] for d in ok})
        flagged = ratio >= thr and kw["p"] < alpha
        rows = sorted({tuple(r) for rr in g[g["importer_iso3"].isin(ok)]["rows"] for r in rr})
        out.append({
            "signal_id": f"price_discrimination:{source}:{exporter}:{hs}:{year}",
            "kind": "price_discrimination", "source": source, "commodity_id": cid,
            "exporter_iso3": exporter, "importer_iso3": f"{hi};{lo}", "hs_code": hs,
            "window_start": f"{year}-01", "window_end": f"{year}-12",
            "statistic_name": "kruskal_wallis_h", "statistic": kw["H"], "p_value": kw["p"],
            "effect_name": "ratio_max_to_min_destination_uv", "effect": ratio,
            "threshold": {"ratio": thr, "alpha": alpha, "min_share": min_share, "min_months": min_months},
            "direction": "dispersion", "flagged": bool(flagged), "event_id": None,
            "description": (
                f"{exporter} {cid or hs} ({source}) {year}: unit value to {hi} "
                f"{uv[hi]:,.2f} USD/kg vs {lo} {uv[lo]:,.2f} USD/kg (x{ratio:.2f}); "
                f"Kruskal-Wallis H={kw['H']:.1f}, p={kw['p']:.3g} over {len(ok)} destinations"
            ),
            "evidence": {
                "destination_uv_usd_per_kg": {d: float(uv[d]) for d in ok},
                "destination_qty_t": {d: float(dest.at[d, "qty"]) for d in ok},
                "destination_value_usd": {d: float(dest.at[d, "value"]) for d in ok},
                "monthly_uv_usd_per_kg": {
                    d: {_iso_m(t): float(v) for t, v in zip(g[(g["importer_iso3"] == d) & g["uv"].notna()]["date"], months[d], strict=True)}
                    for d in ok
                },
            },
            "rows": [list(r) for r in rows],
        })  # fmt: skip
    return pd.DataFrame(out, columns=SIGNAL_COLUMNS) if out else _empty()
