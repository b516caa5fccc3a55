"""A real headless Chromium for the dashboard tests (Playwright's sync API, Debian's chromium).

`browser` starts Chromium once per test module; `tab` opens a fresh context (own cookies) with a
1280x900 page on the live server and records every URL the page requests, so a test can check
that nothing comes from outside the service. Without /usr/bin/chromium the tests fail, loudly.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@dataclass
class Tab:
    """A page of its own browser context, and every URL it requested."""

    page: Page
    base: str
    urls: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)

    def outside(self) -> list[str]:
        """Requested URLs that are not the service's own."""
        return [u for u in self.urls if not u.startswith(self.base + "/")]

    def screenshot(self, name: str) -> Path:
        """The page as a PNG: into docs/screenshots only when asked (`make screenshots` sets
        SCREENSHOTS=1), else into a temporary folder, so `make test` leaves the tree clean."""
        folder = SCREENSHOTS if os.environ.get("SCREENSHOTS") == "1" else Path(tempfile.gettempdir()) / "tracker-shots"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000, f"{name}: an empty page?"
        return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: the dashboard's browser tests need Debian's chromium "
            "(apt-get install chromium); they never download a browser.",
            pytrace=False,
        )
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def tab(browser: Browser, server) -> Iterator[Tab]:
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    opened = Tab(page, server.url)

    def record(request: Request) -> None:
        opened.urls.append(request.url)

    page.on("request", record)
    yield opened
    page.close()
    context.close()
