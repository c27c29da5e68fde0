"""Action tests for actions.ticket_status: 'where is my ticket?'."""

from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet

from actions.outbox import MESSAGE, RATING, TICKET, Outbox
from actions.ticket_status import ActionCheckTicketStatus, status_text
from tests.unit.action_helpers import (
    FakeHandoffClient,
    make_tracker,
    responses,
    run_action,
    user_turn,
)

SENDER = "conv-status"


@pytest.fixture
def outbox(tmp_path) -> Outbox:
    return Outbox(str(tmp_path / "outbox.db"))


def status_tracker(language: str = "zh", slots: dict | None = None):
    return make_tracker(
        [*user_turn("我的工单怎么样了", "check_ticket_status")],
        slots={"language": language, **(slots or {})},
        sender_id=SENDER,
    )


def ticket(status: str, assignee: str | None = None) -> dict:
    return {"ref": "T-000321", "status": status, "assignee": assignee, "priority": "high"}


def test_queued_ticket_is_reported_as_queued(outbox):
    outbox.put(TICKET, f"{SENDER}:m1", SENDER, {"title": "USDT 提币失败"})
    client = FakeHandoffClient(tickets={SENDER: ticket("open")})
    events, dispatcher = run_action(ActionCheckTicketStatus(client=client, outbox=outbox),
                                    status_tracker())
    assert events == []
    assert responses(dispatcher) == ["utter_ticket_status_queued"]
    assert client.lookups == []


def test_another_conversations_queued_ticket_does_not_count(outbox):
    outbox.put(TICKET, "someone-else:m1", "someone-else", {"title": "x"})
    client = FakeHandoffClient(tickets={SENDER: ticket("open")})
    _, dispatcher = run_action(ActionCheckTicketStatus(client=client, outbox=outbox),
                               status_tracker())
    assert responses(dispatcher) == ["utter_ticket_status"]


def test_assigned_ticket_names_the_agent(outbox):
    client = FakeHandoffClient(tickets={SENDER: ticket("assigned", "Alice")})
    events, dispatcher = run_action(ActionCheckTicketStatus(client=client, outbox=outbox),
                                    status_tracker())
    assert events == [SlotSet("ticket_ref", "T-000321")]
    assert responses(dispatcher) == ["utter_ticket_status"]
    message = dispatcher.messages[0]
    assert (message["ref"], message["status"]) == ("T-000321", "客服 Alice 正在处理")
    assert client.lookups == [SENDER]


def test_assigned_ticket_in_english(outbox):
    client = FakeHandoffClient(tickets={SENDER: ticket("assigned", "Alice")})
    _, dispatcher = run_action(ActionCheckTicketStatus(client=client, outbox=outbox),
                               status_tracker("en"))
    assert dispatcher.messages[0]["status"] == "being handled by Alice"


def test_open_ticket_waits_for_an_agent(outbox):
    client = FakeHandoffClient(tickets={SENDER: ticket("open")})
    events, dispatcher = run_action(ActionCheckTicketStatus(client=client, outbox=outbox),
                                    status_tracker())
    assert events == [SlotSet("ticket_ref", "T-000321")]
    assert dispatcher.messages[0]["status"] == "已提交，等待客服接单"


def test_no_ticket_yet(outbox):
    client = FakeHandoffClient()
    events, dispatcher = run_action(ActionCheckTicketStatus(client=client, outbox=outbox),
                                    status_tracker())
    assert events == []
    assert responses(dispatcher) == ["utter_no_ticket_yet"]


def test_service_unreachable(outbox):
    client = FakeHandoffClient(unavailable=True)
    events, dispatcher = run_action(ActionCheckTicketStatus(client=client, outbox=outbox),
                                    status_tracker())
    assert events == []
    assert responses(dispatcher) == ["utter_service_unreachable"]


@pytest.mark.parametrize("kind", [RATING, MESSAGE])
def test_a_queued_rating_or_message_is_not_a_queued_ticket(outbox, kind):
    # BUG: any queued entry of the conversation (a rating after the ticket was
    # resolved, a relayed message) makes the bot say the ticket itself is
    # still waiting to be submitted, although the service has it.
    payload = (
        {"ref": "T-000321", "score": 5} if kind == RATING
        else {"text": "还在吗", "external_id": "m9"}
    )
    outbox.put(kind, f"{SENDER}:{kind}", SENDER, payload)
    client = FakeHandoffClient(tickets={SENDER: ticket("resolved", "Alice")})
    events, dispatcher = run_action(ActionCheckTicketStatus(client=client, outbox=outbox),
                                    status_tracker())
    assert responses(dispatcher) == ["utter_ticket_status"]
    assert events == [SlotSet("ticket_ref", "T-000321")]


@pytest.mark.parametrize(
    ("status", "language", "text"),
    [
        ("open", "en", "submitted, waiting for an agent"),
        ("resolved", "zh", "已解决"),
        ("resolved", "en", "resolved"),
        ("closed", "zh", "已关闭"),
        ("escalated", "en", "escalated"),
    ],
)
def test_status_text(status, language, text):
    assert status_text(ticket(status), language) == text
