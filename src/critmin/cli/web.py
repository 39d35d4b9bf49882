"""CLI commands: ``serve`` (the dashboard and HTTP API), ``worker`` (job worker processes),
``users`` and ``audit``.

Users, sessions, tokens, audit and jobs are in the operational store (:mod:`critmin.ops`:
SQLite beside the warehouse, or PostgreSQL via ``CRITMIN_DATABASE_URL``), and the server opens
the warehouse read-only, so every command here works while ``critmin serve`` runs.
"""

from __future__ import annotations

import getpass
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from critmin.cli.common import fail, user_errors

if TYPE_CHECKING:
    from critmin.ops import Store

users_app = typer.Typer(help="Dashboard users, roles and API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The dashboard's append-only audit log.", no_args_is_help=True)

CLI_ACTOR = "cli:" + (getpass.getuser() if hasattr(getpass, "getuser") else "unknown")


def _connect(db: Path, read_only: bool = False, create: bool = False) -> Store:
    """The operational store that belongs to the warehouse ``db`` (or ``CRITMIN_DATABASE_URL``);
    only ``create`` (``users add``, before the first serve) accepts a warehouse that does not exist
    yet, so a mistyped ``--db`` elsewhere is an error, not a new empty store."""
    import sqlalchemy.exc

    from critmin.ops import open_store

    if not create and not db.exists() and not os.environ.get("CRITMIN_DATABASE_URL"):
        raise fail(f"database {db} does not exist; start `critmin serve` or run `critmin data import` first")
    try:
        return open_store(warehouse=db)
    except sqlalchemy.exc.OperationalError as exc:
        raise fail(f"cannot open the operational store: {str(exc.orig).strip().splitlines()[0]}") from None


def _audit(con: Store, action: str, target: str, outcome: str,
           detail: dict[str, Any] | None = None) -> None:
    from critmin.web import audit

    with con.transaction(lock="web_audit"):
        audit.record(con, actor=CLI_ACTOR, role=None, action=action, target=target, outcome=outcome, detail=detail)


def prepare_database(db: Path, data_dir_flag: str | None, echo: Callable[[str], None] = typer.echo) -> str | None:
    """Import the real data if there is no warehouse yet (as a first version, see
    :mod:`critmin.data.versions`); create the first joint-admin if there is no user.

    Returns the first admin's generated password (to print once), or None.
    """
    from critmin.data import paths
    from critmin.data.versions import import_version
    from critmin.data.warehouse import Warehouse
    from critmin.web import auth

    db.parent.mkdir(parents=True, exist_ok=True)
    imported = False
    if db.exists():
        with Warehouse(db, read_only=True) as wh:
            imported = wh.is_imported()
    if not imported:
        data_dir = paths.resolve_data_dir(data_dir_flag)
        echo(f"First start: importing the data in {data_dir} into {db} (this takes a while) ...")
        report, _version, _timing = import_version(db, data_dir)
        if not report.added:
            raise fail(f"no dataset found to import under {data_dir}")
        echo(f"Imported {len(report.added)} datasets, {report.rows} rows in {report.seconds:.0f} s.")
    store = _connect(db, create=True)
    with store.transaction(lock="first_admin"):
        if auth.count_users(store) == 0:
            password = auth.generate_password()
            auth.add_user(store, "admin", "joint-admin", password)
            _audit(store, "user.add", "admin", "ok", {"role": "joint-admin", "first_start": True})
            return password
    return None


