"""Benchmark of the outlook (issue 17).

1. The gap for every commodity with an IEA outlook and both stages, 2025-2040, the world, each
   partner and the partners together, three scenarios, 10,000 draws of the project pipeline
   (inputs gathered once from the warehouse; the timed part is the Monte Carlo and summary).
   Target: under 5 s.
2. A portfolio of 200 projects selected against it (synthetic projects: the seed's commodities
   and stages, values from the gap closed, costs drawn; HiGHS MIP with budgets, the commodity
   share cap and one stage target). Target: under 30 s.

Prints medians of ``--repeat`` runs and the ratio to the target, side by side.

    .venv/bin/python benchmarks/bench_outlook.py --db /tmp/wh.duckdb [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--draws", type=int, default=10_000)
    a = ap.parse_args()

    import critmin
    from critmin.outlook.pipeline import STAGES
    from critmin.outlook.service import (
        IEA_SUPPLY_MINERALS,
        compute_gaps,
        gap_inputs,
        partner_shares,
        years_range,
    )
    from critmin.projects.registry import load_seed
    from critmin.projects.selection import Candidate, Option, SelectionProblem, Target, select

    wh = critmin.open(db=a.db)
    seed = load_seed()
    years = years_range(2025, 2040)
    t0 = time.perf_counter()
    inputs = []
    for c in IEA_SUPPLY_MINERALS:
        sh = partner_shares(wh, c, ["USA", "JPN"])
        for st in STAGES:
            inputs.append(gap_inputs(wh, c, st, years, seed, ("STEPS", "APS", "NZE"), ("USA", "JPN"), sh))
    prep = time.perf_counter() - t0

    gap_times = []
    for r in range(a.repeat):
        t = time.perf_counter()
        n_series = 0
        for i, inp in enumerate(inputs):
            res = compute_gaps(inp, a.draws, np.random.default_rng([r, i]))
            n_series += len(res)
        gap_times.append(time.perf_counter() - t)

    rng = np.random.default_rng(1)
    cands = []
    for i in range(200):
        stage = ["mine", "processing", "magnets", "recycling"][i % 4]
        cands.append(Candidate(f"B{i:03d}", IEA_SUPPLY_MINERALS[i % 6], stage, float(rng.lognormal(20, 1.5)),
                               (Option("as submitted", {"USA": float(rng.uniform(1e7, 4e8)) * (i % 3 != 2),
                                                        "JPN": float(rng.uniform(1e7, 3e8)) * (i % 3 != 0)}),)))
    target = Target("rare_earths:processing:USA>=0.1@2030",
                    {c.project_id: float(rng.uniform(100, 2000)) for c in cands
                     if c.commodity_id == "rare_earths" and c.stage == "processing"}, 3000.0)
    pr = SelectionProblem(tuple(cands), {"USA": 5e9, "JPN": 3e9}, 0.5, targets=(target,), partners=("USA", "JPN"))
    sel_times = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        res_sel = select(pr, explain=False)
        sel_times.append(time.perf_counter() - t)

    g, s = statistics.median(gap_times), statistics.median(sel_times)
    print(f"inputs from the warehouse (once): {prep:.2f} s for {len(inputs)} commodity-stage pairs")
    print(f"{'case':<58} {'median s':>9} {'target s':>9} {'ratio':>6}")
    glabel = f"gap: {len(inputs)} pairs x {n_series // len(inputs)} scope-scenarios x 16 yr, {a.draws:,} draws"
    print(f"{glabel:<58} "
          f"{g:>9.3f} {5.0:>9.1f} {g / 5.0:>6.2f}")
    label = f"selection: 200 projects, 2 budgets, share cap, 1 target ({len(res_sel['selected'])} chosen)"
    print(f"{label:<58} "
          f"{s:>9.3f} {30.0:>9.1f} {s / 30.0:>6.2f}")
    print(f"runs: gap {[f'{x:.3f}' for x in gap_times]}, selection {[f'{x:.3f}' for x in sel_times]}")


if __name__ == "__main__":
    main()
