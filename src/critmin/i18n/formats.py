"""Numbers, percentages, money and dates for each language, through Babel (CLDR data).

Every figure a reader sees in a brief or on the dashboard goes through these functions, so
the grouping and decimal signs and the date order are those of the reader's locale
(``en_US``: 1,234.5 and December 2, 2026; ``ja_JP``: 1,234.5 and 2026年12月2日). ``None`` and
NaN are shown as an en dash, never as 0.
"""

from __future__ import annotations

import datetime as dt
import math

from babel import dates, numbers

from critmin.i18n import BABEL_LOCALE, check_lang

__all__ = ["MISSING", "fmt_date", "fmt_int", "fmt_number", "fmt_percent", "fmt_usd_millions"]

#: what a missing figure is shown as
MISSING = "–"


def _loc(lang: str) -> str:
    return BABEL_LOCALE[check_lang(lang)]


def _missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt_number(x: float | None, lang: str, digits: int = 2) -> str:
    """``x`` with ``digits`` decimals and the locale's grouping (``1,234.57``)."""
    if _missing(x):
        return MISSING
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return numbers.format_decimal(float(x), format=pattern, locale=_loc(lang))  # type: ignore[arg-type]


def fmt_int(x: float | None, lang: str) -> str:
    return fmt_number(x, lang, 0)


def fmt_percent(fraction: float | None, lang: str, digits: int = 1) -> str:
    """A fraction as a percentage (0.123 -> ``12.3%``)."""
    if _missing(fraction):
        return MISSING
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "") + "%"
    return numbers.format_percent(float(fraction), format=pattern, locale=_loc(lang))  # type: ignore[arg-type]


def fmt_usd_millions(usd: float | None, lang: str, digits: int = 1) -> str:
    """US$ as millions with ``digits`` decimals (the unit is stated in the column header)."""
    return MISSING if _missing(usd) else fmt_number(float(usd) / 1e6, lang, digits)  # type: ignore[arg-type]


def fmt_date(d: dt.date, lang: str, form: str = "long") -> str:
    """A date in the locale's ``form`` (CLDR ``short``/``medium``/``long``)."""
    return dates.format_date(d, format=form, locale=_loc(lang))
