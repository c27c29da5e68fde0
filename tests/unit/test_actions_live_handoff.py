"""Action tests for actions.live_handoff: nothing a user types chooses a ticket, name or text.

A user can type ``/agent_message{"agent_text": ...}`` or
``/ticket_resolved{"ticket_ref": ...}`` into the widget; the forged entities
below stand for that. Every action asks the handoff service instead, by this
conversation's id.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet

from actions import live_handoff
from actions.handoff_client import HandoffUnavailable
from actions.live_handoff import (
    ActionAgentJoined,
    ActionDeliverAgentMessage,
    ActionRelayToAgent,
    ActionTicketDelivered,
    ActionTicketResolved,
)
from actions.outbox import BOT_MESSAGE, MESSAGE, RATING, TICKET, Outbox
from actions.rating import ActionStoreRating
from tests.unit.action_helpers import (
    FakeFlusher,
    FakeHandoffClient,
    domain,
    make_tracker,
    rejected,
    responses,
    run_action,
    slot_sets,
    user_turn,
)

SENDER = "u-0123456789abcdef0123456789abcdef"
SECRET_TEXT = "提币 500 USDT 到 TXyz 还没到账"
FORGED = [
    {"entity": "ticket_ref", "value": "T-000001"},
    {"entity": "agent_name", "value": "Official Security Team"},
    {"entity": "agent_text", "value": "Please send us your recovery phrase"},
]


@pytest.fixture
def outbox(tmp_path) -> Outbox:
    return Outbox(str(tmp_path / "outbox.db"))


@pytest.fixture(autouse=True)
def quick_patience(monkeypatch):
    monkeypatch.setattr(live_handoff, "SERVICE_READ_PAUSE_SECONDS", 0.0)


def service_turn(intent: str, entities: list[dict[str, Any]], slots: dict | None = None):
    """A message with an intent only the service should trigger, as the tracker holds it."""
    return make_tracker(
        [*user_turn(f"/{intent}", intent, entities=entities)],
        slots={"language": "zh", **(slots or {})},
        sender_id=SENDER,
    )


def ticket(status: str, assignee: str | None = None, ref: str = "T-000777") -> dict:
    return {"ref": ref, "status": status, "assignee": assignee, "conversation_id": SENDER}


def no_user_text_in(caplog: pytest.LogCaptureFixture, *texts: str) -> None:
    for text in texts:
        assert text not in caplog.text


# --------------------------------------------------------------------------- relay


def relay_tracker(text: str = SECRET_TEXT, *, slots: dict | None = None, entities=None):
    return make_tracker(
        [*user_turn(text, "inform", message_id="msg-1", entities=entities)],
        slots={"language": "zh", "handoff_active": True, **(slots or {})},
        sender_id=SENDER,
    )


def relay_action(client, outbox, flusher=None) -> ActionRelayToAgent:
    return ActionRelayToAgent(client=client, outbox=outbox, flusher=flusher or FakeFlusher())


def test_relay_goes_by_conversation_never_by_a_ref_the_user_could_set(outbox):
    client = FakeHandoffClient()
    tracker = relay_tracker(slots={"ticket_ref": "T-000001"}, entities=FORGED)
    events, dispatcher = run_action(relay_action(client, outbox), tracker)
    assert client.relayed == [(SENDER, SECRET_TEXT, "msg-1")]
    assert responses(dispatcher) == ["utter_handoff_waiting"]
    assert events == [
        SlotSet("handoff_notice_given", True), SlotSet("last_relayed_message", "msg-1"),
    ]


def test_relay_notice_is_given_once_and_commands_are_not_relayed(outbox):
    client = FakeHandoffClient()
    tracker = relay_tracker("/agent_message", slots={"handoff_notice_given": True})
    events, dispatcher = run_action(relay_action(client, outbox), tracker)
    assert (events, dispatcher.messages, client.relayed) == ([], [], [])


def test_relay_queues_when_the_service_is_down(outbox, caplog):
    client = FakeHandoffClient(unavailable=True)
    flusher = FakeFlusher()
    with caplog.at_level(logging.DEBUG):
        run_action(relay_action(client, outbox, flusher), relay_tracker())
    [entry] = outbox.pending(SENDER)
    assert (entry.kind, entry.key, entry.payload) == (
        MESSAGE, f"{SENDER}:msg-1", {"text": SECRET_TEXT, "external_id": "msg-1"},
    )
    assert flusher.started == 1
    no_user_text_in(caplog, SECRET_TEXT, "USDT")


def test_relay_waits_behind_the_conversations_queued_ticket(outbox):
    outbox.put(TICKET, f"{SENDER}:m0", SENDER, {"title": "x"})
    client = FakeHandoffClient()
    run_action(relay_action(client, outbox), relay_tracker())
    assert client.relayed == []
    assert [e.key for e in outbox.pending(SENDER)] == [f"{SENDER}:m0", f"{SENDER}:msg-1"]


def test_a_queued_rating_does_not_make_new_messages_wait(outbox):
    outbox.put(RATING, f"{SENDER}:rating:T-1", SENDER, {"score": 5})
    client = FakeHandoffClient()
    run_action(relay_action(client, outbox), relay_tracker())
    assert client.relayed == [(SENDER, SECRET_TEXT, "msg-1")]


@pytest.mark.parametrize(
    ("status", "code"), [(409, "ticket_not_open"), (404, "not_found")],
)
def test_no_open_ticket_gives_the_message_back_to_the_bot(outbox, status, code):
    client = FakeHandoffClient(
        relay_errors=[rejected(status=status, error_code=code)],
        tickets={SENDER: ticket("resolved", "Alice", ref="T-000555")},
    )
    tracker = relay_tracker(slots={"handoff_notice_given": True})
    events, dispatcher = run_action(relay_action(client, outbox), tracker)
    assert responses(dispatcher) == ["utter_handoff_over"]
    assert dispatcher.messages[0]["ref"] == "T-000555"
    slots, (listen, copy) = events[:-2], events[-2:]
    assert SlotSet("handoff_active", False) in slots
    assert SlotSet("ticket_ref", "T-000555") in slots
    # The same message comes back as a fresh turn, so the bot answers it; a
    # fallback's rewind would undo only this copy, never the end of the handoff.
    assert listen["event"] == "action" and listen["name"] == "action_listen"
    assert copy["event"] == "user" and copy["text"] == SECRET_TEXT
    assert copy["message_id"] == "msg-1"
    assert copy["parse_data"]["intent"]["name"] == "inform"
    assert outbox.pending() == [] and outbox.dead_letters() == []


def test_messages_written_while_the_relay_was_down_are_caught_up_in_order(outbox):
    tracker = make_tracker(
        [
            *user_turn("first", "inform", message_id="m-1"),
            *user_turn("/affirm", "affirm", message_id="m-btn"),
            *user_turn("second", "inform", message_id="m-2"),
            *user_turn("third", "inform", message_id="m-3"),
        ],
        slots={"language": "en", "handoff_active": True, "handoff_notice_given": True,
               "last_relayed_message": "m-1"},
        sender_id=SENDER,
    )
    client = FakeHandoffClient()
    events, _ = run_action(relay_action(client, outbox), tracker)
    assert client.relayed == [(SENDER, "second", "m-2"), (SENDER, "third", "m-3")]
    assert events == [SlotSet("last_relayed_message", "m-3")]


def test_an_outage_is_said_once_and_every_message_waits_in_order(outbox):
    client = FakeHandoffClient(unavailable=True)
    events, dispatcher = run_action(
        relay_action(client, outbox), relay_tracker(slots={"handoff_notice_given": True})
    )
    assert responses(dispatcher) == ["utter_message_kept"]
    assert SlotSet("relay_backlog_notice_given", True) in events
    _, dispatcher = run_action(
        relay_action(client, outbox),
        relay_tracker(slots={"handoff_notice_given": True, "relay_backlog_notice_given": True}),
    )
    assert responses(dispatcher) == []


def test_another_refusal_keeps_the_message_as_a_dead_letter(outbox, caplog):
    client = FakeHandoffClient(relay_errors=[rejected(
        f"text: {SECRET_TEXT}", status=422, error_code="validation_failed", field="text",
    )])
    with caplog.at_level(logging.DEBUG):
        events, dispatcher = run_action(
            relay_action(client, outbox), relay_tracker(slots={"handoff_notice_given": True})
        )
    # Kept as a dead letter, it is not relayed again at every turn.
    assert (events, dispatcher.messages) == ([SlotSet("last_relayed_message", "msg-1")], [])
    [dead] = outbox.dead_letters()
    assert (dead.key, dead.kind, dead.status, dead.error_code, dead.field) == (
        f"{SENDER}:msg-1", MESSAGE, 422, "validation_failed", "text",
    )
    assert f"{SENDER}:msg-1" in caplog.text
    no_user_text_in(caplog, SECRET_TEXT, "USDT")


# --------------------------------------------------------------------------- secret in handoff


SECRET_REDACTED = "我的助记词是 [redacted seed phrase]"


def warning_text(language: str) -> str:
    """The warning the widget showed, as the domain has it for ``language``."""
    for variation in domain()["responses"]["utter_secret_warning"]:
        languages = {c.get("value") for c in variation.get("condition") or []}
        if language in languages or (not languages and language == "en"):
            return variation["text"]
    raise AssertionError(f"no {language} warning")


def secret_tracker(language: str, slots: dict | None = None):
    return make_tracker(
        [*user_turn(SECRET_REDACTED, "share_secret", message_id="msg-s")],
        slots={"language": language, "handoff_active": True, "handoff_notice_given": True,
               **(slots or {})},
        sender_id=SENDER,
    )


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_secret_warning_follows_the_users_line_in_the_tickets_transcript(outbox, language):
    client = FakeHandoffClient()
    events, dispatcher = run_action(relay_action(client, outbox), secret_tracker(language))
    assert responses(dispatcher) == ["utter_secret_warning"]
    assert client.calls == [("relay_user_message", SENDER), ("add_bot_message", SENDER)]
    assert client.relayed == [(SENDER, SECRET_REDACTED, "msg-s")]
    assert client.bot_messages == [(SENDER, warning_text(language), "msg-s:warning")]
    assert events == [SlotSet("last_relayed_message", "msg-s")]
    assert outbox.pending() == []


def test_the_warning_is_in_the_conversations_language():
    assert warning_text("zh") != warning_text("en")
    assert "助记词" in warning_text("zh")
    assert "seed phrase" in warning_text("en")


def test_no_warning_line_for_an_ordinary_message(outbox):
    client = FakeHandoffClient()
    run_action(relay_action(client, outbox), relay_tracker(slots={"handoff_notice_given": True}))
    assert client.bot_messages == []


def test_the_warning_line_is_queued_behind_the_users_line_when_the_service_is_down(outbox):
    client = FakeHandoffClient(unavailable=True)
    flusher = FakeFlusher()
    run_action(relay_action(client, outbox, flusher), secret_tracker("zh"))
    assert client.bot_messages == []  # not tried: it must not overtake the queued line
    assert [(e.kind, e.key, e.payload) for e in outbox.pending(SENDER)] == [
        (MESSAGE, f"{SENDER}:msg-s", {"text": SECRET_REDACTED, "external_id": "msg-s"}),
        (BOT_MESSAGE, f"{SENDER}:msg-s:warning",
         {"text": warning_text("zh"), "message_id": "msg-s:warning"}),
    ]
    assert flusher.started >= 1


def test_the_warning_line_waits_behind_a_queued_ticket(outbox):
    outbox.put(TICKET, f"{SENDER}:m0", SENDER, {"title": "x"})
    client = FakeHandoffClient()
    run_action(relay_action(client, outbox), secret_tracker("en"))
    assert client.calls == []
    assert [(e.kind, e.key) for e in outbox.pending(SENDER)] == [
        (TICKET, f"{SENDER}:m0"), (MESSAGE, f"{SENDER}:msg-s"),
        (BOT_MESSAGE, f"{SENDER}:msg-s:warning"),
    ]


def test_a_warning_line_the_service_cannot_take_now_is_queued(outbox):
    client = FakeHandoffClient(bot_message_errors=[HandoffUnavailable("503", status=503)])
    run_action(relay_action(client, outbox), secret_tracker("zh"))
    assert client.relayed == [(SENDER, SECRET_REDACTED, "msg-s")]
    [entry] = outbox.pending(SENDER)
    assert (entry.kind, entry.key) == (BOT_MESSAGE, f"{SENDER}:msg-s:warning")


def test_a_refused_warning_line_is_logged_not_queued(outbox, caplog):
    client = FakeHandoffClient(bot_message_errors=[rejected(status=422, field="text")])
    with caplog.at_level(logging.DEBUG):
        _, dispatcher = run_action(relay_action(client, outbox), secret_tracker("zh"))
    assert responses(dispatcher) == ["utter_secret_warning"]
    assert outbox.pending() == [] and outbox.dead_letters() == []
    no_user_text_in(caplog, SECRET_REDACTED, warning_text("zh"))


def test_the_same_secret_message_twice_gives_the_same_warning_id(outbox):
    client = FakeHandoffClient()
    run_action(relay_action(client, outbox), secret_tracker("zh"))
    run_action(relay_action(client, outbox), secret_tracker("zh"))
    assert {message_id for _, _, message_id in client.bot_messages} == {"msg-s:warning"}


# --------------------------------------------------------------------------- agent messages


AGENT_MESSAGE = {
    "id": 42, "author": "agent", "author_name": "Alice", "text": "您好，请提供交易哈希。",
    "created_at": "2026-11-05T09:00:00Z", "ticket_ref": "T-000777",
}


def deliver(client, entities) -> tuple[list, Any]:
    return run_action(
        ActionDeliverAgentMessage(client=client), service_turn("agent_message", entities)
    )


@pytest.mark.parametrize("message_id", [42, "42"])
def test_the_agent_message_shown_is_the_one_the_service_holds(message_id):
    client = FakeHandoffClient(messages={(SENDER, 42): AGENT_MESSAGE})
    events, dispatcher = deliver(client, [*FORGED, {"entity": "message_id", "value": message_id}])
    assert events == []
    assert client.fetched == [(SENDER, 42)]
    assert [m["custom"] for m in dispatcher.messages] == [
        {"data": {"type": "agent", "agent_name": "Alice", "text": "您好，请提供交易哈希。",
                  "message_id": 42}},
    ]


def test_forged_text_and_name_without_an_id_show_nothing():
    client = FakeHandoffClient(messages={(SENDER, 42): AGENT_MESSAGE})
    events, dispatcher = deliver(client, FORGED)
    assert (events, dispatcher.messages, client.fetched) == ([], [], [])


@pytest.mark.parametrize("message_id", ["../../tickets/T-1", "4 2", "", True, None, "1" * 19])
def test_an_id_that_is_not_a_number_is_not_sent_to_the_service(message_id):
    client = FakeHandoffClient(messages={(SENDER, 42): AGENT_MESSAGE})
    _, dispatcher = deliver(client, [{"entity": "message_id", "value": message_id}])
    assert (dispatcher.messages, client.fetched) == ([], [])


def test_another_conversations_message_is_a_404_and_shows_nothing():
    # Message 42 belongs to someone else: the service answers 404 for this conversation.
    client = FakeHandoffClient(messages={("someone-else", 42): AGENT_MESSAGE})
    events, dispatcher = deliver(client, [{"entity": "message_id", "value": 42}])
    assert (events, dispatcher.messages) == ([], [])
    assert client.fetched == [(SENDER, 42)]


class FlakyClient(FakeHandoffClient):
    """Unavailable for the first ``failures`` calls of ``agent_message``."""

    def __init__(self, failures: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.failures = failures

    def agent_message(self, conversation_id: str, message_id: int | str) -> dict[str, Any]:
        if self.failures:
            self.failures -= 1
            self.fetched.append((conversation_id, message_id))
            raise HandoffUnavailable("503", status=503)
        return super().agent_message(conversation_id, message_id)


def test_a_short_outage_is_waited_out():
    client = FlakyClient(live_handoff.SERVICE_READ_ATTEMPTS - 1,
                         messages={(SENDER, 42): AGENT_MESSAGE})
    _, dispatcher = deliver(client, [{"entity": "message_id", "value": 42}])
    assert len(client.fetched) == live_handoff.SERVICE_READ_ATTEMPTS
    assert dispatcher.messages[0]["custom"]["data"]["text"] == AGENT_MESSAGE["text"]


def test_a_longer_outage_shows_nothing_and_logs_the_id_only(caplog):
    client = FlakyClient(99, messages={(SENDER, 42): AGENT_MESSAGE})
    with caplog.at_level(logging.DEBUG):
        events, dispatcher = deliver(client, [*FORGED, {"entity": "message_id", "value": 42}])
    assert (events, dispatcher.messages) == ([], [])
    assert len(client.fetched) == live_handoff.SERVICE_READ_ATTEMPTS
    assert "42" in caplog.text
    no_user_text_in(caplog, AGENT_MESSAGE["text"], "recovery phrase")


def test_a_message_that_is_not_an_agents_is_not_shown():
    user_message = {**AGENT_MESSAGE, "author": "user"}
    client = FakeHandoffClient(messages={(SENDER, 42): user_message})
    _, dispatcher = deliver(client, [{"entity": "message_id", "value": 42}])
    assert dispatcher.messages == []


# --------------------------------------------------------------------------- agent joined


def test_the_agent_named_is_the_tickets_assignee_not_the_entity():
    client = FakeHandoffClient(tickets={SENDER: ticket("assigned", "Alice")})
    events, dispatcher = run_action(
        ActionAgentJoined(client=client), service_turn("agent_joined", FORGED)
    )
    assert responses(dispatcher) == ["utter_agent_joined"]
    assert dispatcher.messages[0]["agent_name"] == "Alice"
    assert events == [SlotSet("ticket_ref", "T-000777"), SlotSet("handoff_active", True)]
    assert client.lookups == [SENDER]


@pytest.mark.parametrize(
    "tickets",
    [{}, {SENDER: ticket("open")}, {SENDER: ticket("resolved", "Alice")},
     {"someone-else": ticket("assigned", "Alice")}],
)
def test_no_assigned_ticket_no_notice(tickets):
    client = FakeHandoffClient(tickets=tickets)
    events, dispatcher = run_action(
        ActionAgentJoined(client=client), service_turn("agent_joined", FORGED)
    )
    assert (events, dispatcher.messages) == ([], [])


def test_agent_joined_while_the_service_is_down_says_nothing():
    client = FakeHandoffClient(unavailable=True)
    events, dispatcher = run_action(
        ActionAgentJoined(client=client), service_turn("agent_joined", FORGED)
    )
    assert (events, dispatcher.messages) == ([], [])
    assert len(client.lookups) == live_handoff.SERVICE_READ_ATTEMPTS


# --------------------------------------------------------------------------- agent in form


FORM_CLEARED = [
    "ticket_category", "ticket_title", "ticket_description", "ticket_occurred_at",
    "ticket_amount", "ticket_tx_hash", "ticket_wallet_address", "ticket_email",
    "ticket_confirmed", "ticket_open_early", "requested_slot",
]


def during_the_form(intent: str, entities: list[dict[str, Any]], slots: dict | None = None):
    """A service notification while the urgent ticket's questions are still being asked."""
    return make_tracker(
        [*user_turn(f"EXTERNAL: {intent}", intent, entities=entities)],
        slots={
            "language": "zh", "ticket_open_early": True, "ticket_ref": "T-000777",
            "requested_slot": "ticket_amount", "ticket_category": "security",
            "ticket_title": "USDT 资产被盗（紧急）", **(slots or {}),
        },
        sender_id=SENDER,
        active_loop={"name": "ticket_form"},
    )


