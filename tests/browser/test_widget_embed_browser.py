"""The embeddable widget as a support team uses it, in a real browser.

- A host page of another site (served by the test itself) loads ``embed.js``
  with the stub of the README: calls made before the script loaded run once it
  has; the launcher, its unread badge and ``onUnread``; ``open``,
  ``setLanguage`` (the labels and the bot's language) and ``setUser``.
- On a phone: the greeting, the expected wait while a ticket waits, a time on
  every message, "Ana is typing…" and "Seen" after the agent acts in the
  service, and the note when a paste is too long for one message.

One stack (Rasa, the action server, the handoff service) for this module.
Screenshots go into each test's ``tmp_path``; with ``README_PICTURES=1`` the
two pictures of ``widget/README.md`` are written into ``docs/images/``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from playwright.sync_api import Page, expect

from devtools.agent_client import AgentClient, wait_until
from devtools.chat_client import ESCALATE_ZH
from devtools.stack import Stack, running_stack
from tests.browser.axe import contrast
from tests.browser.pages import (
    EMBED_HOST_ORIGIN,
    LIVE_TIMEOUT_MS,
    SET_VISIBILITY,
    Ui,
    open_embed_host,
    save_picture,
)

pytestmark = pytest.mark.integration

REF = re.compile(r"T-\d{6,}")
AGENT = "Ana"
APP_SECRET = secrets.token_urlsafe(32)
APP_USER = "wallet-user-embed-1"
CLOCK = re.compile(r"\d{1,2}:\d{2}")

# A wallet app's page: the README's stub, then calls made before embed.js has loaded.
STUB_HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Wallet</title>
<style>
  body {{ margin: 0; font: 16px/1.5 system-ui, sans-serif; background: #f5f6f8; color: #111; }}
  header {{ padding: 16px 32px; background: #fff; border-bottom: 1px solid #e5e7eb; }}
  main {{ padding: 32px; }}
  .card {{ max-width: 520px; padding: 24px; border-radius: 16px; background: #fff; }}
  button {{ background: rgb(255, 0, 0) !important; }}
</style></head>
<body>
<header><strong>My Wallet</strong></header>
<main><div class="card"><h1>Assets</h1><p>USDT (TRC20) &middot; 1,250.00</p>
<p>ETH &middot; 0.8421</p></div></main>
<script>
  window.WalletSupport = window.WalletSupport || {{ q: [] }};
  ["open", "close", "setLanguage", "setUser", "on", "onUnread"].forEach(function (name) {{
    WalletSupport[name] = WalletSupport[name] || function () {{
      WalletSupport.q.push([name].concat([].slice.call(arguments)));
    }};
  }});
  window.__unreadCounts = [];
  WalletSupport.setLanguage("zh");
  WalletSupport.on("unread", function (count) {{ window.__unreadCounts.push(count); }});
</script>
<script src="{server}/widget/embed.js" data-server="{server}" async></script>
</body></html>
"""

# The ticket form in English over REST: (message, part of the bot's answer).
ESCALATE_EN = (
    ("I want a human", "Which kind of problem"),
    ('/choose_category{"ticket_category": "assets"}', "title"),
    ("USDT deposit from Binance not received", "Please describe the problem"),
    ("Yesterday at 9pm I sent 500 USDT from Binance on TRC20. Binance shows it as "
     "completed but it never arrived in my wallet.", "When did it happen"),
    ("yesterday around 9 pm", "transaction hash"),
    ("skip", "wallet address"),
    ("skip", "e-mail"),
    ("skip", "Please check the ticket"),
)
PHONE = {
    "en-US": {
        "escalate": ESCALATE_EN,
        "greeting": "Hi, this is OKX Wallet Support.",
        "wait": "Ticket {ref} is open. Expected wait for an agent: about 7 min.",
        "delivered": "Delivered ✓",
        "seen": "Seen ✓✓",
        "typing": f"{AGENT} is typing…",
        "first": "My USDT deposit has still not arrived, please help.",
        "later": "I sent it from Binance about an hour ago.",
        "reply": "Thanks! I can see the deposit on TRON; it needs 20 more confirmations.",
    },
    "zh-CN": {
        "escalate": ESCALATE_ZH,
        "greeting": "您好，这里是欧意钱包支持。",
        "wait": "工单 {ref} 已提交，预计约 7 分钟内有客服回复。",
        "delivered": "已送达 ✓",
        "seen": "已读 ✓✓",
        "typing": f"{AGENT} 正在输入…",
        "first": "我的 USDT 还是没到账，麻烦帮忙看看。",
        "later": "大概一小时前从币安转出的。",
        "reply": "您好，我看到这笔充值了，在 TRON 上还需要 20 个确认。",
    },
}
EN = {
    "greeting": "Hi, this is OKX Wallet Support.",
    "too_long": "Your message is {count} characters long; one message can hold 4,000. "
    "Nothing has been cut: shorten it by {over} characters, or send it as 2 messages.",
}
ZH_TOO_LONG = (
    "您的消息共 {count} 个字符，单条最多 4,000 个。内容没有被删减：请删减 {over} 个字符，"
    "或分成 2 条发送。"
)


