"""A persisted outbox: what the handoff service could not take yet is kept and delivered later.

When the service is down the user is told plainly that the ticket is queued;
the entry survives a restart of the action server and is delivered by a
background task with the same idempotency key, so a retry can never make a
second ticket.

Each entry waits on its own schedule (exponential backoff, or the service's
Retry-After), so one entry that keeps failing never holds back other
conversations; within one conversation the order is kept (its messages wait
for its ticket). An entry the service refuses (4xx other than 429) becomes a
dead letter: kept, with the status and error code, until a maintainer sends it
again with ``support-bot outbox retry``. Payloads (the user's words) are never
logged nor listed.

Where it is kept: ``OUTBOX_URL``, a SQLAlchemy URL (PostgreSQL when several
action servers run), else a SQLite file at ``OUTBOX_PATH`` (``state/outbox.db``).
The same Core statements run on both; the tables are created on first use.

Who delivers: every action server runs an :class:`OutboxFlusher` (started by
its first action that talks to the service, see ``actions/runtime.py``); on a
shared outbox they take turns through a lease, one row in ``outbox_lease``
naming a holder and an expiry. A flusher delivers only while it holds the
lease. It takes it with one conditional UPDATE (free, expired or already
its own), and while it delivers a heartbeat thread renews it every third of
its length (``LEASE_SECONDS``, 15 s). A flusher that cannot renew, or that
has gone two thirds of the lease without renewing, stops before its next
delivery. So at most one flusher delivers at a time, and it delivers in
queue order, which keeps each conversation's order. When the holder dies
the lease runs out and the next live flusher takes over, 15 s at most
later. Expiry is measured by the database's clock, so replicas whose clocks
disagree still agree on who holds the lease.

Exactly once in effect: an entry is removed only after the service
accepted it, so a holder that dies between the two leaves it to be sent
again by the next one (at least once). The service makes the repeat
harmless: a ticket is found again by its idempotency key, a user's or the
bot's line by its message id, details already stored change nothing, and a
rating is taken once (the repeat's "already rated" counts as delivered
here). The lease keeps two flushers from sending the same entry at the same
time, or a conversation's entries out of order, on one condition: a delivery
in progress ends before the lease runs out. While the database answers the
heartbeat that always holds; once renewals fail, no new delivery starts and
the one in progress must end within a third of the lease (5 s).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.expression import ColumnElement

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
OUTBOX_URL_ENV = "OUTBOX_URL"
OUTBOX_PATH_ENV = "OUTBOX_PATH"
FLUSH_INTERVAL_SECONDS = float(os.environ.get("OUTBOX_FLUSH_INTERVAL", "3"))
LEASE_SECONDS = 15.0
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 300.0

TICKET = "ticket"
MESSAGE = "message"
RATING = "rating"
TICKET_UPDATE = "ticket_update"
BOT_MESSAGE = "bot_message"

_LEASE_NAME = "flusher"
# Refusals that mean an earlier attempt got through: the entry is done.
_ALREADY_DONE = {(RATING, "already_rated")}
# Share of the lease a holder counts on after its last renewal: the rest is the
# margin for the delivery in progress.
_LEASE_TRUSTED = 2 / 3
_CREATE_ATTEMPTS = 3

_OUTBOX_COLUMNS = {
    "next_attempt_at": "REAL NOT NULL DEFAULT 0",
}

# Seconds since the epoch by the database's clock, the one clock every replica shares.
_DATABASE_NOW = {
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
    "postgresql": "CAST(extract(epoch FROM clock_timestamp()) AS double precision)",
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
    """A delivery the service refused; its payload stays in the store, never in this view."""

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


@dataclass(frozen=True)
class _Schema:
    metadata: sa.MetaData
    outbox: sa.Table
    dead: sa.Table
    lease: sa.Table
    # Ties of created_at are broken by insertion order: SQLite's rowid (files
    # written before this schema have no other column for it), PostgreSQL's identity.
    outbox_order: ColumnElement
    dead_order: ColumnElement


def _schema(dialect: str) -> _Schema:
    metadata = sa.MetaData()
    on_postgresql = dialect == "postgresql"

    def sequence() -> list[sa.Column]:
        return [sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False)] if (
            on_postgresql
        ) else []

    def entry() -> list[sa.Column]:
        # What a queued entry and a dead letter both hold (new Column objects per table).
        return [
            sa.Column("key", sa.Text, primary_key=True),
            sa.Column("kind", sa.Text, nullable=False),
            sa.Column("conversation_id", sa.Text, nullable=False),
            sa.Column("payload", sa.Text, nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
            sa.Column("created_at", sa.Float, nullable=False),
        ]

    outbox = sa.Table(
        "outbox", metadata,
        *entry(),
        sa.Column("last_error", sa.Text),
        sa.Column("next_attempt_at", sa.Float, nullable=False, server_default=sa.text("0")),
        *sequence(),
    )
    dead = sa.Table(
        "dead_letters", metadata,
        *entry(),
        sa.Column("status", sa.Integer),
        sa.Column("error_code", sa.Text),
        sa.Column("field", sa.Text),
        sa.Column("failed_at", sa.Float, nullable=False),
        *sequence(),
    )
    lease = sa.Table(
        "outbox_lease", metadata,
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("holder", sa.Text),
        sa.Column("expires_at", sa.Float, nullable=False, server_default=sa.text("0")),
    )
    if on_postgresql:
        return _Schema(metadata, outbox, dead, lease, outbox.c.seq, dead.c.seq)
    rowid = sa.literal_column("rowid")
    return _Schema(metadata, outbox, dead, lease, rowid, rowid)


_SCHEMAS = {dialect: _schema(dialect) for dialect in _DATABASE_NOW}


class Outbox:
    """Queue keyed by idempotency key, with a table of dead letters, on SQLite or PostgreSQL."""

    def __init__(self, path: str | Path | None = None, *, url: str | URL | None = None) -> None:
        """Where the outbox is kept; nothing is opened until it is first used.

        ``url`` (a SQLAlchemy URL), else ``path`` (a SQLite file), else
        ``OUTBOX_URL``, else ``OUTBOX_PATH``, else ``state/outbox.db``.
        """
        if url is None and path is None:
            url = os.environ.get(OUTBOX_URL_ENV, "").strip() or None
        self.path: Path | None
        if url is None:
            self.path = Path(path or os.environ.get(OUTBOX_PATH_ENV, DEFAULT_PATH))
            self.url = URL.create("sqlite", database=str(self.path))
        else:
            self.url = parse_outbox_url(url)
            self.path = Path(self.url.database or "") if self.dialect == "sqlite" else None
        self._schema = _SCHEMAS[self.dialect]
        self._engine: Engine | None = None
        self._opening = threading.Lock()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.url.get_backend_name()

    @property
    def location(self) -> str:
        """The file, or the URL without its password: safe to show."""
        if self.path is not None:
            return str(self.path)
        return self.url.render_as_string(hide_password=True)

    def exists(self) -> bool:
        """Whether the outbox was ever created here; creates nothing itself."""
        if self.path is not None and not self.path.is_file():
            return False
        engine = self._engine or _make_engine(self.url)
        try:
            with engine.connect() as conn:
                return sa.inspect(conn).has_table("outbox")
        finally:
            if engine is not self._engine:
                engine.dispose()

    def close(self) -> None:
        """Close pooled connections; the next call opens new ones."""
        with self._opening:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def _ready(self) -> Engine:
        with self._opening:
            if self._engine is None:
                if self.path is not None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                engine = _make_engine(self.url)
                try:
                    _create_tables(engine, self._schema)
                except BaseException:
                    engine.dispose()
                    raise
                self._engine = engine
            return self._engine

    def _now(self) -> ColumnElement:
        return sa.literal_column(_DATABASE_NOW[self.dialect], sa.Float)

    def _insert(self, table: sa.Table) -> Any:
        # Both dialects spell "on conflict" the same way in SQLAlchemy, from their own module.
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def put(self, kind: str, key: str, conversation_id: str, payload: dict[str, Any]) -> None:
        """Queue a delivery; the same key twice is kept once."""
        table = self._schema.outbox
        statement = self._insert(table).values(
            key=key, kind=kind, conversation_id=conversation_id,
            payload=json.dumps(payload, ensure_ascii=False),
            # The database's clock: entries of one conversation queued by different
            # replicas keep their order even if the replicas' clocks disagree.
            created_at=self._now(),
        ).on_conflict_do_nothing(index_elements=["key"])
        with self._ready().begin() as conn:
            conn.execute(statement)

    def pending(self, conversation_id: str | None = None) -> list[Entry]:
        """Queued entries (due or not), tickets before messages, oldest first."""
        table = self._schema.outbox
        query = sa.select(
            table.c.key, table.c.kind, table.c.conversation_id, table.c.payload,
            table.c.attempts, table.c.next_attempt_at, table.c.last_error,
        ).order_by(
            sa.case((table.c.kind == TICKET, 0), else_=1), table.c.created_at,
            self._schema.outbox_order,
        )
        if conversation_id is not None:
            query = query.where(table.c.conversation_id == conversation_id)
        with self._ready().connect() as conn:
            rows = conn.execute(query).all()
        return [
            Entry(key, kind, cid, json.loads(payload), attempts, next_at, error)
            for key, kind, cid, payload, attempts, next_at, error in rows
        ]

    def has_due(self, now: float | None = None) -> bool:
        """Whether any entry is due at ``now``: a cheap look before a flush round."""
        now = time.time() if now is None else now
        table = self._schema.outbox
        query = sa.select(table.c.key).where(table.c.next_attempt_at <= now).limit(1)
        with self._ready().connect() as conn:
            return conn.execute(query).first() is not None

    def remove(self, key: str) -> None:
        """Forget a delivered entry."""
        table = self._schema.outbox
        with self._ready().begin() as conn:
            conn.execute(sa.delete(table).where(table.c.key == key))

    def note_failure(
        self, key: str, error: str, *, retry_after: float | None = None,
        now: float | None = None,
    ) -> float:
        """Count a failed attempt and schedule the next; return when it is due.

        The reason, never the payload, is kept.
        """
        now = time.time() if now is None else now
        table = self._schema.outbox
        with self._ready().begin() as conn:
            attempts = conn.execute(
                sa.select(table.c.attempts).where(table.c.key == key).with_for_update()
            ).scalar()
            if attempts is None:
                return now
            attempts += 1
            due = now + backoff_delay(attempts, retry_after)
            conn.execute(
                sa.update(table).where(table.c.key == key)
                .values(attempts=attempts, last_error=error[:200], next_attempt_at=due)
            )
        return due

    def bury(
        self, key: str, status: int | None, error_code: str | None, field: str | None = None,
        *, now: float | None = None,
    ) -> bool:
        """Move a queued entry to the dead letters (one transaction); False if it is not queued."""
        now = time.time() if now is None else now
        table = self._schema.outbox
        with self._ready().begin() as conn:
            row = conn.execute(
                sa.select(
                    table.c.kind, table.c.conversation_id, table.c.payload, table.c.attempts,
                    table.c.created_at,
                ).where(table.c.key == key).with_for_update()
            ).first()
            if row is None:
                return False
            kind, cid, payload, attempts, created_at = row
            self._keep_dead(
                conn, key=key, kind=kind, conversation_id=cid, payload=payload,
                attempts=attempts + 1, created_at=created_at, status=status,
                error_code=error_code, field=field, failed_at=now,
            )
            conn.execute(sa.delete(table).where(table.c.key == key))
        return True

    def put_dead_letter(
        self, kind: str, key: str, conversation_id: str, payload: dict[str, Any],
        status: int | None, error_code: str | None, field: str | None = None,
    ) -> None:
        """Keep a delivery the service refused at once (never queued) as a dead letter."""
        now = time.time()
        with self._ready().begin() as conn:
            self._keep_dead(
                conn, key=key, kind=kind, conversation_id=conversation_id,
                payload=json.dumps(payload, ensure_ascii=False), attempts=1,
                created_at=self._now(), status=status, error_code=error_code, field=field,
                failed_at=now,
            )

    def dead_letters(self) -> list[DeadLetter]:
        """Every dead letter, oldest failure first (without payloads)."""
        dead = self._schema.dead
        query = sa.select(
            dead.c.key, dead.c.kind, dead.c.conversation_id, dead.c.attempts, dead.c.status,
            dead.c.error_code, dead.c.field, dead.c.failed_at,
        ).order_by(dead.c.failed_at, self._schema.dead_order)
        with self._ready().connect() as conn:
            rows = conn.execute(query).all()
        return [DeadLetter(*row) for row in rows]

    def retry(self, key: str) -> bool:
        """Move one dead letter back to the queue, due now; False if there is none by that key."""
        with self._ready().begin() as conn:
            return self._revive(conn, self._schema.dead.c.key == key) == 1

    def retry_all(self) -> int:
        """Move every dead letter back to the queue; return how many."""
        with self._ready().begin() as conn:
            return self._revive(conn, None)

    # ------------------------------------------------------------------ the flushers' lease

    def take_lease(self, holder: str, seconds: float) -> bool:
        """Hold the flushers' lease for ``seconds`` if it is free, expired or ``holder``'s."""
        lease = self._schema.lease
        now = self._now()
        return self._set_lease(
            holder, seconds,
            sa.or_(lease.c.holder == holder, lease.c.holder.is_(None), lease.c.expires_at <= now),
        )

    def renew_lease(self, holder: str, seconds: float) -> bool:
        """Extend ``holder``'s lease by ``seconds`` from now; False if another took it."""
        # Still ours means nobody took it, even if it ran out meanwhile: keeping it is safe.
        return self._set_lease(holder, seconds, self._schema.lease.c.holder == holder)

    def release_lease(self, holder: str) -> None:
        """Give the lease up if ``holder`` has it, so the next flusher need not wait."""
        lease = self._schema.lease
        with self._ready().begin() as conn:
            conn.execute(
                sa.update(lease).where(lease.c.name == _LEASE_NAME, lease.c.holder == holder)
                .values(holder=None, expires_at=0.0)
            )

    def lease_holder(self) -> str | None:
        """Who holds the lease now (None when it is free or expired)."""
        lease = self._schema.lease
        with self._ready().connect() as conn:
            return conn.execute(
                sa.select(lease.c.holder)
                .where(lease.c.name == _LEASE_NAME, lease.c.expires_at > self._now())
            ).scalar()

    def _set_lease(self, holder: str, seconds: float, condition: ColumnElement) -> bool:
        lease = self._schema.lease
        # One statement: PostgreSQL re-checks the condition on the row a concurrent
        # taker just changed, so of two flushers racing for a free lease one gets it.
        statement = (
            sa.update(lease).where(lease.c.name == _LEASE_NAME, condition)
            .values(holder=holder, expires_at=self._now() + seconds)
        )
        with self._ready().begin() as conn:
            return conn.execute(statement).rowcount == 1

    # ------------------------------------------------------------------ helpers

    def _keep_dead(self, conn: Connection, **row: Any) -> None:
        dead = self._schema.dead
        statement = self._insert(dead).values(**row)
        conn.execute(statement.on_conflict_do_update(
            index_elements=["key"],
            set_={name: statement.excluded[name] for name in row if name != "key"},
        ))

    def _revive(self, conn: Connection, where: ColumnElement | None) -> int:
        dead, table = self._schema.dead, self._schema.outbox
        query = sa.select(
            dead.c.key, dead.c.kind, dead.c.conversation_id, dead.c.payload, dead.c.created_at,
            dead.c.status, dead.c.error_code,
        ).with_for_update()
        if where is not None:
            query = query.where(where)
        rows = conn.execute(query).all()
        for key, kind, cid, payload, created_at, status, code in rows:
            # A fresh start: the attempts count restarts, the old refusal stays readable.
            values = {
                "kind": kind, "conversation_id": cid, "payload": payload, "attempts": 0,
                "created_at": created_at,
                "last_error": f"retried after {describe_refusal(status, code)}",
                "next_attempt_at": 0.0,
            }
            conn.execute(
                self._insert(table).values(key=key, **values)
                .on_conflict_do_update(index_elements=["key"], set_=values)
            )
            conn.execute(sa.delete(dead).where(dead.c.key == key))
        return len(rows)


