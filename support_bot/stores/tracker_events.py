"""Read conversations from Rasa's SQL tracker store (the ``events`` table).

Rasa writes one row per event: ``type_name`` ("user", "action", "slot", ...),
a float Unix ``timestamp``, ``intent_name`` / ``action_name`` (the slot name
for slot events) and the event itself as JSON in ``data``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine, make_url

from support_bot.common.errors import StoreMissing
from support_bot.common.project import safe_url
from support_bot.common.window import Window

# The columns of Rasa's ``SQLTrackerStore.SQLEvent`` that are read here.
EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

USER = "user"
ACTION = "action"
SLOT = "slot"
ACTIVE_LOOP = "active_loop"
SESSION_STARTED = "session_started"
CONVERSATION_EVENT_TYPES = (USER, ACTION, SLOT, ACTIVE_LOOP, SESSION_STARTED)

FALLBACK_INTENT = "nlu_fallback"
# Intents the handoff service triggers through Rasa's API: not something a user wrote.
SERVICE_INTENTS = frozenset({"agent_message", "agent_joined", "ticket_resolved", "ticket_created"})
# True while a human agent has the chat: user messages are relayed, not answered.
HANDOFF_SLOT = "handoff_active"
# Rasa's text for a UserUttered created by trigger_intent.
EXTERNAL_PREFIX = "EXTERNAL: "
_IN_CHUNK = 500


@dataclass(frozen=True)
class TrackerEvent:
    """One row of the ``events`` table, with its JSON decoded."""

    id: int
    sender_id: str
    type_name: str
    timestamp: float
    # The intent of a user event, the action's name, the slot's name, the loop's name.
    name: str | None
    data: Mapping[str, Any]

    def is_action(self, name: str) -> bool:
        """Whether this is the action ``name`` running."""
        return self.type_name == ACTION and self.name == name


@dataclass(frozen=True)
class UserMessage:
    """A user event as the maintainer's tools need it."""

    event_id: int
    sender_id: str
    timestamp: float
    text: str
    intent: str | None
    # The classifier's ranking, best first, as (intent, confidence); may start with nlu_fallback.
    ranking: tuple[tuple[str, float], ...]

    @property
    def is_service(self) -> bool:
        """Triggered by the handoff service (agent reply, ticket events), not written."""
        return self.intent in SERVICE_INTENTS or self.text.startswith(EXTERNAL_PREFIX)

    @property
    def is_payload(self) -> bool:
        """A button payload such as ``/affirm`` or ``/rate{"csat": 5}``."""
        return self.text.lstrip().startswith("/")

    @property
    def is_typed(self) -> bool:
        """Text the user typed: not a service event, not a payload, not empty."""
        return not self.is_service and not self.is_payload and bool(self.text.strip())

    @property
    def guesses(self) -> tuple[tuple[str, float], ...]:
        """The ranking without ``nlu_fallback``: the model's real guesses, best first."""
        return tuple(item for item in self.ranking if item[0] != FALLBACK_INTENT)

    @property
    def best_guess(self) -> tuple[str, float] | None:
        """The model's best real intent and its confidence (under a fallback: ranking[1])."""
        guesses = self.guesses
        return guesses[0] if guesses else None


