"""Accessibility of the chat widget and the agent console, in English and Chinese.

axe-core (``tests/browser/axe.py``) checks every screen below against WCAG 2.0/2.1
A and AA: a serious or critical finding fails, and so does any colour-contrast one.
Each test also walks a few controls with the keyboard: the focused one must show an
outline or a box-shadow with a contrast of at least 3:1 against what is behind it.

- The widget on a phone: the greeting, the paste too long for one message, a
  conversation with the bot's answers and reply buttons; the same on a desktop.
- The embed launcher on another site's page, closed and open (and the chat in its frame).
- The console: the sign-in page (and its error), the queue with a ticket open and
  the details sidebar, the canned-reply picker, the admin view's three tabs.

Runs on the shared ``handoff_stack``.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Frame, Page, expect

from devtools.agent_client import AgentClient
from devtools.chat_client import ESCALATE_ZH
from devtools.stack import Stack
from tests.browser.axe import assert_accessible, assert_focus_visible
from tests.browser.pages import (
    BOT_TIMEOUT_MS,
    DESKTOP,
    LIVE_TIMEOUT_MS,
    ConsolePage,
    Ui,
    WidgetPage,
    open_embed_host,
)
from tests.conftest import new_sender

pytestmark = pytest.mark.integration

LOCALES = ["en-US", "zh-CN"]
TX_HASH = "0x" + "7d" * 32
EVM_ADDRESS = "0x52908400098527886E0F7030069857D2E4169EE7"
# The first message of the ticket form and a part of the bot's answer (it has buttons).
ASK_HUMAN = {"en-US": ("I want a human", "Which kind of problem"), "zh-CN": ESCALATE_ZH[0]}
# Another site embedding the chat: its own page is accessible, so every finding is ours.
HOST_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>Wallet</title></head>
<body><header><p>My wallet</p></header>
<main><h1>Assets</h1><p>Balance: 12.5 USDT</p></main>
<script src="{{server}}/widget/embed.js" data-server="{{server}}" async></script>
</body></html>
"""


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def live(handoff_stack: Stack) -> Stack:
    """Rasa, the action server and the handoff service (shared by the session)."""
    return handoff_stack


@pytest.fixture(scope="module")
def ticket_bot(live: Stack) -> Iterator[AgentClient]:
    """The service's API with the bot's token (tickets are opened as the bot opens them)."""
    assert live.handoff_url is not None and live.handoff_bot_token is not None
    client = AgentClient(live.handoff_url, live.handoff_bot_token)
    yield client
    client.close()


# ---------------------------------------------------------------- helpers


def _tab_to_each(
    target: Page | Frame, page: Page, count: int, where: str, key: str = "Tab"
) -> list[str]:
    """Press ``key`` ``count`` times; every control reached shows a visible focus ring."""
    reached = []
    for _ in range(count):
        page.keyboard.press(key)
        if target.evaluate("document.activeElement === document.body"):
            continue
        ring = assert_focus_visible(target, where)
        reached.append(ring["element"])
    assert reached, f"Tab reached nothing in {where}"
    return reached


def _focus_and_check(target: Page | Frame, page: Page, selector: str, where: str) -> None:
    """Reach ``selector`` from the control before it with Tab: its focus ring is visible."""
    target.locator(selector).first.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    focused = target.evaluate(
        "(s) => !!document.activeElement && document.activeElement.matches(s)", selector)
    assert focused, f"{selector} is not reached with the keyboard in {where}"
    assert_focus_visible(target, f"{where}, {selector}")