def parse_outbox_url(url: str | URL) -> URL:
    """``url`` as the outbox uses it (``postgres://`` read as ``postgresql://``).

    Raises:
        ValueError: not a SQLite or PostgreSQL URL, or a SQLite one kept in memory.
        sqlalchemy.exc.ArgumentError: text that is no URL at all.
    """
    parsed = make_url(url)
    if parsed.drivername == "postgres":  # the scheme some hosting services hand out
        parsed = parsed.set(drivername="postgresql")
    backend = parsed.get_backend_name()
    if backend not in _DATABASE_NOW:
        raise ValueError(f"{OUTBOX_URL_ENV} must name a SQLite or PostgreSQL database")
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ValueError(f"{OUTBOX_URL_ENV}: the outbox must outlive the process (a file)")
    return parsed


def _make_engine(url: URL) -> Engine:
    # Statement parameters never go into error messages: they hold what users wrote.
    if url.get_backend_name() == "sqlite":
        # A connection per call, as before: the outbox is touched rarely.
        return sa.create_engine(
            url, future=True, hide_parameters=True, poolclass=NullPool,
            connect_args={"timeout": 10},
        )
    return sa.create_engine(
        url, future=True, hide_parameters=True, pool_size=3, max_overflow=5,
        pool_pre_ping=True, pool_recycle=1800,
    )


