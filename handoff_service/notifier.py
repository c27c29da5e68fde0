"""Telling the Rasa server about agent actions, so the bot speaks to the user's widget.

The service calls Rasa's HTTP API ``trigger_intent``; a custom action behind
each intent utters the agent's words or the ticket's outcome. This module is
the transport only: one delivery attempt of whatever the dispatcher hands it.
Which events exist, and their entities, is :mod:`handoff_service.events`;
:mod:`handoff_service.dispatcher` decides when to try, in which order, and
again after a failure.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import requests

from handoff_service.config import DEFAULT_OUTPUT_CHANNEL
from handoff_service.config import output_channel as checked_output_channel

logger = logging.getLogger(__name__)

# Answers no retry can change: the request itself is wrong. Anything else
# (no answer, 5xx, 401/403 while a token is being fixed, 429) is tried again.
PERMANENT_STATUSES = frozenset({400, 404, 405, 413, 422})


class NotificationFailed(Exception):
    """Rasa could not be told; ``reason`` is short and never holds message text.

    ``permanent`` means retrying the same request cannot succeed.
    """

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True)
class Notification:
    """One intent to trigger in one conversation (a chat event's name and entities)."""

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
            raise NotificationFailed(
                f"Rasa answered HTTP {response.status_code}",
                permanent=response.status_code in PERMANENT_STATUSES,
            )

    def close(self) -> None:
        """Release the HTTP connection pool."""
        if self._http is not None:
            self._http.close()
            self._http = None
