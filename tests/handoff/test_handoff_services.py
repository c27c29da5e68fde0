"""Unit tests of the rules (services) on an in-memory SQLite database."""

from __future__ import annotations

import json
import secrets

import pytest
from mnemonic import Mnemonic
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff_service.config import ConfigError, Settings
from handoff_service.cursors import decode_cursor
from handoff_service.errors import (
    RateLimited,
    TicketConflict,
    TicketNotFound,
    Unauthorized,
    ValidationFailed,
)
from handoff_service.models import (
    Agent,
    AuditEvent,
    Category,
    EscalationReason,
    Message,
    Priority,
    Ticket,
    TicketStatus,
    ticket_id_from_ref,
    ticket_ref,
)
from handoff_service.services import (
    TRANSITIONS,
    HandoffService,
    can_transition,
    hash_token,
    priority_for,
    waiting_seconds,
)
from handoff_service.times import parse_time
from handoff_service.validation import parse_filters
from support_core.secret_guard import KEY_PLACEHOLDER, SEED_PLACEHOLDER, redact
from tests.handoff.helpers import FakeClock, chat_lines, ticket_payload

S = TicketStatus
ALLOWED = {
    (S.OPEN, S.ASSIGNED),
    (S.ASSIGNED, S.ASSIGNED),
    (S.ASSIGNED, S.OPEN),
    (S.ASSIGNED, S.RESOLVED),
    (S.RESOLVED, S.CLOSED),
}


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_transition_table_allows_exactly_the_designed_moves(current: S, target: S) -> None:
    assert can_transition(current, target) == ((current, target) in ALLOWED)


def test_transition_table_covers_every_status() -> None:
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        (Category.SECURITY, Priority.URGENT),
        (Category.ASSETS, Priority.HIGH),
        (Category.ACCOUNT, Priority.NORMAL),
        (Category.TRADING, Priority.NORMAL),
        (Category.TECHNICAL, Priority.NORMAL),
        (Category.POLICY, Priority.NORMAL),
    ],
)
def test_priority_derives_from_category(category: Category, expected: Priority) -> None:
    assert priority_for(category, EscalationReason.REQUESTED_HUMAN) is expected


def test_security_escalation_is_urgent_whatever_the_category() -> None:
    assert priority_for(Category.ACCOUNT, EscalationReason.SECURITY) is Priority.URGENT


def test_priority_ranks_sort_urgent_first() -> None:
    ranked = sorted(Priority, key=lambda p: p.rank)
    assert ranked == [Priority.URGENT, Priority.HIGH, Priority.NORMAL]
    assert all(Priority.from_rank(p.rank) is p for p in Priority)


def test_ref_is_derived_from_id_and_back() -> None:
    assert ticket_ref(123) == "T-000123"
    assert ticket_ref(1234567) == "T-1234567"
    assert ticket_id_from_ref("T-000123") == 123
    assert ticket_id_from_ref("T-1234567") == 1234567


@pytest.mark.parametrize(
    "ref",
    [
        "T-0000123",
        "T-123",
        "t-000123",
        "T-000123 ",
        "T-00012a",
        "T-\u0661\u0662\u0663\u0664\u0665\u0666",  # Arabic-Indic digits
        "",
    ],
)
def test_only_canonical_refs_name_a_ticket(ref: str) -> None:
    assert ticket_id_from_ref(ref) is None


def test_unknown_or_malformed_ref_is_not_found(service: HandoffService) -> None:
    ticket, _ = service.create_ticket(ticket_payload(), None)
    assert service.get_ticket(ticket.ref).id == ticket.id
    for ref in ("T-999999", "T-0000001", "T-1'; DROP TABLE tickets; --", "X" * 5000):
        with pytest.raises(TicketNotFound):
            service.get_ticket(ref)


def test_create_ticket_sets_ref_priority_status_and_audit(
    service: HandoffService, memory_session: Session
) -> None:
    ticket, created = service.create_ticket(ticket_payload(category="security"), "k1")
    assert created
    assert ticket.ref == ticket_ref(ticket.id)
    assert ticket.priority is Priority.URGENT
    assert ticket.priority_rank == 0
    assert ticket.status is TicketStatus.OPEN
    assert ticket.created_at == service.clock()
    actions = memory_session.execute(select(AuditEvent.action)).scalars().all()
    assert actions == ["ticket_created"]


