"""What the action server refuses in the production profile (``PROFILE=production``).

The actions open tickets in the handoff service and relay what the user
writes; in production the service is another host and its bot token is a
shared secret, so both must be given. The ticket outbox (what waits for the
service while it is down) must be the shared one, ``OUTBOX_URL`` on
PostgreSQL: any live action server drains it, so a replica that is lost or
scaled down leaves nothing behind. A local SQLite file (``OUTBOX_PATH``, the
default ``state/outbox.db``, or a SQLite ``OUTBOX_URL``) would keep waiting
tickets on one replica's disk, so it is refused. Pure functions of the
environment; the check runs when the server is started through
``python -m addons.server run actions``, never at import (the action server
imports this package and builds every action once).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.exc import ArgumentError

from actions.handoff_client import DEFAULT_URL
from actions.outbox import DEFAULT_PATH, parse_outbox_url
from support_core.production import (
    BOT_TOKEN_ENV,
    HANDOFF_URL_ENV,
    Problem,
    collect,
    required,
)

OUTBOX_PATH_ENV = "OUTBOX_PATH"
# A database URL for the outbox, shared by every action server when it is PostgreSQL.
OUTBOX_URL_ENV = "OUTBOX_URL"
_SHARED_OUTBOX_HINT = (
    "set OUTBOX_URL to the PostgreSQL database every action server shares, "
    "e.g. postgresql://USER:PASSWORD@postgres:5432/outbox"
)


def outbox_problem(env: Mapping[str, str]) -> Problem | None:
    """An outbox that is not shared: a local SQLite file, or a URL the outbox cannot use."""
    raw = (env.get(OUTBOX_URL_ENV) or "").strip()
    if not raw:
        path = (env.get(OUTBOX_PATH_ENV) or "").strip()
        where = f"{OUTBOX_PATH_ENV}={path}" if path else f"the default {DEFAULT_PATH}"
        return Problem(
            OUTBOX_URL_ENV,
            f"{OUTBOX_URL_ENV} is not set: the ticket outbox would be a local SQLite file "
            f"({where}) whose waiting tickets are lost with this replica; {_SHARED_OUTBOX_HINT}",
        )
    try:
        url = parse_outbox_url(raw)
    except (ArgumentError, ValueError):
        # The URL itself is never printed: it holds the database password.
        return Problem(
            OUTBOX_URL_ENV,
            f"{OUTBOX_URL_ENV} is not a PostgreSQL URL the outbox can use; {_SHARED_OUTBOX_HINT}",
        )
    if url.get_backend_name() == "sqlite":
        return Problem(
            OUTBOX_URL_ENV,
            f"{OUTBOX_URL_ENV} points at SQLite ({url.database}): a local file whose waiting "
            f"tickets are lost with this replica; {_SHARED_OUTBOX_HINT}",
        )
    return None


def action_server_problems(env: Mapping[str, str]) -> list[Problem]:
    """Everything production refuses for ``rasa run actions``."""
    return collect(
        required(
            env,
            HANDOFF_URL_ENV,
            f"tickets would go to {DEFAULT_URL}, this machine; give the service's URL",
        ),
        required(
            env,
            BOT_TOKEN_ENV,
            "the handoff service would refuse every ticket; give it the service's bot token",
        ),
        outbox_problem(env),
    )


def action_server_warnings(env: Mapping[str, str]) -> list[Problem]:
    """What production allows but most likely is a mistake: nothing for the action server.

    The local outbox, once a warning, is a refusal (:func:`outbox_problem`); an
    ``OUTBOX_PATH`` left beside a PostgreSQL ``OUTBOX_URL`` is ignored by the outbox.
    """
    return []
