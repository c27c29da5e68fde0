"""From a chat to a ticket: start the form with what is known, submit it, fix or drop it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import ticket_fields as fields
from actions.conversation_summary import (
    build_summary,
    collect_facts,
    latest_problem,
    problem_messages,
    transcript,
    user_turns,
)
from actions.early_ticket import EARLY_SLOT, add_details
from actions.handoff_client import HandoffRejected, HandoffUnavailable
from actions.outbox import TICKET
from actions.runtime import ServiceAction
from actions.ticket_form import FORM_SLOTS, language_of
from support_core.chains import InvalidValue, check_address, check_tx_hash
from support_core.patterns import (
    REASON_FALLBACK,
    REASON_REQUESTED_HUMAN,
    REASON_SECURITY,
    REASON_SELF_HELP_FAILED,
)

logger = logging.getLogger(__name__)

_HELPER_SLOTS = (
    "ticket_problem", "ticket_title_suggestion", "ticket_chain", "escalation_reason", EARLY_SLOT,
)
# What completing an urgent ticket sends: every field the form can change, and the summary.
_DETAIL_FIELDS = (
    "title", "description", "contact_email", "tx_hash", "wallet_address", "chain",
    "occurred_at_text", "occurred_at", "amount", "summary",
)
_APP_USER_ID_MAX = 128
_RASA_METADATA_KEYS = frozenset({"model_id", "assistant_id"})

# A ticket field the service refused -> the form slot that holds it and the hint shown,
# in the words the form itself uses when it refuses a value.
REFUSED_FIELDS: dict[str, tuple[str, str]] = {
    "category": ("ticket_category", "utter_invalid_category"),
    "title": ("ticket_title", "utter_invalid_title"),
    "description": ("ticket_description", "utter_description_too_vague"),
    "occurred_at": ("ticket_occurred_at", "utter_invalid_time"),
    "occurred_at_text": ("ticket_occurred_at", "utter_invalid_time"),
    "amount": ("ticket_amount", "utter_invalid_amount"),
    "tx_hash": ("ticket_tx_hash", "utter_invalid_tx_hash"),
    "wallet_address": ("ticket_wallet_address", "utter_invalid_address"),
    "chain": ("ticket_wallet_address", "utter_invalid_address"),
    "contact_email": ("ticket_email", "utter_invalid_email"),
}


def _last_bot_action_before_user(events: list[dict[str, Any]]) -> str | None:
    seen_user = False
    for event in reversed(events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif seen_user and event.get("event") == "action":
            name = event.get("name") or ""
            if name.startswith("utter_"):
                return name
    return None


def escalation_reason(tracker: Tracker) -> str:
    """Why this chat is becoming a ticket, for the agent and the reports."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent == "account_compromised":
        return REASON_SECURITY
    previous = _last_bot_action_before_user(tracker.events)
    if previous == "utter_fallback_twice":
        return REASON_FALLBACK
    if previous == "utter_offer_ticket":
        return REASON_SELF_HELP_FAILED
    return REASON_REQUESTED_HUMAN


def _valid(check: Any, value: str | None) -> str | None:
    if not value:
        return None
    try:
        return check(value).value
    except InvalidValue:
        return None


def prefilled_slots(tracker: Tracker) -> dict[str, Any]:
    """Form values the user already gave earlier in the chat."""
    events = tracker.events
    facts = collect_facts(events)
    problem = latest_problem(events)
    values: dict[str, Any] = {
        "ticket_problem": problem,
        "ticket_category": fields.category_for(problem),
        "ticket_tx_hash": _valid(check_tx_hash, (facts.get("tx_hash") or [None])[0]),
        "ticket_wallet_address": _valid(check_address, (facts.get("address") or [None])[0]),
        "ticket_occurred_at": (facts.get("time") or [None])[0],
        "ticket_amount": (facts.get("amount") or [None])[0],
    }
    for event in user_turns(events):
        email = fields.email_in(event["text"])
        if email and fields.valid_email(email):
            values["ticket_email"] = email
    description = " / ".join(problem_messages(events))
    if description and fields.is_specific(description):
        values["ticket_description"] = description[:4000]
    return {slot: value for slot, value in values.items() if value is not None}


