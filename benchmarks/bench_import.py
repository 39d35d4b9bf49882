"""Benchmark: cold import of everything in the data directory, and a warm production query.

Targets (issue 2): cold import < 10 s median on the 2-core machine; warm
``production("rare earths", stage="mine", year=2024)`` < 50 ms median.

    .venv/bin/python benchmarks/bench_import.py [--runs 3] [--queries 50]

Each cold run imports into a fresh temporary DuckDB file in a fresh process (so no parser
cache or warm import state is shared), and the script prints the median and all runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, sys, time
t0 = time.perf_counter()
from critmin.data.warehouse import Warehouse
wh = Warehouse(sys.argv[1])
r = wh.import_data(sys.argv[2] if len(sys.argv) > 2 else None)
wh.close()
print(json.dumps({"seconds": time.perf_counter() - t0, "import_seconds": r.seconds, "rows": r.rows, "datasets": len(r.added)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--data", default=None)
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    cold = []
    last_db = None
    for i in range(a.runs):
        d = tempfile.mkdtemp(prefix="critmin-bench-")
        db = str(Path(d) / "bench.duckdb")
        out = subprocess.run([sys.executable, "-c", CHILD, db] + ([a.data] if a.data else []), capture_output=True, text=True, check=True)
        res = json.loads(out.stdout.strip().splitlines()[-1])
        cold.append(res["seconds"])
        print(f"cold import run {i + 1}: {res['seconds']:.2f} s wall incl. interpreter start "
              f"({res['import_seconds']:.2f} s in import_all; {res['datasets']} datasets, {res['rows']:,} rows)")
        last_db = db
    from critmin.data.warehouse import Warehouse

    wh = Warehouse(last_db, read_only=True)
    wh.production("rare earths", stage="mine", year=2024)  # warm-up
    q = []
    for _ in range(a.queries):
        t = time.perf_counter()
        wh.production("rare earths", stage="mine", year=2024)
        q.append(time.perf_counter() - t)
    wh.close()
    print(f"cold import: median {statistics.median(cold):.2f} s over {a.runs} runs (target < 10 s)")
    print(f"warm production query: median {1000 * statistics.median(q):.1f} ms, p95 "
          f"{1000 * sorted(q)[int(0.95 * len(q)) - 1]:.1f} ms over {a.queries} queries (target < 50 ms)")


if __name__ == "__main__":
    main()
