"""Stable ids for what the widget shows: live emits and history give each message one id."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa.shared.core.events import BotUttered, UserUttered

from addons.channels.history import (
    StampedSocketIOOutput,
    bot_message_id,
    page_after,
    rendered_messages,
)
from addons.channels.sessions import SessionIssuer


class RecordingSio:
    def __init__(self) -> None:
        self.emitted: list[dict[str, Any]] = []

    async def emit(self, event: str, data: Any = None, room: Any = None, **_: Any) -> None:
        self.emitted.append(data)


def _events() -> list[Any]:
    return [
        UserUttered("my withdrawal is missing", message_id="a" * 32, timestamp=10.5),
        BotUttered(
            "First paragraph.\n\nSecond paragraph.",
            data={"buttons": [{"title": "Yes", "payload": "/affirm"}]},
            timestamp=11.25,
        ),
        UserUttered("EXTERNAL: agent_message", timestamp=12.0),
        BotUttered(
            None,
            data={"custom": {"data": {"type": "agent", "agent_name": "Alice", "text": "Hi",
                                      "message_id": 7}}},
            timestamp=13.125,
        ),
        # The same user message given back to the bot after a handoff ended.
        UserUttered("my withdrawal is missing", message_id="a" * 32, timestamp=14.0),
    ]


def test_live_emits_and_history_give_the_same_ids() -> None:
    sio = RecordingSio()
    live = StampedSocketIOOutput(sio, "bot_uttered")
    for event in _events():
        if isinstance(event, BotUttered):
            asyncio.run(live.send_response("c1", event.message()))
    history = asyncio.run(rendered_messages("c1", _events()))
    bot_parts = [m for m in history if m["sender"] == "bot"]
    assert [m["id"] for m in sio.emitted] == [m["id"] for m in bot_parts]
    assert [m["id"] for m in bot_parts] == [
        bot_message_id(11.25, 0), bot_message_id(11.25, 1), bot_message_id(13.125, 0),
    ]
    assert bot_parts[1]["quick_replies"][0]["payload"] == "/affirm"
    assert bot_parts[2]["type"] == "agent" and bot_parts[2]["message_id"] == 7
    # The user's message once (its copy skipped), service notifications never.
    users = [m for m in history if m["sender"] == "user"]
    assert [(m["id"], m["text"]) for m in users] == [("a" * 32, "my withdrawal is missing")]


def test_pages_after_an_id() -> None:
    messages = [{"id": str(i)} for i in range(10)]
    assert [m["id"] for m in page_after(messages, "3", 4).messages] == ["4", "5", "6", "7"]
    assert page_after(messages, "3", 4).more is True
    assert page_after(messages, "7", 4).more is False
    assert page_after(messages, "9", 4).messages == []
    # Unknown or missing: the latest ones.
    assert [m["id"] for m in page_after(messages, "nope", 3).messages] == ["7", "8", "9"]
    assert [m["id"] for m in page_after(messages, None, 2).messages] == ["8", "9"]
    assert len(page_after(messages, None, 10_000).messages) == 10


def test_a_new_chat_remembers_the_one_left_for_it() -> None:
    issuer = SessionIssuer("s" * 32)
    first = issuer.new_session()
    second = issuer.new_session(previous=first)
    third = issuer.new_session(previous=issuer.verify(second.token, second.conversation_id))
    assert issuer.verify(third.token).previous == (second.conversation_id, first.conversation_id)
    chain = first
    for _ in range(6):
        chain = issuer.new_session(previous=chain)
    assert len(issuer.verify(chain.token).previous) == 3