class ActionStartTicket(ServiceAction):
    """Prepares the ticket form: reason, category and every value already known.

    For stolen funds the ticket itself is opened first, so agents see it in the
    queue at once; the form's answers are then added to it.
    """

    def name(self) -> str:
        """Runs right before ``ticket_form``."""
        return "action_start_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Reset the form, then fill what the chat already says."""
        if tracker.get_slot("handoff_active"):
            return []
        reason = escalation_reason(tracker)
        events: list[EventType] = [SlotSet(slot, None) for slot in FORM_SLOTS + _HELPER_SLOTS]
        events.append(SlotSet("escalation_reason", reason))
        prefilled = prefilled_slots(tracker)
        if reason == REASON_SECURITY:
            prefilled["ticket_category"] = "security"
            prefilled["ticket_problem"] = "account_compromised"
            # One question fewer for a user in a hurry; the summary lets them change it.
            prefilled["ticket_title"] = fields.suggested_title(
                "account_compromised", collect_facts(tracker.events), language_of(tracker)
            )
            events += [SlotSet(slot, value) for slot, value in prefilled.items()]
            return events + await self._open_urgent_ticket(dispatcher, tracker, prefilled)
        events += [SlotSet(slot, value) for slot, value in prefilled.items()]
        dispatcher.utter_message(response="utter_ticket_intro")
        return events

    async def _open_urgent_ticket(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, prefilled: dict[str, Any]
    ) -> list[EventType]:
        payload = urgent_ticket_payload(tracker, prefilled)
        key = idempotency_key(tracker)
        try:
            ticket = await asyncio.to_thread(self.client.create_ticket, payload, key)
        except HandoffUnavailable:
            await self.queue(TICKET, key, tracker.sender_id, payload)
            dispatcher.utter_message(response="utter_urgent_ticket_queued")
            return [SlotSet(EARLY_SLOT, True), SlotSet("ticket_ref", None)]
        except HandoffRejected as rejected:
            # The form still collects everything and submits at the end.
            logger.error("Urgent ticket of %s refused: %s", tracker.sender_id, rejected)
            dispatcher.utter_message(response="utter_ticket_intro_urgent")
            return []
        dispatcher.utter_message(response="utter_urgent_ticket_opened", ref=ticket["ref"])
        return [SlotSet(EARLY_SLOT, True), SlotSet("ticket_ref", ticket["ref"])]


def urgent_ticket_payload(tracker: Tracker, prefilled: dict[str, Any]) -> dict[str, Any]:
    """The urgent ticket as it can be opened right away: the user's own words so far."""
    language = language_of(tracker)
    events = tracker.events
    said = problem_messages(events) or [
        e["text"] for e in user_turns(events)[-1:]
    ]
    title = prefilled.get("ticket_title") or fields.suggested_title(
        "account_compromised", collect_facts(events), language
    )
    payload: dict[str, Any] = {
        "conversation_id": tracker.sender_id,
        "category": "security",
        "title": (title or "Funds stolen (urgent)")[:120],
        "description": (" / ".join(said) or title or "Funds stolen")[:4000],
        "language": language,
        "escalation_reason": REASON_SECURITY,
        "tx_hash": prefilled.get("ticket_tx_hash"),
        "wallet_address": prefilled.get("ticket_wallet_address"),
        "occurred_at_text": prefilled.get("ticket_occurred_at"),
        "occurred_at": fields.iso_time(prefilled.get("ticket_occurred_at"), language),
        "amount": prefilled.get("ticket_amount"),
        "summary": build_summary(
            events, reason=REASON_SECURITY, language=language, problem="account_compromised"
        ),
        "transcript": transcript(events),
    }
    app_user_id = app_user_id_of(tracker)
    if app_user_id is not None:
        payload["app_user_id"] = app_user_id
    return {k: v for k, v in payload.items() if v is not None}


