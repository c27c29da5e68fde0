"""A Rasa replica told to stop (SIGTERM, as an orchestrator does) drains.

It refuses new chats, finishes the turn it is running (the answer reaches the
user, the tracker is saved, the lock released), then lets its chats go at
once rather than after Sanic's fixed grace period, and the conversation goes
on on the other replica without waiting for a lock.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import socketio

from addons.channels.history import EXTERNAL_PREFIX
from devtools.chat_client import SocketChatUser, UnexpectedReply
from devtools.production_stack import RunningTopology
from tests.production.test_scale_out import user_on

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

# Sanic's own graceful shutdown holds websocket chats this long before cutting them.
SANIC_GRACE_S = 15.0


def _pause(topology: RunningTopology, names: tuple[str, ...], sig: signal.Signals) -> None:
    for name in names:
        os.killpg(topology.processes[name].popen.pid, sig)


def test_a_stopping_replica_finishes_its_turn_then_lets_the_chat_go(
    topology: RunningTopology,
) -> None:
    user = user_on(topology, 2)
    actions = ("actions-1", "actions-2")
    stopper: threading.Thread | None = None
    try:
        user.ask("你好", "")
        # The next turn waits on the action servers, so the stop lands in the middle of it.
        _pause(topology, actions, signal.SIGSTOP)
        try:
            mark = user.mark()
            acknowledged = user.send("转人工")
            time.sleep(1.5)
            stopped_at: list[float] = []

            def stop() -> None:
                topology.stop("rasa-2")
                stopped_at.append(time.monotonic())

            stopper = threading.Thread(target=stop)
            asked_at = time.monotonic()
            stopper.start()
            time.sleep(1.5)
            # While it drains, the replica takes no new chat.
            with pytest.raises((UnexpectedReply, socketio.exceptions.ConnectionError)):
                SocketChatUser(topology.rasa_url(2)).connect(timeout=3)
        finally:
            _pause(topology, actions, signal.SIGCONT)
        resumed_at = time.monotonic()

        assert acknowledged.wait(30), "the turn in progress was not finished"
        user.wait_for_text("哪一类", mark, timeout=10)
        stopper.join(timeout=60)
        assert stopped_at, "the replica did not stop"
        # Let go once the turn was done, well before Sanic's grace period would end.
        assert stopped_at[0] - resumed_at < SANIC_GRACE_S - 5, stopped_at[0] - resumed_at
        assert stopped_at[0] - asked_at < SANIC_GRACE_S + 10

        # On the other replica at once: the lock was released, not left to expire.
        back = SocketChatUser(topology.public_url, session_id=user.session_id,
                              session_token=user.session_token).connect()
        try:
            started = time.monotonic()
            back.ask('/choose_category{"ticket_category": "assets"}', "标题", timeout=30)
            assert time.monotonic() - started < 8
        finally:
            back.close()
        events = topology.tracker(str(user.session_id), 1)["events"]
        said = [e["text"] for e in events
                if e["event"] == "user" and not str(e.get("text")).startswith(EXTERNAL_PREFIX)]
        assert said == ["你好", "转人工", '/choose_category{"ticket_category": "assets"}']
    finally:
        user.close()
        if stopper is not None:
            stopper.join(timeout=60)
        if "rasa-2" not in topology.processes:
            topology.start("rasa-2")
