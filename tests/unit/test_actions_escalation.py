"""Action tests for actions.escalation: start, submit, correct and reset a ticket."""

from __future__ import annotations

import secrets

import base58
import pytest
from rasa_sdk.events import FollowupAction, SlotSet

from actions import ticket_fields as fields
from actions.conversation_summary import build_summary, transcript
from actions.escalation import (
    REFUSED_FIELDS,
    ActionCorrectTicketField,
    ActionResetTicketForm,
    ActionStartTicket,
    ActionSubmitTicket,
    app_user_id_of,
    escalation_reason,
    idempotency_key,
    prefilled_slots,
    ticket_payload,
)
from actions.handoff_client import HandoffUnavailable
from actions.outbox import TICKET, Outbox
from actions.ticket_form import FORM_SLOTS, ValidateTicketForm
from tests.unit.action_helpers import (
    FakeFlusher,
    FakeHandoffClient,
    action_event,
    domain,
    make_tracker,
    rejected,
    responses,
    run_action,
    slot_event,
    slot_sets,
    user_event,
    user_turn,
    utter,
)
from tests.unit.test_chains import break_case, checksummed_evm_address

HELPER_SLOTS = (
    "ticket_problem", "ticket_title_suggestion", "ticket_chain", "escalation_reason",
    "ticket_open_early",
)
RESET = [SlotSet(slot, None) for slot in (*FORM_SLOTS, *HELPER_SLOTS)]
SPECIFIC = "昨天晚上9点在钱包里提了500 USDT到币安，显示成功但没到账"
TX_HASH = "0x" + secrets.token_hex(32)
TRON = base58.b58encode_check(b"\x41" + secrets.token_bytes(20)).decode()


# --------------------------------------------------------------------------- why escalate


def self_help_declined(problem_text: str = SPECIFIC, problem: str = "withdrawal_failed") -> list:
    return [
        *user_turn("你好", "greet"),
        *utter("utter_greet"),
        *user_turn(problem_text, problem),
        *utter("utter_faq_withdrawal_failed"),
        *utter("utter_ask_solved"),
        *user_turn("没有解决", "deny"),
        *utter("utter_offer_ticket"),
        *user_turn("好的", "affirm"),
    ]


def test_asking_for_a_human_is_requested_human():
    tracker = make_tracker([*user_turn("我要找人工客服", "request_human")])
    assert escalation_reason(tracker) == "requested_human"


def test_yes_to_the_offered_ticket_after_self_help_is_self_help_failed():
    assert escalation_reason(make_tracker(self_help_declined())) == "self_help_failed"


def test_human_after_two_fallbacks_is_fallback():
    events = [
        *user_turn("asdf qwer", "nlu_fallback"),
        *utter("utter_default"),
        *user_turn("zxcv", "nlu_fallback"),
        *utter("utter_fallback_twice"),
        *user_turn("/request_human", "request_human"),
    ]
    assert escalation_reason(make_tracker(events)) == "fallback"


def test_account_compromised_is_security():
    events = [
        *user_turn("我的钱包被盗了，USDT全被转走了", "account_compromised"),
        *utter("utter_compromised_first_steps"),
    ]
    assert escalation_reason(make_tracker(events)) == "security"


def test_an_older_offer_does_not_count():
    events = [
        *utter("utter_offer_ticket"),
        *user_turn("不用", "deny"),
        *utter("utter_next_step_official"),
        *user_turn("还是找人工吧", "request_human"),
    ]
    assert escalation_reason(make_tracker(events)) == "requested_human"


# --------------------------------------------------------------------------- what is already known


def test_values_from_earlier_messages_are_prefilled():
    events = [
        *user_turn(SPECIFIC, "withdrawal_failed"),
        *utter("utter_faq_withdrawal_failed"),
        *user_turn(f"哈希 {TX_HASH}，地址 {TRON}", "inform"),
        *user_turn("我的邮箱 li.lei@example.com", "inform"),
        *utter("utter_offer_ticket"),
        *user_turn("好的", "affirm"),
    ]
    assert prefilled_slots(make_tracker(events)) == {
        "ticket_problem": "withdrawal_failed",
        "ticket_category": "assets",
        "ticket_tx_hash": TX_HASH,
        "ticket_wallet_address": TRON,
        "ticket_occurred_at": "昨天晚上9点",
        "ticket_amount": "500 USDT",
        "ticket_email": "li.lei@example.com",
        "ticket_description": SPECIFIC,
    }


