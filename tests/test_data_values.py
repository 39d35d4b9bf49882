"""Coded-value parsing (critmin.data.normalize.values).

References: USGS Mineral Commodity Summaries 2025, "Explanation of symbols" (W withheld,
NA not available, E net exporter, XX not applicable, — zero, >/< bounds) and the cell texts
found in the MCS 2022-2025 data releases (quoted verbatim below, e.g. '140–575' with an en
dash, 'Less than 50,000\xa0tons' with a no-break space, '−88' with a unicode minus).
"""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.data.errors import ImportFault
from critmin.data.ingest.base import parse_cell
from critmin.data.normalize import values
from critmin.data.normalize.values import PHRASES, parse_value

# --------------------------------------------------------------------------------------
# codes


@pytest.mark.parametrize(
    ("raw", "flag"),
    [
        ("W", "W"),
        ("W ", "W"),  # as found in the MCS 2024 salient files
        ("NA", "NA"),
        ("      NA", "NA"),  # MCS 2023 world files pad codes with spaces
        ("N/A", "NA"),
        ("E", "E"),
        ("XX", "XX"),
        ("             XX", "XX"),
        ("(D)", "W"),  # Census: withheld to avoid disclosing individual company data
    ],
)
def test_codes_keep_no_number(raw: str, flag: str) -> None:
    p = parse_value(raw)
    assert p is not None
    assert p.flag == flag
    assert p.value is None
    assert p.lo is None and p.hi is None


def test_usgs_em_dash_is_the_only_code_that_means_zero() -> None:
    p = parse_value("—")
    assert p is not None
    assert p.value == 0.0
    assert p.flag == "zero_dash"  # the origin of the zero stays visible


@pytest.mark.parametrize("raw", ["", "   ", "\u00a0", None, float("nan")])
def test_blank_is_blank_not_zero(raw: object) -> None:
    p = parse_value(raw)
    assert p is not None
    assert p.flag == "blank"
    assert p.value is None


# --------------------------------------------------------------------------------------
# bounds and ranges


@pytest.mark.parametrize(
    ("raw", "lo", "hi"),
    [
        (">95", 95.0, None),  # rare-earth NIR, MCS 2025
        (">50%", 50.0, None),
        (">130,000,000", 130e6, None),  # nickel world reserves, MCS 2025
        ("    >9,100,000", 9.1e6, None),
        ("≥ 25", 25.0, None),
        (">=25", 25.0, None),
        ("<1", 0.0, 1.0),
        ("<1,000", 0.0, 1000.0),
        ("<=0.5", 0.0, 0.5),
        ("≤0.5", 0.0, 0.5),
        ("Less than ½ unit.", 0.0, 0.5),
        ("Less than 1/2 unit.", 0.0, 0.5),
        ("less than one-half unit", 0.0, 0.5),
    ],
)
def test_bounds_are_bounds_not_values(raw: str, lo: float, hi: float | None) -> None:
    p = parse_value(raw)
    assert p is not None
    assert p.value is None
    assert p.flag in (">", "<")
    assert p.lo == lo
    assert p.hi == hi


def test_bound_in_another_unit_keeps_no_upper_bound() -> None:
    # 'Less than 50,000 tons' (short tons, MCS salient): the number is in a unit the cell does
    # not share with its column, so only the lower bound 0 is certain; the text is kept.
    p = parse_value("Less than 50,000\u00a0tons")
    assert p is not None
    assert (p.value, p.flag, p.lo, p.hi) == (None, "<", 0.0, None)
    assert p.note == "Less than 50,000 tons"  # the exact cell stays in value_raw


@pytest.mark.parametrize(
    ("raw", "lo", "hi"),
    [
        ("140–575", 140.0, 575.0),  # en dash, MCS salient price range
        ("500–15,000", 500.0, 15000.0),
        ("100-200", 100.0, 200.0),
        ("100 — 200", 100.0, 200.0),
        ("1.5 to 2.5", 1.5, 2.5),
    ],
)
def test_ranges(raw: str, lo: float, hi: float) -> None:
    p = parse_value(raw)
    assert p is not None
    assert (p.value, p.flag, p.lo, p.hi) == (None, "range", lo, hi)


