"""Settings of the markets capability (registered in :mod:`critmin.settings`).

Every threshold the monitor and the price-floor model use is here, with its default, help text
and the source of the default. None of them was tuned to a particular event: the known-event
check (China's 2023 gallium/germanium export collapse) runs with these defaults.
"""

from __future__ import annotations

from critmin import settings

# --- trade monitoring -----------------------------------------------------------------------
settings.register(
    "markets.min_qty_t",
    0.001,
    "Smallest net weight (t) for which a trade unit value (value/weight) is computed; rows "
    "below it get 'not computable' (a 1 kg shipment's unit value is dominated by rounding).",
    "Comtrade reports net weight in kg, rounded to integers: 1 kg = 0.001 t is the resolution.",
)
settings.register(
    "markets.alpha",
    0.05,
    "Significance level of every statistical test behind a signal (two-sided).",
    "Conventional 5 % level (Fisher 1925, Statistical Methods for Research Workers).",
)
settings.register(
    "markets.discrimination_uv_ratio",
    2.0,
    "Price discrimination: flag an exporter-product-year when the highest destination unit "
    "value is at least this multiple of the lowest (both destinations above min share) AND a "
    "Kruskal-Wallis test on monthly log unit values rejects equal medians at markets.alpha.",
    "Convention: a factor of 2 (|log ratio| >= ln 2) is the band outside which unit values are "
    "treated as outliers in trade price-filter analysis (cf. Pak & Zdanowicz 1994, 'A "
    "statistical analysis of the U.S. merchandise trade data base and its uses in transfer "
    "pricing compliance', Tax Notes), wider than their interquartile filter to allow for "
    "product mix within an HS code.",
)
settings.register(
    "markets.discrimination_min_share",
    0.02,
    "Price discrimination: destinations with less than this share of the exporter's annual "
    "quantity of the product are ignored (small lots have erratic unit values).",
    "Convention (2 % of volume); stated, not calibrated.",
)
settings.register(
    "markets.discrimination_min_months",
    6,
    "Price discrimination: a destination needs at least this many months with a computable "
    "unit value in the year to enter the Kruskal-Wallis test.",
    "Half a year of monthly observations; convention.",
)
settings.register(
    "markets.below_market_ratio",
    0.5,
    "Below-market export pricing: flag when the export unit value is at most this fraction of "
    "the world reference price for the same period.",
    "Convention: half the reference price (|log ratio| >= ln 2, the same band as "
    "markets.discrimination_uv_ratio).",
)
settings.register(
    "markets.event_pre_months",
    12,
    "Policy-event window: months before the announcement month used as the baseline.",
    "One year, so the baseline covers a full seasonal cycle (event-study convention, e.g. "
    "MacKinlay 1997, J. Econ. Lit. 35(1), estimation window before the event window).",
)
settings.register(
    "markets.event_post_months",
    6,
    "Policy-event window: months from the effective month on compared with the baseline.",
    "Half a year: long enough to cover licence processing lags (China's MOFCOM licensing "
    "takes up to 45 working days), short enough to isolate the event; convention.",
)
settings.register(
    "markets.volume_change_ratio",
    2.0,
    "Volume collapse/surge: flag when mean monthly quantity after the effective date is at "
    "most 1/ratio (collapse) or at least ratio (surge) times the baseline mean, AND a "
    "Mann-Whitney U test rejects equal distributions at markets.alpha.",
    "Convention: halving or doubling (|log ratio| >= ln 2); not calibrated to any event.",
)
settings.register(
    "markets.break_penalty_factor",
    3.0,
    "Structural breaks (ruptures PELT, l2 cost on ln(1+qty_t) monthly): the penalty per "
    "change point is factor * sigma^2 * ln(n), sigma from the median absolute deviation of "
    "first differences / sqrt(2). 3.0 is the main term of the modified BIC (one change "
    "location + one mean parameter + the MBIC location term).",
    "Zhang & Siegmund (2007), Biometrics 63(1), modified BIC (the default penalty of the R "
    "changepoint package, Killick & Eckley 2014, J. Stat. Softw. 58(3)).",
)
settings.register(
    "markets.break_min_size",
    6,
    "Structural breaks: minimum segment length in months.",
    "Half a year; convention (avoids single-month spikes being called regimes).",
)
settings.register(
    "markets.min_series_months",
    24,
    "Fewest months with a row (not counting zero-filled months) for a series to be searched for breaks.",
    "Two years; convention.",
)

# --- price floor ------------------------------------------------------------------------------
settings.register(
    "markets.fiscal_discount_rate",
    0.02,
    "Real annual discount rate for the present value of the government's floor payments.",
    "OMB Circular A-94 (revised November 2023): 2.0 % real discount rate for federal "
    "benefit-cost analysis.",
)
settings.register(
    "markets.project_discount_rate",
    0.08,
    "Annual discount rate for a project's NPV at a given production cost.",
    "8 % is the base-case rate most commonly used in mining feasibility studies "
    "(NI 43-101 / S-K 1300 technical reports); set per project.",
)
settings.register(
    "markets.survival_liquidity_years",
    1.0,
    "A project 'survives' a price path while its cumulative operating cash flow stays above "
    "-(this many years of production cost): the liquidity buffer it can draw on.",
    "Assumption (one year of cash costs as working capital and liquidity facilities); not "
    "from literature: set it to the project's actual liquidity.",
)
settings.register(
    "markets.ndpr_to_nd2o3_ratio",
    1.0,
    "NdPr oxide price as a multiple of the USGS Nd2O3 price (the warehouse has no NdPr series).",
    "Assumption: NdPr oxide is about 75 % Nd2O3 / 25 % Pr6O11 by mass and the two oxides "
    "traded within roughly 10 % of each other in 2019-2024 (USGS MCS 2025 rare earths "
    "chapter quotes Nd2O3 only); ratio 1.0 is the identity proxy.",
)

__all__ = ["settings"]
