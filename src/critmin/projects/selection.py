"""Joint project selection: a mixed-integer programme solved with HiGHS.

Variables: binary ``x[p, o]``: fund project *p* through financing option *o* (a package of
instruments and partners; by default one option per project, its requests as submitted).

    maximise    sum_{p,o} v_p x[p,o]                                  (risk reduction, US$)
    subject to  sum c^US_{p,o} x[p,o] <= B_US,  sum c^JP_{p,o} x[p,o] <= B_JP     (budgets)
                sum_o x[p,o] <= 1                                     (one option per project)
                sum_{p in c} (c^US + c^JP) x <= s_max (B_US + B_JP)   (max share per commodity)
                sum_{p in stage g} x >= m_g, sum_{p in c} x >= m_c    (optional minimum counts)
                x_a + x_b <= 1  (mutually exclusive),  x_a <= x_b  (a depends on b)

Built in steps (:func:`build_model` → :func:`solve` → read back); the solver status is
always checked.

Why was a project left out? (:func:`explain_exclusions`) Three checks, in order:

1. value <= 0: nothing to gain;
2. "what breaks": add the project to the optimal portfolio as it stands and list every
   constraint that would then be violated (and by how much) - the constraints that kept it out;
3. re-solve with the project forced in: the best portfolio that includes it, its loss of risk
   reduction against the optimum and the projects it would displace (or, if no feasible
   portfolio includes it, the constraint families whose removal makes one feasible). A loss
   of zero means a tie: an alternative optimum includes it.

Shadow value of each budget (:func:`shadow_prices`): (a) the dual of the budget row in the
LP relaxation, and (b) the finite difference of the MIP optimum, ``(Z*(B + d) - Z*(B)) / d``
with ``d = projects.select.shadow_delta`` x B. The MIP value is a step function of the budget,
so (b) depends on ``d``; both are reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from critmin import settings
from critmin.data import partners as _partners

settings.register(
    "projects.select.max_commodity_share",
    0.5,
    "Default maximum share of the joint budget (US + Japan) for any one commodity.",
    "Policy choice (diversification); no published value. Set 1.0 to disable.",
)
settings.register(
    "projects.select.shadow_delta",
    0.10,
    "Relative budget increment for the finite-difference shadow value of a budget.",
    "Numerical choice: 10 % of the budget (MIP optima are step functions of the budget).",
)
settings.register(
    "projects.select.mip_rel_gap",
    1e-9,
    "Relative MIP optimality gap for HiGHS (near 0: prove optimality).",
    "HiGHS option mip_rel_gap (default 1e-4); tightened so results are exactly optimal.",
)
settings.register(
    "projects.select.time_limit_s",
    120.0,
    "Time limit per MIP solve, seconds; hitting it is an error, never a silent sub-optimum.",
    "Operational choice.",
)

TOL = 1e-6


class SelectionError(RuntimeError):
    pass


@dataclass(frozen=True)
class Option:
    label: str
    cost: Mapping[str, float]  # partner -> budget cost (US$)
    instruments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    project_id: str
    commodity_id: str
    stage: str
    value_usd: float
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Target:
    """A stage target: ``sum_p w_p x_p >= minimum`` (e.g. expected secure tonnes of a partner's
    processing supply in 2030 >= 10 % of its processing demand, in the style of the EU CRMA
    benchmarks). ``weights`` maps project id -> its contribution (t)."""

    key: str
    weights: Mapping[str, float]
    minimum: float


@dataclass(frozen=True)
class SelectionProblem:
    candidates: tuple[Candidate, ...]
    budget: Mapping[str, float]
    max_commodity_share: float | None = None
    min_per_stage: Mapping[str, int] = field(default_factory=dict)
    min_per_commodity: Mapping[str, int] = field(default_factory=dict)
    exclusive: tuple[tuple[str, str], ...] = ()
    depends: tuple[tuple[str, str], ...] = ()  # (a, b): a only if b
    #: the partners with a budget (default: setting ``risk.consumers``)
    partners: tuple[str, ...] = field(default_factory=_partners.partners)
    targets: tuple[Target, ...] = ()

    def __post_init__(self) -> None:
        for k in self.partners:
            if k not in self.budget:
                raise ValueError(f"budget: expected an amount for {k}")
            if not self.budget[k] >= 0:
                raise ValueError(f"budget[{k}]: expected >= 0, got {self.budget[k]}")
        ids = [c.project_id for c in self.candidates]
        known = set(ids)
        if len(known) != len(ids):
            raise ValueError("candidates: project ids must be unique")
        for kind, pairs in (("exclusive", self.exclusive), ("depends", self.depends)):
            for a, b in pairs:
                for x in (a, b):
                    if x not in known:
                        raise ValueError(f"{kind}: unknown or not selectable project {x!r}")
        if self.max_commodity_share is not None and not 0 < self.max_commodity_share <= 1:
            raise ValueError(f"max_commodity_share: expected a fraction in (0, 1], got {self.max_commodity_share}")


@dataclass
class Model:
    """The assembled MIP in HiGHS form plus labels for rows and columns."""

    cols: list[tuple[int, int]]  # (candidate index, option index)
    cost: np.ndarray  # objective (maximise)
    A: sp.csr_matrix
    lo: np.ndarray
    hi: np.ndarray
    rows: list[tuple[str, str]]  # (family, key) e.g. ("budget", "USA")


def build_model(pr: SelectionProblem, families_off: frozenset[str] = frozenset()) -> Model:
    """Variables and constraint families (each family can be switched off for diagnosis)."""
    cols = [(i, j) for i, c in enumerate(pr.candidates) for j in range(len(c.options))]
    col_of: dict[int, list[int]] = {}
    for k, (i, _) in enumerate(cols):
        col_of.setdefault(i, []).append(k)
    idx = {c.project_id: i for i, c in enumerate(pr.candidates)}
    rows: list[tuple[str, str]] = []
    data: list[tuple[int, int, float]] = []
    lo: list[float] = []
    hi: list[float] = []

    def add_row(family: str, key: str, entries: list[tuple[int, float]], lb: float, ub: float) -> None:
        r = len(rows)
        rows.append((family, key))
        data.extend((r, k, v) for k, v in entries)
        lo.append(lb)
        hi.append(ub)

    def proj(i: int, w: float = 1.0) -> list[tuple[int, float]]:
        return [(k, w) for k in col_of[i]]

    for partner in pr.partners:
        if "budget" not in families_off:
            ent = [(k, pr.candidates[i].options[j].cost.get(partner, 0.0)) for k, (i, j) in enumerate(cols)]
            add_row("budget", partner, [e for e in ent if e[1]], -np.inf, pr.budget[partner])
    for i, c in enumerate(pr.candidates):
        if len(c.options) > 1:
            add_row("one_option", c.project_id, proj(i), -np.inf, 1.0)
    commodities = sorted({c.commodity_id for c in pr.candidates})
    if pr.max_commodity_share is not None and pr.max_commodity_share < 1 and "share_cap" not in families_off:
        cap = pr.max_commodity_share * sum(pr.budget[p] for p in pr.partners)
        for com in commodities:
            ent = [
                (k, sum(pr.candidates[i].options[j].cost.values()))
                for k, (i, j) in enumerate(cols)
                if pr.candidates[i].commodity_id == com
            ]
            add_row("share_cap", com, ent, -np.inf, cap)
    for fam, mins, attr in (("min_stage", pr.min_per_stage, "stage"), ("min_commodity", pr.min_per_commodity, "commodity_id")):
        if fam in families_off:
            continue
        for key, m in sorted(mins.items()):
            ent = [e for i, c in enumerate(pr.candidates) if getattr(c, attr) == key for e in proj(i)]
            add_row(fam, key, ent, float(m), np.inf)
    if "target" not in families_off:
        for t in pr.targets:
            ent = [e for i, c in enumerate(pr.candidates) if t.weights.get(c.project_id, 0.0) > 0
                   for e in proj(i, float(t.weights[c.project_id]))]
            add_row("target", t.key, ent, float(t.minimum), np.inf)
    if "exclusive" not in families_off:
        for a, b in pr.exclusive:
            add_row("exclusive", f"{a}|{b}", proj(idx[a]) + proj(idx[b]), -np.inf, 1.0)
    if "depends" not in families_off:
        for a, b in pr.depends:
            add_row("depends", f"{a}->{b}", proj(idx[a]) + proj(idx[b], -1.0), -np.inf, 0.0)
    row_ix = np.array([t[0] for t in data], dtype=int)
    col_ix = np.array([t[1] for t in data], dtype=int)
    val = np.array([t[2] for t in data], dtype=float)
    A = sp.csr_matrix((val, (row_ix, col_ix)), shape=(len(rows), len(cols)))
    obj = np.array([pr.candidates[i].value_usd for i, _ in cols], dtype=float)
    return Model(cols, obj, A, np.array(lo, float), np.array(hi, float), rows)


@dataclass
class Solution:
    status: str
    objective: float
    x: np.ndarray
    activity: np.ndarray
    duals: np.ndarray | None = None


def solve(m: Model, forced: Sequence[int] = (), relax: bool = False, budget_override: Mapping[str, float] | None = None) -> Solution:
    """Solve the model (MIP, or its LP relaxation with ``relax``); ``forced`` candidate
    indices must be funded (sum over their options = 1)."""
    n = len(m.cols)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", float(settings.get("projects.select.mip_rel_gap")))
    h.setOptionValue("time_limit", float(settings.get("projects.select.time_limit_s")))
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.col_cost_ = -m.cost
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n)
    A = m.A
    lo, hi = m.lo.copy(), m.hi.copy()
    if budget_override:
        for r, (fam, key) in enumerate(m.rows):
            if fam == "budget" and key in budget_override:
                hi[r] = budget_override[key]
    if forced:
        rr, cc = [], []
        for r_i, i in enumerate(forced):
            for k, (ci, _) in enumerate(m.cols):
                if ci == i:
                    rr.append(r_i)
                    cc.append(k)
        extra = sp.csr_matrix((np.ones(len(rr)), (rr, cc)), shape=(len(forced), n))
        A = sp.vstack([A, extra]).tocsr()
        lo = np.concatenate([lo, np.ones(len(forced))])
        hi = np.concatenate([hi, np.ones(len(forced))])
    csc = A.tocsc()
    lp.num_row_ = A.shape[0]
    lp.row_lower_ = np.where(np.isinf(lo), -inf, lo)
    lp.row_upper_ = np.where(np.isinf(hi), inf, hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr
    lp.a_matrix_.index_ = csc.indices
    lp.a_matrix_.value_ = csc.data
    if not relax:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    h.passModel(lp)
    h.run()
    st = h.getModelStatus()
    if st == highspy.HighsModelStatus.kInfeasible:
        return Solution("infeasible", float("nan"), np.zeros(n), np.zeros(A.shape[0]))
    if st != highspy.HighsModelStatus.kOptimal:
        raise SelectionError(f"HiGHS did not prove optimality: {h.modelStatusToString(st)}")
    sol = h.getSolution()
    x = np.round(np.array(sol.col_value)) if not relax else np.array(sol.col_value)
    duals = -np.array(sol.row_dual)[: len(m.rows)] if relax else None
    return Solution("optimal", float(m.cost @ x), x, m.A @ x, duals)


def _portfolio(pr: SelectionProblem, m: Model, x: np.ndarray) -> dict[int, int]:
    return {m.cols[k][0]: m.cols[k][1] for k in np.flatnonzero(x > 0.5)}


def _violations(pr: SelectionProblem, m: Model, x: np.ndarray) -> list[dict[str, Any]]:
    act = m.A @ x
    out = []
    for r, (fam, key) in enumerate(m.rows):
        if act[r] > m.hi[r] + TOL * max(1.0, abs(m.hi[r])):
            out.append({"constraint": f"{fam}:{key}", "limit": float(m.hi[r]), "would_be": float(act[r]), "excess": float(act[r] - m.hi[r])})
        elif act[r] < m.lo[r] - TOL:
            out.append({"constraint": f"{fam}:{key}", "limit": float(m.lo[r]), "would_be": float(act[r]), "excess": float(m.lo[r] - act[r])})
    return out


def _describe(v: dict[str, Any], pid: str) -> str:
    fam, key = v["constraint"].split(":", 1)
    if fam == "budget":
        return f"the {key} budget (US${v['limit']:,.0f}) would be exceeded by US${v['excess']:,.0f}"
    if fam == "share_cap":
        return f"the maximum budget share for {key} (US${v['limit']:,.0f}) would be exceeded by US${v['excess']:,.0f}"
    if fam == "exclusive":
        other = [x for x in key.split("|") if x != pid] or [pid]
        return f"it is mutually exclusive with {other[0]}, which is selected"
    if fam == "depends":
        return f"it depends on {key.split('->')[1]}, which is not selected"
    if fam == "target":
        return f"the stage target {key} ({v['limit']:,.0f} t) would be missed by {v['excess']:,.0f} t"
    return f"constraint {v['constraint']} would be violated"


def explain_exclusions(pr: SelectionProblem, m: Model, best: Solution) -> list[dict[str, Any]]:
    """For every candidate not selected, the constraint that kept it out (module docstring)."""
    chosen = _portfolio(pr, m, best.x)
    out = []
    for i, c in enumerate(pr.candidates):
        if i in chosen:
            continue
        entry: dict[str, Any] = {"project": c.project_id}
        if c.value_usd <= TOL:
            entry.update(reason="no risk reduction (value <= 0)", binding=[], value_loss_usd=None)
            out.append(entry)
            continue
        trials = []
        for j in range(len(c.options)):
            x = best.x.copy()
            x[[k for k, (ci, _) in enumerate(m.cols) if ci == i]] = 0
            x[m.cols.index((i, j))] = 1
            trials.append(_violations(pr, m, x))
        viol = min(trials, key=len)
        forced = solve(m, forced=[i])
        if forced.status == "infeasible":
            fams = sorted({f for f, _ in m.rows} - {"one_option"})
            culprits = [f for f in fams if solve(build_model(pr, frozenset({f})), forced=[i]).status == "optimal"]
            entry.update(
                reason="no feasible portfolio includes it; "
                + ("; ".join(_describe(v, c.project_id) for v in viol) or "constraints conflict")
                + (f" (dropping constraint family {', '.join(culprits)} would admit it)" if culprits else ""),
                binding=[v["constraint"] for v in viol],
                value_loss_usd=None,
            )
        else:
            loss = best.objective - forced.objective
            if loss <= TOL * max(1.0, abs(best.objective)):
                entry.update(reason="tie: an alternative optimal portfolio includes it", binding=[], value_loss_usd=0.0)
            else:
                displaced = sorted(pr.candidates[k].project_id for k in set(chosen) - set(_portfolio(pr, m, forced.x)))
                entry.update(
                    reason="; ".join(_describe(v, c.project_id) for v in viol)
                    + f"; the best portfolio including it reduces risk by US${loss:,.0f} less"
                    + (f" (it would displace {', '.join(displaced)})" if displaced else ""),
                    binding=[v["constraint"] for v in viol],
                    value_loss_usd=loss,
                    displaced=displaced,
                )
        out.append(entry)
    return out


def shadow_prices(pr: SelectionProblem, m: Model, best: Solution) -> dict[str, dict[str, float]]:
    """Shadow value of each budget (risk reduction US$ per budget US$): LP dual and MIP finite difference."""
    lp = solve(m, relax=True)
    delta_rel = float(settings.get("projects.select.shadow_delta"))
    out = {}
    for partner in pr.partners:
        r = m.rows.index(("budget", partner))
        b = pr.budget[partner]
        d = delta_rel * b if b > 0 else 1.0
        if d <= 0:
            raise SelectionError("projects.select.shadow_delta must be > 0")
        up = solve(m, budget_override={partner: b + d})
        out[partner] = {
            "lp_dual": float(lp.duals[r]) if lp.duals is not None else float("nan"),
            "mip_finite_difference": (up.objective - best.objective) / d,
            "mip_delta_usd": d,
        }
    return out


def select(pr: SelectionProblem, explain: bool = True) -> dict[str, Any]:
    """Solve the selection and return the JSON-ready result."""
    if not pr.candidates:
        raise SelectionError("no candidate projects to select from")
    m = build_model(pr)
    best = solve(m)
    if best.status == "infeasible":
        fams = sorted({f for f, _ in m.rows})
        culprits = [f for f in fams if solve(build_model(pr, frozenset({f}))).status == "optimal"]
        raise SelectionError(
            "no feasible portfolio: the constraints cannot all hold"
            + (f"; dropping {', '.join(culprits)} would make it feasible" if culprits else "")
        )
    chosen = _portfolio(pr, m, best.x)
    selected = []
    used = dict.fromkeys(pr.partners, 0.0)
    for i, j in sorted(chosen.items(), key=lambda t: pr.candidates[t[0]].project_id):
        c, o = pr.candidates[i], pr.candidates[i].options[j]
        for p in pr.partners:
            used[p] += o.cost.get(p, 0.0)
        selected.append(
            {
                "project": c.project_id,
                "option": o.label,
                "instruments": list(o.instruments),
                "commodity": c.commodity_id,
                "stage": c.stage,
                "value_usd": c.value_usd,
                "cost_usd": {p: o.cost.get(p, 0.0) for p in pr.partners},
            }
        )
    return {
        "selected": selected,
        "excluded": explain_exclusions(pr, m, best) if explain else [],
        "risk_reduction": best.objective,
        "budget": dict(pr.budget),
        "budget_used": used,
        "shadow_prices": shadow_prices(pr, m, best),
        "solver": {"name": "HiGHS", "version": highspy.Highs().version(), "status": best.status},
    }


def with_budget(pr: SelectionProblem, budget: Mapping[str, float]) -> SelectionProblem:
    return replace(pr, budget=dict(budget))
