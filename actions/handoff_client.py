"""HTTP client for the handoff service: the only way actions reach it."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import requests

logger = logging.getLogger(__name__)

DEFAULT_URL = "http://localhost:8000"
# A Retry-After beyond this is not believed: the outbox caps its own waits anyway.
MAX_RETRY_AFTER_SECONDS = 3600.0


class HandoffCallFailed(RuntimeError):
    """Base class for handoff-service failures."""


class HandoffUnavailable(HandoffCallFailed):
    """Try again later: timeout, connection error, 5xx or 429.

    ``status`` is the HTTP status (None when no answer came); ``retry_after``
    the wait in seconds the service asked for, when it said so.
    """

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        """Keep the status and the service's Retry-After hint."""
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class HandoffRejected(HandoffCallFailed):
    """The service refused the request (4xx other than 429): sending it again cannot help.

    ``error_code`` and ``field`` come from the service's ``{"error", "detail", "field"}``
    answer. ``detail`` may quote what was sent, so it stays out of ``str()`` (and logs).
    """

    def __init__(
        self, status: int, detail: str = "", *, error_code: str | None = None,
        field: str | None = None,
    ) -> None:
        """Remember the status, the service's error code, the field it names and its detail."""
        super().__init__(describe_refusal(status, error_code, field))
        self.status = status
        self.detail = detail
        self.error_code = error_code
        self.field = field


class NoSuchTicket(HandoffRejected):
    """Nothing matches (404): no ticket for the conversation, or no such agent message."""

    def __init__(
        self, detail: str = "not found", *, error_code: str | None = "not_found",
        field: str | None = None,
    ) -> None:
        """Always a 404."""
        super().__init__(404, detail, error_code=error_code, field=field)


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


def describe_refusal(status: int | None, error_code: str | None, field: str | None = None) -> str:
    """A refusal in a log or a listing: ``422 validation_failed (field occurred_at)``.

    Built from the status, code and field only: the service's detail may quote
    what the user wrote.
    """
    text = f"{status or '?'} {error_code or 'refused'}"
    return f"{text} (field {field})" if field else text


def segment(value: object) -> str:
    """``value`` as one URL path segment: '/', '?', '#', '..' cannot change the route."""
    return quote(str(value), safe="")


class HandoffClient:
    """Small, explicit wrapper around the service's JSON API (bot token).

    Every bot route is scoped by conversation id, so no call ever takes a ticket
    reference from what a user typed.
    """

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
    ) -> dict[str, Any]:
        settings = self.settings
        all_headers = {"Authorization": f"Bearer {settings.bot_token}", **(headers or {})}
        last_error = HandoffUnavailable("no attempt made")
        for attempt in range(max(1, settings.retries)):
            if attempt:
                time.sleep(settings.backoff * (2 ** (attempt - 1)))
            try:
                response = self.session.request(
                    method, settings.base_url + path, json=json, headers=all_headers,
                    timeout=settings.timeout,
                )
            except requests.RequestException as error:
                last_error = HandoffUnavailable(type(error).__name__)
                continue
            status = response.status_code
            if status == 429:
                # The service asked us to wait: waiting here would only hold the caller.
                last_error = HandoffUnavailable(
                    f"429 from {path}", status=429, retry_after=_retry_after(response)
                )
                break
            if status >= 500:
                last_error = HandoffUnavailable(
                    f"{status} from {path}", status=status, retry_after=_retry_after(response)
                )
                continue
            if status >= 400:
                raise _refusal(response)
            try:
                return response.json()
            except ValueError as error:
                raise HandoffCallFailed(f"{status} from {path}: body is not JSON") from error
        logger.warning("Handoff service unavailable for %s %s: %s", method, path, last_error)
        raise last_error

    def create_ticket(self, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Create (or, for a known key, fetch again) the ticket; safe to retry."""
        return self._request(
            "POST", "/api/tickets", json=payload, headers={"Idempotency-Key": idempotency_key}
        )

    def conversation_ticket(self, conversation_id: str) -> dict[str, Any]:
        """The conversation's active ticket, or its latest one (``NoSuchTicket`` if none)."""
        return self._request("GET", f"/api/conversations/{segment(conversation_id)}/ticket")

    def relay_user_message(
        self,
        conversation_id: str,
        text: str,
        external_id: str | None,
        expecting_tx_hash: bool = False,
    ) -> dict[str, Any]:
        """Append a user's message to the conversation's open ticket (idempotent by id).

        ``expecting_tx_hash``: the message answered "what is the transaction
        hash?", so the service reads a bare 64-hex in it as a hash, as the
        channel did. 404 (no ticket) raises ``NoSuchTicket``; 409 (ticket no
        longer open) a ``HandoffRejected`` with ``error_code`` ``ticket_not_open``.
        """
        body: dict[str, Any] = {"text": text, "external_id": external_id}
        if expecting_tx_hash:
            body["expecting_tx_hash"] = True
        return self._request(
            "POST", f"/api/conversations/{segment(conversation_id)}/user-messages", json=body
        )

    def update_ticket(self, conversation_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Add details to the conversation's open ticket (an urgent one is opened first).

        404 (no open ticket) raises ``NoSuchTicket``.
        """
        return self._request(
            "PATCH", f"/api/conversations/{segment(conversation_id)}/ticket", json=fields
        )

    def add_bot_message(
        self, conversation_id: str, text: str, message_id: str | None
    ) -> dict[str, Any]:
        """Append what the bot told the user (a warning) to the open ticket's transcript."""
        return self._request(
            "POST", f"/api/conversations/{segment(conversation_id)}/bot-messages",
            json={"text": text, "message_id": message_id},
        )

    def rate(self, conversation_id: str, score: int) -> dict[str, Any]:
        """Store the user's 1-5 rating on the conversation's latest resolved ticket."""
        return self._request(
            "POST", f"/api/conversations/{segment(conversation_id)}/rating",
            json={"score": score},
        )

    def agent_message(self, conversation_id: str, message_id: int | str) -> dict[str, Any]:
        """One agent message of this conversation's tickets (``NoSuchTicket`` otherwise)."""
        return self._request(
            "GET",
            f"/api/conversations/{segment(conversation_id)}/messages/{segment(message_id)}",
        )


def _body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _refusal(response: requests.Response) -> HandoffRejected:
    body = _body(response)
    detail = str(body.get("detail") or body.get("error") or response.text or "")[:200]
    code = body.get("error")
    field = body.get("field")
    code = str(code)[:64] if code else None
    field = str(field)[:64] if field else None
    if response.status_code == 404:
        return NoSuchTicket(detail, error_code=code or "not_found", field=field)
    return HandoffRejected(response.status_code, detail, error_code=code, field=field)


def _retry_after(response: requests.Response) -> float | None:
    """Seconds from the Retry-After header (seconds or HTTP date), else the body's hint."""
    header = response.headers.get("Retry-After")
    seconds: float | None = None
    if header:
        try:
            seconds = float(header)
        except ValueError:
            try:
                moment = parsedate_to_datetime(header)
            except (TypeError, ValueError):
                moment = None
            if moment is not None:
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=timezone.utc)
                seconds = (moment - datetime.now(timezone.utc)).total_seconds()
    if seconds is None:
        hint = _body(response).get("retry_after")
        if isinstance(hint, (int, float)) and not isinstance(hint, bool):
            seconds = float(hint)
    if seconds is None or seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)
