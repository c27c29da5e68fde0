"""Action tests for the theft emergency: the urgent ticket opened before the form's questions.

For stolen funds the ticket reaches the agents' queue right after the safety
steps (``ActionStartTicket``); each answer of the form is then added to it
(``ValidateTicketForm.run`` -> ``PATCH``), submitting completes it and
cancelling stops the questions without withdrawing it. When the service is
down the ticket and every later detail wait in the outbox, in order.
"""

from __future__ import annotations

import asyncio
import hashlib
import json

import base58
import pytest
from rasa_sdk.events import SlotSet

from actions import early_ticket
from actions import ticket_fields as fields
from actions.conversation_summary import build_summary, collect_facts, transcript
from actions.early_ticket import add_details, details_in
from actions.escalation import (
    ActionResetTicketForm,
    ActionStartTicket,
    ActionSubmitTicket,
    urgent_ticket_payload,
)
from actions.handoff_client import NoSuchTicket
from actions.outbox import MESSAGE, TICKET, TICKET_UPDATE, Outbox, flush
from actions.ticket_form import FORM_SLOTS, ValidateTicketForm
from tests.unit.action_helpers import (
    FakeFlusher,
    FakeHandoffClient,
    action_event,
    domain,
    form_turn,
    make_tracker,
    rejected,
    responses,
    run_action,
    slot_sets,
    user_turn,
    utter,
)

SENDER = "u-5b1c0e7f9a2d4c6e8f0a1b2c3d4e5f60"
# Fixed made-up values: they name parametrised tests, which parallel workers must
# collect identically.
TRON = base58.b58encode_check(b"\x41" + hashlib.sha256(b"tron").digest()[:20]).decode()
TX_HASH = "0x" + hashlib.sha256(b"tx-hash").hexdigest()
STOLEN_ZH = f"钱包被盗了，1000 USDT 被转到 {TRON}"
STOLEN_EN = "My wallet was hacked, 0.5 ETH is gone"
SECRET_LINE = "助记词是 [redacted seed phrase]"
HELPER_SLOTS = (
    "ticket_problem", "ticket_title_suggestion", "ticket_chain", "escalation_reason",
    "ticket_open_early",
)
RESET = [SlotSet(slot, None) for slot in (*FORM_SLOTS, *HELPER_SLOTS)]


@pytest.fixture
def outbox(tmp_path) -> Outbox:
    return Outbox(str(tmp_path / "outbox.db"))


@pytest.fixture
def flusher() -> FakeFlusher:
    return FakeFlusher()


@pytest.fixture
def service(monkeypatch, outbox, flusher):
    """The shared collaborators the form's validation uses, replaced by fakes.

    Returns a function that installs a ``FakeHandoffClient`` built from its
    keyword arguments and gives it back.
    """
    monkeypatch.setattr(early_ticket, "shared_outbox", lambda: outbox)
    monkeypatch.setattr(early_ticket, "shared_flusher", lambda: flusher)

    def install(**kwargs) -> FakeHandoffClient:
        client = FakeHandoffClient(**kwargs)
        monkeypatch.setattr(early_ticket, "shared_client", lambda: client)
        return client

    return install


def theft_chat(stolen: str = STOLEN_ZH, *, message_id: str = "msg-theft") -> list[dict]:
    """A theft reported after a leaked seed phrase: the safety steps, then the ticket."""
    return [
        *user_turn("你好", "greet"),
        *utter("utter_greet"),
        *user_turn(SECRET_LINE, "share_secret"),
        *utter("utter_secret_warning"),
        *user_turn(stolen, "account_compromised", message_id=message_id),
        *utter("utter_compromised_first_steps"),
    ]


def start(client, *, events=None, language="zh", outbox=None, flusher=None):
    tracker = make_tracker(
        events if events is not None else theft_chat(), slots={"language": language},
        sender_id=SENDER,
    )
    action = ActionStartTicket(client=client, outbox=outbox, flusher=flusher or FakeFlusher())
    return (*run_action(action, tracker), tracker)


# --------------------------------------------------------------------------- opened at once


