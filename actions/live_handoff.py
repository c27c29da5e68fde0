"""While a human agent has the chat: relay the user's words, deliver the agent's, hand back."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.conversation_summary import SCREENSHOT_LINE, screenshot_id
from actions.early_ticket import EARLY_SLOT
from actions.handoff_client import (
    HandoffCallFailed,
    HandoffRejected,
    HandoffUnavailable,
    NoSuchTicket,
)
from actions.notifications import already_handled
from actions.outbox import BOT_MESSAGE, MESSAGE, TICKET
from actions.runtime import ServiceAction
from actions.ticket_form import FORM_SLOTS

logger = logging.getLogger(__name__)

OPEN_STATUSES = frozenset({"open", "assigned"})
DONE_STATUSES = frozenset({"resolved", "closed"})
# The service has just notified us, so it is up: a short second chance covers a blip.
SERVICE_READ_ATTEMPTS = 3
SERVICE_READ_PAUSE_SECONDS = 0.5
_MAX_PAUSE_SECONDS = 2.0
_MESSAGE_ID = re.compile(r"^[0-9]{1,18}$")
ATTACHMENT_ID = re.compile(r"^att_[A-Za-z0-9_-]{16,36}$")
# The chat channel's route for a conversation's images (session-checked there).
CHAT_ATTACHMENTS_PATH = "/webhooks/socketio/attachments"
LAST_RELAYED_SLOT = "last_relayed_message"
BACKLOG_NOTICE_SLOT = "relay_backlog_notice_given"
# Rasa's text of a message triggered through its API (trigger_intent).
EXTERNAL_PREFIX = "EXTERNAL: "
# After a long outage, relay at most this many waiting messages per turn.
MAX_CATCH_UP = 50

T = TypeVar("T")
TICKET_FORM = "ticket_form"
# The urgent ticket's questions end when an agent takes the chat.
_FORM_SLOTS_TO_CLEAR = (*FORM_SLOTS, EARLY_SLOT, "requested_slot")


def _form_active(tracker: Tracker) -> bool:
    return (tracker.active_loop or {}).get("name") == TICKET_FORM


def _end_form_for_agent(tracker: Tracker) -> list[EventType]:
    """Stop the urgent ticket's questions: a person has the chat now."""
    if not _form_active(tracker):
        return []
    return [ActiveLoop(None), *(SlotSet(slot, None) for slot in _FORM_SLOTS_TO_CLEAR)]


def _entity(tracker: Tracker, name: str) -> Any:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name:
            return entity.get("value")
    return None


async def _patiently(call: Callable[..., T], *args: Any) -> T:
    """``call(*args)`` in a thread, tried again briefly while the service is unavailable."""
    for attempt in range(SERVICE_READ_ATTEMPTS):
        try:
            return await asyncio.to_thread(call, *args)
        except HandoffUnavailable as error:
            if attempt + 1 >= SERVICE_READ_ATTEMPTS:
                raise
            pause = SERVICE_READ_PAUSE_SECONDS
            if error.retry_after is not None:
                pause = max(pause, error.retry_after)
            await asyncio.sleep(min(pause, _MAX_PAUSE_SECONDS))
    raise AssertionError("unreachable")  # pragma: no cover


async def _conversation_ticket(
    action: ServiceAction, tracker: Tracker, purpose: str
) -> dict[str, Any] | None:
    """This conversation's ticket as the service knows it; None (logged) when it cannot say."""
    try:
        ticket = await _patiently(action.client.conversation_ticket, tracker.sender_id)
    except NoSuchTicket:
        logger.info("No ticket for conversation %s (%s)", tracker.sender_id, purpose)
        return None
    except HandoffCallFailed as error:
        logger.warning(
            "Ticket of conversation %s unknown (%s): %s", tracker.sender_id, purpose, error
        )
        return None
    if not isinstance(ticket, dict) or not isinstance(ticket.get("ref"), str):
        return None
    return ticket


def _listen() -> list[EventType]:
    """Stop here: the rule's next step (e.g. the rating form) must not run."""
    return [FollowupAction("action_listen")]


