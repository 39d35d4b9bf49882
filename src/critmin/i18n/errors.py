"""Error messages of the dashboard's API in the reader's language.

* :func:`error_text` -- one of critmin's own messages (an ``HTTPException`` detail of the web
  routes), recognised by the pattern of the code that writes it and rewritten through a
  catalogue message with the same fields; anything else is returned as written.
* :func:`validation_text` -- a request-validation error (pydantic's error ``type`` and its
  ``ctx``) as a catalogue message; an unknown type keeps pydantic's English message, and a
  ``value_error`` (a critmin validator's own text) goes through :func:`error_text`.

English is the identity: the messages are written in English at their source.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from critmin.i18n import N_, gettext_for

__all__ = ["error_text", "validation_text"]

_Q = r"'[^']*'"
#: (pattern of the English message as the web routes write it, catalogue message)
PATTERNS: tuple[tuple[str, str], ...] = (
    (rf"^no user (?P<name>{_Q})$", N_("no user {name}")),
    (r"^you cannot disable yourself \(another joint-admin can\)$",
     N_("you cannot disable yourself (another joint-admin can)")),
    (r"^role (?P<role>\S+) may not create (?P<vis>\S+)-only records$", N_("role {role} may not create {vis}-only records")),
    (r"^role (?P<role>\S+) may queue at most (?P<limit>[\d,]+) runs per job \(setting (?P<setting>\S+)\); "
     r"asked for (?P<size>[\d,]+)$",
     N_("role {role} may queue at most {limit} runs per job (setting {setting}); asked for {size}")),
    (rf"^run (?P<id>{_Q}) is not a finished Monte Carlo run$", N_("run {id} is not a finished Monte Carlo run")),
    (rf"^a plan from (?P<vis>\S+)-only run (?P<id>{_Q}) must be (?P=vis)-only too$",
     N_("a plan from {vis}-only run {id} must be {vis}-only too")),
    (rf"^no (?P<kind>\S+) run with id (?P<id>{_Q})$", N_("no {kind} run with id {id}")),
    (r"^only the job's owner or a joint-admin may cancel it$", N_("only the job's owner or a joint-admin may cancel it")),
    (rf"^no project with id (?P<id>{_Q})$", N_("no project with id {id}")),
    (r"^no projects to select from$", N_("no projects to select from")),
    (rf"^visibility (?P<aud>{_Q}): the result would show (?P<n>\d+) project\(s\) that readers of (?P=aud) records "
     r"may not see; choose visibility of your government or list only joint projects$",
     N_("visibility {aud}: the result would show {n} project(s) that readers of {aud} records may not see; "
        "choose visibility of your government or list only joint projects")),
    (rf"^lang (?P<lang>{_Q}): expected one of (?P<langs>.+)$", N_("lang {lang}: expected one of {langs}")),
)

#: pydantic error types (pydantic_core's ErrorType) and their message; fields from the error's ctx
VALIDATION: dict[str, str] = {
    "missing": N_("a value is required"),
    "greater_than": N_("must be greater than {gt}"),
    "greater_than_equal": N_("must be at least {ge}"),
    "less_than": N_("must be less than {lt}"),
    "less_than_equal": N_("must be at most {le}"),
    "int_parsing": N_("must be a whole number"), "int_type": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_parsing": N_("must be a number"), "float_type": N_("must be a number"),
    "bool_parsing": N_("must be true or false"), "bool_type": N_("must be true or false"),
    "string_too_short": N_("at least {min_length} character(s)"),
    "string_too_long": N_("at most {max_length} character(s)"),
    "too_short": N_("at least {min_length} item(s)"), "too_long": N_("at most {max_length} item(s)"),
    "literal_error": N_("must be one of {expected}"), "enum": N_("must be one of {expected}"),
    "json_invalid": N_("the request is not valid JSON"),
    "extra_forbidden": N_("this field is not expected"),
    "string_pattern_mismatch": N_("must match the form {pattern}"),
    "list_type": N_("must be a list"), "dict_type": N_("must be an object"), "string_type": N_("must be text"),
}


@cache
def _compiled() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(p), m) for p, m in PATTERNS)


def error_text(text: Any, lang: str) -> Any:
    """``text`` in ``lang`` if it is one of critmin's own messages (see module doc); anything
    that is not a string (a structured detail) is returned unchanged."""
    if lang == "en" or not isinstance(text, str) or not text:
        return text
    _ = gettext_for(lang)
    if _(text) != text:
        return _(text)
    for rx, msg in _compiled():
        m = rx.match(text)
        if m:
            return _(msg).format(**m.groupdict())
    return text


def validation_text(error: Mapping[str, Any], lang: str) -> str:
    """The message of one request-validation error in ``lang``."""
    msg = str(error.get("msg", ""))
    if lang == "en":
        return msg
    kind = str(error.get("type", ""))
    if kind == "value_error":
        return str(error_text(msg.removeprefix("Value error, "), lang))
    template = VALIDATION.get(kind)
    if template is None:
        return msg
    ctx = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    try:
        return gettext_for(lang)(template).format(**ctx)
    except (KeyError, IndexError):  # a ctx without the field the message names
        return msg
