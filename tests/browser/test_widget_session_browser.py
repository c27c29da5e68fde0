"""The chat widget's session, acknowledgements and page policy, in a real browser.

The stack of this module keeps the per-conversation quota low (so that one
test can run into it in seconds) and accepts user tokens signed with a secret
the tests hold, as a wallet app's backend would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from playwright.sync_api import expect

from devtools.stack import Stack, running_stack
from tests.browser.pages import LIVE_TIMEOUT_MS, Ui

pytestmark = pytest.mark.integration

QUOTA = 3  # messages per conversation...
WINDOW_SECONDS = 10  # ...in this many seconds
APP_SECRET = secrets.token_urlsafe(32)
APP_USER = "wallet-user-42"
LIMITED_NOTICE = "a little fast"  # part of the server's notice to a rate-limited user
CATEGORY = '/choose_category{"ticket_category": "assets"}'
UNSIGNED_HEADER = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()

# The first user_uttered goes out with a spoiled token, as if the server had
# forgotten this connection's session; later ones are left alone.
SPOIL_FIRST_MESSAGE = """() => {
  const socket = window.walletSupportWidget.socket();
  const emit = socket.emit.bind(socket);
  let spoiled = false;
  socket.emit = (event, data, ...rest) => {
    if (event === "user_uttered" && !spoiled) {
      spoiled = true;
      data = Object.assign({}, data, {session_token: "spoiled"});
    }
    return emit(event, data, ...rest);
  };
}"""


@pytest.fixture(scope="module")
def live(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Rasa, the action server and the handoff service, for every test of this module."""
    with running_stack(
        tmp_path_factory.mktemp("widget-stack"), trained_model, handoff=True,
        env={
            "CHAT_MESSAGES_PER_CONVERSATION": f"{QUOTA}/{WINDOW_SECONDS} seconds",
            "CHAT_APP_JWT_SECRET": APP_SECRET,
        },
    ) as stack:
        yield stack


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _socket_prefix(stack: Stack) -> str:
    """Where the widget's WebSocket must go: the stack's Rasa, never anywhere else."""
    assert stack.rasa_url.startswith("http://")
    return "ws://" + stack.rasa_url.removeprefix("http://") + "/socket.io/"


def test_page_url_cannot_point_the_chat_at_another_server(ui: Ui, live: Stack) -> None:
    widget = ui.widget(query="?rasa=http://127.0.0.1:9")
    before = widget.say("hello")
    widget.wait_for_answer(before)
    widget.expect_all_delivered()
    assert widget.sockets, "the widget opened no WebSocket"
    assert all(url.startswith(_socket_prefix(live)) for url in widget.sockets), widget.sockets


def test_reload_continues_the_conversation_with_the_stored_token(ui: Ui, live: Stack) -> None:
    widget = ui.widget()
    # A first visit has nothing to resume: the server names the conversation.
    assert widget.events("session_request")[0].data == {}
    widget.step("I want a human", "Which kind of problem")
    conversation = widget.session_id()
    stored = widget.stored_session()
    assert stored["session_id"] == conversation
    token = stored["session_token"]
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == conversation
    shown = widget.page.locator("[data-testid=msg]").all_text_contents()

    widget.reload()
    assert widget.events("session_request")[-1].data == {
        "session_id": conversation, "session_token": token
    }
    assert widget.session_id() == conversation
    assert widget.stored_session() == stored
    assert widget.page.locator("[data-testid=msg]").all_text_contents() == shown

    # The server kept the conversation too: the ticket form goes on where it was.
    widget.step(CATEGORY, "title", button=True)
    sent = widget.events("user_uttered")[-1].data
    # The widget names its own message, to recognise it when history gives it back.
    assert re.fullmatch(r"[0-9a-f]{32}", sent.pop("message_id"))
    assert sent == {"message": CATEGORY, "session_id": conversation, "session_token": token}
    widget.expect_all_delivered()


@pytest.mark.parametrize("tampering", ["garbage", "forged_signature", "unsigned"])
def test_tampered_stored_session_gets_a_new_conversation(
    ui: Ui, live: Stack, tampering: str
) -> None:
    widget = ui.widget()
    before = widget.say("hello")
    widget.wait_for_answer(before)
    old = widget.stored_session()
    header, payload, _signature = old["session_token"].split(".")
    forged = {
        "garbage": "garbage",
        "forged_signature": f"{header}.{payload}.{_b64url(b'x' * 32)}",
        "unsigned": f"{UNSIGNED_HEADER}.{payload}.",
    }[tampering]
    widget.store_session(json.dumps({"session_id": old["session_id"], "session_token": forged}))

    widget.reload()
    request = widget.events("session_request")[-1].data
    if tampering == "garbage":
        assert request == {}, "a value that is not a token is not even sent"
    else:
        assert request == {"session_id": old["session_id"], "session_token": forged}
    conversation = widget.session_id()
    assert conversation != old["session_id"]
    stored = widget.stored_session()
    assert stored["session_id"] == conversation
    assert stored["session_token"] not in (old["session_token"], forged)
    # The old conversation's history is not shown in the new one, nor kept.
    expect(widget.page.locator("[data-testid=msg]")).to_have_count(0)
    assert widget.page.evaluate(
        "(id) => localStorage.getItem('wallet-support-history:' + id)", old["session_id"]
    ) is None

    before = widget.say("hello again")
    widget.wait_for_answer(before)
    widget.expect_all_delivered()