def test_a_vague_problem_is_not_prefilled_as_description():
    events = [*user_turn("钱包坏了", "app_malfunction"), *user_turn("转人工", "request_human")]
    assert prefilled_slots(make_tracker(events)) == {
        "ticket_problem": "app_malfunction",
        "ticket_category": "technical",
    }


def test_an_address_with_a_broken_checksum_is_not_prefilled():
    broken = break_case(checksummed_evm_address())
    events = [*user_turn(f"往 {broken} 转账失败了", "transfer_failed")]
    prefilled = prefilled_slots(make_tracker(events))
    assert "ticket_wallet_address" not in prefilled
    assert prefilled["ticket_problem"] == "transfer_failed"


def test_the_latest_email_wins():
    events = [
        *user_turn("邮箱 old@example.com", "inform"),
        *user_turn("写错了，是 new@example.com", "inform"),
    ]
    assert prefilled_slots(make_tracker(events))["ticket_email"] == "new@example.com"


def test_nothing_known_nothing_prefilled():
    assert prefilled_slots(make_tracker([*user_turn("人工", "request_human")])) == {}


# --------------------------------------------------------------------------- starting the form


def test_start_resets_the_form_and_fills_what_the_chat_said():
    events = [
        *self_help_declined(),
        *user_turn(f"哈希是 {TX_HASH}", "inform"),
        *utter("utter_offer_ticket"),
        *user_turn("好的", "affirm"),
    ]
    tracker = make_tracker(events, slots={"language": "zh", "ticket_title": "old title"})
    result, dispatcher = run_action(ActionStartTicket(), tracker)
    assert result == [
        *RESET,
        SlotSet("escalation_reason", "self_help_failed"),
        SlotSet("ticket_problem", "withdrawal_failed"),
        SlotSet("ticket_category", "assets"),
        SlotSet("ticket_tx_hash", TX_HASH),
        SlotSet("ticket_occurred_at", "昨天晚上9点"),
        SlotSet("ticket_amount", "500 USDT"),
        SlotSet("ticket_description", SPECIFIC),
    ]
    assert responses(dispatcher) == ["utter_ticket_intro"]


def test_start_for_a_human_request_with_nothing_known():
    client = FakeHandoffClient()
    tracker = make_tracker([*user_turn("I want to talk to a person", "request_human")])
    result, dispatcher = run_action(ActionStartTicket(client=client), tracker)
    assert result == [*RESET, SlotSet("escalation_reason", "requested_human")]
    assert responses(dispatcher) == ["utter_ticket_intro"]
    assert client.calls == []  # only a theft opens the ticket before the questions


def test_start_after_fallbacks():
    events = [
        *user_turn("asdf", "nlu_fallback"),
        *utter("utter_default"),
        *user_turn("qwer", "nlu_fallback"),
        *utter("utter_fallback_twice"),
        *user_turn("/request_human", "request_human"),
    ]
    client = FakeHandoffClient()
    result, dispatcher = run_action(ActionStartTicket(client=client), make_tracker(events))
    assert result == [*RESET, SlotSet("escalation_reason", "fallback")]
    assert client.calls == []
    assert responses(dispatcher) == ["utter_ticket_intro"]


