"""Integration tests on real databases: a SQLite file and PostgreSQL, through the migrations."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TypeVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from handoff_service.db import current_revision, head_revision, make_session_factory, upgrade
from handoff_service.models import Agent, Base, Category, Priority, Ticket, TicketStatus
from handoff_service.services import HandoffService, TicketConflict, parse_filters
from tests.handoff.helpers import START, FakeClock, ticket_payload

T = TypeVar("T")


@pytest.fixture
def sessions(migrated_engine: Engine) -> sessionmaker:
    """Session factory on the migrated database."""
    return make_session_factory(migrated_engine)


@pytest.fixture
def clock() -> FakeClock:
    """A controllable clock."""
    return FakeClock()


@pytest.fixture
def session(sessions: sessionmaker) -> Iterator[Session]:
    """One session on the migrated database."""
    with sessions() as session:
        yield session


@pytest.fixture
def service(session: Session, clock: FakeClock) -> HandoffService:
    """The service on the migrated database."""
    return HandoffService(session, clock)


def test_migrations_create_the_schema_the_models_describe(migrated_engine: Engine) -> None:
    assert current_revision(migrated_engine) == head_revision()
    with migrated_engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []
    indexes = {ix["name"] for ix in inspect(migrated_engine).get_indexes("tickets")}
    assert {"ix_tickets_queue", "uq_tickets_one_active_per_conversation"} <= indexes
    # Running the upgrade again is a no-op.
    assert upgrade(migrated_engine) == head_revision()


def test_a_whole_ticket_life(service: HandoffService, clock: FakeClock) -> None:
    alice, _ = service.add_agent("alice")
    ticket, created = service.create_ticket(
        ticket_payload(
            summary={"assets": ["USDT"], "amounts": ["120"], "networks": ["TRON"]},
            transcript=[{"author": "user", "text": "提币没到账 😭"}],
        ),
        "conv-1:msg-1",
    )
    assert created and ticket.ref == "T-000001" and ticket.priority is Priority.HIGH
    clock.advance(30)
    service.add_user_message(ticket.ref, "still nothing", "rasa-7")
    clock.advance(30)
    service.claim(ticket.ref, alice)
    clock.advance(30)
    reply = service.add_agent_message(ticket.ref, alice, "Hello, checking the TxID now.")
    clock.advance(30)
    service.resolve(ticket.ref, alice)
    rated = service.rate(ticket.ref, 5)

    assert rated.status is TicketStatus.RESOLVED and rated.csat == 5
    assert rated.created_at == START
    assert rated.first_agent_reply_at == reply.created_at == START + timedelta(seconds=90)
    assert rated.resolved_at == START + timedelta(seconds=120)
    assert rated.summary == {"assets": ["USDT"], "amounts": ["120"], "networks": ["TRON"]}
    texts = [(m.author.value, m.text) for m in service.messages(ticket.ref)]
    assert texts == [
        ("user", "提币没到账 😭"),
        ("user", "still nothing"),
        ("agent", "Hello, checking the TxID now."),
    ]
    closed = service.close(ticket.ref, alice)
    assert closed.status is TicketStatus.CLOSED


def test_queue_order_filters_and_pagination(service: HandoffService, clock: FakeClock) -> None:
    categories = ["account", "assets", "security", "technical", "assets", "security"] * 4
    for index, category in enumerate(categories):
        clock.advance(1)
        service.create_ticket(
            ticket_payload(conversation_id=f"c-{index}", category=category, language="zh"),
            f"key-{index}",
        )
    refs: list[str] = []
    cursor = None
    for _ in range(10):
        page = service.list_tickets(parse_filters(status="open"), 5, cursor)
        refs.extend(t.ref for t in page.tickets)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(refs) == len(set(refs)) == len(categories)
    tickets = [service.get_ticket(ref) for ref in refs]
    keys = [(t.priority_rank, t.created_at, t.id) for t in tickets]
    assert keys == sorted(keys)
    assert [t.priority for t in tickets[:8]] == [Priority.URGENT] * 8
    high = service.list_tickets(parse_filters(priority="high", language="zh"), 100)
    assert {t.category for t in high.tickets} == {Category.ASSETS}
    assert len(high.tickets) == 8
    assert service.list_tickets(parse_filters(language="en"), 100).tickets == []


def _race(workers: list[Callable[[], T]]) -> list[T | BaseException]:
    """Run the callables at the same moment, each in its own thread; collect results."""
    barrier = threading.Barrier(len(workers))
    results: list[T | BaseException] = [RuntimeError("did not run")] * len(workers)

    def run(index: int, work: Callable[[], T]) -> None:
        barrier.wait()
        try:
            results[index] = work()
        except (TicketConflict, IntegrityError) as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_concurrent_claims_have_exactly_one_winner(sessions: sessionmaker) -> None:
    with sessions() as setup:
        service = HandoffService(setup)
        agents = [service.add_agent(name)[0] for name in ("alice", "bob")]
        refs = [
            service.create_ticket(ticket_payload(conversation_id=f"race-{i}"), None)[0].ref
            for i in range(8)
        ]

    def claimer(ref: str, agent: Agent) -> Callable[[], int]:
        def claim() -> int:
            with sessions() as session:
                ticket, _ = HandoffService(session).claim(ref, agent)
                return int(ticket.assignee_id)

        return claim

    for ref in refs:
        results = _race([claimer(ref, agent) for agent in agents])
        winners = [r for r in results if isinstance(r, int)]
        losers = [r for r in results if isinstance(r, TicketConflict)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert losers[0].code == "claimed_by_another_agent"
        with sessions() as check:
            stored = HandoffService(check).get_ticket(ref)
            assert stored.assignee_id == winners[0]
            assert stored.status is TicketStatus.ASSIGNED


def test_concurrent_escalations_of_one_conversation_make_one_ticket(
    sessions: sessionmaker,
) -> None:
    def creator(key: str) -> Callable[[], tuple[int, bool]]:
        def create() -> tuple[int, bool]:
            with sessions() as session:
                ticket, created = HandoffService(session).create_ticket(ticket_payload(), key)
                return int(ticket.id), created

        return create

    results = _race([creator(f"key-{i}") for i in range(4)])
    assert all(isinstance(r, tuple) for r in results), results
    ids = {r[0] for r in results if isinstance(r, tuple)}
    created = [r[1] for r in results if isinstance(r, tuple)]
    assert len(ids) == 1 and created.count(True) == 1
    with sessions() as check:
        assert check.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1


def test_concurrent_replays_of_one_key_make_one_ticket(sessions: sessionmaker) -> None:
    def create() -> int:
        with sessions() as session:
            return int(HandoffService(session).create_ticket(ticket_payload(), "same")[0].id)

    results = _race([create] * 4)
    assert len(set(results)) == 1 and isinstance(results[0], int), results


def test_the_partial_unique_index_allows_history(session: Session, service: HandoffService) -> None:
    alice, _ = service.add_agent("alice")
    first, _ = service.create_ticket(ticket_payload(), None)
    service.claim(first.ref, alice)
    service.resolve(first.ref, alice)
    second, _ = service.create_ticket(ticket_payload(), None)
    assert second.id != first.id
    session.add(
        Ticket(
            conversation_id="conv-1",
            category=Category.ACCOUNT,
            priority=Priority.NORMAL,
            priority_rank=2,
            status=TicketStatus.OPEN,
            title="t",
            description="d",
            language="en",
            escalation_reason="fallback",
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
