"""The Rasa notifier against a tiny real HTTP server standing in for Rasa."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from handoff_service.app import create_app
from handoff_service.config import ConfigError, Settings
from handoff_service.db import upgrade
from handoff_service.events import AGENT_MESSAGE
from handoff_service.notifier import Notification, NotificationFailed, RasaNotifier
from handoff_service.services import HandoffService
from tests.handoff.helpers import live_server, ticket_payload


class FakeRasa:
    """Answers ``trigger_intent`` calls and remembers them."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.delay = 0.0
        self.received = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                url = urlsplit(self.path)
                fake.requests.append({"path": url.path, "query": parse_qs(url.query), "json": body})
                time.sleep(fake.delay)
                payload = b'{"tracker": {}, "messages": []}'
                try:
                    self.send_response(fake.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout test)
                fake.received.set()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def wait(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.requests


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    """A fake Rasa server on a free port."""
    fake = FakeRasa()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def _closed_port_url() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}"


NOTE = Notification(
    ticket_id=1,
    conversation_id="web/ä 1?x=#",
    intent=AGENT_MESSAGE,
    entities={"message_id": 7},
)


def test_it_calls_trigger_intent_with_the_token(rasa: FakeRasa) -> None:
    RasaNotifier(rasa.url, "rasa-secret").notify(NOTE)
    (call,) = rasa.requests
    # Every character that could change the route is quoted, "/" included.
    assert call["path"] == "/conversations/web%2F%C3%A4%201%3Fx%3D%23/trigger_intent"
    assert call["query"] == {"output_channel": ["socketio"], "token": ["rasa-secret"]}
    assert call["json"] == {"name": "agent_message", "entities": {"message_id": 7}}


def test_the_output_channel_comes_from_the_settings(rasa: FakeRasa) -> None:
    RasaNotifier(rasa.url, output_channel="rest").notify(NOTE)
    assert rasa.requests[0]["query"]["output_channel"] == ["rest"]
    assert Settings.from_env({}).rasa_output_channel == "socketio"
    assert Settings.from_env({"RASA_OUTPUT_CHANNEL": "rest"}).rasa_output_channel == "rest"


@pytest.mark.parametrize("channel", ["latest", "", "socket io", "a&b=c", "Socketio"])
def test_latest_or_odd_output_channels_are_refused(channel: str) -> None:
    with pytest.raises(ConfigError):
        RasaNotifier("http://127.0.0.1:9", output_channel=channel)
    if channel:
        with pytest.raises(ConfigError):
            Settings.from_env({"RASA_OUTPUT_CHANNEL": channel})


def test_no_token_no_token_parameter(rasa: FakeRasa) -> None:
    RasaNotifier(rasa.url).notify(NOTE)
    assert "token" not in rasa.requests[0]["query"]


def test_an_error_status_is_a_failure(rasa: FakeRasa) -> None:
    rasa.status = 500
    with pytest.raises(NotificationFailed, match="HTTP 500"):
        RasaNotifier(rasa.url).notify(NOTE)


def test_an_unreachable_rasa_is_a_failure() -> None:
    with pytest.raises(NotificationFailed, match="cannot reach Rasa"):
        RasaNotifier(_closed_port_url()).notify(NOTE)


def test_a_slow_rasa_is_a_failure_after_the_timeout(rasa: FakeRasa) -> None:
    rasa.delay = 1.0
    started = time.monotonic()
    with pytest.raises(NotificationFailed, match=r"within 0\.2 s"):
        RasaNotifier(rasa.url, timeout=0.2).notify(NOTE)
    assert time.monotonic() - started < 0.9


def _service_with_agent(url: str) -> tuple[Any, str]:
    app = create_app(Settings(database_url=url, bot_token="bot", rasa_url="unused"))
    upgrade(app.ctx.engine)
    with app.ctx.sessions() as session:
        token = HandoffService(session).add_agent("alice")[1]
    return app, token


