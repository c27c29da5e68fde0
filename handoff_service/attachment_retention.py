"""Screenshots are kept for a configured number of days, then deleted with their bytes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import sessionmaker

from handoff_service.attachment_store import AttachmentStore
from handoff_service.background import PollingWorker
from handoff_service.services import HandoffService

# Rows per round: a long backlog is deleted in short transactions.
BATCH = 200
# Images expire by the day; looking every few minutes is plenty.
POLL_SECONDS = 300.0


class AttachmentRetention(PollingWorker):
    """Deletes images older than the retention period, a batch per round."""

    label = "attachment retention"

    def __init__(
        self,
        sessions: sessionmaker,
        clock: Callable[[], datetime],
        store: AttachmentStore,
        retention_days: int,
        poll_interval_s: float = POLL_SECONDS,
    ) -> None:
        """Delete from ``store`` what is older than ``retention_days``."""
        super().__init__(poll_interval_s)
        self.sessions = sessions
        self.clock = clock
        self.store = store
        self.retention = timedelta(days=retention_days)

    def expire_once(self) -> int:
        """One batch (blocking): how many images were deleted."""
        with self.sessions() as session:
            return HandoffService(session, self.clock).expire_attachments(
                self.retention, self.store, BATCH
            )

    async def run_once(self) -> int:
        """One batch in a worker thread."""
        return await asyncio.to_thread(self.expire_once)
