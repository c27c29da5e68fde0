"""The channel's ``POST /webhooks/socketio/agent_activity``: who may call it, what it relays."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest

from addons.channels.agent_activity import (
    EVENT,
    MAX_AGENT_CHARS,
    MAX_BODY_BYTES,
    add_agent_activity_route,
)

TOKEN = "rasa-auth-token-for-tests"
NAMESPACE = None


class FakeBlueprint:
    """Collects the routes the module adds."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[..., Awaitable[Any]]] = {}

    def route(self, path: str, methods: list[str]) -> Callable[[Any], Any]:
        assert methods == ["POST"]

        def register(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            self.routes[path] = handler
            return handler

        return register


class FakeServer:
    """The socket.io server: records every emit (or fails when told to)."""

    def __init__(self, failing: bool = False) -> None:
        self.emitted: list[tuple[str, dict[str, Any], str, Any]] = []
        self.failing = failing

    async def emit(self, event: str, data: dict[str, Any], room: str, namespace: Any) -> None:
        if self.failing:
            raise ConnectionError("redis is down")
        self.emitted.append((event, data, room, namespace))


@pytest.fixture
def sio() -> FakeServer:
    return FakeServer()


@pytest.fixture
def post(sio: FakeServer, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Call the route as the handoff service would (the right token unless told otherwise)."""
    monkeypatch.setenv("RASA_AUTH_TOKEN", TOKEN)
    webhook = FakeBlueprint()
    add_agent_activity_route(webhook, sio, NAMESPACE)  # type: ignore[arg-type]
    handler = webhook.routes["/agent_activity"]

    def call(body: Any, authorization: str | None = f"Bearer {TOKEN}") -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"authorization": authorization} if authorization is not None else {}
        request = SimpleNamespace(headers=headers, body=raw)
        return asyncio.run(handler(request))

    return call


TYPING = {"conversation_id": "c-123", "kind": "typing", "agent": "Ana"}
SEEN = {"conversation_id": "c-123", "kind": "seen", "seen_until": "2026-12-04T09:30:00+00:00"}


def _error(resp: Any) -> str:
    return json.loads(resp.body)["error"]


def test_typing_is_emitted_to_the_conversations_room(post: Any, sio: FakeServer) -> None:
    resp = post(TYPING)
    assert resp.status == 204
    [(event, data, room, namespace)] = sio.emitted
    assert (event, room, namespace) == (EVENT, "c-123", NAMESPACE)
    assert data["kind"] == "typing" and data["agent"] == "Ana"
    assert "conversation_id" not in data
    assert isinstance(data["ts"], float)


@pytest.mark.parametrize(
    "seen_until", ["2026-12-04T09:30:00+00:00", "2026-12-04T09:30:00.123456Z", "2026-12-04T09:30"]
)
def test_seen_carries_its_time(post: Any, sio: FakeServer, seen_until: str) -> None:
    resp = post({**SEEN, "seen_until": seen_until})
    assert resp.status == 204
    assert sio.emitted[0][1]["seen_until"] == seen_until
    assert sio.emitted[0][1]["kind"] == "seen"


def test_someone_elses_conversation_is_fine_only_the_service_has_the_token(
    post: Any, sio: FakeServer
) -> None:
    assert post({**TYPING, "conversation_id": "u-" + "a" * 32}).status == 204
    assert sio.emitted[0][2] == "u-" + "a" * 32


def test_no_token_configured_is_forbidden(
    post: Any, sio: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RASA_AUTH_TOKEN")
    resp = post(TYPING)
    assert resp.status == 403
    monkeypatch.setenv("RASA_AUTH_TOKEN", "")
    assert post(TYPING, authorization="Bearer ").status == 403
    assert sio.emitted == []


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}",
     "Bearer wrong", TOKEN, f"Token {TOKEN}"],
)
def test_missing_or_wrong_token_is_unauthorized(
    post: Any, sio: FakeServer, authorization: str | None
) -> None:
    resp = post(TYPING, authorization=authorization)
    assert resp.status == 401
    assert _error(resp) == "unauthorized"
    assert sio.emitted == []


def test_lower_case_scheme_is_accepted(post: Any) -> None:
    assert post(TYPING, authorization=f"bearer {TOKEN}").status == 204


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b"[" * 1020 + b"]" * 1020,
        b'"typing"',
        {},
        {"kind": "typing"},
        {**TYPING, "conversation_id": ""},
        {**TYPING, "conversation_id": 42},
        {**TYPING, "conversation_id": "c" * 256},
        {**TYPING, "conversation_id": "../../other room"},
        {**TYPING, "kind": "deleted"},
        {**TYPING, "kind": "bot_uttered"},
        {**TYPING, "kind": ["typing"]},
        {**TYPING, "kind": None},
        {**TYPING, "agent": "A" * (MAX_AGENT_CHARS + 1)},
        {**TYPING, "agent": 7},
        {**TYPING, "agent": "   "},
        {**SEEN, "seen_until": "yesterday"},
        {**SEEN, "seen_until": None},
        {**SEEN, "seen_until": 1733300000},
        {**SEEN, "seen_until": "2026-13-40T99:00:00"},
        {key: value for key, value in SEEN.items() if key != "seen_until"},
    ],
)
def test_bad_input_is_refused_with_400(post: Any, sio: FakeServer, body: Any) -> None:
    resp = post(body)
    assert resp.status == 400
    assert _error(resp) == "invalid_activity"
    assert json.loads(resp.body)["message"]
    assert sio.emitted == []


def test_oversized_body_is_refused(post: Any, sio: FakeServer) -> None:
    body = {**TYPING, "padding": "x" * MAX_BODY_BYTES}
    resp = post(body)
    assert resp.status == 400
    assert sio.emitted == []


def test_extra_fields_are_not_relayed(post: Any, sio: FakeServer) -> None:
    assert post({**TYPING, "text": "the agent's draft", "html": "<b>x</b>"}).status == 204
    assert set(sio.emitted[0][1]) == {"kind", "agent", "ts"}


def test_a_failing_manager_is_a_503_not_a_500(
    post: Any, sio: FakeServer
) -> None:
    sio.failing = True
    resp = post(TYPING)
    assert resp.status == 503
    assert _error(resp) == "unavailable"
