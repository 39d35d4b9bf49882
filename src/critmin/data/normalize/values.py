"""Coded values in USGS and other sources, parsed into value + flag (+ bounds).

USGS MCS conventions (MCS 2025, "Explanation of symbols"): ``W`` withheld to avoid
disclosing company proprietary data; ``NA`` not available; ``E`` net exporter (in net import
reliance); ``XX`` not applicable; ``—`` zero; ``>N``/``<N`` bounds; ranges ``N–M``.

No code ever becomes a silent zero: only the explicit USGS zero mark ``—`` gives 0, and it
keeps ``flag='zero_dash'`` so the origin is visible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CODES = {
    "W": "W",
    "NA": "NA",
    "N/A": "NA",
    "E": "E",
    "XX": "XX",
    "(D)": "W",  # Census 'withheld to avoid disclosure'
}
DASHES = {"—", "–", "-", "--", "---", "− ", "−"}

_NUM = r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?|[+-]?\.\d+"
_NUM_RE = re.compile(rf"^({_NUM})$")
_BOUND_RE = re.compile(rf"^(>=|<=|>|<|≥|≤)\s*({_NUM})\s*%?$")
_RANGE_RE = re.compile(rf"^({_NUM})\s*(?:-|–|—|to)\s*({_NUM})$")
# footnote marks after a number: one lower-case letter flattened onto it ('2,500e', '1,234a'),
# asterisks, or a mark in parentheses ('5,000 (3)', '70 (a)'). Not footnotes, and so errors:
# a bare trailing digit ('1,2345' is 12,345 with a misplaced comma or 1,234 with footnote 5)
# and a word after a space ('100 kg', '5 Mt': a unit that differs from the column's).
_FOOT_RE = re.compile(rf"^({_NUM})(?:\s*\(([a-zA-Z*]{{1,3}}|\d{{1,2}})\)|[a-z]|\s*\*+)$")
_PCT_RE = re.compile(rf"^({_NUM})\s*%$")

EXPECTED = "a number or a USGS code (W, NA, E, XX, —, >N, <N, N-M)"

# Phrases USGS writes in value cells instead of a number. Each maps to an explicit flag;
# none becomes a number except the explicit bound in 'Less than ½ unit.'.
PHRASES: dict[str, tuple[str, float | None, float | None]] = {
    "included in world total": ("included_elsewhere", None, None),
    "included with other countries": ("included_elsewhere", None, None),
    "included with ilmenite": ("included_elsewhere", None, None),
    'categorized as "large"': ("large", None, None),
    'categorized as "moderate"': ("moderate", None, None),
    'categorized as "small"': ("small", None, None),
    "large": ("large", None, None),
    "moderate": ("moderate", None, None),
    "very small": ("small", None, None),
    "small": ("small", None, None),
    "less than ½ unit": ("<", 0.0, 0.5),
    "less than 1/2 unit": ("<", 0.0, 0.5),
}
_EST_PREFIX_RE = re.compile(rf"^[eE]\s?({_NUM})$")


def _phrase_key(s: str) -> str:
    s = s.replace("“", '"').replace("”", '"').replace("’", "'").strip().rstrip(".").strip()
    s = s.replace('"', '"')
    return re.sub(r"\s+", " ", s.lower()).replace('"other countries."', "other countries").replace('"other countries"', "other countries")


@dataclass(frozen=True)
class Parsed:
    value: float | None
    flag: str | None
    lo: float | None = None
    hi: float | None = None
    note: str | None = None


def _num(s: str) -> float:
    return float(s.replace(",", ""))


def parse_value(raw: object) -> Parsed | None:
    """Parse one cell. Returns ``None`` when the text is not understood (caller raises).

    >>> parse_value("1,200")
    Parsed(value=1200.0, flag=None, lo=None, hi=None, note=None)
    >>> parse_value(">95").flag, parse_value(">95").lo
    ('>', 95.0)
    >>> parse_value("W").value is None
    True
    """
    if raw is None:
        return Parsed(None, "blank")
    if isinstance(raw, (int, float)):
        if raw != raw:  # NaN
            return Parsed(None, "blank")
        return Parsed(float(raw), None)
    s = str(raw).strip().replace("\u00a0", " ").replace("\u2212", "-")
    if s == "":
        return Parsed(None, "blank")
    up = s.upper()
    if up in CODES and s != "e":  # a lone lower-case 'e' is USGS's 'estimated' mark, not E (net exporter)
        return Parsed(None, CODES[up])
    if s in DASHES:
        return Parsed(0.0, "zero_dash")
    m = _NUM_RE.match(s)
    if m:
        return Parsed(_num(m.group(1)), None)
    m = _PCT_RE.match(s)
    if m:
        return Parsed(_num(m.group(1)), None)
    m = _BOUND_RE.match(s)
    if m:
        op, v = m.group(1), _num(m.group(2))
        if op in (">", ">=", "≥"):
            return Parsed(None, ">", lo=v)
        return Parsed(None, "<", lo=0.0, hi=v)
    m = _RANGE_RE.match(s)
    if m:
        lo, hi = _num(m.group(1)), _num(m.group(2))
        if lo <= hi:
            return Parsed(None, "range", lo=lo, hi=hi)
    m = _FOOT_RE.match(s)
    if m:
        return Parsed(_num(m.group(1)), "footnote", note=s)
    m = _EST_PREFIX_RE.match(s)
    if m:  # USGS superscript 'e' (estimated) flattened into the cell: 'e3,900'
        return Parsed(_num(m.group(1)), "estimated", note=s)
    key = _phrase_key(s)
    ph = PHRASES.get(key)
    if ph:
        return Parsed(None, ph[0], lo=ph[1], hi=ph[2], note=s)
    if re.match(r"^less than (a |one-)?half( a)? unit$", key):
        return Parsed(None, "<", lo=0.0, hi=0.5, note=s)
    if re.match(r"^less than [\d,.]+ \w+$", key):  # 'Less than 50,000 tons': bound in another unit
        return Parsed(None, "<", lo=0.0, note=s)
    if key.startswith("variable"):
        return Parsed(None, "variable", note=s)
    return None