def test_a_theft_opens_the_urgent_ticket_before_any_question():
    client = FakeHandoffClient(ref="T-000321")
    events, dispatcher, tracker = start(client)
    assert responses(dispatcher) == ["utter_urgent_ticket_opened"]
    assert dispatcher.messages[0]["ref"] == "T-000321"
    assert events[-2:] == [SlotSet("ticket_open_early", True), SlotSet("ticket_ref", "T-000321")]
    [(payload, key)] = client.created
    assert key == f"{SENDER}:msg-theft"
    assert payload["conversation_id"] == SENDER
    assert payload["category"] == "security"
    assert payload["escalation_reason"] == "security"
    assert payload["language"] == "zh"
    assert payload["title"] == fields.suggested_title(
        "account_compromised", collect_facts(tracker.events), "zh"
    ) == "USDT 资产被盗（紧急）"
    assert payload["description"] == STOLEN_ZH
    assert payload["wallet_address"] == TRON
    assert payload["amount"] == "1000 USDT"
    assert payload["transcript"] == transcript(tracker.events)
    assert payload["summary"] == build_summary(
        tracker.events, reason="security", language="zh", problem="account_compromised"
    )
    assert payload["summary"]["problem"] == "account_compromised"
    assert payload["summary"]["self_help_given"] == ["utter_compromised_first_steps"]
    # Nothing empty is sent: the service would refuse a null field it checks.
    assert None not in payload.values()


def test_the_urgent_ticket_describes_the_theft_in_the_users_words_only():
    events = [
        *theft_chat(),
        *user_turn("对方还把 USDT 转到别的地址了", "account_compromised"),
    ]
    client = FakeHandoffClient()
    start(client, events=events)
    [(payload, _)] = client.created
    assert payload["description"] == f"{STOLEN_ZH} / 对方还把 USDT 转到别的地址了"
    # The message that held the secret is no problem description; only its redacted
    # form is in the transcript, where the agent sees the warning that followed.
    assert "redacted" not in payload["description"]
    assert "助记词" not in payload["description"]
    assert SECRET_LINE in [line["text"] for line in payload["transcript"]]


def test_the_urgent_ticket_in_english():
    client = FakeHandoffClient()
    start(client, events=theft_chat(STOLEN_EN), language="en")
    [(payload, _)] = client.created
    assert payload["language"] == "en"
    assert payload["description"] == STOLEN_EN
    assert payload["amount"] == "0.5 ETH"
    assert payload["title"] == fields.suggested_title(
        "account_compromised", {"asset": ["ETH"]}, "en"
    )


def test_the_urgent_ticket_carries_the_app_user_id():
    events = theft_chat()
    events[-3] = {**events[-3], "metadata": {"app_user_id": "wallet-user-1"}}
    client = FakeHandoffClient()
    start(client, events=events)
    assert client.created[0][0]["app_user_id"] == "wallet-user-1"


def test_other_reasons_open_no_ticket_at_the_start():
    client = FakeHandoffClient()
    events, dispatcher, _ = start(client, events=[
        *user_turn("提币失败了", "withdrawal_failed"),
        *utter("utter_offer_ticket"),
        *user_turn("好的", "affirm"),
    ])
    assert responses(dispatcher) == ["utter_ticket_intro"]
    assert client.calls == []
    assert "ticket_open_early" not in {k for k, v in slot_sets(events).items() if v}


def test_urgent_payload_needs_no_prefilled_values():
    tracker = make_tracker(
        [*user_turn("被盗了", "account_compromised")], slots={"language": "zh"}, sender_id=SENDER
    )
    payload = urgent_ticket_payload(tracker, {})
    assert payload["description"] == "被盗了"
    assert payload["title"]
    assert {"tx_hash", "wallet_address", "amount", "occurred_at"}.isdisjoint(payload)


# --------------------------------------------------------------------------- down, or refused


def test_service_down_queues_the_urgent_ticket(outbox, flusher):
    client = FakeHandoffClient(unavailable=True)
    events, dispatcher, _ = start(client, outbox=outbox, flusher=flusher)
    assert responses(dispatcher) == ["utter_urgent_ticket_queued"]
    assert events[-2:] == [SlotSet("ticket_open_early", True), SlotSet("ticket_ref", None)]
    [entry] = outbox.pending(SENDER)
    assert (entry.kind, entry.key) == (TICKET, f"{SENDER}:msg-theft")
    assert entry.payload == client.created[0][0]
    assert entry.payload["category"] == "security"
    assert flusher.started == 1


