"""The fonts of the brief: Debian's Noto packages (scripts/install_brief_deps.sh).

Latin text is set in Noto Sans (fonts-noto-core), Japanese in Noto Sans CJK JP (fonts-noto-cjk,
which has Latin glyphs too). Typst is given only these files (``font_paths``), and Typst's own
fallback fonts are switched off, so a character outside them shows as a missing glyph that the
tests find, never as a silent substitute.
"""

from __future__ import annotations

from pathlib import Path

from critmin import settings
from critmin.brief import params as _params  # noqa: F401 - registers brief.font_dirs

#: font files per language (Typst family names in FAMILIES)
FILES = {
    "en": ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "NotoSans-Italic.ttf", "NotoSans-BoldItalic.ttf"),
    "ja": ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc", "NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
}
FAMILIES = {"en": ("Noto Sans",), "ja": ("Noto Sans CJK JP", "Noto Sans")}


class FontsMissing(RuntimeError):
    """The Noto fonts are not installed (run scripts/install_brief_deps.sh)."""


def find(name: str) -> Path:
    for d in settings.get("brief.font_dirs"):
        f = Path(d) / name
        if f.is_file():
            return f
    raise FontsMissing(f"font {name} not found in {list(settings.get('brief.font_dirs'))}; "
                       "install fonts-noto-core and fonts-noto-cjk (scripts/install_brief_deps.sh)")


def font_file(lang: str) -> Path:
    """The regular face of the language's main family (for the charts)."""
    return find(FILES[lang][0])


def font_files(lang: str) -> list[Path]:
    return [find(n) for n in FILES[lang]]
