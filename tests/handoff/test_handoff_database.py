"""Integration tests on real databases: a SQLite file and PostgreSQL, through the migrations."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TypeVar

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from handoff_service.config import Settings
from handoff_service.db import (
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    make_session_factory,
    migration_connection,
    upgrade,
)
from handoff_service.errors import TicketConflict
from handoff_service.models import Agent, Base, Category, Priority, Ticket, TicketStatus
from handoff_service.services import HandoffService
from handoff_service.validation import parse_filters
from tests.handoff.helpers import START, FakeClock, chat_lines, ticket_payload

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
    service.add_user_message_for_conversation("conv-1", "still nothing", "rasa-7")
    clock.advance(30)
    service.claim(ticket.ref, alice)
    clock.advance(30)
    reply = service.add_agent_message(ticket.ref, alice, "Hello, checking the TxID now.")
    clock.advance(30)
    service.resolve(ticket.ref, alice)
    rated = service.rate_conversation("conv-1", 5)

    assert rated.status is TicketStatus.RESOLVED and rated.csat == 5
    assert rated.created_at == START
    assert rated.first_agent_reply_at == reply.created_at == START + timedelta(seconds=90)
    assert rated.resolved_at == START + timedelta(seconds=120)
    assert rated.summary == {"assets": ["USDT"], "amounts": ["120"], "networks": ["TRON"]}
    texts = [(m.author.value, m.text) for m in service.messages(ticket.ref)]
    # The chat, and what happened to the ticket as system lines, in time order.
    assert texts == [
        ("user", "提币没到账 😭"),
        ("system", "Ticket submitted (high priority): Self-help did not solve it"),
        ("user", "still nothing"),
        ("system", "Claimed by alice"),
        ("agent", "Hello, checking the TxID now."),
        ("system", "First reply by alice, 1 min after the ticket was submitted"),
        ("system", "Resolved by alice"),
        ("system", "Rated 5/5 by the user"),
    ]
    closed = service.close(ticket.ref, alice)
    assert closed.status is TicketStatus.CLOSED
    assert service.messages(ticket.ref)[-1].text == "Closed by alice"


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


def test_created_ticket_is_exactly_what_was_stored(
    service: HandoffService, sessions: sessionmaker
) -> None:
    ticket, _ = service.create_ticket(
        ticket_payload(
            summary={"assets": ["USDT"], "amounts": ["120"]},
            tx_hash="0x" + "ab" * 32,
            occurred_at="2025-11-20T21:00:00+08:00",
            app_user_id="u-0123456789abcdef0123456789abcdef",
            transcript=[
                {"author": "user", "text": "USDT 提币一直 pending 😟"},
                {"author": "bot", "text": "Which network did you choose?"},
                {"author": "user", "text": "TRC20, 120 USDT"},
            ],
        ),
        "conv-1:msg-1",
    )
    bare, _ = service.create_ticket(ticket_payload(conversation_id="bare"), None)
    # A replay is refused as a whole: no second transcript, no second audit event.
    again, created = service.create_ticket(
        ticket_payload(transcript=[{"author": "user", "text": "x"}]), None
    )
    assert (again.id, created) == (ticket.id, False)
    assert [(m.author.value, m.text) for m in service.messages(ticket.ref)] == [
        ("user", "USDT 提币一直 pending 😟"),
        ("bot", "Which network did you choose?"),
        ("user", "TRC20, 120 USDT"),
        ("system", "Ticket submitted (high priority): Self-help did not solve it"),
    ]
    assert [m.author.value for m in service.messages(bare.ref)] == ["system"]
    # Both insert paths (one statement on PostgreSQL, several on SQLite) carry it.
    assert (ticket.app_user_id, bare.app_user_id) == ("u-0123456789abcdef0123456789abcdef", None)
    trail = service.audit_trail(ticket.ref)
    assert [(actor, action) for actor, action, _ in trail] == [("bot", "ticket_created")]
    assert trail[0][2] == {
        "category": "assets",
        "priority": "high",
        "escalation_reason": "self_help_failed",
        "transcript_items": 3,
        "redacted_fields": [],
    }
    with sessions() as fresh:
        for made in (ticket, bare):
            stored = fresh.get(Ticket, made.id)
            assert stored is not None
            for column in Ticket.__table__.columns:
                assert getattr(stored, column.key) == getattr(made, column.key), column.key
            assert stored.ref == made.ref
        # A missing summary is SQL NULL, not the JSON literal null.
        unsummarised = fresh.execute(select(Ticket.id).where(Ticket.summary.is_(None)))
        assert unsummarised.scalars().all() == [bare.id]


_OLD_TICKET = text(
    "INSERT INTO tickets (id, ref, conversation_id, category, priority, priority_rank, status,"
    " title, description, language, escalation_reason, created_at, updated_at)"
    " VALUES (:id, :ref, :conv, 'assets', 'high', 1, :status, 't', 'd', 'zh', 'fallback',"
    " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
)


def test_upgrading_stored_refs_keeps_every_row_and_constraint(database_url: str) -> None:
    engine = make_engine(Settings(database_url=database_url))
    try:
        with migration_connection(engine) as conn:
            command.upgrade(alembic_config(conn), "0001_initial")
        with engine.begin() as conn:
            conn.execute(_OLD_TICKET, {"id": 7, "ref": "T-000007", "conv": "c", "status": "open"})
            conn.execute(_OLD_TICKET, {"id": 8, "ref": "T-000008", "conv": "c", "status": "closed"})
            conn.execute(
                text(
                    "INSERT INTO messages (ticket_id, author, text, created_at)"
                    " VALUES (7, 'user', '提币没到账', '2026-01-01 00:00:00'),"
                    " (8, 'user', 'again', '2026-01-01 00:00:00')"
                )
            )
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT setval('tickets_id_seq', 8)"))

        upgrade(engine)

        with make_session_factory(engine)() as session:
            service = HandoffService(session)
            kept = service.get_ticket("T-000007")
            assert kept.app_user_id is None
            assert (kept.conversation_id, kept.status) == ("c", TicketStatus.OPEN)
            assert [m.text for m in chat_lines(service.messages("T-000007"))] == ["提币没到账"]
            assert [m.text for m in chat_lines(service.messages("T-000008"))] == ["again"]
            # The one-open-ticket index and the CHECK constraints survived.
            assert not service.create_ticket(ticket_payload(conversation_id="c"), None)[1]
            new, created = service.create_ticket(ticket_payload(conversation_id="d"), None)
            # PostgreSQL spends a sequence number on the refused row: gaps are fine.
            assert created and new.id > 8 and new.ref == f"T-{new.id:06d}"
        for bad in ("csat = 9", "priority_rank = 7", "category = 'nonsense'"):
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(text(f"UPDATE tickets SET {bad} WHERE id = 7"))

        with migration_connection(engine) as conn:
            command.downgrade(alembic_config(conn), "0001_initial")
        with engine.connect() as conn:
            refs = conn.execute(text("SELECT ref FROM tickets ORDER BY id")).scalars().all()
            messages = conn.execute(text("SELECT count(*) FROM messages")).scalar_one()
        # Two chat lines, and the line that says the new ticket was submitted.
        assert (refs, messages) == (["T-000007", "T-000008", new.ref], 3)
        assert upgrade(engine) == head_revision()
    finally:
        engine.dispose()


# A ticket of conversation "old" with only the columns the 0002 schema has.
_OLD_SCHEMA_TICKET = text(
    "INSERT INTO tickets (conversation_id, category, priority, priority_rank, status, title,"
    " description, language, escalation_reason, created_at, updated_at)"
    " VALUES ('old', 'assets', 'high', 1, :status, 't', 'd', 'zh', 'fallback',"
    " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
)


def _columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def test_the_app_user_id_migration_goes_up_and_down_keeping_every_row(database_url: str) -> None:
    engine = make_engine(Settings(database_url=database_url))
    try:
        with migration_connection(engine) as conn:
            command.upgrade(alembic_config(conn), "0002_derived_ref")
        assert "app_user_id" not in _columns(engine, "tickets")
        with engine.begin() as conn:
            conn.execute(_OLD_SCHEMA_TICKET, {"status": "open"})

        upgrade(engine)
        assert "app_user_id" in _columns(engine, "tickets")
        with make_session_factory(engine)() as session:
            service = HandoffService(session)
            assert service.conversation_ticket("old").app_user_id is None
            new, _ = service.create_ticket(
                ticket_payload(conversation_id="new", app_user_id="u-" + "a" * 32), None
            )
        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT app_user_id FROM tickets WHERE id = :id"), {"id": new.id}
            ).scalar_one()
        assert stored == "u-" + "a" * 32

        with migration_connection(engine) as conn:
            command.downgrade(alembic_config(conn), "0002_derived_ref")
        assert current_revision(engine) == "0002_derived_ref"
        assert "app_user_id" not in _columns(engine, "tickets")
        with engine.connect() as conn:
            conversations = conn.execute(
                text("SELECT conversation_id FROM tickets ORDER BY id")
            ).scalars()
            assert list(conversations) == ["old", "new"]
        # The rebuilt table kept the one-open-ticket index (partial: history is
        # allowed) and the CHECK constraints.
        with engine.begin() as conn:
            conn.execute(_OLD_SCHEMA_TICKET, {"status": "closed"})
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(_OLD_SCHEMA_TICKET, {"status": "assigned"})
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("UPDATE tickets SET csat = 9"))

        assert upgrade(engine) == head_revision() == "0007_workspace"
    finally:
        engine.dispose()


def test_the_durable_notification_migration_goes_up_and_down(database_url: str) -> None:
    engine = make_engine(Settings(database_url=database_url))
    try:
        with migration_connection(engine) as conn:
            command.upgrade(alembic_config(conn), "0003_app_user_id")
        with engine.begin() as conn:
            conn.execute(_OLD_SCHEMA_TICKET, {"status": "open"})
        assert upgrade(engine) == head_revision()
        assert {"seen_at", "emailed_at"} <= _columns(engine, "messages")
        with migration_connection(engine) as conn:
            command.downgrade(alembic_config(conn), "0003_app_user_id")
        assert "seen_at" not in _columns(engine, "messages")
        assert "chat_notifications" not in inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM tickets")).scalar_one() == 1
        assert upgrade(engine) == head_revision()
    finally:
        engine.dispose()


def test_the_amount_migration_goes_up_and_down_keeping_every_row(database_url: str) -> None:
    engine = make_engine(Settings(database_url=database_url))
    try:
        with migration_connection(engine) as conn:
            command.upgrade(alembic_config(conn), "0004_durable_notifications")
        assert "amount" not in _columns(engine, "tickets")
        with engine.begin() as conn:
            conn.execute(_OLD_SCHEMA_TICKET, {"status": "open"})

        assert upgrade(engine) == head_revision()
        assert "amount" in _columns(engine, "tickets")
        with make_session_factory(engine)() as session:
            service = HandoffService(session)
            assert service.conversation_ticket("old").amount is None
            # An older ticket takes the amount as a detail added later.
            updated = service.update_conversation_ticket("old", {"amount": "500 USDT"})
            assert updated.amount == "500 USDT"
            new, _ = service.create_ticket(
                ticket_payload(conversation_id="new", amount="0.5 BTC"), None
            )
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT amount FROM tickets ORDER BY id")).scalars()
            assert list(stored) == ["500 USDT", "0.5 BTC"]
        with pytest.raises(IntegrityError), engine.begin() as conn:
            # Still one open ticket per conversation.
            conn.execute(_OLD_SCHEMA_TICKET, {"status": "assigned"})

        with migration_connection(engine) as conn:
            command.downgrade(alembic_config(conn), "0004_durable_notifications")
        assert current_revision(engine) == "0004_durable_notifications"
        assert "amount" not in _columns(engine, "tickets")
        with engine.connect() as conn:
            conversations = conn.execute(
                text("SELECT conversation_id FROM tickets ORDER BY id")
            ).scalars()
            assert list(conversations) == ["old", "new"]
            # The transcripts (and their foreign keys) survived the table rebuild.
            lines = conn.execute(
                text("SELECT count(*) FROM messages WHERE ticket_id = :id"), {"id": new.id}
            ).scalar_one()
            assert lines == 1
        # The rebuilt table kept the partial one-open-ticket index and the CHECKs.
        with engine.begin() as conn:
            conn.execute(_OLD_SCHEMA_TICKET, {"status": "closed"})
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(_OLD_SCHEMA_TICKET, {"status": "assigned"})
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("UPDATE tickets SET csat = 9"))

        assert upgrade(engine) == head_revision() == "0007_workspace"
    finally:
        engine.dispose()