def test_a_refused_urgent_ticket_falls_back_to_the_form(outbox):
    client = FakeHandoffClient(create_errors=[rejected("title: too short")])
    events, dispatcher, _ = start(client, outbox=outbox)
    assert responses(dispatcher) == ["utter_ticket_intro_urgent"]
    slots = slot_sets(events)
    assert not slots.get("ticket_open_early")
    assert slots["ticket_category"] == "security"
    assert outbox.pending() == []


def test_after_a_refusal_the_confirmed_form_creates_the_ticket():
    client = FakeHandoffClient(ref="T-000444")
    _, dispatcher = run_action(ActionSubmitTicket(client=client), confirmed())
    assert responses(dispatcher) == ["utter_ticket_created"]
    assert len(client.created) == 1 and client.updated == []


# --------------------------------------------------------------------------- each answer


def answering(slot: str, text: str, *, early: bool | None = True, value=None, slots=None):
    """The user's answer to the urgent form's question for ``slot``."""
    candidate = text if value is None else value
    return make_tracker(
        [
            *theft_chat(),
            action_event("action_start_ticket"),
            action_event("ticket_form"),
            *form_turn(text, slot, candidate, message_id="msg-answer"),
        ],
        slots={
            "language": "zh", "ticket_problem": "account_compromised",
            "ticket_category": "security", "escalation_reason": "security",
            "ticket_open_early": early, "ticket_ref": "T-000321" if early else None,
            "requested_slot": slot, **(slots or {}), slot: candidate,
        },
        active_loop={"name": "ticket_form"},
        sender_id=SENDER,
    )


@pytest.mark.parametrize(
    ("slot", "text", "details"),
    [
        ("ticket_amount", "大概 1000 USDT", {"amount": "1000 USDT"}),
        ("ticket_amount", "五百多", {"amount": "五百多"}),
        ("ticket_tx_hash", f"哈希 {TX_HASH}", {"tx_hash": TX_HASH}),
        ("ticket_wallet_address", TRON, {"wallet_address": TRON, "chain": "tron"}),
        ("ticket_email", "li.lei@example.com", {"contact_email": "li.lei@example.com"}),
        ("ticket_title", "钱包被盗 1000 USDT", {"title": "钱包被盗 1000 USDT"}),
    ],
)
def test_each_accepted_answer_is_added_to_the_urgent_ticket(service, slot, text, details):
    client = service()
    events, dispatcher = run_action(ValidateTicketForm(), answering(slot, text))
    assert dispatcher.messages == []
    assert client.updated == [(SENDER, details)]
    assert client.created == []
    assert slot_sets(events)[slot] is not None


def test_a_time_is_added_as_written_and_as_a_moment(service):
    client = service()
    run_action(ValidateTicketForm(), answering("ticket_occurred_at", "昨天晚上9点"))
    [(_, details)] = client.updated
    assert details["occurred_at_text"] == "昨天晚上9点"
    assert details["occurred_at"].endswith("T21:00:00+08:00")


def test_a_time_that_is_no_moment_is_added_as_written_only(service):
    client = service()
    tracker = answering("ticket_occurred_at", "a while ago", slots={"language": "en"})
    run_action(ValidateTicketForm(), tracker)
    assert client.updated == [(SENDER, {"occurred_at_text": "a while ago"})]


@pytest.mark.parametrize(
    ("slot", "text"),
    [("ticket_amount", "跳过"), ("ticket_tx_hash", "skip"), ("ticket_occurred_at", "不记得了"),
     ("ticket_wallet_address", "不知道"), ("ticket_email", "跳过")],
)
def test_a_skipped_answer_is_a_line_but_no_detail(service, slot, text):
    client = service()
    events, _ = run_action(ValidateTicketForm(), answering(slot, text))
    assert slot_sets(events)[slot] == fields.SKIPPED
    # The agent reads what the user typed; no field is filled with it.
    assert client.calls == [("relay_user_message", SENDER)]
    assert client.relayed == [(SENDER, text, "msg-answer")]


