"""Load benchmark of the dashboard: 20 concurrent clients for 30 s on loopback.

Starts ``critmin.web`` (uvicorn, in its own process as ``critmin serve`` does) on 127.0.0.1
over a private copy of a warehouse DB, warms the caches, then runs N clients (threads, one keep-alive connection each) that
alternately request the watchlist page (``/``) and a commodity page (``/commodity/<id>``),
authenticated with a bearer token. Bounded in time and in requests; loopback only.

Prints p50, p95, p99 and max latency per page and overall, requests/s and the error count.
Target: p95 < 100 ms, no errors.

    .venv/bin/python benchmarks/bench_web_load.py --db /path/to/critmin.duckdb
    (default: import the real data into a temporary DB first)
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import httpx

MAX_REQUESTS_PER_CLIENT = 100_000  # a hard bound besides the duration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare_db(src: str | None, workdir: Path) -> tuple[Path, str]:
    from critmin.web import auth
    from critmin.web.store import ensure_tables

    db = workdir / "bench.duckdb"
    if src:
        shutil.copyfile(src, db)
    else:
        from critmin.data.warehouse import Warehouse

        print("importing the real data into a temporary DB ...", flush=True)
        wh = Warehouse(db)
        wh.import_data()
        wh.con.execute("CHECKPOINT")
        wh.close()
    con = duckdb.connect(str(db))
    ensure_tables(con)
    if auth.get_user(con, "bench-user") is None:
        auth.add_user(con, "bench-user", "us-analyst", auth.generate_password())
    token = auth.create_token(con, "bench-user")
    con.close()
    return db, token


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="warehouse DB to copy (default: import the real data)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--commodity", default="rare_earths")
    args = ap.parse_args()
    if not (1 <= args.clients <= 100 and 0 < args.seconds <= 300):
        raise SystemExit("--clients must be 1..100 and --seconds 0..300 (a bounded benchmark)")

    import subprocess
    import sys

    with tempfile.TemporaryDirectory() as tmp:
        db, token = _prepare_db(args.db, Path(tmp))
        port = _free_port()
        server = subprocess.Popen([
            sys.executable, "-c",
            "import sys, uvicorn; from critmin.web.app import create_app; "
            "uvicorn.run(create_app(sys.argv[1]), host='127.0.0.1', port=int(sys.argv[2]), "
            "log_level='warning', access_log=False)", str(db), str(port)])
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    server.kill()
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        headers = {"Authorization": f"Bearer {token}"}
        pages = {"watchlist": "/", "commodity": f"/commodity/{args.commodity}"}
        t0 = time.perf_counter()
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:  # warm the caches
            for path in pages.values():
                r = c.get(path)
                r.raise_for_status()
        print(f"cold start (first requests incl. the assessment): {time.perf_counter() - t0:.2f} s")

        lat: dict[str, list[float]] = {k: [] for k in pages}
        errors: list[str] = []
        lock = threading.Lock()
        stop_at = time.perf_counter() + args.seconds

        def client(i: int) -> None:
            names = list(pages)
            mine: dict[str, list[float]] = {k: [] for k in pages}
            errs: list[str] = []
            with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
                for n in range(MAX_REQUESTS_PER_CLIENT):
                    if time.perf_counter() >= stop_at:
                        break
                    name = names[(n + i) % len(names)]
                    t = time.perf_counter()
                    try:
                        r = c.get(pages[name])
                        ok = r.status_code == 200
                    except httpx.HTTPError as exc:
                        ok, r = False, exc
                    dt = time.perf_counter() - t
                    if ok:
                        mine[name].append(dt)
                    else:
                        errs.append(f"{name}: {getattr(r, 'status_code', r)}")
            with lock:
                for k, v in mine.items():
                    lat[k] += v
                errors.extend(errs)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        t_start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t_start
        server.terminate()
        server.wait(timeout=30)

    allv = [x for v in lat.values() for x in v]
    print(f"{args.clients} clients x {elapsed:.1f} s on 127.0.0.1: {len(allv)} ok requests "
          f"({len(allv) / elapsed:.0f} req/s), {len(errors)} errors")
    print(f"{'page':<10} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, v in {**lat, "all": allv}.items():
        print(f"{name:<10} {len(v):>6} {1e3 * statistics.median(v) if v else float('nan'):>8.1f} "
              f"{1e3 * _pct(v, 0.95):>8.1f} {1e3 * _pct(v, 0.99):>8.1f} {1e3 * max(v) if v else float('nan'):>8.1f}")
    p95 = _pct(allv, 0.95)
    print(f"target p95 < 100 ms and no errors: {'MET' if p95 < 0.1 and not errors else 'NOT MET'}")
    if errors:
        print("first errors:", errors[:5])


if __name__ == "__main__":
    main()
