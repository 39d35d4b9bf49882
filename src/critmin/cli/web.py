"""CLI commands: ``serve`` (the dashboard and HTTP API), ``users`` and ``audit``.

DuckDB lets one process write a database file. While ``critmin serve`` runs, the commands
here that write (``users add|token|revoke``) cannot open the file: use the HTTP API
(``POST /api/users`` ...) as a joint-admin instead, or stop the server first.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from critmin.cli.common import fail, user_errors

if TYPE_CHECKING:
    import duckdb

users_app = typer.Typer(help="Dashboard users, roles and API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The dashboard's append-only audit log.", no_args_is_help=True)

CLI_ACTOR = "cli:" + (getpass.getuser() if hasattr(getpass, "getuser") else "unknown")


def _connect(db: Path, read_only: bool = False, create: bool = False) -> duckdb.DuckDBPyConnection:
    """The dashboard's database; only ``create`` (``users add``, before the first serve) makes a
    missing file, so a mistyped ``--db`` elsewhere is an error, not a new empty database."""
    import duckdb

    from critmin.web.store import ensure_tables

    if not create and not db.exists():
        raise fail(f"database {db} does not exist; start `critmin serve` or run `critmin data import` first")
    try:
        con = duckdb.connect(str(db), read_only=read_only)
    except duckdb.IOException as exc:
        raise fail(
            f"cannot open {db}: {exc}. If `critmin serve` is running it holds the database; "
            "use the HTTP API (as joint-admin) or stop the server."
        ) from None
    if not read_only:
        ensure_tables(con)
    return con


def _audit(con: duckdb.DuckDBPyConnection, action: str, target: str, outcome: str,
           detail: dict[str, Any] | None = None) -> None:
    from critmin.web import audit

    audit.record(con, actor=CLI_ACTOR, role=None, action=action, target=target, outcome=outcome, detail=detail)


def prepare_database(db: Path, data_dir_flag: str | None, echo: Callable[[str], None] = typer.echo) -> str | None:
    """Import the real data if the DB is empty; create the first joint-admin if there is no user.

    Returns the first admin's generated password (to print once), or None.
    """
    import duckdb

    from critmin.data import paths
    from critmin.data.warehouse import Warehouse
    from critmin.web import auth
    from critmin.web.store import ensure_tables

    db.parent.mkdir(parents=True, exist_ok=True)
    try:
        wh = Warehouse(db)
    except duckdb.IOException as exc:
        raise fail(f"cannot open {db}: {exc}. If `critmin serve` is running it holds the database; "
                   "use the HTTP API (as joint-admin) or stop the server.") from None
    with wh:
        if not wh.is_imported():
            data_dir = paths.resolve_data_dir(data_dir_flag)
            echo(f"First start: importing the data in {data_dir} into {db} (this takes a while) ...")
            report = wh.import_data(data_dir)
            if not report.added:
                raise fail(f"no dataset found to import under {data_dir}")
            echo(f"Imported {len(report.added)} datasets, {report.rows} rows in {report.seconds:.0f} s.")
        ensure_tables(wh.con)
        if auth.count_users(wh.con) == 0:
            password = auth.generate_password()
            auth.add_user(wh.con, "admin", "joint-admin", password)
            _audit(wh.con, "user.add", "admin", "ok", {"role": "joint-admin", "first_start": True})
            return password
    return None


def serve_cmd(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Start the dashboard and HTTP API (imports the real data on first start)."""
    import uvicorn

    from critmin.data.paths import DataDirNotFound
    from critmin.web.app import create_app

    db = ctx.obj.db_path()
    with user_errors((DataDirNotFound,)):
        password = prepare_database(db, ctx.obj.data)
    if password:
        typer.echo("Created the first user 'admin' (role joint-admin). Its password is shown ONCE:")
        typer.echo(f"    {password}")
        typer.echo("Store it now; create more users with `critmin users add NAME --role ROLE`.")
    app_ = create_app(db)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    typer.echo(f"critmin dashboard: http://{shown}:{port}/   (database {db}; Ctrl-C stops)")
    uvicorn.run(app_, host=host, port=port, log_level="warning")


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    name: str,
    role: Annotated[str, typer.Option(help="us-analyst | jp-analyst | joint-admin | viewer")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin instead of generating one.")] = False,
) -> None:
    """Create a user; prints a generated password once (or reads one from stdin)."""
    from critmin.web import auth

    password = sys.stdin.readline().rstrip("\n") if password_stdin else auth.generate_password()
    con = _connect(ctx.obj.db_path(), create=True)
    try:
        auth.add_user(con, name, role, password)
        _audit(con, "user.add", name, "ok", {"role": role})
    except auth.AuthError as exc:
        _audit(con, "user.add", name, "refused", {"role": role, "reason": str(exc)})
        raise fail(str(exc)) from None
    finally:
        con.close()
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
    finally:
        con.close()
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
    finally:
        con.close()
    typer.echo(f"revoked {n} token(s) of {name!r}")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """List users, roles and active token counts."""
    import duckdb

    from critmin.web import auth

    con = _connect(ctx.obj.db_path(), read_only=True)
    try:
        rows = auth.list_users(con)
    except duckdb.CatalogException:  # no web tables yet
        raise fail(f"no dashboard users yet in {ctx.obj.db_path()}: start `critmin serve` once "
                   "(it creates the first user, 'admin'), or add one with `critmin users add NAME --role ROLE`") from None
    finally:
        con.close()
    for r in rows:
        typer.echo(f"{r['name']:<20} {r['role']:<12} tokens={r['active_tokens']}"
                   f"{'  DISABLED' if r['disabled'] else ''}")


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
    try:
        ok, msg = audit.verify_chain(con)
        text = audit.export(con, format)
    finally:
        con.close()
    if output:
        output.write_text(text)
    else:
        typer.echo(text, nl=False)
    typer.echo(("chain ok: " if ok else "CHAIN BROKEN: ") + msg, err=True)
    if not ok:
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``users ...`` and ``audit ...`` to the root app."""
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    app.command("serve")(serve_cmd)
