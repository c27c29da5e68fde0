"""Chat events: each use case emits its event in its own unit of work, whoever calls it."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from handoff_service import events
from handoff_service import notification_outbox as outbox
from handoff_service.errors import RateLimited, TicketConflict
from handoff_service.models import Agent
from handoff_service.services import HandoffService
from tests.handoff.helpers import ticket_payload


def _emitted(session: Session, conversation_id: str = "conv-1") -> list[tuple[str, dict]]:
    return [
        (row.intent, dict(row.entities or {}))
        for row in outbox.list_for_conversation(session, conversation_id)
    ]


def test_use_cases_called_directly_emit_their_events(
    service: HandoffService, alice: Agent
) -> None:
    # No app, no API: what the CLI or any other entry point gets.
    ticket, _ = service.create_ticket(ticket_payload(), None)
    assert _emitted(service.session) == []
    service.claim(ticket.ref, alice)
    reply = service.add_agent_message(ticket.ref, alice, "On it")
    service.resolve(ticket.ref, alice)
    assert _emitted(service.session) == [
        (events.AGENT_JOINED, {}),
        (events.AGENT_MESSAGE, {events.MESSAGE_ID_ENTITY: reply.id}),
        (events.TICKET_RESOLVED, {}),
    ]


def test_a_late_ticket_tells_the_chat_its_reference(service: HandoffService) -> None:
    service.create_ticket(ticket_payload(delivered_late=True), None)
    assert _emitted(service.session) == [(events.TICKET_CREATED, {})]


def test_an_event_rolls_back_with_its_unit_of_work(service: HandoffService) -> None:
    def refuse(_conversation_id: str) -> None:
        raise RateLimited("too many tickets", 60)

    with pytest.raises(RateLimited):
        service.create_ticket(ticket_payload(delivered_late=True), None, quota=refuse)
    assert _emitted(service.session) == []


def test_a_refused_action_emits_nothing(
    service: HandoffService, alice: Agent, bob: Agent
) -> None:
    ticket, _ = service.create_ticket(ticket_payload(), None)
    service.claim(ticket.ref, alice)
    with pytest.raises(TicketConflict):
        service.claim(ticket.ref, bob)
    with pytest.raises(TicketConflict):
        service.add_agent_message(ticket.ref, bob, "Mine now")
    assert [name for name, _ in _emitted(service.session)] == [events.AGENT_JOINED]


def test_emitting_marks_the_session_for_the_wake_on_commit(service: HandoffService) -> None:
    ticket, _ = service.create_ticket(ticket_payload(), None)
    service.session.info.pop(outbox.NOTIFICATIONS_QUEUED, None)
    events.emit(service.session, ticket, events.agent_joined(), service.clock())
    assert service.session.info[outbox.NOTIFICATIONS_QUEUED] is True


def test_only_the_chat_events_can_be_emitted() -> None:
    assert {events.agent_joined().name, events.agent_message(1).name,
            events.ticket_resolved().name, events.ticket_created_late().name} == events.CHAT_EVENTS
    with pytest.raises(ValueError):
        events.ChatEvent("agent_left")
