"""The agent's typing and "seen" through the real Rasa server to real socket.io clients.

The handoff service posts ``/webhooks/socketio/agent_activity`` with Rasa's
auth token; the channel emits ``agent_activity`` to that conversation's room
only. Also the widget's ``set_language`` (the host app's language), which sets
the conversation's ``language`` slot.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devtools.chat_client import SocketChatUser
from devtools.stack import Stack

pytestmark = pytest.mark.integration

QUIET_S = 0.7  # how long to watch for an event that must not arrive


@pytest.fixture(scope="module")
def live(handoff_stack: Stack) -> Stack:
    """Rasa, the action server and the handoff service (shared with the live-handoff tests)."""
    return handoff_stack


@pytest.fixture
def listeners(live: Stack) -> Iterator[tuple[SocketChatUser, SocketChatUser]]:
    first = SocketChatUser(live.rasa_url).connect()
    second = SocketChatUser(live.rasa_url).connect()
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def _post(live: Stack, body: Any, token: str | None = "valid") -> requests.Response:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {live.auth_token if token == 'valid' else token}"
    return requests.post(
        f"{live.rasa_url}/webhooks/socketio/agent_activity", json=body, headers=headers,
        timeout=10,
    )


def test_activity_reaches_its_conversation_only(
    live: Stack, listeners: tuple[SocketChatUser, SocketChatUser]
) -> None:
    user, other = listeners
    sent_at = time.time()
    typing = _post(live, {"conversation_id": user.session_id, "kind": "typing",
                          "agent": "Ana"})
    assert typing.status_code == 204, typing.text
    [event] = user.wait_for_activity(1)
    assert event["kind"] == "typing" and event["agent"] == "Ana"
    assert "conversation_id" not in event
    assert abs(event["ts"] - sent_at) < 5

    seen = _post(live, {"conversation_id": user.session_id, "kind": "seen",
                        "seen_until": "2026-12-04T09:30:00.123456"})
    assert seen.status_code == 204, seen.text
    events = user.wait_for_activity(2)
    assert events[1]["kind"] == "seen"
    assert events[1]["seen_until"] == "2026-12-04T09:30:00.123456"

    time.sleep(QUIET_S)
    assert other.activity == [], "another conversation's socket got the activity"
    assert len(user.activity) == 2


@pytest.mark.parametrize(
    ("token", "body", "status"),
    [
        (None, {"kind": "typing", "agent": "Eve"}, 401),
        ("not-the-token", {"kind": "typing", "agent": "Eve"}, 401),
        ("valid", {"kind": "dance", "agent": "Eve"}, 400),
        ("valid", {"kind": "seen", "seen_until": "soon"}, 400),
        ("valid", {"kind": "typing", "agent": "E" * 65}, 400),
        ("valid", {"kind": "typing", "agent": "Eve", "padding": "x" * 5000}, 400),
    ],
)
def test_refused_activity_reaches_nobody(
    live: Stack, listeners: tuple[SocketChatUser, SocketChatUser], token: str | None,
    body: dict[str, Any], status: int,
) -> None:
    user, _other = listeners
    answer = _post(live, {"conversation_id": user.session_id, **body}, token)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]
    time.sleep(QUIET_S)
    assert user.activity == []


def test_set_language_sets_the_conversations_language(
    live: Stack, listeners: tuple[SocketChatUser, SocketChatUser]
) -> None:
    user, _other = listeners

    def slot() -> Any:
        tracker = requests.get(
            f"{live.rasa_url}/conversations/{user.session_id}/tracker",
            params={"token": live.auth_token}, timeout=10,
        ).json()
        return tracker["slots"].get("language")

    assert user.call("set_language", {"language": "en"}) == {"ok": True}
    assert slot() == "en"
    assert user.call("set_language", {"language": "zh"}) == {"ok": True}
    assert slot() == "zh"
    assert user.call("set_language", {"language": "fr"})["ok"] is False
    refused = user.call(
        "set_language", {"session_id": user.session_id, "session_token": "forged",
                         "language": "en"}, with_session=False,
    )
    assert refused == {"ok": False, "error": "invalid_session"}
    assert slot() == "zh"
