"""Hand-built stores for the maintainers' tool: Rasa's events table and the handoff DB."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handoff_service.config import Settings
from handoff_service.db import make_engine, upgrade
from handoff_service.models import (
    Category,
    EscalationReason,
    Language,
    Priority,
    Ticket,
    TicketStatus,
)

# The columns of Rasa 3.6's SQLTrackerStore.SQLEvent, declared here on their own.
_METADATA = sa.MetaData()
EVENTS = sa.Table(
    "events",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)

T0 = datetime(2026, 11, 5, 9, 0, tzinfo=timezone.utc)


class TrackerDB:
    """A database shaped like Rasa's tracker store; events get increasing times."""

    def __init__(self, url: str, start: datetime = T0) -> None:
        self.url = url
        self.engine = sa.create_engine(self.url, future=True)
        _METADATA.create_all(self.engine)
        self.clock = start

    def at(self, moment: datetime) -> TrackerDB:
        """Put the next events at ``moment``."""
        self.clock = moment
        return self

    def _tick(self) -> float:
        self.clock += timedelta(seconds=1)
        return self.clock.timestamp()

    def _insert(
        self,
        sender: str,
        type_name: str,
        data: dict[str, Any],
        intent: str | None = None,
        action: str | None = None,
    ) -> int:
        timestamp = self._tick()
        data = {"event": type_name, "timestamp": timestamp, **data}
        with self.engine.begin() as conn:
            result = conn.execute(
                EVENTS.insert().values(
                    sender_id=sender,
                    type_name=type_name,
                    timestamp=timestamp,
                    intent_name=intent,
                    action_name=action,
                    data=json.dumps(data, ensure_ascii=False),
                )
            )
            return int(result.inserted_primary_key[0])

    def user(
        self,
        sender: str,
        text: str,
        intent: str | None,
        ranking: list[tuple[str, float]] | None = None,
    ) -> int:
        """A user message; ``ranking`` defaults to the intent alone at 0.99."""
        ranking = ranking if ranking is not None else ([(intent, 0.99)] if intent else [])
        parse_data: dict[str, Any] = {
            "text": text,
            "intent": {"name": intent, "confidence": ranking[0][1] if ranking else None},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
            "entities": [],
            "message_id": f"m{self.clock.timestamp()}",
        }
        data = {
            "text": text,
            "parse_data": parse_data,
            "input_channel": "rest",
            "message_id": parse_data["message_id"],
        }
        return self._insert(sender, "user", data, intent=intent)

    def service(self, sender: str, intent: str) -> int:
        """What Rasa stores for the handoff service's trigger_intent call."""
        data = {
            "text": f"EXTERNAL: {intent}",
            "parse_data": {"intent": {"name": intent}, "entities": []},
            "input_channel": None,
        }
        return self._insert(sender, "user", data, intent=intent)

    def action(self, sender: str, name: str) -> int:
        """An action run; an utterance's bot event is not needed by the tool."""
        return self._insert(sender, "action", {"name": name}, action=name)

    def bot_turn(self, sender: str, *actions: str) -> None:
        """The bot's actions, then ``action_listen``."""
        for name in actions:
            self.action(sender, name)
        self.action(sender, "action_listen")

    def slot(self, sender: str, name: str, value: Any) -> int:
        """A SlotSet event."""
        return self._insert(sender, "slot", {"name": name, "value": value}, action=name)

    def active_loop(self, sender: str, name: str | None) -> int:
        """A form starting (``name``) or ending (``None``)."""
        return self._insert(sender, "active_loop", {"name": name}, action=name)

    def session_started(self, sender: str) -> int:
        """The start of a conversation session."""
        return self._insert(sender, "session_started", {})

    def close(self) -> None:
        """Release the file."""
        self.engine.dispose()


class HandoffDB:
    """The handoff service's schema, made by its own migrations."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(Settings(database_url=self.url))
        upgrade(self.engine)
        self._count = 0

    def ticket(
        self,
        conversation_id: str,
        *,
        reason: str,
        category: str = "technical",
        priority: str = "normal",
        language: str = "zh",
        created_at: datetime,
        first_reply_after: float | None = None,
        resolved_after: float | None = None,
        csat: int | None = None,
    ) -> str:
        """Insert a ticket with SLA times given as seconds after its creation."""
        self._count += 1
        priority_enum = Priority(priority)
        status = TicketStatus.RESOLVED if resolved_after is not None else TicketStatus.OPEN
        ticket = Ticket(
            id=self._count,
            conversation_id=conversation_id,
            category=Category(category),
            priority=priority_enum,
            priority_rank=priority_enum.rank,
            status=status,
            title="a title",
            description="a description",
            language=Language(language),
            escalation_reason=EscalationReason(reason),
            created_at=created_at,
            updated_at=created_at,
            first_agent_reply_at=(
                created_at + timedelta(seconds=first_reply_after)
                if first_reply_after is not None
                else None
            ),
            resolved_at=(
                created_at + timedelta(seconds=resolved_after)
                if resolved_after is not None
                else None
            ),
            csat=csat,
        )
        with Session(self.engine, future=True) as session:
            session.add(ticket)
            session.commit()
            return str(ticket.ref)

    def close(self) -> None:
        """Release the file."""
        self.engine.dispose()
