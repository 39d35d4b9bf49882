"""The bottleneck stage, the joint score over the partners, the coverage group and the
data-quality grade. Pure functions, no I/O.

Each consumer's supply risk is computed at every value-chain stage that has data (mine,
processing, metal, component); the consumer's score is the score at its *bottleneck*, the
stage with the highest risk (JRC 2017, Blengini et al., section 3.2: supply risk is assessed
at extraction and at processing, and the higher of the two, the bottleneck, is retained). The
joint score is the weighted mean of the partners' bottleneck scores
(:func:`critmin.risk.indices.calc_joint_score`).

Every input that took a fallback carries a flag ``"<code>: <sentence>"``; the grade of a score
is the worst severity among the flags of the inputs behind it (:data:`FLAG_SEVERITY`,
docs/methodology.md "Data-quality grade").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from critmin.risk.indices import calc_joint_score

__all__ = [
    "FLAG_SEVERITY",
    "GRADES",
    "Bottleneck",
    "JointScore",
    "StageScore",
    "calc_bottleneck",
    "calc_grade",
    "calc_joint",
    "calc_stage_score",
    "flag_code",
]

#: grade letters by severity (0 = no fallback)
GRADES = "ABCD"

#: severity of each flag code: 0 noted only, 1 a minor component took a fallback (grade B), 2 an estimate or
#: a source of lower standing stands in for a statistic (C), 3 the input is old (D).
#: ``latest_year`` and ``ev_latest`` take their severity from the age (see :func:`flag_severity`).
FLAG_SEVERITY: dict[str, int] = {
    "territory": 1,  # a territory took its sovereign's governance
    "median": 1,  # a minor producer without WGI took the median
    "wgi_lag": 0,  # governance (partly) of an earlier year: the newest available, noted, not graded
    "trade_lag": 1,  # trade flows of an earlier year
    "residual": 1,  # a large part of world output is not attributed to a country
    "mass_balance": 1,  # apparent consumption raised to the feed of the consumer's own next stage
    "nir_other_stage": 1,  # the published NIR of the commodity used at a stage it does not name
    "no_stage_trade": 1,  # stage not performed at home and no trade recorded at it: NIR 1 inferred
    "not_named": 1,  # the source does not name the partner at a stage (it may sit in the residual): read as nil
    "use_from_list": 2,  # as no_stage_trade, use known only from the partner's own list
    "unrecorded_supply": 2,  # exports without recorded production: NIR 1 assumes re-exports
    "imports_only": 2,  # NIR bounded from above by M/(P+M): no exports recorded
    "byproduct_host": 1,  # a by-product's mine stage is its host's mine supply
    "curated": 2,  # shares from a curated estimate (consultancy or press figure), not a statistic
    "fallback_trade": 2,  # import shares from a partial UN Comtrade extract
    "nir_computed": 1,  # the partner's NIR computed from trade where the national source has none
    "latest_year": 2,  # data of an earlier year (age <= 2; older: 3)
    "ev_latest": 2,  # price volatility of an earlier window (age <= 2; older: 3)
}
#: an input older than this many years is graded D
AGE_FOR_D = 2


def flag_code(flag: str) -> str:
    """The code of a flag ``"code: sentence"`` (``"latest_year:3: ..."`` -> ``latest_year``)."""
    return flag.split(":", 1)[0].strip()


def flag_severity(flag: str) -> int:
    """Severity 0-3 of one flag (unknown codes count 1: a fallback nobody graded)."""
    code = flag_code(flag)
    if code in ("latest_year", "ev_latest"):
        try:
            age = int(flag.split(":", 2)[1])
        except (IndexError, ValueError):
            return 3
        return 3 if age > AGE_FOR_D else 2
    return FLAG_SEVERITY.get(code, 1)


def calc_grade(flags: Iterable[str]) -> str:
    """Data-quality grade A-D of a score: ``GRADES[max severity of its flags]``; A when every
    input is the assessment year's statistic with no fallback (docs/methodology.md)."""
    return GRADES[max((flag_severity(f) for f in flags), default=0)]


@dataclass(frozen=True)
class StageScore:
    """One consumer's supply risk at one stage: the USGS-style index (0-1), the EU index
    (0-10), their combination by the joint weights, and the flags of the inputs."""

    stage: str
    usgs: float | None
    eu: float | None
    combined: float | None
    flags: tuple[str, ...] = ()
    reason: str | None = None  #: why ``combined`` is not computable
    usgs_reason: str | None = None  #: why ``usgs`` is missing
    eu_reason: str | None = None  #: why ``eu`` is missing

    @property
    def computable(self) -> bool:
        return self.combined is not None


