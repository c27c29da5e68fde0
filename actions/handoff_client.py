"""HTTP client for the handoff service: the only way actions reach it."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any

import requests

logger = logging.getLogger(__name__)

DEFAULT_URL = "http://localhost:8000"


class HandoffError(RuntimeError):
    """Base class for handoff-service failures."""


class HandoffUnavailable(HandoffError):
    """The service could not be reached or failed (timeout, connection, 5xx)."""


class HandoffRejected(HandoffError):
    """The service refused the request (4xx); ``detail`` says why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class TicketNotFound(HandoffError):
    """No ticket matches (404)."""


@dataclass(frozen=True)
class ClientSettings:
    """Where the service is and how patient to be with it."""

    base_url: str
    bot_token: str
    timeout: float = 3.0
    retries: int = 3
    backoff: float = 0.3

    @classmethod
    def from_env(cls) -> ClientSettings:
        """Read ``HANDOFF_URL`` and ``HANDOFF_BOT_TOKEN``."""
        return cls(
            base_url=os.environ.get("HANDOFF_URL", DEFAULT_URL).rstrip("/"),
            bot_token=os.environ.get("HANDOFF_BOT_TOKEN", ""),
            timeout=float(os.environ.get("HANDOFF_TIMEOUT", "3")),
        )


class HandoffClient:
    """Small, explicit wrapper around the service's JSON API (bot token)."""

    def __init__(
        self, settings: ClientSettings | None = None, session: requests.Session | None = None
    ) -> None:
        """Settings and HTTP session are injectable; by default read from the environment."""
        self._settings = settings
        self._session = session

    @property
    def settings(self) -> ClientSettings:
        """Settings, read lazily so building the action costs nothing."""
        if self._settings is None:
            self._settings = ClientSettings.from_env()
        return self._settings

    @property
    def session(self) -> requests.Session:
        """One keep-alive session per client."""
        if self._session is None:
            self._session = requests.Session()
        return self._session

    def _request(
        self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None,
        retry: bool = True,
    ) -> dict[str, Any]:
        settings = self.settings
        attempts = settings.retries if retry else 1
        all_headers = {"Authorization": f"Bearer {settings.bot_token}", **(headers or {})}
        last_error: Exception | None = None
        for attempt in range(attempts):
            if attempt:
                time.sleep(settings.backoff * (2 ** (attempt - 1)))
            try:
                response = self.session.request(
                    method, settings.base_url + path, json=json, headers=all_headers,
                    timeout=settings.timeout,
                )
            except requests.RequestException as error:
                last_error = error
                continue
            if response.status_code >= 500:
                last_error = HandoffUnavailable(f"{response.status_code} from {path}")
                continue
            if response.status_code == 404:
                raise TicketNotFound(path)
            if response.status_code >= 400:
                raise HandoffRejected(response.status_code, _detail(response))
            return response.json()
        logger.warning("Handoff service unavailable for %s %s: %s", method, path, last_error)
        raise HandoffUnavailable(str(last_error))

    def create_ticket(self, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Create (or, for a known key, fetch again) the ticket; safe to retry."""
        return self._request(
            "POST", "/api/tickets", json=payload, headers={"Idempotency-Key": idempotency_key}
        )

    def conversation_ticket(self, conversation_id: str) -> dict[str, Any]:
        """The conversation's active ticket, or its latest one."""
        return self._request("GET", f"/api/conversations/{conversation_id}/ticket")

    def relay_user_message(self, ref: str, text: str, external_id: str | None) -> dict[str, Any]:
        """Append a user's message to the ticket's transcript (idempotent by ``external_id``)."""
        return self._request(
            "POST", f"/api/tickets/{ref}/user-messages",
            json={"text": text, "external_id": external_id},
        )

    def rate(self, ref: str, score: int) -> dict[str, Any]:
        """Store the user's 1-5 rating on a resolved ticket."""
        return self._request("POST", f"/api/tickets/{ref}/rating", json={"score": score})


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail") or body.get("error") or body)[:200]
