"""Benchmark of projects against the outlook (issue 17), on the real warehouse and the seed:

1. valuing the 35 seed projects against the gap (``projects.outlook_value.value_projects``,
   ``--draws`` pipeline draws, the market scores computed once beforehand);
2. the selection with the README's budgets (USA=5e9, JPN=3e9) and a CRMA-style stage target
   (processing:USA=0.1@2030), with its exclusions explained and the shadow prices.

Prints medians of ``--repeat`` runs side by side.

    .venv/bin/python benchmarks/bench_projects.py --db /tmp/wh.duckdb [--repeat 3] [--draws 2000]
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--draws", type=int, default=2000)
    a = ap.parse_args()

    import critmin
    from critmin.projects.api import score_with_warehouse, select_portfolio
    from critmin.projects.outlook_value import (
        as_scores,
        stage_targets,
        value_projects,
        value_summary,
    )
    from critmin.projects.registry import load_seed

    wh = critmin.open(db=a.db)
    seed = load_seed()
    t = time.perf_counter()
    market = score_with_warehouse(wh, seed)
    t_market = time.perf_counter() - t
    value_times, select_times = [], []
    for r in range(a.repeat):
        t = time.perf_counter()
        values = value_projects(wh, seed, market, n_draws=a.draws, random_state=r)
        value_times.append(time.perf_counter() - t)
        scores = as_scores(values, market)
        targets, _ = stage_targets(wh, seed, [("processing", "USA", 0.1, 2030)])
        t = time.perf_counter()
        res = select_portfolio(seed, scores, {"USA": 5e9, "JPN": 3e9}, targets=targets)
        select_times.append(time.perf_counter() - t)
    sm = value_summary(values)
    n_scored = sm["scored"]
    print(f"market scores (once, disruption Monte Carlo): {t_market:.2f} s")
    print(f"{'case':<62} {'median s':>9}")
    print(f"{f'value 35 seed projects against the gap ({a.draws:,} draws; {n_scored} scored)':<62} "
          f"{statistics.median(value_times):>9.3f}")
    print(f"{'select with USA=5e9, JPN=3e9 and processing:USA=0.1@2030':<62} {statistics.median(select_times):>9.3f}")
    used = ", ".join(f"{k} US${v['used_usd'] / 1e9:.2f} bn of {v['budget_usd'] / 1e9:.0f}" for k, v in res["budget_report"].items())
    print(f"selected {len(res['selected'])}; budget used {used}")
    print(f"runs: value {[f'{x:.3f}' for x in value_times]}, select {[f'{x:.3f}' for x in select_times]}")


if __name__ == "__main__":
    main()
