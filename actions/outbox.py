"""A persisted outbox: what the handoff service could not take yet is kept and delivered later.

When the service is down the user is told plainly that the ticket is queued;
the entry survives a restart of the action server (a SQLite file) and is
delivered by a background task with the same idempotency key, so a retry can
never make a second ticket.

Each entry waits on its own schedule (exponential backoff, or the service's
Retry-After), so one entry that keeps failing never holds back other
conversations; within one conversation the order is kept (its messages wait
for its ticket). An entry the service refuses (4xx other than 429) becomes a
dead letter: kept, with the status and error code, until a maintainer sends it
again with ``support-bot outbox retry``. Payloads (the user's words) are never
logged nor listed.
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

from actions.handoff_client import (
    MAX_RETRY_AFTER_SECONDS,
    HandoffCallFailed,
    HandoffClient,
    HandoffRejected,
    HandoffUnavailable,
    describe_refusal,
)

logger = logging.getLogger(__name__)

DEFAULT_PATH = "state/outbox.db"
FLUSH_INTERVAL_SECONDS = float(os.environ.get("OUTBOX_FLUSH_INTERVAL", "3"))
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 300.0

TICKET = "ticket"
MESSAGE = "message"
RATING = "rating"
TICKET_UPDATE = "ticket_update"
BOT_MESSAGE = "bot_message"

_OUTBOX_COLUMNS = {
    "next_attempt_at": "REAL NOT NULL DEFAULT 0",
}


@dataclass(frozen=True)
class Entry:
    """One queued delivery."""

    key: str
    kind: str
    conversation_id: str
    payload: dict[str, Any]
    attempts: int
    next_attempt_at: float = 0.0
    last_error: str | None = None


@dataclass(frozen=True)
class DeadLetter:
    """A delivery the service refused; its payload stays in the file, never in this view."""

    key: str
    kind: str
    conversation_id: str
    attempts: int
    status: int | None
    error_code: str | None
    field: str | None
    failed_at: float

    @property
    def last_error(self) -> str:
        """Status, error code and field, e.g. ``422 validation_failed (field occurred_at)``."""
        return describe_refusal(self.status, self.error_code, self.field)


def backoff_delay(attempts: int, retry_after: float | None = None) -> float:
    """Seconds to wait after the ``attempts``-th failure: doubling, capped, at least Retry-After."""
    exponent = max(0, attempts - 1)
    delay = BACKOFF_CAP_SECONDS if exponent > 16 else min(
        BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**exponent
    )
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return delay


class Outbox:
    """SQLite-backed queue keyed by idempotency key, with a table of dead letters."""

    def __init__(self, path: str | Path | None = None) -> None:
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
                _create_tables(conn)
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
        """Queued entries (due or not), tickets before messages, oldest first."""
        query = (
            "SELECT key, kind, conversation_id, payload, attempts, next_attempt_at, last_error"
            " FROM outbox"
        )
        args: tuple[str, ...] = ()
        if conversation_id is not None:
            query += " WHERE conversation_id = ?"
            args = (conversation_id,)
        query += " ORDER BY kind != 'ticket', created_at, rowid"
        with self._connect() as conn:
            rows = conn.execute(query, args).fetchall()
        return [
            Entry(key, kind, cid, json.loads(payload), attempts, next_at, error)
            for key, kind, cid, payload, attempts, next_at, error in rows
        ]

    def remove(self, key: str) -> None:
        """Forget a delivered entry."""
        with self._connect() as conn:
            conn.execute("DELETE FROM outbox WHERE key = ?", (key,))

    def note_failure(
        self, key: str, error: str, *, retry_after: float | None = None,
        now: float | None = None,
    ) -> float:
        """Count a failed attempt and schedule the next; return when it is due.

        The reason, never the payload, is kept.
        """
        now = time.time() if now is None else now
        with self._connect() as conn:
            row = conn.execute("SELECT attempts FROM outbox WHERE key = ?", (key,)).fetchone()
            if row is None:
                return now
            attempts = row[0] + 1
            due = now + backoff_delay(attempts, retry_after)
            conn.execute(
                "UPDATE outbox SET attempts = ?, last_error = ?, next_attempt_at = ?"
                " WHERE key = ?",
                (attempts, error[:200], due, key),
            )
        return due

    def bury(
        self, key: str, status: int | None, error_code: str | None, field: str | None = None,
        *, now: float | None = None,
    ) -> bool:
        """Move a queued entry to the dead letters (one transaction); False if it is not queued."""
        now = time.time() if now is None else now
        with self._connect() as conn:
            row = conn.execute(
                "SELECT kind, conversation_id, payload, attempts, created_at FROM outbox"
                " WHERE key = ?", (key,),
            ).fetchone()
            if row is None:
                return False
            kind, cid, payload, attempts, created_at = row
            _insert_dead(
                conn, key, kind, cid, payload, attempts + 1, created_at, status, error_code,
                field, now,
            )
            conn.execute("DELETE FROM outbox WHERE key = ?", (key,))
        return True

    def put_dead_letter(
        self, kind: str, key: str, conversation_id: str, payload: dict[str, Any],
        status: int | None, error_code: str | None, field: str | None = None,
    ) -> None:
        """Keep a delivery the service refused at once (never queued) as a dead letter."""
        now = time.time()
        with self._connect() as conn:
            _insert_dead(
                conn, key, kind, conversation_id, json.dumps(payload, ensure_ascii=False), 1,
                now, status, error_code, field, now,
            )

    def dead_letters(self) -> list[DeadLetter]:
        """Every dead letter, oldest failure first (without payloads)."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT key, kind, conversation_id, attempts, status, error_code, field,"
                " failed_at FROM dead_letters ORDER BY failed_at, rowid"
            ).fetchall()
        return [DeadLetter(*row) for row in rows]

    def retry(self, key: str) -> bool:
        """Move one dead letter back to the queue, due now; False if there is none by that key."""
        with self._connect() as conn:
            return _revive(conn, "WHERE key = ?", (key,)) == 1

    def retry_all(self) -> int:
        """Move every dead letter back to the queue; return how many."""
        with self._connect() as conn:
            return _revive(conn, "", ())


