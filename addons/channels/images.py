"""The chat's screenshots at the handoff service: upload one, fetch one back.

The channel does not read images itself: it proves the conversation (the
session token), counts the upload against the chat's quota and passes the
bytes to the service with the bot's token; the service screens, re-encodes
and keeps them, or refuses them (:mod:`handoff_service.api.attachment_routes`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_PER_DAY = 20
SUPPORTED_TYPES = ("image/png", "image/jpeg", "image/webp")
# OCR of a large screenshot takes a few seconds on a small machine; a queue of
# uploads at the service, longer.
UPLOAD_TIMEOUT_S = 60.0
FETCH_TIMEOUT_S = 10.0


class ImagesUnavailable(Exception):
    """The service could not take or give the image now; the user may retry."""


@dataclass(frozen=True)
class ImageRefused(Exception):
    """The service refused the image: ``code`` (HTTP ``status``) and the secret ``kinds``."""

    status: int
    code: str
    kinds: tuple[str, ...] = ()
    retry_after: int | None = None


@dataclass(frozen=True)
class ChatUploadLimits:
    """What the widget may send (the service enforces the same limits)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_per_day: int = DEFAULT_MAX_PER_DAY

    @classmethod
    def from_env(cls) -> ChatUploadLimits:
        """``ATTACHMENT_MAX_BYTES`` and ``ATTACHMENT_MAX_PER_CONVERSATION``, as the service."""
        return cls(
            max_bytes=_positive(os.environ.get("ATTACHMENT_MAX_BYTES"), DEFAULT_MAX_BYTES),
            max_per_day=_positive(
                os.environ.get("ATTACHMENT_MAX_PER_CONVERSATION"), DEFAULT_MAX_PER_DAY
            ),
        )

    def as_json(self) -> dict[str, Any]:
        """For the widget."""
        return {
            "max_bytes": self.max_bytes,
            "max_count": self.max_per_day,
            "types": list(SUPPORTED_TYPES),
        }


def _positive(raw: str | None, default: int) -> int:
    try:
        value = int(raw) if raw else default
    except ValueError:
        return default
    return value if value > 0 else default


class ImageRelay:
    """Talks to ``/api/conversations/<id>/attachments`` with the bot's token."""

    def __init__(self, base_url: str, bot_token: str) -> None:
        """The service at ``base_url``."""
        self.base_url = base_url.rstrip("/")
        self.bot_token = bot_token

    @classmethod
    def from_env(cls) -> ImageRelay | None:
        """From ``HANDOFF_URL`` and ``HANDOFF_BOT_TOKEN``; None when no token is set."""
        token = os.environ.get("HANDOFF_BOT_TOKEN") or ""
        if not token:
            return None
        return cls(os.environ.get("HANDOFF_URL") or "http://127.0.0.1:8000", token)

    def _url(self, conversation_id: str, attachment_id: str | None = None) -> str:
        url = f"{self.base_url}/api/conversations/{quote(conversation_id, safe='')}/attachments"
        return url + (f"/{quote(attachment_id, safe='')}" if attachment_id else "")

    async def upload(self, conversation_id: str, data: bytes, message_id: str) -> dict[str, Any]:
        """Send the image; returns the kept attachment (id, mime, size, text read from it).

        Raises:
            ImageRefused: the service refused the image (or the quota is used up).
            ImagesUnavailable: the service is down or failed.
        """
        headers = {
            "Authorization": f"Bearer {self.bot_token}",
            "Content-Type": "application/octet-stream",
            "X-Message-Id": message_id,
        }
        try:
            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=UPLOAD_TIMEOUT_S)
            ) as http, http.post(
                self._url(conversation_id), data=data, headers=headers
            ) as response:
                body = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as failed:
            logger.warning("image upload to the service failed (%s)", type(failed).__name__)
            raise ImagesUnavailable(type(failed).__name__) from None
        if status in (200, 201) and isinstance(body, dict):
            attachment = body.get("attachment")
            if isinstance(attachment, dict):
                return attachment
        if status >= 500 or not isinstance(body, dict):
            raise ImagesUnavailable(f"HTTP {status}")
        kinds = body.get("kinds")
        retry_after = body.get("retry_after")
        raise ImageRefused(
            status,
            str(body.get("error") or "unsupported_image"),
            tuple(k for k in kinds if isinstance(k, str)) if isinstance(kinds, list) else (),
            retry_after if isinstance(retry_after, int) else None,
        )

    async def fetch(
        self, conversation_id: str, attachment_id: str, thumbnail: bool
    ) -> tuple[bytes, str] | None:
        """The image's bytes and type, or None when the conversation has no such image.

        Raises:
            ImagesUnavailable: the service is down or failed.
        """
        url = self._url(conversation_id, attachment_id) + ("?size=thumb" if thumbnail else "")
        try:
            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)
            ) as http, http.get(
                url, headers={"Authorization": f"Bearer {self.bot_token}"}
            ) as response:
                if response.status in (404, 422):
                    return None
                if response.status != 200:
                    raise ImagesUnavailable(f"HTTP {response.status}")
                return await response.read(), response.content_type
        except (aiohttp.ClientError, asyncio.TimeoutError) as failed:
            raise ImagesUnavailable(type(failed).__name__) from None