def _relayable(event: dict[str, Any]) -> bool:
    """A message the user typed (not a button payload, not a service notification)."""
    text = event.get("text") or ""
    return (
        event.get("event") == "user"
        and bool(text)
        and not text.startswith("/")
        and not text.startswith(EXTERNAL_PREFIX)
    )


def unrelayed_messages(tracker: Tracker) -> list[dict[str, Any]]:
    """The user's messages since the last one that reached the ticket, oldest first.

    Normally only the latest; after an outage of the action server or the
    service, also those written meanwhile. The walk back stops at the last
    relayed message or, before the first relay, where the handoff began (the
    ticket's own transcript holds everything before); at most ``MAX_CATCH_UP``.
    """
    last = tracker.get_slot(LAST_RELAYED_SLOT)
    found: list[dict[str, Any]] = []
    seen_ids: set[Any] = set()
    for event in reversed(tracker.events):
        if (
            not last
            and event.get("event") == "slot"
            and event.get("name") == "handoff_active"
            and event.get("value") is True
        ):
            break
        if not _relayable(event):
            continue
        message_id = event.get("message_id")
        if last and message_id == last:
            break
        if message_id in seen_ids:
            continue  # the same message given back to the bot (see _back_to_the_bot)
        seen_ids.add(message_id)
        found.append(event)
        if len(found) >= MAX_CATCH_UP:
            break
    found.reverse()
    return found


def _back_to_the_bot(tracker: Tracker, ref: str | None) -> list[EventType]:
    """The ticket is already done: end the handoff and let the bot answer this message.

    The message is given back as a fresh turn (after ``action_listen``), so the
    rules answer it as they would any message; when they fall back, the rewind
    removes only that copy, never the end of the handoff before it.
    """
    latest = tracker.latest_message
    copy = {
        "event": "user",
        "text": latest.get("text"),
        "parse_data": {k: v for k, v in latest.items() if k not in ("message_id", "text")}
        | {"text": latest.get("text")},
        "input_channel": tracker.get_latest_input_channel(),
        "message_id": latest.get("message_id"),
        "metadata": latest.get("metadata") or {},
    }
    events: list[EventType] = [
        SlotSet("handoff_active", False),
        SlotSet("handoff_notice_given", None),
        SlotSet(LAST_RELAYED_SLOT, None),
        SlotSet(BACKLOG_NOTICE_SLOT, None),
    ]
    if ref:
        events.append(SlotSet("ticket_ref", ref))
    return [*events, ActionExecuted("action_listen"), copy]


