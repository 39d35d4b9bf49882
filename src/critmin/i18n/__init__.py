"""Languages of critmin's user-facing text: message catalogues, locale formats, names.

* :func:`translations` -- gettext catalogue of a language (Babel ``.po`` files under
  ``locale/<lang>/LC_MESSAGES/critmin.po``, compiled in memory with Babel's ``write_mo`` at first
  use, so a fresh clone needs no build step); ``en`` is the source language (identity).
* :mod:`critmin.i18n.formats` -- numbers, percentages, money and dates through Babel's CLDR data.
* :mod:`critmin.i18n.names` -- commodity names (a curated table with sources) and country names
  (Babel's CLDR territory names, keyed through pycountry's ISO 3166 table).

The supported languages are :data:`LANGS`; anything else is an error naming what is expected.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

__all__ = ["DOMAIN", "LANGS", "LOCALE_DIR", "N_", "check_lang", "gettext_for", "po_path", "translations"]

#: languages with a complete catalogue; ``en`` is the source language of the messages
LANGS: tuple[str, ...] = ("en", "ja")
#: gettext domain of critmin's catalogues
DOMAIN = "critmin"
LOCALE_DIR = Path(__file__).parent / "locale"
#: the Babel/CLDR locale of each language (number and date conventions)
BABEL_LOCALE = {"en": "en_US", "ja": "ja_JP"}


def N_(message: str) -> str:
    """Mark a string for the catalogue without translating it here (translated where shown)."""
    return message


def check_lang(lang: str) -> str:
    """``lang`` if it is one of :data:`LANGS`, else ValueError naming them."""
    if lang not in LANGS:
        raise ValueError(f"language {lang!r}: expected one of {', '.join(LANGS)}")
    return lang


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang`` (``en``: the messages as written). Fuzzy entries are not used
    (Babel's ``write_mo`` leaves them out), so an unreviewed translation never reaches a reader."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    check_lang(lang)
    if lang == "en":
        return gettext.NullTranslations()
    po = po_path(lang)
    if not po.is_file():
        raise FileNotFoundError(f"{po}: message catalogue for {lang!r} not found")
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


def gettext_for(lang: str):  # noqa: ANN201 - a plain callable str -> str
    """The ``gettext`` function of ``lang`` (``_ = gettext_for("ja")``)."""
    return translations(lang).gettext
