"""The agent's typing and "seen" through the real Rasa server to real socket.io clients.

The handoff service posts ``/webhooks/socketio/agent_activity`` with Rasa's
auth token; the channel emits ``agent_activity`` to that conversation's room
only. Also the widget's ``set_language`` (the host app's language), which sets
the conversation's ``language`` slot.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import socketio

from devtools.stack import Stack

pytestmark = pytest.mark.integration

QUIET_S = 0.7  # how long to watch for an event that must not arrive


@pytest.fixture(scope="module")
def live(handoff_stack: Stack) -> Stack:
    """Rasa, the action server and the handoff service (shared with the live-handoff tests)."""
    return handoff_stack


class Listener:
    """A conversation's socket (as the widget's), recording ``agent_activity`` events."""

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
            self.events.append(data)
            self._changed.notify_all()

    @property
    def conversation_id(self) -> str:
        return self.session["session_id"]

    def wait_events(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.events) >= count, timeout=timeout), (
                f"expected {count} agent_activity events, got {self.events}"
            )
            return list(self.events)

    def call(self, event: str, data: dict[str, Any]) -> Any:
        return self.client.call(event, {**self.session, **data}, timeout=15)

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def listeners(live: Stack) -> Iterator[tuple[Listener, Listener]]:
    first, second = Listener(live.rasa_url), Listener(live.rasa_url)
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
    live: Stack, listeners: tuple[Listener, Listener]
) -> None:
    user, other = listeners
    sent_at = time.time()
    typing = _post(live, {"conversation_id": user.conversation_id, "kind": "typing",
                          "agent": "Ana"})
    assert typing.status_code == 204, typing.text
    [event] = user.wait_events(1)
    assert event["kind"] == "typing" and event["agent"] == "Ana"
    assert "conversation_id" not in event
    assert abs(event["ts"] - sent_at) < 5

    seen = _post(live, {"conversation_id": user.conversation_id, "kind": "seen",
                        "seen_until": "2026-12-04T09:30:00.123456"})
    assert seen.status_code == 204, seen.text
    events = user.wait_events(2)
    assert events[1]["kind"] == "seen"
    assert events[1]["seen_until"] == "2026-12-04T09:30:00.123456"

    time.sleep(QUIET_S)
    assert other.events == [], "another conversation's socket got the activity"
    assert len(user.events) == 2


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
    live: Stack, listeners: tuple[Listener, Listener], token: str | None,
    body: dict[str, Any], status: int,
) -> None:
    user, _other = listeners
    answer = _post(live, {"conversation_id": user.conversation_id, **body}, token)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]
    time.sleep(QUIET_S)
    assert user.events == []


def test_set_language_sets_the_conversations_language(
    live: Stack, listeners: tuple[Listener, Listener]
) -> None:
    user, _other = listeners

    def slot() -> Any:
        tracker = requests.get(
            f"{live.rasa_url}/conversations/{user.conversation_id}/tracker",
            params={"token": live.auth_token}, timeout=10,
        ).json()
        return tracker["slots"].get("language")

    assert user.call("set_language", {"language": "en"}) == {"ok": True}
    assert slot() == "en"
    assert user.call("set_language", {"language": "zh"}) == {"ok": True}
    assert slot() == "zh"
    assert user.call("set_language", {"language": "fr"})["ok"] is False
    refused = user.client.call(
        "set_language", {"session_id": user.conversation_id, "session_token": "forged",
                         "language": "en"}, timeout=15,
    )
    assert refused == {"ok": False, "error": "invalid_session"}
    assert slot() == "zh"
