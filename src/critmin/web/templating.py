"""The Jinja2 environment of the dashboard (templates in ``critmin/web/templates``)."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from critmin.web import formatting, lang

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))


def _tojson_script(value: object) -> Markup:
    """JSON for embedding in a <script type="application/json"> block (no '</' break-out)."""
    text = json.dumps(value, allow_nan=False).replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(text)


templates.env.filters["jsonscript"] = _tojson_script
formatting.install(templates.env)  # every number on every page: critmin.web.formatting
lang.install(templates.env)  # {{ _("...") }} and {% trans %} in the reader's language (critmin.web.lang)
