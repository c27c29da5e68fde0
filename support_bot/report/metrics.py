"""The numbers of the conversation report, computed from tracker events and tickets.

Pure functions: the same events and tickets always give the same numbers.
Definitions:

* conversation: a sender id with at least one user message in the window;
* user message: a user event that is not triggered by the handoff service
  (agent replies, ticket events) and is not empty; button payloads count;
* typed message: a user message that is not a button payload (it went
  through the NLU); the fallback rate and the top intents are over these;
* outside the NLU: a typed message sent while a form was asking its questions
  (emails, hashes, "skip") or while an agent had the chat (relayed to the
  ticket); the dialogue does not need the NLU to understand those, so the
  fallback rate is also given without them;
* a conversation is escalated when a ticket of the window belongs to it;
  containment = conversations not escalated / conversations;
* language of a conversation: the last value the ``language`` slot was set to
  in the window, else the language detected in the last typed message where
  one can be detected, else ``zh`` (the slot's initial value);
* tickets are those created in the window; a ticket's language is its
  conversation's, or the ticket's own field when the conversation is unknown;
* percentiles interpolate linearly between the two nearest ranks.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from support_bot.stores.handoff_tickets import TicketRow
from support_bot.stores.tracker_events import (
    FALLBACK_INTENT,
    SLOT,
    USER,
    TrackerEvent,
    UserMessage,
    outside_nlu_ids,
    user_message,
)
from support_core import patterns
from support_core.language import detect_language

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANGUAGE_SLOT = "language"
# The shared lists, re-exported for the report's other modules.
ESCALATION_REASONS = patterns.ESCALATION_REASONS
CATEGORIES = patterns.CATEGORIES
PRIORITIES = ("urgent", "high", "normal")
CSAT_SCORES = (1, 2, 3, 4, 5)
TOP_INTENTS = 10


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Durations:
    """How many durations there are and their p50/p90, in seconds."""

    n: int
    p50: float | None
    p90: float | None

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Durations:
        """Summarise ``seconds``."""
        if not seconds:
            return cls(0, None, None)
        return cls(len(seconds), percentile(seconds, 50), percentile(seconds, 90))


@dataclass(frozen=True)
class Csat:
    """Ratings 1-5: how many, the exact average, and the count per score."""

    n: int
    average: Fraction | None
    distribution: dict[int, int]


@dataclass
class Section:
    """The report's numbers for one language, or for all."""

    conversations: int = 0
    escalated_conversations: int = 0
    user_messages: int = 0
    typed_messages: int = 0
    fallback_messages: int = 0
    outside_nlu: int = 0
    outside_nlu_fallbacks: int = 0
    intents: Counter[str] = field(default_factory=Counter)
    tickets: int = 0
    escalations: dict[str, int] = field(default_factory=dict)
    by_category_priority: dict[tuple[str, str], int] = field(default_factory=dict)
    first_response: Durations = field(default_factory=lambda: Durations(0, None, None))
    resolution: Durations = field(default_factory=lambda: Durations(0, None, None))
    csat: Csat = field(default_factory=lambda: Csat(0, None, {s: 0 for s in CSAT_SCORES}))

    @property
    def contained(self) -> int:
        """Conversations that ended without a ticket."""
        return self.conversations - self.escalated_conversations

    @property
    def containment(self) -> Fraction | None:
        """Contained conversations / conversations."""
        return Fraction(self.contained, self.conversations) if self.conversations else None

    @property
    def fallback_rate(self) -> Fraction | None:
        """nlu_fallback messages / typed messages."""
        if not self.typed_messages:
            return None
        return Fraction(self.fallback_messages, self.typed_messages)

    @property
    def dialogue_fallback_rate(self) -> Fraction | None:
        """nlu_fallback / typed messages, both without the messages outside the NLU."""
        typed = self.typed_messages - self.outside_nlu
        if not typed:
            return None
        return Fraction(self.fallback_messages - self.outside_nlu_fallbacks, typed)

    def top_intents(self, limit: int = TOP_INTENTS) -> list[tuple[str, int]]:
        """The most frequent intents of typed messages; ties by name."""
        return sorted(self.intents.items(), key=lambda item: (-item[1], item[0]))[:limit]


