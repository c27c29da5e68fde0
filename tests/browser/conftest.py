"""Browser tests: the system's Chromium, per-test pages, screenshots of failed tests.

Each test module starts its own stack as the fixture ``live``; ``ui`` opens
pages against it.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from devtools.stack import Stack
from tests.browser.pages import CHROMIUM, CHROMIUM_ARGS, Ui


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """Store the setup/call/teardown reports as ``item.rep_<when>``."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """The system's Chromium, headless, for the browser tests only.

    Playwright's sync API runs an event loop on the main thread while it is
    open: kept past this package, it would break every later ``asyncio.run``.
    """
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def ui(
    request: pytest.FixtureRequest, browser: Browser, live: Stack, tmp_path: Path
) -> Iterator[Ui]:
    """Pages for one test; screenshots into ``tmp_path`` if the test failed."""
    pages = Ui(browser, live)
    try:
        yield pages
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is None or report.failed:
            pages.save(tmp_path)
        pages.close()
