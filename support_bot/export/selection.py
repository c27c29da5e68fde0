"""Which user messages the assistant did not handle well, decided per conversation.

Pure functions over tracker events; reading the stores is done elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from support_bot.stores.tracker_events import (
    ACTION,
    FALLBACK_INTENT,
    SESSION_STARTED,
    USER,
    TrackerEvent,
    UserMessage,
    outside_nlu_ids,
    user_message,
)

REASON_NLU_FALLBACK = "nlu_fallback"
REASON_LOW_CONFIDENCE = "low_confidence"
REASON_SELF_HELP_FAILED = "self_help_failed"
REASON_FALLBACK_ESCALATION = "fallback_escalation"
REASONS = (
    REASON_NLU_FALLBACK,
    REASON_LOW_CONFIDENCE,
    REASON_SELF_HELP_FAILED,
    REASON_FALLBACK_ESCALATION,
)

ASK_SOLVED = "utter_ask_solved"
START_TICKET = "action_start_ticket"
ACTION_LISTEN = "action_listen"
DENY_INTENT = "deny"


@dataclass
class Candidate:
    """A user message to relabel and every reason it was picked for."""

    message: UserMessage
    reasons: set[str] = field(default_factory=set)


def _problem_before_failed_self_help(events: Sequence[TrackerEvent]) -> list[TrackerEvent]:
    """User events that got an FAQ answer the user then said did not help.

    Pattern: problem message -> FAQ -> ``utter_ask_solved`` -> user says ``deny``.
    """
    found: list[TrackerEvent] = []
    last_user: TrackerEvent | None = None
    user_before_ask: TrackerEvent | None = None
    last_action: str | None = None
    for event in events:
        if event.type_name == SESSION_STARTED:
            last_user, user_before_ask, last_action = None, None, None
        elif event.type_name == ACTION and event.name != ACTION_LISTEN:
            last_action = event.name
            if event.name == ASK_SOLVED:
                user_before_ask = last_user
        elif event.type_name == USER:
            message = user_message(event)
            if message.is_service:
                continue
            if (
                message.intent == DENY_INTENT
                and last_action == ASK_SOLVED
                and user_before_ask is not None
            ):
                found.append(user_before_ask)
            last_user = event
            last_action = None
    return found


def select_in_conversation(
    events: Sequence[TrackerEvent], confidence_below: float
) -> list[Candidate]:
    """The messages of one conversation picked for fallback, low confidence or failed
    self-help, in conversation order."""
    skip = outside_nlu_ids(events)
    picked: dict[int, Candidate] = {}

    def pick(event: TrackerEvent, reason: str) -> None:
        """Record ``reason`` for the user event, unless it was not for the NLU or not typed."""
        message = user_message(event)
        if event.id in skip or not message.is_typed:
            return
        picked.setdefault(event.id, Candidate(message)).reasons.add(reason)

    for event in events:
        if event.type_name != USER:
            continue
        message = user_message(event)
        if message.intent == FALLBACK_INTENT:
            pick(event, REASON_NLU_FALLBACK)
        else:
            guess = message.best_guess
            if guess is None or guess[1] < confidence_below:
                pick(event, REASON_LOW_CONFIDENCE)
    for event in _problem_before_failed_self_help(events):
        pick(event, REASON_SELF_HELP_FAILED)
    return sorted(picked.values(), key=lambda c: c.message.event_id)


def select_before_fallback_escalation(
    events: Sequence[TrackerEvent], ticket_created_ts: float
) -> list[Candidate]:
    """The user messages that led to a ticket escalated because of fallbacks.

    Those are the messages of the ticket's session before the escalation
    started (the last ``action_start_ticket`` before the ticket), without the
    message that accepted the offer of a human, which the bot did understand.
    """
    before = [event for event in events if event.timestamp < ticket_created_ts]
    starts = [i for i, event in enumerate(before) if event.is_action(START_TICKET)]
    cut = starts[-1] if starts else len(before)
    session_start = max(
        (i for i, event in enumerate(before[:cut]) if event.type_name == SESSION_STARTED),
        default=-1,
    )
    session = before[session_start + 1 : cut]
    skip = outside_nlu_ids(before[:cut])
    users = [event for event in session if event.type_name == USER and event.id not in skip]
    users = [event for event in users if not user_message(event).is_service]
    if starts and users:
        users = users[:-1]  # the "yes, a human please" that started the escalation
    return [
        Candidate(user_message(event), {REASON_FALLBACK_ESCALATION})
        for event in users
        if user_message(event).is_typed
    ]


def merge(candidates: Iterable[Candidate]) -> list[Candidate]:
    """One candidate per user event, with the reasons of every pick combined."""
    merged: dict[int, Candidate] = {}
    for candidate in candidates:
        key = candidate.message.event_id
        if key in merged:
            merged[key].reasons |= candidate.reasons
        else:
            merged[key] = Candidate(candidate.message, set(candidate.reasons))
    return sorted(merged.values(), key=lambda c: (c.message.timestamp, c.message.event_id))