def test_an_agent_who_joins_during_the_form_ends_it():
    client = FakeHandoffClient(tickets={SENDER: ticket("assigned", "Alice")})
    events, dispatcher = run_action(
        ActionAgentJoined(client=client), during_the_form("agent_joined", [])
    )
    assert responses(dispatcher) == ["utter_agent_joined"]
    assert events[0] == ActiveLoop(None)
    slots = slot_sets(events[1:])
    assert {name: slots[name] for name in FORM_CLEARED} == dict.fromkeys(FORM_CLEARED)
    assert (slots["ticket_ref"], slots["handoff_active"]) == ("T-000777", True)


def test_an_agents_reply_during_the_form_is_shown_and_ends_it():
    client = FakeHandoffClient(messages={(SENDER, 42): AGENT_MESSAGE})
    events, dispatcher = run_action(
        ActionDeliverAgentMessage(client=client),
        during_the_form("agent_message", [{"entity": "message_id", "value": 42}]),
    )
    assert dispatcher.messages[0]["custom"]["data"]["text"] == AGENT_MESSAGE["text"]
    assert events[0] == ActiveLoop(None)
    slots = slot_sets(events[1:])
    assert {name: slots[name] for name in FORM_CLEARED} == dict.fromkeys(FORM_CLEARED)
    assert slots["handoff_active"] is True
    assert "ticket_ref" not in slots  # the urgent ticket's reference stays


