"""What every command module shares: the warehouse context, user errors, amounts and pairs.

* ``with cli_warehouse(ctx) as wh:`` opens the warehouse of ``--db`` (read-only by default)
  and closes it at the end; a user error inside the block (an unknown commodity, a bad
  option value, a warehouse not imported yet, ...) becomes a one-line ``error: ...`` on
  stderr and exit code 1, never a traceback. ``with user_errors():`` does the same without
  a warehouse (option parsing).
* :func:`parse_amount` and :func:`parse_budgets`: one syntax for money (``2e9``, ``1.5e9``,
  ``2bn``, ``2.5B``, ``500m``, ``750k``) used by ``stockpile`` and ``projects``.
* :func:`parse_pairs`: ``KEY=NUMBER,...`` options (``--loss-multiple``, ``--param``).
* :data:`VintageOpt`: the one ``--vintage RELEASE`` option of every command that reads warehouse
  data; ``cli_warehouse(ctx, vintage=vintage)`` opens the warehouse as of that release
  (:meth:`critmin.data.warehouse.Warehouse.pin`: USGS MCS releases newer than it are not read,
  other sources as imported), says so in one ``note:`` line on stderr, and an unknown release
  is a one-line error listing the releases available.
* :func:`guard_commands` (applied once to the root app by :mod:`critmin.cli.main`): every
  command's user errors -- an unknown name, a bad option value, a database locked by another
  process, a missing warehouse or table -- end in one line and exit code 1, wherever in the
  command they are raised; the global ``--debug`` flag lets the traceback through instead.
  Messages never show internal types (``np.int64(2020)`` reads ``2020``).

Command modules define their commands at module level and attach them in one
``register(app)`` function (see :mod:`critmin.cli.main`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

VINTAGE_HELP = ("Read the data as of this USGS MCS release, e.g. MCS2023: newer MCS releases are not read, "
                "the newest remaining one wins per commodity and year; other sources (IEA, trade, WGI, "
                "prices, WMD, deposits) as imported. Default: every release, the newest wins. "
                "`critmin data status` lists the releases.")
#: ``--vintage RELEASE``: the one definition every data command uses (pass it to :func:`cli_warehouse`)
VintageOpt = Annotated[str | None, typer.Option("--vintage", metavar="RELEASE", help=VINTAGE_HELP)]

#: exception types that are the user's to fix (a bad option value, an unknown name, no data
#: imported, ...): reported in one line. ValueError covers the library's input errors
#: (StockpileInputError, NotComputable, ScenarioError, ...), LookupError the unknown names
#: (UnknownCommodity, UnknownCountry, NoStageSupply, KeyError).
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, LookupError)

_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "bn": 1e9, "t": 1e12}
_AMOUNT = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*(k|m|bn|b|t)?")
_UNLIMITED = {"inf", "unlimited", "none"}


_DEBUG = False
#: numpy/pandas scalars as repr'd inside messages: ``np.int64(2020)`` -> ``2020``
_INTERNAL = re.compile(r"\b(?:np|numpy)\.(?:int|uint|float|str_|bool_)\w*\(([^()]*)\)")
_QUOTED_INTERNAL = re.compile(r"\b(?:np|numpy)\.str_\('([^']*)'\)")


def set_debug(on: bool) -> None:
    """``--debug``: let user errors raise with their traceback instead of one line."""
    global _DEBUG
    _DEBUG = bool(on)


def debug() -> bool:
    return _DEBUG


def clean_message(message: str) -> str:
    """One line, without internal types: ``[np.int64(2020), np.int64(2021)]`` -> ``2020, 2021``."""
    msg = _QUOTED_INTERNAL.sub(r"\1", str(message))
    msg = _INTERNAL.sub(r"\1", msg)
    msg = re.sub(r"\[((?:\d+, )*\d+)\]", r"\1", msg)
    return " ".join(msg.split())


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` (one line) to stderr and return an Exit to raise."""
    typer.echo(f"error: {clean_message(message)}", err=True)
    return typer.Exit(code)


@contextmanager
def user_errors(extra: Sequence[type[BaseException]] = ()) -> Iterator[None]:
    """Turn a user error raised in the block into :func:`fail` (exit code 1)."""
    try:
        yield
    except (*USER_ERRORS, *extra) as exc:
        if _DEBUG:
            raise
        raise fail(str(exc)) from None


@contextmanager
def working(message: str) -> Iterator[None]:
    """The process's spinner (:mod:`critmin.cli.spinner`) titled ``message`` during a long step
    (shown only when stderr is a terminal, so pipes and --json output stay clean). Not inside a
    rich progress bar: one live display at a time."""
    from critmin.cli import spinner

    with spinner.step(message):
        yield


def _db_path(ctx: typer.Context | None) -> str:
    try:
        return str(ctx.find_root().obj.db_path())  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - only for the message
        return "the database"


