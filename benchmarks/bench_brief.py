"""Benchmark: the full briefing pack (about 15 priority commodities) in under 30 s.

Two cases, measured side by side and printed as medians with the time split
(analysis steps, charts, typesetting, workbook) and the ratio to the 30 s target:

* cold: ``critmin brief`` in a new process each time (what an official at the command line
  waits for: imports, warehouse reads, every cache empty);
* warm: :func:`critmin.brief.service.generate` again in one process (the dashboard's job on a
  server that has served the watchlist before: assessment, market and signals are cached per
  data version).

Monte Carlo sizes are the settings' (brief.mc_runs, brief.stockpile_runs) unless --runs is given.

    .venv/bin/python benchmarks/bench_brief.py --db /tmp/wh.duckdb [--repeat 3] [--lang en]
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

TARGET_S = 30.0


def cold(db: str, lang: str, runs: int | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "critmin.cli.main", "--db", db, "brief", "--for", "US,JP", "--year", "2024",
               "--lang", lang, "--out", out, "--json"]
        if runs:
            cmd += ["--runs", str(runs)]
        t = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t
        if res.returncode != 0:
            raise SystemExit(f"critmin brief failed: {res.stderr.strip()}")
        doc = json.loads(res.stdout)
    return {"total (wall)": wall, **doc["timings_s"]}


def warm(db: str, lang: str, runs: int | None, repeat: int) -> list[dict[str, float]]:
    from critmin.brief.assemble import BriefRequest
    from critmin.brief.service import generate
    from critmin.data.warehouse import Warehouse

    wh = Warehouse(db, read_only=True)
    out = []
    try:
        for i in range(repeat + 1):  # the first run fills the caches and is not counted
            with tempfile.TemporaryDirectory() as d:
                t = time.perf_counter()
                res = generate(wh, BriefRequest(partners=("USA", "JPN"), year=2024, lang=lang, mc_runs=runs), Path(d))
                wall = time.perf_counter() - t
            if i:
                out.append({"total (wall)": wall, **res.timings})
    finally:
        wh.close()
    return out


def median_table(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return {k: statistics.median(r[k] for r in rows if k in r) for k in keys}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default=os.environ.get("CRITMIN_DB"), required=os.environ.get("CRITMIN_DB") is None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lang", default="en", choices=("en", "ja"))
    ap.add_argument("--runs", type=int, default=None, help="Monte Carlo runs (default: setting brief.mc_runs)")
    a = ap.parse_args()
    c = median_table([cold(a.db, a.lang, a.runs) for _ in range(a.repeat)])
    w = median_table(warm(a.db, a.lang, a.runs, a.repeat))
    print(f"brief ({a.lang}), medians of {a.repeat} runs; target {TARGET_S:.0f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'step':<28}{'cold (s)':>10}{'warm (s)':>10}")
    for k in dict.fromkeys([*c, *w]):
        print(f"{k:<28}{c.get(k, float('nan')):>10.2f}{w.get(k, float('nan')):>10.2f}")
    steps = sum(v for k, v in c.items() if k.startswith("analysis."))
    print(f"{'analysis: tables & rest':<28}{c['analysis'] - steps:>10.2f}"
          f"{w['analysis'] - sum(v for k, v in w.items() if k.startswith('analysis.')):>10.2f}")
    print(f"{'ratio to target':<28}{c['total (wall)'] / TARGET_S:>10.2f}{w['total (wall)'] / TARGET_S:>10.2f}")


if __name__ == "__main__":
    main()