def _open_ticket(bot: AgentClient, language: str) -> dict[str, Any]:
    """A new ticket with facts for the sidebar, opened as the bot opens them."""
    body = {
        "conversation_id": new_sender(),
        "category": "assets",
        "title": "USDT withdrawal not received" if language == "en" else "USDT 提币未到账",
        "description": "I withdrew 500 USDT yesterday; it shows success but never arrived.",
        "language": language,
        "escalation_reason": "requested_human",
        "tx_hash": TX_HASH,
        "wallet_address": EVM_ADDRESS,
        "chain": "evm",
        "contact_email": f"a11y.{secrets.token_hex(3)}@example.com",
        "amount": "500 USDT",
        "summary": {"facts": {"network": ["BNB Chain"], "asset": ["USDT"]}},
    }
    response = bot.call(
        "POST", "/tickets", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


# ---------------------------------------------------------------- the widget


@pytest.mark.parametrize("locale", LOCALES)
def test_widget_states(ui: Ui, live: Stack, locale: str) -> None:
    widget: WidgetPage = ui.widget(locale=locale)
    page = widget.page
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if locale == "zh-CN" else "en")

    # Empty, with the greeting.
    expect(page.locator("[data-testid=greeting]")).to_be_visible()
    assert_accessible(page, f"the widget's greeting ({locale})")
    _tab_to_each(page, page, 3, f"the widget ({locale})")

    # A paste too long for one message: the note and its button.
    line = "2026-12-04 09:31:07 withdraw USDT TRC20 status=pending txid=abc123 retry=1\n"
    page.locator("#chat-input").focus()
    page.keyboard.insert_text(line * 70)
    expect(page.locator("[data-testid=too-long]")).to_be_visible()
    assert_accessible(page, f"the widget's too-long note ({locale})")
    _focus_and_check(page, page, "[data-testid=send-in-parts]", f"the too-long note ({locale})")
    page.locator("#chat-input").fill("")
    expect(page.locator("[data-testid=too-long]")).to_be_hidden()

    # A conversation: the user's message, the bot's answer with reply buttons.
    text, answer = ASK_HUMAN[locale]
    widget.step(text, answer)
    buttons = page.locator("[data-testid=reply-button]:not([disabled])")
    expect(buttons.first).to_be_visible(timeout=BOT_TIMEOUT_MS)
    widget.expect_all_delivered()
    assert_accessible(page, f"the widget's conversation ({locale})")
    _focus_and_check(page, page, "[data-testid=reply-button]:not([disabled])",
                     f"the reply buttons ({locale})")
    _focus_and_check(page, page, "#chat-input", f"the message box ({locale})")

    # The same conversation on a desktop screen.
    page.set_viewport_size(DESKTOP)
    assert_accessible(page, f"the widget on a desktop ({locale})")
    assert widget.csp_violations() == []


@pytest.mark.parametrize("locale", LOCALES)
def test_embed_launcher_closed_and_open(ui: Ui, live: Stack, locale: str) -> None:
    lang = "zh-CN" if locale == "zh-CN" else "en"
    host = open_embed_host(ui, "host", locale, page_template=HOST_PAGE.format(lang=lang))
    page = host.page
    expect(host.launcher).to_be_visible()
    expect(host.launcher).to_have_attribute("aria-expanded", "false")
    assert_accessible(page, f"the host page, launcher closed ({locale})")
    page.keyboard.press("Tab")
    expect(host.launcher).to_be_focused()
    assert_focus_visible(page, f"the launcher ({locale})")

    page.keyboard.press("Enter")
    expect(host.launcher).to_have_attribute("aria-expanded", "true")
    host.wait_chat_online()
    expect(host.chat.root.locator("[data-testid=greeting]")).to_be_visible()
    page.wait_for_timeout(400)  # the panel's fade-in
    assert_accessible(page, f"the host page, chat open ({locale})")
    frame = host.frame()
    assert_accessible(frame, f"the chat in the launcher's panel ({locale})")
    # Into the chat with the keyboard: its controls show their focus too.
    host.chat.root.locator("#chat-input").focus()
    assert_focus_visible(frame, f"the chat's message box in the panel ({locale})")
    _tab_to_each(frame, page, 2, f"the chat in the panel ({locale})", key="Shift+Tab")


# ---------------------------------------------------------------- the console


