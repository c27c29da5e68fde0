"""Helpers for action tests: realistic tracker events, a tracker factory and fake collaborators.

Events are built as the Rasa server sends them to the action server
(``Event.as_dict()``): user events carry ``parse_data`` with the intent and the
``message_id``, bot events their text and the response that produced them,
action events the action's name.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff_client import HandoffRejected, HandoffUnavailable, NoSuchTicket
from devtools.domain_files import load_domain

_CLOCK = itertools.count()


def _timestamp() -> float:
    """Increasing timestamps, as the tracker store would give them."""
    return 1_700_000_000.0 + next(_CLOCK)


def user_event(
    text: str,
    intent: str | None = None,
    *,
    entities: list[dict[str, Any]] | None = None,
    message_id: str | None = None,
    confidence: float = 0.98,
) -> dict[str, Any]:
    """A ``UserUttered`` event as the action server receives it."""
    message_id = message_id or uuid.uuid4().hex
    entities = entities or []
    return {
        "event": "user",
        "timestamp": _timestamp(),
        "metadata": {},
        "text": text,
        "parse_data": {
            "intent": {"name": intent, "confidence": confidence} if intent else {},
            "entities": entities,
            "text": text,
            "message_id": message_id,
            "metadata": {},
            "intent_ranking": [{"name": intent, "confidence": confidence}] if intent else [],
        },
        "input_channel": "socketio",
        "message_id": message_id,
    }


def bot_event(text: str, response: str | None = None) -> dict[str, Any]:
    """A ``BotUttered`` event (the text the widget showed)."""
    return {
        "event": "bot",
        "timestamp": _timestamp(),
        "metadata": {"utter_action": response} if response else {},
        "text": text,
        "data": {"elements": None, "quick_replies": None, "buttons": None, "attachment": None,
                 "image": None, "custom": None},
    }


def action_event(name: str, policy: str = "RulePolicy") -> dict[str, Any]:
    """An ``ActionExecuted`` event."""
    return {
        "event": "action",
        "timestamp": _timestamp(),
        "metadata": {},
        "name": name,
        "policy": policy,
        "confidence": 1.0,
        "action_text": None,
        "hide_rule_turn": False,
    }


def utter(response: str, text: str | None = None) -> list[dict[str, Any]]:
    """A bot response as it lands in the tracker: the action, then the text it sent."""
    return [action_event(response), bot_event(text or f"<{response}>", response)]


def user_turn(text: str, intent: str | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """The user speaks after the bot listened."""
    return [action_event("action_listen"), user_event(text, intent, **kwargs)]


def slot_event(name: str, value: Any) -> dict[str, Any]:
    """A ``SlotSet`` event."""
    return {"event": "slot", "timestamp": _timestamp(), "name": name, "value": value}


def form_turn(
    text: str, slot: str, value: Any = None, intent: str | None = "inform", **kwargs: Any
) -> list[dict[str, Any]]:
    """The user answers the form's question for ``slot``, as the validation action sees it.

    Rasa appends the requested slot, the form's own action and the slot
    candidate (``value``, by default the text) after the user's message.
    """
    value = text if value is None else value
    return [
        *user_turn(text, intent, **kwargs),
        action_event("action_extract_slots"),
        slot_event(slot, value),
        slot_event("requested_slot", slot),
        action_event("ticket_form"),
        slot_event(slot, value),
    ]


def make_tracker(
    events: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    latest_message: dict[str, Any] | None = None,
    sender_id: str = "conv-1",
    active_loop: dict[str, Any] | None = None,
) -> Tracker:
    """A tracker as the action server gets it.

    ``latest_message`` defaults to the parse data of the last user event, so a
    test only has to write the conversation.
    """
    events = list(events or [])
    if latest_message is None:
        users = [e for e in events if e.get("event") == "user"]
        latest_message = dict(users[-1]["parse_data"]) if users else {}
    latest_message.setdefault("entities", [])
    return Tracker(
        sender_id=sender_id,
        slots=dict(slots or {}),
        latest_message=latest_message,
        events=events,
        paused=False,
        followup_action=None,
        active_loop=active_loop or {},
        latest_action_name=None,
    )


@lru_cache(maxsize=1)
def domain() -> dict[str, Any]:
    """The project's real domain (forms, slots, responses), merged from domain/."""
    return load_domain()


def run_action(
    action: Action, tracker: Tracker, domain_dict: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], CollectingDispatcher]:
    """Run an (async) action to completion; return its events and the dispatcher."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain_dict or domain()))
    check_against_domain(dispatcher)
    return events, dispatcher


def check_against_domain(dispatcher: CollectingDispatcher) -> None:
    """Every response uttered exists in the domain and gets each ``{name}`` its texts use.

    A placeholder is filled from the message's keyword arguments or from a slot.
    """
    known = domain()["responses"]
    slots = domain()["slots"]
    for message in dispatcher.messages:
        name = message["response"]
        if name is None:
            continue
        assert name in known, f"{name} is not a response in domain/"
        for variation in known[name]:
            for placeholder in re.findall(r"{(\w+)}", variation.get("text") or ""):
                assert placeholder in message or placeholder in slots, (
                    f"{name} needs {{{placeholder}}}"
                )


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    """The response names the action uttered, in order."""
    return [message["response"] for message in dispatcher.messages]


def slot_sets(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The final value each SlotSet event leaves (later events win)."""
    values: dict[str, Any] = {}
    for event in events:
        assert event["event"] == "slot", event
        values[event["name"]] = event["value"]
    return values


