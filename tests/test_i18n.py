"""Languages: the Japanese catalogue is complete, names come from their curated table or CLDR,
and numbers and dates follow each locale (Babel's CLDR data)."""

from __future__ import annotations

import datetime as dt

import pytest

from critmin.i18n import LANGS, check_lang, translations
from critmin.i18n.catalog import extract, read, untranslated
from critmin.i18n.formats import fmt_date, fmt_number, fmt_percent
from critmin.i18n.names import (
    commodity_name,
    commodity_names_table,
    country_name,
    missing_commodity_names,
)


def test_japanese_catalogue_is_complete() -> None:
    assert untranslated("ja") == []
    msgs = [m for m in extract() if m.id]
    assert len(msgs) > 150  # the brief's messages and the dashboard's navigation at least
    ja = translations("ja")
    assert ja.gettext("Executive summary") == "要旨" and ja.gettext("Overview") == "概要"
    assert translations("en").gettext("Executive summary") == "Executive summary"


def test_catalogue_placeholders_survive_translation() -> None:
    """A translation keeps every {placeholder} of its message (else .format() fails or drops a figure)."""
    import re

    cat = read("ja")
    for m in cat:
        if m.id and isinstance(m.id, str):
            for pattern in (r"\{(\w+)\}", r"%\((\w+)\)s"):
                want = set(re.findall(pattern, m.id))
                assert set(re.findall(pattern, m.string)) == want, m.id


def test_commodity_names_cover_the_warehouse(warehouse) -> None:
    ids = list(warehouse.commodity_table()["commodity_id"])
    assert missing_commodity_names(ids) == []
    for row in commodity_names_table():
        assert row["source"].strip() and dt.date.fromisoformat(row["as_of"])
    assert commodity_name("rare_earths", "ja", "Rare earths") == "レアアース（希土類）"
    assert commodity_name("gallium", "en", "Gallium") == "Gallium"
    with pytest.raises(KeyError, match="no Japanese name"):
        commodity_name("unobtainium", "ja", "Unobtainium")


def test_country_names_from_cldr() -> None:
    # CLDR (unicode.org) territory names, independent of critmin
    assert country_name("JPN", "ja") == "日本"
    assert country_name("USA", "ja") == "アメリカ合衆国"
    assert country_name("CHN", "ja") == "中国"
    assert country_name("USA", "en") == "United States"
    assert country_name("OTH", "ja") == "OTH"  # not a country: shown as given


def test_numbers_and_dates_per_locale() -> None:
    d = dt.date(2026, 4, 28)
    assert fmt_date(d, "en") == "April 28, 2026"
    assert fmt_date(d, "ja") == "2026年4月28日"
    assert fmt_number(1234567.891, "en", 1) == "1,234,567.9"
    assert fmt_number(1234567.891, "ja", 1) == "1,234,567.9"
    assert fmt_percent(0.1234, "en") == "12.3%"
    assert fmt_number(None, "ja") == "–" and fmt_number(float("nan"), "en") == "–"


def test_unknown_language_is_an_error() -> None:
    assert LANGS == ("en", "ja")
    with pytest.raises(ValueError, match="expected one of en, ja"):
        check_lang("fr")