def serve_cmd(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64,
                                         help="Server worker processes (uvicorn); they share sessions, "
                                              "CSRF tokens and the job queue through the operational store.")] = 1,
    job_workers: Annotated[int | None, typer.Option("--job-workers", min=0, max=16,
                                                     help="Job threads per server process (default: setting "
                                                          "web.job_workers; 0 leaves jobs to `critmin worker`).")] = None,
    proxy_headers: Annotated[bool, typer.Option("--proxy-headers/--no-proxy-headers",
                                                help="Trust X-Forwarded-* from --forwarded-allow-ips (behind nginx).")] = False,
    forwarded_allow_ips: Annotated[str, typer.Option(help="Proxy addresses trusted for X-Forwarded-*.")] = "127.0.0.1",
) -> None:
    """Start the dashboard and HTTP API (imports the real data on first start)."""
    import uvicorn

    from critmin.data.paths import DataDirNotFound
    from critmin.ops import dispose_engines

    db = ctx.obj.db_path()
    with user_errors((DataDirNotFound,)):
        password = prepare_database(db, ctx.obj.data)
    if password:
        typer.echo("Created the first user 'admin' (role joint-admin). Its password is shown ONCE:")
        typer.echo(f"    {password}")
        typer.echo("Store it now; create more users with `critmin users add NAME --role ROLE`.")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    typer.echo(f"critmin dashboard: http://{shown}:{port}/   (warehouse {db}, {workers} worker(s); Ctrl-C stops)")
    opts: dict[str, Any] = {"host": host, "port": port, "log_level": "warning", "proxy_headers": proxy_headers,
                            "forwarded_allow_ips": forwarded_allow_ips}
    if workers == 1:
        from critmin.web.app import create_app

        app_ = create_app(db, job_workers=job_workers)
        start_warming(app_.state.ctx)
        uvicorn.run(app_, **opts)
        return
    # worker processes build their own app (factory) from the environment
    os.environ["CRITMIN_DB"] = str(db)
    if job_workers is not None:
        os.environ["CRITMIN_WEB_JOB_WORKERS"] = str(job_workers)
    from critmin.web.context import WebContext

    # this (supervisor) process computes the shared results once, for the workers to read
    start_warming(WebContext(db, job_workers=0))
    dispose_engines()  # no pooled connection crosses into the worker processes
    uvicorn.run("critmin.web.app:app_from_env", factory=True, workers=workers, **opts)


def start_warming(wctx: Any) -> None:
    """Compute the dashboard's shared results in a background thread while the server starts
    (:func:`critmin.web.pages.warm`), and again whenever a new warehouse version is imported
    (looked at every ``web.data_version_ttl_s``): requests never wait for a cold watchlist,
    and with several workers no worker computes what another one already has
    (:mod:`critmin.web.sharedcache`)."""
    import logging
    import threading
    import time

    from critmin import settings
    from critmin.web.pages import warm
    from critmin.web.sharedcache import remove_orphans

    log = logging.getLogger("critmin.web.warm")

    def loop() -> None:
        seen = None
        while True:
            try:
                version = wctx.data_version()
                if version != seen:
                    seen = version  # once per version, also when it fails
                    remove_orphans(wctx.db_path)
                    t = time.monotonic()
                    n = warm(wctx)
                    log.info("warm-up: shared results of %s ready (%d commodity pages) in %.1f s",
                             version[0], n, time.monotonic() - t)
            except Exception:  # a failed warm-up leaves the results to the first requests
                log.exception("warm-up of the shared results failed; requests compute them")
            time.sleep(max(1.0, float(settings.get("web.data_version_ttl_s"))))

    threading.Thread(target=loop, name="critmin-warm", daemon=True).start()


def worker_cmd(
    ctx: typer.Context,
    threads: Annotated[int, typer.Option("--threads", min=1, max=16, help="Jobs run at once by this process.")] = 1,
    scheduler: Annotated[str | None, typer.Option("--scheduler",
                                                  help="Dask distributed scheduler for Monte Carlo jobs "
                                                       "(tcp://host:8786), as `critmin simulate --scheduler`.")] = None,
    once: Annotated[bool, typer.Option("--once", help="Run at most one queued job, then exit.")] = False,
) -> None:
    """Run queued dashboard jobs (Monte Carlo runs, scenarios, plans, selections) from the
    operational store's queue until stopped (SIGTERM/Ctrl-C finishes the running job first;
    SIGKILL leaves it to be re-queued when its lease runs out)."""
    import signal
    import threading

    from critmin.web.app import create_app
    from critmin.web.jobs import worker_name

    db = ctx.obj.db_path()
    if not db.exists():
        raise fail(f"no warehouse at {db}: run `critmin data import` first (or pass --db)")
    app_ = create_app(db, job_workers=0)
    wctx = app_.state.ctx
    if scheduler:
        wctx.dask_scheduler = scheduler
    if once:
        ran = wctx.jobs.run_one()
        typer.echo("ran one job" if ran else "no queued job")
        return
    from critmin.web.jobs import JobRunner

    runner = JobRunner(wctx.db, workers=threads, ctx=wctx, name=f"worker:{worker_name()}")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    typer.echo(f"critmin worker {runner.name}: {threads} thread(s) on {wctx.ops.engine.url.render_as_string()}")
    stop.wait()
    runner.shutdown()
    wctx.close()


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    name: str,
    role: Annotated[str, typer.Option(help="us-analyst | jp-analyst | joint-admin | viewer")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin instead of generating one.")] = False,
) -> None:
    """Create a user; prints a generated password once (or reads one from stdin)."""
    from critmin.web import auth

    if password_stdin:
        from critmin.cli import spinner

        if (sp := spinner.current()) is not None:
            sp.stop()  # the user may be typing on this terminal
    password = sys.stdin.readline().rstrip("\n") if password_stdin else auth.generate_password()
    con = _connect(ctx.obj.db_path(), create=True)
    try:
        with con.transaction(lock="web_user"):
            auth.add_user(con, name, role, password)
        _audit(con, "user.add", name, "ok", {"role": role})
    except auth.AuthError as exc:
        _audit(con, "user.add", name, "refused", {"role": role, "reason": str(exc)})
        raise fail(str(exc)) from None
    typer.echo(f"user {name!r} ({role}) created")
    if not password_stdin:
        typer.echo(f"password (shown once): {password}")


