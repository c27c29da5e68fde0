"""The console and the widget in a real browser, under the policy the service sends.

A page that needed an inline script, style or handler would break under the
Content-Security-Policy header; the browser reports every blocked load as a
``securitypolicyviolation`` event, collected here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from handoff_service.app import create_app
from handoff_service.config import Settings
from handoff_service.console_config import console_config
from handoff_service.db import upgrade
from handoff_service.services import HandoffService
from tests.handoff.helpers import FakeNotifier, LiveServer, live_server, ticket_payload

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
HOSTILE_APP_USER = 'u-1<img src=x onerror="document.title=1">'
# Records what the policy blocked, before any script of the page runs.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; install chromium to run the browser tests")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    """The service with one ticket (with a hostile app user id) and agent alice's token."""
    app = create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'handoff.db'}",
            bot_token="bot",
            rasa_url="http://127.0.0.1:5005",
        ),
        FakeNotifier(),
    )
    upgrade(app.ctx.engine)
    with app.ctx.sessions() as session:
        service = HandoffService(session)
        token = service.add_agent("alice")[1]
        service.create_ticket(ticket_payload(app_user_id=HOSTILE_APP_USER), None)
    with live_server(app) as server:
        yield server, token


def _page(browser: Browser) -> Page:
    page = browser.new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    return page


def test_the_console_works_under_its_policy(
    browser: Browser, served: tuple[LiveServer, str]
) -> None:
    server, token = served
    page = _page(browser)
    response = page.goto(server.url + "/console/")
    assert (
        response is not None
        and "frame-ancestors 'none'" in response.headers["content-security-policy"]
    )
    page.fill("#token-input", token)
    page.click("#sign-in")
    expect(page.locator("#agent-name")).to_have_text("alice")
    # The category filter and labels are the ones config.js serves.
    config = console_config()
    categories = config["categories"]
    options = page.locator("#filter-category option")
    assert options.evaluate_all("(els) => els.map((e) => e.value)") == [
        "", *(c["value"] for c in categories)
    ]
    labels = {c["value"]: c["label"] for c in categories}
    reasons = {r["value"]: r["label"] for r in config["escalationReasons"]}
    page.click("[data-testid=queue-item]")
    card = page.locator("#summary-card")
    expect(card.locator("[data-field=category]")).to_have_text(labels["assets"])
    expect(card.locator("[data-field=reason]")).to_have_text(reasons["self_help_failed"])
    app_user = page.locator("#summary-card [data-field=app_user]")
    # Shown as text: the markup is visible, not parsed.
    expect(app_user).to_have_text(HOSTILE_APP_USER)
    assert app_user.locator("img").count() == 0
    page.click("#claim")
    page.fill("#reply-input", "Hello from the console")
    page.click("#reply-send")
    expect(page.locator("[data-testid=transcript-line][data-author=agent]")).to_contain_text(
        "Hello from the console"
    )
    assert page.title() != "1"
    assert page.evaluate("window.__violations") == []
    page.close()


def test_the_widget_loads_under_its_policy(
    browser: Browser, served: tuple[LiveServer, str]
) -> None:
    server, _token = served
    page = _page(browser)
    page.goto(server.url + "/widget/")
    expect(page.locator("#chat-input")).to_be_visible()
    # The widget tries Rasa (not running here): allowed by connect-src, so no
    # violation, only a failed connection.
    page.wait_for_timeout(500)
    assert page.evaluate("window.WIDGET_CONFIG.rasaUrl") == "http://127.0.0.1:5005"
    assert page.evaluate("window.__violations") == []
    page.close()
