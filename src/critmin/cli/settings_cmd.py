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
    from rich.table import Table

    t = Table("name", "value", "default", "env var", "help")
    for r in rows:
        t.add_row(r["name"], str(r["value"]), str(r["default"]), r["env_var"], r["help"][:80])
    Console().print(t)


def register(app: typer.Typer) -> None:
    """Add ``critmin settings`` to the root app."""
    app.command("settings")(settings_cmd)
