"""Fixtures for the console's browser tests: headless Chromium (Playwright), axe-core, a real
console server and a real listener, each on 127.0.0.1.

Chromium is Debian's (/usr/bin/chromium) and axe-core comes from the npm cache
.ci/browser-deps fills (or ``HOOKWIRE_AXE_JS``). Without them the tests skip
with the reason, unless ``HOOKWIRE_REQUIRE_SERVICES=1`` (CI), where that fails.
``HOOKWIRE_SCREENSHOTS=1`` writes a screenshot of each checked page to docs/console/.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from served_app import Served

from hookwire.console import Console, Principal
from hookwire.sender import Sender

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(
    os.environ.get("HOOKWIRE_AXE_JS") or ROOT / ".ci-cache/axe/node_modules/axe-core/axe.min.js"
)
SHOTS = ROOT / "docs" / "console"
SECRET_KEY = "browser-test-secret-key-0123456789"


def _missing(reason: str) -> None:
    if os.environ.get("HOOKWIRE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (HOOKWIRE_REQUIRE_SERVICES=1; run .ci/browser-deps)")
    pytest.skip(f"{reason}; run .ci/browser-deps")


@dataclass
class Listener:
    """The receiving end: a swappable WSGI app (a ``WebhookListener`` once it has its file)."""

    inner: Any = None
    failing: bool = False
    received: list[str] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Any:
        if self.failing or self.inner is None:
            start("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"the listener is failing on purpose"]
        return self.inner(environ, start)


@dataclass
class Site:
    """The console under test and its listener."""

    url: str
    console: Console
    sender: Sender
    listener: Listener
    listener_url: str
    principal: list[Principal | None]

    def drain(self) -> None:
        """Run the dispatcher until nothing is due (in a thread of its own: the browser
        driver keeps an event loop in this one)."""
        worker = threading.Thread(target=lambda: asyncio.run(self.sender.drain()))
        worker.start()
        worker.join(30)


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script."""
    if not AXE.is_file():
        _missing(f"axe-core is missing at {AXE}")
    return AXE.read_text(encoding="utf-8")


# Module scope: Playwright's sync API keeps an event loop running in the main thread
# while it is started, which would break asyncio.run in the tests that run after these.
@pytest.fixture(scope="module")
def browser(axe_source: str) -> Iterator[Any]:
    """One headless Chromium for the whole session."""
    if not CHROMIUM.is_file():
        _missing(f"chromium is missing at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    launched = driver.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=["--no-sandbox", "--disable-dev-shm-usage"],
    )
    yield launched
    launched.close()
    driver.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A console over a SQLite file, served for real, and a listener on another port."""
    directory = tmp_path_factory.mktemp("console-site")
    sender = Sender(f"sqlite:///{directory / 'hookwire.db'}", allow_private_targets=True)
    holder: list[Principal | None] = [None]
    app = Flask("console-browser")
    app.config.update(HOOKWIRE_CONSOLE_SECRET_KEY=SECRET_KEY)
    console = Console(app, sender=sender, authorize=lambda _request: holder[0])
    listener = Listener()
    served, listening = Served(app, path=""), Served(listener)
    yield Site(served.url, console, sender, listener, listening.url, holder)
    served.stop()
    listening.stop()
    sender.close()


@pytest.fixture
def page(browser: Any, site: Site, axe_source: str) -> Iterator[Any]:
    """A fresh browser context and page (no cookies); console errors are collected and must
    stay empty."""
    site.principal[0] = None
    context = browser.new_context(viewport={"width": 1000, "height": 700}, accept_downloads=True)
    opened = context.new_page()
    problems: list[str] = []
    opened.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.problems = problems
    yield opened
    context.close()
    assert problems == [], f"the page logged errors: {problems}"


@pytest.fixture
def check(axe_source: str) -> Callable[[Any, str], None]:
    """``check(page, shot)``: axe-core finds no serious or critical violation on the page,
    and, with HOOKWIRE_SCREENSHOTS=1, its screenshot is saved as docs/console/<shot>.png."""
    return lambda page, shot: _check_page(page, axe_source, shot)


def _check_page(page: Any, axe_source: str, shot: str) -> None:
    page.evaluate(axe_source)
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,"
        " help: v.help, target: v.nodes[0] && v.nodes[0].target})); }"
    )
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert serious == [], f"axe found serious violations on {shot}: {serious}"
    if os.environ.get("HOOKWIRE_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{shot}.png"))
