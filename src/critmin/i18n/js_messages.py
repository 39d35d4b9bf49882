"""The messages the dashboard's JavaScript writes (critmin.web.static/*.js, not the scenario
builder's, which carries its own), as a JSON catalogue for the page's language.

``base.html`` embeds :func:`js_catalogue` of the request's language in a
``<script type="application/json" id="i18n-messages">`` block (data, not code: the CSP's
``script-src 'self'`` is kept); ``critmin.t(message, {name: value})`` in ``app.js`` looks a
message up and fills its ``{name}`` fields. In English the catalogue is empty and the
messages are shown as written. Every message here is in the gettext catalogue
(``tests/test_i18n.py`` checks that each has a Japanese entry).
"""

from __future__ import annotations

from critmin.i18n import N_, check_lang, gettext_for

__all__ = ["JS_MESSAGES", "js_catalogue"]

JS_MESSAGES: tuple[str, ...] = (
    # app.js: downloads and chart export
    N_("Download plot as SVG"), N_("Download {what}:"), N_("table"), N_("chart data"),
    # the data-download-label of the templates' tables and charts
    N_("assessment row"), N_("datasets"), N_("financing requests"), N_("incidents"), N_("overdue permits"),
    N_("permitting milestones as recorded"), N_("record"), N_("registry (the projects visible to you)"),
    N_("selected projects"), N_("sources"), N_("table sizes"), N_("the chart's rows (every year)"),
    N_("the map's rows"), N_("watchlist (every column of the assessment)"),
    # commodity.js
    N_("% of world"), N_("file"), N_("line"), N_("row as published:"),
    # incident.js
    N_("{commodity}: shortfall by month (t)"), N_("{commodity}: price change (%)"), N_("month"),
    # notices.js
    N_("{n} visibility change(s) of joint records await your government's approval"), N_("Latest: {text}"),
    # stockpile.js
    N_("objective (US$ m)"), N_("expected loss (US$ m)"), N_("CVaR (US$ m)"), N_("commodity / partner"),
    N_("stock (t)"),
    # projects.js
    N_("joint"), N_("{v} only"), N_("Selected ({n})"), N_("risk reduction {usd}"),
    N_("budget used: United States {us}, Japan {jp}"), N_("project"), N_("commodity"), N_("financing"),
    N_("risk reduction"), N_("Excluded ({n})"),
    # users.js
    N_("token for {user} (shown once): {secret}"), N_("password for {user} (shown once): {secret}"),
    N_("user {user} created"), N_("checkpoint written: seq {seq} at {at}"), N_("{user}: {action} done"),
)


def js_catalogue(lang: str) -> dict[str, str]:
    """``{message: translation}`` of :data:`JS_MESSAGES` in ``lang`` (empty in English)."""
    check_lang(lang)
    if lang == "en":
        return {}
    _ = gettext_for(lang)
    return {m: _(m) for m in JS_MESSAGES}
