"""What every command module shares: the warehouse context, user errors, amounts and pairs.

* ``with cli_warehouse(ctx) as wh:`` opens the warehouse of ``--db`` (read-only by default)
  and closes it at the end; a user error inside the block (an unknown commodity, a bad
  option value, a warehouse not imported yet, ...) becomes a one-line ``error: ...`` on
  stderr and exit code 1, never a traceback. ``with user_errors():`` does the same without
  a warehouse (option parsing).
* :func:`parse_amount` and :func:`parse_budgets`: one syntax for money (``2e9``, ``1.5e9``,
  ``2bn``, ``2.5B``, ``500m``, ``750k``) used by ``stockpile`` and ``projects``.
* :func:`parse_pairs`: ``KEY=NUMBER,...`` options (``--loss-multiple``, ``--param``).

Command modules define their commands at module level and attach them in one
``register(app)`` function (see :mod:`critmin.cli.main`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

#: exception types that are the user's to fix (a bad option value, an unknown name, no data
#: imported, ...): reported in one line. ValueError covers the library's input errors
#: (StockpileInputError, NotComputable, ScenarioError, ...), LookupError the unknown names
#: (UnknownCommodity, UnknownCountry, NoStageSupply, KeyError).
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, LookupError)

_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "bn": 1e9, "t": 1e12}
_AMOUNT = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*(k|m|bn|b|t)?")
_UNLIMITED = {"inf", "unlimited", "none"}


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` to stderr and return an Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def user_errors(extra: Sequence[type[BaseException]] = ()) -> Iterator[None]:
    """Turn a user error raised in the block into :func:`fail` (exit code 1)."""
    try:
        yield
    except (*USER_ERRORS, *extra) as exc:
        raise fail(str(exc)) from None


@contextmanager
def cli_warehouse(ctx: typer.Context, *, read_only: bool = True,
                  errors: Sequence[type[BaseException]] = ()) -> Iterator[Warehouse]:
    """The warehouse of ``--db``, closed when the block ends. A warehouse that cannot be opened
    (not imported yet, locked by a running server) and a user error in the block
    (:data:`USER_ERRORS` and ``errors``) end the command with a one-line message."""
    import duckdb

    from critmin.data.warehouse import WarehouseNotImported

    try:
        wh = ctx.obj.open_warehouse(read_only=read_only)
    except WarehouseNotImported as exc:
        raise fail(str(exc)) from None
    except duckdb.IOException as exc:
        raise fail(f"cannot open {ctx.obj.db_path()}: {exc}. If `critmin serve` is running it holds "
                   "the database; use the HTTP API or stop the server.") from None
    try:
        with user_errors((WarehouseNotImported, *errors)):
            yield wh
    finally:
        wh.close()


def parse_amount(text: str, field: str, *, allow_inf: bool = True) -> float:
    """An amount of US$: ``'2.5B'`` -> 2.5e9, ``'2bn'``, ``'500m'``, ``'750k'``, ``'1.5e9'``,
    ``'1_000k'``; suffixes k, M, B/bn, T (any case); ``inf`` (with ``allow_inf``) = no limit.
    NaN and negative amounts are refused with a ``ValueError`` naming ``field``."""
    t = str(text).strip().replace("_", "").replace(",", "").lower()
    if t in _UNLIMITED:
        if allow_inf:
            return math.inf
        raise ValueError(f"{field}: {text!r}; expected a finite amount (e.g. 2e9, 2bn, 500M)")
    m = _AMOUNT.fullmatch(t)
    if not m:
        eg = "2.5e9, 2.5B, 2bn, 500M" + (", inf" if allow_inf else "")
        raise ValueError(f"{field}: {text!r} is not an amount (e.g. {eg})")
    value = float(m.group(1)) * _SUFFIX.get(m.group(2) or "", 1.0)
    if value < 0:
        raise ValueError(f"{field}: {text!r}; expected an amount >= 0")
    return value


def _items(text: str | None, field: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ValueError(f"{field}: {part.strip()!r} is not KEY=VALUE")
        k, v = (s.strip() for s in part.split("=", 1))
        if k in seen:
            raise ValueError(f"{field}: {k!r} given twice")
        seen.add(k)
        out.append((k, v))
    return out


def parse_pairs(text: str | None, field: str) -> dict[str, float]:
    """``'gallium=20,*=3'`` -> ``{'gallium': 20.0, '*': 3.0}`` (numbers; '' -> {})."""
    out: dict[str, float] = {}
    for k, v in _items(text, field):
        try:
            out[k] = float(v)
        except ValueError:
            raise ValueError(f"{field}: {k}={v!r} is not a number") from None
    return out


def parse_budgets(text: str | None, field: str = "--budget", *, require_all: bool = False,
                  allow_inf: bool = True) -> dict[str, float]:
    """``'USA=2bn,JPN=1.5e9'`` -> ``{'USA': 2e9, 'JPN': 1.5e9}``, in the order given.

    Partners are ISO3 codes of the setting ``risk.consumers`` (any case); with
    ``require_all`` each of them needs a budget. Amounts as :func:`parse_amount`.
    """
    from critmin.data.partners import partners

    known = partners()
    example = ",".join(f"{k}=AMOUNT" for k in known)
    out: dict[str, float] = {}
    for k, v in _items(text, field):
        key = k.upper()
        if key not in known:
            raise ValueError(f"{field}: unknown partner {k!r}; expected {example}")
        if key in out:
            raise ValueError(f"{field}: {key!r} given twice")
        out[key] = parse_amount(v, f"{field} {key}", allow_inf=allow_inf)
    if not out:
        raise ValueError(f"{field}: no budget given; expected {example}")
    missing = [k for k in known if k not in out]
    if require_all and missing:
        raise ValueError(f"{field}: missing {missing}; expected {example}")
    return out


def parse_list(text: str | None) -> list[str] | None:
    """``'a, b,'`` -> ``['a', 'b']``; empty or None -> None."""
    items = [s.strip() for s in (text or "").split(",") if s.strip()]
    return items or None