@users_app.command("token")
def users_token(ctx: typer.Context, name: str) -> None:
    """Print a new bearer API token for the user (only its hash is stored)."""
    from critmin.web import auth

    con = _connect(ctx.obj.db_path())
    try:
        token = auth.create_token(con, name)
        _audit(con, "token.create", name, "ok", {"token_id": token.split("_")[1]})
    except auth.AuthError as exc:
        raise fail(str(exc)) from None
    typer.echo(token)


@users_app.command("revoke")
def users_revoke(
    ctx: typer.Context,
    name: str,
    token_id: Annotated[str | None, typer.Option("--token-id", help="Revoke only this token (the part after 'cm_').")] = None,
) -> None:
    """Revoke a user's bearer tokens (all of them, or one with --token-id)."""
    from critmin.web import auth

    con = _connect(ctx.obj.db_path())
    try:
        n = auth.revoke_tokens(con, name, token_id)
        _audit(con, "token.revoke", name, "ok", {"revoked": n, "token_id": token_id})
    except auth.AuthError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"revoked {n} token(s) of {name!r}")


@users_app.command("list")
def users_list(ctx: typer.Context,
               as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List users, roles and active token counts."""
    from critmin.web import auth

    con = _connect(ctx.obj.db_path(), read_only=True)
    rows = auth.list_users(con)
    if not rows:
        raise fail(f"no dashboard users yet for {ctx.obj.db_path()}: start `critmin serve` once "
                   "(it creates the first user, 'admin'), or add one with `critmin users add NAME --role ROLE`")
    if as_json:
        import json

        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    from critmin.cli.tables import Col, fit_table, print_table

    cols = [Col("user"), Col("role"), Col("active tokens", numeric=True), Col("state")]
    print_table(fit_table("Dashboard users", cols, [
        [r["name"], r["role"], f"{r['active_tokens']:,}", "disabled" if r["disabled"] else "active"] for r in rows]))


@audit_app.command("export")
def audit_export(
    ctx: typer.Context,
    format: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File (default: stdout).")] = None,
) -> None:
    """Export the whole audit log (oldest first, with the hash chain) and verify the chain."""
    from critmin.web import audit

    if format not in ("csv", "json"):
        raise fail(f"--format {format!r}: expected csv or json")
    con = _connect(ctx.obj.db_path(), read_only=True)
    ok, msg = audit.verify_chain(con)
    text = audit.export(con, format)
    if output:
        output.write_text(text)
    else:
        typer.echo(text, nl=False)
    typer.echo(("chain ok: " if ok else "CHAIN BROKEN: ") + msg, err=True)
    if not ok:
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``users ...`` and ``audit ...`` to the root app (with the security
    commands of :mod:`critmin.cli.security_cmd`, which attach themselves to those groups)."""
    importlib.import_module("critmin.cli.security_cmd")
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    app.command("serve")(serve_cmd)
    app.command("worker")(worker_cmd)
