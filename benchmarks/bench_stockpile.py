"""Benchmark: stockpile LP, our vectorised highspy build vs the same model in Pyomo.

Target (issue 5): every commodity in the warehouse, 2 partners, 2,000 scenarios, solved in at
most 60 s median on the 2-core machine, with model building at most 25 % of the total.
Reference: the same model written in Pyomo (algebraic, rule-based), solved by the same HiGHS
through Pyomo's ``appsi_highs`` interface. Both runs print build / solve / total times and
the objective side by side (objectives must agree). The Pyomo model is written in the natural
form, with the unmet shortfall u as a variable; ours substitutes u out (docs/stockpile.md), so
the solve columns compare formulations as well as interfaces.

Usage::

    .venv/bin/python benchmarks/bench_stockpile.py [--db PATH] [--repeats 3] [--runs 2000]
        [--source real|synthetic|both] [--no-pyomo] [--loss damage|multiple]

``--loss damage`` (default; issue 13, target: 10,000 scenarios in under 60 s) plans what
``critmin stockpile plan --budget USA=2e9,JPN=1.5e9`` plans: the candidates of the
critical-mineral lists, the damage model's loss per unmet ton (``service.prepare``).
``--loss multiple`` is the model before issue 13: ``real`` samples 2,000 scenarios from the disruption simulator over every commodity in the
warehouse that has a price and an economic vulnerability; ``synthetic`` is a denser sample
of the same size (60 commodities, disruptions in 3-30 % of scenarios) that stresses the solver.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

import numpy as np

from critmin.stockpile.model import build_lp, make_highs, read_back, solve_lp
from critmin.stockpile.plan import make_problem
from critmin.stockpile.problem import StockpileProblem
from critmin.stockpile.synthetic import synthetic_sample


def real_problem(db: str | None, runs: int, seed: int, loss: str = "damage") -> StockpileProblem:
    from critmin.data import paths
    from critmin.data.warehouse import Warehouse
    from critmin.stockpile import inputs

    wh = Warehouse(paths.resolve_db_path(db), read_only=True)
    if loss == "damage":
        from critmin.stockpile.service import PlanRequest, prepare

        try:
            t0 = time.perf_counter()
            prep = prepare(wh, PlanRequest(budgets_usd={"USA": 2e9, "JPN": 1.5e9}, runs=runs, seed=seed,
                                           loss_model="damage"))
            t1 = time.perf_counter()
        finally:
            wh.close()
        print(f"real sample, damage loss: {len(prep.problem.commodities)} listed commodities x "
              f"{prep.problem.n_scenarios} scenarios ({len(prep.not_planned)} not planned); sampling + damage "
              f"table {t1 - t0:.1f} s (not in the LP times below)")
        return prep.problem
    try:
        sample = inputs.sample_for(wh, runs=runs, random_state=seed)
        sample, mult, _src, excluded = inputs.plannable(sample, inputs.economic_vulnerability_for(wh))
    finally:
        wh.close()
    print(f"real sample: {len(sample.commodities)} commodities x {sample.n_scenarios} scenarios "
          f"({len(excluded)} not computable, left out)")
    return make_problem(sample, _budgets(sample), mult)


def synthetic_problem(runs: int, seed: int) -> StockpileProblem:
    sample = synthetic_sample(60, runs, random_state=seed)
    print(f"synthetic sample: 60 commodities x {runs} scenarios")
    return make_problem(sample, _budgets(sample), dict.fromkeys(sample.commodities, 3.0))


def _budgets(sample) -> dict[str, float]:
    """10 % of each partner's annual consumption value: a binding budget."""
    price = np.nan_to_num(sample.price_usd_per_t)
    value = (sample.consumption_t * price[:, None]).sum(axis=0)
    return {k: 0.1 * float(v) for k, v in zip(sample.consumers, value, strict=True)}