def test_page_has_a_strict_policy_and_the_widget_works_under_it(ui: Ui, live: Stack) -> None:
    widget = ui.widget()
    assert widget.response is not None
    policy = widget.response.headers.get("content-security-policy")
    assert policy, "the widget page is served without a Content-Security-Policy header"
    directives = {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }
    rasa_origin = live.rasa_url.rstrip("/")
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'none'"]
    assert set(directives["connect-src"]) == {
        "'self'", rasa_origin, "ws://" + rasa_origin.removeprefix("http://")
    }
    assert "frame-ancestors" in directives
    assert "unsafe" not in policy

    # Typing (the composer grows), sending, answers, reply buttons: all under the policy.
    widget.page.fill("#chat-input", "line\n" * 6)
    widget.page.fill("#chat-input", "")
    widget.step("I want a human", "Which kind of problem")
    widget.step(CATEGORY, "title", button=True)
    widget.expect_all_delivered()
    assert widget.csp_violations() == []

    # The policy is enforced and a violation would have been seen: an inline style is blocked.
    widget.page.evaluate("document.body.setAttribute('style', 'color: red')")
    widget.page.wait_for_function("window.__cspViolations.length > 0", timeout=LIVE_TIMEOUT_MS)
    assert any(v.startswith("style-src") for v in widget.csp_violations())


def test_rate_limited_message_is_kept_and_sent_again_later(ui: Ui, live: Stack) -> None:
    widget = ui.widget()
    texts = [f"hello number {n}" for n in range(1, QUOTA + 2)]
    for text in texts:
        widget.say(text)

    # One message too many: the server holds it back and says so, calmly, once.
    widget.wait_for(0, "bot", LIMITED_NOTICE, timeout=LIVE_TIMEOUT_MS)
    page = widget.page
    notice = page.locator("[data-testid=msg][data-author=bot][data-kind=notice]")
    expect(notice).to_have_count(1)
    held = page.locator("[data-testid=msg][data-author=user][data-status=waiting]")
    expect(held).to_have_count(1)
    expect(held.locator(".msg__meta")).to_have_text("")
    expect(page.locator("[data-testid=msg][data-kind=error]")).to_have_count(0)

    # Without anyone doing anything, it goes out once the window has room again.
    expect(held).to_have_count(0, timeout=(WINDOW_SECONDS + 10) * 1000)
    widget.expect_all_delivered()
    # Every message went out once, the held one twice; the log shows each once, in order.
    sent = [event.data["message"] for event in widget.events("user_uttered")]
    assert sorted(sent.count(text) for text in texts) == [1] * (len(texts) - 1) + [2], sent
    assert widget.texts("user") == texts


def test_refused_session_is_asked_for_again_and_the_message_resent(
    ui: Ui, live: Stack
) -> None:
    widget = ui.widget()
    conversation = widget.session_id()
    token = widget.stored_session()["session_token"]
    widget.page.evaluate(SPOIL_FIRST_MESSAGE)

    before = widget.say("hello")
    widget.wait_for_answer(before)
    widget.expect_all_delivered()
    assert [e.data["session_token"] for e in widget.events("user_uttered")] == ["spoiled", token]
    # Once on connecting, once more after the server refused the message.
    assert [e.data for e in widget.events("session_request")][1:] == [
        {"session_id": conversation, "session_token": token}
    ]
    assert widget.session_id() == conversation
    assert widget.texts("user") == ["hello"]


def test_app_user_token_opens_the_account_conversation(ui: Ui, live: Stack) -> None:
    widget = ui.widget()
    anonymous = widget.session_id()
    expect(widget.page.locator("#new-chat")).to_be_visible()
    user_token = jwt.encode(
        {"sub": APP_USER, "exp": int(time.time()) + 300}, APP_SECRET, algorithm="HS256"
    )
    accepted = widget.page.evaluate("(t) => window.walletSupportWidget.setUserToken(t)", user_token)
    assert accepted is True
    account = "u-" + hashlib.sha256(APP_USER.encode()).hexdigest()[:32]
    widget.page.wait_for_function(
        "(id) => window.walletSupportWidget.sessionId() === id", arg=account,
        timeout=LIVE_TIMEOUT_MS,
    )
    assert account != anonymous
    assert widget.events("session_request")[-1].data["user_token"] == user_token
    expect(widget.page.locator("#new-chat")).to_be_hidden()
    before = widget.say("hello")
    widget.wait_for_answer(before)
    widget.expect_all_delivered()
    stored = widget.stored_session()
    assert stored["session_id"] == account
    claims = jwt.decode(stored["session_token"], options={"verify_signature": False})
    assert claims["uid"] == APP_USER

    # The short-lived user token is not kept: a reload resumes with the session token.
    widget.reload()
    assert widget.events("session_request")[-1].data == {
        "session_id": account, "session_token": stored["session_token"]
    }
    assert widget.session_id() == account
    expect(widget.page.locator("#new-chat")).to_be_hidden()
    assert user_token not in widget.page.evaluate("JSON.stringify(localStorage)")
