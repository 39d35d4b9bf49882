"""Tables that fit the terminal (issue 19 §2): columns chosen by width, names wrapped, numbers never cut.

:func:`fit_table` takes the columns in the order shown, each with a ``priority`` (0 = essential,
always kept; higher numbers are left out first when the terminal is too narrow) and whether it
is numeric. A numeric column is never narrower than its widest cell and never wraps, so a
quantity is shown whole or its column is not shown at all; text columns wrap at word breaks
(and fold a word longer than the column) instead of ending in "…". The columns left out are
named in the caption, with the hint to widen the terminal or use ``--json``/``--csv``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

#: rich's per-column overhead with the default box and padding: a border and two spaces
_PER_COLUMN = 3


@dataclass(frozen=True)
class Col:
    header: str
    numeric: bool = False
    priority: int = 0
    max_width: int | None = None  # text columns: wrap beyond this many characters


def _plain(cell: object) -> str:
    return Text.from_markup(cell).plain if isinstance(cell, str) else str(cell)


def _need(col: Col, cells: Sequence[str]) -> int:
    """The narrowest a column may be: a numeric one its widest cell; a text one its longest word
    (capped at 16, folded beyond), within ``max_width``."""
    plain = [_plain(c) for c in cells]
    if col.numeric:
        return max([len(p) for p in plain] + [len(col.header), 1])
    words = [len(w) for p in plain for w in p.split()] + [len(w) for w in col.header.split()]
    need = min(max(words + [1]), 16)
    return min(need, col.max_width) if col.max_width else need


def fit_columns(cols: Sequence[Col], rows: Sequence[Sequence[str]], width: int) -> list[int]:
    """Indexes of the columns kept for ``width`` characters: every priority-0 column, then the
    others in priority order while they fit."""
    need = [_need(c, [r[i] for r in rows]) for i, c in enumerate(cols)]
    keep = [i for i, c in enumerate(cols) if c.priority == 0]
    used = sum(need[i] + _PER_COLUMN for i in keep) + 1
    for i in sorted((i for i, c in enumerate(cols) if c.priority > 0), key=lambda i: (cols[i].priority, i)):
        if used + need[i] + _PER_COLUMN <= width:
            keep.append(i)
            used += need[i] + _PER_COLUMN
    return sorted(keep)


def fit_table(title: str, cols: Sequence[Col], rows: Sequence[Sequence[str]], *, caption: str | None = None,
              width: int | None = None, console: Console | None = None) -> Table:
    """A rich Table of the columns that fit ``width`` (default: the console's)."""
    width = width or (console or Console()).width
    keep = fit_columns(cols, rows, width)
    size = {i: _need(cols[i], [r[i] for r in rows]) for i in keep}
    # the room left goes to the text columns, in order, up to their longest cell; too little room
    # for the essential columns narrows the text columns (folding words), never the numbers
    room = width - (sum(size.values()) + _PER_COLUMN * len(keep) + 1)
    for i in keep:
        if room >= 0:
            break
        if not cols[i].numeric and size[i] > 4:
            cut = min(size[i] - 4, -room)
            size[i] -= cut
            room += cut
    for i in keep:
        if room <= 0:
            break
        if not cols[i].numeric:
            natural = max([len(_plain(r[i])) for r in rows] + [len(cols[i].header)])
            cap = cols[i].max_width
            if cap is not None:
                natural = min(natural, cap)
            add = min(room, max(0, natural - size[i]))
            size[i] += add
            room -= add
    left_out = [cols[i].header for i in range(len(cols)) if i not in keep]
    notes = [caption] if caption else []
    if left_out:
        notes.append(f"not shown at this width: {', '.join(left_out)} (widen the terminal, or use --json)")
    t = Table(title=title, caption="\n".join(notes) or None, title_justify="left", caption_justify="left")
    for i in keep:
        c = cols[i]
        if c.numeric:
            t.add_column(c.header, justify="right", no_wrap=True, width=size[i])
        else:
            t.add_column(c.header, overflow="fold", width=size[i])
    for r in rows:
        t.add_row(*(r[i] for i in keep))
    return t


def section(t: Table, label: str) -> None:
    """A labelled section break (first cell empty, the label in the second)."""
    t.add_section()
    n = len(t.columns)
    t.add_row(*(["", label] + [""] * (n - 2))[:n])


def number_text(value: object, decimals: int | None = None) -> str:
    """A number as a table shows it: thousands separators, never an exponent; ``decimals``
    fixed, else whole numbers from 1,000 up and four significant figures below (at most six
    decimals). Missing values (None, NaN) read ``n/a``; anything else is ``str``."""
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            import numpy as np

            if isinstance(value, np.integer):
                value = int(value)
            elif isinstance(value, np.floating):
                value = float(value)
                if math.isnan(value):
                    return "n/a"
            else:
                return str(value)
        except ImportError:  # pragma: no cover
            return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if decimals is not None:
        return f"{value:,.{decimals}f}"
    a = abs(value)
    if a >= 1000 or value == int(value):
        return f"{value:,.0f}"
    text = f"{value:,.{min(6, max(0, 3 - math.floor(math.log10(a))))}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def frame_table(title: str, df, *, priority: dict[str, int] | None = None,  # noqa: ANN001 - a DataFrame
                decimals: dict[str, int] | None = None, headers: dict[str, str] | None = None,
                max_width: dict[str, int] | None = None, caption: str | None = None,
                width: int | None = None) -> Table:
    """:func:`fit_table` of a DataFrame: its numeric columns right-aligned and whole
    (:func:`number_text`), the others wrapped; ``priority`` per column (default 0, essential),
    ``decimals`` per numeric column, ``headers`` to rename (default: the name, ``_`` as spaces)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    priority, decimals, headers, max_width = priority or {}, decimals or {}, headers or {}, max_width or {}
    names = [str(c) for c in df.columns]
    numeric = [bool(is_numeric_dtype(df[c]) and not is_bool_dtype(df[c])) for c in df.columns]
    cols = [Col(headers.get(n, n.replace("_", " ")), numeric=isnum, priority=priority.get(n, 0),
                max_width=max_width.get(n)) for n, isnum in zip(names, numeric, strict=True)]
    rows = [[number_text(v, decimals.get(n)) if isnum else ("" if v is None or v != v else str(v))
             for n, isnum, v in zip(names, numeric, rec, strict=True)]
            for rec in df.itertuples(index=False, name=None)]
    return fit_table(title, cols, rows, caption=caption, width=width)


def print_table(table: Table) -> None:
    """Print a table on stdout (the console's width: ``COLUMNS`` or the terminal's)."""
    Console().print(table)
