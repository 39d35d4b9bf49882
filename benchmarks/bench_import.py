"""Benchmark: cold import of everything into a new warehouse version, where the time goes, and a
warm production query.

Targets: cold import into a new version < 5 s median on the 2-core machine (issue 18; issue 2
had < 10 s); warm ``production("rare earths", stage="mine", year=2024)`` < 50 ms median.

    .venv/bin/python benchmarks/bench_import.py [--runs 3] [--queries 50] [--processes 1,2]

Each cold run is what ``critmin data import --fresh`` does (``versions.import_version``), in a
fresh Python process, into a new, empty warehouse path, timed from the process's start to its
exit (interpreter start, module imports and exit included; no parser cache or warm import
state shared). The split of the last run lists every step one after another, so that they sum
to the wall time: interpreter start + exit, module imports, the import lock, opening the new
version (schema), discover, sha256, parse (here and in the worker processes), the write
transaction (schema, the BACI rows written while the workers parse, every other row, commit),
checkpoint, close, the atomic switch and pruning old versions; "not accounted for" is what is
left (a few milliseconds). The CPU seconds of the importing process and of its worker
processes say how far the wall time is from what 2 cores can do, and the bytecode line says
how many modules are compiled from source in every run (when no .pyc was written: uv does not
compile bytecode at install time unless asked, and PYTHONDONTWRITEBYTECODE stops Python
writing it). Runs with each ``--processes`` value (setting ``data.import_processes``) side by
side, so the effect of the parallel parse is measured in the same conditions.
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
import importlib.util, os, resource
from pathlib import Path
from critmin.data import paths
from critmin.data.versions import import_version
import critmin.data.importer, critmin.data.warehouse  # what import_version imports when it starts
t_mod = time.perf_counter() - t0
py = [m.__spec__.origin for m in list(sys.modules.values())
      if getattr(m, "__spec__", None) and (m.__spec__.origin or "").endswith(".py")]
no_pyc = sum(not os.path.exists(importlib.util.cache_from_source(o)) for o in py)
r, version, timing = import_version(Path(sys.argv[1]), paths.resolve_data_dir(sys.argv[2] if len(sys.argv) > 2 else None), fresh=True)
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": time.perf_counter() - t0, "modules": t_mod, "n_modules": len(py), "no_pyc": no_pyc,
                  "import_seconds": r.seconds, "rows": r.rows, "datasets": len(r.added), "timing": timing,
                  "phases": r.timing, "by_source": r.parse_by_source,
                  "cpu_parent": me.ru_utime + me.ru_stime, "cpu_workers": kids.ru_utime + kids.ru_stime}))
"""

#: import_version's steps, in the order they happen (``import`` is split in ImportReport.timing)
STEPS = ("lock", "copy", "open", "import", "checkpoint", "close", "switch", "prune")
PHASES = ("discover", "sha256", "parse", "schema", "write_bulk", "write", "commit")


def split(res: dict, wall: float) -> str:
    """Where one run's wall time went: every step, and what is left (should be ~0)."""
    tm, ph = res["timing"], res["phases"]
    parts = [("interpreter start + exit", wall - res["seconds"]), ("modules", res["modules"])]
    for step in STEPS:
        if step == "import":
            parts += [(p, ph.get(p, 0.0)) for p in PHASES]
            parts.append(("import, between phases", tm["import"] - sum(ph.get(p, 0.0) for p in PHASES)))
        else:
            parts.append((step, tm.get(step, 0.0)))
    parts.append(("not accounted for", wall - sum(v for _, v in parts)))
    return ", ".join(f"{k} {v:.2f}" for k, v in parts)


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
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", CHILD, db] + ([a.data] if a.data else []),
                                 capture_output=True, text=True, check=True, env=env)
            wall = time.perf_counter() - t
            res = json.loads(out.stdout.strip().splitlines()[-1])
            cold.append(wall)
            last = (res, wall)
            print(f"processes={procs} run {i + 1}: {wall:.2f} s wall, process start to exit ({res['seconds']:.2f} s "
                  f"in Python; {res['datasets']} datasets, {res['rows']:,} rows; load average {os.getloadavg()[0]:.2f})")
            last_db = db
        medians[procs] = statistics.median(cold)
        assert last is not None
        res, wall = last
        print(f"  where the time went (last run, seconds, one after another): {split(res, wall)}")
        print(f"  CPU seconds: importing process {res['cpu_parent']:.2f}, worker processes {res['cpu_workers']:.2f} "
              f"(on {os.cpu_count()} cores the wall time cannot be below "
              f"{(res['cpu_parent'] + res['cpu_workers']) / (os.cpu_count() or 1):.2f} s)")
        print(f"  bytecode: {res['no_pyc']} of the {res['n_modules']} Python modules imported before the import "
              f"have no .pyc, so they are compiled from source in every run"
              + (" (PYTHONDONTWRITEBYTECODE is set)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else ""))
        top = sorted(res["by_source"].items(), key=lambda kv: -kv[1])[:6]
        print("  parse seconds by source (summed over processes, overlapping): "
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
        print(f"cold import into a new version, processes={procs}: median {m:.2f} s wall over {a.runs} runs "
              f"(target < 5 s: {'MET' if m < 5 else 'NOT MET'})")
    if len(medians) > 1:
        base = next(iter(medians.values()))
        print("ratios to processes=" + next(iter(medians)) + ": "
              + ", ".join(f"{k}: {v / base:.2f}" for k, v in medians.items()))
    print(f"warm production query: median {1000 * statistics.median(q):.1f} ms, p95 "
          f"{1000 * sorted(q)[int(0.95 * len(q)) - 1]:.1f} ms over {a.queries} queries (target < 50 ms)")


if __name__ == "__main__":
    main()
