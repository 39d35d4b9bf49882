"""Where the stockpile programme's inputs come from: disruption scenarios and loss per ton.

* Scenarios: a :class:`~critmin.disruption.sample.ShortfallSample`, sampled on the spot from
  the disruption simulator (``critmin.disruption.api.sample_shortfalls``) or read from a stored
  Monte Carlo run (``load_run``).
* Economic loss per unmet ton: a multiple of the price, 1 + (M - 1) * EV, from the
  assessment's economic-vulnerability factor EV (``critmin.risk``), with per-commodity user
  overrides. A commodity with neither is an error, never a default.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from critmin import settings
from critmin.data.partners import partners as configured_partners
from critmin.disruption.sample import ShortfallSample
from critmin.stockpile import config  # noqa: F401  (registers the settings)
from critmin.stockpile.calc import calc_loss_multiple
from critmin.stockpile.problem import StockpileInputError

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

log = logging.getLogger(__name__)

ALL = "*"  # override key meaning "every commodity without its own override"


def loss_multiples(
    commodities: Iterable[str],
    economic_vulnerability: Mapping[str, float] | None = None,
    overrides: Mapping[str, float] | None = None,
    multiple_max: float | None = None,
) -> tuple[dict[str, float], dict[str, str]]:
    """Loss multiple per commodity and where it came from.

    Precedence: ``overrides[c]``, then ``overrides['*']``, then 1 + (M - 1) * EV_c
    (:func:`critmin.stockpile.calc.calc_loss_multiple`). Raises
    :class:`StockpileInputError` listing every commodity that has none of these.
    """
    commodities = list(commodities)
    ev = dict(economic_vulnerability or {})
    ov = dict(overrides or {})
    m_max = float(settings.get("stockpile.loss_multiple_max") if multiple_max is None else multiple_max)
    unknown = [c for c in ov if c != ALL and c not in commodities]
    if unknown:
        raise StockpileInputError("loss_multiple", f"unknown commodities {unknown}")
    for c, m in ov.items():
        if not (np.isfinite(m) and m > 0):
            raise StockpileInputError("loss_multiple", f"{c}={m!r}; expected a finite multiple > 0")
    out: dict[str, float] = {}
    source: dict[str, str] = {}
    missing = []
    for c in commodities:
        if c in ov:
            out[c], source[c] = float(ov[c]), "user override"
        elif ALL in ov:
            out[c], source[c] = float(ov[ALL]), "user override (*)"
        elif c in ev and ev[c] is not None and np.isfinite(ev[c]):
            try:
                out[c] = float(calc_loss_multiple(np.array([ev[c]]), m_max)[0])
            except ValueError as e:
                raise StockpileInputError("economic_vulnerability", f"{c}: {e}") from None
            source[c] = f"assessment EV={ev[c]:.3f}, M={m_max:g}"
        else:
            missing.append(c)
    if missing:
        raise StockpileInputError(
            "loss_multiple",
            f"not computable for {missing}: the assessment gives no economic vulnerability "
            f"and no override was given (e.g. --loss-multiple {missing[0]}=3 or '*=3')",
        )
    return out, source


def economic_vulnerability_from_assessment(
    assessment: pd.DataFrame, partners: Iterable[str]
) -> dict[str, float]:
    """EV per commodity from the assessment table (mean over the partners' EV columns).

    Accepts a column ``economic_vulnerability`` or per-consumer columns
    ``economic_vulnerability_<ISO3>``; rows with no value are left out (the caller reports
    them as not computable).
    """
    partners = list(partners)
    if "commodity" not in assessment.columns:
        raise StockpileInputError("assessment", f"has no 'commodity' column: {list(assessment.columns)}")
    per = [f"economic_vulnerability_{k}" for k in partners]
    if all(c in assessment.columns for c in per):
        ev = assessment[per].mean(axis=1, skipna=False)
    elif "economic_vulnerability" in assessment.columns:
        ev = assessment["economic_vulnerability"]
    else:
        raise StockpileInputError(
            "assessment",
            f"has no economic-vulnerability column (expected 'economic_vulnerability' or "
            f"{per}); columns: {list(assessment.columns)}",
        )
    vals = pd.to_numeric(ev, errors="coerce")
    return {str(c): float(v) for c, v in zip(assessment["commodity"], vals, strict=True)
            if pd.notna(v)}


def economic_vulnerability_for(wh: Warehouse) -> dict[str, float]:
    """EV per commodity from the risk engine (``critmin.risk.api.economic_vulnerability``).

    Commodities without a value are left out; :func:`plannable` reports them.
    """
    from critmin.risk.api import economic_vulnerability

    df = economic_vulnerability(wh)
    return {str(c): float(v) for c, v in zip(df["commodity_id"], df["economic_vulnerability"], strict=True)
            if v is not None and pd.notna(v)}


def high_risk_for(wh: Warehouse, partners: Iterable[str] | None = None, top_n: int | None = None) -> list[str]:
    """High-risk commodities: the top of the joint watchlist (setting ``risk.high_risk_top_n``)
    for ``partners`` (default: setting ``risk.consumers``)."""
    from critmin.risk.api import high_risk_commodities

    cons = tuple(partners) if partners is not None else configured_partners()
    return high_risk_commodities(wh, cons, top_n=top_n)


def critical_commodities(wh: Warehouse) -> list[str]:
    """Commodities on the 2022 US critical-minerals list (:meth:`Warehouse.critical_2022`): the
    default scope of the days-of-consumption baselines (JOGMEC stockpiles rare metals only)."""
    return wh.critical_2022()


def plannable(
    sample: ShortfallSample,
    economic_vulnerability: Mapping[str, float] | None,
    overrides: Mapping[str, float] | None = None,
) -> tuple[ShortfallSample, dict[str, float], dict[str, str], dict[str, str]]:
    """Split the sample into the commodities that can be planned and those that cannot.

    A commodity is not computable without a positive finite price, or without a loss multiple
    (no override and no economic vulnerability). Returns ``(sample restricted to the plannable
    commodities, loss multiples, their sources, {commodity: "not computable: reason"})``.
    """
    ev = dict(economic_vulnerability or {})
    ov = dict(overrides or {})
    excluded: dict[str, str] = {}
    keep = []
    for i, c in enumerate(sample.commodities):
        price = float(sample.price_usd_per_t[i])
        if not (np.isfinite(price) and price > 0):
            excluded[c] = f"not computable: no price in the warehouse (price {price!r})"
        elif c not in ov and ALL not in ov and not (c in ev and np.isfinite(ev[c])):
            excluded[c] = ("not computable: no economic vulnerability in the assessment and no "
                           "--loss-multiple override")
        else:
            keep.append(c)
    if not keep:
        raise StockpileInputError("commodities", f"none can be planned: {excluded}")
    unknown = [c for c in ov if c != ALL and c not in sample.commodities]
    if unknown:
        raise StockpileInputError("loss_multiple", f"unknown commodities {unknown}")
    ov_keep = {c: m for c, m in ov.items() if c == ALL or c in keep}
    mult, source = loss_multiples(keep, ev, ov_keep)
    if excluded:
        log.info("stockpile: %d commodities left out: %s", len(excluded), excluded)
    return subset_sample(sample, keep), mult, source, excluded


def sample_for(
    wh: Warehouse,
    *,
    runs: int,
    random_state: int,
    run_id: str | None = None,
    commodities: list[str] | None = None,
    partners: tuple[str, ...] | None = None,
    horizon_months: int = 12,
    allow_other_vintage: bool = False,
) -> ShortfallSample:
    """Scenarios from the disruption API: a stored run (computed on ``wh``'s vintage unless
    ``allow_other_vintage``: :func:`critmin.disruption.api.load_run`), or ``runs`` sampled with
    the seed for ``partners`` (default: setting ``risk.consumers``). The sample's meta names the
    ``vintage`` and ``data_fingerprint`` of the data it was computed on."""
    from critmin.disruption import api
    from critmin.disruption.provenance import data_provenance

    if run_id is not None:
        sample = api.load_run(wh, run_id, allow_other_vintage=allow_other_vintage)
        if commodities:
            sample = subset_sample(sample, commodities)
        return sample
    if runs <= 0:
        raise StockpileInputError("runs", f"{runs}; expected a positive number of scenarios")
    cons = tuple(partners) if partners is not None else configured_partners()
    market = api.load_market(wh, commodities=commodities, consumers=cons)
    sample = api.sample_shortfalls(market, runs, random_state, horizon_months=horizon_months)
    return replace(sample, meta={**sample.meta, **data_provenance(wh)})


def subset_sample(sample: ShortfallSample, commodities: list[str]) -> ShortfallSample:
    """The sample restricted to ``commodities`` (unknown ids are an error)."""
    unknown = [c for c in commodities if c not in sample.commodities]
    if unknown:
        raise StockpileInputError("commodities", f"{unknown} not in the sample")
    idx = [sample.commodities.index(c) for c in commodities]
    return ShortfallSample(
        commodities=tuple(commodities), consumers=sample.consumers,
        shortfall_t=sample.shortfall_t[:, idx, :], consumption_t=sample.consumption_t[idx],
        price_usd_per_t=sample.price_usd_per_t[idx],
        price_change_pct=sample.price_change_pct[:, idx], weights=sample.weights,
        run_id=sample.run_id, seed=sample.seed, meta=dict(sample.meta),
    )
