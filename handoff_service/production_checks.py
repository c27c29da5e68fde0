"""What ``handoff-service serve`` refuses in the production profile (``PROFILE=production``).

Pure functions of the environment and of the schema revisions, so every rule
is tested without a server. The CLI prints one ``error:`` line per problem and
exits with a usage error; nothing is created or migrated first.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from support_core.production import (
    BOT_TOKEN_ENV,
    Problem,
    collect,
    rate_limit_storage_problem,
    required,
    unset,
)

DATABASE_ENV = "HANDOFF_DATABASE_URL"
ATTACHMENT_STORE_ENV = "HANDOFF_ATTACHMENT_STORE"
UPGRADE_COMMAND = "handoff-service db upgrade"


def database_problem(env: Mapping[str, str]) -> Problem | None:
    """No URL (the default is a SQLite file) or a SQLite URL: each replica its own tickets."""
    raw = (env.get(DATABASE_ENV) or "").strip()
    if not raw:
        return Problem(
            DATABASE_ENV,
            f"{DATABASE_ENV} is not set: production needs PostgreSQL shared by every replica "
            "(the default is a SQLite file in this container)",
        )
    try:
        backend = make_url(raw).get_backend_name()
    except ArgumentError:
        return Problem(DATABASE_ENV, f"{DATABASE_ENV} is not a database URL")
    if backend == "sqlite":
        return Problem(
            DATABASE_ENV,
            f"{DATABASE_ENV} points at SQLite: every replica would keep its own tickets; "
            "use PostgreSQL (postgresql://...)",
        )
    return None


def attachment_store_problem(env: Mapping[str, str]) -> Problem | None:
    """Screenshots as files: a replica could not serve the files another one kept."""
    store = (env.get(ATTACHMENT_STORE_ENV) or "files").strip().lower()
    if store == "database":
        return None
    shown = "unset (files)" if unset(env, ATTACHMENT_STORE_ENV) else store
    return Problem(
        ATTACHMENT_STORE_ENV,
        f"{ATTACHMENT_STORE_ENV} is {shown}: replicas would not see each other's screenshots; "
        "set it to database",
    )


def environment_problems(env: Mapping[str, str]) -> list[Problem]:
    """Everything in ``env`` that production refuses, before any connection is made."""
    return collect(
        database_problem(env),
        required(
            env,
            BOT_TOKEN_ENV,
            "production does not generate a token file (each replica would make its own); "
            "give the service and the bot the same secret",
        ),
        rate_limit_storage_problem(env),
        attachment_store_problem(env),
    )


def environment_warnings(env: Mapping[str, str]) -> list[Problem]:
    """What production allows but an operator most likely did not mean."""
    return collect(
        required(
            env,
            "RASA_AUTH_TOKEN",
            "notifications to a Rasa server that requires a token would be refused "
            "and retried for ever",
        ),
        required(
            env,
            "SMTP_HOST",
            "e-mails to users are written to files on this replica (MAIL_OUTBOX_DIR or the "
            "state folder), not sent",
        ),
    )


def schema_problem(current: str | None, head: str | None) -> Problem | None:
    """The database is not at the code's newest migration (``serve`` never migrates here)."""
    if current == head:
        return None
    at = f"at revision {current}" if current else "empty (no migration applied)"
    return Problem(
        DATABASE_ENV,
        f"the database schema ({DATABASE_ENV}) is {at}, this code needs {head}; "
        f"run `{UPGRADE_COMMAND}` first",
    )