@pytest.mark.parametrize(
    ("slot", "text"),
    [("ticket_amount", "banana"), ("ticket_tx_hash", "12345"), ("ticket_email", "li.lei@")],
)
def test_a_refused_answer_is_a_line_but_no_detail(service, slot, text):
    client = service()
    _, dispatcher = run_action(ValidateTicketForm(), answering(slot, text))
    assert dispatcher.messages  # the hint is shown, the question asked again
    assert client.calls == [("relay_user_message", SENDER)]
    assert client.updated == []


def test_the_answer_to_the_hash_question_is_relayed_with_that_context(service):
    client = service()
    run_action(ValidateTicketForm(), answering("ticket_tx_hash", TX_HASH))
    assert client.relayed == [(SENDER, TX_HASH, "msg-answer")]
    assert client.relayed_as_hash_answer == [True]
    run_action(ValidateTicketForm(), answering("ticket_amount", "1000 USDT"))
    assert client.relayed_as_hash_answer == [True, False]


def test_a_line_comes_before_the_detail_it_fills(service):
    client = service()
    run_action(ValidateTicketForm(), answering("ticket_amount", "1000 USDT"))
    assert client.calls == [("relay_user_message", SENDER), ("update_ticket", SENDER)]


@pytest.mark.parametrize("early", [None, False])
def test_answers_of_an_ordinary_form_are_not_sent_early(service, early):
    client = service()
    run_action(ValidateTicketForm(), answering("ticket_amount", "1000 USDT", early=early))
    assert client.calls == []


def test_an_answer_while_the_service_is_down_waits_behind_the_ticket(service, outbox, flusher):
    outbox.put(TICKET, f"{SENDER}:msg-theft", SENDER, {"conversation_id": SENDER})
    client = service(unavailable=True)
    events, _ = run_action(ValidateTicketForm(), answering("ticket_amount", "1000 USDT"))
    assert slot_sets(events)["ticket_amount"] == "1000 USDT"
    assert [(e.kind, e.key, e.payload) for e in outbox.pending(SENDER)] == [
        (TICKET, f"{SENDER}:msg-theft", {"conversation_id": SENDER}),
        (MESSAGE, f"{SENDER}:msg-answer", {"text": "1000 USDT", "external_id": "msg-answer"}),
        (TICKET_UPDATE, f"{SENDER}:msg-answer:details", {"amount": "1000 USDT"}),
    ]
    assert flusher.started == 2
    # Behind a queued ticket nothing is even tried: it would only get a 404.
    assert client.updated == [] and client.relayed == []


def test_an_answer_for_a_ticket_already_gone_is_dropped_quietly(service, outbox):
    client = service(update_errors=[NoSuchTicket("/api/conversations/x/ticket")])
    events, dispatcher = run_action(ValidateTicketForm(), answering("ticket_amount", "1000 USDT"))
    assert slot_sets(events)["ticket_amount"] == "1000 USDT"  # the form goes on
    assert dispatcher.messages == []
    assert outbox.pending() == [] and outbox.dead_letters() == []
    assert len(client.updated) == 1


def test_a_refused_detail_does_not_stop_the_form(service, outbox):
    service(update_errors=[rejected(status=422, field="amount")])
    events, dispatcher = run_action(ValidateTicketForm(), answering("ticket_amount", "1000 USDT"))
    assert slot_sets(events)["ticket_amount"] == "1000 USDT"
    assert dispatcher.messages == []
    assert outbox.pending() == []


def test_an_answer_after_the_service_is_back_still_waits_behind_the_queued_ticket(
    service, outbox
):
    # The urgent ticket was queued; the service is back but the outbox has not
    # delivered it yet, so the service knows no ticket for this conversation.
    outbox.put(TICKET, f"{SENDER}:msg-theft", SENDER, {"conversation_id": SENDER})
    service(update_errors=[NoSuchTicket("/api/conversations/x/ticket")])
    run_action(ValidateTicketForm(), answering("ticket_amount", "1000 USDT"))
    assert [e.kind for e in outbox.pending(SENDER)] == [TICKET, MESSAGE, TICKET_UPDATE]


