"""Fifty conversations with handoffs while one process of each kind is killed.

Each conversation greets the bot, walks the ticket form to a ticket, gets an
agent, and trades messages with them, all through nginx. Midway an action
server, a handoff service and a Rasa server are killed (SIGKILL, no warning),
one after the other. Clients behave as the widget and the console do: a
message whose acknowledgement was lost is sent again with the same id, an
agent reply whose answer was lost is posted again with the same key.

Then everything is counted where it is kept: every user message is in its
conversation once and in order, every conversation has exactly one ticket,
every agent reply and every user message of the handoff is on the ticket
once, and every agent reply reaches the user (live or in the history) once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import socketio
from sqlalchemy import create_engine, text

from addons.channels.history import EXTERNAL_PREFIX
from devtools.agent_client import AgentClient, wait_until
from devtools.chat_client import ESCALATE_ZH, SUBMIT, TICKET_CREATED_ZH, SocketChatUser
from devtools.production_stack import RunningTopology
from tests.production.test_scale_out import REF, in_threads

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

CONVERSATIONS = 50
EXCHANGES = 2  # agent reply, then user message, this many times per ticket
TURN_TIMEOUT_S = 120.0
# Statuses after which a request may not have reached the service: post again.
RETRIED_STATUSES = frozenset({502, 503, 504})
LOST_CONNECTION = (socketio.exceptions.SocketIOError, AssertionError)


@dataclass
class Progress:
    """Counters the killer watches, so each loss lands in the thick of the work."""

    forms_started: int = 0
    tickets: int = 0
    agent_replies: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def add(self, name: str) -> None:
        with self.changed:
            setattr(self, name, getattr(self, name) + 1)
            self.changed.notify_all()

    def wait(self, name: str, at_least: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: getattr(self, name) >= at_least, timeout)


@dataclass
class Record:
    """What one conversation sent and was promised, for the final count."""

    sender: str = ""
    said: list[str] = field(default_factory=list)
    ref: str | None = None
    agent_replies: list[str] = field(default_factory=list)
    handoff_messages: list[str] = field(default_factory=list)


def _history_texts(user: SocketChatUser) -> list[str]:
    page = user.history(limit=200)
    if not page.get("ok"):
        return []
    return [str(m.get("text") or "") for m in page.get("messages", [])]


def _answered(user: SocketChatUser, expect: str, mark: int) -> str:
    """The bot's answer containing ``expect``: live, or from the history if it was lost."""
    found = [r.text for r in user.since(mark) if expect in r.text]
    if found:
        return found[0]
    try:
        return user.wait_for_text(expect, mark, timeout=15).text
    except AssertionError:
        pass
    # Emitted to a connection that died: the history has it.
    shown: list[str] = []

    def in_history() -> bool:
        try:
            user.ensure_connected()
            shown[:] = [t for t in _history_texts(user) if expect in t]
        except LOST_CONNECTION:  # a dead replica; try again
            user.close()
        return bool(shown)

    wait_until(in_history, timeout=TURN_TIMEOUT_S, interval=1.0, what=f"an answer with {expect!r}")
    return shown[-1]


def _turn(user: SocketChatUser, record: Record, text_: str, expect: str) -> str:
    mark = user.say_reliably(text_, timeout=TURN_TIMEOUT_S)
    record.said.append(text_)
    return _answered(user, expect, mark) if expect else ""


def _post(agent: AgentClient, path: str, body: dict[str, Any] | None = None,
          key: str | None = None) -> requests.Response:
    """POST as the console does: again, with the same key, when the answer was lost."""
    headers = {"Idempotency-Key": key} if key else {}
    deadline = time.monotonic() + TURN_TIMEOUT_S
    while True:
        try:
            response = agent.call("POST", path, json=body or {}, headers=headers)
            if response.status_code not in RETRIED_STATUSES:
                return response
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"POST {path} kept failing")
        time.sleep(1.0)


