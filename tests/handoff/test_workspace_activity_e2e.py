"""The assignee's typing and "seen", from the console's call through the real handoff service and
the real Rasa channel to a real socket.io client of the conversation (and to no other)."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import socketio

from devtools.stack import Stack
from tests.handoff.helpers import ticket_payload

pytestmark = pytest.mark.integration


class _Chat:
    """A conversation's socket, as the widget holds it, recording ``agent_activity``."""

    def __init__(self, rasa_url: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.session: dict[str, str] = {}
        self._changed = threading.Condition()
        quiet = logging.getLogger(f"{__name__}.engineio")
        quiet.setLevel(logging.CRITICAL)
        self.client = socketio.Client(reconnection=False, engineio_logger=quiet)
        self.client.on("session_confirm", self._confirmed)
        self.client.on("agent_activity", self._activity)
        self.client.connect(rasa_url, transports=["polling"], socketio_path="/socket.io")
        self.client.emit("session_request", {})
        with self._changed:
            assert self._changed.wait_for(lambda: bool(self.session), timeout=15)

    def _confirmed(self, data: Any) -> None:
        with self._changed:
            self.session = dict(data)
            self._changed.notify_all()

    def _activity(self, data: Any) -> None:
        with self._changed:
            self.events.append(dict(data))
            self._changed.notify_all()

    @property
    def conversation_id(self) -> str:
        return self.session["session_id"]

    def wait(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.events) >= count, timeout=timeout), (
                f"expected {count} agent_activity events, got {self.events}"
            )
            return list(self.events)

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def chats(handoff_stack: Stack) -> Iterator[tuple[_Chat, _Chat]]:
    """The user's chat and a stranger's."""
    mine, other = _Chat(handoff_stack.rasa_url), _Chat(handoff_stack.rasa_url)
    try:
        yield mine, other
    finally:
        mine.close()
        other.close()


def test_typing_and_seen_reach_the_users_chat(
    handoff_stack: Stack, chats: tuple[_Chat, _Chat]
) -> None:
    mine, other = chats
    base = handoff_stack.handoff_url
    bot = {"Authorization": f"Bearer {handoff_stack.handoff_bot_token}"}
    name = f"Ana{secrets.token_hex(2)}"
    agent = {"Authorization": f"Bearer {handoff_stack.add_agent(name)}"}
    cid = mine.conversation_id
    created = requests.post(
        f"{base}/api/tickets", json=ticket_payload(conversation_id=cid), headers=bot, timeout=10
    )
    assert created.status_code == 201, created.text
    ref = created.json()["ref"]
    assert requests.post(f"{base}/api/tickets/{ref}/claim", headers=agent, timeout=10).ok

    typed = requests.post(f"{base}/api/tickets/{ref}/typing", headers=agent, timeout=10)
    assert typed.status_code == 204
    (typing,) = mine.wait(1)
    assert typing["kind"] == "typing" and typing["agent"] == name

    relayed = requests.post(
        f"{base}/api/conversations/{cid}/user-messages",
        json={"text": "are you there?"},
        headers=bot,
        timeout=10,
    )
    assert relayed.status_code == 201, relayed.text
    detail = requests.get(f"{base}/api/tickets/{ref}", headers=agent, timeout=10).json()
    seen = mine.wait(2)[1]
    assert seen["kind"] == "seen"
    newest = [m for m in detail["messages"] if m["author"] == "user"][-1]
    assert seen["seen_until"] == newest["created_at"]
    assert "are you there" not in str(seen)
    # The stranger's chat heard nothing.
    assert other.events == []
