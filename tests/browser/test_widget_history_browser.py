"""The widget's history, unread count and New chat during an open ticket, in a real browser.

Runs on the shared ``handoff_stack`` (Rasa, the action server, the handoff
service). The agent works over the API (:mod:`devtools.agent_client`). Counts
of bubbles with a given text are asserted exactly: a message shown twice, or
not at all, fails.

The embedding test serves a page of another site (``EMBED_HOST_ORIGIN``) that
loads ``/widget/embed.js``; the stack must allow that origin to frame the
widget (``WIDGET_FRAME_ANCESTORS``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import expect

from devtools.agent_client import AgentClient, wait_until
from devtools.chat_client import ESCALATE_ZH, SUBMIT
from devtools.stack import Stack
from tests.browser.pages import (
    BOT_TIMEOUT_MS,
    EMBED_HOST_ORIGIN,
    LIVE_TIMEOUT_MS,
    PREVIOUS_KEY,
    SET_VISIBILITY,
    ChatLog,
    Ui,
    WidgetPage,
    open_embed_host,
    reopen_widget,
    stored_session_json,
)
from tests.conftest import new_sender

pytestmark = pytest.mark.integration

REF = re.compile(r"T-\d{6,}")
AGENT = "Hana"
CATEGORY = '/choose_category{"ticket_category": "assets"}'
# How long to watch for a message arriving a second time, after it arrived once.
SETTLE_MS = 1500

LABELS = {
    "en-US": {
        "title": "OKX Wallet Support",
        "back": "Back to ticket {ref}",
        "leave_title": "Start a new chat?",
        "leave_text": "Your ticket {ref} stays open.",
        "open": "Open support chat",
        "open_unread": "Open support chat, 1 unread",
        "close": "Close support chat",
    },
    "zh-CN": {
        "title": "欧意钱包支持",
        "back": "返回工单 {ref}",
        "leave_title": "开始新对话？",
        "leave_text": "您的工单 {ref} 仍会保持处理中。",
        "open": "打开客服对话",
        "open_unread": "打开客服对话（1 条未读）",
        "close": "关闭客服对话",
    },
}


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def live(handoff_stack: Stack) -> Stack:
    """Rasa, the action server and the handoff service (shared by the session)."""
    return handoff_stack


@pytest.fixture(scope="module")
def agent(live: Stack) -> Iterator[AgentClient]:
    """The agent Hana, over the API."""
    assert live.handoff_url is not None
    client = AgentClient(live.handoff_url, live.add_agent(AGENT))
    yield client
    client.close()


# ---------------------------------------------------------------- helpers


def _ref_in(text: str) -> str:
    match = REF.search(text)
    assert match, f"no ticket reference in {text!r}"
    return match.group()


def _escalate_in_widget_en(widget: WidgetPage) -> str:
    """The English ticket form, typed and clicked in the widget; returns the reference."""
    widget.step("I want a human", "Which kind of problem")
    widget.step(CATEGORY, "title", button=True)
    widget.step("USDT withdrawal to Binance not received", "Please describe the problem")
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
    return _ref_in(widget.last_text("system"))


def _escalate_over_rest(live: Stack, sender: str) -> str:
    """The Chinese ticket form over the REST channel (no browser); returns the reference."""
    for text, expect_part in ESCALATE_ZH:
        said = " ".join(m.get("text", "") for m in live.send(sender, text))
        assert expect_part in said, f"{text!r} -> {said!r}"
    answer = live.send(sender, SUBMIT)
    notice = " ".join(str(m.get("custom", {}).get("data", {}).get("text", "")) for m in answer)
    return _ref_in(notice)


def _claimed_ticket(live: Stack, agent: AgentClient) -> tuple[str, str, str]:
    """A conversation with a ticket the agent has claimed: (conversation, token, reference)."""
    sender = new_sender()
    ref = _escalate_over_rest(live, sender)
    claim = agent.claim(ref)
    assert claim.status_code == 200, claim.text
    wait_until(
        lambda: _in_tracker(live, sender, AGENT), timeout=LIVE_TIMEOUT_MS / 1000,
        what="the agent-joined notice in the conversation",
    )
    return sender, live.session_token(sender), ref


def _in_tracker(live: Stack, sender: str, text: str) -> bool:
    """Whether Rasa's stored conversation holds ``text`` (the bot said it)."""
    return text in json.dumps(live.tracker(sender)["events"], ensure_ascii=False)


