"""The action server's long-lived collaborators, built on first use (never at import)."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from functools import lru_cache
from typing import Any

from rasa_sdk import Action

from actions.handoff_client import HandoffClient
from actions.outbox import Outbox, OutboxFlusher


@lru_cache(maxsize=1)
def shared_client() -> HandoffClient:
    """One HTTP client (keep-alive session) for the whole action server."""
    return HandoffClient()


@lru_cache(maxsize=1)
def shared_outbox() -> Outbox:
    """The outbox named by ``OUTBOX_URL``, else the SQLite file at ``OUTBOX_PATH``."""
    return Outbox()


@lru_cache(maxsize=1)
def shared_flusher() -> OutboxFlusher:
    """The single background task that delivers the outbox."""
    return OutboxFlusher(shared_outbox(), shared_client())


class ServiceAction(Action, ABC):
    """Base for actions that talk to the handoff service (abstract: never registered)."""

    def __init__(
        self,
        client: HandoffClient | None = None,
        outbox: Outbox | None = None,
        flusher: OutboxFlusher | None = None,
    ) -> None:
        """Collaborators are injectable for tests; by default the shared ones."""
        self._client = client
        self._outbox = outbox
        self._flusher = flusher

    @property
    def client(self) -> HandoffClient:
        """The handoff-service client."""
        self._wake_flusher()
        return self._client or shared_client()

    @property
    def outbox(self) -> Outbox:
        """Where undeliverable messages wait."""
        self._wake_flusher()
        return self._outbox or shared_outbox()

    def _wake_flusher(self) -> None:
        # Every action server delivers, not only one that queued something since it
        # started: what a replica that died left in a shared outbox (or this server
        # before a restart) must not wait for the next outage. Only with the shared
        # collaborators: a test's own fakes start nothing behind its back.
        if self._client is not None or self._outbox is not None or self._flusher is not None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # called from a worker thread: the loop's own call starts it
            return
        shared_flusher().ensure_running()

    async def queue(
        self, kind: str, key: str, conversation_id: str, payload: dict[str, Any]
    ) -> None:
        """Keep it for later delivery and make sure the delivery loop runs (on this loop)."""
        await asyncio.to_thread(self.outbox.put, kind, key, conversation_id, payload)
        (self._flusher or shared_flusher()).ensure_running()

    @abstractmethod
    def name(self) -> str:
        """Each concrete action names itself."""