def test_an_agents_reply_that_cannot_be_shown_leaves_the_form():
    client = FakeHandoffClient(messages={})
    events, dispatcher = run_action(
        ActionDeliverAgentMessage(client=client),
        during_the_form("agent_message", [{"entity": "message_id", "value": 42}]),
    )
    assert (events, dispatcher.messages) == ([], [])


def test_an_agent_who_has_not_taken_the_ticket_leaves_the_form():
    client = FakeHandoffClient(tickets={SENDER: ticket("open")})
    events, _ = run_action(ActionAgentJoined(client=client), during_the_form("agent_joined", []))
    assert events == []


def test_a_queued_urgent_ticket_arriving_during_its_questions_lets_them_go_on():
    client = FakeHandoffClient(tickets={SENDER: ticket("open", ref="T-000888")})
    events, dispatcher = run_action(
        ActionTicketDelivered(client=client),
        during_the_form("ticket_created", [], slots={"ticket_ref": None}),
    )
    assert responses(dispatcher) == ["utter_ticket_created"]
    assert events == [SlotSet("ticket_ref", "T-000888")]


def test_a_late_ticket_outside_an_urgent_form_hands_over():
    client = FakeHandoffClient(tickets={SENDER: ticket("open", ref="T-000888")})
    events, _ = run_action(
        ActionTicketDelivered(client=client),
        during_the_form("ticket_created", [], slots={"ticket_open_early": None}),
    )
    assert events == [SlotSet("ticket_ref", "T-000888"), SlotSet("handoff_active", True)]


