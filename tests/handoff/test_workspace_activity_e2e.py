"""The assignee's typing and "seen", from the console's call through the real handoff service and
the real Rasa channel to a real socket.io client of the conversation (and to no other)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import requests

from devtools.chat_client import SocketChatUser
from devtools.stack import Stack
from tests.handoff.helpers import ticket_payload

pytestmark = pytest.mark.integration


@pytest.fixture
def chats(handoff_stack: Stack) -> Iterator[tuple[SocketChatUser, SocketChatUser]]:
    """The user's chat and a stranger's."""
    mine = SocketChatUser(handoff_stack.rasa_url).connect()
    other = SocketChatUser(handoff_stack.rasa_url).connect()
    try:
        yield mine, other
    finally:
        mine.close()
        other.close()


def test_typing_and_seen_reach_the_users_chat(
    handoff_stack: Stack, chats: tuple[SocketChatUser, SocketChatUser]
) -> None:
    mine, other = chats
    base = handoff_stack.handoff_url
    bot = {"Authorization": f"Bearer {handoff_stack.handoff_bot_token}"}
    name = f"Ana{secrets.token_hex(2)}"
    agent = {"Authorization": f"Bearer {handoff_stack.add_agent(name)}"}
    cid = str(mine.session_id)
    created = requests.post(
        f"{base}/api/tickets", json=ticket_payload(conversation_id=cid), headers=bot, timeout=10
    )
    assert created.status_code == 201, created.text
    ref = created.json()["ref"]
    assert requests.post(f"{base}/api/tickets/{ref}/claim", headers=agent, timeout=10).ok

    typed = requests.post(f"{base}/api/tickets/{ref}/typing", headers=agent, timeout=10)
    assert typed.status_code == 204
    (typing,) = mine.wait_for_activity(1)
    assert typing["kind"] == "typing" and typing["agent"] == name

    relayed = requests.post(
        f"{base}/api/conversations/{cid}/user-messages",
        json={"text": "are you there?"},
        headers=bot,
        timeout=10,
    )
    assert relayed.status_code == 201, relayed.text
    detail = requests.get(f"{base}/api/tickets/{ref}", headers=agent, timeout=10).json()
    seen = mine.wait_for_activity(2)[1]
    assert seen["kind"] == "seen"
    newest = [m for m in detail["messages"] if m["author"] == "user"][-1]
    assert seen["seen_until"] == newest["created_at"]
    assert "are you there" not in str(seen)
    # The stranger's chat heard nothing.
    assert other.activity == []