@dataclass
class ReportData:
    """Every number of the report: all conversations, then one section per language."""

    all: Section
    by_language: dict[str, Section]
    has_tickets: bool

    def sections(self) -> list[tuple[str, Section]]:
        """("all", ...), ("zh", ...), ("en", ...)."""
        return [("all", self.all), *self.by_language.items()]


def _user_messages(events: Iterable[TrackerEvent]) -> list[UserMessage]:
    messages = (user_message(e) for e in events if e.type_name == USER)
    return [m for m in messages if not m.is_service and m.text.strip()]


def conversation_language(events: Sequence[TrackerEvent]) -> str:
    """The language of one conversation (see the module's definitions)."""
    for event in reversed(events):
        if event.type_name == SLOT and event.name == LANGUAGE_SLOT:
            value = event.data.get("value")
            if value in LANGUAGES:
                return str(value)
    for message in reversed(_user_messages(events)):
        if message.is_typed:
            detected = detect_language(message.text)
            if detected is not None:
                return detected
    return DEFAULT_LANGUAGE


def _add_conversation(section: Section, messages: list[UserMessage], outside_nlu: set[int]) -> None:
    section.conversations += 1
    section.user_messages += len(messages)
    for message in messages:
        if not message.is_typed:
            continue
        fallback = message.intent == FALLBACK_INTENT
        section.typed_messages += 1
        section.intents[message.intent or "(none)"] += 1
        section.fallback_messages += fallback
        if message.event_id in outside_nlu:
            section.outside_nlu += 1
            section.outside_nlu_fallbacks += fallback


def _add_tickets(section: Section, tickets: list[TicketRow]) -> None:
    section.tickets = len(tickets)
    reasons = Counter(ticket.escalation_reason for ticket in tickets)
    section.escalations = {reason: reasons.get(reason, 0) for reason in ESCALATION_REASONS}
    section.escalations.update({r: c for r, c in reasons.items() if r not in ESCALATION_REASONS})
    section.by_category_priority = dict(
        Counter((ticket.category, ticket.priority) for ticket in tickets)
    )
    section.first_response = Durations.of(
        [
            (t.first_agent_reply_at - t.created_at).total_seconds()
            for t in tickets
            if t.first_agent_reply_at is not None
        ]
    )
    section.resolution = Durations.of(
        [(t.resolved_at - t.created_at).total_seconds() for t in tickets if t.resolved_at]
    )
    ratings = [t.csat for t in tickets if t.csat is not None]
    distribution = Counter(ratings)
    section.csat = Csat(
        n=len(ratings),
        average=Fraction(sum(ratings), len(ratings)) if ratings else None,
        distribution={score: distribution.get(score, 0) for score in CSAT_SCORES},
    )


def compute(
    conversations: Mapping[str, Sequence[TrackerEvent]], tickets: Sequence[TicketRow] | None
) -> ReportData:
    """The report's numbers for the conversations and tickets of one window."""
    everything = Section()
    split = {language: Section() for language in LANGUAGES}
    languages: dict[str, str] = {}
    for sender in sorted(conversations):
        events = conversations[sender]
        messages = _user_messages(events)
        if not messages:
            continue
        language = conversation_language(events)
        languages[sender] = language
        outside_nlu = outside_nlu_ids(events)
        _add_conversation(everything, messages, outside_nlu)
        _add_conversation(split[language], messages, outside_nlu)
    ticket_list = list(tickets or [])
    escalated = {t.conversation_id for t in ticket_list} & set(languages)
    everything.escalated_conversations = len(escalated)
    for sender in escalated:
        split[languages[sender]].escalated_conversations += 1
    _add_tickets(everything, ticket_list)
    for language, section in split.items():
        _add_tickets(
            section,
            [t for t in ticket_list if languages.get(t.conversation_id, t.language) == language],
        )
    return ReportData(everything, split, has_tickets=tickets is not None)