class ActionRelayToAgent(ServiceAction):
    """Appends the user's messages to the conversation's ticket; tells the user once."""

    def name(self) -> str:
        """Predicted by the handoff policy for every user message during a handoff."""
        return "action_relay_to_agent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Relay by conversation id, queueing the messages when the service is down.

        The ticket is found by the service from the conversation id: nothing a
        user typed (a ``ticket_ref`` entity, a slot) chooses where the words go.
        Each message carries Rasa's message id, so relaying one twice stores it once.
        """
        message = tracker.latest_message
        intent = (message.get("intent") or {}).get("name")
        if intent == "share_secret":
            dispatcher.utter_message(response="utter_secret_warning")
        events: list[EventType] = []
        if not tracker.get_slot("handoff_notice_given"):
            dispatcher.utter_message(response="utter_handoff_waiting")
            events.append(SlotSet("handoff_notice_given", True))
        conversation_id = tracker.sender_id
        pending = unrelayed_messages(tracker)
        queued = await asyncio.to_thread(self.outbox.pending, conversation_id)
        keep_order = any(entry.kind in (TICKET, MESSAGE) for entry in queued)
        # A queued ticket was announced as such, with the promise that what the
        # user writes follows it: no second notice then.
        ticket_queued = any(entry.kind == TICKET for entry in queued)
        for user_event in pending:
            text = (
                SCREENSHOT_LINE
                if screenshot_id(user_event) is not None
                else user_event.get("text") or ""
            )
            message_id = user_event.get("message_id")
            key = f"{conversation_id}:{message_id}"
            payload = {"text": text, "external_id": message_id}
            if keep_order:
                # Its ticket (or an earlier message) is still queued: keep the order.
                await self.queue(MESSAGE, key, conversation_id, payload)
                continue
            try:
                await asyncio.to_thread(
                    self.client.relay_user_message, conversation_id, text, message_id
                )
            except HandoffUnavailable:
                keep_order = True
                await self.queue(MESSAGE, key, conversation_id, payload)
                continue
            except HandoffRejected as rejected:
                if rejected.status in (404, 409):
                    # No open ticket any more (resolved while its notice was lost or late).
                    ticket = await _conversation_ticket(self, tracker, "handoff over")
                    ref = ticket["ref"] if ticket else None
                    if ref:
                        dispatcher.utter_message(response="utter_handoff_over", ref=ref)
                    return events + _back_to_the_bot(tracker, ref)
                logger.error(
                    "Handoff service refused message %s of conversation %s (%s); kept as a"
                    " dead letter", key, conversation_id, rejected,
                )
                await asyncio.to_thread(
                    self.outbox.put_dead_letter, MESSAGE, key, conversation_id, payload,
                    rejected.status, rejected.error_code, rejected.field,
                )
        if pending:
            events.append(SlotSet(LAST_RELAYED_SLOT, pending[-1].get("message_id")))
        if intent == "share_secret":
            await self._warning_to_transcript(tracker, domain, keep_order)
        if keep_order and not ticket_queued and not tracker.get_slot(BACKLOG_NOTICE_SLOT):
            dispatcher.utter_message(response="utter_message_kept")
            events.append(SlotSet(BACKLOG_NOTICE_SLOT, True))
        elif not keep_order and tracker.get_slot(BACKLOG_NOTICE_SLOT):
            events.append(SlotSet(BACKLOG_NOTICE_SLOT, None))
        return events


    async def _warning_to_transcript(
        self, tracker: Tracker, domain: DomainDict, queued: bool
    ) -> None:
        """The agent reads the bot's secret warning where the user read it, after their line."""
        text = response_text(domain, "utter_secret_warning", tracker.get_slot("language"))
        if not text:
            return
        conversation_id = tracker.sender_id
        # Without Rasa's id (never in practice) a fresh one keeps warnings apart.
        message_id = f"{tracker.latest_message.get('message_id') or uuid.uuid4().hex}:warning"
        key = f"{conversation_id}:{message_id}"
        payload = {"text": text, "message_id": message_id}
        if not queued:
            try:
                await asyncio.to_thread(
                    self.client.add_bot_message, conversation_id, text, message_id
                )
                return
            except HandoffUnavailable:
                pass
            except HandoffRejected as rejected:
                logger.warning("Warning line not added to %s: %s", conversation_id, rejected)
                return
        await self.queue(BOT_MESSAGE, key, conversation_id, payload)


def response_text(domain: DomainDict, name: str, language: object) -> str | None:
    """The text of response ``name`` in the conversation's language, from the domain."""
    variations = (domain.get("responses") or {}).get(name) or []
    wanted = "zh" if language != "en" else "en"
    fallback = None
    for variation in variations:
        text = variation.get("text")
        conditions = variation.get("condition") or []
        languages = {c.get("value") for c in conditions if c.get("name") == "language"}
        if wanted in languages:
            return text
        if not languages and fallback is None:
            fallback = text
    return fallback


