"""What reaches a ticket is what the server vouched for: the app user, checked fields."""

from __future__ import annotations

import time

import jwt
import pytest

from devtools.agent_client import AgentClient
from devtools.chat_client import ESCALATE_ZH, SUBMIT, TICKET_CREATED_ZH, SocketChatUser
from devtools.stack import Stack

pytestmark = pytest.mark.integration


def _app_token(stack: Stack, user_id: str) -> str:
    """A user token as the wallet app's backend signs it."""
    secret = stack.extra_env["CHAT_APP_JWT_SECRET"]
    return jwt.encode({"sub": user_id, "exp": int(time.time()) + 300}, secret, "HS256")


def test_a_logged_in_app_user_is_recorded_on_the_ticket(
    handoff_stack: Stack, bot: AgentClient, agent: AgentClient
) -> None:
    user_id = f"wallet-user-{time.time_ns()}"
    token = _app_token(handoff_stack, user_id)
    with SocketChatUser(handoff_stack.rasa_url, user_token=token) as user:
        assert str(user.session_id).startswith("u-")
        for text, expect in ESCALATE_ZH:
            user.ask(text, expect)
        user.ask(SUBMIT, TICKET_CREATED_ZH)
        ticket = bot.conversation_ticket(str(user.session_id))
    assert ticket is not None and ticket["app_user_id"] == user_id
    # The same user on another device continues the same conversation.
    another_device = _app_token(handoff_stack, user_id)
    with SocketChatUser(handoff_stack.rasa_url, user_token=another_device) as again:
        assert again.session_id == user.session_id


def test_a_client_cannot_claim_to_be_an_app_user_through_metadata(
    handoff_stack: Stack, bot: AgentClient
) -> None:
    with SocketChatUser(handoff_stack.rasa_url) as user:
        claim = {"app_user_id": "someone-else"}
        for text, expect in ESCALATE_ZH:
            user.wait_for_text(expect, user.say(text, metadata=claim), timeout=30)
        user.ask(SUBMIT, TICKET_CREATED_ZH)
        ticket = bot.conversation_ticket(str(user.session_id))
    assert ticket is not None and ticket["app_user_id"] is None


def test_a_forged_user_token_opens_an_anonymous_conversation(handoff_stack: Stack) -> None:
    forged = jwt.encode({"sub": "victim", "exp": int(time.time()) + 300}, "x" * 32, "HS256")
    with SocketChatUser(handoff_stack.rasa_url, user_token=forged) as user:
        assert not str(user.session_id).startswith("u-")


def test_a_time_the_service_refuses_is_asked_for_again_not_called_an_outage(
    handoff_stack: Stack, bot: AgentClient
) -> None:
    """The time once made the service answer 500 and blocked the outbox for everyone."""
    script = [
        (text if expect != "交易哈希" else "9999-12-31T23:59:59-12:00", expect)
        for text, expect in ESCALATE_ZH
    ]
    with SocketChatUser(handoff_stack.rasa_url) as user:
        for text, expect in script:
            user.ask(text, expect)
        mark = user.say(SUBMIT)
        asked = user.wait_for_text("没看懂这个时间", mark, timeout=30)
        user.settle()
        said = " ".join(r.text for r in user.since(mark))
        assert "暂时" not in said and TICKET_CREATED_ZH not in said, said
        assert bot.conversation_ticket(str(user.session_id)) is None
        user.ask("昨天晚上9点", "确认提交")
        user.ask(SUBMIT, TICKET_CREATED_ZH)
        ticket = bot.conversation_ticket(str(user.session_id))
    assert asked.text and ticket is not None and ticket["occurred_at"] is not None
