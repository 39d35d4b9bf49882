"""How the dashboard writes numbers: one module for every page (issue 19 section 3).

Each kind of quantity has one rule, used by the templates through the Jinja filters installed by
:func:`install` (``{{ v|qty('t') }}``, ``{{ v|pct }}``, ``{{ v|score }}``, ``{{ v|usd }}``, ...)
and by the pages' Python code:

========== ===================================================== =========================
kind        rule                                                  examples
========== ===================================================== =========================
score       an index in [0, 1]: two decimals (three below 0.1)    0.44, 0.093
pct         a share in [0, 1] as a percent: whole percent, one    76%, 4.5%, 0.3%
            decimal below 10%, "<0.1%" above zero
qty         a physical quantity: thousands separators; three      270,000 t, 4,780 t,
            significant figures below 1,000, never an exponent    12.3 kg, 0.0947 t
usd         money: US$ with k/m/bn and three significant figures  US$2.26 bn, US$918 m
count       an integer with thousands separators                  1,596,035
hhi         Herfindahl-Hirschman index, 0-10,000 (US DoJ scale,   5,870
            as critmin computes it): whole number, separators
========== ===================================================== =========================

A value that is not computable (``None``, NaN) is an en dash, never a zero. USGS qualifiers are
kept as published (:func:`published`): ``>75`` is shown ``>75%``, ``<50`` ``<50%``, ``W``
(withheld) and ``E`` (net exporter) as the letters, whatever number the analysis used for them.
"""

from __future__ import annotations

import math
import re
from typing import Any

DASH = "–"
NBSP = "\u00a0"
#: USGS qualifiers shown as published: withheld, net exporter, not available
LETTERS = {"W": "withheld to avoid disclosing company data (USGS)", "E": "net exporter (USGS)",
           "NA": "not available (USGS)"}
_QUALIFIED = re.compile(r"^\s*([<>]=?|≥|≤)?\s*(\d+(?:\.\d+)?)\s*%?\s*$")
#: short display names where the ISO 3166 name is long (the full name is in the title)
SHORT_COUNTRY = {"COD": "DR Congo", "COG": "Congo", "RUS": "Russia", "IRN": "Iran", "KOR": "South Korea",
                 "PRK": "North Korea", "LAO": "Laos", "VNM": "Vietnam", "BOL": "Bolivia", "VEN": "Venezuela",
                 "TZA": "Tanzania", "SYR": "Syria", "MDA": "Moldova", "TWN": "Taiwan", "GBR": "United Kingdom"}


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


def sig(v: float, digits: int = 3) -> float:
    """``v`` rounded to ``digits`` significant figures."""
    if v == 0 or not math.isfinite(v):
        return v
    return round(v, digits - 1 - int(math.floor(math.log10(abs(v)))))


def _plain(v: float, digits: int = 3) -> str:
    """Three significant figures, thousands separators, never an exponent."""
    r = sig(float(v), digits)
    if abs(r) >= 10 ** (digits - 1):
        return f"{r:,.0f}"
    decimals = digits - 1 - int(math.floor(math.log10(abs(r)))) if r else 0
    return f"{r:,.{max(decimals, 0)}f}"


def score(v: Any) -> str:
    """An index in [0, 1]: 0.44; 0.093 below 0.1."""
    if _missing(v):
        return DASH
    f = float(v)
    return f"{f:.3f}" if abs(f) < 0.1 and f != 0 else f"{f:.2f}"


def pct(v: Any) -> str:
    """A share (fraction) as a percent: 76%, 4.5%, 0.3%, <0.1%."""
    if _missing(v):
        return DASH
    p = 100 * float(v)
    if p == 0:
        return "0%"
    if abs(p) < 0.1:
        return "<0.1%"
    text = f"{p:.0f}" if abs(p) >= 10 else f"{p:.1f}"
    return f"{text}%"


def qty(v: Any, unit: str | None = None) -> str:
    """A quantity with its unit: 270,000 t; 4,780 t; 12.3 kg (never 2.7e+05)."""
    if _missing(v):
        return DASH
    f = float(v)
    text = f"{f:,.0f}" if abs(f) >= 1000 else ("0" if f == 0 else _plain(f))
    return f"{text}{NBSP}{unit}" if unit else text


def usd(v: Any) -> str:
    """Money: US$2.26 bn, US$918 m, US$45.0 k, US$950."""
    if _missing(v):
        return DASH
    f = float(v)
    for scale, suffix in ((1e12, "tn"), (1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if abs(f) >= scale:
            return f"US${_plain(f / scale)}{NBSP}{suffix}"
    return f"US${_plain(f)}" if f else "US$0"


def count(v: Any) -> str:
    if _missing(v):
        return DASH
    return f"{int(v):,}"


def hhi(v: Any) -> str:
    """The HHI on its 0-10,000 scale (methodology section 2): 5867.28 -> 5,867."""
    if _missing(v):
        return DASH
    return f"{float(v):,.0f}"


def published(text: Any, value: Any = None, kind: str = "pct") -> str:
    """A USGS figure as published: ``'>75'`` -> ``'>75%'``, ``'W'``, ``'E'`` kept as letters; a
    text that is an explanation, not a figure, gives way to ``value`` formatted as ``kind``."""
    t = "" if text is None else str(text).strip()
    if t.upper() in LETTERS:
        return t.upper()
    m = _QUALIFIED.match(t)
    if m:
        q = (m.group(1) or "").replace(">=", "≥").replace("<=", "≤")
        return f"{q}{m.group(2)}%" if kind == "pct" else f"{q}{m.group(2)}"
    return pct(value) if kind == "pct" else number(value)


def published_title(text: Any) -> str:
    """A tooltip for :func:`published`: what the letter means, or the explanation text."""
    t = "" if text is None else str(text).strip()
    if t.upper() in LETTERS:
        return LETTERS[t.upper()]
    if t and not _QUALIFIED.match(t):
        return t
    return "as published by the USGS" if t else ""


def number(v: Any, digits: int = 3) -> str:
    """Any other number: three significant figures, separators, no exponent; ints as counts."""
    if _missing(v):
        return DASH
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return "0" if v == 0 else _plain(v, digits)
    return str(v)


def country(iso3: Any) -> str:
    """A country's short display name (the ISO code if unknown)."""
    if not iso3:
        return DASH
    code = str(iso3)
    if code in SHORT_COUNTRY:
        return SHORT_COUNTRY[code]
    from critmin.data.normalize.countries import country_name

    try:
        name = country_name(code)
    except Exception:  # noqa: BLE001 - a display helper never fails a page
        return code
    return name.split(",")[0] if name else code


def commodity(cid: Any) -> str:
    """A commodity's display name ('rare earths', never 'rare_earths')."""
    if not cid:
        return DASH
    from critmin.data.normalize.commodities import display_name

    try:
        return display_name(str(cid))
    except Exception:  # noqa: BLE001
        return str(cid).replace("_", " ")


FILTERS = {"score": score, "pct": pct, "qty": qty, "usd": usd, "count": count, "hhi": hhi,
           "published": published, "published_title": published_title, "num": number,
           "country": country, "commodity": commodity}


def setting(name: str) -> Any:
    """A setting's current value, for the notes that explain a convention on a page."""
    from critmin import settings

    settings.load_all()
    return settings.get(name)


def install(env: Any) -> None:
    """Add the filters (and :func:`setting`) to a Jinja environment (``fmt`` is :func:`number`)."""
    env.filters.update(FILTERS)
    env.globals["setting"] = setting
    env.filters["fmt"] = lambda v, digits=3: number(v, digits)