def run_ours(p: StockpileProblem) -> dict[str, float]:
    t0 = time.perf_counter()
    built = build_lp(p)
    t1 = time.perf_counter()
    h = make_highs(built)
    t2 = time.perf_counter()
    raw = solve_lp(h, p)
    read_back(p, built, raw)
    t3 = time.perf_counter()
    return {"build": t1 - t0, "pass": t2 - t1, "solve": t3 - t2, "total": t3 - t0,
            "objective": raw.objective, "rows": built.matrix.shape[0], "cols": built.matrix.shape[1],
            "nnz": built.matrix.nnz}


def build_pyomo(p: StockpileProblem):
    """The same LP in Pyomo, written the way a Pyomo user would (sets, rules)."""
    import pyomo.environ as pyo

    S, C, K = p.shortfall_t.shape
    act = np.flatnonzero(p.shortfall_t.reshape(S * C, K).max(axis=1) > 0)
    blocks = [(int(a // C), int(a % C)) for a in act]
    links = [(i, j) for i in range(K) for j in range(K) if i != j] if p.transfers_enabled else []
    d, w = p.shortfall_t, p.weights
    by_s = defaultdict(list)
    for b, (s, _c) in enumerate(blocks):
        by_s[s].append(b)
    G = 1 if p.mode == "coordinated" else K
    lam, alpha = p.risk_aversion, p.alpha

    m = pyo.ConcreteModel()
    m.CK = pyo.Set(initialize=[(c, k) for c in range(C) for k in range(K)], dimen=2)
    m.B = pyo.RangeSet(0, len(blocks) - 1)
    m.K = pyo.RangeSet(0, K - 1)
    m.L = pyo.Set(initialize=list(range(len(links))))
    m.x = pyo.Var(m.CK, within=pyo.NonNegativeReals)
    m.r = pyo.Var(m.B, m.K, bounds=lambda m, b, k: (0, d[blocks[b][0], blocks[b][1], k]))
    m.u = pyo.Var(m.B, m.K, bounds=lambda m, b, k: (0, d[blocks[b][0], blocks[b][1], k]))
    m.y = pyo.Var(m.B, m.L, bounds=lambda m, b, li: (0, p.transfer_cover * d[blocks[b][0], blocks[b][1], links[li][1]]))
    m.G = pyo.RangeSet(0, G - 1)
    m.S = pyo.RangeSet(0, S - 1)
    m.eta = pyo.Var(m.G)
    m.z = pyo.Var(m.S, m.G, within=pyo.NonNegativeReals)
    q = p.unit_cost_usd_per_t

    def budget(m, k):
        if not np.isfinite(p.budgets_usd[k]):
            return pyo.Constraint.Skip
        return sum(q[c] * m.x[c, k] for c in range(C)) <= p.budgets_usd[k]

    m.budget = pyo.Constraint(m.K, rule=budget)
    m.balance = pyo.Constraint(m.B, m.K, rule=lambda m, b, k: m.r[b, k] + m.u[b, k] + sum(
        m.y[b, li] for li, (_i, j) in enumerate(links) if j == k) >= d[blocks[b][0], blocks[b][1], k])
    m.stock = pyo.Constraint(m.B, m.K, rule=lambda m, b, k: m.r[b, k] + sum(
        m.y[b, li] for li, (i, _j) in enumerate(links) if i == k) <= m.x[blocks[b][1], k])
    if links and p.lendable_share < 1:
        m.lend = pyo.Constraint(m.B, m.K, rule=lambda m, b, k: sum(
            m.y[b, li] for li, (i, _j) in enumerate(links) if i == k) <= p.lendable_share * m.x[blocks[b][1], k])

    def loss(m, s, g):
        return sum(p.loss_ck[blocks[b][1], k] * m.u[b, k] for b in by_s[s] for k in range(K)
                   if G == 1 or k == g) + sum(
            p.transfer_cost_usd_per_t[blocks[b][1]] * m.y[b, li] for b in by_s[s]
            for li, (i, _j) in enumerate(links) if G == 1 or i == g)

    if lam > 0:
        m.cvar = pyo.Constraint(m.S, m.G, rule=lambda m, s, g: m.z[s, g] >= loss(m, s, g) - m.eta[g])
    m.obj = pyo.Objective(expr=(
        sum(p.holding_usd_per_t_yr[c] * m.x[c, k] for c, k in m.CK)
        + sum(w[blocks[b][0]] * p.loss_ck[blocks[b][1], k] * m.u[b, k] for b in m.B for k in m.K)
        + sum(w[blocks[b][0]] * p.transfer_cost_usd_per_t[blocks[b][1]] * m.y[b, li] for b in m.B for li in m.L)
        + (lam * sum(m.eta[g] for g in m.G) + lam / (1 - alpha) * sum(w[s] * m.z[s, g] for s in m.S for g in m.G)
           if lam > 0 else 0)
    ), sense=pyo.minimize)
    return m


def run_pyomo(p: StockpileProblem) -> dict[str, float]:
    import pyomo.environ as pyo
    from pyomo.contrib.appsi.solvers.highs import Highs

    t0 = time.perf_counter()
    m = build_pyomo(p)
    t1 = time.perf_counter()
    opt = Highs()
    opt.config.stream_solver = False
    res = opt.solve(m)
    t2 = time.perf_counter()
    return {"build": t1 - t0, "solve": t2 - t1, "total": t2 - t0,
            "objective": float(pyo.value(m.obj)), "status": str(res.termination_condition)}


def med(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def bench(name: str, p: StockpileProblem, repeats: int, pyomo: bool) -> None:
    ours = [run_ours(p) for _ in range(repeats)]
    o = ours[0]
    print(f"\n== {name}: LP {o['cols']:,} columns x {o['rows']:,} rows, {o['nnz']:,} non-zeros; "
          f"mode {p.mode}, lambda {p.risk_aversion}, {repeats} repeats (medians)")
    theirs = [run_pyomo(p) for _ in range(repeats)] if pyomo else []
    hdr = f"{'':28s}{'ours (highspy)':>16s}" + (f"{'Pyomo+appsi_highs':>20s}{'ratio':>9s}" if pyomo else "")
    print(hdr)
    for key, label in (("build", "model build [s]"), ("solve", "pass + solve + read [s]"),
                       ("total", "total [s]")):
        a = med(ours, key) + (med(ours, "pass") if key == "solve" else 0.0)
        line = f"{label:28s}{a:16.3f}"
        if pyomo:
            b = med(theirs, key)
            line += f"{b:20.3f}{b / a:8.1f}x"
        print(line)
    share = med(ours, "build") / med(ours, "total")
    print(f"{'build share of total':28s}{100 * share:15.1f}%   (target <= 25 %)")
    print(f"{'objective':28s}{o['objective']:16.6g}" + (f"{theirs[0]['objective']:20.6g}" if pyomo else ""))
    total = med(ours, "total")
    print(f"target total <= 60 s: {'met' if total <= 60 else 'NOT met'} ({total:.2f} s); "
          f"build <= 25 %: {'met' if share <= 0.25 else 'NOT met'}")
    if pyomo:
        rel = abs(theirs[0]["objective"] - o["objective"]) / max(abs(o["objective"]), 1.0)
        print(f"objectives agree to {rel:.1e} (relative); Pyomo status {theirs[0]['status']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=None)
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--source", choices=("real", "synthetic", "both"), default="both")
    ap.add_argument("--no-pyomo", action="store_true")
    ap.add_argument("--loss", choices=("damage", "multiple"), default="damage")
    a = ap.parse_args()
    if a.source in ("real", "both"):
        name = ("warehouse, listed commodities, damage loss" if a.loss == "damage"
                else "warehouse (every plannable commodity), loss multiple")
        bench(name, real_problem(a.db, a.runs, a.seed, a.loss), a.repeats, not a.no_pyomo)
    if a.source in ("synthetic", "both"):
        bench("synthetic dense (60 commodities)", synthetic_problem(a.runs, a.seed), a.repeats,
              not a.no_pyomo)


if __name__ == "__main__":
    main()