def test_same_idempotency_key_returns_the_same_ticket(service: HandoffService) -> None:
    first, created_first = service.create_ticket(ticket_payload(), "conv-1:msg-9")
    again, created_again = service.create_ticket(ticket_payload(), "conv-1:msg-9")
    assert (created_first, created_again) == (True, False)
    assert again.id == first.id


def test_idempotency_key_of_another_conversation_is_a_conflict(service: HandoffService) -> None:
    service.create_ticket(ticket_payload(conversation_id="a"), "key")
    with pytest.raises(TicketConflict) as err:
        service.create_ticket(ticket_payload(conversation_id="b"), "key")
    assert err.value.code == "idempotency_key_reused"


def test_one_open_ticket_per_conversation(service: HandoffService, memory_session: Session) -> None:
    first, _ = service.create_ticket(ticket_payload(), "key-1")
    second, created = service.create_ticket(ticket_payload(title="Another problem"), "key-2")
    third, created_no_key = service.create_ticket(ticket_payload(), None)
    assert not created and not created_no_key
    assert second.id == third.id == first.id
    assert memory_session.execute(select(Ticket)).scalars().all() == [first]


def test_a_resolved_conversation_can_open_a_new_ticket(
    service: HandoffService, alice: Agent
) -> None:
    first, _ = service.create_ticket(ticket_payload(), "key-1")
    service.claim(first.ref, alice)
    service.resolve(first.ref, alice)
    second, created = service.create_ticket(ticket_payload(), "key-2")
    assert created and second.id != first.id


def test_database_refuses_a_second_active_ticket(
    service: HandoffService, memory_session: Session
) -> None:
    first, _ = service.create_ticket(ticket_payload(), None)
    twin = Ticket(
        conversation_id=first.conversation_id,
        category=Category.ACCOUNT,
        priority=Priority.NORMAL,
        priority_rank=2,
        status=TicketStatus.ASSIGNED,
        title="t",
        description="d",
        language="en",
        escalation_reason=EscalationReason.FALLBACK,
    )
    memory_session.add(twin)
    with pytest.raises(IntegrityError):
        memory_session.flush()


def test_transcript_becomes_messages(service: HandoffService) -> None:
    transcript = [
        {"author": "user", "text": "my USDT is gone", "at": "2025-11-25T08:00:00Z"},
        {"author": "bot", "text": "Please check the address."},
    ]
    ticket, _ = service.create_ticket(ticket_payload(transcript=transcript), None)
    messages = service.messages(ticket.ref)
    # The chat first, then the line that says the ticket was submitted.
    assert [(m.author.value, m.text) for m in messages] == [
        ("user", "my USDT is gone"),
        ("bot", "Please check the address."),
        ("system", "Ticket submitted (high priority): Self-help did not solve it"),
    ]
    assert messages[0].created_at.isoformat() == "2025-11-25T08:00:00+00:00"
    assert messages[2].created_at == ticket.created_at


def test_occurred_at_is_parsed_when_iso(service: HandoffService) -> None:
    ticket, _ = service.create_ticket(
        ticket_payload(occurred_at_text="昨天晚上9点", occurred_at="2025-11-24T21:00:00+08:00"),
        None,
    )
    assert ticket.occurred_at_text == "昨天晚上9点"
    assert ticket.occurred_at is not None
    assert ticket.occurred_at.isoformat() == "2025-11-24T13:00:00+00:00"
    plain, _ = service.create_ticket(
        ticket_payload(conversation_id="c2", occurred_at_text="yesterday"), None
    )
    assert plain.occurred_at is None


# ---------------------------------------------------------------- secrets


def _everything_stored(session: Session) -> str:
    rows = [
        *session.execute(select(Ticket)).scalars(),
        *session.execute(select(Message)).scalars(),
        *session.execute(select(AuditEvent)).scalars(),
    ]
    return json.dumps(
        [{c: str(getattr(r, c)) for c in r.__table__.columns.keys()} for r in rows],
        ensure_ascii=False,
    )


