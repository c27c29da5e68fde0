"""Telling the handoff service which agent replies the user's widget has shown.

A reply the user has not seen within a while is e-mailed to them; the widget
reports what it displayed, and the channel passes the message ids on with the
bot's token (``HANDOFF_URL``, ``HANDOFF_BOT_TOKEN``, as the action server uses).
"""

from __future__ import annotations

import asyncio
import logging
import os
from urllib.parse import quote

import aiohttp

logger = logging.getLogger(__name__)

MAX_IDS = 200
_MAX_ID = 2**31 - 1


class SeenUnavailable(Exception):
    """The service could not record it now; the widget reports again later."""


def message_ids(raw: object) -> list[int]:
    """The usable ids of a client's report: whole numbers in range, no duplicates, capped."""
    if not isinstance(raw, list):
        return []
    ids: list[int] = []
    for value in raw[:MAX_IDS]:
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= _MAX_ID:
            if value not in ids:
                ids.append(value)
    return ids


class SeenReporter:
    """Posts ``/api/conversations/<id>/seen`` to the handoff service."""

    def __init__(self, base_url: str, bot_token: str, timeout: float = 3.0) -> None:
        """Talk to the service at ``base_url`` with ``bot_token``."""
        self.base_url = base_url.rstrip("/")
        self.bot_token = bot_token
        self.timeout = timeout

    @classmethod
    def from_env(cls) -> SeenReporter | None:
        """From ``HANDOFF_URL`` and ``HANDOFF_BOT_TOKEN``; None when no token is set."""
        token = os.environ.get("HANDOFF_BOT_TOKEN") or ""
        if not token:
            return None
        return cls(os.environ.get("HANDOFF_URL") or "http://127.0.0.1:8000", token)

    async def report(self, conversation_id: str, ids: list[int]) -> int:
        """Record ``ids`` as seen in ``conversation_id``; returns how many were new.

        Raises:
            SeenUnavailable: the service did not answer with success.
        """
        url = f"{self.base_url}/api/conversations/{quote(conversation_id, safe='')}/seen"
        try:
            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout)
            ) as http, http.post(
                url,
                json={"message_ids": ids},
                headers={"Authorization": f"Bearer {self.bot_token}"},
            ) as response:
                if response.status >= 300:
                    raise SeenUnavailable(f"HTTP {response.status}")
                body = await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            raise SeenUnavailable(type(error).__name__) from None
        seen = body.get("seen") if isinstance(body, dict) else None
        return seen if isinstance(seen, int) else 0
