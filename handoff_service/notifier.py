"""Telling the Rasa server about agent actions, so the bot speaks to the user's widget.

The service calls Rasa's HTTP API ``trigger_intent``; a custom action behind
each intent utters the agent's words or the ticket's outcome. Delivery goes
through one queue per app: notifications leave in the order the agent acted,
off Sanic's event loop, and a failure never fails the agent's request (the
message is stored and the widget can fetch it later).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import requests

from handoff_service.config import DEFAULT_OUTPUT_CHANNEL
from handoff_service.config import output_channel as checked_output_channel

logger = logging.getLogger(__name__)

AGENT_JOINED = "agent_joined"
AGENT_MESSAGE = "agent_message"
TICKET_RESOLVED = "ticket_resolved"
TICKET_CREATED = "ticket_created"


class NotificationFailed(Exception):
    """Rasa could not be told; ``reason`` is short and never holds message text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Notification:
    """One intent to trigger in one conversation."""

    ticket_id: int
    conversation_id: str
    intent: str
    entities: Mapping[str, Any] = field(default_factory=dict)


class Notifier(Protocol):
    """Anything that can deliver a notification (blocking); tests pass fakes."""

    def notify(self, notification: Notification) -> None:
        """Deliver ``notification`` or raise :class:`NotificationFailed`."""


class RasaNotifier:
    """Delivers notifications with ``POST /conversations/{id}/trigger_intent``."""

    def __init__(
        self,
        rasa_url: str,
        auth_token: str | None = None,
        timeout: float = 3.0,
        output_channel: str = DEFAULT_OUTPUT_CHANNEL,
    ) -> None:
        """Talk to the Rasa server at ``rasa_url``, authenticating with Rasa's ``--auth-token``.

        The bot's answers go to ``output_channel`` (the widget's channel).

        Raises:
            ConfigError: ``output_channel`` is ``latest`` or not a channel name.
        """
        self.rasa_url = rasa_url.rstrip("/")
        self.auth_token = auth_token
        self.timeout = timeout
        # Never "latest": that is whichever channel the user last wrote from.
        self.output_channel = checked_output_channel(output_channel)
        self._http: requests.Session | None = None

    def _session(self) -> requests.Session:
        # Created on first use, not at construction: no I/O objects at start-up.
        if self._http is None:
            self._http = requests.Session()
        return self._http

    def url_for(self, conversation_id: str) -> str:
        """The trigger_intent URL of a conversation (the token goes in the query string)."""
        return f"{self.rasa_url}/conversations/{quote(conversation_id, safe='')}/trigger_intent"

    def notify(self, notification: Notification) -> None:
        """Trigger the intent; raises :class:`NotificationFailed` on any transport or HTTP error."""
        params = {"output_channel": self.output_channel}
        if self.auth_token:
            params["token"] = self.auth_token
        body = {"name": notification.intent, "entities": dict(notification.entities)}
        try:
            response = self._session().post(
                self.url_for(notification.conversation_id),
                params=params,
                json=body,
                timeout=self.timeout,
            )
        except requests.Timeout:
            raise NotificationFailed(f"no answer from Rasa within {self.timeout} s") from None
        except requests.RequestException as exc:
            raise NotificationFailed(f"cannot reach Rasa: {type(exc).__name__}") from None
        if not response.ok:
            raise NotificationFailed(f"Rasa answered HTTP {response.status_code}")

    def close(self) -> None:
        """Release the HTTP connection pool."""
        if self._http is not None:
            self._http.close()
            self._http = None


FailureHandler = Callable[[Notification, str], None]


class NotificationQueue:
    """Delivers notifications one at a time, in order, in a worker thread.

    ``on_failure(notification, reason)`` runs (in a thread too) for each
    notification that could not be delivered, e.g. to write an audit event.
    """

    def __init__(self, notifier: Notifier, on_failure: FailureHandler) -> None:
        """Deliver through ``notifier``; report failures to ``on_failure``."""
        self.notifier = notifier
        self.on_failure = on_failure
        self._queue: asyncio.Queue[Notification] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the worker on the running event loop (Sanic's ``after_server_start``)."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._worker = self._loop.create_task(self._run(self._queue))

    def submit(self, notification: Notification) -> None:
        """Queue ``notification``; returns at once. Safe to call from any thread.

        Submissions keep their order: the API submits from request worker
        threads, after the agent's action was committed.
        """
        if self._queue is None or self._loop is None:
            raise RuntimeError("NotificationQueue.start() was not called")
        self._loop.call_soon_threadsafe(self._queue.put_nowait, notification)

    async def _run(self, queue: asyncio.Queue[Notification]) -> None:
        while True:
            notification = await queue.get()
            try:
                await self._deliver(notification)
            finally:
                queue.task_done()

    async def _deliver(self, notification: Notification) -> None:
        try:
            await asyncio.to_thread(self.notifier.notify, notification)
            return
        except NotificationFailed as exc:
            reason = exc.reason
            logger.warning(
                "could not notify Rasa (%s, ticket id %s): %s",
                notification.intent,
                notification.ticket_id,
                reason,
            )
        except Exception:
            # A bug in a notifier must not stop the deliveries queued behind
            # it; the traceback is logged and the failure audited.
            logger.exception("notifier crashed on %s", notification.intent)
            reason = "notifier error"
        try:
            await asyncio.to_thread(self.on_failure, notification, reason)
        except Exception:
            # Same reason: the worker outlives a failed audit write (e.g. the
            # database is down); the log keeps the traceback.
            logger.exception("could not record the failed %s notification", notification.intent)

    async def drain(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued was handled; returns whether it finished in time."""
        if self._queue is None:
            return True
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def stop(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (up to ``timeout``), then stop the worker."""
        if not await self.drain(timeout):
            logger.warning("stopping with %d undelivered notifications", self.pending)
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    @property
    def pending(self) -> int:
        """Notifications waiting for delivery."""
        return self._queue.qsize() if self._queue is not None else 0
