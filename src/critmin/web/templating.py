"""The Jinja2 environment of the dashboard (templates in ``critmin/web/templates``)."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.templating import Jinja2Templates
from markupsafe import Markup

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))


def _tojson_script(value: object) -> Markup:
    """JSON for embedding in a <script type="application/json"> block (no '</' break-out)."""
    text = json.dumps(value, allow_nan=False).replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(text)


def _fmt(value: object, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


templates.env.filters["jsonscript"] = _tojson_script
templates.env.filters["fmt"] = _fmt
