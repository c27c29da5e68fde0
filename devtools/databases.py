"""Throw-away PostgreSQL databases for tests and benchmarks."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


class DatabaseUnavailable(RuntimeError):
    """The PostgreSQL server could not be reached."""


@contextmanager
def temporary_postgres_database(
    prefix: str, admin_url: str = POSTGRES_ADMIN_URL
) -> Iterator[str]:
    """Create a fresh database named ``<prefix>_<random>``, yield its URL, drop it after.

    Raises:
        DatabaseUnavailable: the server is not reachable.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        raise DatabaseUnavailable(
            f"PostgreSQL is not reachable at {admin.url!r} ({error.orig})"
        ) from error
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