def _create_tables(engine: Engine, schema: _Schema) -> None:
    for attempt in range(1, _CREATE_ATTEMPTS + 1):
        try:
            schema.metadata.create_all(engine, checkfirst=True)
            break
        except sa.exc.DBAPIError:
            # Another action server created a table between the check and our CREATE
            # (SQLite: "already exists"; PostgreSQL: DuplicateTable, or a unique
            # violation in pg_type): look again. Any other error comes back each time.
            if attempt == _CREATE_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            # Files written before backoff existed lack the column.
            present = {row[1] for row in conn.exec_driver_sql("PRAGMA table_info(outbox)")}
            for column, declaration in _OUTBOX_COLUMNS.items():
                if column not in present:
                    conn.exec_driver_sql(f"ALTER TABLE outbox ADD COLUMN {column} {declaration}")
        insert = sqlite.insert if engine.dialect.name == "sqlite" else postgresql.insert
        conn.execute(
            insert(schema.lease).values(name=_LEASE_NAME, holder=None, expires_at=0.0)
            .on_conflict_do_nothing(index_elements=["name"])
        )


def _describe(error: sa.exc.SQLAlchemyError) -> str:
    """The kind of database error, never its text: PostgreSQL's details quote row values."""
    original = getattr(error, "orig", None)
    code = getattr(original, "pgcode", None)
    name = type(original or error).__name__
    return f"{name} (SQLSTATE {code})" if code else name


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


