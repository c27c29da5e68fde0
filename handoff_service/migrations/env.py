"""Alembic environment: runs on a connection handed over by ``handoff_service.db.upgrade``.

Run from the command line (``alembic -c handoff_service/alembic.ini ...``) it
connects to ``HANDOFF_DATABASE_URL`` instead. Logging is left as the caller set
it up: no ``fileConfig`` here.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from handoff_service.config import Settings
from handoff_service.db import is_sqlite, make_engine, migration_connection
from handoff_service.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table.
        render_as_batch=is_sqlite(connection.engine.url),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through the given connection, or one made from the environment."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(Settings.from_env())
    try:
        with migration_connection(engine) as conn:
            _run(conn)
    finally:
        engine.dispose()


def run_migrations_offline() -> None:
    """Print the SQL for the configured database (or the one named in the environment)."""
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url,
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
