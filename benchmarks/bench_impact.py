"""Benchmark: the damage table (issue 13) for every commodity of the disruption market x USA, JPN.

Prints the cold time (first call: the disruption market from the warehouse and the curated
end-use, value-added and substitutability tables) and the median of warm calls (market cached
per warehouse content, curated inputs cached per setting values).

    .venv/bin/python benchmarks/bench_impact.py [--db PATH] [--repeat N]
Target: warm < 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time

import critmin
from critmin.impact import damage_table

TARGET_S = 0.05


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=None)
    ap.add_argument("--repeat", type=int, default=21)
    args = ap.parse_args()
    wh = critmin.open(args.db, read_only=True)
    t0 = time.perf_counter()
    df = damage_table(wh, ("USA", "JPN"))
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        damage_table(wh, ("USA", "JPN"))
        warm.append(time.perf_counter() - t0)
    med = statistics.median(warm)
    print(f"damage table: {len(df)} rows ({df['commodity_id'].nunique()} commodities x 2 partners)")
    print(f"cold {cold * 1000:.0f} ms; warm median {med * 1000:.1f} ms over {args.repeat} "
          f"(target < {TARGET_S * 1000:.0f} ms: {'ok' if med < TARGET_S else 'MISSED'})")


if __name__ == "__main__":
    main()
