"""Rasa's Redis lock store, made safe against a replica that dies holding a lock.

Rasa serialises the turns of one conversation with a ticket lock in Redis: each
message takes a numbered ticket with an expiry and waits until its number is
served. A replica killed mid-turn never gives its ticket back; it expires after
``TICKET_LOCK_LIFETIME``. But the ticket of the message waiting behind it
expires too (it was issued with the same lifetime), and Rasa's wait loop then
waits for a number that no longer exists: the message is never answered and
its socket.io acknowledgement never comes.

Here a waiting message whose ticket has expired takes a new one, at the back
of the queue, and goes on waiting; so a lost replica costs its conversations at
most one lock lifetime.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)


class RenewingRedisLockStore(RedisLockStore):
    """``RedisLockStore`` whose waiting tickets are renewed when they expire while waiting."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        """Rasa builds a custom lock store from its endpoints entry (``url``, ``port``...)."""
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs,
                      **kwargs}
        super().__init__(**kwargs)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        """Hold the conversation's lock for the body of the ``async with``."""
        ticket = self.issue_ticket(conversation_id, lock_lifetime)
        try:
            while True:
                lock = self.get_lock(conversation_id)
                if lock is None or not _holds(lock, ticket):
                    # Expired while waiting behind a ticket nobody will give back.
                    logger.info(
                        "a lock ticket of conversation %s expired while waiting; queued again",
                        conversation_id,
                    )
                    ticket = self.issue_ticket(conversation_id, lock_lifetime)
                    continue
                if not lock.is_locked(ticket):
                    break
                await asyncio.sleep(wait_time_in_seconds)
                self.update_lock(conversation_id)
            yield lock
        finally:
            self.cleanup(conversation_id, ticket)


def _holds(lock: TicketLock, ticket: int) -> bool:
    """Whether ``ticket`` is still in the lock's queue (not expired, not removed)."""
    lock.remove_expired_tickets()
    return any(t.number == ticket for t in lock.tickets)