def test_security_emergency_starts_an_urgent_security_ticket():
    stolen = f"钱包被盗了，1000 USDT 被转到 {TRON}"
    events = [
        *user_turn(stolen, "account_compromised"),
        *utter("utter_compromised_first_steps"),
    ]
    client = FakeHandoffClient(ref="T-000901")
    result, dispatcher = run_action(ActionStartTicket(client=client), make_tracker(events))
    assert result[: len(RESET) + 1] == [*RESET, SlotSet("escalation_reason", "security")]
    # The ticket is opened last, with what the chat already said filled in before it.
    assert result[-2:] == [SlotSet("ticket_open_early", True), SlotSet("ticket_ref", "T-000901")]
    slots = slot_sets(result[len(RESET):])
    assert {name: slots[name] for name in (
        "ticket_problem", "ticket_category", "ticket_wallet_address", "ticket_amount",
        "ticket_description",
    )} == {
        "ticket_problem": "account_compromised",
        "ticket_category": "security",
        "ticket_wallet_address": TRON,
        "ticket_amount": "1000 USDT",
        "ticket_description": stolen,
    }
    assert responses(dispatcher) == ["utter_urgent_ticket_opened"]
    assert dispatcher.messages[0]["ref"] == "T-000901"
    [(payload, _key)] = client.created
    assert payload["category"] == "security"


def test_no_second_ticket_while_an_agent_has_the_chat():
    tracker = make_tracker(
        [*user_turn("人工", "request_human")],
        slots={"handoff_active": True, "ticket_ref": "T-000123"},
    )
    result, dispatcher = run_action(ActionStartTicket(), tracker)
    assert result == []
    assert dispatcher.messages == []


# --------------------------------------------------------------------------- the ticket sent


CONFIRMED = {
    "language": "zh",
    "escalation_reason": "self_help_failed",
    "ticket_problem": "withdrawal_failed",
    "ticket_category": "assets",
    "ticket_title": "USDT 提币失败",
    "ticket_description": SPECIFIC,
    "ticket_occurred_at": "昨天晚上9点",
    "ticket_tx_hash": TX_HASH,
    "ticket_wallet_address": TRON,
    "ticket_chain": "tron",
    "ticket_email": fields.SKIPPED,
    "ticket_confirmed": True,
}


def confirmed_tracker(
    message_id: str = "msg-confirm-1", slots: dict | None = None, sender_id: str = "conv-42"
):
    events = [
        *self_help_declined(),
        action_event("action_start_ticket"),
        action_event("ticket_form"),
        *utter("utter_ask_ticket_confirmed"),
        *user_turn("确认提交", "affirm", message_id=message_id),
    ]
    return make_tracker(events, slots={**CONFIRMED, **(slots or {})}, sender_id=sender_id)


def test_ticket_payload():
    tracker = confirmed_tracker()
    payload = ticket_payload(tracker)
    assert payload == {
        "conversation_id": "conv-42",
        "category": "assets",
        "title": "USDT 提币失败",
        "description": SPECIFIC,
        "language": "zh",
        "contact_email": None,
        "tx_hash": TX_HASH,
        "wallet_address": TRON,
        "chain": "tron",
        "occurred_at_text": "昨天晚上9点",
        "amount": None,
        "occurred_at": payload["occurred_at"],
        "escalation_reason": "self_help_failed",
        "summary": build_summary(
            tracker.events, reason="self_help_failed", language="zh",
            problem="withdrawal_failed",
        ),
        "transcript": transcript(tracker.events),
    }
    assert payload["occurred_at"].endswith("T21:00:00+08:00")
    assert payload["summary"]["problem"] == "withdrawal_failed"
    assert payload["summary"]["facts"]["amount"] == ["500 USDT"]


def test_the_amount_answered_goes_into_the_ticket_and_a_skipped_one_does_not():
    assert ticket_payload(confirmed_tracker(slots={"ticket_amount": "500 USDT"}))[
        "amount"
    ] == "500 USDT"
    assert ticket_payload(confirmed_tracker(slots={"ticket_amount": fields.SKIPPED}))[
        "amount"
    ] is None


def test_the_summary_is_about_the_tickets_problem_not_a_later_one():
    tracker = confirmed_tracker()
    later = make_tracker(
        [*tracker.events, *user_turn("还有登录也不行", "login_failed")],
        slots=dict(tracker.slots), sender_id=tracker.sender_id,
    )
    summary = ticket_payload(later)["summary"]
    assert summary["problem"] == "withdrawal_failed"
    assert summary["other_problems"] == ["login_failed"]
    assert summary["self_help_given"] == ["utter_faq_withdrawal_failed"]


