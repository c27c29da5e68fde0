"""The live handoff in real browsers: the chat widget (phone-sized) and the agent console.

One stack (handoff service, action server, Rasa) is shared by the tests of this
module; the page objects are in :mod:`tests.browser.pages`. On failure every
page is screenshotted into the test's ``tmp_path``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Route, expect

from devtools.agent_client import AgentClient, wait_until
from devtools.chat_client import ESCALATE_ZH
from devtools.stack import Stack, running_stack
from tests.browser.pages import DESKTOP, LIVE_TIMEOUT_MS, Ui, WidgetPage
from tests.conftest import new_sender

pytestmark = pytest.mark.integration

REF = re.compile(r"T-\d{6,}")
EVENTS_URL = re.compile(r"/api/events(\?|$)")

XSS_USER = "<img src=x onerror=alert(1)>"
XSS_AGENT = '<b>bold</b> <img src=x onerror=alert(2)> <script>alert("3")</script>'


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def live(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Rasa, the action server and the handoff service, for every test of this module."""
    with running_stack(
        tmp_path_factory.mktemp("browser-stack"), trained_model, handoff=True
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
def tokens(live: Stack) -> dict[str, str]:
    """Two agents, Alice and Bob, and their tokens."""
    return {name: live.add_agent(name) for name in ("Alice", "Bob")}


# ---------------------------------------------------------------- helpers


def _ref_in(text: str) -> str:
    match = REF.search(text)
    assert match, f"no ticket reference in {text!r}"
    return match.group()


def _escalate_in_widget_zh(widget: WidgetPage, title: str) -> str:
    """The Chinese ticket form, typed and clicked in the widget; returns the reference."""
    buttons = {'/choose_category{"ticket_category": "assets"}', "跳过"}
    for text, expect_part in ESCALATE_ZH:
        if text == "USDT 提币到币安未到账":
            text = title
        widget.step(text, expect_part, button=text in buttons)
    widget.step("/affirm", "工单已提交", button=True, author="system")
    return _ref_in(widget.last_text("system"))


def _escalate_over_rest(stack: Stack, sender: str) -> str:
    """The same form over the REST channel (no widget needed); returns the reference."""
    for text, expect_part in ESCALATE_ZH:
        answer = stack.send(sender, text)
        said = " ".join(m.get("text", "") for m in answer)
        assert expect_part in said, f"{text!r} -> {answer}"
    answer = stack.send(sender, "/affirm")
    notice = " ".join(str(m.get("custom", {}).get("data", {}).get("text", "")) for m in answer)
    return _ref_in(notice)


# ---------------------------------------------------------------- tests


def test_full_loop_widget_to_console_and_back(
    ui: Ui, live: Stack, tokens: dict[str, str]
) -> None:
    assert live.handoff_url is not None
    console = ui.console("console", tokens["Alice"], "Alice")
    widget = ui.widget()

    # The user escalates and fills the ticket form, answering each question.
    widget.step("I want a human", "Which kind of problem")
    widget.step('/choose_category{"ticket_category": "assets"}', "title", button=True)
    widget.step("USDT withdrawal to Binance not received", "Please describe the problem")
    widget.step("my wallet is broken", "too general")
    widget.step(
        "Yesterday at 9pm I withdrew 500 USDT to Binance on TRC20. "
        "It shows success but never arrived.",
        "When did it happen",
    )
    widget.step("yesterday around 9 pm", "transaction hash")
    widget.step("skip", "wallet address", button=True)
    widget.step("skip", "e-mail", button=True)
    widget.step("skip", "Please check the ticket", button=True)
    widget.step("/affirm", "has been submitted", button=True, author="system")
    ref = _ref_in(widget.last_text("system"))

    # The ticket appears in the console on its own, with its summary and the whole chat.
    console.open(ref)
    page = console.page
    expect(console.queue_item(ref)).to_contain_text("USDT withdrawal to Binance not received")
    expect(console.queue_item(ref).locator("[data-testid=sla-clock]")).to_have_attribute(
        "data-running", "true"
    )
    expect(console.field("category")).to_have_text("Assets")
    expect(console.field("priority")).to_have_text("high")
    expect(console.field("amount")).to_contain_text("500 USDT")
    expect(console.field("asset")).to_contain_text("USDT")
    expect(console.field("email")).to_have_text("—")
    expect(console.field("network")).to_contain_text("TRON")
    expect(console.field("time")).to_contain_text("yesterday around 9 pm")
    expect(console.field("language")).to_contain_text("en")
    expect(console.field("reason")).to_have_text("User asked for a human")
    expect(console.line("user", "I want a human")).to_have_count(1)
    expect(console.line("bot", "Which kind of problem is it?")).to_have_count(1)
    expect(page.locator("#claim")).to_be_enabled()
    expect(page.locator("#resolve")).to_be_hidden()
    expect(page.locator("#reply-input")).to_be_disabled()

    # The SLA clock ticks every second, without a reload.
    clock = page.locator("#ticket-sla")
    first = int(clock.get_attribute("data-seconds") or "0")
    page.wait_for_function(
        "(first) => Number(document.querySelector('#ticket-sla').dataset.seconds) >= first + 2",
        arg=first,
        timeout=LIVE_TIMEOUT_MS,
    )

    # The agent claims: the user is told, the agent may reply and resolve.
    before = widget.count()
    page.click("#claim")
    expect(page.locator("#resolve")).to_be_visible()
    expect(page.locator("#claim")).to_be_hidden()
    expect(page.locator("#reply-input")).to_be_enabled()
    widget.wait_for(before, "system", "Alice")

    # The agent's reply reaches the widget with the agent's name.
    reply = "Hi, this is Alice. I'm checking your withdrawal now."
    before = widget.count()
    page.fill("#reply-input", reply)
    page.click("#reply-send")
    widget.wait_for(before, "agent", reply, timeout=LIVE_TIMEOUT_MS)
    agent_msg = widget.page.locator("[data-testid=msg][data-author=agent]").last
    expect(agent_msg.locator("[data-testid=msg-name]")).to_have_text("Alice")
    expect(agent_msg.locator("[data-testid=msg-text]")).to_have_text(reply)
    expect(console.line("agent", reply)).to_have_count(1)
    expect(page.locator("#reply-input")).to_have_value("")

    # The user answers; the agent sees it without reloading, and the bot does not butt in.
    answer = "Thank you, I will wait here for your news."
    before = widget.say(answer)
    expect(console.line("user", answer)).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    widget.page.wait_for_timeout(500)
    bot_after = widget.page.locator("[data-testid=msg]").evaluate_all(
        "(els, since) => els.slice(since).filter((e) => e.dataset.author === 'bot')"
        ".map((e) => e.textContent)",
        before,
    )
    assert all("human agent" in text for text in bot_after), bot_after

    # The agent resolves: the bot takes over and asks for a rating; the user gives 5.
    before = widget.count()
    page.click("#resolve")
    expect(page.locator("#ticket-status")).to_have_text("resolved")
    expect(page.locator("#reply-input")).to_be_disabled()
    widget.wait_for(before, "system", "resolved")
    widget.wait_for(before, "bot", "rate")
    widget.step('/rate{"csat": "5"}', "Thank you for the rating", button=True)

    agent_api = AgentClient(live.handoff_url, tokens["Alice"])

    def rated() -> dict[str, Any] | None:
        ticket = agent_api.ticket(ref)
        return ticket if ticket["csat"] == 5 else None

    try:
        ticket = wait_until(rated, timeout=10, what="the rating to be stored")
    finally:
        agent_api.close()
    assert ticket["status"] == "resolved"
    assert ticket["first_agent_reply_at"] is not None
    assert console.still_same_document(), "the console was reloaded"
    # The server acknowledged every message it handled; the page's policy blocked nothing.
    widget.expect_all_delivered()
    assert widget.csp_violations() == []
    assert ui.dialogs == {"console": [], "widget": []}


def test_markup_is_shown_as_text_in_console_and_widget(
    ui: Ui, live: Stack, tokens: dict[str, str]
) -> None:
    console = ui.console("console", tokens["Alice"], "Alice")
    widget = ui.widget(locale="zh-CN")
    title = "<b>USDT</b> 提币到币安未到账"
    ref = _escalate_in_widget_zh(widget, title)

    # The user sends markup during the handoff: the console shows it as text.
    widget.say(XSS_USER)
    console.open(ref)
    page = console.page
    expect(console.line("user", XSS_USER)).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    expect(console.field("title")).to_have_text(title)
    expect(console.queue_item(ref)).to_contain_text(title)
    page.wait_for_timeout(1000)  # an onerror handler would have fired by now
    assert page.locator("#transcript img").count() == 0
    assert page.locator("img, b, script:not([src])").count() == 0
    assert ui.dialogs["console"] == []

    # The agent answers with markup: the widget shows it as text.
    page.click("#claim")
    expect(page.locator("#reply-input")).to_be_enabled()
    before = widget.count()
    page.fill("#reply-input", XSS_AGENT)
    page.click("#reply-send")
    widget.wait_for(before, "agent", XSS_AGENT, timeout=LIVE_TIMEOUT_MS)
    agent_msg = widget.page.locator("[data-testid=msg][data-author=agent]").last
    expect(agent_msg.locator("[data-testid=msg-text]")).to_have_text(XSS_AGENT)
    expect(console.line("agent", XSS_AGENT)).to_have_count(1)
    widget.page.wait_for_timeout(1000)
    assert widget.page.locator("#chat-log img, #chat-log b, #chat-log script").count() == 0
    assert page.locator("#transcript img, #transcript b, #transcript script").count() == 0
    assert ui.dialogs == {"console": [], "widget": []}


def test_second_agent_cannot_take_or_answer_a_claimed_ticket(
    ui: Ui, live: Stack, tokens: dict[str, str]
) -> None:
    assert live.handoff_url is not None
    ref = _escalate_over_rest(live, new_sender())
    alice = ui.console("alice", tokens["Alice"], "Alice")
    bob = ui.console("bob", tokens["Bob"], "Bob")
    bob.open(ref)
    expect(bob.page.locator("#claim")).to_be_enabled()

    # Bob's view goes stale (no change events reach it) while Alice claims.
    def no_events(route: Route) -> None:
        route.abort()

    bob.page.route(EVENTS_URL, no_events)
    alice.open(ref)
    alice.page.click("#claim")
    expect(alice.page.locator("#resolve")).to_be_visible()
    expect(alice.page.locator("#reply-input")).to_be_enabled()

    # Bob still sees "Claim"; the service refuses and the console says why.
    expect(bob.page.locator("#claim")).to_be_enabled()
    bob.page.click("#claim")
    notice = bob.page.locator("#ticket-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(re.compile("claimed by another agent", re.IGNORECASE))
    expect(bob.page.locator("#claim")).to_be_hidden()
    expect(bob.page.locator("#resolve")).to_be_hidden()
    expect(bob.page.locator("#reply-input")).to_be_disabled()
    expect(bob.page.locator("#reply-send")).to_be_disabled()
    expect(bob.page.locator("#ticket-assignee")).to_contain_text("Alice")
    bob.page.unroute(EVENTS_URL, no_events)

    # The API says the same: 409 for Bob's claim, reply and resolve.
    bob_api = AgentClient(live.handoff_url, tokens["Bob"])
    try:
        claim = bob_api.claim(ref)
        assert claim.status_code == 409, claim.text
        assert claim.json()["error"] == "claimed_by_another_agent"
        reply = bob_api.reply(ref, "Bob here, let me help")
        assert reply.status_code == 409, reply.text
        assert reply.json()["error"] == "not_assignee"
        assert bob_api.resolve(ref).status_code == 409
        assert all(m["author_name"] != "Bob" for m in bob_api.messages(ref))
    finally:
        bob_api.close()

    # Alice's reply goes through and shows up in Bob's (read-only) view as well.
    text = "Alice here: I have your ticket."
    alice.page.fill("#reply-input", text)
    alice.page.click("#reply-send")
    expect(alice.line("agent", text)).to_have_count(1)
    expect(bob.line("agent", text)).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    assert alice.still_same_document() and bob.still_same_document()


def test_wrong_token_is_refused_with_a_clear_message(ui: Ui, live: Stack) -> None:
    page = ui.new_page("console", viewport=DESKTOP, locale="en-US")
    page.goto(f"{live.handoff_url}/console/")
    page.fill("#token-input", "not-a-real-token")
    page.click("#sign-in")
    error = page.locator("#sign-in-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Wrong token")
    expect(page.locator("#console-view")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('handoff-console-token')") is None


def test_queue_is_ordered_by_priority_and_filtered(
    ui: Ui, live: Stack, tokens: dict[str, str]
) -> None:
    assert live.handoff_url is not None and live.handoff_bot_token is not None
    bot = AgentClient(live.handoff_url, live.handoff_bot_token)
    refs: dict[str, str] = {}
    try:
        for name, category, language, reason in (
            ("normal", "technical", "en", "requested_human"),
            ("urgent", "security", "zh", "security"),
            ("high", "assets", "zh", "self_help_failed"),
        ):
            response = bot.call("POST", "/tickets", json={
                "conversation_id": new_sender(),
                "category": category,
                "title": f"queue order {name}",
                "description": "Queued for the console's order and filter test, 10 USDT.",
                "language": language,
                "escalation_reason": reason,
            })
            assert response.status_code == 201, response.text
            refs[name] = response.json()["ref"]
    finally:
        bot.close()

    console = ui.console("console", tokens["Alice"], "Alice")
    page = console.page
    for ref in refs.values():
        expect(console.queue_item(ref)).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    shown = page.locator("[data-testid=queue-item]").evaluate_all(
        "(els) => els.map((e) => e.dataset.ref)"
    )
    order = [shown.index(refs[name]) for name in ("urgent", "high", "normal")]
    assert order == sorted(order), shown

    page.select_option("#filter-language", "en")
    expect(console.queue_item(refs["urgent"])).to_have_count(0)
    expect(console.queue_item(refs["normal"])).to_be_visible()
    page.select_option("#filter-language", "")
    page.select_option("#filter-category", "security")
    expect(console.queue_item(refs["urgent"])).to_be_visible()
    expect(console.queue_item(refs["high"])).to_have_count(0)
    expect(console.queue_item(refs["normal"])).to_have_count(0)
    page.select_option("#filter-category", "")
    page.select_option("#filter-status", "resolved")
    expect(console.queue_item(refs["urgent"])).to_have_count(0)
    page.select_option("#filter-status", "open")
    expect(console.queue_item(refs["high"])).to_be_visible()