def _reply(live: Stack, agent: AgentClient, ref: str, sender: str, text: str) -> int:
    """The agent answers; returns once Rasa has the reply. The reply's id."""
    response = agent.reply(ref, text)
    assert response.status_code == 201, response.text
    wait_until(
        lambda: _in_tracker(live, sender, text), timeout=LIVE_TIMEOUT_MS / 1000,
        what=f"the reply {text!r} in the conversation",
    )
    return int(response.json()["id"])


def _resume(widget: WidgetPage, sender: str, token: str) -> None:
    """Put a conversation into the widget's storage (only that) and reload."""
    widget.store_session(stored_session_json(sender, token))
    widget.reload()
    ChatLog(widget.page).expect_synced()


def _seen_ids(widget: WidgetPage) -> list[int]:
    """Every agent message id the widget reported as seen."""
    return [i for event in widget.events("seen") for i in event.data["message_ids"]]


# ---------------------------------------------------------------- tests


def test_replies_sent_while_the_page_was_closed_show_once_in_order(
    ui: Ui, live: Stack, agent: AgentClient
) -> None:
    widget = ui.widget()
    ref = _escalate_in_widget_en(widget)
    conversation = widget.session_id()
    before = widget.count()
    assert agent.claim(ref).status_code == 200
    widget.wait_for(before, "system", AGENT)
    widget.expect_all_delivered()
    shown = ChatLog(widget.page).transcript()

    # The user closes the page; the agent answers twice meanwhile.
    widget.page.close()
    first = "Found your withdrawal: it is waiting for confirmations on TRON."
    second = "It has arrived now. Please check your Binance account."
    ids = [_reply(live, agent, ref, conversation, text) for text in (first, second)]

    # Back in the same browser: both replies, once each, after what was there.
    back = reopen_widget(ui, "back", widget)
    chat = ChatLog(back.page)
    chat.expect_synced()
    assert back.session_id() == conversation
    asked = back.events("history")[0].data
    assert asked["session_id"] == conversation and asked["after"], asked
    back.page.wait_for_timeout(SETTLE_MS)
    expect(chat.messages("agent", first)).to_have_count(1)
    expect(chat.messages("agent", second)).to_have_count(1)
    assert chat.transcript() == [*shown, ["agent", first], ["agent", second]]
    expect(chat.messages("agent", first).locator("[data-testid=msg-name]")).to_have_text(AGENT)
    # Both were in view: reported as seen, with the service's ids.
    back.page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=msg][data-author=agent]').length >= 2"
    )
    wait_until(lambda: set(ids) <= set(_seen_ids(back)), timeout=LIVE_TIMEOUT_MS / 1000,
               what="seen reports of both replies")

    # A reload asks again (after the last reply) and still shows each once.
    back.reload()
    chat.expect_synced()
    assert back.events("history")[-1].data["after"], back.events("history")[-1].data
    back.page.wait_for_timeout(SETTLE_MS)
    expect(chat.messages("agent", first)).to_have_count(1)
    expect(chat.messages("agent", second)).to_have_count(1)
    assert chat.transcript() == [*shown, ["agent", first], ["agent", second]]

    # The server no longer knows the last id the widget has: it answers with its
    # latest messages, all of which the log has (the user's own under their
    # message_id). Nothing may be added twice.
    key = "wallet-support-history:" + conversation
    back.page.evaluate(
        """(key) => {
             const items = JSON.parse(localStorage.getItem(key));
             items.push({id: 100000, author: "bot", text: "kept on this device only",
                         serverId: "unknown-to-the-server", ts: Date.now()});
             localStorage.setItem(key, JSON.stringify(items));
           }""",
        key,
    )
    back.reload()
    chat.expect_synced()
    assert back.events("history")[-1].data["after"] == "unknown-to-the-server"
    back.page.wait_for_timeout(SETTLE_MS)
    assert chat.transcript() == [
        *shown, ["agent", first], ["agent", second], ["bot", "kept on this device only"]
    ]

    # A live reply while the page is open: once, too (live and history share one id).
    third = "Anything else I can help with?"
    before = back.count()
    _reply(live, agent, ref, conversation, third)
    back.wait_for(before, "agent", third, timeout=LIVE_TIMEOUT_MS)
    back.reload()
    chat.expect_synced()
    expect(chat.messages("agent", third)).to_have_count(1)
    assert back.csp_violations() == []
    assert ui.dialogs["back"] == []