def test_reversed_range_is_not_understood() -> None:
    assert parse_value("200-100") is None


# --------------------------------------------------------------------------------------
# numbers


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("0", 0.0),
        ("270000", 270000.0),
        ("1,200", 1200.0),
        ("1,200.5", 1200.5),
        ("12,345,678", 12345678.0),
        ("\u00a0\u00a0\u00a0\u00a0 330", 330.0),  # MCS 2023 world file, no-break spaces
        ("−88", -88.0),  # unicode minus (U+2212), MCS salient stock change
        ("−1,234.5", -1234.5),
        ("-2", -2.0),
        ("+3", 3.0),
        (".5", 0.5),
        ("1.5e3", 1500.0),
        ("1E-2", 0.01),
        ("2.5E+06", 2.5e6),
        ("3%", 3.0),
        (1500, 1500.0),
        (2.25, 2.25),
    ],
)
def test_plain_numbers(raw: object, value: float) -> None:
    p = parse_value(raw)
    assert p is not None
    assert p.flag is None
    assert p.value == value


@pytest.mark.parametrize("raw", ["1,23", "1,2345", "12,34,567", "1..2", "1,200,"])
def test_malformed_thousands_separators_are_rejected(raw: str) -> None:
    # '1,2345' is either 12,345 with a misplaced comma or 1,234 with a flattened footnote 5:
    # ambiguous, so it must be an error, not a guess.
    assert parse_value(raw) is None


@pytest.mark.parametrize(
    ("raw", "value", "flag"),
    [
        ("2,500e", 2500.0, "footnote"),  # superscript e (estimated) flattened after the number
        ("5,000 (3)", 5000.0, "footnote"),  # numbered footnote in parentheses
        ("70 (a)", 70.0, "footnote"),
        ("12*", 12.0, "footnote"),
        ("1,234a", 1234.0, "footnote"),
        ("e3,900", 3900.0, "estimated"),  # MCS 2023 world files: 'e' before the number
        (" e24,000", 24000.0, "estimated"),
    ],
)
def test_footnote_marks_keep_the_number_and_the_text(raw: str, value: float, flag: str) -> None:
    p = parse_value(raw)
    assert p is not None
    assert (p.value, p.flag) == (value, flag)
    assert p.note == raw.strip()


# --------------------------------------------------------------------------------------
# phrases


@pytest.mark.parametrize(("phrase", "expected"), sorted(PHRASES.items()))
def test_every_phrase_maps_to_its_flag(phrase: str, expected: tuple[str, float | None, float | None]) -> None:
    for variant in (phrase, phrase.capitalize() + ".", "  " + phrase.upper() + "  "):
        p = parse_value(variant)
        assert p is not None, variant
        assert p.value is None
        assert (p.flag, p.lo, p.hi) == expected
        assert p.note == variant.strip()


@pytest.mark.parametrize(
    ("raw", "flag"),
    [
        ("Included in World total.", "included_elsewhere"),
        ("Included with “Other countries.”", "included_elsewhere"),
        ("included with ilmenite", "included_elsewhere"),
        ('Categorized as "large"', "large"),
        ("    Large", "large"),
        ("Very small", "small"),
        ("Small", "small"),
        ("Variable, depending on type of product", "variable"),
    ],
)
def test_real_phrases(raw: str, flag: str) -> None:
    p = parse_value(raw)
    assert p is not None
    assert (p.value, p.flag) == (None, flag)


@pytest.mark.parametrize("raw", ["100 kg", "5 Mt", "1,200 tons", "3 ABC"])
def test_a_unit_in_the_cell_is_not_a_footnote(raw: str) -> None:
    # '100 kg' in a metric-ton column would silently become 100 t if read as '100' + footnote
    assert parse_value(raw) is None


@pytest.mark.parametrize("raw", ["abc", "N", "NaN", "inf", "-inf", "1 2 3", "W W", "about 5", ">", "<", "e"])
def test_not_understood_is_none(raw: str) -> None:
    assert parse_value(raw) is None


