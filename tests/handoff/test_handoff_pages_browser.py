"""The console and the widget in a real browser, under the policy the service sends.

A page that needed an inline script, style or handler would break under the
Content-Security-Policy header; the browser reports every blocked load as a
``securitypolicyviolation`` event, collected here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from handoff_service.app import create_app
from handoff_service.config import Settings, SlaTargets
from handoff_service.console_config import console_config
from handoff_service.db import upgrade
from handoff_service.models import utc_now
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


# ---------------------------------------------------------------- SLA, summary, transcript

SLA = SlaTargets(urgent=15, high=60, normal=240)
SUMMARY = {
    "problem": "withdrawal_not_received",
    "self_help_given": ["utter_faq_withdrawal_pending"],
    "other_problems": ["deposit_missing", "withdrawal_not_received", "<i>fee_question</i>"],
    "facts": {"amount": ["120 USDT"], "error_message": ['<img src=x onerror="document.title=2">']},
}


class Ago:
    """A clock set some minutes back, for tickets that have waited a while."""

    def __init__(self) -> None:
        self.minutes = 0.0

    def __call__(self) -> datetime:
        return utc_now() - timedelta(minutes=self.minutes)


@pytest.fixture
def aged(tmp_path: Path) -> Iterator[tuple[LiveServer, str, dict[str, str]]]:
    """Tickets that waited: urgent for 3 min, normal for 250, high replied after 10 min."""
    app = create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'handoff.db'}",
            bot_token="bot",
            rasa_url="http://127.0.0.1:5005",
            sla=SLA,
        ),
        FakeNotifier(),
    )
    upgrade(app.ctx.engine)
    ago = Ago()
    refs: dict[str, str] = {}
    with app.ctx.sessions() as session:
        service = HandoffService(session, ago)
        alice, token = service.add_agent("alice")
        ago.minutes = 250
        refs["normal"] = service.create_ticket(
            ticket_payload(conversation_id="slow", category="account"), None
        )[0].ref
        ago.minutes = 70
        refs["high"] = service.create_ticket(
            ticket_payload(conversation_id="done", amount="500 USDT", summary=SUMMARY), None
        )[0].ref
        ago.minutes = 60
        service.claim(refs["high"], alice)
        service.add_agent_message(refs["high"], alice, "Checking the withdrawal now.")
        ago.minutes = 3
        refs["urgent"] = service.create_ticket(
            ticket_payload(
                conversation_id="stolen",
                category="security",
                escalation_reason="security",
                summary={"problem": "funds_stolen", "self_help_given": []},
            ),
            None,
        )[0].ref
    with live_server(app) as server:
        yield server, token, refs


def _signed_in(browser: Browser, server: LiveServer, token: str) -> Page:
    page = _page(browser)
    page.goto(server.url + "/console/")
    page.fill("#token-input", token)
    page.click("#sign-in")
    expect(page.locator("#agent-name")).to_have_text("alice")
    return page


def _item(page: Page, ref: str) -> Locator:
    return page.locator(f"[data-testid=queue-item][data-ref='{ref}']")


def test_the_queue_shows_each_first_reply_target(
    browser: Browser, aged: tuple[LiveServer, str, dict[str, str]]
) -> None:
    server, token, refs = aged
    page = _signed_in(browser, server, token)
    urgent = _item(page, refs["urgent"]).locator("[data-testid=sla-due]")
    expect(urgent).to_have_text("first reply due in 12 min")
    expect(urgent).to_have_attribute("data-state", "due")
    # Urgent ones stand out: a filled red pill.
    expect(urgent).to_have_css("background-color", "rgb(198, 40, 40)")
    expect(urgent).to_have_css("color", "rgb(255, 255, 255)")
    slow = _item(page, refs["normal"]).locator("[data-testid=sla-due]")
    expect(slow).to_have_text("overdue by 10 min")
    expect(slow).to_have_attribute("data-state", "overdue")
    expect(slow).not_to_have_css("background-color", "rgb(198, 40, 40)")
    done = _item(page, refs["high"]).locator("[data-testid=sla-due]")
    expect(done).to_have_text("first reply after 10 min")
    expect(done).to_have_attribute("data-state", "met")
    # The queue keeps its order: urgent first.
    order = page.locator("[data-testid=queue-item]").evaluate_all(
        "(els) => els.map((e) => e.getAttribute('data-ref'))"
    )
    assert order[0] == refs["urgent"]
    _item(page, refs["urgent"]).click()
    expect(page.locator("#ticket-sla-due")).to_have_text("first reply due in 12 min")
    assert page.evaluate("window.__violations") == []
    page.close()


def test_the_summary_card_reads_as_one_story(
    browser: Browser, aged: tuple[LiveServer, str, dict[str, str]]
) -> None:
    server, token, refs = aged
    page = _signed_in(browser, server, token)
    _item(page, refs["high"]).click()
    card = page.locator("#summary-card")
    expect(card.locator("[data-field=problem]")).to_have_text("withdrawal not received")
    expect(card.locator("[data-field=self_help]")).to_have_text("withdrawal pending")
    # The problem above is not repeated; markup in a name stays text.
    expect(card.locator("[data-field=other_problems]")).to_have_text(
        "deposit missing, <i>fee question</i>"
    )
    assert card.locator("i").count() == 0
    # The ticket's own amount comes before what the summary found.
    expect(card.locator("[data-field=amount]")).to_have_text("500 USDT")
    error = card.locator("[data-field=error]")
    expect(error).to_have_text('<img src=x onerror="document.title=2">')
    assert card.locator("img").count() == 0
    labels = card.locator("dt").all_text_contents()
    assert "Detected problem" not in labels
    assert labels.index("Problem") < labels.index("Also mentioned") < labels.index(
        "Self-help given"
    )
    # A ticket without them shows no empty "Also mentioned" or "Error shown" rows.
    _item(page, refs["urgent"]).click()
    expect(card.locator("[data-field=problem]")).to_have_text("funds stolen")
    expect(card.locator("[data-field=self_help]")).to_have_text("none")
    expect(card.locator("[data-field=amount]")).to_have_text("—")
    assert card.locator("[data-field=other_problems]").count() == 0
    assert card.locator("[data-field=error]").count() == 0
    assert page.title() != "2"
    assert page.evaluate("window.__violations") == []
    page.close()


def test_the_open_ticket_follows_what_happens_without_a_reload(
    browser: Browser, aged: tuple[LiveServer, str, dict[str, str]]
) -> None:
    server, token, refs = aged
    page = _signed_in(browser, server, token)
    ref = refs["urgent"]
    _item(page, ref).click()
    lines = page.locator("[data-testid=transcript-line][data-author=system]")
    expect(lines.first).to_have_text(re.compile("Ticket submitted \\(urgent priority\\)"))
    expect(lines.first).to_contain_text("Security emergency")
    page.click("#claim")
    expect(lines.last).to_contain_text("Claimed by alice")
    bot = {"Authorization": "Bearer bot"}
    details = requests.patch(
        server.url + "/api/conversations/stolen/ticket",
        json={"amount": "2 ETH", "tx_hash": "0x" + "ab" * 32},
        headers=bot,
        timeout=10,
    )
    assert details.status_code == 200, details.text
    card = page.locator("#summary-card")
    expect(card.locator("[data-field=amount]")).to_have_text("2 ETH")
    expect(card.locator("[data-field=tx_hash]")).to_have_text("0x" + "ab" * 32)
    expect(lines.last).to_have_text(re.compile("Details added: tx hash, amount"))
    warning = "Never share your recovery phrase <b>with anyone</b>."
    requests.post(
        server.url + "/api/conversations/stolen/bot-messages",
        json={"text": warning, "message_id": "w-1"},
        headers=bot,
        timeout=10,
    )
    bot_line = page.locator("[data-testid=transcript-line][data-author=bot]").last
    expect(bot_line).to_contain_text(warning)
    assert bot_line.locator("b").count() == 0
    page.fill("#reply-input", "We are on it.")
    page.click("#reply-send")
    expect(lines.last).to_contain_text("First reply by alice")
    expect(page.locator("#ticket-sla-due")).to_have_text(re.compile("^first reply after 3 min$"))
    assert page.evaluate("window.__violations") == []
    page.close()


def test_an_urgent_ticket_shows_in_an_open_queue_at_once(
    browser: Browser, served: tuple[LiveServer, str]
) -> None:
    server, token = served
    page = _signed_in(browser, server, token)
    expect(page.locator("[data-testid=queue-item]")).to_have_count(1)
    started = time.monotonic()
    created = requests.post(
        server.url + "/api/tickets",
        json=ticket_payload(
            conversation_id="hacked", category="security", escalation_reason="security"
        ),
        headers={"Authorization": "Bearer bot"},
        timeout=10,
    ).json()
    item = _item(page, created["ref"])
    expect(item).to_be_visible(timeout=3000)
    elapsed = time.monotonic() - started
    # The API test holds the second; here a busy browser gets some slack.
    assert elapsed < 2.0, elapsed
    first = page.locator("[data-testid=queue-item]").first
    expect(first).to_have_attribute("data-ref", created["ref"])
    expect(item.locator("[data-testid=sla-due]")).to_have_text("first reply due in 5 min")
    page.close()
