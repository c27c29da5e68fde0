"""What the service's background dispatchers share: a polling loop and retry pauses.

The chat-notification dispatcher and the e-mail dispatcher each drain a table
of pending work. Both run one round at a time on Sanic's event loop, start a
round at once when a commit queued work (``wake``), otherwise look every
``poll_interval_s`` for work other processes queued, and finish the round in
progress when the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from abc import ABC, abstractmethod

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)


def backoff_seconds(attempts: int, first_s: float, cap_s: float) -> float:
    """The pause after the ``attempts``-th failed try: doubling from ``first_s``, capped.

    A little jitter spreads the retries of many rows after an outage.
    """
    base = first_s * (2 ** max(0, min(attempts - 1, 30)))
    return float(min(cap_s, base) * random.uniform(0.8, 1.0))


class PollingWorker(ABC):
    """Runs :meth:`run_once` in a loop on the event loop until :meth:`stop`."""

    #: Names the worker in its log lines.
    label = "background work"

    def __init__(self, poll_interval_s: float) -> None:
        """Look for work every ``poll_interval_s`` when nothing wakes the worker sooner."""
        self.poll_interval_s = poll_interval_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @abstractmethod
    async def run_once(self) -> int:
        """One round; returns how much work it finished (more may be due at once if > 0)."""

    def start(self) -> None:
        """Start on the running loop (Sanic's ``after_server_start``)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task = self._loop.create_task(self._run())

    def wake(self) -> None:
        """Look now rather than at the next poll; safe from any thread, a no-op before start."""
        if self._loop is None or self._wake is None or self._loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._wake.set)

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the round in progress (up to ``timeout``), then stop.

        Work cut off mid-round stays leased until its lease runs out, and is then
        taken up again, by this process after a restart or by another one.
        """
        if self._task is None:
            return
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except asyncio.TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            # Cleared before the round, not after: a wake that arrives during
            # the round (work committed meanwhile) starts another one.
            self._wake.clear()
            try:
                done = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database may be down: keep the loop, try again at the next poll.
                logger.exception("%s: round failed", self.label)
                done = 0
            if done or self._stopping:
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)


def wake_on_commit(sessions: sessionmaker, flag: str, worker: PollingWorker) -> None:
    """Wake ``worker`` right after a unit of work that set ``session.info[flag]`` commits.

    The use case that queues a row marks its session; the worker then starts a
    round at once instead of at its next poll. A rollback forgets the mark.
    """

    @event.listens_for(sessions, "after_commit")
    def wake(session: Session) -> None:
        if session.info.pop(flag, False):
            worker.wake()

    @event.listens_for(sessions, "after_rollback")
    def forget(session: Session) -> None:
        session.info.pop(flag, None)