class ActionDeliverAgentMessage(ServiceAction):
    """Shows the agent's reply in the widget, with the agent's name, as the service has it."""

    def name(self) -> str:
        """Runs on ``agent_message``, triggered by the handoff service."""
        return "action_deliver_agent_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Fetch the message named by ``message_id`` from this conversation and show it.

        Only the id is read from the message: text and name come from the
        service, which answers 404 for a message of any other conversation.
        """
        if already_handled(tracker):
            return []
        raw = _entity(tracker, "message_id")
        message_id = str(raw) if raw is not None and not isinstance(raw, bool) else ""
        if not _MESSAGE_ID.match(message_id):
            logger.warning("agent_message without a usable message id in %s", tracker.sender_id)
            return []
        try:
            message = await _patiently(
                self.client.agent_message, tracker.sender_id, int(message_id)
            )
        except NoSuchTicket:
            logger.warning(
                "Agent message %s is not one of conversation %s", message_id, tracker.sender_id
            )
            return []
        except HandoffCallFailed as error:
            logger.error(
                "Agent message %s of conversation %s not delivered: %s",
                message_id, tracker.sender_id, error,
            )
            return []
        text = message.get("text") if isinstance(message, dict) else None
        if not isinstance(text, str) or not text or message.get("author") not in (None, "agent"):
            return []
        name = message.get("author_name")
        dispatcher.utter_message(
            json_message={
                "data": {
                    "type": "agent",
                    "agent_name": name if isinstance(name, str) else "",
                    "text": text,
                    # The widget reports this id back once the user has seen the reply.
                    "message_id": int(message_id),
                }
            }
        )
        image = agent_image_src(message)
        if image is not None:
            # Rasa's image message: the widget fetches it through its own channel.
            dispatcher.utter_message(image=image)
        if _form_active(tracker):
            return [*_end_form_for_agent(tracker), SlotSet("handoff_active", True)]
        return []


def agent_image_src(message: dict[str, Any]) -> str | None:
    """Where the widget fetches the image an agent sent with a reply, if any."""
    attachment = message.get("attachment")
    image_id = attachment.get("id") if isinstance(attachment, dict) else None
    if not isinstance(image_id, str) or not ATTACHMENT_ID.match(image_id):
        return None
    return f"{CHAT_ATTACHMENTS_PATH}/{image_id}"


class ActionAgentJoined(ServiceAction):
    """Tells the user an agent has taken the ticket."""

    def name(self) -> str:
        """Runs on ``agent_joined``."""
        return "action_agent_joined"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """A system notice naming the agent the service says has the conversation's ticket."""
        if already_handled(tracker):
            return []
        ticket = await _conversation_ticket(self, tracker, "agent joined")
        if ticket is None or ticket.get("status") not in OPEN_STATUSES:
            return []
        assignee = ticket.get("assignee")
        if not isinstance(assignee, str) or not assignee:
            return []
        dispatcher.utter_message(response="utter_agent_joined", agent_name=assignee)
        return [
            *_end_form_for_agent(tracker),
            SlotSet("ticket_ref", ticket["ref"]),
            SlotSet("handoff_active", True),
        ]


class ActionTicketDelivered(ServiceAction):
    """A queued ticket reached the service: give the user its reference."""

    def name(self) -> str:
        """Runs on ``ticket_created``, triggered by the service for late deliveries."""
        return "action_ticket_delivered"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Announce the conversation's open ticket, as the service has it."""
        if already_handled(tracker):
            return []
        ticket = await _conversation_ticket(self, tracker, "ticket created")
        if ticket is None or ticket.get("status") not in OPEN_STATUSES:
            return []
        ref = ticket["ref"]
        dispatcher.utter_message(response="utter_ticket_created", ref=ref)
        if _form_active(tracker) and tracker.get_slot("ticket_open_early"):
            # The urgent ticket's questions go on; their answers are added to it.
            return [SlotSet("ticket_ref", ref)]
        return [SlotSet("ticket_ref", ref), SlotSet("handoff_active", True)]


class ActionTicketResolved(ServiceAction):
    """The agent resolved the ticket: the bot takes over again and asks for a rating."""

    def name(self) -> str:
        """Runs on ``ticket_resolved``."""
        return "action_ticket_resolved"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Hand the chat back to the bot, only if the service says the ticket is done.

        Otherwise nothing is said and the rating form that follows in the rule
        does not start.
        """
        if already_handled(tracker):
            return _listen()
        ticket = await _conversation_ticket(self, tracker, "ticket resolved")
        if ticket is None or ticket.get("status") not in DONE_STATUSES:
            return _listen()
        if ticket.get("csat") is not None:
            return _listen()
        ref = ticket["ref"]
        if tracker.get_slot("handoff_active") or tracker.get_slot("ticket_ref") != ref:
            # Said already when the user wrote after a resolve whose notice was late.
            dispatcher.utter_message(response="utter_ticket_resolved", ref=ref)
        return [
            SlotSet("handoff_active", False),
            SlotSet("handoff_notice_given", None),
            SlotSet(LAST_RELAYED_SLOT, None),
            SlotSet(BACKLOG_NOTICE_SLOT, None),
            SlotSet("ticket_ref", ref),
            SlotSet("csat", None),
        ]