class FakeHandoffClient:
    """Stands in for ``HandoffClient``: records calls, answers or fails as told.

    ``create_errors`` are raised by successive ``create_ticket`` calls before it
    succeeds; ``tickets`` maps a conversation id to what the service would return
    for it (missing -> ``NoSuchTicket``); ``messages`` maps (conversation id,
    message id) to an agent message (missing -> ``NoSuchTicket``);
    ``unavailable`` makes every call fail; ``*_errors`` are raised by successive
    calls of that method. Every call is also noted in ``calls`` (method name and
    conversation id), so a test can check the order across methods.
    """

    def __init__(
        self,
        *,
        ref: str = "T-000123",
        create_errors: list[Exception] | None = None,
        tickets: dict[str, dict[str, Any]] | None = None,
        messages: dict[tuple[str, int], dict[str, Any]] | None = None,
        unavailable: bool = False,
        relay_errors: list[Exception] | None = None,
        rate_errors: list[Exception] | None = None,
        lookup_errors: list[Exception] | None = None,
        update_errors: list[Exception] | None = None,
        bot_message_errors: list[Exception] | None = None,
    ) -> None:
        self.ref = ref
        self.create_errors = list(create_errors or [])
        self.relay_errors = list(relay_errors or [])
        self.rate_errors = list(rate_errors or [])
        self.lookup_errors = list(lookup_errors or [])
        self.update_errors = list(update_errors or [])
        self.bot_message_errors = list(bot_message_errors or [])
        self.tickets = dict(tickets or {})
        self.messages = dict(messages or {})
        self.unavailable = unavailable
        self.created: list[tuple[dict[str, Any], str]] = []
        self.lookups: list[str] = []
        self.relayed: list[tuple[str, str, str | None]] = []
        self.relayed_as_hash_answer: list[bool] = []
        self.ratings: list[tuple[str, int]] = []
        self.fetched: list[tuple[str, int | str]] = []
        self.updated: list[tuple[str, dict[str, Any]]] = []
        self.bot_messages: list[tuple[str, str, str | None]] = []
        self.calls: list[tuple[str, str]] = []

    def _check_up(self) -> None:
        if self.unavailable:
            raise HandoffUnavailable("connection refused")

    def create_ticket(self, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        self.created.append((payload, idempotency_key))
        # The key starts with the conversation id; some payloads in tests omit it.
        conversation_id = payload.get("conversation_id") or idempotency_key.split(":")[0]
        self.calls.append(("create_ticket", conversation_id))
        self._check_up()
        if self.create_errors:
            raise self.create_errors.pop(0)
        return {"ref": self.ref, "status": "open", "conversation_id": conversation_id}

    def conversation_ticket(self, conversation_id: str) -> dict[str, Any]:
        self.lookups.append(conversation_id)
        self._check_up()
        if self.lookup_errors:
            raise self.lookup_errors.pop(0)
        if conversation_id not in self.tickets:
            raise NoSuchTicket(f"/api/conversations/{conversation_id}/ticket")
        return self.tickets[conversation_id]

    def relay_user_message(
        self,
        conversation_id: str,
        text: str,
        external_id: str | None,
        expecting_tx_hash: bool = False,
    ) -> dict[str, Any]:
        self.relayed.append((conversation_id, text, external_id))
        self.relayed_as_hash_answer.append(expecting_tx_hash)
        self.calls.append(("relay_user_message", conversation_id))
        self._check_up()
        if self.relay_errors:
            raise self.relay_errors.pop(0)
        return {"conversation_id": conversation_id, "text": text}

    def update_ticket(self, conversation_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        self.updated.append((conversation_id, dict(fields)))
        self.calls.append(("update_ticket", conversation_id))
        self._check_up()
        if self.update_errors:
            raise self.update_errors.pop(0)
        return {"ref": self.ref, "status": "open", "conversation_id": conversation_id}

    def add_bot_message(
        self, conversation_id: str, text: str, message_id: str | None
    ) -> dict[str, Any]:
        self.bot_messages.append((conversation_id, text, message_id))
        self.calls.append(("add_bot_message", conversation_id))
        self._check_up()
        if self.bot_message_errors:
            raise self.bot_message_errors.pop(0)
        return {"conversation_id": conversation_id, "author": "bot", "text": text}

    def rate(self, conversation_id: str, score: int) -> dict[str, Any]:
        self.ratings.append((conversation_id, score))
        self._check_up()
        if self.rate_errors:
            raise self.rate_errors.pop(0)
        return {"conversation_id": conversation_id, "csat": score}

    def agent_message(self, conversation_id: str, message_id: int | str) -> dict[str, Any]:
        self.fetched.append((conversation_id, message_id))
        self._check_up()
        try:
            return self.messages[(conversation_id, int(message_id))]
        except (KeyError, ValueError):
            raise NoSuchTicket("no such agent message") from None


def rejected(
    detail: str = "title: too short", status: int = 422, *, error_code: str | None = None,
    field: str | None = None,
) -> HandoffRejected:
    """The service's answer to an invalid request."""
    return HandoffRejected(status, detail, error_code=error_code, field=field)


class FakeFlusher:
    """Counts how often the background delivery was asked to run."""

    def __init__(self) -> None:
        self.started = 0

    def ensure_running(self) -> None:
        self.started += 1