def test_seed_phrases_and_private_keys_are_never_stored(
    service: HandoffService, memory_session: Session, alice: Agent
) -> None:
    phrase = Mnemonic("english").generate(128)
    key = secrets.token_hex(32)
    tx_hash = secrets.token_hex(32)
    payload = ticket_payload(
        title=phrase,
        description=f"My seed is {phrase} and my key is {key}",
        tx_hash=tx_hash,
        summary={
            "facts": {"tx_hash": tx_hash, "notes": [f"user pasted {phrase}", key]},
            "assets": ["USDT"],
        },
        transcript=[{"author": "user", "text": f"here: {phrase}"}],
    )
    ticket, _ = service.create_ticket(payload, None)
    service.add_user_message_for_conversation("conv-1", f"private key {key}", "m-1")
    service.claim(ticket.ref, alice)
    service.add_agent_message(ticket.ref, alice, f"Nie: {phrase}")

    stored = _everything_stored(memory_session)
    assert phrase not in stored
    assert key not in stored
    words = phrase.split()
    # Not even a fragment of the phrase survives anywhere.
    assert all(" ".join(words[i : i + 3]) not in stored for i in range(len(words) - 2))
    assert ticket.title == SEED_PLACEHOLDER
    assert SEED_PLACEHOLDER in ticket.description and KEY_PLACEHOLDER in ticket.description
    assert ticket.summary["facts"]["notes"] == [f"user pasted {SEED_PLACEHOLDER}", KEY_PLACEHOLDER]
    # Transaction hashes are not secrets: labelled ones survive intact.
    assert ticket.tx_hash == tx_hash
    assert ticket.summary["facts"]["tx_hash"] == tx_hash
    texts = [m.text for m in chat_lines(service.messages(ticket.ref))]
    assert texts == [
        f"here: {SEED_PLACEHOLDER}",
        f"private key {KEY_PLACEHOLDER}",
        f"Nie: {SEED_PLACEHOLDER}",
    ]
    created = memory_session.execute(
        select(AuditEvent).where(AuditEvent.action == "ticket_created")
    ).scalar_one()
    assert set(created.detail["redacted_fields"]) == {
        "title",
        "description",
        "summary",
        "transcript",
    }


def test_a_chinese_seed_phrase_is_redacted(service: HandoffService) -> None:
    phrase = Mnemonic("chinese_simplified").generate(128)
    text = f"我的助记词是 {phrase}"
    ticket, _ = service.create_ticket(ticket_payload(description=text), None)
    assert phrase not in ticket.description
    # Stored exactly as the guard redacts it (its placeholder follows the language).
    assert ticket.description == redact(text).text != text


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "x" * 121}, "title"),
        ({"title": "   "}, "title"),
        ({"description": ""}, "description"),
        ({"description": "d" * 4001}, "description"),
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"language": "fr"}, "language"),
        ({"category": "billing"}, "category"),
        ({"escalation_reason": None}, "escalation_reason"),
        ({"conversation_id": ""}, "conversation_id"),
        ({"conversation_id": 42}, "conversation_id"),
        ({"title": 5}, "title"),
        ({"summary": ["not", "an", "object"]}, "summary"),
        ({"summary": {"blob": "x" * (33 * 1024)}}, "summary"),
        ({"summary": {"deep": [[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]}}, "summary"),
        ({"summary": {"when": object()}}, "summary"),
        ({"summary": {"amount": float("nan")}}, "summary"),
        ({"transcript": [{"author": "user", "text": "hi"}] * 501}, "transcript"),
        ({"transcript": [{"author": "agent", "text": "hi"}]}, "transcript[0].author"),
        ({"transcript": [{"author": "user", "text": ""}]}, "transcript[0].text"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2025-11-24T21:00:00"}, "occurred_at"),
    ],
)
def test_invalid_ticket_fields_are_named(
    service: HandoffService, overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationFailed) as err:
        service.create_ticket(ticket_payload(**overrides), None)
    assert err.value.field == field
    assert err.value.detail


def test_limits_are_inclusive(service: HandoffService) -> None:
    ticket, _ = service.create_ticket(ticket_payload(title="t" * 120, description="d" * 4000), None)
    assert len(ticket.title) == 120


def test_validation_messages_are_clear(service: HandoffService) -> None:
    with pytest.raises(ValidationFailed) as err:
        service.create_ticket(ticket_payload(category="billing"), None)
    assert "account, assets, trading, technical, security, policy" in err.value.detail
    with pytest.raises(ValidationFailed) as err:
        service.create_ticket(ticket_payload(title="x" * 121), None)
    assert "121" in err.value.detail and "120" in err.value.detail


