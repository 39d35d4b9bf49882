"""Budget cost of a financing request, by instrument.

What a government's budget is charged is not the face amount of the deal but its expected
cost to the taxpayer, the approach of the US Federal Credit Reform Act of 1990 (FCRA,
2 U.S.C. 661a: the "cost" of a direct loan or guarantee is the net present value of its
expected cash flows, excluding administration) applied to every instrument:

==============  ===============================================  =====================================
instrument      budget cost                                      settings
==============  ===============================================  =====================================
grant           face value x ``grant_factor`` (1.0)              ``projects.cost.grant_factor``
loan            face value x subsidy rate                        ``projects.cost.loan_subsidy_rate``
guarantee       expected loss = PD x LGD x exposure              ``projects.cost.guarantee_pd``, ``..._lgd``
equity          face value x expected loss of value              ``projects.cost.equity_expected_loss``
offtake         contract value x expected price gap              ``projects.cost.offtake_price_gap``
insurance       cover x expected claims rate                     ``projects.cost.insurance_claims_rate``
==============  ===============================================  =====================================

The defaults are documented assumptions (see each setting's source); an investment committee
should replace them with the programme's own published rates (e.g. the subsidy rate of the
lending programme in the OMB Federal Credit Supplement, Table 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from critmin import settings

settings.register(
    "projects.cost.grant_factor",
    1.0,
    "Budget cost of a grant per dollar of face value.",
    "A grant is an outlay of its face value (OMB Circular A-11, section 20).",
)
settings.register(
    "projects.cost.loan_subsidy_rate",
    0.10,
    "Credit subsidy rate of a direct loan (NPV of expected cost per dollar lent).",
    "Method: Federal Credit Reform Act of 1990 (2 U.S.C. 661a). Value 10 % is an assumption in "
    "the range of higher-risk direct-loan programmes listed in the OMB Federal Credit Supplement, "
    "Table 1; replace with the lending programme's published rate.",
)
settings.register(
    "projects.cost.guarantee_pd",
    0.10,
    "Probability of default over the life of a guaranteed loan (cumulative).",
    "Assumption: order of magnitude of 10-year cumulative default rates of project-finance bank "
    "loans in Moody's project-finance default studies, rounded up for mining risk.",
)
settings.register(
    "projects.cost.guarantee_lgd",
    0.40,
    "Loss given default of a guaranteed loan (fraction of exposure).",
    "Basel Framework CRE32.6 (foundation IRB): 40 % LGD for senior unsecured corporate exposures.",
)
settings.register(
    "projects.cost.equity_expected_loss",
    0.30,
    "Expected loss of value per dollar of government equity in a project.",
    "Assumption: development-stage mining equity; no published benchmark, set by policy.",
)
settings.register(
    "projects.cost.offtake_price_gap",
    0.15,
    "Expected cost of an offtake (or price-floor) agreement per dollar of contract value: the "
    "expected gap between the contract price and the market price.",
    "Assumption: price floors set near the cost of non-Chinese supply; e.g. the US DoD-MP Materials "
    "NdPr floor of US$110/kg (2025) versus market prices; set per contract.",
)
settings.register(
    "projects.cost.insurance_claims_rate",
    0.05,
    "Expected claims per dollar of political-risk insurance cover over the policy term.",
    "Assumption: order of magnitude of MIGA/DFC political-risk insurance loss experience; set per policy.",
)


@dataclass(frozen=True)
class CostFactors:
    """The cost factors in force (read from settings by :meth:`from_settings`)."""

    grant_factor: float
    loan_subsidy_rate: float
    guarantee_pd: float
    guarantee_lgd: float
    equity_expected_loss: float
    offtake_price_gap: float
    insurance_claims_rate: float

    @classmethod
    def from_settings(cls, overrides: dict[str, float] | None = None) -> CostFactors:
        return cls(**{f: float(settings.get(f"projects.cost.{f}", overrides)) for f in cls.__dataclass_fields__})

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"cost factor {name}: expected a fraction in [0, 1], got {v}")


def calc_instrument_cost(instrument: str, amount_usd: float, f: CostFactors) -> tuple[float, str]:
    """Budget cost of one request and the formula used (for traceability).

    grant: ``A x g``; loan: ``A x s`` (FCRA subsidy cost); guarantee: ``PD x LGD x A``;
    equity: ``A x e``; offtake: ``A x gap``; insurance: ``A x c``.
    """
    if amount_usd < 0:
        raise ValueError(f"amount_usd: expected >= 0, got {amount_usd}")
    match instrument:
        case "grant":
            return amount_usd * f.grant_factor, f"grant: {amount_usd:.0f} x grant_factor {f.grant_factor}"
        case "loan":
            return (
                amount_usd * f.loan_subsidy_rate,
                f"loan: {amount_usd:.0f} x subsidy rate {f.loan_subsidy_rate} (FCRA)",
            )
        case "guarantee":
            return (
                f.guarantee_pd * f.guarantee_lgd * amount_usd,
                f"guarantee: PD {f.guarantee_pd} x LGD {f.guarantee_lgd} x exposure {amount_usd:.0f}",
            )
        case "equity":
            return (
                amount_usd * f.equity_expected_loss,
                f"equity: {amount_usd:.0f} x expected loss {f.equity_expected_loss}",
            )
        case "offtake":
            return (
                amount_usd * f.offtake_price_gap,
                f"offtake: {amount_usd:.0f} x expected price gap {f.offtake_price_gap}",
            )
        case "insurance":
            return (
                amount_usd * f.insurance_claims_rate,
                f"insurance: {amount_usd:.0f} x expected claims rate {f.insurance_claims_rate}",
            )
    raise ValueError(
        f"instrument {instrument!r}: expected one of grant, loan, guarantee, equity, offtake, insurance"
    )
