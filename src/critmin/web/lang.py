"""The dashboard's language: the switch (``POST /lang``), the per-user preference and the
Jinja2 ``gettext`` of every template.

The language of a request is the signed-in user's stored preference (``web_user_pref``, key
``lang``), else the ``critmin_lang`` cookie (set by the switch; it also covers the login page),
else English. The switch stores both, so the choice follows the user to another browser and
stays for the browser before login. Templates translate with ``{{ _("...") }}`` and
``{% trans %}`` (jinja2.ext.i18n, installed by :func:`install`) from the catalogues of
:mod:`critmin.i18n`.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from jinja2 import Environment, pass_context

from critmin.i18n import LANGS, translations
from critmin.ops import metadata
from critmin.web.access import ANY, RULES, Rule

COOKIE = "critmin_lang"
PREF_TTL_S = 5.0

web_user_pref = sa.Table(
    "web_user_pref", metadata,
    sa.Column("user_name", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
    sa.Column("updated_at", sa.TIMESTAMP(), nullable=False),
)

RULES.update({("POST", "/lang"): Rule(ANY, write=True)})
router = APIRouter()

_prefs: dict[tuple[int, str], tuple[float, str | None]] = {}
_prefs_lock = threading.Lock()


def user_lang(store: Any, user: str) -> str | None:
    """The user's stored language (cached for a few seconds per process)."""
    key = (id(store), user)
    now = time.monotonic()
    with _prefs_lock:
        hit = _prefs.get(key)
    if hit is not None and now - hit[0] < PREF_TTL_S:
        return hit[1]
    from critmin.web.context import before_io

    before_io("language preference")
    row = store.execute("SELECT value FROM web_user_pref WHERE user_name = ? AND key = 'lang'", [user]).fetchone()
    value = str(row[0]) if row is not None else None
    with _prefs_lock:
        _prefs[key] = (now, value)
    return value


def set_user_lang(store: Any, user: str, lang: str) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with store.transaction():
        store.execute("DELETE FROM web_user_pref WHERE user_name = ? AND key = 'lang'", [user])
        store.execute("INSERT INTO web_user_pref VALUES (?, 'lang', ?, ?)", [user, lang, now])
    with _prefs_lock:
        _prefs[(id(store), user)] = (time.monotonic(), lang)


def request_lang(request: Request) -> str:
    """The language of this request (see module doc), memoised on the request."""
    got = getattr(request.state, "lang", None)
    if got in LANGS:
        return str(got)
    lang: str | None = None
    p = getattr(request.state, "principal", None)
    ctx = getattr(request.app.state, "ctx", None)
    if p is not None and ctx is not None:
        lang = user_lang(ctx.ops, p.name)
    if lang not in LANGS:
        lang = request.cookies.get(COOKIE)
    if lang not in LANGS:
        lang = "en"
    request.state.lang = lang
    return str(lang)


def _lang_of(context: Any) -> str:
    """The request's language; a fragment rendered without a request (cached per language,
    critmin.web.pages.fragment) carries ``page_lang_code``."""
    request = context.get("request")
    if request is not None:
        return request_lang(request)
    lang = context.get("page_lang_code")
    return str(lang) if lang in LANGS else "en"


@pass_context
def _gettext(context: Any, message: str) -> str:
    return translations(_lang_of(context)).gettext(message)


@pass_context
def _ngettext(context: Any, singular: str, plural: str, n: int) -> str:
    return translations(_lang_of(context)).ngettext(singular, plural, n)


@pass_context
def _current_lang(context: Any) -> str:
    return _lang_of(context)


@pass_context
def _js_messages(context: Any) -> dict[str, str]:
    """The JavaScript's message catalogue in the page's language (critmin.i18n.js_messages)."""
    from critmin.i18n.js_messages import js_catalogue

    return js_catalogue(_lang_of(context))


@pass_context
def _term(context: Any, value: Any, kind: str) -> str:
    """``|term(kind)``: the label of a record's enumerated value (critmin.i18n.terms.TERMS)."""
    from critmin.i18n.terms import term

    return term(kind, value, _lang_of(context)) if value else "–"


@pass_context
def _machine_text(context: Any, text: Any) -> str:
    """``|mt``: a note critmin's analysis wrote in English, in the page's language (critmin.i18n.terms)."""
    from critmin.i18n.terms import machine_text

    return machine_text(text, _lang_of(context))


def _localised(env: Environment, name: str, lookup: Any) -> Any:
    """``|country`` / ``|commodity`` in the page's language: English as critmin.web.formatting
    writes it; Japanese from critmin.i18n.names (CLDR country names, the curated commodity
    table), else the English display name."""
    english = env.filters[name]

    @pass_context
    def f(context: Any, value: Any) -> str:
        lang = _lang_of(context)
        shown = english(value)
        if lang == "en" or not value:
            return str(shown)
        try:
            return str(lookup(str(value), lang, shown))
        except (KeyError, LookupError, ValueError):
            return str(shown)

    return f


def install(env: Environment) -> None:
    """Add jinja2.ext.i18n with per-request catalogues and ``page_lang()`` to ``env``."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["page_lang"] = _current_lang
    env.filters["mt"] = _machine_text
    env.filters["term"] = _term
    env.globals["js_messages"] = _js_messages
    from critmin.i18n.names import commodity_name, country_name

    if "country" in env.filters:
        env.filters["country"] = _localised(env, "country", lambda v, lang, _shown: country_name(v, lang))
    if "commodity" in env.filters:
        env.filters["commodity"] = _localised(env, "commodity", commodity_name)
    env.globals["LANGS"] = LANGS


def _safe_next(path: str) -> str:
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


@router.post("/lang", include_in_schema=False)
def switch_language(request: Request, lang: Annotated[str, Form(max_length=8)],
                    next: Annotated[str, Form(max_length=500)] = "/") -> RedirectResponse:
    """Switch the dashboard's language: stored for the user and in a cookie; back to ``next``."""
    if lang not in LANGS:
        raise HTTPException(422, f"lang {lang!r}: expected one of {', '.join(LANGS)}")
    p = request.state.principal
    set_user_lang(request.app.state.ctx.ops, p.name, lang)
    request.state.lang = lang
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, httponly=True, samesite="lax",
                    secure=request.url.scheme == "https")
    return resp
