"""The action server's long-lived collaborators, built on first use (never at import)."""

from __future__ import annotations

from functools import lru_cache

from actions.handoff_client import HandoffClient
from actions.outbox import Outbox, OutboxFlusher


@lru_cache(maxsize=1)
def shared_client() -> HandoffClient:
    """One HTTP client (keep-alive session) for the whole action server."""
    return HandoffClient()


@lru_cache(maxsize=1)
def shared_outbox() -> Outbox:
    """The outbox file named by ``OUTBOX_PATH``."""
    return Outbox()


@lru_cache(maxsize=1)
def shared_flusher() -> OutboxFlusher:
    """The single background task that delivers the outbox."""
    return OutboxFlusher(shared_outbox(), shared_client())