def test_control_characters_are_removed(service: HandoffService) -> None:
    ticket, _ = service.create_ticket(ticket_payload(description="a\x00b\x07c\nd\te"), None)
    assert ticket.description == "abc\nd\te"


@pytest.mark.parametrize("score", [0, 6, True, "5", 4.5, None])
def test_bad_scores_are_refused(service: HandoffService, alice: Agent, score: object) -> None:
    ticket, _ = service.create_ticket(ticket_payload(), None)
    service.claim(ticket.ref, alice)
    service.resolve(ticket.ref, alice)
    with pytest.raises(ValidationFailed) as err:
        service.rate_conversation("conv-1", score)
    assert err.value.field == "score"


@pytest.mark.parametrize("text", ["", "   ", None, 7, "x" * 4001])
def test_bad_message_texts_are_refused(service: HandoffService, alice: Agent, text: object) -> None:
    ticket, _ = service.create_ticket(ticket_payload(), None)
    service.claim(ticket.ref, alice)
    with pytest.raises(ValidationFailed):
        service.add_agent_message(ticket.ref, alice, text)
    with pytest.raises(ValidationFailed):
        service.add_user_message_for_conversation("conv-1", text)


# ---------------------------------------------------------------- the ticket's life


def test_claim_is_idempotent_for_the_same_agent_and_a_conflict_for_another(
    service: HandoffService, alice: Agent, bob: Agent
) -> None:
    ticket, _ = service.create_ticket(ticket_payload(), None)
    claimed, newly = service.claim(ticket.ref, alice)
    assert newly and claimed.status is TicketStatus.ASSIGNED and claimed.assignee_id == alice.id
    again, newly_again = service.claim(ticket.ref, alice)
    assert not newly_again and again.assignee_id == alice.id
    with pytest.raises(TicketConflict) as err:
        service.claim(ticket.ref, bob)
    assert err.value.code == "claimed_by_another_agent"


def test_only_the_assignee_replies_and_the_first_reply_stops_the_clock(
    service: HandoffService, alice: Agent, bob: Agent, clock: FakeClock
) -> None:
    ticket, _ = service.create_ticket(ticket_payload(), None)
    with pytest.raises(TicketConflict) as not_claimed:
        service.add_agent_message(ticket.ref, alice, "hello")
    assert not_claimed.value.code == "ticket_not_assigned"
    service.claim(ticket.ref, alice)
    with pytest.raises(TicketConflict) as not_assignee:
        service.add_agent_message(ticket.ref, bob, "hello")
    assert not_assignee.value.code == "not_assignee"

    clock.advance(90)
    first = service.add_agent_message(ticket.ref, alice, "Hi, I am looking at it.")
    assert first.author_name == "alice"
    clock.advance(60)
    service.add_agent_message(ticket.ref, alice, "Found it.")
    ticket = service.get_ticket(ticket.ref)
    assert ticket.first_agent_reply_at == first.created_at
    assert waiting_seconds(ticket, clock.advance(1000)) == 90


def test_waiting_seconds_runs_until_the_first_reply(
    service: HandoffService, clock: FakeClock
) -> None:
    ticket, _ = service.create_ticket(ticket_payload(), None)
    assert waiting_seconds(ticket, clock.advance(42)) == 42


def test_user_messages_are_idempotent_and_refused_after_resolution(
    service: HandoffService, alice: Agent
) -> None:
    relay = service.add_user_message_for_conversation
    ticket, _ = service.create_ticket(ticket_payload(), None)
    first, created = relay("conv-1", "still waiting", "rasa-1")
    again, created_again = relay("conv-1", "still waiting", "rasa-1")
    assert created and not created_again and again.id == first.id
    relay("conv-1", "no id given")
    relay("conv-1", "no id given")
    assert len(chat_lines(service.messages(ticket.ref))) == 3
    service.claim(ticket.ref, alice)
    service.resolve(ticket.ref, alice)
    with pytest.raises(TicketConflict) as err:
        relay("conv-1", "hello?", "rasa-2")
    assert err.value.code == "ticket_not_open"
    # A late retry of a relay that was stored still succeeds.
    assert relay("conv-1", "still waiting", "rasa-1")[0].id == first.id
    with pytest.raises(TicketNotFound):
        relay("conv-2", "anyone?", "rasa-3")