def test_ticket_payload_defaults():
    tracker = make_tracker([*user_turn("hi", "greet")], slots={"language": "en"})
    payload = ticket_payload(tracker)
    assert payload["category"] == "technical"
    assert payload["title"] == ""
    assert payload["description"] == ""
    assert payload["escalation_reason"] == "requested_human"
    assert payload["language"] == "en"
    assert payload["tx_hash"] is None and payload["wallet_address"] is None


def test_idempotency_key_is_conversation_and_confirming_message():
    assert idempotency_key(confirmed_tracker("abc123")) == "conv-42:abc123"
    no_id = make_tracker([], latest_message={"intent": {"name": "affirm"}}, sender_id="c")
    assert idempotency_key(no_id) == "c:no-message-id"


# --------------------------------------------------------------------------- submitting


def test_submit_creates_the_ticket_and_hands_over():
    client = FakeHandoffClient(ref="T-000777")
    tracker = confirmed_tracker()
    events, dispatcher = run_action(ActionSubmitTicket(client=client), tracker)
    assert events == [*RESET, SlotSet("ticket_ref", "T-000777"), SlotSet("handoff_active", True)]
    assert responses(dispatcher) == ["utter_ticket_created"]
    assert dispatcher.messages[0]["ref"] == "T-000777"
    assert client.created == [(ticket_payload(tracker), "conv-42:msg-confirm-1")]


def test_the_same_confirming_message_twice_has_the_same_key():
    client = FakeHandoffClient()
    run_action(ActionSubmitTicket(client=client), confirmed_tracker("msg-7"))
    run_action(ActionSubmitTicket(client=client), confirmed_tracker("msg-7"))
    keys = [key for _, key in client.created]
    assert keys == ["conv-42:msg-7", "conv-42:msg-7"]


def test_another_confirming_message_has_another_key():
    client = FakeHandoffClient()
    run_action(ActionSubmitTicket(client=client), confirmed_tracker("msg-7"))
    run_action(ActionSubmitTicket(client=client), confirmed_tracker("msg-8"))
    assert [key for _, key in client.created] == ["conv-42:msg-7", "conv-42:msg-8"]


def test_service_down_queues_the_ticket(tmp_path):
    outbox = Outbox(str(tmp_path / "outbox.db"))
    flusher = FakeFlusher()
    client = FakeHandoffClient(create_errors=[HandoffUnavailable("connection refused")])
    tracker = confirmed_tracker()
    action = ActionSubmitTicket(client=client, outbox=outbox, flusher=flusher)
    events, dispatcher = run_action(action, tracker)
    assert events == [*RESET, SlotSet("handoff_active", True), SlotSet("ticket_ref", None)]
    assert responses(dispatcher) == ["utter_ticket_queued"]
    [entry] = outbox.pending("conv-42")
    assert (entry.kind, entry.key, entry.conversation_id) == (
        TICKET, "conv-42:msg-confirm-1", "conv-42",
    )
    assert entry.payload == ticket_payload(tracker)
    assert flusher.started == 1


def test_service_down_twice_for_the_same_message_queues_one_ticket(tmp_path):
    outbox = Outbox(str(tmp_path / "outbox.db"))
    client = FakeHandoffClient(unavailable=True)
    action = ActionSubmitTicket(client=client, outbox=outbox, flusher=FakeFlusher())
    run_action(action, confirmed_tracker("msg-9"))
    run_action(action, confirmed_tracker("msg-9"))
    assert [e.key for e in outbox.pending()] == ["conv-42:msg-9"]


def test_refused_ticket_is_not_queued(tmp_path):
    outbox = Outbox(str(tmp_path / "outbox.db"))
    client = FakeHandoffClient(create_errors=[rejected("description: too short")])
    action = ActionSubmitTicket(client=client, outbox=outbox, flusher=FakeFlusher())
    events, dispatcher = run_action(action, confirmed_tracker())
    assert events == RESET
    assert responses(dispatcher) == ["utter_ticket_refused"]
    assert outbox.pending() == []


