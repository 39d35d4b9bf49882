"""CLI: ``critmin data fetch`` (download the official releases; see docs/fetch.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class _RichReporter:
    """Progress bar per download on stderr (only drawn on a terminal)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def begin(self, key: str, description: str, total: int | None, completed: int) -> None:
        self.tasks[key] = self.progress.add_task(
            f"{key}: {description}", total=total, completed=completed
        )

    def advance(self, key: str, nbytes: int) -> None:
        if key in self.tasks:
            self.progress.advance(self.tasks[key], nbytes)

    def end(self, key: str) -> None:
        task = self.tasks.pop(key, None)
        if task is not None:
            self.progress.remove_task(task)


def fetch_cmd(
    dest: Annotated[
        str,
        typer.Option(
            "--dest",
            help="Directory to fill (the layout of shared/data/raw); created if needed.",
        ),
    ],
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only", help="Release key or group to fetch (repeatable); default: all."
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="Mirror to download from instead of the publishers: <base-url>/<key>/<file>.",
        ),
    ] = None,
    registry: Annotated[
        str | None,
        typer.Option("--registry", help="Registry TOML to use instead of the packaged one."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Download again even when present and verified.")
    ] = False,
    list_: Annotated[
        bool,
        typer.Option("--list", help="List the registry (key, kind, target, URL) and exit."),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Exit with code 3 when manual releases are still missing."
        ),
    ] = False,
) -> None:
    """Download the official releases (USGS, World Bank, OECD) into DEST and verify them."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from critmin.cli.common import fail
    from critmin.data import fetch as F

    try:
        reg = F.load_registry(registry)
    except F.RegistryError as e:
        raise fail(str(e)) from None
    if list_:
        for rel in reg.releases:
            where = rel.target or ", ".join(sorted({m.to for m in rel.members}))
            typer.echo(f"{rel.key}\t{rel.kind}\t{where}\t{rel.url or rel.landing}")
        return
    err = Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
        transient=True,
    )
    try:
        with progress:
            results = F.fetch(
                dest,
                reg,
                only=only,
                base_url=base_url,
                force=force,
                reporter=_RichReporter(progress),
                keep_going=True,
            )
    except F.FetchError as e:  # e.g. an unknown --only key or an unreadable state file
        raise fail(str(e)) from None
    pending = [r for r in results if r.status == "manual-pending"]
    failed = [r for r in results if r.status == "failed"]
    for r in results:
        extra = f" ({r.detail})" if r.detail and r.status in ("downloaded", "present") else ""
        if r.status == "manual-done":
            extra = f" ({r.detail})"
        typer.echo(f"{r.status:15} {r.key}: {len(r.targets)} file(s){extra}")
    for r in pending:
        typer.echo(f"\nmanual step needed for {r.key}:\n  {r.detail}")
    n_dl = sum(r.status == "downloaded" for r in results)
    n_ok = sum(r.status == "present" for r in results)
    typer.echo(
        f"\n{n_dl} downloaded, {n_ok} already present, {len(pending)} manual step(s) "
        f"pending, {len(failed)} failed; data directory: {dest}"
    )
    if failed:
        for r in failed:
            typer.echo(f"error: {r.detail}", err=True)
        raise typer.Exit(1)
    if pending and strict:
        raise typer.Exit(3)


def register(app: typer.Typer) -> None:
    """Add ``fetch`` to ``app`` (``critmin data`` attaches it to its group; see cli/data.py)."""
    app.command("fetch")(fetch_cmd)
