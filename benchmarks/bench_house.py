"""Benchmark: the house must not get slower (issue 11). Before and after, side by side, in one run.

Measures, for two source trees on the same warehouse:

* ``assess (warm)``: :func:`critmin.risk.api.assess` (all commodities, the default partners,
  2024) after a first call in the same process, i.e. with the assessment's inputs cached;
* ``load_market (cold)``: the first :func:`critmin.disruption.api.load_market` (every commodity,
  the default partners) in a fresh process (empty Python caches; DuckDB's file pages are in the
  OS cache after the first sample, as in any repeated use);
* ``load_market (warm)``: the next calls in that process (per-warehouse-contents cache);
* ``monte carlo 100k``: :func:`critmin.disruption.montecarlo.run_monte_carlo` over that market,
  ``--mc-runs`` runs (default 100,000) x 12 months, seed ``--seed``.

"before" is ``--baseline`` (default ``/tmp/baseline/src``, the tree before the change), "after" is
this checkout's ``src``. Every sample runs in its own subprocess with ``PYTHONPATH`` set to the
tree (the child checks that ``critmin`` really comes from it); before and after alternate, so a
busy machine slows both alike. Modules are imported before any clock starts. Only entry points
that exist in both trees are called. The table gives the median over ``--runs`` samples of each
side, the after/before ratio of the medians (< 1: faster after), that of the minima (less
sensitive to other load on a shared machine) and the samples; what each tree computed
(commodities, watchlist rows, mean joint shortfall) is printed as well, so a difference in
speed can be told from a difference in work.

    .venv/bin/python benchmarks/bench_house.py --db /tmp/base.duckdb --baseline /tmp/baseline/src --runs 3
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AFTER = ROOT / "src"
YEAR = 2024
WARM_CALLS = 3  # warm calls per process; the process reports their median


def _preimport() -> None:
    """Import every module of the packages measured, so no clock includes an import."""
    import critmin

    for pkg in ("critmin.data", "critmin.risk", "critmin.disruption"):
        mod = importlib.import_module(pkg)
        for info in pkgutil.walk_packages(mod.__path__, pkg + "."):
            if ".ingest" in info.name:
                continue
            try:
                importlib.import_module(info.name)
            except Exception:  # noqa: BLE001 - a module the measured calls do not need
                continue
    del critmin


def _median_of_calls(fn, n: int) -> float:
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def _child(kind: str, db: str, tree: str, mc_runs: int, seed: int, horizon: int) -> dict:
    import critmin

    where = Path(critmin.__file__).resolve()
    if not where.is_relative_to(Path(tree).resolve()):
        raise SystemExit(f"critmin imported from {where}, expected under {tree} (PYTHONPATH not honoured)")
    _preimport()
    from critmin.disruption.api import load_market
    from critmin.disruption.montecarlo import run_monte_carlo
    from critmin.risk.api import assess

    wh = critmin.open(db, read_only=True)
    out: dict = {"kind": kind}
    if kind == "assess":
        t0 = time.perf_counter()
        wl = assess(wh, year=YEAR)
        out["cold_s"] = time.perf_counter() - t0
        out["warm_s"] = _median_of_calls(lambda: assess(wh, year=YEAR), WARM_CALLS)
        out["rows"] = len(wl)
        out["computable"] = int(wl["joint_score"].notna().sum()) if "joint_score" in wl else None
    elif kind == "load_market":
        t0 = time.perf_counter()
        market = load_market(wh)
        out["cold_s"] = time.perf_counter() - t0
        out["warm_s"] = _median_of_calls(lambda: load_market(wh), WARM_CALLS)
        out["commodities"] = len(market.commodities)
        out["consumers"] = list(market.consumers)
    elif kind == "monte_carlo":
        market = load_market(wh)
        t0 = time.perf_counter()
        res = run_monte_carlo(market, mc_runs, seed, horizon)
        out["seconds"] = time.perf_counter() - t0
        out["commodities"] = len(market.commodities)
        out["pairs"] = len(res.pair_labels)
        out["mean_total_shortfall_t"] = float(res.shortfall_t.sum(axis=tuple(range(1, res.shortfall_t.ndim))).mean())
    else:
        raise SystemExit(f"--child: unknown measurement {kind!r}")
    wh.close()
    return out


def _run_child(kind: str, tree: Path, a: argparse.Namespace) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, __file__, "--child", kind, "--tree", str(tree), "--db", a.db,
           "--mc-runs", str(a.mc_runs), "--seed", str(a.seed), "--horizon", str(a.horizon)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(f"{kind} on {tree} failed (exit {r.returncode}):\n{r.stdout}\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


#: (label, child kind, field of the child's answer)
MEASUREMENTS = (
    ("assess (warm)", "assess", "warm_s"),
    ("load_market (cold)", "load_market", "cold_s"),
    ("load_market (warm)", "load_market", "warm_s"),
    ("monte carlo", "monte_carlo", "seconds"),
)


def _fmt(s: float) -> str:
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="the warehouse both trees read")
    ap.add_argument("--baseline", default="/tmp/baseline/src", help="src/ of the tree before the change")
    ap.add_argument("--runs", type=int, default=5, help="samples (processes) per measurement and tree")
    ap.add_argument("--mc-runs", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--horizon", type=int, default=12)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--tree", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(_child(a.child, a.db, a.tree, a.mc_runs, a.seed, a.horizon)))
        return
    trees = {"before": Path(a.baseline).resolve(), "after": AFTER.resolve()}
    for name, t in trees.items():
        if not (t / "critmin" / "__init__.py").is_file():
            raise SystemExit(f"--baseline/{name}: expected a src/ directory holding critmin/, got {t}")
    if a.runs < 1:
        raise SystemExit(f"--runs: expected >= 1, got {a.runs}")
    answers: dict[str, dict[str, list[dict]]] = {n: {} for n in trees}
    for _ in range(a.runs):
        for kind in ("assess", "load_market", "monte_carlo"):
            for name, tree in trees.items():  # before and after alternate
                answers[name].setdefault(kind, []).append(_run_child(kind, tree, a))

    print(f"warehouse {a.db}; before = {trees['before']}, after = {trees['after']}; "
          f"median of {a.runs} process(es) per cell; monte carlo = {a.mc_runs:,} runs x {a.horizon} months")
    print(f"{'measurement':<20} {'before':>11} {'after':>11} {'after/before':>13} {'(of minima)':>12}   samples before | after")
    for label, kind, key in MEASUREMENTS:
        b = [x[key] for x in answers["before"][kind]]
        f = [x[key] for x in answers["after"][kind]]
        mb, mf = statistics.median(b), statistics.median(f)
        print(f"{label:<20} {_fmt(mb):>11} {_fmt(mf):>11} {mf / mb:>12.2f}x {min(f) / min(b):>11.2f}x   "
              f"{', '.join(_fmt(x) for x in b)} | {', '.join(_fmt(x) for x in f)}")
    print(f"{'assess (cold)':<20} {_fmt(statistics.median(x['cold_s'] for x in answers['before']['assess'])):>11} "
          f"{_fmt(statistics.median(x['cold_s'] for x in answers['after']['assess'])):>11}   (first call, for reference)")
    for name in trees:
        ans = answers[name]
        a0, l0, m0 = ans["assess"][0], ans["load_market"][0], ans["monte_carlo"][0]
        print(f"{name}: watchlist {a0['rows']} rows ({a0['computable']} scored); market {l0['commodities']} commodities "
              f"x {'/'.join(l0['consumers'])}; monte carlo {m0['pairs']} hazard pairs, mean total shortfall "
              f"{m0['mean_total_shortfall_t']:,.0f} t")


if __name__ == "__main__":
    main()