def test_relays_go_to_the_conversation_s_active_ticket(
    service: HandoffService, alice: Agent
) -> None:
    old, _ = service.create_ticket(ticket_payload(), "k1")
    service.claim(old.ref, alice)
    service.resolve(old.ref, alice)
    new, _ = service.create_ticket(ticket_payload(), "k2")
    service.create_ticket(ticket_payload(conversation_id="other"), "k3")
    message, _ = service.add_user_message_for_conversation("conv-1", f"about {old.ref}", "m-9")
    assert message.ticket_id == new.id
    # Rasa's message ids are unique per conversation, not per ticket.
    again, created = service.add_user_message_for_conversation("conv-1", "x", "m-9")
    assert (again.id, created) == (message.id, False)
    other, created = service.add_user_message_for_conversation("other", "x", "m-9")
    assert created and other.id != message.id


def test_rating_goes_to_the_latest_resolved_ticket_once(
    service: HandoffService, alice: Agent
) -> None:
    ticket, _ = service.create_ticket(ticket_payload(), None)
    with pytest.raises(TicketNotFound):
        service.rate_conversation("conv-1", 5)
    service.claim(ticket.ref, alice)
    service.resolve(ticket.ref, alice)
    assert service.rate_conversation("conv-1", 4).csat == 4
    with pytest.raises(TicketConflict) as twice:
        service.rate_conversation("conv-1", 1)
    assert twice.value.code == "already_rated"
    assert service.get_ticket(ticket.ref).csat == 4
    second, _ = service.create_ticket(ticket_payload(), None)
    service.claim(second.ref, alice)
    service.resolve(second.ref, alice)
    assert service.rate_conversation("conv-1", 2).id == second.id
    with pytest.raises(TicketNotFound):
        service.rate_conversation("conv-2", 5)


def test_agent_messages_are_found_only_in_their_conversation(
    service: HandoffService, alice: Agent
) -> None:
    ticket, _ = service.create_ticket(ticket_payload(), None)
    service.create_ticket(ticket_payload(conversation_id="other"), None)
    user, _ = service.add_user_message_for_conversation("conv-1", "hello")
    service.claim(ticket.ref, alice)
    reply = service.add_agent_message(ticket.ref, alice, "Hi, alice here.")
    message, owner = service.conversation_agent_message("conv-1", str(reply.id))
    assert (message.text, message.author_name, owner.ref) == (
        "Hi, alice here.",
        "alice",
        ticket.ref,
    )
    for conversation, message_id in [("other", reply.id), ("conv-1", user.id), ("conv-1", 999)]:
        with pytest.raises(TicketNotFound):
            service.conversation_agent_message(conversation, str(message_id))
    for bad in ["0", "-3", "1e3", "٣", "2147483648", "", " 1"]:
        with pytest.raises(ValidationFailed) as err:
            service.conversation_agent_message("conv-1", bad)
        assert err.value.field == "message_id"


@pytest.mark.parametrize("cid", ["", "a b", "a/b", "x" * 65, "é", None, 7, "a\x00"])
def test_conversation_ids_must_be_in_the_safe_alphabet(
    service: HandoffService, cid: object
) -> None:
    with pytest.raises(ValidationFailed) as err:
        service.conversation_ticket(cid)  # type: ignore[arg-type]
    assert err.value.field == "conversation_id"
    with pytest.raises(ValidationFailed) as created:
        service.create_ticket(ticket_payload(conversation_id=cid), None)
    assert created.value.field == "conversation_id"


def test_a_ticket_quota_sees_only_new_tickets(service: HandoffService, alice: Agent) -> None:
    asked: list[str] = []

    def quota(conversation_id: str) -> None:
        asked.append(conversation_id)
        if len(asked) > 1:
            raise RateLimited("too many", 42)

    first, created = service.create_ticket(ticket_payload(), "k1", quota)
    assert created and asked == ["conv-1"]
    # Replays (the same key, or the open ticket) create nothing and are not counted.
    assert service.create_ticket(ticket_payload(), "k1", quota) == (first, False)
    assert service.create_ticket(ticket_payload(), "k2", quota) == (first, False)
    assert asked == ["conv-1"]
    service.claim(first.ref, alice)
    service.resolve(first.ref, alice)
    with pytest.raises(RateLimited) as refused:
        service.create_ticket(ticket_payload(), "k3", quota)
    assert refused.value.retry_after == 42
    # The refused ticket was rolled back whole: no row, no transcript, no audit event.
    assert service.conversation_ticket("conv-1").id == first.id
    with pytest.raises(TicketNotFound):
        service.get_ticket(f"T-{first.id + 1:06d}")


