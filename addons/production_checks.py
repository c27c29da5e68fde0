"""What the Rasa server refuses in the production profile (``PROFILE=production``).

Several Rasa replicas can only share conversations when they share every
store: the tracker store (PostgreSQL), the lock store (Redis, so one
conversation is handled by one replica at a time), socket.io rooms (Redis,
so a reply reaches a socket another replica holds), rate-limit counters and
the secrets that sign sessions and guard the HTTP API. Pure functions of the
environment and the parsed endpoints file; :mod:`addons.server` reads the
file, prints the problems and refuses to start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from support_core.production import (
    BOT_TOKEN_ENV,
    HANDOFF_URL_ENV,
    SESSION_SECRET_ENV,
    Problem,
    collect,
    rate_limit_storage_problem,
    required,
)

# The same names as addons.tracker_store (not imported: that module loads
# Rasa's SQL tracker store); a unit test keeps the two in step.
TRACKER_STORE_URL_ENV = "TRACKER_STORE_URL"
URL_SQL_TRACKER_STORE = "addons.tracker_store.UrlSQLTrackerStore"
SOCKETIO_REDIS_ENV = "SOCKETIO_REDIS_URL"
AUTH_TOKEN_ENV = "RASA_AUTH_TOKEN"
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _section(endpoints: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = endpoints.get(name)
    return section if isinstance(section, Mapping) else {}


def _is_sqlite(url: str) -> bool:
    return url.strip().lower().startswith("sqlite")


def tracker_store_problem(
    env: Mapping[str, str], endpoints: Mapping[str, Any], source: str = "the endpoints file"
) -> Problem | None:
    """Conversations not in a shared SQL database: each replica would see its own."""
    config = _section(endpoints, "tracker_store")
    kind = str(config.get("type") or "")
    if kind == URL_SQL_TRACKER_STORE:
        url = (env.get(TRACKER_STORE_URL_ENV) or str(config.get("url") or "")).strip()
        if not url:
            return Problem(
                TRACKER_STORE_URL_ENV,
                f"{TRACKER_STORE_URL_ENV} is not set: conversations would go to a local "
                "SQLite file; set it to PostgreSQL (postgresql://...)",
            )
        if _is_sqlite(url):
            return Problem(
                TRACKER_STORE_URL_ENV,
                f"{TRACKER_STORE_URL_ENV} points at SQLite: every replica would keep its own "
                "conversations; use PostgreSQL (postgresql://...)",
            )
        return None
    if kind.lower() == "sql":
        if str(config.get("dialect") or "sqlite").lower().startswith("sqlite"):
            return Problem(
                "tracker_store",
                f"tracker_store in {source} is SQL on SQLite: use PostgreSQL "
                f"({URL_SQL_TRACKER_STORE} with {TRACKER_STORE_URL_ENV})",
            )
        return None
    shown = kind or "not set (in memory)"
    return Problem(
        "tracker_store",
        f"tracker_store in {source} is {shown}: production needs {URL_SQL_TRACKER_STORE} "
        f"on PostgreSQL ({TRACKER_STORE_URL_ENV})",
    )


def lock_store_problem(
    endpoints: Mapping[str, Any], source: str = "the endpoints file"
) -> Problem | None:
    """A lock store in memory: two replicas could handle one conversation at once."""
    kind = str(_section(endpoints, "lock_store").get("type") or "")
    if kind and kind != "in_memory":
        return None
    shown = kind or "not set (in memory)"
    return Problem(
        "lock_store",
        f"lock_store in {source} is {shown}: replicas would not lock each other out of a "
        "conversation; use the redis lock store (endpoints.production.yml)",
    )


def rasa_server_problems(
    env: Mapping[str, str], endpoints: Mapping[str, Any], source: str = "the endpoints file"
) -> list[Problem]:
    """Everything production refuses for ``rasa run``, from ``env`` and the endpoints."""
    return collect(
        tracker_store_problem(env, endpoints, source),
        lock_store_problem(endpoints, source),
        required(
            env,
            AUTH_TOKEN_ENV,
            "Rasa's HTTP API would be open to anyone who reaches it",
        ),
        required(
            env,
            SESSION_SECRET_ENV,
            "each replica would sign chat sessions with its own random secret and refuse "
            "the others' sessions",
        ),
        required(
            env,
            SOCKETIO_REDIS_ENV,
            "a reply could not reach a chat whose socket another replica holds",
        ),
        rate_limit_storage_problem(env),
    )


def rasa_server_warnings(
    env: Mapping[str, str], endpoints: Mapping[str, Any], source: str = "the endpoints file"
) -> list[Problem]:
    """What production allows but an operator most likely did not mean."""
    lock_store = _section(endpoints, "lock_store")
    loopback = None
    # Rasa's redis lock store, or one built on it (addons.lock_store): localhost by default.
    redis_like = "redis" in str(lock_store.get("type") or "").lower()
    if redis_like and str(lock_store.get("url") or "localhost").strip().lower() in (
        _LOOPBACK_HOSTS
    ):
        loopback = Problem(
            "lock_store",
            f"lock_store in {source} is Redis on this machine ({lock_store.get('url')}): "
            "replicas on other hosts would each lock alone",
        )
    return collect(
        loopback,
        required(
            env,
            HANDOFF_URL_ENV,
            "screenshots and read receipts go to http://127.0.0.1:8000 (this machine)",
        ),
        required(
            env,
            BOT_TOKEN_ENV,
            "the handoff service will refuse this server's screenshots and read receipts",
        ),
    )
