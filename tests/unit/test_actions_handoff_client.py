"""Tests for actions.handoff_client against a real tiny HTTP server on 127.0.0.1.

The server answers from a script (status, JSON body, delay) per request and
records what it received, so the tests see the headers, bodies and timing the
client really sends.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from actions.handoff_client import (
    MAX_RETRY_AFTER_SECONDS,
    ClientSettings,
    HandoffCallFailed,
    HandoffClient,
    HandoffRejected,
    HandoffUnavailable,
    NoSuchTicket,
    segment,
)
from devtools.stack import free_port

TOKEN = "bot-token-for-tests"


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float


class ScriptedServer:
    """Answers each request with the next scripted reply (the last one repeats)."""

    def __init__(self) -> None:
        self.replies: list[Reply] = [Reply()]
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with server._lock:
                    server.seen.append(Seen(
                        self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                        json.loads(raw) if raw else None, time.monotonic(),
                    ))
                    reply = server.replies.pop(0) if len(server.replies) > 1 else server.replies[0]
                if reply.delay:
                    time.sleep(reply.delay)
                data = (
                    reply.body.encode() if isinstance(reply.body, str)
                    else json.dumps(reply.body).encode()
                )
                try:
                    self.send_response(reply.status)
                    self.send_header(
                        "Content-Type",
                        "text/plain" if isinstance(reply.body, str) else "application/json",
                    )
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout)

            do_GET = _handle
            do_POST = _handle
            do_PATCH = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    def script(self, *replies: Reply) -> None:
        self.replies = list(replies)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


def client_for(url: str, *, backoff: float = 0.01, timeout: float = 2.0) -> HandoffClient:
    return HandoffClient(ClientSettings(
        base_url=url, bot_token=TOKEN, timeout=timeout, retries=3, backoff=backoff,
    ))


TICKET = {"conversation_id": "conv-1", "title": "USDT 提币失败", "category": "assets"}


# --------------------------------------------------------------------------- success


def test_create_ticket_sends_token_key_and_payload(server):
    server.script(Reply(201, {"ref": "T-000001", "status": "open"}))
    answer = client_for(server.url).create_ticket(TICKET, "conv-1:msg-1")
    assert answer == {"ref": "T-000001", "status": "open"}
    [request] = server.seen
    assert (request.method, request.path) == ("POST", "/api/tickets")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["idempotency-key"] == "conv-1:msg-1"
    assert request.body == TICKET


def test_conversation_ticket(server):
    server.script(Reply(200, {"ref": "T-000002", "status": "assigned", "assignee": "Alice"}))
    answer = client_for(server.url).conversation_ticket("conv-9")
    assert answer["assignee"] == "Alice"
    assert [(s.method, s.path) for s in server.seen] == [
        ("GET", "/api/conversations/conv-9/ticket"),
    ]
    assert server.seen[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_relay_user_message_and_rating_go_by_conversation(server):
    server.script(Reply(201, {"ok": True}))
    client = client_for(server.url)
    client.relay_user_message("conv-3", "还在吗", "msg-5")
    client.rate("conv-3", 5)
    assert [(s.method, s.path, s.body) for s in server.seen] == [
        ("POST", "/api/conversations/conv-3/user-messages",
         {"text": "还在吗", "external_id": "msg-5"}),
        ("POST", "/api/conversations/conv-3/rating", {"score": 5}),
    ]
    assert {s.headers["authorization"] for s in server.seen} == {f"Bearer {TOKEN}"}


def test_agent_message_is_fetched_from_the_conversation(server):
    message = {"id": 42, "author": "agent", "author_name": "Alice", "text": "您好",
               "created_at": "2026-11-05T09:00:00Z", "ticket_ref": "T-000003"}
    server.script(Reply(200, message))
    assert client_for(server.url).agent_message("conv-3", 42) == message
    assert [(s.method, s.path) for s in server.seen] == [
        ("GET", "/api/conversations/conv-3/messages/42"),
    ]


def test_details_are_added_to_the_conversations_ticket(server):
    server.script(Reply(200, {"ref": "T-000005", "status": "open"}))
    details = {"amount": "500 USDT", "occurred_at_text": "昨天晚上9点"}
    answer = client_for(server.url).update_ticket("conv-4", details)
    assert answer["ref"] == "T-000005"
    [request] = server.seen
    assert (request.method, request.path, request.body) == (
        "PATCH", "/api/conversations/conv-4/ticket", details,
    )
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_details_without_an_open_ticket_are_a_404_without_retry(server):
    server.script(Reply(404, {"detail": "no open ticket", "error": "not_found"}))
    with pytest.raises(NoSuchTicket):
        client_for(server.url).update_ticket("conv-4", {"amount": "1 BTC"})
    assert len(server.seen) == 1


def test_a_bot_line_goes_to_the_conversations_transcript_with_its_id(server):
    server.script(Reply(201, {"id": 9, "author": "bot"}))
    client_for(server.url).add_bot_message("conv-5", "请不要发送助记词", "m-7:warning")
    [request] = server.seen
    assert (request.method, request.path, request.body) == (
        "POST", "/api/conversations/conv-5/bot-messages",
        {"text": "请不要发送助记词", "message_id": "m-7:warning"},
    )


def test_a_bot_line_is_retried_when_the_service_hiccups(server):
    server.script(Reply(503), Reply(201, {"id": 9}))
    client_for(server.url).add_bot_message("conv-5", "warning", "m-7:warning")
    assert [s.body["message_id"] for s in server.seen] == ["m-7:warning", "m-7:warning"]


HOSTILE_ID = "x/../../tickets/T-000001?"
QUOTED_ID = "x%2F..%2F..%2Ftickets%2FT-000001%3F"


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda c: c.conversation_ticket(HOSTILE_ID), f"/api/conversations/{QUOTED_ID}/ticket"),
        (lambda c: c.relay_user_message(HOSTILE_ID, "hi", "m1"),
         f"/api/conversations/{QUOTED_ID}/user-messages"),
        (lambda c: c.rate(HOSTILE_ID, 4), f"/api/conversations/{QUOTED_ID}/rating"),
        (lambda c: c.update_ticket(HOSTILE_ID, {"amount": "1 BTC"}),
         f"/api/conversations/{QUOTED_ID}/ticket"),
        (lambda c: c.add_bot_message(HOSTILE_ID, "hi", "m1"),
         f"/api/conversations/{QUOTED_ID}/bot-messages"),
        (lambda c: c.agent_message(HOSTILE_ID, "7/../../8?x=1#y"),
         f"/api/conversations/{QUOTED_ID}/messages/7%2F..%2F..%2F8%3Fx%3D1%23y"),
    ],
)
def test_every_id_in_a_url_is_one_quoted_segment(server, call, expected):
    server.script(Reply(200, {"ref": "T-000001"}))
    call(client_for(server.url))
    [request] = server.seen
    assert request.path == expected
    prefix = "/api/conversations/"
    assert request.path[len(prefix):].split("/")[0] == QUOTED_ID
    assert "?" not in request.path


def test_segment_quotes_everything_but_the_safe_alphabet():
    assert segment("u-0123abcd_XYZ") == "u-0123abcd_XYZ"
    assert segment("a b/c?d#e%f") == "a%20b%2Fc%3Fd%23e%25f"
    assert segment(17) == "17"


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("HANDOFF_URL", "http://handoff.test:8000/")
    monkeypatch.setenv("HANDOFF_BOT_TOKEN", "t0k3n")
    monkeypatch.setenv("HANDOFF_TIMEOUT", "1.5")
    settings = HandoffClient().settings
    assert (settings.base_url, settings.bot_token, settings.timeout) == (
        "http://handoff.test:8000", "t0k3n", 1.5,
    )


# --------------------------------------------------------------------------- retries


def test_503_is_retried_with_backoff_then_succeeds(server):
    server.script(Reply(503), Reply(503), Reply(201, {"ref": "T-000004"}))
    answer = client_for(server.url, backoff=0.05).create_ticket(TICKET, "conv-1:msg-2")
    assert answer == {"ref": "T-000004"}
    assert len(server.seen) == 3
    assert {s.headers["idempotency-key"] for s in server.seen} == {"conv-1:msg-2"}
    gaps = [b.at - a.at for a, b in zip(server.seen, server.seen[1:], strict=False)]
    assert gaps[0] >= 0.05 * 0.9
    assert gaps[1] >= 0.10 * 0.9  # the wait doubles


def test_service_failing_every_time_is_unavailable(server):
    server.script(Reply(500, {"detail": "boom"}))
    with pytest.raises(HandoffUnavailable):
        client_for(server.url).create_ticket(TICKET, "conv-1:msg-3")
    assert len(server.seen) == 3


def test_timeout_is_unavailable(server):
    server.script(Reply(200, {"ref": "late"}, delay=0.5))
    with pytest.raises(HandoffUnavailable):
        client_for(server.url, timeout=0.1).conversation_ticket("conv-1")


def test_connection_refused_is_unavailable():
    with pytest.raises(HandoffUnavailable):
        client_for(f"http://127.0.0.1:{free_port()}").create_ticket(TICKET, "conv-1:msg-4")


# --------------------------------------------------------------------------- refusals


def test_404_is_ticket_not_found_without_retry(server):
    server.script(Reply(404, {"detail": "no ticket"}))
    with pytest.raises(NoSuchTicket):
        client_for(server.url).conversation_ticket("conv-unknown")
    assert len(server.seen) == 1


def test_422_is_rejected_with_the_services_detail(server):
    server.script(Reply(422, {"detail": "title: must not be empty"}))
    with pytest.raises(HandoffRejected) as caught:
        client_for(server.url).create_ticket(TICKET, "conv-1:msg-5")
    assert (caught.value.status, caught.value.detail) == (422, "title: must not be empty")
    assert len(server.seen) == 1


def test_rejection_detail_from_an_error_field_or_plain_text(server):
    server.script(Reply(409, {"error": "already rated"}), Reply(400, "bad request body"))
    client = client_for(server.url)
    with pytest.raises(HandoffRejected) as first:
        client.rate("T-000001", 5)
    with pytest.raises(HandoffRejected) as second:
        client.rate("T-000001", 5)
    assert (first.value.status, first.value.detail) == (409, "already rated")
    assert (second.value.status, second.value.detail) == (400, "bad request body")


def test_404_is_a_refusal_carrying_the_services_code(server):
    server.script(Reply(404, {"error": "not_found", "detail": "no such message", "field": None}))
    with pytest.raises(HandoffRejected) as caught:
        client_for(server.url).agent_message("conv-1", 99)
    assert isinstance(caught.value, NoSuchTicket)
    assert (caught.value.status, caught.value.error_code) == (404, "not_found")


def test_422_carries_status_error_code_and_field(server):
    server.script(Reply(422, {
        "error": "validation_failed", "detail": "occurred_at: out of range", "field": "occurred_at",
    }))
    with pytest.raises(HandoffRejected) as caught:
        client_for(server.url).create_ticket(TICKET, "conv-1:msg-6")
    error = caught.value
    assert (error.status, error.error_code, error.field) == (
        422, "validation_failed", "occurred_at",
    )
    assert error.detail == "occurred_at: out of range"
    assert len(server.seen) == 1


def test_the_refusals_text_stays_out_of_its_message(server):
    # The detail may quote what was sent (the user's words): str() is what gets logged.
    server.script(Reply(409, {"error": "ticket_not_open", "detail": "我的助记词是 …"}))
    with pytest.raises(HandoffRejected) as caught:
        client_for(server.url).relay_user_message("conv-1", "我的助记词是 …", "m1")
    assert str(caught.value) == "409 ticket_not_open"
    assert "助记词" not in str(caught.value)


def test_429_is_unavailable_at_once_with_the_retry_after_hint(server):
    server.script(Reply(
        429, {"error": "rate_limited", "detail": "too many tickets", "retry_after": 60},
        headers={"Retry-After": "120"},
    ))
    with pytest.raises(HandoffUnavailable) as caught:
        client_for(server.url).create_ticket(TICKET, "conv-1:msg-7")
    assert (caught.value.status, caught.value.retry_after) == (429, 120.0)
    assert len(server.seen) == 1  # waiting is the caller's choice, not a sleep in here


def test_429_without_the_header_uses_the_bodys_hint(server):
    server.script(Reply(429, {"error": "rate_limited", "retry_after": 30}))
    with pytest.raises(HandoffUnavailable) as caught:
        client_for(server.url).rate("conv-1", 5)
    assert caught.value.retry_after == 30.0


def test_retry_after_as_an_http_date_and_a_silly_value(server):
    server.script(
        Reply(503, {}, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        Reply(503, {}, headers={"Retry-After": "99999999"}),
    )
    client = HandoffClient(ClientSettings(base_url=server.url, bot_token=TOKEN, retries=1))
    with pytest.raises(HandoffUnavailable) as past:
        client.conversation_ticket("conv-1")
    with pytest.raises(HandoffUnavailable) as huge:
        client.conversation_ticket("conv-1")
    assert (past.value.status, past.value.retry_after) == (503, 0.0)
    assert huge.value.retry_after == MAX_RETRY_AFTER_SECONDS


def test_5xx_after_the_last_retry_keeps_its_status(server):
    server.script(Reply(502, "bad gateway"))
    with pytest.raises(HandoffUnavailable) as caught:
        client_for(server.url).conversation_ticket("conv-1")
    assert (caught.value.status, caught.value.retry_after) == (502, None)
    assert len(server.seen) == 3


def test_no_answer_at_all_has_no_status():
    with pytest.raises(HandoffUnavailable) as caught:
        client_for(f"http://127.0.0.1:{free_port()}").conversation_ticket("conv-1")
    assert caught.value.status is None


def test_a_body_that_is_not_json_is_an_error_not_a_crash(server):
    server.script(Reply(200, "<html>proxy login</html>"))
    with pytest.raises(HandoffCallFailed) as caught:
        client_for(server.url).conversation_ticket("conv-1")
    assert not isinstance(caught.value, (HandoffRejected, HandoffUnavailable))