def calc_stage_score(stage: str, usgs: float | None, eu: float | None, weight_usgs: float,
                     weight_eu: float, flags: Sequence[str] = (), reasons: Sequence[str] = ()) -> StageScore:
    """``combined = (a · SR_USGS + b · SR_EU / 10) / (a + b)`` (a, b the component weights;
    a component with weight 0 is not needed). None, with the reasons, when a needed one is
    missing. Source: as :func:`critmin.risk.indices.calc_joint_score` for one consumer."""
    if weight_usgs < 0 or weight_eu < 0 or weight_usgs + weight_eu <= 0:
        raise ValueError("component weights must be >= 0 and not both 0")
    lacking = [n for n, v, w in (("usgs", usgs, weight_usgs), ("eu", eu, weight_eu)) if w > 0 and v is None]
    if lacking:
        why = "; ".join(reasons) or f"{' and '.join(lacking)} index missing"
        return StageScore(stage, usgs, eu, None, tuple(flags), why)
    u = float(usgs) if weight_usgs > 0 and usgs is not None else 0.0
    e = float(eu) / 10.0 if weight_eu > 0 and eu is not None else 0.0
    return StageScore(stage, usgs, eu, (weight_usgs * u + weight_eu * e) / (weight_usgs + weight_eu), tuple(flags))


@dataclass(frozen=True)
class Bottleneck:
    """A consumer's bottleneck: the stage with the highest computable score (or why none)."""

    stage: str | None
    score: StageScore | None
    stages: dict[str, StageScore] = field(default_factory=dict)
    reason: str | None = None

    @property
    def value(self) -> float | None:
        return None if self.score is None else self.score.combined


def calc_bottleneck(stage_scores: Mapping[str, StageScore], order: Sequence[str] = ()) -> Bottleneck:
    """The stage with the highest ``combined`` score: ``max_s SR_s`` (JRC 2017 section 3.2,
    the bottleneck of extraction and processing; here over every stage with data). Ties go to
    the earlier stage of ``order`` (then alphabetically). Stages without a score are skipped;
    with none, the reasons are joined."""
    rank = {s: i for i, s in enumerate(order)}
    ok = [s for s in stage_scores.values() if s.combined is not None]
    if not ok:
        why = "; ".join(f"{s.stage}: {s.reason}" for s in stage_scores.values()) or "no stage with data"
        return Bottleneck(None, None, dict(stage_scores), why)
    best = min(ok, key=lambda s: (-float(s.combined or 0.0), rank.get(s.stage, len(rank)), s.stage))
    return Bottleneck(best.stage, best, dict(stage_scores))


@dataclass(frozen=True)
class JointScore:
    """The joint score over the partners, which partners it covers, and its stage."""

    value: float | None
    covers: tuple[str, ...]
    lacking: tuple[str, ...]
    #: the bottleneck stage shared by the partners, else that of the largest contribution
    stage: str | None
    by_consumer: dict[str, str | None]
    flags: tuple[str, ...]
    grade: str | None

    @property
    def group(self) -> str:
        """``ranked`` (covers every partner), ``single_partner`` or ``no_score``."""
        if self.value is None:
            return "no_score"
        return "single_partner" if self.lacking else "ranked"


def calc_joint(bottlenecks: Mapping[str, Bottleneck], consumer_weights: Mapping[str, float],
               shared_flags: Sequence[str] = ()) -> JointScore:
    """Joint score ``J = Σ_k ŵ_k · SR_k`` over the consumers with a bottleneck score (weights
    renormalised over them; :func:`critmin.risk.indices.calc_joint_score` with the combined
    stage scores). ``shared_flags`` are the flags of commodity-level inputs (price volatility);
    the grade is taken over them and the flags of every covered consumer's bottleneck stage."""
    have = [k for k in consumer_weights if bottlenecks.get(k) is not None and bottlenecks[k].value is not None]
    lacking = tuple(k for k in consumer_weights if k not in have)
    by = {k: (bottlenecks[k].stage if k in bottlenecks else None) for k in consumer_weights}
    if not have:
        return JointScore(None, (), lacking, None, by, tuple(shared_flags), None)
    vals = {k: float(bottlenecks[k].value or 0.0) for k in have}
    w = {k: float(consumer_weights[k]) for k in have}
    j = calc_joint_score(vals, {}, w, 1.0, 0.0)
    stages = {by[k] for k in have}
    stage = next(iter(stages)) if len(stages) == 1 else by[max(have, key=lambda k: (w[k] * vals[k], k))]
    flags = list(shared_flags)
    for k in have:
        sc = bottlenecks[k].score
        flags += [f for f in (sc.flags if sc else ()) if f not in flags]
    return JointScore(j, tuple(have), lacking, stage, by, tuple(flags), calc_grade(flags))