def _conversation(
    index: int, topology: RunningTopology, agent: AgentClient, progress: Progress,
    records: list[Record],
) -> None:
    record = records[index]
    user = SocketChatUser(topology.public_url, transport="websocket").connect()
    try:
        record.sender = str(user.session_id)
        _turn(user, record, "你好", "")
        for step, (said, expect) in enumerate(ESCALATE_ZH):
            _turn(user, record, said, expect)
            if step == 2:
                progress.add("forms_started")
        created = _turn(user, record, SUBMIT, TICKET_CREATED_ZH)
        match = REF.search(created)
        assert match, created
        record.ref = match.group()
        progress.add("tickets")
        claimed = _post(agent, f"/tickets/{record.ref}/claim")
        assert claimed.status_code == 200, claimed.text
        for exchange in range(EXCHANGES):
            reply = f"agent {index}.{exchange}: 请在钱包里查看这笔交易的状态"
            posted = _post(agent, f"/tickets/{record.ref}/messages", {"text": reply},
                           key=uuid.uuid4().hex)
            assert posted.status_code in (200, 201), posted.text
            record.agent_replies.append(reply)
            progress.add("agent_replies")
            message = f"user {index}.{exchange}: 好的，我去看看"
            _turn(user, record, message, "")
            record.handoff_messages.append(message)
        # Every reply reaches the user: live, or in the history after reconnecting.
        missing: list[str] = []

        def all_delivered() -> bool:
            live = {r.text for r in user.since(0)}
            try:
                user.ensure_connected()
                shown = set(_history_texts(user)) | live
            except LOST_CONNECTION:  # a dead replica; try again
                user.close()
                return False
            missing[:] = [r for r in record.agent_replies if r not in shown]
            return not missing

        wait_until(all_delivered, timeout=TURN_TIMEOUT_S, interval=1.0,
                   what=f"conversation {index}: agent replies {missing}")
    finally:
        user.close()


def _killer(topology: RunningTopology, progress: Progress, killed: list[str]) -> None:
    for counter, at_least, name in (
        ("forms_started", 15, "actions-1"),
        ("tickets", 15, "handoff-1"),
        ("agent_replies", 30, "rasa-1"),
    ):
        if progress.wait(counter, at_least, timeout=600):
            topology.kill(name)
            killed.append(name)


def _user_texts(topology: RunningTopology, sender: str) -> list[str]:
    tracker = topology.tracker(sender, 2)
    return [
        e["text"] for e in tracker["events"]
        if e["event"] == "user" and not str(e.get("text") or "").startswith(EXTERNAL_PREFIX)
    ]


def test_killing_one_process_of_each_kind_during_fifty_handoffs_loses_nothing(
    topology: RunningTopology, agent: AgentClient
) -> None:
    progress = Progress()
    records = [Record() for _ in range(CONVERSATIONS)]
    killed: list[str] = []
    killer = threading.Thread(target=_killer, args=(topology, progress, killed), daemon=True)
    killer.start()
    try:
        in_threads(lambda i: _conversation(i, topology, agent, progress, records),
                   CONVERSATIONS, timeout=900)
        killer.join(timeout=5)
        assert killed == ["actions-1", "handoff-1", "rasa-1"], killed

        # Every user message once, in order, in its conversation (read by the survivor).
        for record in records:
            assert _user_texts(topology, record.sender) == record.said, record.sender

        # One ticket per conversation; each handoff message and agent reply on it once.
        engine = create_engine(topology.env["HANDOFF_DATABASE_URL"])
        try:
            with engine.connect() as connection:
                senders = [r.sender for r in records]
                tickets = Counter(
                    row.conversation_id for row in connection.execute(
                        text("SELECT conversation_id FROM tickets")
                    ) if row.conversation_id in senders
                )
                assert tickets == Counter(senders)
                lines = connection.execute(text(
                    "SELECT t.conversation_id, m.author, m.text FROM messages m "
                    "JOIN tickets t ON t.id = m.ticket_id"
                )).all()
        finally:
            engine.dispose()
        for record in records:
            mine = [(str(author), body) for cid, author, body in lines if cid == record.sender]
            agent_lines = Counter(body for author, body in mine if author.lower().endswith("agent"))
            user_lines = Counter(body for author, body in mine if author.lower().endswith("user"))
            assert agent_lines == Counter(record.agent_replies), record.ref
            for message in record.handoff_messages:
                assert user_lines[message] == 1, (record.ref, message)
    finally:
        killer.join(timeout=1)
        for name in ("actions-1", "handoff-1", "rasa-1"):
            if name not in topology.processes:
                topology.start(name)
