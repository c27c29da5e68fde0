"""The ticket form: validates every field and asks only what the chat did not already say."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import ticket_fields as fields
from actions.conversation_summary import collect_facts, latest_problem, screenshot_id
from actions.early_ticket import EARLY_SLOT, add_answer, add_details, details_in
from actions.screenshots import described_facts, screenshot_text
from support_core.chains import InvalidValue, check_address, check_tx_hash
from support_core.facts import find_facts

FORM_SLOTS = (
    "ticket_category",
    "ticket_title",
    "ticket_description",
    "ticket_occurred_at",
    "ticket_amount",
    "ticket_tx_hash",
    "ticket_wallet_address",
    "ticket_screenshot",
    "ticket_email",
    "ticket_confirmed",
)
SHARE_SCREENSHOT = "share_screenshot"
_MAX_TITLE = 120
_MAX_DESCRIPTION = 4000
_MAX_AMOUNT = 64
_NUMBER = re.compile(r"[0-9零一二两三四五六七八九十百千万]")


def language_of(tracker: Tracker) -> str:
    """The conversation's language slot, defaulting to Chinese."""
    return "en" if tracker.get_slot("language") == "en" else "zh"


def _latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def _problem(tracker: Tracker) -> str | None:
    return tracker.get_slot("ticket_problem") or latest_problem(tracker.events)


def _needed(
    slot: str, problem: str | None, category: str | None, has_screenshot: bool = False
) -> bool:
    if slot == "ticket_screenshot":
        # One the user already sent is on the ticket: not asked for again.
        return fields.needs_screenshot(problem, category) and not has_screenshot
    if slot == "ticket_tx_hash":
        return fields.needs_tx_hash(problem, category)
    if slot == "ticket_wallet_address":
        return fields.needs_address(problem, category)
    if slot == "ticket_amount":
        return fields.needs_amount(problem, category)
    return True


