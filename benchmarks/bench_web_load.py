"""Load benchmark of the dashboard on loopback, two set-ups measured in the same run:

A. production-like: ``critmin serve --workers 4`` on PostgreSQL (a throw-away cluster started
   with scripts/pg_cluster.sh, or ``--database-url``), 50 clients;
B. the single-process embedded server (``--workers 1``, SQLite operational store), 20 clients.

Each client is a thread with one keep-alive connection, authenticated with a bearer token,
cycling through a mix of pages and API reads (watchlist ``/``, a commodity page, the
commodity list, production of a commodity, the project registry, ``/api/me``, the simulation
list). A warm-up phase (discarded) lets every worker process fill its caches; then
``--seconds`` of measurement. Prints p50/p95/p99/max per set-up and per route, requests/s and
errors, side by side. Target (issue 18): A p95 < 100 ms with 0 errors.

    .venv/bin/python benchmarks/bench_web_load.py --db /path/to/critmin.duckdb [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
MIX = ["/", "/commodity/rare_earths", "/api/commodities", "/api/production/gallium", "/api/projects",
       "/api/me", "/api/simulations"]
MAX_REQUESTS_PER_CLIENT = 200_000


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token(ops_url: str) -> str:
    from critmin.ops import dispose_engines, open_store
    from critmin.web import auth

    store = open_store(ops_url)
    if auth.get_user(store, "bench-user") is None:
        auth.add_user(store, "bench-user", "us-analyst", auth.generate_password())
    token = auth.create_token(store, "bench-user")
    dispose_engines()
    return token


def _serve(db: Path, ops_url: str, workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "CRITMIN_DB": str(db), "CRITMIN_DATABASE_URL": ops_url}
    proc = subprocess.Popen([sys.executable, "-m", "critmin.cli.main", "serve", "--port", str(port),
                             "--workers", str(workers), "--job-workers", "0"],
                            env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=REPO,  # noqa: SIM115
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            httpx.get(f"{base}/healthz", timeout=2).raise_for_status()
            return proc, base
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit(f"the server did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.3)


def _load(base: str, token: str, clients: int, seconds: float) -> tuple[dict[str, list[float]], list[str], float]:
    lat: dict[str, list[float]] = {p: [] for p in MIX}
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(i: int) -> None:
        mine: dict[str, list[float]] = {p: [] for p in MIX}
        errs: list[str] = []
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
            for n in range(MAX_REQUESTS_PER_CLIENT):
                if time.perf_counter() >= stop_at:
                    break
                path = MIX[(n + i) % len(MIX)]
                t = time.perf_counter()
                try:
                    r = c.get(path)
                    ok = r.status_code == 200
                    what = str(r.status_code)
                except httpx.HTTPError as exc:
                    ok, what = False, type(exc).__name__
                dt = time.perf_counter() - t
                if ok:
                    mine[path].append(dt)
                else:
                    errs.append(f"{path}: {what}")
        with lock:
            for k, v in mine.items():
                lat[k] += v
            errors.extend(errs)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, errors, time.perf_counter() - t0


def _run(name: str, db: Path, ops_url: str, workers: int, clients: int, seconds: float, warmup: float,
         tmp: Path) -> dict:
    token = _token(ops_url)
    proc, base = _serve(db, ops_url, workers, tmp / f"{name}.log")
    try:
        t = time.perf_counter()
        _load(base, token, min(clients, 8), warmup)  # every worker fills its caches
        print(f"[{name}] warm-up {time.perf_counter() - t:.1f} s", flush=True)
        lat, errors, elapsed = _load(base, token, clients, seconds)
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:  # workers still draining slow requests
            import signal

            os.killpg(proc.pid, signal.SIGKILL)  # the supervisor and its worker processes
            proc.wait(30)
    allv = [x for v in lat.values() for x in v]
    return {"name": name, "workers": workers, "clients": clients, "lat": lat, "all": allv,
            "errors": errors, "elapsed": elapsed}


def _row(label: str, v: list[float]) -> str:
    if not v:
        return f"{label:<28} {0:>7} {'-':>8} {'-':>8} {'-':>8} {'-':>8}"
    return (f"{label:<28} {len(v):>7} {1e3 * statistics.median(v):>8.1f} {1e3 * _pct(v, 0.95):>8.1f} "
            f"{1e3 * _pct(v, 0.99):>8.1f} {1e3 * max(v):>8.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="imported warehouse DB to copy")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=20.0)
    ap.add_argument("--clients", type=int, default=50, help="clients of set-up A (B: --embedded-clients)")
    ap.add_argument("--embedded-clients", type=int, default=20)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--database-url", help="PostgreSQL for set-up A (default: a throw-away cluster)")
    args = ap.parse_args()
    if not (1 <= args.clients <= 100 and 1 <= args.embedded_clients <= 100 and 0 < args.seconds <= 300):
        raise SystemExit("clients 1..100 and --seconds 0..300 (a bounded benchmark)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        # its own directory directly under /tmp: the cluster runs as `postgres` when we are root
        pg_dir = Path(tempfile.mkdtemp(prefix="critmin-pg-"))
        url = args.database_url
        if url is None:
            out = subprocess.run(["bash", str(REPO / "scripts" / "pg_cluster.sh"), "start", str(pg_dir)],
                                 capture_output=True, text=True, check=True)
            url = out.stdout.strip().splitlines()[-1]
        try:
            db_a, db_b = tmp / "a.duckdb", tmp / "b.duckdb"
            shutil.copyfile(args.db, db_a)
            shutil.copyfile(args.db, db_b)
            res = [
                _run("A: 4 workers, PostgreSQL", db_a, url, args.workers, args.clients, args.seconds, args.warmup, tmp),
                _run("B: 1 process, SQLite", db_b, f"sqlite:///{tmp / 'b.ops.sqlite'}", 1,
                     args.embedded_clients, args.seconds, args.warmup, tmp),
            ]
        finally:
            if args.database_url is None:
                subprocess.run(["bash", str(REPO / "scripts" / "pg_cluster.sh"), "stop", str(pg_dir)], check=False)
                shutil.rmtree(pg_dir, ignore_errors=True)
    print(f"\n{'set-up / route':<28} {'n':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for r in res:
        print(_row(f"{r['name']} ({r['clients']} cl.)", r["all"]))
        for path, v in r["lat"].items():
            print(_row(f"  {path}", v))
    print()
    for r in res:
        print(f"{r['name']}: {len(r['all']) / r['elapsed']:.0f} req/s over {r['elapsed']:.1f} s, "
              f"{len(r['errors'])} errors" + (f" (first: {r['errors'][:3]})" if r["errors"] else ""))
    a, b = res
    if a["all"] and b["all"]:
        print(f"ratio A/B: p95 {_pct(a['all'], 0.95) / _pct(b['all'], 0.95):.2f}, "
              f"throughput {(len(a['all']) / a['elapsed']) / (len(b['all']) / b['elapsed']):.2f}")
    met = bool(a["all"]) and _pct(a["all"], 0.95) < 0.1 and not a["errors"]
    print(f"target (A: p95 < 100 ms, 0 errors): {'MET' if met else 'NOT MET'}")


if __name__ == "__main__":
    main()