@pytest.mark.parametrize("locale", LOCALES)
def test_console_sign_in_workspace_canned_and_admin(
    ui: Ui, live: Stack, ticket_bot: AgentClient, locale: str
) -> None:
    language = "zh" if locale == "zh-CN" else "en"
    name = f"Ada{secrets.token_hex(2)}"
    token = live.add_agent(name, role="admin")
    ticket = _open_ticket(ticket_bot, language)
    page = ui.new_page("console", viewport=DESKTOP, locale=locale)
    console = ConsolePage(page)

    # The sign-in page, then its error.
    page.goto(f"{live.handoff_url}/console/")
    expect(page.locator("html")).to_have_attribute("lang", re.compile(f"^{language}"))
    expect(page.locator("#token-input")).to_be_visible()
    assert_accessible(page, f"the console's sign-in ({locale})")
    _tab_to_each(page, page, 3, f"the console's sign-in ({locale})")
    page.fill("#token-input", "not-a-token")
    page.click("#sign-in")
    expect(page.locator("#sign-in-error")).to_be_visible()
    assert_accessible(page, f"the console's sign-in error ({locale})")

    # The queue with the ticket open, claimed and answered; the details sidebar shown.
    page.fill("#token-input", token)
    page.click("#sign-in")
    expect(page.locator("#agent-name")).to_have_text(name)
    expect(page.locator("html")).to_have_attribute("lang", re.compile(f"^{language}"))
    console.open(ticket["ref"])
    page.click("#claim")
    expect(page.locator("#reply-input")).to_be_enabled()
    page.fill("#reply-input", "Hello, I am checking your withdrawal now.")
    page.click("#reply-send")
    expect(page.locator("[data-testid=transcript-line][data-author=agent]")).to_have_count(1)
    page.fill("#tag-input", "vip")
    page.click("#tag-add")
    expect(page.locator("#tags-list [data-testid=tag]")).to_have_count(1)
    page.fill("#note-input", "Asked the exchange for the deposit record.")
    page.click("#note-add")
    expect(page.locator("#notes-list [data-testid=note]")).to_have_count(1)
    expect(page.locator("#details-pane")).to_be_visible()
    expect(page.locator("#details-toggle")).to_have_attribute("aria-expanded", "true")
    assert_accessible(page, f"the console's queue and ticket ({locale})")
    for selector in ("#search-input", "#filter-status",
                     f"[data-testid=queue-item][data-ref='{ticket['ref']}']",
                     "#details-toggle", "#reply-input", "#reply-send", "#tag-input",
                     "#summary-card [data-testid=copy]"):
        _focus_and_check(page, page, selector, f"the console ({locale})")

    # The canned-reply picker (Ctrl+K), with its options.
    page.locator("#reply-input").focus()
    page.keyboard.press("Control+k")
    picker = page.locator("[data-testid=canned-picker]")
    expect(picker).to_be_visible()
    expect(picker.locator("[data-testid=canned-option]").first).to_be_visible()
    assert_accessible(page, f"the canned-reply picker ({locale})")
    assert_focus_visible(page, f"the canned-reply search ({locale})")
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()

    # The admin view: the overview, the agents (with a new token shown), the canned replies.
    page.click("#admin-toggle")
    expect(page.locator("#admin-view")).to_be_visible()
    expect(page.locator("[data-testid=stat][data-key=waiting]")).to_be_visible(
        timeout=LIVE_TIMEOUT_MS)
    assert_accessible(page, f"the admin overview ({locale})")
    _focus_and_check(page, page, "#tab-stats", f"the admin tabs ({locale})")
    page.click("#tab-agents")
    page.fill("#agent-new-name", f"Cora{secrets.token_hex(2)}")
    page.click("#agent-add")
    expect(page.locator("[data-testid=token-box]")).to_be_visible()
    expect(page.locator("[data-testid=agent-row]").first).to_be_visible()
    assert_accessible(page, f"the admin's agents ({locale})")
    _focus_and_check(page, page, "#agent-new-name", f"the admin's agents ({locale})")
    page.click("#token-done")
    page.click("#tab-canned")
    expect(page.locator("#panel-canned")).to_be_visible()
    assert_accessible(page, f"the admin's canned replies ({locale})")
    _focus_and_check(page, page, "#canned-shortcut", f"the admin's canned replies ({locale})")
    assert not [line for line in ui.logs["console"] if line.startswith("pageerror")]
