"""A Rasa replica that is told to stop finishes its turns before it lets its users go.

Sanic's own graceful shutdown waits for idle HTTP connections, but a chat's
websocket is never idle: it would hold every user for the whole grace period
and then cut them, turns in progress included (the lock left behind then
delays their next message by a lock lifetime). On SIGTERM this replica
instead refuses new connections, lets the turns it is running finish (their
tracker saved, their lock released), and then disconnects its chats, whose
widgets reconnect through the load balancer to another replica and send again
anything whose acknowledgement they missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator

logger = logging.getLogger(__name__)

DRAIN_TIMEOUT_ENV = "CHAT_DRAIN_TIMEOUT_S"
# Below the orchestrators' grace periods (docker compose and Kubernetes: 30 s),
# above a slow turn (an action that waits on the handoff service's retries).
DEFAULT_DRAIN_TIMEOUT_S = 20.0


def drain_timeout(env: dict[str, str] | None = None) -> float:
    """Seconds a stopping replica waits for its turns (``CHAT_DRAIN_TIMEOUT_S``)."""
    raw = (env if env is not None else os.environ).get(DRAIN_TIMEOUT_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_DRAIN_TIMEOUT_S
    except ValueError:
        return DEFAULT_DRAIN_TIMEOUT_S
    return value if 0 <= value <= 600 else DEFAULT_DRAIN_TIMEOUT_S


class Drain:
    """Counts the turns in progress and says whether the replica is stopping."""

    def __init__(self) -> None:
        """Nothing running, not stopping."""
        self.running = 0
        self.draining = False
        self._idle: asyncio.Event | None = None

    def _event(self) -> asyncio.Event:
        # Created on first use, inside the server's event loop.
        if self._idle is None:
            self._idle = asyncio.Event()
            self._idle.set()
        return self._idle

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Count one user message being handled."""
        idle = self._event()
        self.running += 1
        idle.clear()
        try:
            yield
        finally:
            self.running -= 1
            if self.running == 0:
                idle.set()

    async def stop(self, timeout: float) -> bool:
        """Refuse new work and wait up to ``timeout`` s for the running turns; True if all ended."""
        self.draining = True
        if self.running == 0:
            return True
        started = time.monotonic()
        try:
            await asyncio.wait_for(self._event().wait(), timeout)
        except asyncio.TimeoutError:
            logger.warning("Stopping with %d turn(s) still running after %.0f s",
                           self.running, timeout)
            return False
        logger.info("Turns finished in %.1f s; letting the chats go",
                    time.monotonic() - started)
        return True
