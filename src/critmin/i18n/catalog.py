"""The message catalogues: extraction from the code and templates, and the check that a
language's catalogue is complete (``tests/test_i18n.py``; ``python -m critmin.i18n.catalog``
rewrites ``locale/critmin.pot`` and adds the new messages, untranslated, to each ``.po``).

Messages are the string literals of ``_()``, ``gettext()``, ``ngettext()`` and ``N_()`` calls in
:data:`PYTHON_DIRS` and the ``{% trans %}`` / ``_()`` / ``gettext()`` uses in the dashboard's
Jinja2 templates (Babel's extractors: Python, and Jinja2's own ``babel_extract``).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

from critmin.i18n import DOMAIN, LANGS, LOCALE_DIR, po_path

PACKAGE = Path(__file__).resolve().parents[1]
#: the packages whose Python code holds user-facing messages
PYTHON_DIRS = ("brief", "i18n", "web")
TEMPLATE_DIR = PACKAGE / "web" / "templates"
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}


def extract() -> Catalog:
    """Every message of the code and templates, with where it occurs."""
    cat = Catalog(domain=DOMAIN, project="critmin", charset="utf-8")
    for d in PYTHON_DIRS:
        for fname, lineno, message, comments, context in extract_from_dir(
                PACKAGE / d, method_map=[("**.py", "python")], keywords=KEYWORDS):
            cat.add(message, locations=[(f"{d}/{fname}", lineno)], auto_comments=comments, context=context)
    if TEMPLATE_DIR.is_dir():
        for fname, lineno, message, comments, context in extract_from_dir(
                TEMPLATE_DIR, method_map=[("**.html", "jinja2.ext:babel_extract")],
                options_map={"**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}, keywords=KEYWORDS):
            cat.add(message, locations=[(f"web/templates/{fname}", lineno)], auto_comments=comments, context=context)
    return cat


def read(lang: str) -> Catalog:
    with po_path(lang).open("rb") as fh:
        return read_po(fh, locale=lang, domain=DOMAIN)


def _key(m: object) -> object:
    return getattr(m, "id", m)


def untranslated(lang: str) -> list[str]:
    """Messages of the code with no (or only a fuzzy) translation in ``lang``'s catalogue."""
    have = read(lang)
    out = []
    for m in extract():
        if not m.id:
            continue
        t = have.get(m.id)
        ok = t is not None and not t.fuzzy and (all(t.string) if isinstance(t.string, (list, tuple)) else bool(t.string))
        if not ok:
            out.append(m.id if isinstance(m.id, str) else m.id[0])
    return out


def update() -> None:
    """Write ``critmin.pot`` and merge it into every language's ``.po`` (new messages empty)."""
    pot = extract()
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("wb") as fh:
        write_po(fh, pot, omit_header=False, sort_output=True, include_lineno=False)
    for lang in LANGS:
        if lang == "en":
            continue
        p = po_path(lang)
        cat = read(lang) if p.is_file() else Catalog(locale=lang, domain=DOMAIN)
        cat.update(pot, no_fuzzy_matching=True)
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("wb") as fh:
            write_po(fh, cat, sort_output=True, include_lineno=False, ignore_obsolete=True)


if __name__ == "__main__":
    update()
