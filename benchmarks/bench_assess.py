"""Benchmark: the full risk assessment (all commodities, stages, years, USA+JPN).

Prints the cold time (first call: warehouse reads + concentration for every year) and the
median of warm calls (inputs cached per warehouse content), measured side by side.

    .venv/bin/python benchmarks/bench_assess.py [--db PATH] [--repeat N]
Target: warm median < 2 s.
"""

from __future__ import annotations

import argparse
import statistics
import time

import critmin
from critmin.risk import api


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
    med = statistics.median(warm)
    print(f"commodities={len(res.records)} stage-year rows={len(hist)} years={sorted(set(hist.year))}")
    print(f"cold (first call, reads + all years): {cold:.3f} s")
    print(f"warm median of {args.repeat}: {med:.3f} s  (min {min(warm):.3f}, max {max(warm):.3f})")
    print(f"cold/warm ratio: {cold / med:.1f}x; target warm < 2 s: {'OK' if med < 2 else 'MISSED'}")


if __name__ == "__main__":
    main()