def test_not_confirmed_sends_nothing():
    client = FakeHandoffClient()
    events, dispatcher = run_action(
        ActionSubmitTicket(client=client), confirmed_tracker(slots={"ticket_confirmed": None})
    )
    assert events == RESET
    assert dispatcher.messages == []
    assert client.created == []


def test_a_ticket_already_open_is_not_sent_again():
    client = FakeHandoffClient()
    tracker = confirmed_tracker(slots={"handoff_active": True, "ticket_ref": "T-000555"})
    events, dispatcher = run_action(ActionSubmitTicket(client=client), tracker)
    assert events == RESET
    assert responses(dispatcher) == ["utter_ticket_already_open"]
    assert dispatcher.messages[0]["ref"] == "T-000555"
    assert client.created == []


# --------------------------------------------------------------------------- correcting a field


def correction(text: str, intent: str = "correct_ticket", entities: list | None = None):
    events = [
        *utter("utter_ask_ticket_confirmed"),
        action_event("action_listen"),
        user_event(text, intent, entities=entities),
    ]
    return make_tracker(events, slots=CONFIRMED, active_loop={"name": "ticket_form"})


@pytest.mark.parametrize(
    "slot", ["ticket_tx_hash", "ticket_category", "ticket_wallet_address", "ticket_amount"],
)
def test_correct_the_field_chosen_by_button(slot):
    entity = {"entity": "ticket_field", "value": slot, "start": 0, "end": 0}
    tracker = correction(f'/correct_ticket{{"ticket_field": "{slot}"}}', entities=[entity])
    events, dispatcher = run_action(ActionCorrectTicketField(), tracker)
    assert events == [SlotSet(slot, None), SlotSet("ticket_confirmed", None)]
    assert responses(dispatcher) == ["utter_ok_correct_field"]


@pytest.mark.parametrize(
    ("text", "slot"),
    [
        ("邮箱写错了", "ticket_email"),
        ("the title is wrong", "ticket_title"),
        ("交易哈希贴错了", "ticket_tx_hash"),
        ("时间不对", "ticket_occurred_at"),
        ("金额写错了", "ticket_amount"),
        ("the amount is wrong", "ticket_amount"),
    ],
)
def test_correct_the_field_named_in_words(text, slot):
    events, dispatcher = run_action(ActionCorrectTicketField(), correction(text))
    assert events == [SlotSet(slot, None), SlotSet("ticket_confirmed", None)]
    assert responses(dispatcher) == ["utter_ok_correct_field"]


def test_correct_the_email_address():
    # BUG: "地址" (address) is matched before "邮箱" (e-mail), so the wallet
    # address is cleared instead of the e-mail.
    events, _ = run_action(ActionCorrectTicketField(), correction("邮箱地址写错了"))
    assert events == [SlotSet("ticket_email", None), SlotSet("ticket_confirmed", None)]


@pytest.mark.parametrize(("text", "intent"), [("改一下", "correct_ticket"), ("不对", "deny")])
def test_unknown_field_asks_which(text, intent):
    events, dispatcher = run_action(ActionCorrectTicketField(), correction(text, intent))
    assert events == [SlotSet("ticket_confirmed", None)]
    assert responses(dispatcher) == ["utter_ask_which_field"]


def test_an_entity_that_is_not_a_form_field_asks_which():
    entity = {"entity": "ticket_field", "value": "handoff_active", "start": 0, "end": 0}
    events, dispatcher = run_action(
        ActionCorrectTicketField(), correction("/correct_ticket", entities=[entity])
    )
    assert events == [SlotSet("ticket_confirmed", None)]
    assert responses(dispatcher) == ["utter_ask_which_field"]


def asking(slot: str, text: str, entities: list | None = None):
    events = [action_event("action_listen"), user_event(text, "correct_ticket", entities=entities)]
    slots = {"language": "zh", "requested_slot": slot}
    return make_tracker(events, slots=slots, active_loop={"name": "ticket_form"})


