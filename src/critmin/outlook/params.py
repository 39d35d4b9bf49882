"""Settings of the outlook (issue 17): years, scenarios, Monte Carlo and the probability that a
project reaches production, by its development stage."""

from __future__ import annotations

from critmin import settings

settings.register(
    "outlook.first_year", 2025,
    "First year of the gap outlook (annual path; IEA years in between are interpolated linearly).",
    "Issue 17: the gap 2025-2040; the IEA base year is 2024 (Critical Minerals Data Explorer, May 2025).",
)
settings.register(
    "outlook.last_year", 2040,
    "Last year of the gap outlook.",
    "IEA Global Critical Minerals Outlook 2025: supply base case published for 2030, 2035 and 2040.",
)
settings.register(
    "outlook.draws", 10_000,
    "Monte Carlo draws of the project pipeline (each project reaches production or not).",
    "Numerical choice; issue 17 benchmark size (10,000 draws).",
)
settings.register(
    "outlook.random_state", 20251028,
    "Seed of the pipeline draws (passed explicitly to numpy's default_rng).",
    "Any fixed seed; the framework's signature date.",
)

#: development stage -> (default probability of reaching production, source text)
_PROBABILITY: dict[str, tuple[float, str]] = {
    "production": (1.0, "Operating: in production already (by definition)."),
    "construction": (0.85, "ASSUMPTION: no public per-stage success rate was found; a project under construction has "
                     "financing and permits, most reach production (e.g. Jervois Idaho Cobalt was suspended in "
                     "construction, Kallanish 2023-03-29)."),
    "financing": (0.6, "ASSUMPTION: no public per-stage success rate was found; permits and a feasibility study exist, "
                  "the financing is not closed."),
    "permitting": (0.5, "ASSUMPTION: no public per-stage success rate was found; policy default between feasibility "
                   "and financing."),
    "feasibility": (0.35, "ASSUMPTION: no public per-stage success rate was found. Mining.com / Mining Intelligence, "
                    "'What are the stages a project must pass through to become a mine?' ('very few projects make "
                    "it'), http://www.mining.com/stages-project-must-pass-become-mine/"),
    "announced": (0.2, "ASSUMPTION: no public per-stage success rate was found; an announcement without a feasibility "
                  "study."),
    "exploration": (0.01, "Discovery Alert, 'Mining company development stages' (2025): 'less than 1% of exploration "
                    "projects ultimately reach production', https://discoveryalert.com.au/news/mining-company-"
                    "development-stages-2025"),
    "suspended": (0.1, "ASSUMPTION: a suspended project restarts rarely within the horizon; policy default."),
}
DEVELOPMENT_STAGES = tuple(_PROBABILITY)

for _stage, (_p, _src) in _PROBABILITY.items():
    settings.register(
        f"outlook.probability.{_stage}", _p,
        f"Probability that a project at development stage '{_stage}' reaches production (Monte Carlo of the pipeline).",
        _src,
    )


def probability(stage: str, overrides: dict[str, object] | None = None) -> float:
    """The setting ``outlook.probability.<stage>``; ``KeyError`` for an unknown stage."""
    if stage not in _PROBABILITY:
        raise KeyError(f"development stage {stage!r}: expected one of {', '.join(DEVELOPMENT_STAGES)}")
    return float(settings.get(f"outlook.probability.{stage}", overrides))


__all__ = ["DEVELOPMENT_STAGES", "probability"]
