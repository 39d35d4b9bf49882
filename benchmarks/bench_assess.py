"""Benchmark: the full risk assessment (all commodities, every chain stage with data, USA+JPN).

Prints the cold time (first call: warehouse reads + concentration for every year), the median
of warm calls of one year with the concentration history (inputs cached per warehouse content),
and the median of the full assessment for each year 2020-2024 (issue 12: every stage for both
partners, warm, target < 0.5 s for the five years together), measured side by side.

    .venv/bin/python benchmarks/bench_assess.py [--db PATH] [--repeat N]
Targets: warm one year < 2 s; warm 2020-2024 < 0.5 s.
"""

from __future__ import annotations

import argparse
import statistics
import time

import critmin
from critmin.risk import api

YEARS = range(2020, 2025)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=None)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    wh = critmin.open(args.db, read_only=True)
    api._CACHE.clear()
    t0 = time.perf_counter()
    res = api.run(wh, ("USA", "JPN"), 2024)
    hist = api.concentration_history(wh)
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        api.run(wh, ("USA", "JPN"), 2024)
        api.concentration_history(wh)
        warm.append(time.perf_counter() - t0)
    for y in YEARS:  # the first call of a year builds its stage views and price table once
        api.run(wh, ("USA", "JPN"), y)
    five, rows = [], 0
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        rows = sum(len(api.run(wh, ("USA", "JPN"), y).records) for y in YEARS)
        five.append(time.perf_counter() - t0)
    med, med5 = statistics.median(warm), statistics.median(five)
    stages = sorted({st for r in res.records for st in r["stages"]})
    ranked = sum(r["group"] == "ranked" for r in res.records)
    print(f"commodities={len(res.records)} (ranked for both partners {ranked}) stages={stages} "
          f"stage-year rows={len(hist)} years={sorted(set(hist.year))}")
    print(f"cold (first call, reads + all years): {cold:.3f} s")
    print(f"warm median of {args.repeat} (2024 + concentration history): {med:.3f} s  (min {min(warm):.3f}, max {max(warm):.3f})")
    print(f"warm median of {args.repeat}, full assessment 2020-2024 ({rows} commodity-years, all stages, USA+JPN): "
          f"{med5:.3f} s  (min {min(five):.3f}, max {max(five):.3f})")
    print(f"cold/warm ratio: {cold / med:.1f}x; target warm < 2 s: {'OK' if med < 2 else 'MISSED'}; "
          f"target 2020-2024 warm < 0.5 s: {'OK' if med5 < 0.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