def test_forbidden_moves_are_conflicts(service: HandoffService, alice: Agent, bob: Agent) -> None:
    ticket, _ = service.create_ticket(ticket_payload(), None)
    with pytest.raises(TicketConflict) as open_to_resolved:
        service.resolve(ticket.ref, alice)
    assert open_to_resolved.value.code == "transition_not_allowed"
    with pytest.raises(TicketConflict) as open_to_closed:
        service.close(ticket.ref, alice)
    assert open_to_closed.value.code == "transition_not_allowed"
    service.claim(ticket.ref, alice)
    with pytest.raises(TicketConflict) as by_bob:
        service.resolve(ticket.ref, bob)
    assert by_bob.value.code == "not_assignee"
    service.resolve(ticket.ref, alice)
    with pytest.raises(TicketConflict) as reclaim:
        service.claim(ticket.ref, alice)
    assert reclaim.value.code == "transition_not_allowed"
    with pytest.raises(TicketConflict):
        service.resolve(ticket.ref, alice)
    closed = service.close(ticket.ref, alice)
    assert closed.status is TicketStatus.CLOSED and closed.closed_at is not None
    with pytest.raises(TicketConflict):
        service.claim(ticket.ref, bob)


def test_every_state_change_is_audited(service: HandoffService, alice: Agent) -> None:
    ticket, _ = service.create_ticket(ticket_payload(), None)
    service.claim(ticket.ref, alice)
    service.claim(ticket.ref, alice)  # a no-op: not audited again
    service.add_agent_message(ticket.ref, alice, "hello")
    service.add_agent_message(ticket.ref, alice, "done")
    service.resolve(ticket.ref, alice)
    service.rate_conversation("conv-1", 5)
    service.close(ticket.ref, alice)
    trail = service.audit_trail(ticket.ref)
    assert [(actor, action) for actor, action, _ in trail] == [
        ("bot", "ticket_created"),
        ("alice", "ticket_claimed"),
        ("alice", "first_agent_reply"),
        ("alice", "agent_message"),
        ("alice", "agent_message"),
        ("alice", "ticket_resolved"),
        ("bot", "ticket_rated"),
        ("alice", "ticket_closed"),
    ]
    assert "hello" not in json.dumps([detail for *_, detail in trail])


def test_unknown_refs_are_not_found(service: HandoffService, alice: Agent) -> None:
    for ref in ["T-999999", "nonsense", "T-1", "'; DROP TABLE tickets;--"]:
        with pytest.raises(TicketNotFound):
            service.get_ticket(ref)
    with pytest.raises(TicketNotFound):
        service.claim("T-999999", alice)
    with pytest.raises(TicketNotFound):
        service.conversation_ticket("nobody")


def test_conversation_ticket_prefers_the_active_one(service: HandoffService, alice: Agent) -> None:
    old, _ = service.create_ticket(ticket_payload(), "k1")
    service.claim(old.ref, alice)
    service.resolve(old.ref, alice)
    assert service.conversation_ticket("conv-1").id == old.id
    new, _ = service.create_ticket(ticket_payload(), "k2")
    assert service.conversation_ticket("conv-1").id == new.id


# ---------------------------------------------------------------- queue


def test_queue_is_urgent_first_then_oldest_first_and_pages(
    service: HandoffService, clock: FakeClock
) -> None:
    created = []
    for index, category in enumerate(
        ["account", "assets", "security", "account", "security", "assets", "policy"]
    ):
        clock.advance(10)
        ticket, _ = service.create_ticket(
            ticket_payload(conversation_id=f"c{index}", category=category), None
        )
        created.append(ticket)
    expected = sorted(created, key=lambda t: (t.priority_rank, t.created_at))
    seen = []
    cursor = None
    while True:
        page = service.list_tickets(parse_filters(), 3, cursor)
        seen.extend(page.tickets)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [t.ref for t in seen] == [t.ref for t in expected]
    assert [t.priority for t in seen[:2]] == [Priority.URGENT, Priority.URGENT]
    urgent = service.list_tickets(parse_filters(priority="urgent"), 10)
    assert len(urgent.tickets) == 2 and urgent.next_cursor is None
    assets = service.list_tickets(parse_filters(category="assets", status="open"), 10)
    assert {t.category for t in assets.tickets} == {Category.ASSETS}


