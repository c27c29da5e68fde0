"""Delivering the chat-notification outbox to Rasa, in order, until Rasa accepts.

Every chat event the use cases emit (agent joined, a reply, a late ticket,
resolved: :mod:`handoff_service.events`) is a row of ``chat_notifications``,
written in the agent's own transaction (:mod:`handoff_service.notification_outbox`).
This dispatcher runs in every service process: it leases the oldest pending
notification of each conversation, triggers its intent in Rasa, and settles
the row. A failure is retried with backoff (forever while Rasa is unreachable
or answers 5xx, so a Rasa outage delays replies and loses none); a refusal that
no retry can fix is given up and audited. Rows leased by a process that died
are taken over when the lease runs out; the bot's actions skip a notification
id they have already shown, so a takeover never shows a reply twice.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from handoff_service import notification_outbox as outbox
from handoff_service.background import PollingWorker
from handoff_service.background import backoff_seconds as background_backoff
from handoff_service.events import NOTIFICATION_ID_ENTITY
from handoff_service.notifier import Notification, NotificationFailed, Notifier

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchSettings:
    """How often to look, how long a lease lasts, how far retries back off."""

    poll_interval_s: float = 1.0
    lease_s: float = 30.0
    batch: int = 20
    # Deliveries in flight at once, each in a thread of the dispatcher's own pool.
    concurrency: int = 4
    first_backoff_s: float = 0.5
    max_backoff_s: float = 5.0


class Outcome(enum.Enum):
    """What became of one delivery attempt."""

    DELIVERED = "delivered"
    RETRY = "retry"
    GIVEN_UP = "given_up"


GiveUpHandler = Callable[[Session, outbox.ClaimedNotification, str], None]


def backoff_seconds(attempts: int, settings: DispatchSettings) -> float:
    """The pause after the ``attempts``-th failed try of a notification."""
    return background_backoff(attempts, settings.first_backoff_s, settings.max_backoff_s)


class NotificationDispatcher(PollingWorker):
    """Delivers pending notifications on the event loop; database and HTTP work run in threads."""

    label = "notification dispatch"

    def __init__(
        self,
        sessions: sessionmaker,
        notifier: Notifier,
        clock: Callable[[], datetime],
        on_give_up: GiveUpHandler,
        settings: DispatchSettings | None = None,
    ) -> None:
        """Deliver through ``notifier``; ``on_give_up`` records a refused notification."""
        self.sessions = sessions
        self.notifier = notifier
        self.clock = clock
        self.on_give_up = on_give_up
        self.settings = settings or DispatchSettings()
        super().__init__(self.settings.poll_interval_s)
        self._executor: ThreadPoolExecutor | None = None

    def _pool(self) -> ThreadPoolExecutor:
        # Not the loop's default executor: a delivery waits for Rasa, Rasa for the
        # action server, and the action server for this service's API, whose
        # handlers run in the default executor. Sharing it could starve them all.
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self.settings.concurrency, thread_name_prefix="chat-notify"
            )
        return self._executor

    async def stop(self, timeout: float = 5.0) -> None:
        """Finish the round in progress, then stop; pending rows stay for the next start."""
        await super().stop(timeout)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def run_once(self) -> int:
        """One round: claim what is due, deliver it concurrently, settle.

        Returns how many notifications left the queue (delivered, or given up):
        when any did, the next ones of their conversations may be due at once.
        """
        loop = asyncio.get_running_loop()
        pool = self._pool()
        claimed = await loop.run_in_executor(pool, self._claim)
        if not claimed:
            return 0
        outcomes = await asyncio.gather(
            *(loop.run_in_executor(pool, self._deliver, item) for item in claimed)
        )
        if Outcome.DELIVERED in outcomes:
            await loop.run_in_executor(pool, self._bring_retries_forward)
        return sum(1 for o in outcomes if o is not Outcome.RETRY)

    def _claim(self) -> list[outbox.ClaimedNotification]:
        settings = self.settings
        with self.sessions() as session:
            # No more than can be in flight: the rest stay free for other processes.
            claimed = outbox.claim_due(
                session, self.clock(), timedelta(seconds=settings.lease_s),
                min(settings.batch, settings.concurrency),
            )
            session.commit()
        return claimed

    def _deliver(self, item: outbox.ClaimedNotification) -> Outcome:
        entities = dict(item.entities)
        entities[NOTIFICATION_ID_ENTITY] = item.id
        notification = Notification(item.ticket_id, item.conversation_id, item.intent, entities)
        try:
            self.notifier.notify(notification)
        except NotificationFailed as failed:
            self._settle_failure(item, failed.reason, permanent=failed.permanent)
            return Outcome.GIVEN_UP if failed.permanent else Outcome.RETRY
        except Exception:
            # A bug in a notifier must not stop the others; retried like an outage.
            logger.exception("notifier crashed on %s", item.intent)
            self._settle_failure(item, "notifier error", permanent=False)
            return Outcome.RETRY
        with self.sessions() as session:
            outbox.mark_delivered(session, item.id, self.clock())
            session.commit()
        return Outcome.DELIVERED

    def _settle_failure(
        self, item: outbox.ClaimedNotification, reason: str, *, permanent: bool
    ) -> None:
        now = self.clock()
        with self.sessions() as session:
            if permanent:
                logger.error(
                    "Rasa refused %s %s for ticket id %s: %s; given up",
                    item.intent, item.id, item.ticket_id, reason,
                )
                outbox.give_up(session, item.id, now, reason)
                self.on_give_up(session, item, reason)
            else:
                pause = backoff_seconds(item.attempts, self.settings)
                logger.warning(
                    "could not notify Rasa (%s %s, attempt %d): %s; retry in %.1f s",
                    item.intent, item.id, item.attempts, reason, pause,
                )
                outbox.retry_later(session, item.id, now + timedelta(seconds=pause), reason)
            session.commit()

    def _bring_retries_forward(self) -> None:
        # Rasa accepted a notification: it is up again, so whatever waits out a
        # backoff from the outage can go now instead of at the end of its pause.
        with self.sessions() as session:
            if outbox.reschedule_waiting(session, self.clock()):
                session.commit()
