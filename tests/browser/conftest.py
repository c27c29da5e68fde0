"""Browser tests: the system's Chromium, per-test pages, screenshots of failed tests.

A failed test's pages (screenshot and browser log) are kept in
``test-artifacts/browser/failed/``, the views the tests picture in
``test-artifacts/browser/pictures/``.

Each test module starts its own stack as the fixture ``live``; ``ui`` opens
pages against it.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from devtools.stack import Stack
from tests.browser.pages import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, Ui


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
            kept = ARTIFACTS / "failed" / re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-120:]
            kept.mkdir(parents=True, exist_ok=True)
            pages.save(kept)
        pages.close()