def database_message(exc: BaseException, db: str) -> str | None:
    """The one-line message for a DuckDB error a user can fix, else None."""
    import duckdb

    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, duckdb.IOException):
        low = str(exc).lower()
        if "lock" in low:
            return (f"the database {db} is in use by another process (it holds the write lock; "
                    "is `critmin serve` or an import running?): stop it or use the HTTP API, then retry")
        if "does not exist" in low or "no such file" in low:
            return f"no warehouse at {db}: run `critmin data import` first (or pass --db)"
        return f"cannot open {db}: {text}"
    if isinstance(exc, duckdb.CatalogException):
        m = re.search(r"Table with name (\w+) does not exist", str(exc))
        what = f"table {m.group(1)!r}" if m else "a table"
        web = bool(m and m.group(1).startswith(("web_", "audit", "session", "job")))
        fix = ("start `critmin serve` once (it creates the dashboard's tables and first user)" if web
               else "run `critmin data import` to build the warehouse")
        return f"the database {db} has no {what}: {fix}"
    return None


def countries(text: str, field: str) -> list[str]:
    """``'Japan, US'`` / ``'日本,米国'`` / ``'JPN,USA'`` -> ISO3 codes, in order; any name or code
    :func:`critmin.data.normalize.countries.to_iso3` knows (English and Japanese names, ISO
    alpha-2/alpha-3). An unknown one -> ``ValueError`` naming ``field``."""
    from critmin.data.errors import UnknownCountry
    from critmin.data.normalize.countries import to_iso3

    out: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            code = to_iso3(part)
        except UnknownCountry:
            raise ValueError(f"{field}: unknown country {part!r}; give a name (Japan, 日本, United States) "
                             "or an ISO code (JPN, JP)") from None
        if code not in out:
            out.append(code)
    if not out:
        raise ValueError(f"{field}: no country given")
    return out


def commodity_notes(kwargs: dict[str, Any]) -> None:
    """Tell the user how an element name was read (``--commodity Neodymium`` -> rare earths, as a
    group), once per name, on stderr, before the command runs."""
    from critmin.data.normalize.commodities import resolution_note

    for key in ("commodity", "commodities"):
        value = kwargs.get(key)
        if isinstance(value, str):
            for part in value.split(","):
                note = resolution_note(part) if part.strip() else None
                if note:
                    typer.echo(f"note: {note}", err=True)


def _spinner_title() -> None:
    """The spinner (started by the console script) names the command being run."""
    from typer._click.globals import get_current_context

    from critmin.cli import spinner

    ctx = get_current_context(silent=True)
    if ctx is not None:
        spinner.retitle(f"{ctx.command_path} ...")


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import duckdb

        from critmin.data.paths import DataDirNotFound
        from critmin.data.warehouse import WarehouseNotImported

        caught: tuple[type[BaseException], ...] = (
            *USER_ERRORS, WarehouseNotImported, DataDirNotFound, FileNotFoundError, PermissionError,
            IsADirectoryError)
        try:
            _spinner_title()
            commodity_notes(kwargs)
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except caught as exc:
            if _DEBUG:
                raise
            raise fail(str(exc)) from None
        except duckdb.Error as exc:
            ctx = next((a for a in (*args, *kwargs.values()) if isinstance(a, typer.Context)), None)
            msg = database_message(exc, _db_path(ctx))
            if msg is None or _DEBUG:
                raise
            raise fail(msg) from None
    return wrapper


def guard_commands(app: typer.Typer) -> None:
    """Wrap every command of ``app`` (and of its groups) in the one-line error handling."""
    for info in app.registered_commands:
        if info.callback is not None and not getattr(info.callback, "_critmin_guarded", False):
            info.callback = _guard(info.callback)
            info.callback._critmin_guarded = True  # type: ignore[attr-defined]
    for group in app.registered_groups:
        if group.typer_instance is not None:
            guard_commands(group.typer_instance)


@contextmanager
def cli_warehouse(ctx: typer.Context, *, read_only: bool = True, create: bool = False,
                  errors: Sequence[type[BaseException]] = (), vintage: str | None = None) -> Iterator[Warehouse]:
    """The warehouse of ``--db``, closed when the block ends. A warehouse that cannot be opened
    (not imported yet, locked by a running server) and a user error in the block
    (:data:`USER_ERRORS` and ``errors``) end the command with a one-line message. Only with
    ``create`` (``data import``) is a missing database file created; otherwise a mistyped
    ``--db`` is an error, not a new empty file. ``vintage`` (the :data:`VintageOpt` value)
    pins the warehouse to that release (:meth:`~critmin.data.warehouse.Warehouse.pin`) and
    writes a ``note:`` line saying so; an unknown release ends the command in one line."""
    import duckdb

    from critmin.data.warehouse import WarehouseNotImported

    db = ctx.obj.db_path()
    if not create and not Path(db).exists():
        raise fail(f"no warehouse at {db}: run `critmin data import` first (or pass --db)")
    try:
        wh = ctx.obj.open_warehouse(read_only=read_only)
    except WarehouseNotImported as exc:
        raise fail(str(exc)) from None
    except duckdb.Error as exc:
        if _DEBUG:
            raise
        raise fail(database_message(exc, str(db)) or f"cannot open {db}: {exc}") from None
    try:
        if vintage is not None:
            with user_errors():
                note = wh.pin(vintage).pin_note()
            typer.echo(f"note: {note}", err=True)
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