def ticket_payload(tracker: Tracker) -> dict[str, Any]:
    """The ticket as the handoff service expects it."""
    language = language_of(tracker)
    reason = tracker.get_slot("escalation_reason") or REASON_REQUESTED_HUMAN

    def value(slot: str) -> str | None:
        raw = tracker.get_slot(slot)
        return None if raw in (None, "", fields.SKIPPED) else str(raw)

    payload: dict[str, Any] = {
        "conversation_id": tracker.sender_id,
        "category": tracker.get_slot("ticket_category") or "technical",
        "title": value("ticket_title") or "",
        "description": value("ticket_description") or "",
        "language": language,
        "contact_email": value("ticket_email"),
        "tx_hash": value("ticket_tx_hash"),
        "wallet_address": value("ticket_wallet_address"),
        "chain": value("ticket_chain"),
        "occurred_at_text": value("ticket_occurred_at"),
        "amount": value("ticket_amount"),
        "occurred_at": fields.iso_time(value("ticket_occurred_at"), language),
        "escalation_reason": reason,
        "summary": build_summary(
            tracker.events, reason=reason, language=language,
            problem=tracker.get_slot("ticket_problem"),
        ),
        "transcript": transcript(tracker.events),
    }
    app_user_id = app_user_id_of(tracker)
    if app_user_id is not None:
        payload["app_user_id"] = app_user_id
    return payload


def app_user_id_of(tracker: Tracker) -> str | None:
    """The wallet app's user id from the newest user message that carries metadata.

    The channel sets ``app_user_id`` from the app's signed token (dropping any
    value the client sent), so only metadata is read, never entities or text.
    Rasa stamps its own keys (model and assistant id) on every event: those
    alone are not a channel's metadata. A malformed value is left out rather
    than having the ticket refused.
    """
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        metadata = event.get("metadata") or (event.get("parse_data") or {}).get("metadata")
        if not isinstance(metadata, dict) or not set(metadata) - _RASA_METADATA_KEYS:
            continue
        value = metadata.get("app_user_id")
        # As the service accepts it: 1-128 printable characters, no control characters.
        if isinstance(value, str) and 0 < len(value) <= _APP_USER_ID_MAX and value.isprintable():
            return value
        return None
    return None


def idempotency_key(tracker: Tracker) -> str:
    """Conversation id + the confirming message's id: a retry of it is the same ticket."""
    message_id = tracker.latest_message.get("message_id") or "no-message-id"
    return f"{tracker.sender_id}:{message_id}"


def _reset_form() -> list[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS + _HELPER_SLOTS]


