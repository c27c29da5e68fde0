"""What the widget shows, as stamped messages: live, and again from the tracker on return.

Every message the socket.io channel emits carries an ``id`` and a ``ts``. The
id is derived from the bot event that produced it (its timestamp, as the
tracker store keeps it) and the part's position, so the same message read back
from the tracker later has the same id: a widget that was away asks for the
messages after the last id it showed and shows each exactly once. The user's
own messages keep their message id (the widget may choose it).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.socketio import SocketIOOutput
from rasa.shared.core.events import BotUttered, UserUttered

EXTERNAL_PREFIX = "EXTERNAL: "
# Where the widget fetches a conversation's images (the socket.io channel's routes).
ATTACHMENTS_PATH = "/webhooks/socketio/attachments"
# A screenshot turn's text in the history; the widget shows the image instead.
SCREENSHOT_TEXT = "[screenshot]"
DEFAULT_LIMIT = 100
MAX_LIMIT = 200
# What a client may choose as the id of its own message.
CLIENT_MESSAGE_ID = re.compile(r"^[0-9a-f]{32}$")


def bot_message_id(timestamp: float, part: int) -> str:
    """The id of part ``part`` of the bot event stamped ``timestamp``."""
    return f"b{timestamp!r}.{part}"


class StampedSocketIOOutput(SocketIOOutput):
    """Rasa's socket.io output, with a stable ``id`` and a ``ts`` on every emitted message."""

    def __init__(self, sio: Any, bot_message_evt: str) -> None:
        """Emit ``bot_message_evt`` through ``sio`` (or anything with its ``emit``)."""
        super().__init__(sio, bot_message_evt)
        self._timestamp: float | None = None
        self._part = 0

    def _next_stamp(self) -> dict[str, Any]:
        timestamp = self._timestamp if self._timestamp is not None else time.time()
        stamp = {"id": bot_message_id(timestamp, self._part), "ts": timestamp}
        self._part += 1
        return stamp

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Send one bot event's message; its parts are numbered from 0."""
        self._timestamp = message.get("timestamp")
        self._part = 0
        try:
            await super().send_response(recipient_id, message)
        finally:
            self._timestamp = None

    async def _send_message(self, socket_id: str, response: Any) -> None:
        await super()._send_message(socket_id, {**response, **self._next_stamp()})

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """Custom payloads (an agent's reply) are stamped inside their ``data``."""
        data = json_message.get("data")
        if isinstance(data, dict):
            json_message = {**json_message, "data": {**data, **self._next_stamp()}}
        await super().send_custom_json(recipient_id, json_message, **kwargs)


class _Recorder:
    """Stands in for the socket.io server: keeps what would have been emitted."""

    def __init__(self) -> None:
        self.emitted: list[dict[str, Any]] = []

    async def emit(self, _event: str, data: Any = None, **_kwargs: Any) -> None:
        if isinstance(data, dict):
            self.emitted.append(data)


@dataclass(frozen=True)
class HistoryPage:
    """Messages after a given id, and whether more follow."""

    messages: list[dict[str, Any]]
    more: bool


async def rendered_messages(sender_id: str, events: Any) -> list[dict[str, Any]]:
    """The conversation as the widget shows it, oldest first, each with its id and time."""
    recorder = _Recorder()
    output = StampedSocketIOOutput(recorder, "bot_uttered")
    shown: list[dict[str, Any]] = []
    user_ids: set[str] = set()
    for event in events:
        if isinstance(event, UserUttered):
            text = event.text
            if not text or text.startswith(EXTERNAL_PREFIX) or not event.message_id:
                continue
            if event.message_id in user_ids:
                continue  # given back to the bot as a fresh turn: shown once
            user_ids.add(event.message_id)
            line = {"id": event.message_id, "ts": event.timestamp, "sender": "user", "text": text}
            image = _screenshot(event)
            if image is not None:
                line.update(text=SCREENSHOT_TEXT, attachment=image)
            shown.append(line)
        elif isinstance(event, BotUttered):
            recorder.emitted.clear()
            await output.send_response(sender_id, event.message())
            shown.extend({**part, "sender": "bot"} for part in recorder.emitted)
    return shown


def _screenshot(event: UserUttered) -> dict[str, Any] | None:
    """The image a user's turn sent, as the widget fetches it (from server-only metadata)."""
    metadata = getattr(event, "metadata", None) or {}
    image = metadata.get("attachment") if isinstance(metadata, dict) else None
    if not isinstance(image, dict) or not isinstance(image.get("id"), str):
        return None
    url = f"{ATTACHMENTS_PATH}/{image['id']}"
    return {
        "id": image["id"],
        "mime": image.get("mime"),
        "width": image.get("width"),
        "height": image.get("height"),
        "url": url,
        "thumbnail_url": url + "?size=thumb",
    }


def page_after(messages: list[dict[str, Any]], after: object, limit: int) -> HistoryPage:
    """The messages after id ``after`` (up to ``limit``); the latest ``limit`` if it is unknown."""
    limit = max(1, min(limit, MAX_LIMIT))
    start = None
    if isinstance(after, str) and after:
        for index, message in enumerate(messages):
            if message["id"] == after:
                start = index + 1
                break
    if start is None:
        return HistoryPage(messages[-limit:], False)
    page = messages[start : start + limit]
    return HistoryPage(page, start + limit < len(messages))