@pytest.fixture(scope="module")
def live(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Rasa, the action server and the handoff service, for every test of this module."""
    with running_stack(
        tmp_path_factory.mktemp("embed-stack"), trained_model, handoff=True,
        env={"CHAT_APP_JWT_SECRET": APP_SECRET},
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
def agent(live: Stack) -> Iterator[AgentClient]:
    """The agent Ana, over the service's API."""
    assert live.handoff_url is not None
    client = AgentClient(live.handoff_url, live.add_agent(AGENT))
    yield client
    client.close()


def _escalate_over_rest(
    stack: Stack, sender: str, steps: tuple[tuple[str, str], ...] = ESCALATE_ZH
) -> str:
    """A ticket for ``sender``'s conversation (the REST channel: quicker than typing)."""
    for text, expect_part in steps:
        answer = stack.send(sender, text)
        said = " ".join(m.get("text", "") for m in answer)
        assert expect_part in said, f"{text!r} -> {answer}"
    answer = stack.send(sender, "/affirm")
    notice = " ".join(str(m.get("custom", {}).get("data", {}).get("text", "")) for m in answer)
    match = REF.search(notice)
    assert match, f"no ticket reference in {notice!r}"
    return match.group()


def _language_slot(stack: Stack, sender: str) -> Any:
    tracker = requests.get(
        f"{stack.rasa_url}/conversations/{sender}/tracker",
        params={"token": stack.auth_token}, timeout=10,
    ).json()
    return tracker["slots"].get("language")






# ---------------------------------------------------------------- the host page


def test_host_page_api_queued_calls_badge_language_and_user(
    ui: Ui, live: Stack, agent: AgentClient, tmp_path: Path
) -> None:
    host = open_embed_host(ui, "host", "en-US", page_template=STUB_HOST_PAGE)
    page = host.page
    launcher = host.launcher
    # The stub's calls ran once embed.js loaded: the launcher speaks Chinese.
    expect(launcher).to_have_attribute("aria-label", "打开客服对话")
    assert page.evaluate("window.WalletSupport.loaded") is True
    assert page.evaluate("typeof window.WalletSupport.q.push") == "function"
    expect(page.locator("[data-testid=support-frame]")).to_have_count(0)

    # open() from the host; the chat comes up in the host's language.
    page.evaluate("WalletSupport.open()")
    expect(launcher).to_have_attribute("aria-expanded", "true")
    host.wait_chat_online()
    frame = host.frame()
    assert "host=" + requests.utils.quote(EMBED_HOST_ORIGIN, safe="") in frame.url
    assert "lang=zh" in frame.url
    chat = host.chat.root
    expect(chat.locator("#chat-title")).to_have_text("欧意钱包支持")
    expect(chat.locator("[data-testid=greeting]")).to_contain_text("您好")
    sender = frame.evaluate("window.walletSupportWidget.sessionId()")
    wait_until(lambda: _language_slot(live, sender) == "zh", timeout=10,
               what="the bot told to answer in Chinese")

    # setLanguage("en"), live: the launcher, the chat's labels and the bot.
    assert page.evaluate("WalletSupport.setLanguage('en')") is True
    expect(launcher).to_have_attribute("aria-label", "Close support chat")
    expect(chat.locator("#chat-title")).to_have_text("OKX Wallet Support")
    expect(chat.locator("[data-testid=greeting]")).to_contain_text(EN["greeting"])
    wait_until(lambda: _language_slot(live, sender) == "en", timeout=10,
               what="the bot told to answer in English")
    assert page.evaluate("WalletSupport.setLanguage('fr')") is False
    # Only the embedding page may say so: a message from the chat's own window is ignored.
    frame.evaluate(
        "window.postMessage({type: 'wallet-support:language', language: 'zh'}, '*')"
    )
    page.wait_for_timeout(300)
    expect(chat.locator("#chat-title")).to_have_text("OKX Wallet Support")

    # A ticket, claimed; the panel is closed when the agent answers: badge and callback.
    ref = _escalate_over_rest(live, sender, ESCALATE_EN)
    assert agent.claim(ref).status_code == 200
    page.evaluate("WalletSupport.close()")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    reply = "Hi, Ana here. I am checking your deposit."
    assert agent.reply(ref, reply).status_code == 201
    expect(host.badge).to_have_text("1", timeout=LIVE_TIMEOUT_MS)
    expect(launcher).to_have_attribute("aria-label", "Open support chat, 1 unread")
    page.wait_for_function("window.__unreadCounts.includes(1)", timeout=LIVE_TIMEOUT_MS)
    # A late stub-style call still works, and opening clears the badge.
    page.evaluate("WalletSupport.q.push(['open'])")
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(host.badge).to_be_hidden()
    page.wait_for_function("window.__unreadCounts.at(-1) === 0", timeout=LIVE_TIMEOUT_MS)
    expect(host.chat.messages("agent", reply)).to_have_count(1)
    # No chat text ever reached the host page.
    assert reply not in page.evaluate("document.documentElement.outerHTML")
    page.wait_for_timeout(400)  # the panel's fade-in
    save_picture(page, tmp_path, "widget-desktop.png")

    # setUser: the app's signed token goes into the frame, the chat follows the account.
    assert page.evaluate("WalletSupport.setUser('not a token')") is False
    token = jwt.encode(
        {"sub": APP_USER, "exp": int(time.time()) + 300}, APP_SECRET, algorithm="HS256"
    )
    assert page.evaluate("(t) => WalletSupport.setUser(t)", token) is True
    account = "u-" + hashlib.sha256(APP_USER.encode()).hexdigest()[:32]
    frame.wait_for_function(
        "(id) => window.walletSupportWidget.sessionId() === id", arg=account,
        timeout=LIVE_TIMEOUT_MS,
    )
    expect(chat.locator("#new-chat")).to_be_hidden()
    assert token not in frame.url
    # (The frame's own storage is third-party here; the widget never stores the token.)
    assert token not in page.evaluate("JSON.stringify(Object.assign({}, localStorage))")
    # The embedding page's CSS reached neither the launcher nor the chat.
    assert launcher.evaluate("(el) => getComputedStyle(el).backgroundColor") != "rgb(255, 0, 0)"
    assert ui.dialogs["host"] == []


# ---------------------------------------------------------------- on a phone


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_phone_greeting_wait_times_typing_seen_and_states(
    ui: Ui, live: Stack, agent: AgentClient, tmp_path: Path, locale: str
) -> None:
    texts = PHONE[locale]
    widget = ui.widget(locale=locale)
    page = widget.page
    # The expected wait comes from the service; the test fixes its answer.
    page.route(
        "**/api/public/queue",
        lambda route: route.fulfill(
            status=200, content_type="application/json",
            body='{"expected_wait_minutes": 7, "agents_online": 2}',
        ),
    )
    greeting = page.locator("[data-testid=greeting]")
    expect(greeting).to_be_visible()
    expect(greeting).to_contain_text(texts["greeting"])
    wait_line = page.locator("[data-testid=expected-wait]")
    expect(wait_line).to_be_hidden()

    # A ticket is open (escalated over REST): after a reload the wait is shown.
    sender = widget.session_id()
    ref = _escalate_over_rest(live, sender, texts["escalate"])
    widget.reload()
    expect(wait_line).to_have_text(texts["wait"].format(ref=ref), timeout=LIVE_TIMEOUT_MS)
    expect(wait_line).to_be_visible()
    page.screenshot(path=str(tmp_path / "waiting.png"))

    # The user writes while waiting: sending, then delivered, with its time.
    first = texts["first"]
    before = widget.say(first)
    widget.wait_for_answer(before)
    mine = widget.user_message(first)
    expect(mine).to_have_attribute("data-status", "delivered")
    expect(mine.locator("[data-testid=msg-status]")).to_have_text(texts["delivered"])
    _expect_times_on_every_message(page)
    wait_until(
        lambda: any(m["text"] == first for m in agent.messages(ref)), timeout=10,
        what="the user's message in the ticket",
    )

    # The agent claims and opens the ticket: the user's messages are seen.
    before = widget.count()
    assert agent.claim(ref).status_code == 200
    widget.wait_for(before, "system", AGENT, timeout=LIVE_TIMEOUT_MS)
    agent.ticket(ref)
    expect(mine).to_have_attribute("data-seen", "true", timeout=LIVE_TIMEOUT_MS)
    expect(mine.locator("[data-testid=msg-status]")).to_have_text(texts["seen"])
    # The agent is there: no wait any more.
    expect(wait_line).to_be_hidden()

    # A new message is delivered, then seen once the agent polls the messages.
    later = texts["later"]
    widget.say(later)
    answer = widget.user_message(later)
    expect(answer).to_have_attribute("data-status", "delivered", timeout=LIVE_TIMEOUT_MS)
    wait_until(
        lambda: any(m["text"] == later for m in agent.messages(ref)), timeout=10,
        what="the user's message in the ticket",
    )
    expect(answer).to_have_attribute("data-seen", "true", timeout=LIVE_TIMEOUT_MS)
    expect(answer.locator("[data-testid=msg-status]")).to_have_text(texts["seen"])

    # The agent types: "Ana is typing…", for a few seconds.
    typing = page.locator("[data-testid=agent-typing]")
    assert agent.call("POST", f"/tickets/{ref}/typing").status_code == 204
    expect(typing).to_have_text(texts["typing"], timeout=LIVE_TIMEOUT_MS)
    expect(typing).to_be_visible()
    expect(typing).to_be_hidden(timeout=10_000)

    # The agent answers; the name is readable (WCAG AA) and the reply has its time.
    reply = texts["reply"]
    before = widget.count()
    assert agent.reply(ref, reply).status_code == 201
    widget.wait_for(before, "agent", reply, timeout=LIVE_TIMEOUT_MS)
    name = page.locator("[data-testid=msg][data-author=agent] [data-testid=msg-name]").last
    color = name.evaluate("(el) => getComputedStyle(el).color")
    assert contrast(color, "rgb(255, 255, 255)") >= 4.5, color
    _expect_times_on_every_message(page)
    time.sleep(3.1)  # the service relays one typing event per 3 s and ticket
    assert agent.call("POST", f"/tickets/{ref}/typing").status_code == 204
    expect(typing).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    if locale == "en-US":
        save_picture(page, tmp_path, "widget-phone.png")
    else:
        page.screenshot(path=str(tmp_path / "widget-phone-zh.png"))
    assert widget.csp_violations() == []


def _expect_times_on_every_message(page: Page) -> None:
    messages = page.locator("[data-testid=msg]")
    count = messages.count()
    assert count > 0
    times = page.locator("[data-testid=msg] [data-testid=msg-time]")
    expect(times).to_have_count(count)
    for index in range(count):
        expect(times.nth(index)).to_be_visible()
        expect(times.nth(index)).to_have_text(CLOCK)
        assert times.nth(index).get_attribute("datetime")


def test_queue_missing_shows_no_wait(ui: Ui, live: Stack, agent: AgentClient) -> None:
    widget = ui.widget()
    page = widget.page
    page.route("**/api/public/queue", lambda route: route.fulfill(status=503, body="down"))
    sender = widget.session_id()
    ref = _escalate_over_rest(live, sender)
    widget.reload()
    expect(widget.page.locator("#chat-log")).to_have_attribute(
        "data-history", "synced", timeout=LIVE_TIMEOUT_MS
    )
    page.wait_for_timeout(500)
    expect(page.locator("[data-testid=expected-wait]")).to_be_hidden()
    # Nobody online: the service has no estimate, and the widget shows none.
    page.unroute("**/api/public/queue")
    page.route(
        "**/api/public/queue",
        lambda route: route.fulfill(
            status=200, content_type="application/json",
            body='{"expected_wait_minutes": null, "agents_online": 0}',
        ),
    )
    widget.reload()
    page.wait_for_timeout(800)
    expect(page.locator("[data-testid=expected-wait]")).to_be_hidden()
    assert ref
    # Hidden tab: nothing asked; the page stays quiet.
    page.evaluate(SET_VISIBILITY, True)


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_too_long_paste_is_kept_with_a_note_and_can_go_in_parts(
    ui: Ui, live: Stack, locale: str, tmp_path: Path
) -> None:
    widget = ui.widget(locale=locale)
    page = widget.page
    line = "2026-12-04 09:31:07 withdraw USDT TRC20 status=pending txid=abc123 retry=1\n"
    text = line * 70  # about 5,300 characters: longer than one message holds
    page.locator("#chat-input").focus()
    page.keyboard.insert_text(text)
    # Nothing was cut: the whole paste is in the box.
    assert page.locator("#chat-input").input_value() == text
    note = page.locator("[data-testid=too-long]")
    expect(note).to_be_visible()
    count, over = f"{len(text):,}", f"{len(text) - 4000:,}"
    if locale == "zh-CN":
        expect(note).to_contain_text(ZH_TOO_LONG.format(count=count, over=over))
        expect(page.locator("[data-testid=send-in-parts]")).to_have_text("分成 2 条发送")
    else:
        expect(note).to_contain_text(EN["too_long"].format(count=count, over=over))
        expect(page.locator("[data-testid=send-in-parts]")).to_have_text("Send as 2 messages")
    expect(page.locator("#chat-send")).to_be_disabled()
    expect(page.locator("#chat-input")).to_have_attribute("aria-invalid", "true")
    # Enter sends nothing and keeps everything.
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert widget.count() == 0
    assert page.locator("#chat-input").input_value() == text
    page.screenshot(path=str(tmp_path / f"too-long-{locale}.png"))

    # On request it goes as two messages, in order, nothing lost.
    page.click("[data-testid=send-in-parts]")
    sent = page.locator("[data-testid=msg][data-author=user]")
    expect(sent).to_have_count(2)
    widget.expect_all_delivered()
    parts = widget.texts("user")
    assert all(len(part) <= 4000 for part in parts)
    assert "\n".join(parts) == text.strip()
    expect(note).to_be_hidden()
    assert page.locator("#chat-input").input_value() == ""


# The server refuses the next user message (as it does one it cannot take), unsent.
_REFUSE_NEXT = """() => {
  const socket = window.walletSupportWidget.socket();
  const emit = socket.emit.bind(socket);
  let refused = false;
  socket.emit = (event, ...args) => {
    const ack = args[args.length - 1];
    if (event === "user_uttered" && !refused && typeof ack === "function") {
      refused = true;
      setTimeout(() => ack({ ok: false, error: "message_not_text" }), 50);
      return socket;
    }
    return emit(event, ...args);
  };
}"""


def test_failed_message_can_be_sent_again(ui: Ui, live: Stack) -> None:
    widget = ui.widget()
    page = widget.page
    page.evaluate(_REFUSE_NEXT)
    text = "Where is my withdrawal?"
    widget.say(text)
    mine = widget.user_message(text)
    expect(mine).to_have_attribute("data-status", "failed", timeout=LIVE_TIMEOUT_MS)
    expect(mine.locator("[data-testid=msg-status]")).to_have_text("Not sent. Try again")
    expect(mine.locator("[data-testid=msg-time]")).to_be_visible()
    retry = mine.locator("[data-testid=retry]")
    # Reached with the keyboard (back from the message box), it shows a focus ring.
    page.locator("#chat-input").focus()
    for _ in range(6):
        page.keyboard.press("Shift+Tab")
        if retry.evaluate("(el) => el === document.activeElement"):
            break
    assert retry.evaluate("(el) => el === document.activeElement")
    assert retry.evaluate("(el) => getComputedStyle(el).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(mine).to_have_attribute("data-status", "delivered", timeout=LIVE_TIMEOUT_MS)
    expect(mine.locator("[data-testid=msg-status]")).to_have_text("Delivered ✓")
    expect(widget.user_message(text)).to_have_count(1)
