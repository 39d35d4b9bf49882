"""``critmin ops``: the operational store (users, sessions, audit, projects, jobs, runs).

``critmin ops migrate`` upgrades it to the newest schema (the server and every command that
uses the store also do this on first use); ``critmin ops info`` says which database it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from critmin.cli.common import fail

if TYPE_CHECKING:
    from critmin.ops import Store

ops_app = typer.Typer(help="The operational store (SQLite beside the warehouse, or PostgreSQL).", no_args_is_help=True)


def cli_store(ctx: typer.Context) -> Store:
    """The operational store of ``--db`` (or ``CRITMIN_DATABASE_URL``), migrated."""
    import sqlalchemy.exc

    from critmin.ops import open_store

    try:
        return open_store(warehouse=ctx.obj.db_path())
    except sqlalchemy.exc.OperationalError as exc:
        raise fail(f"cannot open the operational store: {str(exc.orig).strip().splitlines()[0]}") from None


@ops_app.command("migrate")
def migrate_cmd(
    ctx: typer.Context,
    from_warehouse: Annotated[bool, typer.Option(
        "--from-warehouse", help="Also copy users, tokens, jobs, projects and runs out of a warehouse "
                                 "from before the operational store (into empty tables only).")] = False,
) -> None:
    """Upgrade the operational store to the newest schema (Alembic migrations)."""
    from critmin.ops import get_engine, migrate

    eng = get_engine(warehouse=ctx.obj.db_path())
    try:
        revs = migrate(eng)
    except Exception as exc:  # noqa: BLE001 - one line for the user (database unreachable, ...)
        raise fail(f"migration failed on {eng.url.render_as_string(hide_password=True)}: {exc}") from None
    typer.echo(f"{eng.url.render_as_string(hide_password=True)}: at revision {', '.join(sorted(revs))}")
    if from_warehouse:
        from critmin.ops.legacy import import_legacy

        db = ctx.obj.db_path()
        if not db.exists():
            raise fail(f"no warehouse at {db}")
        for table, what in import_legacy(db, cli_store(ctx)).items():
            typer.echo(f"  {table}: {what}")


@ops_app.command("info")
def info_cmd(ctx: typer.Context) -> None:
    """Which operational store this command line uses, and its schema revision."""
    from critmin.ops import current_revisions, head_revisions

    store = cli_store(ctx)
    typer.echo(f"store: {store.engine.url.render_as_string(hide_password=True)}")
    typer.echo(f"revision: {', '.join(sorted(current_revisions(store.engine)))} "
               f"(code: {', '.join(sorted(head_revisions()))})")


def register(app: typer.Typer) -> None:
    app.add_typer(ops_app, name="ops")
