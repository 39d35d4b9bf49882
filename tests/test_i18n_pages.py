"""The dashboard in Japanese: no English text written into the templates outside gettext, and
the rendered Japanese pages show no catalogue message untranslated and no English analysis note.

Data values (project names, dataset titles, source citations, registry notes) stay as their
publishers wrote them and are not checked here; what the templates themselves write is.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from web_support import USERS, csrf_of, login, web_db, web_db_template  # noqa: F401

TEMPLATES = Path(__file__).resolve().parents[1] / "src" / "critmin" / "web" / "templates"
#: an English word of three letters or more (ids, codes and units are shorter or all capitals)
WORD = re.compile(r"\b[A-Za-z][a-z]{2,}\b")
#: literal text that is a name or code, the same in every language
AS_IS = re.compile(r"^(critmin|English|UTC|CSV|JSON|sha256|id|STEPS|APS|NZE|US\$|POST /api/\S+|critmin .*|[a-z_]+\.[a-z_.]+)$")
ATTRS = ("title", "placeholder", "aria-label", "alt")
#: literal English still in the templates, per template: sentences around a Jinja expression or
#: a <code> element (they need a message with placeholders, not a plain _()), the page title's
#: "critmin". The count may only go down.
REMAINING = {"base.html": 1, "incident.html": 2, "incident_brief.html": 5}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.skip = 0
        self.out: list[tuple[int, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code", "pre"):
            self.skip += 1
        self.out += [(self.getpos()[0], v) for k, v in attrs if k in ATTRS and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code", "pre"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip and data.strip():
            self.out.append((self.getpos()[0], data.strip()))


def _keep_lines(m: re.Match[str]) -> str:
    return re.sub(r"[^\n]", "", m.group(0))


def english_literals(folder: Path = TEMPLATES) -> list[tuple[str, int, str]]:
    """(template, line, text) of every text node or title/placeholder/label attribute written
    literally in a template (outside {{ }}, {% %} and {% trans %}) that holds an English word."""
    out = []
    for f in sorted(folder.glob("*.html")):
        src = f.read_text(encoding="utf-8")
        src = re.sub(r"\{%-?\s*trans\b.*?endtrans\s*-?%\}", _keep_lines, src, flags=re.S)
        src = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", lambda m: "\x00" + _keep_lines(m), src, flags=re.S)
        p = _Text()
        p.feed(src)
        for line, text in p.out:
            parts = [t.strip() for t in text.split("\x00")]
            if any(WORD.search(t) and not AS_IS.match(t) for t in parts if t):
                out.append((f.name, line, text.replace("\x00", "{…}")))
    return out


def test_the_check_finds_english(tmp_path: Path) -> None:
    """The scan is not vacuous: English in a template is found; gettext, codes and names are not."""
    (tmp_path / "t.html").write_text('<h1>Stockpile plan</h1><p title="a hint">{{ _("Done") }} <code>web.x</code> CSV '
                                     '{% trans %}Some words{% endtrans %}</p><p>critmin</p><p>{{ n }} runs</p>')
    assert sorted(t for _n, _l, t in english_literals(tmp_path)) == ["Stockpile plan", "a hint", "{…} runs"]


def test_templates_write_no_new_english() -> None:
    from collections import Counter

    found = english_literals()
    per = Counter(name for name, _line, _text in found)
    over = {n: [f"{line}: {t[:80]}" for m, line, t in found if m == n] for n, k in per.items() if k > REMAINING.get(n, 0)}
    assert not over, f"English text outside gettext in templates (wrap it in _() and add the Japanese entry): {over}"


def test_japanese_pages_show_no_untranslated_message(web_db, monkeypatch) -> None:  # noqa: F811
    """Each page in Japanese: no text node or tooltip is a catalogue message left in English,
    and the watchlist's tooltips of critmin's own NIR notes are in Japanese."""
    from fastapi.testclient import TestClient

    from critmin.i18n.catalog import read
    from critmin.web.app import create_app

    cat = read("ja")
    english = {m.id for m in cat if isinstance(m.id, str) and m.string and m.string != m.id and WORD.search(m.id)}
    with TestClient(create_app(web_db.path)) as c:
        assert login(c, USERS["joint-admin"]).status_code == 303
        assert c.post("/lang", data={"lang": "ja", "next": "/", "csrf_token": csrf_of(c)},
                      follow_redirects=False).status_code == 303
        pages = {}
        for url in ("/", "/stockpile", "/projects", "/outlook", "/deposits", "/incidents", "/brief", "/data",
                    "/account", "/audit", "/users", "/commodity/gallium", "/scenarios"):
            r = c.get(url)
            assert r.status_code == 200, url
            pages[url] = r.text
    for url, text in pages.items():
        p = _Text()
        p.feed(text)
        left = sorted({t for _line, t in p.out if t in english})
        assert not left, f"{url}: untranslated catalogue messages {left}"
    assert "stage not performed at home" not in pages["/"] and "国内に当該段階の生産なし" in pages["/"]
    # the scenario builder's script messages (its own JSON block): the stage picker and a chart's axis in Japanese
    msgs = json.loads(re.search(r'<script type="application/json" id="scmsgs">(.*?)</script>', pages["/scenarios"], re.S).group(1))
    assert msgs["stages"] == {"mine": "採掘", "processing": "精製・加工"} and msgs["ax_prob"] == "確率（対数）"
    assert msgs["ax_short_pct"] == "供給不足（消費量比 %）"  # the template's %% is one % once rendered


def test_api_errors_speak_the_readers_language(web_db) -> None:  # noqa: F811
    """A form's error from the API: critmin's own messages and the validation messages in the
    user's language (Japanese after the switch), English for a user who kept English."""
    from fastapi.testclient import TestClient

    from critmin.web.app import create_app

    app = create_app(web_db.path)
    with TestClient(app) as c:
        assert login(c, USERS["jp-analyst"]).status_code == 303
        h = {"X-CSRF-Token": csrf_of(c)}
        en = c.post("/api/briefs", json={"year": 1800}, headers=h)
        assert en.status_code == 422 and en.json()["detail"][0]["msg"] == "Input should be greater than or equal to 1990"
        assert c.post("/lang", data={"lang": "ja", "csrf_token": csrf_of(c)}, follow_redirects=False).status_code == 303
        h = {"X-CSRF-Token": csrf_of(c)}
        ja = c.post("/api/briefs", json={"year": 1800}, headers=h)
        assert ja.status_code == 422 and ja.json()["detail"][0]["msg"] == "1990 以上の値を入力してください"
        assert ja.json()["detail"][0]["loc"] == ["body", "year"]  # the field is still named for the form
        missing = c.get("/api/projects/P-NO-SUCH-PROJECT")
        assert missing.status_code == 404 and missing.json()["detail"] == "ID 'P-NO-SUCH-PROJECT' のプロジェクトは存在しません"
        bad = c.post("/lang", data={"lang": "fr", "csrf_token": csrf_of(c)}, follow_redirects=False)
        assert bad.status_code == 422 and "言語 'fr'：en, ja のいずれかを指定してください" in html.unescape(bad.text)