class ValidateTicketForm(FormValidationAction):
    """Validation for ``ticket_form`` (one method per field, as rasa_sdk expects)."""

    def name(self) -> str:
        """Rasa calls ``validate_<form>`` after every user message in the form."""
        return "validate_ticket_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Validate as usual; an urgent ticket opened early gets each accepted answer."""
        events = await super().run(dispatcher, tracker, domain)
        if tracker.get_slot(EARLY_SLOT):
            asked = tracker.get_slot("requested_slot")
            # On activation nothing was asked yet: the message that opened the ticket
            # is in its transcript already.
            if asked:
                await add_answer(
                    tracker.sender_id, tracker.latest_message or {},
                    answers_hash_question=asked == "ticket_tx_hash",
                )
            details = details_in(events)
            if "occurred_at_text" in details:
                moment = fields.iso_time(details["occurred_at_text"], language_of(tracker))
                if moment:
                    details["occurred_at"] = moment
            message_id = tracker.latest_message.get("message_id") or "no-message-id"
            key = f"{tracker.sender_id}:{message_id}:details"
            await add_details(tracker.sender_id, details, key)
        return events

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Amount, hash and address only where the problem needs them."""
        problem = _problem(tracker)
        category = tracker.get_slot("ticket_category")
        sent = tracker.get_slot("ticket_screenshot") is None and _screenshot_sent(tracker)
        return [slot for slot in domain_slots if _needed(slot, problem, category, sent)]

    def validate_ticket_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """One of the six categories, typed or chosen by button."""
        category = value if value in fields.CATEGORIES else fields.category_from_text(str(value))
        if category is None:
            dispatcher.utter_message(response="utter_invalid_category")
            return {"ticket_category": None}
        return {"ticket_category": category}

    def validate_ticket_title(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A short clear title; 'yes' takes the suggested one."""
        suggestion = tracker.get_slot("ticket_title_suggestion")
        if _latest_intent(tracker) == "affirm" and suggestion:
            return {"ticket_title": suggestion}
        title = " ".join(str(value).split())
        if len(title) < 4 or fields.is_skip(title) or title.startswith("/"):
            dispatcher.utter_message(response="utter_invalid_title")
            return {"ticket_title": None}
        if len(title) > _MAX_TITLE:
            dispatcher.utter_message(response="utter_title_too_long")
            return {"ticket_title": None}
        return {"ticket_title": title}

    def validate_ticket_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Specific enough to act on; a vague one gets the guide's follow-up question."""
        text = str(value).strip()
        if len(text) > _MAX_DESCRIPTION:
            dispatcher.utter_message(response="utter_description_too_long")
            return {"ticket_description": None}
        if not fields.is_specific(text):
            dispatcher.utter_message(response="utter_description_too_vague")
            return {"ticket_description": None}
        return {"ticket_description": text, **_amount_from(text, tracker)}

    def validate_ticket_occurred_at(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A time or date as the user says it, or 'don't remember'."""
        text = str(value).strip()
        if fields.is_unknown_time(text) or _skipped(text):
            return {"ticket_occurred_at": fields.SKIPPED}
        if not fields.looks_like_time(text):
            dispatcher.utter_message(response="utter_invalid_time")
            return {"ticket_occurred_at": None}
        return {"ticket_occurred_at": text[:200]}

    def validate_ticket_amount(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """How much, ideally with the asset ("500 USDT"); 'skip' when unsure."""
        text = " ".join(str(value).split())
        if _skipped(text) or fields.is_unknown_time(text):
            return {"ticket_amount": fields.SKIPPED}
        amount = fields.amount_in(text)
        if amount is None and _NUMBER.search(text) and len(text) <= _MAX_AMOUNT:
            # "about 500", "五百多": kept as written, the agent reads it.
            amount = text
        if amount is None:
            dispatcher.utter_message(response="utter_invalid_amount")
            return {"ticket_amount": None}
        return {"ticket_amount": amount}

    def validate_ticket_tx_hash(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A well-formed transaction hash, or 'skip'."""
        text = str(value).strip()
        if _latest_intent(tracker) == SHARE_SCREENSHOT:
            # The answer is a screenshot: the hash is read from it, or asked for as text.
            read = _first_facts(screenshot_text(tracker.latest_message)).get("tx_hash")
            if read is None:
                dispatcher.utter_message(response="utter_screenshot_no_hash")
                return {"ticket_tx_hash": None}
            # Said back, so that a misread hash can be corrected at the summary.
            found = described_facts({"tx_hash": read}, language_of(tracker))
            dispatcher.utter_message(response="utter_screenshot_read", found=found)
            text = read
        if _skipped(text):
            return {"ticket_tx_hash": fields.SKIPPED}
        facts = _first_facts(text)
        candidate = facts.get("tx_hash")
        if candidate is None and "address" in facts:
            dispatcher.utter_message(response="utter_tx_hash_is_address")
            return {"ticket_tx_hash": None}
        candidate = candidate or text
        try:
            return {"ticket_tx_hash": check_tx_hash(candidate).value}
        except InvalidValue as invalid:
            response = (
                "utter_tx_hash_is_address"
                if invalid.reason == "looks_like_address"
                else "utter_invalid_tx_hash"
            )
            dispatcher.utter_message(response=response)
            return {"ticket_tx_hash": None}

    def validate_ticket_wallet_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """An address valid for its chain (EIP-55 when mixed case), or 'skip'."""
        text = str(value).strip()
        if _skipped(text):
            return {"ticket_wallet_address": fields.SKIPPED}
        candidate = _first_facts(text).get("address") or text
        try:
            checked = check_address(candidate)
        except InvalidValue as invalid:
            response = (
                "utter_address_checksum_failed"
                if invalid.reason.endswith("checksum") or invalid.reason.endswith("bech32")
                else "utter_invalid_address"
            )
            dispatcher.utter_message(response=response)
            return {"ticket_wallet_address": None}
        return {"ticket_wallet_address": checked.value, "ticket_chain": checked.chain}

    def validate_ticket_screenshot(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A screenshot the service kept, or 'skip'; typed words are asked again."""
        if _latest_intent(tracker) == SHARE_SCREENSHOT:
            image_id = screenshot_id(tracker.latest_message)
            if image_id:
                # The form goes straight on: say the picture arrived first.
                dispatcher.utter_message(response="utter_screenshot_received")
                return {"ticket_screenshot": image_id}
        text = str(value).strip()
        if _skipped(text):
            return {"ticket_screenshot": fields.SKIPPED}
        if text in _screenshot_ids(tracker):
            # The id stored earlier, checked again when the form is re-opened.
            return {"ticket_screenshot": text}
        dispatcher.utter_message(response="utter_invalid_screenshot")
        return {"ticket_screenshot": None}

    def validate_ticket_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """An e-mail address for the reply, or 'skip' (the agent then answers in this chat)."""
        text = str(value).strip()
        if _skipped(text):
            return {"ticket_email": fields.SKIPPED}
        email = fields.email_in(text) or text
        if not fields.valid_email(email):
            dispatcher.utter_message(response="utter_invalid_email")
            return {"ticket_email": None}
        return {"ticket_email": email}


def _screenshot_ids(tracker: Tracker) -> set[str]:
    """The screenshots the user sent in this conversation (the ones the service kept)."""
    return {
        image_id for event in tracker.events
        if event.get("event") == "user" and (image_id := screenshot_id(event)) is not None
    }


def _screenshot_sent(tracker: Tracker) -> bool:
    return bool(_screenshot_ids(tracker))


def _amount_from(text: str, tracker: Tracker) -> dict[str, Any]:
    """The amount a description names, so the form does not ask for it again."""
    if tracker.get_slot("ticket_amount"):
        return {}
    amount = fields.amount_in(text)
    return {"ticket_amount": amount} if amount else {}


def _skipped(text: str) -> bool:
    """'skip' as the user says it, or the marker a skipped field keeps.

    The form checks every filled field again when it is re-opened (after the
    service refused one field), so the stored marker must pass as a skip.
    """
    return text == fields.SKIPPED or fields.is_skip(text)


def _first_facts(text: str) -> dict[str, str]:
    """The first value of each kind of wallet fact in ``text`` (one matcher pass)."""
    first: dict[str, str] = {}
    for fact in find_facts(text):
        first.setdefault(fact.entity, fact.value)
    return first


class ActionAskTicketTitle(Action):
    """Asks for a title, offering one made from the problem and its facts."""

    def name(self) -> str:
        """Called by the form instead of a plain ``utter_ask_ticket_title``."""
        return "action_ask_ticket_title"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Suggest a title when one can be made."""
        suggestion = fields.suggested_title(
            _problem(tracker), collect_facts(tracker.events), language_of(tracker)
        )
        if suggestion:
            dispatcher.utter_message(response="utter_ask_ticket_title_suggested", title=suggestion)
        else:
            dispatcher.utter_message(response="utter_ask_ticket_title")
        return [{"event": "slot", "name": "ticket_title_suggestion", "value": suggestion}]


class ActionAskTicketConfirmed(Action):
    """Shows the ticket as it will be sent and asks to submit, correct or cancel."""

    def name(self) -> str:
        """Called by the form for the last slot, ``ticket_confirmed``."""
        return "action_ask_ticket_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Render the summary in the user's language."""
        language = language_of(tracker)
        dispatcher.utter_message(
            response="utter_ask_ticket_confirmed", **summary_fields(tracker, language)
        )
        return []


def summary_fields(tracker: Tracker, language: str) -> dict[str, str]:
    """The form's values, ready to show the user ('—' for skipped ones)."""
    index = 0 if language == "zh" else 1
    none = "—"

    def shown(slot: str) -> str:
        value = tracker.get_slot(slot)
        return none if value in (None, fields.SKIPPED, "") else str(value)

    category = tracker.get_slot("ticket_category")
    return {
        "category": fields.CATEGORY_LABELS.get(category, (none, none))[index],
        "title": shown("ticket_title"),
        "description": shown("ticket_description"),
        "occurred_at": shown("ticket_occurred_at"),
        "amount": shown("ticket_amount"),
        "tx_hash": shown("ticket_tx_hash"),
        "address": shown("ticket_wallet_address"),
        "email": shown("ticket_email"),
    }
