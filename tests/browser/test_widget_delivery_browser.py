"""A message whose acknowledgement is lost with the connection, in a real browser.

The widget cannot tell whether the server handled it. After reconnecting it
asks the history: a message the server has is marked delivered and never sent
again; one it does not have goes again under the same id, marked as a resend.
Either way the conversation holds the message exactly once.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from devtools.stack import Stack
from tests.browser.pages import BOT_TIMEOUT_MS, LIVE_TIMEOUT_MS, Ui, WidgetPage

pytestmark = pytest.mark.integration

QUESTION = "How do I back up my wallet?"


@pytest.fixture(scope="module")
def live(handoff_stack: Stack) -> Stack:
    """Rasa, the action server and the handoff service (shared by the session)."""
    return handoff_stack


def _user_texts(live: Stack, sender: str) -> list[str]:
    events = live.tracker(sender)["events"]
    return [e["text"] for e in events if e["event"] == "user"]


def _last_user_id(widget: WidgetPage) -> str:
    value = widget.page.locator("[data-testid=msg][data-author=user]").last.get_attribute("data-id")
    assert value, "the user's message has no id"
    return value


def _copies(widget: WidgetPage, message_id: str) -> list[dict]:
    return [e.data for e in widget.events("user_uttered")
            if isinstance(e.data, dict) and e.data.get("message_id") == message_id]


def test_a_message_lost_on_the_way_is_sent_again_once(ui: Ui, live: Stack) -> None:
    widget = ui.widget()
    widget.drop_next_message()
    before = widget.say(QUESTION)
    message_id = _last_user_id(widget)
    bubble = widget.page.locator(f"[data-testid=msg][data-id='{message_id}']")
    expect(bubble).to_have_attribute("data-status", "sent")

    widget.cut_connection()
    # Reconnected, history did not have it: sent again, marked as a copy, and answered.
    expect(bubble).to_have_attribute("data-status", "delivered", timeout=LIVE_TIMEOUT_MS)
    widget.wait_for_answer(before)
    copies = _copies(widget, message_id)
    assert [c.get("resend") for c in copies] == [True], copies
    assert _user_texts(live, widget.session_id()).count(QUESTION) == 1
    expect(widget.page.locator("[data-testid=msg][data-author=user]")).to_have_count(1)


def test_a_message_handled_before_the_connection_dropped_is_not_sent_again(
    ui: Ui, live: Stack
) -> None:
    widget = ui.widget()
    widget.hold_acks()
    before = widget.say(QUESTION)
    message_id = _last_user_id(widget)
    bubble = widget.page.locator(f"[data-testid=msg][data-id='{message_id}']")
    # The server answered; its acknowledgement never reaches the widget.
    widget.wait_for_answer(before, timeout=BOT_TIMEOUT_MS)
    expect(bubble).to_have_attribute("data-status", "sent")

    widget.cut_connection()
    # History has it: delivered, and no copy goes out.
    expect(bubble).to_have_attribute("data-status", "delivered", timeout=LIVE_TIMEOUT_MS)
    widget.page.wait_for_timeout(1500)
    assert len(_copies(widget, message_id)) == 1
    assert _user_texts(live, widget.session_id()).count(QUESTION) == 1