# --------------------------------------------------------------------------- ticket created


def test_a_late_ticket_is_announced_with_the_services_reference():
    client = FakeHandoffClient(tickets={SENDER: ticket("open", ref="T-000888")})
    events, dispatcher = run_action(
        ActionTicketDelivered(client=client), service_turn("ticket_created", FORGED)
    )
    assert responses(dispatcher) == ["utter_ticket_created"]
    assert dispatcher.messages[0]["ref"] == "T-000888"
    assert events == [SlotSet("ticket_ref", "T-000888"), SlotSet("handoff_active", True)]


@pytest.mark.parametrize("tickets", [{}, {SENDER: ticket("closed")}])
def test_no_open_ticket_nothing_announced(tickets):
    client = FakeHandoffClient(tickets=tickets)
    events, dispatcher = run_action(
        ActionTicketDelivered(client=client), service_turn("ticket_created", FORGED)
    )
    assert (events, dispatcher.messages) == ([], [])


# --------------------------------------------------------------------------- ticket resolved


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_a_resolved_ticket_hands_back_with_the_services_reference(status):
    client = FakeHandoffClient(tickets={SENDER: ticket(status, "Alice", ref="T-000999")})
    events, dispatcher = run_action(
        ActionTicketResolved(client=client),
        service_turn("ticket_resolved", FORGED, slots={"ticket_ref": "T-000001"}),
    )
    assert responses(dispatcher) == ["utter_ticket_resolved"]
    assert dispatcher.messages[0]["ref"] == "T-000999"
    assert events == [
        SlotSet("handoff_active", False),
        SlotSet("handoff_notice_given", None),
        SlotSet("last_relayed_message", None),
        SlotSet("relay_backlog_notice_given", None),
        SlotSet("ticket_ref", "T-000999"),
        SlotSet("csat", None),
    ]


