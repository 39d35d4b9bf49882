"""The ``critmin`` console script (Typer).

Global options ``--db`` and ``--data`` are resolved once into :class:`CLIState` (``ctx.obj``).
Each capability contributes its commands from its own module in this package (the list is
:data:`COMMAND_MODULES`), all in one style: the commands are module-level functions (a group's
are decorated on the module's own ``typer.Typer``), and ``register(app)`` only attaches them to
the root app. Commands open the warehouse with ``with cli_warehouse(ctx) as wh:`` and parse
money with ``parse_amount``/``parse_budgets`` (:mod:`critmin.cli.common`). Heavy imports stay
inside the command functions so that ``critmin --help`` starts fast.
"""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from critmin.cli.common import clean_message, guard_commands, set_debug
from critmin.data import paths

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

COMMAND_MODULES = [
    "critmin.cli.data",
    "critmin.cli.production",
    "critmin.cli.assess",
    "critmin.cli.simulate",
    "critmin.cli.runs",
    "critmin.cli.stockpile",
    "critmin.cli.projects",
    "critmin.cli.outlook",
    "critmin.cli.markets",
    "critmin.cli.web",
    "critmin.cli.settings_cmd",
    "critmin.cli.brief",
    "critmin.cli.ops",
    "critmin.cli.incident",
]

class OneLineErrors(TyperGroup):
    """The root command: a usage error Click finds itself (a bad option value, a missing argument,
    an unknown option) is one line, ``error: ... (see `critmin CMD --help`)``, exit code 2, like
    the commands' own errors (:func:`critmin.cli.common.guard_commands`)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from typer import _click

        if not kwargs.get("standalone_mode", True):
            return super().main(*args, **kwargs)
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
        except _click.exceptions.NoArgsIsHelpError as exc:  # the help is already printed
            sys.exit(exc.exit_code)
        except _click.exceptions.UsageError as exc:
            hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
            typer.echo(f"error: {clean_message(exc.format_message())}{hint}", err=True)
            sys.exit(exc.exit_code)
        except _click.exceptions.ClickException as exc:
            typer.echo(f"error: {clean_message(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    name="critmin",
    cls=OneLineErrors,
    help="critmin: critical-minerals supply security for allied governments (US-Japan framework).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@dataclass
class CLIState:
    db: str | None = None
    data: str | None = None

    def db_path(self) -> Path:
        return paths.resolve_db_path(self.db)

    def data_dir(self) -> Path:
        return paths.resolve_data_dir(self.data)

    def open_warehouse(self, read_only: bool = False) -> Warehouse:
        from critmin.data.warehouse import Warehouse

        return Warehouse(self.db_path(), read_only=read_only)


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[
        str | None, typer.Option("--db", envvar="CRITMIN_DB", help="DuckDB file (default: user data dir).")
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", envvar="CRITMIN_DATA", help="Raw data directory (default: ../shared/data/raw)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error (default: one line).")] = False,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr)
    set_debug(debug)
    ctx.obj = CLIState(db=db, data=data)


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)
guard_commands(app)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
