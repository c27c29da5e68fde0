"""A persisted outbox: what the handoff service could not take yet is kept and delivered later.

When the service is down the user is told plainly that the ticket is queued;
the entry survives a restart of the action server (a SQLite file) and is
delivered by a background task with the same idempotency key, so a retry can
never make a second ticket.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actions.handoff_client import HandoffClient, HandoffError, HandoffRejected, HandoffUnavailable

logger = logging.getLogger(__name__)

DEFAULT_PATH = "state/outbox.db"
FLUSH_INTERVAL_SECONDS = float(os.environ.get("OUTBOX_FLUSH_INTERVAL", "3"))

TICKET = "ticket"
MESSAGE = "message"
RATING = "rating"


@dataclass(frozen=True)
class Entry:
    """One queued delivery."""

    key: str
    kind: str
    conversation_id: str
    payload: dict[str, Any]
    attempts: int


class Outbox:
    """SQLite-backed queue keyed by idempotency key."""

    def __init__(self, path: str | None = None) -> None:
        """``path`` defaults to ``OUTBOX_PATH`` or ``state/outbox.db``; opened lazily."""
        self.path = Path(path or os.environ.get("OUTBOX_PATH", DEFAULT_PATH))
        self._ready = False

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10)
        try:
            if not self._ready:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS outbox (key TEXT PRIMARY KEY, kind TEXT NOT NULL,"
                    " conversation_id TEXT NOT NULL, payload TEXT NOT NULL,"
                    " attempts INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,"
                    " last_error TEXT)"
                )
                self._ready = True
            yield conn
            conn.commit()
        finally:
            conn.close()

    def put(self, kind: str, key: str, conversation_id: str, payload: dict[str, Any]) -> None:
        """Queue a delivery; the same key twice is kept once."""
        with self._connect() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO outbox (key, kind, conversation_id, payload, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (key, kind, conversation_id, json.dumps(payload, ensure_ascii=False), time.time()),
            )

    def pending(self, conversation_id: str | None = None) -> list[Entry]:
        """Queued entries, tickets before messages, oldest first."""
        query = "SELECT key, kind, conversation_id, payload, attempts FROM outbox"
        args: tuple[str, ...] = ()
        if conversation_id is not None:
            query += " WHERE conversation_id = ?"
            args = (conversation_id,)
        query += " ORDER BY kind != 'ticket', created_at"
        with self._connect() as conn:
            rows = conn.execute(query, args).fetchall()
        return [Entry(k, kind, c, json.loads(p), a) for k, kind, c, p, a in rows]

    def remove(self, key: str) -> None:
        """Forget a delivered entry."""
        with self._connect() as conn:
            conn.execute("DELETE FROM outbox WHERE key = ?", (key,))

    def note_failure(self, key: str, error: str) -> None:
        """Count a failed attempt (the reason, never the payload, is kept)."""
        with self._connect() as conn:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE key = ?",
                (error[:200], key),
            )


def flush(outbox: Outbox, client: HandoffClient) -> int:
    """Deliver what can be delivered now; return how many entries went out."""
    delivered = 0
    for entry in outbox.pending():
        try:
            if entry.kind == TICKET:
                client.create_ticket({**entry.payload, "delivered_late": True}, entry.key)
            elif entry.kind == RATING:
                client.rate(entry.payload["ref"], entry.payload["score"])
            else:
                ticket = client.conversation_ticket(entry.conversation_id)
                client.relay_user_message(
                    ticket["ref"], entry.payload["text"], entry.payload.get("external_id")
                )
        except HandoffUnavailable as error:
            outbox.note_failure(entry.key, str(error))
            break  # still down: keep the order, try again later
        except HandoffRejected as error:
            # The service will never take this one; keep it out of the queue but say so.
            logger.error("Handoff service refused queued %s %s: %s", entry.kind, entry.key, error)
            outbox.remove(entry.key)
            continue
        except HandoffError as error:
            outbox.note_failure(entry.key, str(error))
            continue
        outbox.remove(entry.key)
        delivered += 1
    return delivered


class OutboxFlusher:
    """Background task in the action server that empties the outbox when the service is back."""

    def __init__(self, outbox: Outbox, client: HandoffClient) -> None:
        """Nothing starts until :meth:`ensure_running` is called from inside the event loop."""
        self.outbox = outbox
        self.client = client
        self._task: asyncio.Task[None] | None = None

    def ensure_running(self) -> None:
        """Start the loop once, on the running event loop."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_SECONDS)
            try:
                if await asyncio.to_thread(self.outbox.pending):
                    await asyncio.to_thread(flush, self.outbox, self.client)
            except sqlite3.Error as error:
                logger.error("Outbox flush failed: %s", error)