def test_a_valid_email_typed_while_the_form_asks_for_it_is_the_answer():
    tracker = asking("ticket_email", "邮箱是 li@example.com")
    events, dispatcher = run_action(ActionCorrectTicketField(), tracker)
    assert events == [SlotSet("ticket_email", "li@example.com")]
    assert responses(dispatcher) == []


def test_a_malformed_email_typed_while_the_form_asks_for_it_gets_the_format_hint():
    tracker = asking("ticket_email", "我的邮箱是zhang@")
    events, dispatcher = run_action(ActionCorrectTicketField(), tracker)
    assert events == [SlotSet("ticket_email", None)]
    assert responses(dispatcher) == ["utter_invalid_email"]


def test_naming_another_field_while_the_form_asks_for_the_email_is_a_correction():
    tracker = asking("ticket_email", "标题写错了")
    events, dispatcher = run_action(ActionCorrectTicketField(), tracker)
    assert events == [SlotSet("ticket_title", None), SlotSet("ticket_confirmed", None)]
    assert responses(dispatcher) == ["utter_ok_correct_field"]


# --------------------------------------------------------------------------- cancelling


def test_reset_clears_every_form_slot():
    tracker = make_tracker([*user_turn("算了", "cancel")], slots=CONFIRMED)
    events, dispatcher = run_action(ActionResetTicketForm(), tracker)
    assert events == RESET
    # The action says it itself: an urgent ticket opened early would stay open.
    assert responses(dispatcher) == ["utter_ticket_cancelled"]


# --------------------------------------------------------------------------- the app's user id


def with_metadata(events: list, metadata: dict) -> list:
    """``events`` whose last user message carries ``metadata`` (as the channel sets it)."""
    events = [dict(event) for event in events]
    last = max(i for i, event in enumerate(events) if event["event"] == "user")
    events[last] = {**events[last], "metadata": {"model_id": "m1", **metadata}}
    return events


APP_USER = "wallet-user-7f3a9c"


def app_user_tracker(*turns: list) -> object:
    return make_tracker(
        [*self_help_declined(), *[event for turn in turns for event in turn]],
        slots=CONFIRMED, sender_id="u-0123456789abcdef0123456789abcdef",
    )


def test_the_app_user_id_from_the_channels_metadata_goes_into_the_ticket():
    tracker = app_user_tracker(
        with_metadata(user_turn("确认提交", "affirm"), {"app_user_id": APP_USER}),
    )
    payload = ticket_payload(tracker)
    assert payload["app_user_id"] == APP_USER
    client = FakeHandoffClient()
    run_action(ActionSubmitTicket(client=client), tracker)
    assert client.created[0][0]["app_user_id"] == APP_USER


def test_the_newest_message_with_channel_metadata_decides():
    older = with_metadata(user_turn("hi", "greet"), {"app_user_id": APP_USER})
    # Rasa's own keys alone are no channel metadata: the older message still counts.
    rasa_only = with_metadata(user_turn("确认提交", "affirm"), {"assistant_id": "a1"})
    assert app_user_id_of(app_user_tracker(older, rasa_only)) == APP_USER
    newer = with_metadata(user_turn("确认提交", "affirm"), {"channel": "socketio"})
    assert app_user_id_of(app_user_tracker(older, newer)) is None


def test_no_app_user_id_no_field():
    tracker = app_user_tracker(user_turn("确认提交", "affirm"))
    assert "app_user_id" not in ticket_payload(tracker)


@pytest.mark.parametrize("value", ["", "x" * 129, "abc\n", "a\x00b", 12345, None])
def test_a_malformed_app_user_id_is_left_out(value):
    tracker = app_user_tracker(with_metadata(user_turn("确认", "affirm"), {"app_user_id": value}))
    assert "app_user_id" not in ticket_payload(tracker)


def test_an_entity_is_never_the_app_user_id():
    forged = user_turn(
        '/affirm{"app_user_id": "someone-else"}', "affirm",
        entities=[{"entity": "app_user_id", "value": "someone-else"}],
    )
    assert "app_user_id" not in ticket_payload(app_user_tracker(forged))


# --------------------------------------------------------------------------- a refused field