def test_parse_cell_names_file_line_column_found_expected() -> None:
    with pytest.raises(ImportFault) as ei:
        parse_cell("usgs_mcs2025/world_data/MCS2025_World_Data.csv", 12, "PROD_2023", "abc")
    e = ei.value
    assert (e.path, e.line, e.column, e.found) == ("usgs_mcs2025/world_data/MCS2025_World_Data.csv", 12, "PROD_2023", "abc")
    assert e.expected == values.EXPECTED
    assert str(e) == (
        "usgs_mcs2025/world_data/MCS2025_World_Data.csv, line 12, column 'PROD_2023': "
        "found 'abc', expected a number or a USGS code (W, NA, E, XX, —, >N, <N, N-M)"
    )


# --------------------------------------------------------------------------------------
# properties

finite = st.floats(allow_nan=False, allow_infinity=False)


@given(finite)
def test_float_with_thousands_separators_round_trips(x: float) -> None:
    # f"{x:,}" is Python's shortest round-trip repr with ',' grouping (exponent form for
    # very large/small magnitudes), so the parse must give back exactly x.
    p = parse_value(f"{x:,}")
    assert p is not None
    assert p.flag is None
    assert p.value == x
    assert math.copysign(1.0, p.value) == math.copysign(1.0, x) or x == 0


@given(finite)
def test_float_with_unicode_minus_round_trips(x: float) -> None:
    p = parse_value(f"{x:,}".replace("-", "\u2212"))
    assert p is not None
    assert p.value == x


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_integer_with_separators_round_trips(n: int) -> None:
    p = parse_value(f"{n:,}")
    assert p is not None
    assert (p.value, p.flag) == (float(n), None)


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False), st.sampled_from([">", "<", ">=", "<=", "≥", "≤"]))
def test_bounds_property(x: float, op: str) -> None:
    p = parse_value(f"{op}{x:,}")
    assert p is not None
    assert p.value is None
    if op in (">", ">=", "≥"):
        assert (p.flag, p.lo, p.hi) == (">", x, None)
    else:
        assert (p.flag, p.lo, p.hi) == ("<", 0.0, x)


@given(
    st.floats(min_value=0, max_value=1e9, allow_nan=False),
    st.floats(min_value=0, max_value=1e9, allow_nan=False),
    st.sampled_from(["-", "–", "—", " to ", " – "]),
)
def test_range_property(a: float, b: float, sep: str) -> None:
    lo, hi = min(a, b), max(a, b)
    p = parse_value(f"{lo:,}{sep}{hi:,}")
    assert p is not None
    assert (p.value, p.flag, p.lo, p.hi) == (None, "range", lo, hi)


CODE_TEXTS = sorted(values.CODES) + sorted(PHRASES)


@given(st.sampled_from(CODE_TEXTS), st.text(alphabet=" \u00a0\t", max_size=3), st.text(alphabet=" \u00a0\t", max_size=3), st.booleans())
def test_no_code_ever_yields_a_value(code: str, pre: str, post: str, upper: bool) -> None:
    text = pre + (code.upper() if upper else code) + post
    p = parse_value(text)
    assert p is not None
    assert p.value is None
    assert p.flag not in (None, "zero_dash")


@given(st.text(alphabet=st.characters(blacklist_categories=("Nd", "No", "Cs")), max_size=12))
def test_text_without_digits_is_never_a_number(text: str) -> None:
    """Only the explicit USGS zero mark gives 0; no text without digits gives any other number."""
    p = parse_value(text)
    if p is None or p.value is None:
        return
    assert p.value == 0.0
    assert p.flag == "zero_dash"
    assert text.strip().replace("\u2212", "-") in values.DASHES


@given(st.text(max_size=16))
def test_parse_never_raises_and_zero_has_a_zero_in_the_text(text: str) -> None:
    p = parse_value(text)
    if p is None or p.value is None or p.value != 0:
        return
    # a zero comes from a dash or from a number that is literally zero
    assert p.flag == "zero_dash" or re.search(r"0", text)
