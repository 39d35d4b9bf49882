"""Browser-test fixtures: a live server on loopback over a private DB copy, and Debian's chromium.

Playwright drives ``/usr/bin/chromium`` (installed by ``scripts/install_browser.sh``); its own
browser download is never used. Screenshots go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from web_support import web_db, web_db_template  # noqa: E402, F401

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def live_server(web_db):  # noqa: F811
    import uvicorn

    from critmin.web.app import create_app

    app = create_app(web_db.path)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start within 30 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", web_db
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture()
def warm_server(live_server):
    """The live server once its caches are warm, as a deployment warms it before users arrive:
    the overview (the page every login lands on) computes the assessment on its first request
    (~20 s on a loaded 2-core machine); a signed-in ``GET /`` with a bearer token does it here,
    so the browser's navigations wait for pages, not for that computation."""
    import httpx

    from web_support import bearer

    base, db = live_server
    r = httpx.get(f"{base}/", headers=bearer(db.tokens["us-analyst"]), timeout=600, follow_redirects=False)
    assert r.status_code == 200, f"warming GET / answered {r.status_code}: {r.text[:200]}"
    return live_server


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: run scripts/install_browser.sh (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    # offline: any request that leaves the loopback server is a failure
    pg.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:")) else pg.errors.append(
        f"external request {r.url}"))
    yield pg
    ctx.close()


@pytest.fixture()
def shot():
    """``shot(page, name)`` saves a full-page screenshot to artifacts/screenshots/NAME.png."""

    def take(page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
