"""Benchmark: cold import of everything into a new warehouse version, where the time goes, and a
warm production query.

Targets: cold import into a new version < 5 s median on the 2-core machine (issue 18; issue 2
had < 10 s); warm ``production("rare earths", stage="mine", year=2024)`` < 50 ms median.

    .venv/bin/python benchmarks/bench_import.py [--runs 3] [--queries 50] [--processes 1,2]

Each cold run is ``critmin data import --fresh`` in a fresh process (interpreter start and
module imports included, no parser cache or warm import state shared) into a new, empty
warehouse path: discover + sha256, parse (by source family), one write transaction,
checkpoint and the atomic switch. Runs with each ``--processes`` value (setting
``data.import_processes``) side by side, so the effect of the parallel parse is measured in
the same conditions.
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
from pathlib import Path
from critmin.data import paths
from critmin.data.versions import import_version
t_mod = time.perf_counter() - t0
r, version, timing = import_version(Path(sys.argv[1]), paths.resolve_data_dir(sys.argv[2] if len(sys.argv) > 2 else None), fresh=True)
print(json.dumps({"seconds": time.perf_counter() - t0, "modules": t_mod, "import_seconds": r.seconds,
                  "rows": r.rows, "datasets": len(r.added), "timing": timing, "phases": r.timing,
                  "by_source": r.parse_by_source}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--data", default=None)
    ap.add_argument("--processes", default="1,2", help="values of data.import_processes to compare")
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    medians: dict[str, float] = {}
    last_db = None
    for procs in a.processes.split(","):
        cold, last = [], None
        for i in range(a.runs):
            d = tempfile.mkdtemp(prefix="critmin-bench-")
            db = str(Path(d) / "bench.duckdb")
            env = {**os.environ, "CRITMIN_DATA_IMPORT_PROCESSES": procs}
            out = subprocess.run([sys.executable, "-c", CHILD, db] + ([a.data] if a.data else []),
                                 capture_output=True, text=True, check=True, env=env)
            res = json.loads(out.stdout.strip().splitlines()[-1])
            cold.append(res["seconds"])
            last = res
            print(f"processes={procs} run {i + 1}: {res['seconds']:.2f} s wall ({res['datasets']} datasets, "
                  f"{res['rows']:,} rows)")
            last_db = db
        medians[procs] = statistics.median(cold)
        assert last is not None
        ph, tm = last["phases"], last["timing"]
        print(f"  where the time went (last run): interpreter + modules {last['modules']:.2f} s, "
              f"discover + sha256 {ph['discover']:.2f} s, parse {ph['parse']:.2f} s, write {ph['write']:.2f} s, "
              f"checkpoint {tm.get('checkpoint', 0):.2f} s, switch {tm.get('switch', 0):.3f} s")
        top = sorted(last["by_source"].items(), key=lambda kv: -kv[1])[:6]
        print("  parse seconds by source (summed over processes): "
              + ", ".join(f"{k} {v:.2f}" for k, v in top))
    from critmin.data.warehouse import Warehouse

    wh = Warehouse(last_db, read_only=True)
    wh.production("rare earths", stage="mine", year=2024)  # warm-up
    q = []
    for _ in range(a.queries):
        t = time.perf_counter()
        wh.production("rare earths", stage="mine", year=2024)
        q.append(time.perf_counter() - t)
    wh.close()
    for procs, m in medians.items():
        print(f"cold import into a new version, processes={procs}: median {m:.2f} s over {a.runs} runs "
              f"(target < 5 s: {'MET' if m < 5 else 'NOT MET'})")
    if len(medians) > 1:
        base = next(iter(medians.values()))
        print("ratios to processes=" + next(iter(medians)) + ": "
              + ", ".join(f"{k}: {v / base:.2f}" for k, v in medians.items()))
    print(f"warm production query: median {1000 * statistics.median(q):.1f} ms, p95 "
          f"{1000 * sorted(q)[int(0.95 * len(q)) - 1]:.1f} ms over {a.queries} queries (target < 50 ms)")


if __name__ == "__main__":
    main()