def _create_tables(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS outbox (key TEXT PRIMARY KEY, kind TEXT NOT NULL,"
        " conversation_id TEXT NOT NULL, payload TEXT NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,"
        " last_error TEXT, next_attempt_at REAL NOT NULL DEFAULT 0)"
    )
    # Files written before backoff existed lack the column.
    present = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
    for column, declaration in _OUTBOX_COLUMNS.items():
        if column not in present:
            conn.execute(f"ALTER TABLE outbox ADD COLUMN {column} {declaration}")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS dead_letters (key TEXT PRIMARY KEY, kind TEXT NOT NULL,"
        " conversation_id TEXT NOT NULL, payload TEXT NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,"
        " status INTEGER, error_code TEXT, field TEXT, failed_at REAL NOT NULL)"
    )


def _insert_dead(
    conn: sqlite3.Connection, key: str, kind: str, conversation_id: str, payload: str,
    attempts: int, created_at: float, status: int | None, error_code: str | None,
    field: str | None, failed_at: float,
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO dead_letters (key, kind, conversation_id, payload, attempts,"
        " created_at, status, error_code, field, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (key, kind, conversation_id, payload, attempts, created_at, status, error_code, field,
         failed_at),
    )


def _revive(conn: sqlite3.Connection, where: str, args: tuple[str, ...]) -> int:
    rows = conn.execute(
        "SELECT key, kind, conversation_id, payload, created_at, status, error_code"
        f" FROM dead_letters {where}", args,
    ).fetchall()
    for key, kind, cid, payload, created_at, status, code in rows:
        note = f"retried after {describe_refusal(status, code)}"
        # A fresh start: the attempts count restarts, the old refusal stays readable.
        conn.execute(
            "INSERT OR REPLACE INTO outbox (key, kind, conversation_id, payload, attempts,"
            " created_at, last_error, next_attempt_at) VALUES (?, ?, ?, ?, 0, ?, ?, 0)",
            (key, kind, cid, payload, created_at, note),
        )
        conn.execute("DELETE FROM dead_letters WHERE key = ?", (key,))
    return len(rows)


def _deliver(entry: Entry, client: HandoffClient) -> None:
    if entry.kind == TICKET:
        client.create_ticket({**entry.payload, "delivered_late": True}, entry.key)
    elif entry.kind == RATING:
        client.rate(entry.conversation_id, int(entry.payload["score"]))
    elif entry.kind == TICKET_UPDATE:
        client.update_ticket(entry.conversation_id, entry.payload)
    elif entry.kind == BOT_MESSAGE:
        client.add_bot_message(
            entry.conversation_id, entry.payload["text"], entry.payload.get("message_id")
        )
    else:
        client.relay_user_message(
            entry.conversation_id, entry.payload["text"], entry.payload.get("external_id"),
            bool(entry.payload.get("expecting_tx_hash")),
        )


def _hold(waiting: set[str], entry: Entry) -> None:
    """A waiting ticket or message holds back the conversation's later ones; a rating does not."""
    if entry.kind != RATING:
        waiting.add(entry.conversation_id)


def flush(outbox: Outbox, client: HandoffClient, now: float | None = None) -> int:
    """Deliver every entry that is due now; return how many went out.

    A conversation whose earlier entry waits (not due, or failed just now) is
    skipped for this round, so its order holds; other conversations go on. When
    the service does not answer at all, the round stops: nobody else would get
    through either, and the entries not tried keep their schedule.
    """
    now = time.time() if now is None else now
    delivered = 0
    waiting: set[str] = set()
    for entry in outbox.pending():
        if entry.conversation_id in waiting:
            continue
        if entry.next_attempt_at > now:
            _hold(waiting, entry)
            continue
        try:
            _deliver(entry, client)
        except HandoffUnavailable as error:
            outbox.note_failure(entry.key, str(error), retry_after=error.retry_after, now=now)
            _hold(waiting, entry)
            if error.status is None:
                break
            continue
        except HandoffRejected as error:
            outbox.bury(entry.key, error.status, error.error_code, error.field, now=now)
            logger.error(
                "Handoff service refused queued %s %s of conversation %s (%s); kept as a dead"
                " letter", entry.kind, entry.key, entry.conversation_id, error,
            )
            continue
        except HandoffCallFailed as error:
            outbox.note_failure(entry.key, str(error), now=now)
            _hold(waiting, entry)
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
