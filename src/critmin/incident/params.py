"""Settings of the incident workflow (``critmin settings``; docs/settings.md)."""

from __future__ import annotations

from critmin import settings

settings.register(
    "incident.horizon_months",
    12,
    "Months an incident's assessment simulates from the trigger's start month.",
    "The scenario library's horizon (scenarios/*.toml: 12 months); the median duration of ended "
    "restrictions is 11.2 months (disruption.hazard.duration_median_months).",
)
settings.register(
    "incident.mc_runs",
    2000,
    "Runs of the assessment's Monte Carlo part (event duration, and the cut where the trigger "
    "gives none, drawn from the hazard model's distributions); 0 skips it.",
    "Sized so that incident open -> ranked options stays under 10 s on the reference machine "
    "(benchmarks/bench_incident.py); the P5/P95 of 2,000 runs have a sampling error of about 1 "
    "percentage point of the shortfall for a binary-like outcome.",
)
settings.register(
    "incident.mc_seed",
    20241203,
    "Default random seed of an incident's Monte Carlo part (stored with the incident; a "
    "re-assessment with the same seed gives the same quantiles).",
    "Implementation constant (the date of MOFCOM Announcement No. 46 of 2024).",
)
settings.register(
    "incident.days_per_year",
    365.0,
    "Days per year to turn annual consumption into the daily use behind days of cover.",
    "Calendar year; stockpile agencies state cover in calendar days (IEA 90-day obligation, "
    "IEP Agreement 1974 art. 2).",
)
settings.register(
    "incident.max_suppliers",
    8,
    "Alternative suppliers listed per commodity (by spare capacity, then production).",
    "Display choice.",
)
settings.register(
    "incident.use_known_end",
    False,
    "Whether an incident opened from a curated event uses the event's recorded end date. False "
    "(default): the event is assessed as on its first day, in force for the whole horizon in the "
    "central case and of uncertain duration in the Monte Carlo part; True: a replay with hindsight.",
    "Issue 15: the assessment serves the officials on the first day of a crisis, when the end of a "
    "measure is not known (MOFCOM's suspension of No. 46 came 11 months later).",
)