class ActionSubmitTicket(ServiceAction):
    """Sends the confirmed ticket; queues it when the service is down."""

    def name(self) -> str:
        """Runs when the form is complete."""
        return "action_submit_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Create the ticket and tell the user its reference and what happens next."""
        if tracker.get_slot("handoff_active") and tracker.get_slot("ticket_ref"):
            dispatcher.utter_message(
                response="utter_ticket_already_open", ref=tracker.get_slot("ticket_ref")
            )
            return _reset_form()
        if not tracker.get_slot("ticket_confirmed"):
            return _reset_form()
        if tracker.get_slot(EARLY_SLOT):
            return await self._complete_urgent_ticket(dispatcher, tracker)
        payload = ticket_payload(tracker)
        key = idempotency_key(tracker)
        try:
            ticket = await asyncio.to_thread(self.client.create_ticket, payload, key)
        except HandoffUnavailable:
            await self.queue(TICKET, key, tracker.sender_id, payload)
            dispatcher.utter_message(response="utter_ticket_queued")
            return [*_reset_form(), SlotSet("handoff_active", True), SlotSet("ticket_ref", None)]
        except HandoffRejected as rejected:
            logger.error(
                "Ticket of conversation %s refused by the handoff service: %s",
                tracker.sender_id, rejected,
            )
            asked_again = ask_again_for_refused_field(rejected, dispatcher)
            if asked_again is not None:
                return asked_again
            dispatcher.utter_message(response="utter_ticket_refused")
            return _reset_form()
        dispatcher.utter_message(response="utter_ticket_created", ref=ticket["ref"])
        return [
            *_reset_form(),
            SlotSet("ticket_ref", ticket["ref"]),
            SlotSet("handoff_active", True),
        ]


    async def _complete_urgent_ticket(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        """Everything the form collected goes onto the urgent ticket opened at the start."""
        payload = ticket_payload(tracker)
        details = {k: payload[k] for k in _DETAIL_FIELDS if payload.get(k)}
        key = f"{idempotency_key(tracker)}:complete"
        added = await add_details(
            tracker.sender_id, details, key, client=self.client, outbox=self.outbox,
            flusher=self._flusher,
        )
        ref = tracker.get_slot("ticket_ref")
        if ref and not added:
            # Never claim the details are on the ticket when the service refused them.
            dispatcher.utter_message(response="utter_urgent_ticket_details_not_added", ref=ref)
        elif ref:
            dispatcher.utter_message(response="utter_urgent_ticket_completed", ref=ref)
        else:
            dispatcher.utter_message(response="utter_ticket_queued")
        return [*_reset_form(), SlotSet("ticket_ref", ref), SlotSet("handoff_active", True)]


def ask_again_for_refused_field(
    rejected: HandoffRejected, dispatcher: CollectingDispatcher
) -> list[EventType] | None:
    """When the service refused one form field, ask for it again instead of giving up.

    The field's hint is shown, its slot (and the confirmation) cleared and the
    ticket form re-opened: it asks only for that field, shows the summary again
    and submits with the new confirming message. None when the refusal names no
    field the user can change.
    """
    if rejected.status != 422 or rejected.field not in REFUSED_FIELDS:
        return None
    slot, hint = REFUSED_FIELDS[rejected.field]
    dispatcher.utter_message(response=hint)
    cleared = [slot, "ticket_confirmed", "ticket_title_suggestion"]
    if slot == "ticket_wallet_address":
        cleared.append("ticket_chain")
    return [*(SlotSet(name, None) for name in cleared), FollowupAction("ticket_form")]


class ActionCorrectTicketField(Action):
    """The user wants to change a field: clear it so the form asks again."""

    def name(self) -> str:
        """Runs on ``correct_ticket`` (or a 'no' at the summary) inside the form."""
        return "action_correct_ticket_field"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Clear the named field, or ask which one.

        An e-mail address typed while the form asks for it ("我的邮箱是 zhang@…")
        is the answer, even though it names the field: it is checked and kept,
        or refused with the format hint.
        """
        typed = _typed_email(tracker)
        if typed is not None:
            # Checked here: the form does not re-check a value set by another action.
            email = fields.email_in(typed) or typed
            if fields.valid_email(email):
                return [SlotSet("ticket_email", email)]
            dispatcher.utter_message(response="utter_invalid_email")
            return [SlotSet("ticket_email", None)]
        named = next(
            (e.get("value") for e in tracker.latest_message.get("entities", [])
             if e.get("entity") == "ticket_field"),
            None,
        ) or fields.field_named_in(tracker.latest_message.get("text") or "")
        if named not in FORM_SLOTS:
            dispatcher.utter_message(response="utter_ask_which_field")
            return [SlotSet("ticket_confirmed", None)]
        dispatcher.utter_message(response="utter_ok_correct_field")
        return [SlotSet(named, None), SlotSet("ticket_confirmed", None)]


def _typed_email(tracker: Tracker) -> str | None:
    """The text of the latest message when it is an attempt at the e-mail the form asks for."""
    text = ((tracker.latest_message or {}).get("text") or "").strip()
    if tracker.get_slot("requested_slot") == "ticket_email" and "@" in text:
        return text
    return None


class ActionResetTicketForm(Action):
    """Forget the half-filled ticket after the user cancels."""

    def name(self) -> str:
        """Runs after the form is deactivated by ``cancel``."""
        return "action_reset_ticket_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Clear every form slot, and say what became of the ticket.

        An urgent ticket opened before the form is not withdrawn by "cancel":
        it stays in the queue, only the questions stop.
        """
        if tracker.get_slot(EARLY_SLOT):
            ref = tracker.get_slot("ticket_ref")
            dispatcher.utter_message(response="utter_urgent_ticket_stays_open", ref=ref or "—")
            return [*_reset_form(), SlotSet("ticket_ref", ref), SlotSet("handoff_active", True)]
        dispatcher.utter_message(response="utter_ticket_cancelled")
        return _reset_form()
