"""The chat-notification outbox and its dispatcher, on real SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from handoff_service import notification_outbox as outbox
from handoff_service.db import make_session_factory
from handoff_service.dispatcher import DispatchSettings, NotificationDispatcher, backoff_seconds
from handoff_service.models import Agent, ChatNotification
from handoff_service.notifier import Notification, NotificationFailed
from handoff_service.services import HandoffService
from tests.handoff.helpers import FakeClock, ticket_payload

FAST = DispatchSettings(poll_interval_s=0.05, lease_s=30, first_backoff_s=1, max_backoff_s=8)


class RecordingRasa:
    """Accepts or refuses notifications; remembers every accepted one."""

    def __init__(self) -> None:
        self.down = False
        self.refuse = False
        self.accepted: list[Notification] = []
        self.lock = threading.Lock()

    def notify(self, notification: Notification) -> None:
        if self.down:
            raise NotificationFailed("cannot reach Rasa: ConnectionError")
        if self.refuse:
            raise NotificationFailed("Rasa answered HTTP 400", permanent=True)
        with self.lock:
            self.accepted.append(notification)

    def by_conversation(self) -> dict[str, list[tuple[str, object]]]:
        out: dict[str, list[tuple[str, object]]] = {}
        for n in self.accepted:
            out.setdefault(n.conversation_id, []).append((n.intent, n.entities.get("message_id")))
        return out


@pytest.fixture
def sessions(migrated_engine: Engine) -> sessionmaker:
    return make_session_factory(migrated_engine)


def _dispatcher(
    sessions: sessionmaker, rasa: RecordingRasa, clock: FakeClock | None = None
) -> NotificationDispatcher:
    def give_up(session: Session, item: outbox.ClaimedNotification, reason: str) -> None:
        HandoffService(session).record_notification_failure(item.ticket_id, item.intent, reason)

    return NotificationDispatcher(sessions, rasa, clock or FakeClock(), give_up, FAST)


def _conversations_with_replies(
    sessions: sessionmaker, clock: FakeClock, count: int, replies: int
) -> dict[str, list[int]]:
    """``count`` tickets claimed by one agent, ``replies`` agent messages each, interleaved."""
    expected: dict[str, list[int]] = {}
    with sessions() as session:
        service = HandoffService(session, clock)
        agent: Agent = service.add_agent("alice")[0]
        refs = {}
        for i in range(count):
            cid = f"conv-{i}"
            ticket, _ = service.create_ticket(ticket_payload(conversation_id=cid))
            service.claim(ticket.ref, agent)
            refs[cid] = ticket.ref
            expected[cid] = []
        for n in range(replies):
            for cid, ref in refs.items():
                expected[cid].append(service.add_agent_message(ref, agent, f"reply {n}").id)
    return expected


def _drain(dispatcher: NotificationDispatcher, rounds: int = 50) -> int:
    total = 0
    for _ in range(rounds):
        delivered = asyncio.run(dispatcher.run_once())
        total += delivered
        if not delivered:
            break
    return total


def test_each_conversation_hears_in_order_and_once(sessions: sessionmaker) -> None:
    clock = FakeClock()
    expected = _conversations_with_replies(sessions, clock, count=4, replies=3)
    rasa = RecordingRasa()
    assert _drain(_dispatcher(sessions, rasa, clock)) == 4 * 4
    got = rasa.by_conversation()
    for cid, ids in expected.items():
        assert got[cid] == [("agent_joined", None)] + [("agent_message", i) for i in ids]
    # Nothing is pending: a further round delivers nothing twice.
    assert _drain(_dispatcher(sessions, rasa, clock)) == 0
    with sessions() as session:
        assert outbox.pending_count(session) == 0


def test_an_outage_holds_the_line_per_conversation_then_everything_arrives(
    sessions: sessionmaker,
) -> None:
    clock = FakeClock()
    expected = _conversations_with_replies(sessions, clock, count=2, replies=2)
    rasa = RecordingRasa()
    rasa.down = True
    dispatcher = _dispatcher(sessions, rasa, clock)
    for _ in range(5):
        assert asyncio.run(dispatcher.run_once()) == 0
        clock.advance(60)
    with sessions() as session:
        rows = list(session.execute(select(ChatNotification)).scalars())
    tried = [r for r in rows if r.attempts]
    # Only the head of each conversation was tried; the rest wait behind it.
    assert {r.intent for r in tried} == {"agent_joined"} and len(tried) == 2
    assert all(r.delivered_at is None and r.failed_at is None for r in rows)
    rasa.down = False
    clock.advance(60)
    _drain(dispatcher)
    got = rasa.by_conversation()
    for cid, ids in expected.items():
        assert got[cid] == [("agent_joined", None)] + [("agent_message", i) for i in ids]


def test_a_refusal_is_given_up_audited_and_does_not_block_the_conversation(
    sessions: sessionmaker,
) -> None:
    clock = FakeClock()
    _conversations_with_replies(sessions, clock, count=1, replies=1)
    rasa = RecordingRasa()
    rasa.refuse = True
    _drain(_dispatcher(sessions, rasa, clock))
    with sessions() as session:
        rows = list(session.execute(select(ChatNotification)).scalars())
        assert [(r.intent, r.attempts, r.failed_at is not None) for r in rows] == [
            ("agent_joined", 1, True), ("agent_message", 1, True),
        ]
        trail = HandoffService(session).audit_trail(f"T-{rows[0].ticket_id:06d}")
    assert [d["intent"] for _, a, d in trail if a == "notify_failed"] == [
        "agent_joined", "agent_message",
    ]


def test_a_dead_dispatchers_lease_runs_out_and_another_delivers(sessions: sessionmaker) -> None:
    clock = FakeClock()
    _conversations_with_replies(sessions, clock, count=1, replies=0)
    with sessions() as session:
        (claimed,) = outbox.claim_due(session, clock(), timedelta(seconds=30), 10)
        session.commit()
    rasa = RecordingRasa()
    dispatcher = _dispatcher(sessions, rasa, clock)
    # Held by a dispatcher that died: nobody may take it before the lease ends.
    assert asyncio.run(dispatcher.run_once()) == 0
    clock.advance(31)
    assert asyncio.run(dispatcher.run_once()) == 1
    assert [n.entities["notification_id"] for n in rasa.accepted] == [claimed.id]


def test_backoff_doubles_and_is_capped() -> None:
    pauses = [backoff_seconds(n, FAST) for n in range(1, 8)]
    assert 0.8 <= pauses[0] <= 1.0 and 1.6 <= pauses[1] <= 2.0
    assert all(p <= FAST.max_backoff_s for p in pauses) and pauses[-1] >= 0.8 * FAST.max_backoff_s


def test_success_after_an_outage_brings_the_waiting_retries_forward(
    sessions: sessionmaker,
) -> None:
    clock = FakeClock()
    _conversations_with_replies(sessions, clock, count=3, replies=0)
    rasa = RecordingRasa()
    rasa.down = True
    dispatcher = _dispatcher(sessions, rasa, clock)
    for _ in range(4):
        asyncio.run(dispatcher.run_once())
        clock.advance(20)
    rasa.down = False
    # A new conversation's notification succeeds first; the three waiting ones follow at once.
    with sessions() as session:
        service = HandoffService(session, clock)
        agent = service.add_agent("bob")[0]
        ticket, _ = service.create_ticket(ticket_payload(conversation_id="fresh"))
        service.claim(ticket.ref, agent)
    with sessions() as session:
        for row in session.execute(select(ChatNotification)).scalars():
            if row.conversation_id != "fresh":
                row.next_attempt_at = clock() + timedelta(seconds=8)
        session.commit()
    assert asyncio.run(dispatcher.run_once()) == 1
    assert asyncio.run(dispatcher.run_once()) == 3


@pytest.mark.postgres
def test_two_dispatchers_on_postgresql_share_the_work_exactly_once(
    handoff_postgres_url: str,
) -> None:
    from handoff_service.config import Settings
    from handoff_service.db import make_engine, upgrade
    from tests.handoff.helpers import empty_postgres_schema

    engine = make_engine(Settings(database_url=empty_postgres_schema(handoff_postgres_url)))
    upgrade(engine)
    sessions = make_session_factory(engine)
    try:
        expected = _conversations_with_replies(sessions, FakeClock(), count=20, replies=4)
        rasa = RecordingRasa()
        first, second = _dispatcher(sessions, rasa), _dispatcher(sessions, rasa)

        async def both() -> None:
            async def loop(d: NotificationDispatcher) -> None:
                for _ in range(200):
                    if not await d.run_once():
                        await asyncio.sleep(0.01)
                    with sessions() as session:
                        if outbox.pending_count(session) == 0:
                            return

            await asyncio.gather(loop(first), loop(second))

        asyncio.run(both())
        ids = [n.entities["notification_id"] for n in rasa.accepted]
        assert len(ids) == len(set(ids)) == 20 * 5
        got = rasa.by_conversation()
        for cid, mids in expected.items():
            assert got[cid] == [("agent_joined", None)] + [("agent_message", m) for m in mids]
    finally:
        engine.dispose()