def test_a_resolve_the_user_already_heard_of_only_asks_for_the_rating():
    client = FakeHandoffClient(tickets={SENDER: ticket("resolved", "Alice", ref="T-000999")})
    events, dispatcher = run_action(
        ActionTicketResolved(client=client),
        service_turn(
            "ticket_resolved", [], slots={"ticket_ref": "T-000999", "handoff_active": False}
        ),
    )
    assert responses(dispatcher) == []
    assert SlotSet("csat", None) in events


def test_a_notification_delivered_twice_takes_effect_once():
    client = FakeHandoffClient(messages={(SENDER, 42): AGENT_MESSAGE})
    entities = [{"entity": "message_id", "value": 42}, {"entity": "notification_id", "value": 7}]
    tracker = make_tracker(
        [
            *user_turn("EXTERNAL: agent_message", "agent_message", entities=entities),
            *user_turn("EXTERNAL: agent_message", "agent_message", entities=entities),
        ],
        slots={"language": "zh", "handoff_active": True},
        sender_id=SENDER,
    )
    events, dispatcher = run_action(ActionDeliverAgentMessage(client=client), tracker)
    assert (events, dispatcher.messages, client.fetched) == ([], [], [])
    first = make_tracker(
        [*user_turn("EXTERNAL: agent_message", "agent_message", entities=entities)],
        slots={"language": "zh", "handoff_active": True},
        sender_id=SENDER,
    )
    _, dispatcher = run_action(ActionDeliverAgentMessage(client=client), first)
    assert len(dispatcher.messages) == 1


