"""SQL tracker store configured by one URL, so the profile is a setting, not a code change."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy import event

TRACKER_STORE_URL_ENV = "TRACKER_STORE_URL"
DEFAULT_URL = "sqlite:///state/tracker.db"


def resolve_url(configured: str | None) -> str:
    """The URL in force: the environment wins, then endpoints.yml, then a local SQLite file."""
    return os.environ.get(TRACKER_STORE_URL_ENV) or configured or DEFAULT_URL


class UrlSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` taking a SQLAlchemy URL (SQLite file or PostgreSQL)."""

    def __init__(self, host: str | None = None, **kwargs: Any) -> None:
        """Connect to ``TRACKER_STORE_URL`` (or ``url`` in endpoints.yml)."""
        url = resolve_url(host)
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        for unused in ("dialect", "db", "port", "username", "password"):
            kwargs.pop(unused, None)
        super().__init__(host=url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _tune_sqlite)


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Every message saves the conversation: WAL with normal sync avoids a disk
    # flush per commit while staying crash-safe for the database itself.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
