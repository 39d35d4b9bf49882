"""Benchmark: one GeoPolRisk query (consumer, commodity, year), critmin beside geopolrisk-py 2.0.1.

critmin (this venv, the real warehouse):
  * cold: the first query on a fresh process cache (batched reads + the consumer's BACI flows);
  * warm ``geopolrisk(wh, ...)``: includes the data-version check (``Warehouse.fingerprint()``,
    one small SQL query) on every call; target 5 ms;
  * warm ``geopolrisk_data(wh).query(...)``: the snapshot path many queries (the assessment) use.
geopolrisk-py (a SEPARATE venv, run in a subprocess with HOME and cwd in a temporary folder, since
it writes ~/Documents/geopolrisk): its one-time setup (import: reading its databases; the mapped
BACI table) and then the per-query calls its ``gprs_calc`` makes for one item (aggregateTrade,
HHI, GeoPolRisk), median of ``--peer-repeat`` repetitions.

    .venv/bin/python benchmarks/bench_geopolrisk.py --db /tmp/gpr.duckdb [--repeat 2000]
        [--peer-python .venv-peer/bin/python] [--peer-repeat 50] [--no-peer]

Create the peer environment with
``bash scripts/install_peer.sh`` (``.venv-peer``, geopolrisk-py 2.0.1).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

TARGET_MS = 5.0

PEER_SCRIPT = r"""
import json, statistics, sys, time
t0 = time.perf_counter()
from geopolrisk.assessment import core, utils
from geopolrisk.assessment.database import databases
t1 = time.perf_counter()
data = utils.mapped_baci()
t2 = time.perf_counter()
country, material, year, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def one():
    members = databases.regionslist[utils.cvtcountry(country, type="Name")]
    num, total, price = utils.aggregateTrade(year, members, material, data=data)
    prod = 0.0
    for m in members:
        q, hhi = core.HHI(material, year, utils.cvtcountry(m, type="Name"))
        prod += q
    return core.GeoPolRisk(num, total, price, prod, hhi)

times = []
for _ in range(repeat):
    s = time.perf_counter(); res = one(); times.append(time.perf_counter() - s)
print("PEER_JSON " + json.dumps({"import_s": t1 - t0, "mapped_baci_s": t2 - t1, "median_s": statistics.median(times),
                                 "min_s": min(times), "score": res[0], "cf": res[1], "repeat": repeat}))
"""


def _median_ms(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3, min(times) * 1e3


def run_peer(python: str, country: str, material: str, year: int, repeat: int) -> dict | None:
    with tempfile.TemporaryDirectory(prefix="gpr-peer-") as tmp:
        env = {"HOME": tmp, "PATH": os.environ.get("PATH", ""), "PYTHONNOUSERSITE": "1"}
        proc = subprocess.run([python, "-c", PEER_SCRIPT, country, material, str(year), str(repeat)],
                              cwd=tmp, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        print(f"peer failed ({proc.returncode}): {proc.stderr[-1500:]}")
        return None
    line = next(x for x in proc.stdout.splitlines() if x.startswith("PEER_JSON "))
    return json.loads(line[len("PEER_JSON "):])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=None, help="warehouse file (default: critmin's)")
    ap.add_argument("--repeat", type=int, default=2000)
    ap.add_argument("--consumer", default="JPN")
    ap.add_argument("--commodity", default="cobalt")
    ap.add_argument("--year", type=int, default=2022)
    ap.add_argument("--governance", default="peer", help="critmin governance choice (peer = same inputs as the peer)")
    ap.add_argument("--peer-python", default=str(Path(__file__).resolve().parents[1] / ".venv-peer" / "bin" / "python"))
    ap.add_argument("--peer-country", default="Japan")
    ap.add_argument("--peer-material", default="Cobalt")
    ap.add_argument("--peer-repeat", type=int, default=50)
    ap.add_argument("--no-peer", action="store_true")
    a = ap.parse_args()

    from critmin.data.warehouse import Warehouse
    from critmin.risk.geopolrisk import clear_cache, geopolrisk, geopolrisk_data

    wh = Warehouse(a.db, read_only=True)
    q = dict(governance=a.governance, price_basis="all_flows" if a.governance == "peer" else None)
    clear_cache()
    t = time.perf_counter()
    r = geopolrisk(wh, a.consumer, a.commodity, a.year, **q)
    cold_ms = (time.perf_counter() - t) * 1e3
    wrap_ms, wrap_min = _median_ms(lambda: geopolrisk(wh, a.consumer, a.commodity, a.year, **q), a.repeat)
    data = geopolrisk_data(wh)
    snap_ms, snap_min = _median_ms(lambda: data.query(a.consumer, a.commodity, a.year, **q), a.repeat)
    fp_ms, _ = _median_ms(wh.fingerprint, a.repeat)
    print(f"GeoPolRisk {a.consumer} {a.commodity} {a.year} (governance {a.governance}): score {r.score:.6f}, "
          f"CF {r.cf:.4f} kg Cu-eq/kg")
    print(f"critmin  cold (batched reads + first query)       {cold_ms:9.1f} ms")
    print(f"critmin  warm geopolrisk(wh, ...)  median of {a.repeat}  {wrap_ms:9.3f} ms  (min {wrap_min:.3f}; "
          f"target {TARGET_MS:.0f} ms, ratio to target {wrap_ms / TARGET_MS:.2f}; of which "
          f"Warehouse.fingerprint() {fp_ms:.3f} ms)")
    print(f"critmin  warm geopolrisk_data(wh).query  median   {snap_ms:9.4f} ms  (min {snap_min:.4f})")
    if a.no_peer:
        return
    if not Path(a.peer_python).exists():
        print(f"peer     not run: {a.peer_python} does not exist (see the module docstring)")
        return
    p = run_peer(a.peer_python, a.peer_country, a.peer_material, a.year, a.peer_repeat)
    if p is None:
        return
    peer_ms = p["median_s"] * 1e3
    print(f"peer     setup: import {p['import_s']:.1f} s + mapped_baci {p['mapped_baci_s']:.1f} s; "
          f"score {p['score']:.6f} (critmin {r.score:.6f}, difference {r.score - p['score']:+.1e})")
    print(f"peer     per query  median of {p['repeat']}               {peer_ms:9.3f} ms  (min {p['min_s'] * 1e3:.3f})")
    print(f"ratio    peer / critmin warm wrapper {peer_ms / wrap_ms:8.1f} x;  peer / critmin snapshot query "
          f"{peer_ms / snap_ms:8.0f} x;  peer setup / critmin cold {(p['import_s'] + p['mapped_baci_s']) * 1e3 / cold_ms:.0f} x")


if __name__ == "__main__":
    main()
