"""Engine, sessions and schema migrations; nothing here runs at import time."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool, StaticPool

from handoff_service.config import Settings

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The PostgreSQL advisory lock every ``db upgrade`` of this schema takes: any
# constant will do as long as all of them use the same one ("handoff" in ASCII).
MIGRATION_LOCK_ID = 0x68616E646F6666


def is_sqlite(url: str | URL) -> bool:
    """Whether ``url`` points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def _is_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or database.startswith("file::memory:")


def missing_sqlite_file(url: str | URL) -> Path | None:
    """The file a SQLite ``url`` names when it does not exist yet (else ``None``).

    Lets read-only commands report a database that was never created instead
    of creating an empty one by connecting to it.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or _is_memory(parsed):
        return None
    path = Path(parsed.database or "")
    return None if path.exists() else path


def make_engine(settings: Settings) -> Engine:
    """The engine for ``settings.database_url``.

    SQLite: the parent folder of the file is created, foreign keys are on, WAL
    journal. PostgreSQL: a small connection pool that survives server restarts.
    Statement parameters are never put into error messages or logs, because
    they hold what users wrote.
    """
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(
        url,
        future=True,
        hide_parameters=True,
        pool_size=5,
        max_overflow=10,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def _sqlite_engine(url: URL) -> Engine:
    memory = _is_memory(url)
    if memory:
        # One shared connection, or every pooled connection would see its own
        # empty in-memory database.
        engine = create_engine(
            url,
            future=True,
            hide_parameters=True,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
        )
    else:
        # Owner only: the file holds what users wrote. The mode goes to mkdir
        # (an existing folder is left as it is; parents get the default mode).
        folder = Path(url.database or "").parent
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        # A pool instead of SQLAlchemy 1.4's NullPool default for files: no
        # reconnect and pragma round trip on every request. Connections move
        # between the event loop and worker threads, one user at a time.
        engine = create_engine(
            url,
            future=True,
            hide_parameters=True,
            poolclass=QueuePool,
            pool_size=5,
            max_overflow=5,
            connect_args={"check_same_thread": False, "timeout": 15},
        )
    event.listen(engine, "connect", _sqlite_pragmas(memory))
    return engine


def _sqlite_pragmas(memory: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                # With WAL, NORMAL only risks the last commits on power loss,
                # never corruption, and saves an fsync per commit.
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    return on_connect


def make_session_factory(engine: Engine) -> sessionmaker:
    """Sessions for units of work: one per request, opened and closed by the caller.

    Objects stay readable after commit so the API can serialise what a
    service returned without another round trip.
    """
    return sessionmaker(bind=engine, class_=Session, future=True, expire_on_commit=False)


def ping(engine: Engine) -> None:
    """Run a trivial query; raises ``sqlalchemy.exc.OperationalError`` when the DB is down."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for this package's migrations (no alembic.ini needed).

    With ``connection``, ``sqlalchemy.url`` is set from it and the migrations
    run on that very connection (``env.py`` picks it up).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        url = connection.engine.url.render_as_string(hide_password=False)
        # Alembic's ini parser treats "%" as interpolation; URL-encoded passwords have them.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest migration shipped with the code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, ``None`` for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


class MigrationFailed(RuntimeError):
    """A migration left the database inconsistent; it was rolled back."""


def upgrade(engine: Engine) -> str | None:
    """Apply every pending migration; returns the revision the database is now at.

    Safe to run from several processes at once on PostgreSQL: each waits for
    the others' migration lock, then finds the schema already at head.
    """
    with migration_connection(engine) as conn:
        _lock_migrations(conn)
        command.upgrade(alembic_config(conn), "head")
    revision = current_revision(engine)
    logger.info("database schema at revision %s", revision)
    return revision


def _lock_migrations(conn: Connection) -> None:
    """Hold the migration lock until the migration's transaction ends (PostgreSQL only).

    Without it, two upgrades of an empty database both create the same tables
    and one fails half-way. SQLite needs nothing: one file on one machine,
    where deployments do not run upgrades side by side, and SQLite's own file
    lock makes a second writer fail rather than interleave.
    """
    if conn.dialect.name != "postgresql":
        return
    lock = {"id": MIGRATION_LOCK_ID}
    if not conn.execute(text("SELECT pg_try_advisory_xact_lock(:id)"), lock).scalar():
        logger.warning("another process is migrating this database; waiting for it to finish")
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), lock)


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction for migrations, committed when the block succeeds.

    On SQLite, foreign keys are off meanwhile: batch migrations rebuild a
    table by copying it and dropping the original, and with foreign keys on
    that DROP would cascade into the rows that refer to it (every message of
    every ticket). The references are checked before the commit instead.
    """
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            # Takes effect because the driver has not begun a transaction yet
            # (it begins one at the first data change, not at a PRAGMA).
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            if conn.exec_driver_sql("PRAGMA foreign_keys").scalar():
                raise MigrationFailed("could not turn SQLite foreign keys off for the migration")
            conn.commit()
        try:
            with conn.begin():
                yield conn
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise MigrationFailed(
                            f"the migration left {len(broken)} rows with a dangling reference"
                        )
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
