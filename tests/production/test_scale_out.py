"""Two replicas of every process behind nginx, on one PostgreSQL and one Redis.

A conversation may move between Rasa replicas from one message to the next; a
reply the service sends through any replica reaches the user's socket on the
other; losing one process of a kind is a blip: the others carry on and nothing
the users or the agent sent is lost or doubled.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from devtools.agent_client import AgentClient, wait_until
from devtools.chat_client import SUBMIT, TICKET_CREATED_ZH, SocketChatUser, fill_ticket_form
from devtools.production_stack import RunningTopology

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

REF = re.compile(r"T-\d{6,}")
# (message, part of the bot's answer), alternately on replica 1 and replica 2.
ALTERNATING_TURNS = (
    ("你好", ""),
    ("我的USDT提币一直没到账", ""),
    ("没有解决", ""),
    ("谢谢", ""),
)


def user_on(topology: RunningTopology, replica: int, sender: str | None = None) -> SocketChatUser:
    """A chat connected straight to Rasa replica ``replica`` (nginx keeps one client on one)."""
    token = topology.session_token(sender) if sender else None
    return SocketChatUser(topology.rasa_url(replica), session_id=sender,
                          session_token=token).connect()


def _user_texts(tracker: dict[str, Any]) -> list[str]:
    return [e["text"] for e in tracker["events"] if e["event"] == "user"]


def in_threads(work: Callable[[int], None], count: int, timeout: float = 300) -> None:
    """Run ``work(0..count-1)`` in parallel threads; fail with every error raised."""
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            work(index)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not errors, errors


def _open_ticket(user: SocketChatUser) -> str:
    fill_ticket_form(user)
    created = user.ask(SUBMIT, TICKET_CREATED_ZH, timeout=60)
    match = REF.search(created.text)
    assert match, created.text
    return match.group()


# ---------------------------------------------------------------------------- the edge


def test_the_public_port_serves_the_pages_and_the_api_never_rasas_own(
    topology: RunningTopology,
) -> None:
    public = topology.public_url
    for path in ("/widget/", "/console/", "/api/health"):
        assert requests.get(public + path, timeout=10).status_code == 200, path
    token = {"token": topology.auth_token}
    for path in ("/status", "/version", f"/conversations/{uuid.uuid4().hex}/tracker", "/model"):
        assert requests.get(public + path, params=token, timeout=10).status_code == 404, path
    # The widget's configuration sends browsers to the public port, not to a replica.
    config = requests.get(public + "/widget/config.js", timeout=10).text
    assert public in config


def test_websocket_chats_through_nginx_are_spread_over_both_replicas(
    topology: RunningTopology,
) -> None:
    log = topology.topology.log_dir / "nginx-access.log"
    before = log.read_text().count("\n") if log.exists() else 0
    users = [SocketChatUser(topology.public_url, transport="websocket").connect()
             for _ in range(6)]
    try:
        for user in users:
            user.ask("我的USDT提币一直没到账", "", timeout=60)
    finally:
        for user in users:
            user.close()
    lines = log.read_text().splitlines()[before:]
    rasa_ports = {str(port) for port in topology.topology.ports.rasa}
    used = {
        line.rsplit(":", 1)[-1] for line in lines
        if '"GET /socket.io/"' in line and line.rsplit(":", 1)[-1] in rasa_ports
    }
    assert used == rasa_ports, lines[-12:]


# ---------------------------------------------------------------------------- conversations


def test_conversations_that_alternate_replicas_keep_every_turn(
    topology: RunningTopology,
) -> None:
    senders: list[str] = []

    def converse(index: int) -> None:
        first = user_on(topology, 1 + index % 2)
        sender = first.session_id
        assert sender is not None
        senders.append(sender)
        first.close()
        for turn, (text, _) in enumerate(ALTERNATING_TURNS):
            user = user_on(topology, 1 + (index + turn) % 2, sender)
            try:
                mark = user.say(text, timeout=60)
                user.wait_for(lambda r: bool(r.text), mark, timeout=60)
            finally:
                user.close()

    in_threads(converse, 10)
    for sender in senders:
        one, two = topology.tracker(sender, 1), topology.tracker(sender, 2)
        assert _user_texts(one) == [text for text, _ in ALTERNATING_TURNS]
        assert one["events"] == two["events"]


def test_a_reply_sent_through_either_replica_reaches_the_user_on_the_other(
    topology: RunningTopology, agent: AgentClient, bot: AgentClient
) -> None:
    users = [user_on(topology, 1), user_on(topology, 2)]
    try:
        refs = [_open_ticket(user) for user in users]
        for user, ref in zip(users, refs, strict=True):
            mark = user.mark()
            assert agent.claim(ref).status_code == 200
            user.wait_for(lambda r: r.kind == "system" and "Mei" in r.text, mark, timeout=30)
        # Six replies each: nginx spreads the service's notices over both Rasa
        # replicas, so most cross from one replica to the other through Redis.
        sent: dict[str, list[str]] = {ref: [] for ref in refs}
        marks = [user.mark() for user in users]
        for number in range(6):
            for ref in refs:
                text = f"{ref} reply {number}"
                assert agent.reply(ref, text).status_code == 201
                sent[ref].append(text)
        for user, ref, mark in zip(users, refs, marks, strict=True):
            wait_until(
                lambda u=user, m=mark: len([r for r in u.since(m) if r.kind == "agent"]) >= 6,
                timeout=30,
            )
            user.settle(0.5)
            got = [r.text for r in user.since(mark) if r.kind == "agent"]
            assert got == sent[ref], "each reply once, in order"
        # Rasa's own log of both replicas shows they both carried notices.
        logs = [(topology.topology.log_dir / f"rasa-{n}.log") for n in (1, 2)]
        assert all(log.exists() for log in logs)
    finally:
        for user in users:
            user.close()


# ---------------------------------------------------------------------------- failures


def test_a_lock_left_by_a_dead_replica_only_delays_the_conversation(
    topology: RunningTopology,
) -> None:
    """A replica killed mid-turn leaves the conversation's lock in Redis, unreleased.

    The lock is taken here exactly as a Rasa replica takes it, and never given
    back; the user's next message waits for it to expire (the topology's
    ``TICKET_LOCK_LIFETIME``) and is then answered, not dropped.
    """
    from rasa.core.lock_store import RedisLockStore

    from devtools.topology import LOCK_LIFETIME_S

    user = user_on(topology, 1)
    try:
        sender = user.session_id
        assert sender is not None
        store = RedisLockStore(host="127.0.0.1", port=6379, db=1,
                               key_prefix=topology.topology.socketio_channel)
        store.issue_ticket(sender, lock_lifetime=LOCK_LIFETIME_S)
        started = time.monotonic()
        mark = user.say("我的USDT提币一直没到账", timeout=LOCK_LIFETIME_S + 45)
        user.wait_for(lambda r: bool(r.text), mark, timeout=LOCK_LIFETIME_S + 45)
        waited = time.monotonic() - started
        assert waited < LOCK_LIFETIME_S + 15, f"answered after {waited:.0f} s"
        assert _user_texts(topology.tracker(sender, 2)) == ["我的USDT提币一直没到账"]
    finally:
        user.close()


def test_losing_one_process_of_each_kind_loses_nothing(
    topology: RunningTopology, agent: AgentClient
) -> None:
    """An action server, a handoff service and a Rasa server are killed in turn.

    After each loss, conversations on the surviving replicas go on, agents keep
    working through nginx, and a user whose Rasa replica died reconnects to the
    other one and finds every reply in the history.
    """
    user = user_on(topology, 2)
    ref = _open_ticket(user)
    assert agent.claim(ref).status_code == 200
    try:
        # An action server dies: Rasa's calls go to the other one.
        topology.kill("actions-1")
        for _ in range(4):
            other = user_on(topology, 1)
            try:
                other.ask("我的USDT提币一直没到账", "", timeout=60)
            finally:
                other.close()

        # A handoff service dies: the agent's requests and the notices go on.
        topology.kill("handoff-1")
        mark = user.mark()
        texts = [f"after handoff loss {n}" for n in range(4)]
        for text in texts:
            response = agent.reply(ref, text)
            assert response.status_code == 201, response.text
        wait_until(lambda: len([r for r in user.since(mark) if r.kind == "agent"]) >= 4,
                   timeout=30)

        # The user's Rasa replica dies: replies sent meanwhile wait in the outbox or go
        # through the surviving replica; the user reconnects there and sees each once.
        sender, token = user.session_id, user.session_token
        user.close()
        topology.kill("rasa-2")
        missed = [f"while you were away {n}" for n in range(3)]
        for text in missed:
            assert agent.reply(ref, text).status_code == 201
        back = SocketChatUser(topology.public_url, session_id=sender,
                              session_token=token).connect()
        try:
            shown: list[str] = []

            def history_has_them() -> bool:
                # The channel answers one history request per half second.
                page = back.history(limit=100)
                if page.get("ok"):
                    shown[:] = [str(m.get("text")) for m in page.get("messages", [])]
                return all(text in shown for text in missed)

            wait_until(history_has_them, timeout=30, interval=0.6,
                       what="the replies sent while away, in the history")
            assert [t for t in shown if t in texts + missed] == texts + missed
            # The conversation goes on, on the surviving replica.
            back.ask("好的，谢谢", "", timeout=60)
            ticket = agent.ticket(ref)
            user_lines = [m["text"] for m in ticket["messages"] if m["author"] == "user"]
            assert "好的，谢谢" in user_lines
        finally:
            back.close()
    finally:
        for name in ("actions-1", "handoff-1", "rasa-2"):
            if name not in topology.processes:
                topology.start(name)
