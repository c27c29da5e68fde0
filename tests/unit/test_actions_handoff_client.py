"""Tests for actions.handoff_client against a real tiny HTTP server on 127.0.0.1.

The server answers from a script (status, JSON body, delay) per request and
records what it received, so the tests see the headers, bodies and timing the
client really sends.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from actions.handoff_client import (
    ClientSettings,
    HandoffClient,
    HandoffRejected,
    HandoffUnavailable,
    TicketNotFound,
)

TOKEN = "bot-token-for-tests"


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)
    delay: float = 0.0


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
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout)

            do_GET = _handle
            do_POST = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

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


def free_port() -> int:
    """A port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def test_relay_user_message_and_rating(server):
    server.script(Reply(200, {"ok": True}))
    client = client_for(server.url)
    client.relay_user_message("T-000003", "还在吗", "msg-5")
    client.rate("T-000003", 5)
    assert [(s.path, s.body) for s in server.seen] == [
        ("/api/tickets/T-000003/user-messages", {"text": "还在吗", "external_id": "msg-5"}),
        ("/api/tickets/T-000003/rating", {"score": 5}),
    ]


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
    with pytest.raises(TicketNotFound):
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