def flush(
    outbox: Outbox, client: HandoffClient, now: float | None = None,
    *, holding: Callable[[], bool] | None = None,
) -> int:
    """Deliver every entry that is due now; return how many went out.

    A conversation whose earlier entry waits (not due, or failed just now) is
    skipped for this round, so its order holds; other conversations go on. When
    the service does not answer at all, the round stops: nobody else would get
    through either, and the entries not tried keep their schedule. ``holding``,
    asked before each delivery, ends the round once this flusher lost the lease.
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
        if holding is not None and not holding():
            logger.warning("Outbox flush round stopped: the lease is no longer held")
            break
        try:
            _deliver(entry, client)
        except HandoffUnavailable as error:
            outbox.note_failure(entry.key, str(error), retry_after=error.retry_after, now=now)
            _hold(waiting, entry)
            if error.status is None:
                break
            continue
        except HandoffRejected as error:
            if (entry.kind, error.error_code) in _ALREADY_DONE:
                # Sent before by a flusher that died before it could remove it.
                logger.info("Queued %s %s was delivered before", entry.kind, entry.key)
                outbox.remove(entry.key)
                delivered += 1
                continue
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


class _Heartbeat:
    """Renews a taken lease while a round delivers; says whether it can still be counted on."""

    def __init__(self, outbox: Outbox, holder: str, seconds: float, taken_at: float) -> None:
        self._outbox = outbox
        self._holder = holder
        self._seconds = seconds
        # Monotonic time until which the lease is ours; measured from before the
        # statement that took it, so it can only be early, never late.
        self._trusted_until = taken_at + seconds * _LEASE_TRUSTED
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="outbox-lease", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def holding(self) -> bool:
        """Whether a delivery may start now."""
        return time.monotonic() < self._trusted_until

    def _beat(self) -> None:
        while not self._stop.wait(self._seconds / 3):
            started = time.monotonic()
            try:
                renewed = self._outbox.renew_lease(self._holder, self._seconds)
            except sa.exc.SQLAlchemyError as error:
                logger.error("Outbox lease not renewed: %s", _describe(error))
                renewed = False
            if not renewed:
                self._trusted_until = 0.0
                return
            self._trusted_until = started + self._seconds * _LEASE_TRUSTED


def _holder_id() -> str:
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


class OutboxFlusher:
    """Background task in the action server that empties the outbox when the service is back.

    Every action server runs one; on a shared outbox only the holder of the
    lease delivers (see the module's docstring).
    """

    def __init__(
        self, outbox: Outbox, client: HandoffClient, *, holder: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        """Nothing starts until :meth:`ensure_running` is called from inside the event loop.

        ``holder`` names this flusher in the lease (host, process and a random
        part by default); ``lease_seconds`` is how long a holder that stops
        renewing keeps the others waiting.
        """
        self.outbox = outbox
        self.client = client
        self.holder = holder or _holder_id()
        self.lease_seconds = lease_seconds
        self._task: asyncio.Task[None] | None = None
        self._round = threading.Lock()
        self._held = False

    def ensure_running(self) -> None:
        """Start the loop once, on the running event loop."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())

    def run_once(self) -> int | None:
        """One round: take (or keep) the lease and deliver what is due.

        Returns how many entries went out, or None when another flusher holds
        the lease. Blocking: the loop runs it in a worker thread.
        """
        with self._round:
            if not self.outbox.has_due():
                return 0
            taken_at = time.monotonic()
            if not self.outbox.take_lease(self.holder, self.lease_seconds):
                self._held = False
                return None
            if not self._held:
                logger.info("Outbox flusher %s holds the lease", self.holder)
                self._held = True
            with _Heartbeat(self.outbox, self.holder, self.lease_seconds, taken_at) as beat:
                return flush(self.outbox, self.client, holding=beat.holding)

    def release(self) -> None:
        """Give the lease up after the round in progress, so another flusher takes over at once."""
        with self._round:
            self.outbox.release_lease(self.holder)
            self._held = False

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_SECONDS)
            try:
                await asyncio.to_thread(self.run_once)
            except sa.exc.SQLAlchemyError as error:
                logger.error("Outbox flush failed: %s", _describe(error))