def _reply_flow(base: str, agent_token: str) -> tuple[str, requests.Response]:
    bot = {"Authorization": "Bearer bot"}
    agent = {"Authorization": f"Bearer {agent_token}"}
    ref = requests.post(
        f"{base}/api/tickets", json=ticket_payload(conversation_id="s-1"), headers=bot, timeout=10
    ).json()["ref"]
    requests.post(f"{base}/api/tickets/{ref}/claim", headers=agent, timeout=10)
    reply = requests.post(
        f"{base}/api/tickets/{ref}/messages", json={"text": "On it."}, headers=agent, timeout=10
    )
    requests.post(f"{base}/api/tickets/{ref}/resolve", headers=agent, timeout=10)
    return ref, reply


def test_the_service_tells_rasa_about_agent_actions(rasa: FakeRasa, sqlite_file_url: str) -> None:
    app = create_app(
        Settings(database_url=sqlite_file_url, bot_token="bot", rasa_url=rasa.url),
        None,
    )
    upgrade(app.ctx.engine)
    with app.ctx.sessions() as session:
        token = HandoffService(session).add_agent("alice")[1]
    with live_server(app) as server:
        _ref, reply = _reply_flow(server.url, token)
        assert reply.status_code == 201
        calls = rasa.wait(3)
    assert [c["json"]["name"] for c in calls] == [
        "agent_joined",
        "agent_message",
        "ticket_resolved",
    ]
    assert {c["path"] for c in calls} == {"/conversations/s-1/trigger_intent"}
    assert {c["query"]["output_channel"][0] for c in calls} == {"socketio"}
    # No agent name, no text, no reference: the bot asks the service for those.
    # The outbox row id lets the bot skip a notification it has already shown.
    entities = [c["json"]["entities"] for c in calls]
    ids = [e.pop("notification_id") for e in entities]
    assert entities == [{}, {"message_id": reply.json()["id"]}, {}]
    assert ids == sorted(set(ids)) and all(isinstance(i, int) for i in ids)
    assert "On it." not in json.dumps(calls)


def _app_telling(rasa: FakeRasa, database_url: str) -> tuple[Any, str]:
    """The service on ``database_url`` notifying ``rasa``, and agent alice's token."""
    app = create_app(Settings(database_url=database_url, bot_token="bot", rasa_url=rasa.url))
    upgrade(app.ctx.engine)
    with app.ctx.sessions() as session:
        token = HandoffService(session).add_agent("alice")[1]
    return app, token


def test_rasa_down_then_back_gets_every_notification_once_in_order(
    rasa: FakeRasa, sqlite_file_url: str
) -> None:
    rasa.status = 503
    app, token = _app_telling(rasa, sqlite_file_url)
    with live_server(app) as server:
        ref, reply = _reply_flow(server.url, token)
        assert reply.status_code == 201
        # Only the first is tried while Rasa fails: the others wait behind it.
        failed = rasa.wait(2)
        assert {c["json"]["name"] for c in failed} == {"agent_joined"}
        tried = len(rasa.requests)
        rasa.status = 200
        deadline = time.monotonic() + 10
        while len(rasa.requests) < tried + 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    # The failed tries may be one or more; after Rasa came back, each exactly once.
    accepted = rasa.requests[-3:]
    assert [c["json"]["name"] for c in accepted] == [
        "agent_joined", "agent_message", "ticket_resolved",
    ]
    assert all(c["json"]["name"] == "agent_joined" for c in rasa.requests[:-3])
    with app.ctx.sessions() as session:
        trail = HandoffService(session).audit_trail(ref)
    assert [a for _, a, _ in trail if a == "notify_failed"] == []


def test_a_request_rasa_refuses_for_good_is_given_up_and_audited(
    rasa: FakeRasa, sqlite_file_url: str
) -> None:
    rasa.status = 400
    app, token = _app_telling(rasa, sqlite_file_url)
    with live_server(app) as server:
        ref, reply = _reply_flow(server.url, token)
        assert reply.status_code == 201
        rasa.wait(3)
        time.sleep(0.3)
    # Given up one by one, in order, each tried once: a refusal is not retried.
    assert [c["json"]["name"] for c in rasa.requests] == [
        "agent_joined", "agent_message", "ticket_resolved",
    ]
    with app.ctx.sessions() as session:
        trail = HandoffService(session).audit_trail(ref)
    failed = [d["intent"] for _, action, d in trail if action == "notify_failed"]
    assert failed == ["agent_joined", "agent_message", "ticket_resolved"]