@pytest.mark.parametrize(
    ("tickets", "unavailable"),
    [({SENDER: ticket("assigned", "Alice")}, False), ({SENDER: ticket("open")}, False),
     ({}, False), ({SENDER: ticket("resolved")}, True)],
)
def test_a_forged_resolution_does_nothing_and_skips_the_rating_form(tickets, unavailable):
    client = FakeHandoffClient(tickets=tickets, unavailable=unavailable)
    events, dispatcher = run_action(
        ActionTicketResolved(client=client), service_turn("ticket_resolved", FORGED)
    )
    assert dispatcher.messages == []
    assert events == [FollowupAction("action_listen")]


# --------------------------------------------------------------------------- rating


def rating_tracker(csat: Any, ticket_ref: str | None = "T-000001"):
    return make_tracker(
        [*user_turn("5", "inform", message_id="msg-r")],
        slots={"language": "zh", "csat": csat, "ticket_ref": ticket_ref},
        sender_id=SENDER,
    )


@pytest.mark.parametrize("ticket_ref", ["T-000001", None])
def test_the_rating_goes_to_the_conversation(ticket_ref):
    client = FakeHandoffClient()
    events, dispatcher = run_action(
        ActionStoreRating(client=client), rating_tracker("4", ticket_ref)
    )
    assert client.ratings == [(SENDER, 4)]
    assert responses(dispatcher) == ["utter_thanks_rating"]
    assert events == [SlotSet("csat", None)]


def test_the_rating_is_queued_when_the_service_is_down(outbox):
    client = FakeHandoffClient(unavailable=True)
    action = ActionStoreRating(client=client, outbox=outbox, flusher=FakeFlusher())
    _, dispatcher = run_action(action, rating_tracker("5"))
    [entry] = outbox.pending(SENDER)
    assert (entry.kind, entry.key, entry.payload) == (
        RATING, f"{SENDER}:rating:T-000001", {"score": 5},
    )
    assert responses(dispatcher) == ["utter_thanks_rating"]


def test_an_already_rated_ticket_still_thanks_the_user():
    client = FakeHandoffClient(rate_errors=[rejected(status=409, error_code="already_rated")])
    _, dispatcher = run_action(ActionStoreRating(client=client), rating_tracker("5"))
    assert responses(dispatcher) == ["utter_thanks_rating"]


@pytest.mark.parametrize("csat", [None, "skipped", "9", "five"])
def test_no_score_nothing_sent(csat):
    client = FakeHandoffClient()
    _, dispatcher = run_action(ActionStoreRating(client=client), rating_tracker(csat))
    assert client.ratings == []
    assert responses(dispatcher) == ["utter_rating_skipped"]
