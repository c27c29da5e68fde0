"""What the chat hears of the assignee (typing, seen), the overview for admins, the configuration
and the public queue estimate; the relay to the Rasa channel against a real HTTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from handoff_service.activity import ACTIVITY_PATH, RasaActivityRelay, typing_activity
from handoff_service.app import create_app
from handoff_service.config import Settings
from handoff_service.db import upgrade
from handoff_service.models import Message
from handoff_service.services import HandoffService
from tests.handoff.helpers import (
    FakeActivity,
    FakeClock,
    FakeNotifier,
    Workspace,
    live_server,
    start_workspace,
    ticket_payload,
)


def _claimed(workspace: Workspace, agent: str = "alice", **overrides: Any) -> str:
    ref = workspace.new_ticket(**overrides)["ref"]
    assert workspace.agent(agent, "POST", f"/api/tickets/{ref}/claim").status_code == 200
    return str(ref)


def _relay(workspace: Workspace, text: str, cid: str = "conv-1") -> None:
    relayed = workspace.bot("POST", f"/api/conversations/{cid}/user-messages", json={"text": text})
    assert relayed.status_code == 201, relayed.text


# ---------------------------------------------------------------- typing


def test_the_assignee_typing_is_relayed_at_most_every_3_seconds(workspace: Workspace) -> None:
    ref = _claimed(workspace)
    lines = len(workspace.agent("alice", "GET", f"/api/tickets/{ref}/messages").json()["messages"])
    for _ in range(5):
        typed = workspace.agent("alice", "POST", f"/api/tickets/{ref}/typing")
        assert typed.status_code == 204 and typed.content == b""
    assert workspace.activity.sent == [
        {"conversation_id": "conv-1", "kind": "typing", "agent": "alice"}
    ]
    time.sleep(3.1)
    assert workspace.agent("alice", "POST", f"/api/tickets/{ref}/typing").status_code == 204
    assert workspace.activity.kinds() == ["typing", "typing"]
    # Typing is no notification to deliver, and no line of the transcript.
    assert "agent_message" not in workspace.notifier.intents
    after = workspace.agent("alice", "GET", f"/api/tickets/{ref}/messages").json()["messages"]
    assert len(after) == lines


def test_only_the_assignee_types(workspace: Workspace) -> None:
    open_ref = workspace.new_ticket()["ref"]
    refused = workspace.agent("alice", "POST", f"/api/tickets/{open_ref}/typing")
    assert refused.status_code == 409 and refused.json()["error"] == "ticket_not_assigned"
    ref = _claimed(workspace, conversation_id="conv-2")
    for who in ("bob", "root"):
        other = workspace.agent(who, "POST", f"/api/tickets/{ref}/typing")
        assert other.status_code == 409 and other.json()["error"] == "not_assignee"
    assert workspace.bot("POST", f"/api/tickets/{ref}/typing").status_code == 403
    assert workspace.call("POST", f"/api/tickets/{ref}/typing").status_code == 401
    assert workspace.agent("alice", "POST", "/api/tickets/T-999999/typing").status_code == 404
    assert workspace.activity.sent == []


# ---------------------------------------------------------------- seen


def _seen_stamps(workspace: Workspace) -> dict[str, Any]:
    with workspace.server.app.ctx.sessions() as session:
        return {m.text: m.seen_by_agent_at for m in session.query(Message).all()}


def test_the_assignee_reading_marks_user_lines_seen_once(workspace: Workspace) -> None:
    ref = workspace.new_ticket()["ref"]
    _relay(workspace, "still nothing arrived")
    # Another agent, or nobody yet, reading the ticket is no "seen".
    workspace.agent("bob", "GET", f"/api/tickets/{ref}")
    assert workspace.activity.sent == []
    workspace.agent("alice", "POST", f"/api/tickets/{ref}/claim")
    detail = workspace.agent("alice", "GET", f"/api/tickets/{ref}").json()
    newest_user_line = [m for m in detail["messages"] if m["author"] == "user"][-1]
    assert workspace.activity.sent == [
        {
            "conversation_id": "conv-1",
            "kind": "seen",
            "seen_until": newest_user_line["created_at"],
        }
    ]
    assert _seen_stamps(workspace)["still nothing arrived"] is not None
    # Set once: reading again tells the chat nothing new.
    workspace.agent("alice", "GET", f"/api/tickets/{ref}")
    workspace.agent("alice", "GET", f"/api/tickets/{ref}/messages")
    assert len(workspace.activity.sent) == 1
    last_id = detail["messages"][-1]["id"]

    _relay(workspace, "hello? are you there")
    polled = workspace.agent("alice", "GET", f"/api/tickets/{ref}/messages?after_id={last_id}")
    assert [m["text"] for m in polled.json()["messages"]] == ["hello? are you there"]
    assert workspace.activity.kinds() == ["seen", "seen"]
    assert workspace.activity.sent[-1]["seen_until"] == polled.json()["messages"][0]["created_at"]
    # No text of any line travels with "seen".
    assert all("hello" not in json.dumps(body) for body in workspace.activity.sent)


def test_seen_stamps_only_user_lines_up_to_what_was_shown(workspace: Workspace) -> None:
    ref = _claimed(workspace)
    _relay(workspace, "first")
    _relay(workspace, "second")
    page = workspace.agent("alice", "GET", f"/api/tickets/{ref}/messages?limit=1").json()
    assert len(page["messages"]) == 1
    stamps = _seen_stamps(workspace)
    assert stamps["second"] is None
    workspace.agent("alice", "GET", f"/api/tickets/{ref}")
    stamps = _seen_stamps(workspace)
    assert stamps["first"] is not None and stamps["second"] is not None
    system = [text for text, stamp in stamps.items() if text.startswith("Claimed")]
    assert system and stamps[system[0]] is None


# ---------------------------------------------------------------- the relay itself


class _FakeChannel:
    """The Rasa channel's agent_activity route: records bodies and headers, or stalls."""

    def __init__(self, delay: float = 0.0, status: int = 204) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[str] = []
        self.delay, self.status = delay, status
        self.arrived = threading.Event()
        channel = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                channel.bodies.append(json.loads(self.rfile.read(length)))
                channel.headers.append(f"{self.path} {self.headers.get('authorization')}")
                channel.arrived.set()
                time.sleep(channel.delay)
                self.send_response(channel.status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def channel() -> Iterator[_FakeChannel]:
    """A fake Rasa channel that answers at once."""
    fake = _FakeChannel()
    yield fake
    fake.close()


def test_the_relay_posts_with_rasas_token(channel: _FakeChannel) -> None:
    relay = RasaActivityRelay(channel.url, "rasa-token")
    try:
        relay.send(typing_activity("conv-9", "Ana"))
        assert channel.arrived.wait(5)
        assert channel.bodies == [{"conversation_id": "conv-9", "kind": "typing", "agent": "Ana"}]
        assert channel.headers == [f"{ACTIVITY_PATH} Bearer rasa-token"]
    finally:
        relay.close()


def test_the_relay_never_posts_without_a_token(channel: _FakeChannel) -> None:
    relay = RasaActivityRelay(channel.url, None)
    relay.send(typing_activity("conv-9", "Ana"))
    time.sleep(0.3)
    assert channel.bodies == []
    relay.close()


def test_a_stalled_or_absent_channel_never_holds_the_agent_up(sqlite_file_url: str) -> None:
    stalled = _FakeChannel(delay=5.0)
    app = create_app(
        Settings(
            database_url=sqlite_file_url,
            bot_token="bot",
            rasa_url=stalled.url,
            rasa_auth_token="rasa-token",
        ),
        FakeNotifier(),
    )
    upgrade(app.ctx.engine)
    with app.ctx.sessions() as session:
        service = HandoffService(session)
        alice, token = service.add_agent("alice")
        ticket, _ = service.create_ticket(ticket_payload(), None)
        service.claim(ticket.ref, alice)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with live_server(app) as server:
            started = time.monotonic()
            typed = requests.post(
                f"{server.url}/api/tickets/{ticket.ref}/typing", headers=headers, timeout=10
            )
            assert typed.status_code == 204
            assert time.monotonic() - started < 1.5
            assert stalled.arrived.wait(5)
            # Many calls while the channel stalls: each answers at once.
            for _ in range(40):
                assert (
                    requests.post(
                        f"{server.url}/api/tickets/{ticket.ref}/typing", headers=headers, timeout=10
                    ).status_code
                    == 204
                )
            assert time.monotonic() - started < 5
    finally:
        stalled.close()
    # Nobody listening at all: still 204, nothing raised.
    relay = RasaActivityRelay("http://127.0.0.1:9", "rasa-token", timeout=0.5)
    relay.send(typing_activity("conv-9", "Ana"))
    relay.close()


# ---------------------------------------------------------------- overview


def test_stats_for_admins(database_url: str) -> None:
    clock, notifier, activity = FakeClock(), FakeNotifier(), FakeActivity()
    server, agents = start_workspace(database_url, notifier, activity, clock=clock)
    try:
        with requests.Session() as http:
            desk = Workspace(server, agents, http, notifier, activity)
            # urgent (5 min), high (15 min), normal (60 min) targets by default.
            desk.new_ticket(conversation_id="sec", category="security", language="zh")
            desk.new_ticket(conversation_id="assets", category="assets")
            desk.new_ticket(conversation_id="acc", category="account")
            clock.advance(4 * 60 + 30)
            answered = desk.new_ticket(conversation_id="done", category="account")["ref"]
            desk.agent("alice", "POST", f"/api/tickets/{answered}/claim")
            desk.agent("alice", "POST", f"/api/tickets/{answered}/messages", json={"text": "hi"})
            desk.agent("alice", "POST", f"/api/tickets/{answered}/resolve")
            stats = desk.admin("GET", "/api/stats")
            assert stats.status_code == 200, stats.text
            body = stats.json()
            assert body["by_status"] == {"open": 3, "assigned": 0, "resolved": 1, "closed": 0}
            assert body["by_priority"] == {"urgent": 1, "high": 1, "normal": 1}
            assert body["by_language"] == {"zh": 1, "en": 2}
            # The urgent ticket has 30 s of its 5 min left: at risk, not yet breached.
            assert (body["breached"], body["at_risk"], body["waiting"]) == (0, 1, 3)
            assert body["agents_online"] == 2  # root and alice made calls
            clock.advance(60)
            body = desk.admin("GET", "/api/stats").json()
            assert (body["breached"], body["at_risk"]) == (1, 0)
            assert desk.agent("alice", "GET", "/api/stats").status_code == 403
    finally:
        server.stop()


def test_config_serves_the_sla_targets(workspace: Workspace) -> None:
    config = workspace.agent("bob", "GET", "/api/config")
    assert config.status_code == 200
    body = config.json()
    assert body["sla_minutes"] == {"urgent": 5, "high": 15, "normal": 60}
    assert {c["value"] for c in body["categories"]} >= {"security", "assets"}
    assert body["limits"]["tags_per_ticket"] == 10
    assert workspace.bot("GET", "/api/config").status_code == 403
    assert workspace.call("GET", "/api/config").status_code == 401


def test_the_public_queue_needs_no_token_and_is_cached(database_url: str) -> None:
    clock, notifier, activity = FakeClock(), FakeNotifier(), FakeActivity()
    server, agents = start_workspace(database_url, notifier, activity, clock=clock)
    try:
        with requests.Session() as http:
            desk = Workspace(server, agents, http, notifier, activity)
            nobody = desk.call("GET", "/api/public/queue")
            assert nobody.status_code == 200
            assert nobody.json() == {"expected_wait_minutes": None, "agents_online": 0}
            assert "max-age=15" in nobody.headers["Cache-Control"]
            # Cached for 15 s: an agent coming online is not seen at once.
            desk.agent("alice", "GET", "/api/me")
            assert desk.call("GET", "/api/public/queue").json()["agents_online"] == 0
    finally:
        server.stop()


def test_the_public_queue_estimate(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("handoff_service.api.workspace_routes.QUEUE_CACHE_S", 0.0)
    clock, notifier, activity = FakeClock(), FakeNotifier(), FakeActivity()
    server, agents = start_workspace(database_url, notifier, activity, clock=clock)
    try:
        with requests.Session() as http:
            desk = Workspace(server, agents, http, notifier, activity)
            desk.agent("alice", "GET", "/api/me")
            desk.agent("bob", "GET", "/api/me")
            # Two online, nobody waiting, no history: one typical reply (5 min).
            assert desk.call("GET", "/api/public/queue").json() == {
                "expected_wait_minutes": 5,
                "agents_online": 2,
            }
            for index in range(4):
                desk.new_ticket(conversation_id=f"q-{index}")
            # Four unclaimed tickets for two agents: three rounds.
            assert desk.call("GET", "/api/public/queue").json()["expected_wait_minutes"] == 15
            # Eleven minutes later nobody has made a call: nobody is online.
            clock.advance(11 * 60)
            assert desk.call("GET", "/api/public/queue").json() == {
                "expected_wait_minutes": None,
                "agents_online": 0,
            }
            # A deactivated agent is never counted.
            bob = next(
                a["id"]
                for a in desk.admin("GET", "/api/agents").json()["agents"]
                if a["name"] == "bob"
            )
            desk.admin("POST", f"/api/agents/{bob}/disable")
            assert desk.call("GET", "/api/public/queue").json()["agents_online"] == 1
    finally:
        server.stop()


def test_the_public_queue_is_rate_limited_per_address(sqlite_file_url: str) -> None:
    server, _agents = start_workspace(
        sqlite_file_url, FakeNotifier(), FakeActivity(), anon_calls_per_minute=3
    )
    try:
        statuses = [
            requests.get(f"{server.url}/api/public/queue", timeout=5).status_code for _ in range(5)
        ]
        assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]
        limited = requests.get(f"{server.url}/api/public/queue", timeout=5)
        assert limited.headers["Retry-After"] and limited.json()["error"] == "rate_limited"
    finally:
        server.stop()