def test_queued_ticket_and_answers_reach_the_service_in_order(service, outbox, flusher):
    client = service(unavailable=True)
    start(client, outbox=outbox, flusher=flusher)
    run_action(ValidateTicketForm(), answering(
        "ticket_amount", "1000 USDT", slots={"ticket_ref": None}
    ))
    tracker = answering("ticket_tx_hash", TX_HASH, slots={"ticket_ref": None})
    tracker.latest_message["message_id"] = "msg-answer-2"
    run_action(ValidateTicketForm(), tracker)
    assert [e.kind for e in outbox.pending(SENDER)] == [
        TICKET, MESSAGE, TICKET_UPDATE, MESSAGE, TICKET_UPDATE
    ]
    back = FakeHandoffClient(ref="T-000555")
    assert flush(outbox, back) == 5
    assert back.calls == [
        ("create_ticket", SENDER),
        ("relay_user_message", SENDER), ("update_ticket", SENDER),
        ("relay_user_message", SENDER), ("update_ticket", SENDER),
    ]
    # The hash answer keeps its context through the outbox too.
    assert back.relayed_as_hash_answer == [False, True]
    assert back.created[0][0]["delivered_late"] is True
    assert [details for _, details in back.updated] == [
        {"amount": "1000 USDT"}, {"tx_hash": TX_HASH},
    ]


def test_details_in_keeps_only_real_answers():
    events = [
        SlotSet("ticket_amount", "1000 USDT"),
        SlotSet("ticket_tx_hash", fields.SKIPPED),
        SlotSet("ticket_email", None),
        SlotSet("ticket_title", ""),
        SlotSet("requested_slot", "ticket_email"),
        SlotSet("ticket_confirmed", True),
        SlotSet("ticket_category", "security"),
        SlotSet("ticket_wallet_address", TRON),
        SlotSet("ticket_chain", "tron"),
    ]
    assert details_in(events) == {"amount": "1000 USDT", "wallet_address": TRON, "chain": "tron"}


def test_nothing_to_add_calls_nothing(outbox):
    client = FakeHandoffClient()
    assert asyncio.run(add_details(SENDER, {}, "k", client=client, outbox=outbox)) is True
    assert client.calls == []


# --------------------------------------------------------------------------- completing it


CONFIRMED = {
    "language": "zh",
    "escalation_reason": "security",
    "ticket_problem": "account_compromised",
    "ticket_category": "security",
    "ticket_title": "USDT 资产被盗（紧急）",
    "ticket_description": STOLEN_ZH,
    "ticket_occurred_at": "昨天晚上9点",
    "ticket_amount": "1000 USDT",
    "ticket_tx_hash": fields.SKIPPED,
    "ticket_wallet_address": TRON,
    "ticket_chain": "tron",
    "ticket_email": fields.SKIPPED,
    "ticket_confirmed": True,
}


def confirmed(**slots):
    events = [
        *theft_chat(),
        action_event("action_start_ticket"),
        action_event("ticket_form"),
        *utter("utter_ask_ticket_confirmed"),
        *user_turn("确认提交", "affirm", message_id="msg-confirm"),
    ]
    return make_tracker(events, slots={**CONFIRMED, **slots}, sender_id=SENDER)


def test_completing_adds_every_detail_and_hands_over():
    client = FakeHandoffClient()
    tracker = confirmed(ticket_open_early=True, ticket_ref="T-000321")
    events, dispatcher = run_action(ActionSubmitTicket(client=client), tracker)
    assert client.created == []
    [(conversation, details)] = client.updated
    assert conversation == SENDER
    assert set(details) == {
        "title", "description", "wallet_address", "chain", "occurred_at_text", "occurred_at",
        "amount", "summary",
    }  # skipped hash and e-mail are not sent
    assert details["amount"] == "1000 USDT"
    assert details["occurred_at"].endswith("T21:00:00+08:00")
    assert details["summary"]["problem"] == "account_compromised"
    assert responses(dispatcher) == ["utter_urgent_ticket_completed"]
    assert dispatcher.messages[0]["ref"] == "T-000321"
    assert events == [*RESET, SlotSet("ticket_ref", "T-000321"), SlotSet("handoff_active", True)]


