"""Benchmark: ``incident open`` -> ranked options on the real warehouse (issue 15: < 10 s).

Prints, side by side from one invocation, medians over ``--repeat`` repetitions:

* **cold**: a fresh process per repetition running ``critmin incident open --trigger EVENT
  --json`` (Python start-up, imports, warehouse reads, market build, scenario, the Monte Carlo
  part of ``--runs`` runs (setting ``incident.mc_runs``), options from trade, governance,
  projects and curated tables, storage in the operational store);
* **warm**: ``service.open_incident`` repeated in one process (the market cached per warehouse
  contents, as in a running server), split into assessment and options;
* the same with the Monte Carlo part off (``--runs 0``), so its share is visible;
* the cold runs' CPU time (user + system), which a shared, overloaded machine inflates less than
  the wall time, and the load average.

Usage: .venv/bin/python benchmarks/bench_incident.py --db /tmp/wh.duckdb [--runs 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVENT = "CHN-GAGESB-USBAN-2024"


def cold(db: str, runs: int, repeat: int) -> tuple[list[float], list[float]]:
    """Wall time and CPU time (user + system of the child) per fresh process."""
    import resource

    out, cpu = [], []
    for i in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "CRITMIN_INCIDENT_MC_RUNS": str(runs),
                   "CRITMIN_DATABASE_URL": f"sqlite:///{tmp}/ops.sqlite"}
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            r = subprocess.run([sys.executable, "-m", "critmin.cli.main", "--db", db, "incident", "open",
                                "--trigger", EVENT, "--json"], env=env, capture_output=True, text=True,
                               cwd=ROOT)
            dt = time.perf_counter() - t0
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if r.returncode != 0:
                raise SystemExit(f"repetition {i}: {r.stderr.strip()[:500]}")
            out.append(dt)
            cpu.append(ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime)
    return out, cpu


def warm(db: str, runs: int, repeat: int) -> tuple[list[float], list[float], list[float]]:
    from critmin.data.warehouse import Warehouse
    from critmin.incident.service import assess_incident, options_incident, trigger_from
    from critmin.incident.store import IncidentStore
    from critmin.ops import get_engine, migrate

    wh = Warehouse(db, read_only=True)
    tmp = tempfile.mkdtemp()
    eng = get_engine(f"sqlite:///{tmp}/ops.sqlite")
    migrate(eng)
    st = IncidentStore(eng)
    sees = ("US", "JP", "joint")
    tot, ass, opt = [], [], []
    for i in range(repeat + 1):  # the first fills the market cache and is not counted
        t0 = time.perf_counter()
        tr = trigger_from(wh, event=EVENT)
        rec = {"title": tr.title, "trigger": tr.as_dict(), "commodities": list(tr.commodities), "stages": tr.stages,
               "countries": list(tr.countries), "targets": list(tr.targets), "start_date": tr.start_date.isoformat()}
        iid = st.create(rec, "joint", "bench")
        t1 = time.perf_counter()
        assess_incident(wh, st, iid, sees=sees, author="bench", runs=runs, seed=1)
        t2 = time.perf_counter()
        doc = options_incident(wh, st, iid, sees=sees, author="bench")
        t3 = time.perf_counter()
        assert doc["options"] and doc["options"][0]["rank"] == 1
        if i:
            tot.append(t3 - t0)
            ass.append(t2 - t1)
            opt.append(t3 - t2)
    wh.close()
    return tot, ass, opt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--runs", type=int, default=None, help="Monte Carlo runs (default: setting incident.mc_runs)")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    from critmin import settings
    from critmin.incident import params  # noqa: F401

    runs = int(settings.get("incident.mc_runs")) if a.runs is None else a.runs
    med = statistics.median
    c, ccpu = cold(a.db, runs, a.repeat)
    c0, c0cpu = cold(a.db, 0, a.repeat)
    w, wa, wo = warm(a.db, runs, a.repeat)
    w0, _, _ = warm(a.db, 0, a.repeat)
    print(f"incident open -> ranked options, event {EVENT}, {a.repeat} repetitions, median (min-max) in s")
    print(f"{'':34}{'MC runs = ' + str(runs):>22}{'MC off':>22}")
    print(f"{'cold (fresh process, CLI)':34}{med(c):>10.2f} ({min(c):.2f}-{max(c):.2f}){med(c0):>10.2f} "
          f"({min(c0):.2f}-{max(c0):.2f})")
    print(f"{'cold, CPU s (user+sys) of the child':34}{med(ccpu):>10.2f}{'':13}{med(c0cpu):>10.2f}")
    print(f"{'warm (in process, market cached)':34}{med(w):>10.2f} ({min(w):.2f}-{max(w):.2f}){med(w0):>10.2f} "
          f"({min(w0):.2f}-{max(w0):.2f})")
    print(f"{'  of which assessment':34}{med(wa):>10.2f}")
    print(f"{'  of which options':34}{med(wo):>10.2f}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"target < 10 s: cold median {'meets' if med(c) < 10 else 'MISSES'} it "
          f"(ratio to target {med(c) / 10:.2f}); Monte Carlo share of warm time "
          f"{(med(w) - med(w0)) / med(w):.0%}")


if __name__ == "__main__":
    main()
