"""The ``critmin`` console script's entry point: the spinner first, then everything else.

:func:`main` starts the spinner (:mod:`critmin.cli.spinner`, standard library only) before it
imports the Typer app, so the first sign of life on a terminal comes within a fraction of a
second, before the seconds of importing Typer, the command modules, DuckDB and pandas.
"""

from __future__ import annotations

import sys


def main() -> None:
    from critmin.cli import spinner

    spinner.install(sys.argv[1:])
    try:
        from critmin.cli.main import main as run

        run()
    finally:
        spinner.uninstall()


if __name__ == "__main__":  # pragma: no cover
    main()