def test_completing_never_claims_details_the_service_did_not_take():
    client = FakeHandoffClient(update_errors=[NoSuchTicket("/api/conversations/x/ticket")])
    tracker = confirmed(ticket_open_early=True, ticket_ref="T-000321")
    events, dispatcher = run_action(ActionSubmitTicket(client=client), tracker)
    assert responses(dispatcher) == ["utter_urgent_ticket_details_not_added"]
    assert events[-1] == SlotSet("handoff_active", True)


def test_completing_a_queued_ticket_says_it_is_saved(outbox, flusher):
    client = FakeHandoffClient(unavailable=True)
    tracker = confirmed(ticket_open_early=True, ticket_ref=None)
    action = ActionSubmitTicket(client=client, outbox=outbox, flusher=flusher)
    events, dispatcher = run_action(action, tracker)
    assert responses(dispatcher) == ["utter_ticket_queued"]
    assert events[-2:] == [SlotSet("ticket_ref", None), SlotSet("handoff_active", True)]
    [entry] = outbox.pending(SENDER)
    assert (entry.kind, entry.key) == (TICKET_UPDATE, f"{SENDER}:msg-confirm:complete")
    assert entry.payload["amount"] == "1000 USDT"
    assert flusher.started == 1
    assert client.created == []


def test_completing_is_not_a_second_ticket_even_when_the_first_is_unreachable(outbox):
    client = FakeHandoffClient(unavailable=True)
    action = ActionSubmitTicket(client=client, outbox=outbox, flusher=FakeFlusher())
    run_action(action, confirmed(ticket_open_early=True, ticket_ref="T-000321"))
    assert [e.kind for e in outbox.pending()] == [TICKET_UPDATE]
    assert client.created == []


def test_nothing_is_sent_for_an_unconfirmed_urgent_form():
    client = FakeHandoffClient()
    events, dispatcher = run_action(
        ActionSubmitTicket(client=client),
        confirmed(ticket_open_early=True, ticket_ref="T-000321", ticket_confirmed=None),
    )
    assert (client.calls, dispatcher.messages) == ([], [])
    assert events == RESET


# --------------------------------------------------------------------------- cancelling


def test_cancel_stops_the_questions_and_the_urgent_ticket_stays_open():
    tracker = make_tracker(
        [*theft_chat(), *user_turn("算了", "cancel")],
        slots={**CONFIRMED, "ticket_confirmed": None, "ticket_open_early": True,
               "ticket_ref": "T-000321"},
        sender_id=SENDER,
    )
    events, dispatcher = run_action(ActionResetTicketForm(), tracker)
    assert responses(dispatcher) == ["utter_urgent_ticket_stays_open"]
    assert dispatcher.messages[0]["ref"] == "T-000321"
    assert events == [*RESET, SlotSet("ticket_ref", "T-000321"), SlotSet("handoff_active", True)]


def test_cancel_before_a_queued_urgent_ticket_has_its_number():
    tracker = make_tracker(
        [*theft_chat(), *user_turn("cancel", "cancel")],
        slots={"language": "en", "ticket_open_early": True, "ticket_ref": None},
        sender_id=SENDER,
    )
    events, dispatcher = run_action(ActionResetTicketForm(), tracker)
    assert responses(dispatcher) == ["utter_urgent_ticket_stays_open"]
    assert dispatcher.messages[0]["ref"] == "—"
    assert slot_sets(events)["handoff_active"] is True


def test_the_urgent_messages_exist_in_both_languages():
    for name in ("utter_urgent_ticket_opened", "utter_urgent_ticket_queued",
                 "utter_urgent_ticket_completed", "utter_urgent_ticket_stays_open"):
        variations = domain()["responses"][name]
        languages = {
            c.get("value") for v in variations for c in v.get("condition") or []
        }
        assert languages == {"zh"} and len(variations) == 2, name
        texts = json.dumps(variations, ensure_ascii=False)
        assert ("{ref}" in texts) is (name != "utter_urgent_ticket_queued"), name