def _decode(raw: str | None) -> Mapping[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _ranking(parse_data: Mapping[str, Any], intent: str | None) -> tuple[tuple[str, float], ...]:
    items: list[tuple[str, float]] = []
    for entry in parse_data.get("intent_ranking") or []:
        if isinstance(entry, dict) and entry.get("name"):
            items.append((str(entry["name"]), float(entry.get("confidence") or 0.0)))
    if not items and intent:
        confidence = (parse_data.get("intent") or {}).get("confidence")
        items.append((intent, float(confidence or 0.0)))
    return tuple(items)


def user_message(event: TrackerEvent) -> UserMessage:
    """The user message carried by the user event ``event``."""
    data = event.data
    parse_data = data.get("parse_data") or {}
    intent = (parse_data.get("intent") or {}).get("name") or event.name
    return UserMessage(
        event_id=event.id,
        sender_id=event.sender_id,
        timestamp=event.timestamp,
        text=str(data.get("text") or ""),
        intent=intent,
        ranking=_ranking(parse_data, intent),
    )


def outside_nlu_ids(events: Iterable[TrackerEvent]) -> set[int]:
    """Ids of the user events the dialogue did not need the NLU for.

    Those are answers to a form's questions (emails, hashes, titles, "skip"),
    sent while a form is active, and messages relayed to a human agent while
    the ``handoff_active`` slot is true.
    """
    found: set[int] = set()
    form = handoff = False
    for event in events:
        if event.type_name == ACTIVE_LOOP:
            form = bool(event.name)
        elif event.type_name == SLOT and event.name == HANDOFF_SLOT:
            handoff = bool(event.data.get("value"))
        elif event.type_name == SESSION_STARTED:
            form = False
        elif event.type_name == USER and (form or handoff):
            found.add(event.id)
    return found


def open_tracker_store(url: str) -> Engine:
    """An engine on the tracker store at ``url``.

    Raises:
        StoreMissing: the SQLite file does not exist or there is no ``events`` table.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not Path(database).exists():
            raise StoreMissing(f"no tracker store at {safe_url(url)} (the file does not exist)")
    engine = create_engine(url, future=True, hide_parameters=True)
    if not sa_inspect(engine).has_table("events"):
        engine.dispose()
        raise StoreMissing(f"{safe_url(url)} has no `events` table: is it Rasa's tracker store?")
    return engine


def _row_to_event(row: Any) -> TrackerEvent:
    data = _decode(row.data)
    # Rasa fills ``action_name`` with the slot's name for slot events and the
    # loop's name for active_loop events.
    name = row.intent_name if row.type_name == USER else row.action_name or data.get("name")
    timestamp = row.timestamp if row.timestamp is not None else data.get("timestamp") or 0.0
    return TrackerEvent(
        id=int(row.id),
        sender_id=str(row.sender_id),
        type_name=str(row.type_name),
        timestamp=float(timestamp),
        name=name,
        data=data,
    )


def load_events(
    engine: Engine, window: Window, types: Iterable[str] = CONVERSATION_EVENT_TYPES
) -> list[TrackerEvent]:
    """Every event of the given types inside ``window``, in the order Rasa stored them."""
    stmt = (
        select(EVENTS)
        .where(
            EVENTS.c.type_name.in_(list(types)),
            EVENTS.c.timestamp >= window.start_ts,
            EVENTS.c.timestamp < window.end_ts,
        )
        .order_by(EVENTS.c.id)
    )
    with engine.connect() as conn:
        return [_row_to_event(row) for row in conn.execute(stmt)]


def load_conversations(
    engine: Engine,
    sender_ids: Iterable[str],
    before_ts: float | None = None,
    types: Iterable[str] = CONVERSATION_EVENT_TYPES,
) -> dict[str, list[TrackerEvent]]:
    """The events of each conversation in ``sender_ids`` (before ``before_ts`` when given)."""
    senders = sorted(set(sender_ids))
    found: dict[str, list[TrackerEvent]] = {sender: [] for sender in senders}
    with engine.connect() as conn:
        for start in range(0, len(senders), _IN_CHUNK):
            chunk = senders[start : start + _IN_CHUNK]
            stmt = select(EVENTS).where(
                EVENTS.c.sender_id.in_(chunk), EVENTS.c.type_name.in_(list(types))
            )
            if before_ts is not None:
                stmt = stmt.where(EVENTS.c.timestamp < before_ts)
            for row in conn.execute(stmt.order_by(EVENTS.c.id)):
                found[str(row.sender_id)].append(_row_to_event(row))
    return found


def by_sender(events: Iterable[TrackerEvent]) -> dict[str, list[TrackerEvent]]:
    """``events`` grouped per conversation, each in stored order; senders sorted."""
    grouped: dict[str, list[TrackerEvent]] = {}
    for event in events:
        grouped.setdefault(event.sender_id, []).append(event)
    return {sender: grouped[sender] for sender in sorted(grouped)}