def test_a_refused_field_is_asked_again_not_reported_as_an_outage(tmp_path):
    outbox = Outbox(str(tmp_path / "outbox.db"))
    client = FakeHandoffClient(create_errors=[rejected(
        "occurred_at: out of range", error_code="validation_failed", field="occurred_at",
    )])
    action = ActionSubmitTicket(client=client, outbox=outbox, flusher=FakeFlusher())
    events, dispatcher = run_action(action, confirmed_tracker())
    assert responses(dispatcher) == ["utter_invalid_time"]
    assert events == [
        SlotSet("ticket_occurred_at", None),
        SlotSet("ticket_confirmed", None),
        SlotSet("ticket_title_suggestion", None),
        FollowupAction("ticket_form"),
    ]
    assert outbox.pending() == [] and outbox.dead_letters() == []


@pytest.mark.parametrize("field", sorted(REFUSED_FIELDS))
def test_each_refusable_field_has_its_slot_and_hint(field):
    slot, hint = REFUSED_FIELDS[field]
    assert slot in FORM_SLOTS
    assert hint in domain()["responses"]
    client = FakeHandoffClient(create_errors=[rejected(error_code="validation_failed",
                                                       field=field)])
    events, dispatcher = run_action(ActionSubmitTicket(client=client), confirmed_tracker())
    assert responses(dispatcher) == [hint]
    assert events[-1] == FollowupAction("ticket_form")
    cleared = {e["name"] for e in events[:-1]}
    assert {slot, "ticket_confirmed"} <= cleared
    assert "escalation_reason" not in cleared and "ticket_problem" not in cleared


@pytest.mark.parametrize(
    "error",
    [
        rejected(status=422, error_code="validation_failed", field="summary"),
        rejected(status=422, error_code="validation_failed", field=None),
        rejected(status=400, error_code="bad_request", field="occurred_at"),
        rejected(status=409, error_code="conflict"),
    ],
)
def test_a_refusal_the_user_cannot_fix_is_said_plainly(error):
    client = FakeHandoffClient(create_errors=[error])
    events, dispatcher = run_action(ActionSubmitTicket(client=client), confirmed_tracker())
    assert responses(dispatcher) == ["utter_ticket_refused"]
    assert events == RESET


def test_the_refusal_is_logged_without_the_users_words(caplog):
    client = FakeHandoffClient(create_errors=[rejected(
        f"description: {SPECIFIC}", error_code="validation_failed", field="description",
    )])
    with caplog.at_level("DEBUG"):
        run_action(ActionSubmitTicket(client=client), confirmed_tracker())
    assert "validation_failed" in caplog.text
    assert SPECIFIC not in caplog.text and "USDT" not in caplog.text


def test_the_reopened_form_keeps_every_other_answer_without_a_word():
    """What Rasa does next: the form re-opens and checks the values it already has."""
    slots = {**CONFIRMED, "ticket_email": fields.SKIPPED, "ticket_title": "我的 USDT 没到",
             "ticket_title_suggestion": "USDT 提币未到账"}
    tracker = confirmed_tracker(slots=slots)
    client = FakeHandoffClient(create_errors=[rejected(error_code="validation_failed",
                                                       field="occurred_at")])
    events, _ = run_action(ActionSubmitTicket(client=client), tracker)
    after = {**slots, **slot_sets(events[:-1])}
    kept = {slot: after[slot] for slot in FORM_SLOTS if after.get(slot) is not None}
    assert "ticket_occurred_at" not in kept and "ticket_confirmed" not in kept
    reopened = make_tracker(
        [*tracker.events, action_event("action_submit_ticket"), action_event("ticket_form"),
         *[slot_event(slot, value) for slot, value in kept.items()]],
        slots=after,
        active_loop={"name": "ticket_form"},
        sender_id=tracker.sender_id,
    )
    validated, dispatcher = run_action(ValidateTicketForm(), reopened)
    assert dispatcher.messages == []
    values = slot_sets(validated)
    assert {slot: values[slot] for slot in kept} == kept
    assert values.get("requested_slot") in (None, "ticket_occurred_at")