def test_cleared_storage_rebuilds_the_transcript_from_the_server(ui: Ui, live: Stack) -> None:
    widget = ui.widget(locale="zh-CN")
    widget.step("转人工", "您的问题属于哪一类")
    widget.step(CATEGORY, "写个标题", button=True)
    widget.step("USDT 提币到币安未到账", "请具体描述")
    widget.expect_all_delivered()
    chat = ChatLog(widget.page)
    shown = chat.transcript()
    chosen = widget.page.locator(".reply-button--chosen").all_text_contents()
    assert len(chosen) == 1, chosen
    session = widget.stored_session()

    # A new device, or cleared storage: only the conversation's id and token are back.
    widget.page.evaluate("localStorage.clear()")
    _resume(widget, session["session_id"], session["session_token"])
    assert widget.events("history")[-1].data["after"] is None
    widget.page.wait_for_timeout(SETTLE_MS)
    # The same messages in the same order; the button press as the button's title.
    assert chat.transcript() == shown
    assert widget.page.locator(".reply-button--chosen").all_text_contents() == chosen
    expect(widget.page.locator("[data-testid=reply-button]:not([disabled])")).to_have_count(0)
    assert chat.messages("user", CATEGORY).count() == 0

    # The conversation goes on where it was, and a reload shows it all once.
    before = widget.say("昨天晚上9点提了500 USDT到币安，显示成功但一直没到账")
    widget.wait_for(before, "bot", "什么时候发生")
    widget.expect_all_delivered()
    shown = chat.transcript()
    widget.reload()
    chat.expect_synced()
    widget.page.wait_for_timeout(SETTLE_MS)
    assert chat.transcript() == shown

    # No ticket is open: New chat starts over at once, as it always did.
    widget.page.click("#new-chat")
    expect(widget.page.locator("[data-testid=leave-dialog]")).to_be_hidden()
    widget.page.wait_for_function(
        "(old) => { const id = window.walletSupportWidget.sessionId(); return id && id !== old; }",
        arg=session["session_id"], timeout=LIVE_TIMEOUT_MS,
    )
    expect(widget.page.locator("[data-testid=msg]")).to_have_count(0)
    expect(widget.page.locator("[data-testid=back-to-ticket]")).to_be_hidden()
    assert "previous_session" not in widget.events("session_request")[-1].data
    assert ui.dialogs["widget"] == []


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_embedded_launcher_counts_unread_replies(
    ui: Ui, live: Stack, agent: AgentClient, locale: str
) -> None:
    policy = requests.get(f"{live.handoff_url}/widget/", timeout=10).headers[
        "content-security-policy"
    ]
    ancestors = next(p.split()[1:] for p in policy.split(";") if "frame-ancestors" in p)
    assert EMBED_HOST_ORIGIN in ancestors, (
        f"the test stack must let {EMBED_HOST_ORIGIN} frame the widget: "
        f"WIDGET_FRAME_ANCESTORS=\"'self' {EMBED_HOST_ORIGIN}\" (frame-ancestors {ancestors})"
    )
    labels = LABELS[locale]
    host = open_embed_host(ui, "host", locale)
    launcher = host.launcher
    expect(launcher).to_be_visible()
    expect(launcher).to_have_attribute("aria-label", labels["open"])
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(host.badge).to_be_hidden()
    # A first visit loads no chat until the user asks for it.
    expect(host.page.locator("[data-testid=support-frame]")).to_have_count(0)
    # The host page's CSS reaches neither the launcher nor the chat.
    assert launcher.evaluate("(el) => getComputedStyle(el).backgroundColor") != "rgb(255, 0, 0)"
    assert launcher.evaluate("(el) => el.getBoundingClientRect().width") >= 44
    # Keyboard: it takes the focus, shows a ring and opens with Enter.
    launcher.focus()
    assert launcher.evaluate("(el) => getComputedStyle(el).outlineStyle") != "none"
    host.page.keyboard.press("Enter")
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(launcher).to_have_attribute("aria-label", labels["close"])
    host.wait_chat_online()
    assert host.page.evaluate("document.querySelector('wallet-support').textContent") == ""

    # The chat's conversation gets a ticket (over REST, quicker than typing), claimed.
    sender = host.frame().evaluate("window.walletSupportWidget.sessionId()")
    ref = _escalate_over_rest(live, sender)
    assert agent.claim(ref).status_code == 200
    host.page.evaluate("window.WalletSupport.close()")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(host.panel).not_to_have_class(re.compile("is-open"))

    # The host page cannot set the count: only the chat's own frame may.
    host.page.evaluate("window.postMessage({type: 'wallet-support:unread', count: 5}, '*')")
    host.page.wait_for_timeout(300)
    expect(host.badge).to_be_hidden()

    # The agent answers while the panel is closed: the badge says 1.
    reply = f"Hana here ({locale}): I am on it."
    _reply(live, agent, ref, sender, reply)
    expect(host.badge).to_have_text("1", timeout=LIVE_TIMEOUT_MS)
    expect(host.badge).to_be_visible()
    expect(launcher).to_have_attribute("aria-label", labels["open_unread"])

    # Opening shows the reply (once) and clears the badge.
    launcher.click()
    expect(host.badge).to_be_hidden()
    expect(launcher).to_have_attribute("aria-label", labels["close"])
    expect(host.chat.messages("agent", reply)).to_have_count(1)
    host.page.wait_for_timeout(SETTLE_MS)
    expect(host.chat.messages("agent", reply)).to_have_count(1)
    expect(host.badge).to_be_hidden()
    assert host.frame().evaluate("window.walletSupportWidget.unread()") == 0

    # Having used the chat on this site, the next page loads it at once, closed.
    host.page.reload()
    expect(host.page.locator("[data-testid=support-frame]")).to_have_count(1)
    host.wait_chat_online()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(host.badge).to_be_hidden()
    assert host.page.url.startswith(EMBED_HOST_ORIGIN)


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_new_chat_during_an_open_ticket_asks_and_can_go_back(
    ui: Ui, live: Stack, agent: AgentClient, locale: str
) -> None:
    sender, token, ref = _claimed_ticket(live, agent)
    labels = LABELS[locale]
    widget = ui.widget(locale=locale)
    _resume(widget, sender, token)
    page = widget.page
    chat = ChatLog(page)
    shown = chat.transcript()
    assert shown, "the conversation was not rebuilt from the server"
    dialog = page.locator("[data-testid=leave-dialog]")
    stay = page.locator("[data-testid=leave-stay]")

    # New chat asks first, inside the widget; Escape keeps everything.
    page.click("#new-chat")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("role", "alertdialog")
    expect(page.locator("#leave-title")).to_have_text(labels["leave_title"])
    expect(page.locator("#leave-text")).to_contain_text(labels["leave_text"].format(ref=ref))
    expect(stay).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#new-chat")).to_be_focused()
    assert widget.session_id() == sender
    assert chat.transcript() == shown

    # Stay keeps everything too.
    page.click("#new-chat")
    expect(dialog).to_be_visible()
    stay.click()
    expect(dialog).to_be_hidden()
    assert widget.session_id() == sender
    assert chat.transcript() == shown
    assert page.evaluate(f"localStorage.getItem({PREVIOUS_KEY!r})") is None

    # Confirmed: a new conversation, linked to the old one, with the way back.
    page.click("#new-chat")
    page.click("[data-testid=leave-confirm]")
    page.wait_for_function(
        "(old) => { const id = window.walletSupportWidget.sessionId(); return id && id !== old; }",
        arg=sender, timeout=LIVE_TIMEOUT_MS,
    )
    widget.wait_online()
    expect(page.locator("[data-testid=msg]")).to_have_count(0)
    request = widget.events("session_request")[-1].data
    assert request == {"previous_session": {"session_id": sender, "session_token": token}}
    previous = json.loads(page.evaluate(f"localStorage.getItem({PREVIOUS_KEY!r})"))
    assert previous == {"session_id": sender, "session_token": token, "ticket_ref": ref}
    back = page.locator("[data-testid=back-to-ticket]")
    expect(back).to_be_visible()
    expect(back).to_have_text(labels["back"].format(ref=ref))
    assert ui.dialogs["widget"] == [], "window.confirm or alert was used"

    # The agent answers the ticket: not in the new conversation...
    later = f"Hana again ({locale}): the withdrawal is confirmed."
    _reply(live, agent, ref, sender, later)
    page.wait_for_timeout(SETTLE_MS)
    expect(chat.messages("agent", later)).to_have_count(0)

    # ...but back in the ticket's conversation, once, after everything that was there.
    back.click()
    page.wait_for_function(
        "(old) => window.walletSupportWidget.sessionId() === old", arg=sender,
        timeout=LIVE_TIMEOUT_MS,
    )
    widget.wait_online()
    chat.expect_synced()
    assert widget.events("session_request")[-1].data == {
        "session_id": sender, "session_token": token
    }
    expect(chat.messages("agent", later)).to_have_count(1, timeout=BOT_TIMEOUT_MS)
    page.wait_for_timeout(SETTLE_MS)
    expect(chat.messages("agent", later)).to_have_count(1)
    assert chat.transcript() == [*shown, ["agent", later]]
    # The chat left had no ticket: it is dropped, and the way back with it.
    expect(back).to_be_hidden()
    assert page.evaluate(f"localStorage.getItem({PREVIOUS_KEY!r})") is None
    assert widget.csp_violations() == []


def test_standalone_title_counts_replies_while_the_tab_is_hidden(
    ui: Ui, live: Stack, agent: AgentClient
) -> None:
    sender, token, ref = _claimed_ticket(live, agent)
    widget = ui.widget(locale="zh-CN")
    _resume(widget, sender, token)
    page = widget.page
    title = LABELS["zh-CN"]["title"]
    expect(page).to_have_title(title)

    page.evaluate(SET_VISIBILITY, True)
    reply = "您好，我是 Hana，正在为您查询。"
    message_id = _reply(live, agent, ref, sender, reply)
    expect(page).to_have_title(f"(1) {title}", timeout=LIVE_TIMEOUT_MS)
    assert message_id not in _seen_ids(widget), "reported as seen while the tab was hidden"

    page.evaluate(SET_VISIBILITY, False)
    expect(page).to_have_title(title)
    wait_until(lambda: message_id in _seen_ids(widget), timeout=LIVE_TIMEOUT_MS / 1000,
               what="the seen report once the tab is visible")
    expect(ChatLog(page).messages("agent", reply)).to_have_count(1)
