"""Settings of the briefing pack (``brief.*``)."""

from __future__ import annotations

from critmin import settings

PRIORITY_COUNT = settings.register(
    "brief.priority_count",
    15,
    "Priority commodities of a brief without --commodities: the first N of the joint watchlist's "
    "ranked group (one or two pages each).",
    "Issue 16: the joint watchlist (top 15) and about 15 priority commodities.",
)
MC_RUNS = settings.register(
    "brief.mc_runs",
    2000,
    "Monte Carlo runs of the brief's disruption risks (VaR/CVaR per partner); small values in tests.",
    "Numerical choice: the dashboard's default Monte Carlo size (2,000 runs; the 5 % tail holds 100 runs).",
)
STOCKPILE_RUNS = settings.register(
    "brief.stockpile_runs",
    1000,
    "Scenarios sampled for the brief's stockpile plan (critmin.stockpile.service.plan runs).",
    "Numerical choice; the planner's own default is 2,000 (docs/stockpile.md).",
)
RANDOM_STATE = settings.register(
    "brief.random_state",
    20251028,
    "Seed of the brief's Monte Carlo runs and stockpile scenarios (the same brief twice gives the same figures).",
    "Any fixed seed; the framework's signature date.",
)
STOCKPILE_BUDGETS = settings.register(
    "brief.stockpile_budgets",
    "USA=1e9,JPN=5e8",
    "ASSUMPTION: stockpile budgets of the brief's plan, ISO3=US$ per partner.",
    "ASSUMPTION (not an appropriation): a planning envelope of US$1 bn (US) and US$0.5 bn (Japan) for "
    "the illustration; set it to the budgets under discussion before a brief goes to a minister.",
)
PROJECT_BUDGETS = settings.register(
    "brief.project_budgets",
    "USA=5e8,JPN=3e8",
    "ASSUMPTION: budget cost available for the project portfolio, ISO3=US$ per partner (budget cost of "
    "loans, grants and equity as in critmin projects select).",
    "ASSUMPTION (not an appropriation): US$500 m (US) and US$300 m (Japan) for the illustration; set it "
    "to the financing envelopes under discussion.",
)
TOP_COUNTRIES = settings.register(
    "brief.top_countries",
    5,
    "Countries named in a commodity page's supply chart and import-source table (the rest summed as 'other').",
    "Presentation choice (USGS MCS world tables name the leading producers).",
)
PRICE_YEARS = settings.register(
    "brief.price_years",
    15,
    "Years of price history drawn on a commodity page.",
    "Presentation choice (about two commodity cycles).",
)

settings.register(
    "brief.signal_kinds",
    ("volume_change", "price_discrimination", "below_market"),
    "Kinds of market signal (critmin.markets.api.signals) shown on the commodity pages.",
    "Issue 16 (market signals). The structural-break scan is left to `critmin markets signals`: it "
    "takes about 12 s of the 30 s a brief may take on the real warehouse (benchmarks/bench_brief.py).",
)

settings.register(
    "brief.font_dirs",
    ("/usr/share/fonts/truetype/noto", "/usr/share/fonts/opentype/noto"),
    "Directories holding the Noto fonts of the brief (Noto Sans, Noto Sans CJK JP).",
    "Debian packages fonts-noto-core and fonts-noto-cjk (scripts/install_brief_deps.sh).",
)


def parse_budgets(text: str, name: str) -> dict[str, float]:
    """``'USA=1e9,JPN=5e8'`` -> ``{'USA': 1e9, 'JPN': 5e8}`` (ValueError naming the setting)."""
    out: dict[str, float] = {}
    for item in str(text).split(","):
        if not item.strip():
            continue
        k, sep, v = item.partition("=")
        try:
            amount = float(v)
        except ValueError:
            amount = float("nan")
        if not sep or not (amount >= 0):
            raise ValueError(f"setting {name}: entry {item.strip()!r}; expected ISO3=US$ amount >= 0")
        out[k.strip().upper()] = amount
    if not out:
        raise ValueError(f"setting {name}: no budget given; expected ISO3=US$,...")
    return out
