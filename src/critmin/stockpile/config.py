"""Settings of the stockpile capability (registered in :mod:`critmin.settings`).

Every parameter of the two-stage stockpile programme that is not an input of a particular
run (budgets, scenarios, prices) is a setting here, with its default, help text and the source
of the default. Where no published figure exists (the sharing agreement has not been written
yet), the source says so and names what the default was anchored on.
"""

from __future__ import annotations

from critmin import settings

DAYS_PER_YEAR = 365.0  # calendar days; "days of cover" = stock / (annual consumption / 365)

settings.register(
    "stockpile.capital_cost_rate",
    0.042,
    "Annual opportunity cost of the money tied up in stock, as a fraction of its purchase "
    "value (part of the annual holding cost).",
    "US 10-year Treasury constant-maturity yield, 2024 annual average about 4.2 % (Federal "
    "Reserve H.15 / FRED series DGS10): the government's own cost of borrowing.",
)
settings.register(
    "stockpile.storage_cost_usd_per_t_yr",
    180.0,
    "Annual storage, handling and insurance cost per metric ton held (part of the annual "
    "holding cost).",
    "About US$0.5 per t per day, the order of LME-listed warehouse rents (LME 'Rent and FOT "
    "charges' schedules 2024/25): 0.5 x 365 = 182 $/t/yr, rounded.",
)
settings.register(
    "stockpile.transfer_cost_usd_per_t",
    150.0,
    "Cost per metric ton of moving stock from one partner to the other in a crisis "
    "(ocean freight, handling, insurance).",
    "Trans-Pacific container freight in 2024 of roughly US$2,000-4,000 per FEU (Drewry World "
    "Container Index) for about 20-25 t of metal payload, i.e. about 100-200 $/t; mid-point.",
)
settings.register(
    "stockpile.transfer_lead_time_months",
    2.0,
    "Months between the start of a disruption and the arrival of stock lent by the partner; "
    "a transfer can cover only the remaining (horizon - lead time) / horizon of a shortfall.",
    "Assumption, stated: about 6 weeks to decide and contract a release (DLA Strategic "
    "Materials disposal and JOGMEC release procedures need an administrative decision) plus "
    "2-3 weeks of trans-Pacific transit. The 2025-10-28 framework sets no lead time.",
)
settings.register(
    "stockpile.lendable_share",
    0.5,
    "Share of a partner's stock that the sharing agreement allows it to lend to the other "
    "partner in one disruption year.",
    "Assumption, stated: the 2025-10-28 US-Japan framework asks for complementary "
    "stockpiling but publishes no sharing rule; half keeps each side's own cover intact. "
    "Set it to the negotiated share.",
)
settings.register(
    "stockpile.cvar_alpha",
    0.95,
    "Confidence level alpha of the CVaR term (mean loss in the worst 1 - alpha of scenarios).",
    "Rockafellar & Uryasev (2000), 'Optimization of conditional value-at-risk', J. Risk 2(3): "
    "21-41; 95 % is the level used in their examples and common practice.",
)
settings.register(
    "stockpile.risk_aversion",
    0.5,
    "Weight lambda of CVaR_alpha in the objective E[loss] + lambda * CVaR_alpha(loss) + costs "
    "(0 = risk-neutral).",
    "Preference parameter of the mean-risk objective (Krokhmal, Palmquist & Uryasev 2002, "
    "J. Risk 4(2)); 0.5 is a moderate weight, not an estimate. Choose it per policy.",
)
settings.register(
    "stockpile.loss_multiple_max",
    4.2,
    "Economic loss per ton of unmet demand, as a multiple of the price, for a commodity with "
    "economic vulnerability 1; the multiple is 1 + (max - 1) * EV with EV in [0, 1] from the "
    "assessment (EV = 0: the shortfall costs only its replacement value).",
    "USGS Mineral Commodity Summaries 2025, Fig. 1 (data release "
    "MCS2025_Fig1_Minerals_in_Economy.csv): value added by industries that consume "
    "processed mineral materials US$4,080 bn vs processed mineral materials used US$977 bn "
    "(900 shipped + 77 net imports), 2024e: about 4.2 $ of value added per $ of material.",
)
settings.register(
    "stockpile.policy_days",
    60,
    "Rule-based baseline: days of annual consumption held for every commodity.",
    "JOGMEC rare-metal stockpiling practice: about 60 days of Japanese consumption (METI "
    "2020 revision of the rare-metal stockpiling system; JOGMEC annual reports).",
)
settings.register(
    "stockpile.high_risk_days",
    180,
    "Rule-based baseline: days of annual consumption held for commodities rated high-risk.",
    "METI/JOGMEC 2020 revision: up to 180 days for the rare metals with the highest supply risk.",
)
settings.register(
    "stockpile.solver_time_limit_s",
    600.0,
    "Time limit for one HiGHS solve of the stockpile programme (seconds).",
    "Operational limit; the benchmark target is 60 s for 60 commodities x 2,000 scenarios.",
)
settings.register(
    "stockpile.loss_model",
    "damage",
    "Economic loss per unmet ton in the programme: 'damage' = the damage model's loss per "
    "tonne (critmin.impact: value added at risk in the using industries, at least the price), "
    "'multiple' = price x (1 + (loss_multiple_max - 1) x EV) from the assessment (before issue 13).",
    "Issue 13: a tonne of gallium that does not arrive costs far more than its price; USGS OFR "
    "2025-1047 values disruptions by their effect on the industries that use the commodity.",
)
settings.register(
    "stockpile.candidate_lists",
    ("US2025", "EU2023", "JP"),
    "Critical-mineral lists (critmin.data.curated list ids) whose commodities the planner may "
    "stock when no commodities are named; an empty value (or '*') = every commodity of the "
    "disruption market.",
    "The lists the stockpile programmes serve: the USGS 2025 US list, the EU CRMA 2023 list and "
    "Japan's list of critical minerals under the Economic Security Promotion Act (the lists' "
    "sources are in data/curated/list_memberships.csv).",
)
