"""``critmin settings [--json]``: every setting, its default, current value and source."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def settings_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List every setting with its default, current value (environment) and source."""
    from critmin import settings

    rows = [
        {"name": s.name, "default": s.default, "value": settings.get(s.name), "env_var": s.env_var,
         "help": s.help, "source": s.source}
        for s in settings.load_all()
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    from rich.console import Console
    from rich.markup import escape

    from critmin.cli.tables import Col, fit_table

    cols = [Col("name"), Col("value"), Col("default", priority=1), Col("env var", priority=3),
            Col("help", priority=2, max_width=40)]
    cells = [[escape(str(r[k])) for k in ("name", "value", "default", "env_var", "help")] for r in rows]
    Console().print(fit_table("Settings (all of them: docs/settings.md)", cols, cells))


def register(app: typer.Typer) -> None:
    """Add ``critmin settings`` to the root app."""
    app.command("settings")(settings_cmd)
