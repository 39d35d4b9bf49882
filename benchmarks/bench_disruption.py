"""Benchmark: Monte Carlo over every commodity in the warehouse, USA and JPN, 12 months.

Prints, side by side from one invocation:
* median wall time of N runs (default 100,000) of the vectorised engine (``--repeat`` times,
  each in a fresh subprocess so that peak RSS is measured per run with getrusage);
* the plain-loop reference (tests/test_disruption_reference.py) on the first ``--ref-runs``
  runs, the fast engine on the same runs, and the per-run speed-up;
* ``load_market`` on every commodity: the old per-commodity warehouse calls
  (tests/test_disruption_inputs.py), the set-based loader without cache (cold Python cache,
  warm DuckDB pages) and with the per-warehouse-contents cache, and that all three agree.

Usage: .venv/bin/python benchmarks/bench_disruption.py --db /tmp/disr.duckdb [--runs 100000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child(db: str, runs: int, seed: int) -> None:
    import resource

    from critmin.data.warehouse import Warehouse
    from critmin.disruption.api import load_market
    from critmin.disruption.montecarlo import run_monte_carlo

    wh = Warehouse(db, read_only=True)
    market = load_market(wh)
    wh.close()
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_monte_carlo(market, runs, seed, 12)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    print(json.dumps({"seconds": dt, "cpu_seconds": cpu, "peak_rss_mib": rss, "commodities": len(market.commodities),
                      "pairs": len(res.pair_labels), "mean_total_t": float(res.shortfall_t.sum(axis=(1, 2)).mean())}))


def _median_time(fn, repeat: int) -> tuple[float, list[float]]:
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), ts


def bench_load_market(db: str, repeat: int) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from critmin.data.warehouse import Warehouse
    from critmin.disruption import inputs
    from critmin.disruption.api import load_market
    from test_disruption_inputs import assert_markets_equal, reference_market

    wh = Warehouse(db, read_only=True)
    ids = wh.production_commodities()
    load_market(wh, cache=False)  # warm DuckDB's pages and Python imports
    ref_med, ref_all = _median_time(lambda: reference_market(wh, ids), max(1, repeat // 2))
    new_med, new_all = _median_time(lambda: load_market(wh, cache=False), repeat)
    inputs.clear_cache()
    load_market(wh)
    hit_med, hit_all = _median_time(lambda: load_market(wh), repeat)
    assert_markets_equal(load_market(wh, cache=False), reference_market(wh, ids))
    wh.close()
    print(f"load_market, {len(ids)} commodities x USA/JPN: old per-commodity calls median {ref_med:.2f} s "
          f"({', '.join(f'{t:.2f}' for t in ref_all)}); set-based median {new_med:.2f} s "
          f"({', '.join(f'{t:.2f}' for t in new_all)}); cached {hit_med * 1e3:.0f} ms; "
          f"speed-up {ref_med / new_med:.1f}x uncached, {ref_med / hit_med:.0f}x cached; markets equal: True")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--ref-runs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--load-only", action="store_true", help="only time load_market")
    ap.add_argument("--skip-load", action="store_true", help="do not time load_market (Monte Carlo only)")
    a = ap.parse_args()
    if a.child:
        _child(a.db, a.runs, a.seed)
        return
    if not a.skip_load:
        bench_load_market(a.db, 5)
    if a.load_only:
        return
    import os

    # issue 14: today's engine (every sampled event aimed at all importers: no segmented pools) and
    # the segmented model (a share disruption.hazard.targeted_share of the events aimed at one
    # partner, restricted/open pools, redirection, the chain rule), interleaved, same seed
    modes = {"all-importer events (engine before issue 14's targeted draws)": "0",
             "segmented markets + chain (default)": None}
    times: dict[str, list[dict]] = {m: [] for m in modes}
    for _ in range(a.repeat):
        for mode, share in modes.items():
            env = dict(os.environ)
            if share is not None:
                env["CRITMIN_DISRUPTION_HAZARD_TARGETED_SHARE"] = share
            r = subprocess.run([sys.executable, __file__, "--child", "--db", a.db, "--runs", str(a.runs),
                                "--seed", str(a.seed)], check=True, capture_output=True, text=True, env=env)
            times[mode].append(json.loads(r.stdout.strip().splitlines()[-1]))
    meds = {}
    for mode, out in times.items():
        med = meds[mode] = statistics.median(o["seconds"] for o in out)
        cpu = statistics.median(o["cpu_seconds"] for o in out)
        peak = max(o["peak_rss_mib"] for o in out)
        print(f"{mode}: {a.runs} runs x {out[0]['commodities']} commodities x 2 consumers x 12 months "
              f"({out[0]['pairs']} hazard pairs): median {med:.2f} s wall, {cpu:.2f} s CPU over {a.repeat} (all: "
              f"{', '.join(format(o['seconds'], '.2f') for o in out)}), peak RSS {peak:.0f} MiB, "
              f"mean total shortfall {out[0]['mean_total_t']:,.0f} t/run")
    base, seg = meds.values()
    print(f"segmented / all-importer: {seg / base:.2f}x (target < 30 s; > 3x would need a breakdown)")
    med = seg

    sys.path.insert(0, str(ROOT / "tests"))
    import numpy as np

    from critmin.data.warehouse import Warehouse
    from critmin.disruption.api import load_market
    from critmin.disruption.montecarlo import build_model, run_batch
    from test_disruption_reference import reference_runs

    wh = Warehouse(a.db, read_only=True)
    market = load_market(wh)
    wh.close()
    model = build_model(market, 12)
    t0 = time.perf_counter()
    fast = run_batch(model, a.seed, 0, a.ref_runs)
    t_fast_small = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref_s, _ = reference_runs(market, a.seed, a.ref_runs)
    t_ref = time.perf_counter() - t0
    ok = np.allclose(fast.shortfall_t, ref_s, rtol=1e-9, atol=1e-9)
    per_ref = t_ref / a.ref_runs
    per_fast = med / a.runs
    print(f"reference loop: {a.ref_runs} runs in {t_ref:.2f} s ({per_ref * 1e3:.1f} ms/run); "
          f"fast engine on the same runs {t_fast_small:.3f} s; results agree: {ok}")
    print(f"speed-up per run (reference vs fast at {a.runs} runs): {per_ref / per_fast:,.0f}x; "
          f"on the same {a.ref_runs} runs: {t_ref / t_fast_small:,.0f}x")


if __name__ == "__main__":
    main()