def test_bad_filters_and_cursors_are_validation_errors(service: HandoffService) -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_filters(status="pending")
    assert err.value.field == "status"
    for cursor in ["garbage", "e30", "WzEsMiwzXQ"]:
        with pytest.raises(ValidationFailed) as bad:
            decode_cursor(cursor)
        assert bad.value.field == "cursor"


# ---------------------------------------------------------------- agents


def test_agent_tokens_are_stored_hashed(service: HandoffService, memory_session: Session) -> None:
    agent, token = service.add_agent("carol")
    assert agent.token_hash == hash_token(token) != token
    assert service.authenticate_agent(token).id == agent.id
    stored = memory_session.execute(select(Agent.token_hash)).scalars().all()
    assert token not in stored
    with pytest.raises(Unauthorized):
        service.authenticate_agent("wrong")
    service.deactivate_agent("carol")
    with pytest.raises(Unauthorized):
        service.authenticate_agent(token)


@pytest.mark.parametrize("name", ["", " ", "x" * 65, "<script>", "_hidden", "a/b"])
def test_bad_agent_names_are_refused(service: HandoffService, name: str) -> None:
    with pytest.raises(ValidationFailed):
        service.add_agent(name)


def test_agent_names_are_unique(service: HandoffService) -> None:
    service.add_agent("dora")
    with pytest.raises(ValidationFailed) as err:
        service.add_agent("dora")
    assert "already exists" in err.value.detail


# ---------------------------------------------------------------- settings


def test_settings_defaults_and_environment() -> None:
    defaults = Settings.from_env({})
    assert defaults.database_url == "sqlite:///state/handoff.db"
    assert (defaults.host, defaults.port, defaults.max_body_bytes) == ("0.0.0.0", 8000, 65536)
    assert defaults.bot_token is None and defaults.rasa_url == "http://localhost:5005"
    custom = Settings.from_env(
        {
            "HANDOFF_DATABASE_URL": "postgresql://db/x",
            "HANDOFF_BOT_TOKEN": "b",
            "RASA_URL": "http://rasa:5005/",
            "RASA_AUTH_TOKEN": "r",
            "HANDOFF_PORT": "9000",
        }
    )
    assert custom.rasa_url == "http://rasa:5005" and custom.port == 9000
    assert (custom.bot_token, custom.rasa_auth_token) == ("b", "r")


@pytest.mark.parametrize(
    "env", [{"HANDOFF_PORT": "http"}, {"HANDOFF_PORT": "70000"}, {"HANDOFF_MAX_PAGE_SIZE": "500"}]
)
def test_bad_settings_are_reported(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env)


# ---------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-11-24T21:00:00+08:00", "2025-11-24T13:00:00+00:00"),
        ("2025-11-24T13:00:00Z", "2025-11-24T13:00:00+00:00"),
        ("2025-11-24 13:00:00.123456z", "2025-11-24T13:00:00.123456+00:00"),
        ("2025-11-24T13:00-05:30", "2025-11-24T18:30:00+00:00"),
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00+00:00"),
    ],
)
def test_the_time_parser_reads_iso_times_with_a_zone(raw: str, expected: str) -> None:
    parsed = parse_time("occurred_at", raw)
    assert parsed is not None and parsed.isoformat() == expected


@pytest.mark.parametrize(
    "raw",
    [
        "9999-12-31T23:59:59-12:00",
        "0001-01-01T00:00:00+14:00",
        "1969-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "2025-11-24T21:00:00",
        "2025-11-24",
        "2025-02-30T10:00:00Z",
        "2025-11-24T21:00:00+24:00",
        "２０２５-１１-２４T21:00:00Z",
        "2025-11-24T21:00:00+08:00" + " " * 30,
        "yesterday",
        1732482000,
        ["2025-11-24T21:00:00Z"],
    ],
)
def test_the_time_parser_refuses_everything_else_with_the_field(raw: object) -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_time("occurred_at", raw)
    assert err.value.field == "occurred_at" and err.value.detail
    assert parse_time("occurred_at", None) is None and parse_time("occurred_at", "") is None
