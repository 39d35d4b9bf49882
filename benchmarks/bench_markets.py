"""Benchmark: one price-floor contract, 10,000 monthly price paths over 10 years.

Measures, side by side in one run, the median wall time of
  * path simulation (OU on log price, exact discretisation, numpy), and
  * the full evaluation (simulation + fiscal cost summary + project NPV/survival),
against the target of 2 s. Parameters are those of a typical NdPr calibration (kappa 0.6/yr,
long-run 70 USD/kg, sigma 0.45) so the run needs no warehouse.

    .venv/bin/python benchmarks/bench_markets.py [--repeat 7] [--db /tmp/mk2.duckdb]

With ``--db`` it also times the whole MP-style evaluation on the real warehouse (calibration,
paths, summary) with ``--paths model`` and ``--paths disruption`` side by side (the disruption
market cached after a first call, as in a long-running process; the first call is reported too).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from critmin.markets.floor import FloorContract, calc_floor_summary, calc_project_effect
from critmin.markets.pricemodel import OUParams, simulate_ou_paths

TARGET_S = 2.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--db", default=None, help="real warehouse for the end-to-end model vs disruption timing")
    a = ap.parse_args()
    params = OUParams(kappa=0.6, mu=math.log(70.0), sigma=0.45)
    contract = FloorContract(floor=110.0, volume_t_per_year=10_000.0, years=a.years)
    sim_t, full_t = [], []
    for i in range(a.repeat):
        t0 = time.perf_counter()
        paths = simulate_ou_paths(params, 56.0, contract.months, a.runs, random_state=i)
        t1 = time.perf_counter()
        calc_floor_summary(paths, contract, 0.02)
        calc_project_effect(paths, contract, 60.0, 0.08, 1.0)
        t2 = time.perf_counter()
        sim_t.append(t1 - t0)
        full_t.append(t2 - t0)
    sim, full = statistics.median(sim_t), statistics.median(full_t)
    print(f"{a.runs} paths x {contract.months} months, median of {a.repeat}:")
    print(f"  simulate paths        {sim * 1000:8.1f} ms")
    print(f"  full floor evaluation {full * 1000:8.1f} ms  (target {TARGET_S * 1000:.0f} ms, "
          f"ratio to target {full / TARGET_S:.3f}, simulation share {sim / full:.0%})")
    if a.db:
        bench_real(a.db, a.runs, a.years, max(3, a.repeat // 2))


def bench_real(db: str, runs: int, years: int, repeat: int) -> None:
    from critmin.data.warehouse import Warehouse
    from critmin.disruption import inputs
    from critmin.markets.floor_api import evaluate_floor

    wh = Warehouse(db, read_only=True)
    kw = dict(commodity="rare earths", product="NdPr-oxide", floor=110.0, volume_t_per_year=10_000.0,
              years=years, runs=runs)
    inputs.clear_cache()
    t0 = time.perf_counter()
    evaluate_floor(wh, random_state=0, paths="disruption", **kw)
    first = time.perf_counter() - t0
    res = {}
    for mode in ("model", "disruption"):
        ts = []
        for i in range(repeat):
            t0 = time.perf_counter()
            evaluate_floor(wh, random_state=i, paths=mode, **kw)
            ts.append(time.perf_counter() - t0)
        res[mode] = statistics.median(ts)
    wh.close()
    print(f"real warehouse, MP-style contract, {runs} paths x {years} yr, median of {repeat}:")
    print(f"  --paths model      {res['model'] * 1000:8.0f} ms")
    print(f"  --paths disruption {res['disruption'] * 1000:8.0f} ms  (ratio to model {res['disruption'] / res['model']:.1f}, "
          f"to target {res['disruption'] / TARGET_S:.2f}; first call incl. loading the disruption market {first:.2f} s)")


if __name__ == "__main__":
    main()
