"""SQL tracker store configured by one URL, so the profile is a setting, not a code change."""

from __future__ import annotations

import functools
import itertools
import json
import os
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

TRACKER_STORE_URL_ENV = "TRACKER_STORE_URL"
DEFAULT_URL = "sqlite:///state/tracker.db"


def resolve_url(configured: str | None) -> str:
    """The URL in force: the environment wins, then endpoints.yml, then a local SQLite file."""
    return os.environ.get(TRACKER_STORE_URL_ENV) or configured or DEFAULT_URL


class UrlSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` taking a SQLAlchemy URL (SQLite file or PostgreSQL).

    It also remembers, for each tracker object it loaded or saved, how many of
    its events are already in the database, so saving a turn inserts the new
    events without first counting the stored ones (a query per message). A
    tracker it has not seen, such as a copy, is counted as before. The lock
    store keeps other processes off a conversation between its load and save.
    Loading and saving write and read the rows Rasa's own store does, with
    Core statements instead of ORM objects.
    """

    def __init__(self, host: str | None = None, **kwargs: Any) -> None:
        """Connect to ``TRACKER_STORE_URL`` (or ``url`` in endpoints.yml)."""
        url = resolve_url(host)
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        for unused in ("dialect", "db", "port", "username", "password"):
            kwargs.pop(unused, None)
        super().__init__(host=url, **kwargs)
        self._stored_counts = StoredEventCounts()
        if self.engine.dialect.name == "sqlite" and ":memory:" not in url:
            self._pool_sqlite_connections(url)

    def _pool_sqlite_connections(self, url: str) -> None:
        # SQLAlchemy 1.4 opens a new SQLite connection for every session (NullPool):
        # two per message, each re-reading the schema. One pool of tuned
        # connections instead; the tables exist already.
        self.engine.dispose()
        self.engine = sa.create_engine(
            url, poolclass=QueuePool, pool_size=4, max_overflow=8,
            connect_args={"check_same_thread": False},
        )
        event.listen(self.engine, "connect", _tune_sqlite)
        self.sessionmaker = sessionmaker(bind=self.engine)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        # Rasa's query, written once in Core and reading only the JSON column:
        # building the ORM query and one ORM object per stored event cost more
        # than the query itself, on every message.
        statement = _event_data_query(self.SQLEvent.__table__, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            rows = session.execute(statement, {"sender_id": sender_id}).scalars().all()
        if not (self.domain and rows):
            return None
        tracker = DialogueStateTracker.from_dict(
            sender_id, [json.loads(data) for data in rows], self.domain.slots
        )
        # Only the latest session matches what ``save`` would count.
        if not fetch_events_from_all_sessions:
            self._stored_counts.remember(tracker)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Insert the tracker's events that are not stored yet (the rows Rasa would write)."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = [
                _event_row(tracker.sender_id, event)
                for event in self._additional_events(session, tracker)
            ]
            if rows:
                session.execute(sa.insert(self.SQLEvent.__table__), rows)
            session.commit()
        self._stored_counts.remember(tracker)

    def _additional_events(self, session: Session, tracker: DialogueStateTracker) -> Iterator:
        stored = self._stored_counts.get(tracker)
        if stored is None or stored > len(tracker.events):
            # Counted as Rasa counts: the events of the latest stored session.
            count = _latest_session_count(self.SQLEvent.__table__)
            stored = session.execute(count, {"sender_id": tracker.sender_id}).scalar_one()
        return itertools.islice(tracker.events, stored, len(tracker.events))


class StoredEventCounts:
    """How many events of a live tracker object are in the database.

    Keyed by the object itself (trackers are not hashable) and forgotten when
    the object is garbage-collected, so it never outlives a conversation turn
    by much.
    """

    def __init__(self) -> None:
        """Start empty."""
        self._entries: dict[int, tuple[weakref.ref[DialogueStateTracker], int]] = {}

    def remember(self, tracker: DialogueStateTracker) -> None:
        """Record that every event ``tracker`` holds now is stored."""
        key = id(tracker)
        entry = self._entries.get(key)
        if entry is not None and entry[0]() is tracker:
            self._entries[key] = (entry[0], len(tracker.events))
            return

        def forget(ref: weakref.ref[DialogueStateTracker]) -> None:
            current = self._entries.get(key)
            if current is not None and current[0] is ref:
                del self._entries[key]

        self._entries[key] = (weakref.ref(tracker, forget), len(tracker.events))

    def get(self, tracker: DialogueStateTracker) -> int | None:
        """The stored count for this very object, or ``None`` if it is unknown."""
        entry = self._entries.get(id(tracker))
        if entry is None or entry[0]() is not tracker:
            return None
        return entry[1]

    def __len__(self) -> int:
        """How many tracker objects are remembered."""
        return len(self._entries)


def _event_row(sender_id: str, event: Event) -> dict[str, Any]:
    """The ``events`` row Rasa's ``SQLTrackerStore.save`` writes for ``event``."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


@functools.lru_cache(maxsize=4)
def _event_data_query(events: sa.Table, all_sessions: bool) -> sa.sql.Select:
    """The stored JSON of a conversation's events in order, as Rasa selects them.

    Without ``all_sessions``, only the latest session: events from the last
    ``session_started`` on, or every event if there is none.
    """
    query = sa.select(events.c.data).where(events.c.sender_id == sa.bindparam("sender_id"))
    if not all_sessions:
        session_start = (
            sa.select(sa.func.max(events.c.timestamp))
            .where(
                events.c.sender_id == sa.bindparam("sender_id"),
                events.c.type_name == SessionStarted.type_name,
            )
            .scalar_subquery()
        )
        query = query.where(
            sa.or_(events.c.timestamp >= session_start, session_start.is_(None))
        )
    return query.order_by(events.c.id)


@functools.lru_cache(maxsize=2)
def _latest_session_count(events: sa.Table) -> sa.sql.Select:
    """How many events the latest stored session of a conversation holds."""
    latest = _event_data_query(events, all_sessions=False).subquery()
    return sa.select(sa.func.count()).select_from(latest)


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Every message saves the conversation: WAL with normal sync avoids a disk
    # flush per commit while staying crash-safe for the database itself.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_tables(url: str | None = None) -> None:
    """Create the tracker store's tables once, before several replicas start on them.

    Each Rasa server creates them at start too, but replicas starting together on
    an empty PostgreSQL database race to create the same tables and types.
    """
    UrlSQLTrackerStore(host=url).engine.dispose()


if __name__ == "__main__":
    import sys

    create_tables(sys.argv[1] if len(sys.argv) > 1 else None)
