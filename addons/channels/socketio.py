"""socket.io input channel for the chat widget, with secret redaction.

Rasa's own channel builds the ``UserMessage`` from the raw text; this one runs
the guard first. It also awaits ``enter_room`` when python-socketio makes it a
coroutine, which Rasa 3.6 does not (the session would silently never join its
room and the widget would get no bot messages).
"""

from __future__ import annotations

import inspect
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from addons.channels.guard import (
    MessageRejected,
    guard_text,
    tx_hash_expected,
    with_secret_metadata,
)

logger = logging.getLogger(__name__)

REJECTION_TEXT = {
    "message_too_long": "消息太长了，请分几条发送。 / Your message is too long, please split it.",
    "message_not_text": "只能发送文字消息。 / Only text messages can be sent.",
}


class GuardedSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel with input validation and secret redaction."""

    @classmethod
    def name(cls) -> str:
        """Keep the name ``socketio`` so ``output_channel=socketio`` still works."""
        return "socketio"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> SocketBlueprint:
        """Defines the socket.io server and its event handlers."""
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[])
        webhook = SocketBlueprint(sio, self.socketio_path, "guarded_socketio_webhook", __name__)
        self.sio = sio

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: dict, auth: dict | None) -> bool:
            if not self.jwt_key:
                return True
            token = (auth or {}).get("token")
            return bool(token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm))

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: dict | None) -> None:
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id")
            if not isinstance(session_id, str) or not session_id or len(session_id) > 128:
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                joined = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(joined):
                    await joined
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {"message": data}
            if self.session_persistence:
                sender_id = data.get("session_id")
                if not isinstance(sender_id, str) or not sender_id:
                    logger.warning("Dropped a socket.io message without a session_id.")
                    return
            else:
                sender_id = sid
            output_channel = SocketIOOutput(sio, self.bot_message_evt)
            expecting = await tx_hash_expected(_rasa_agent(), sender_id, data.get("message"))
            try:
                guarded = guard_text(data.get("message"), expecting_tx_hash=expecting)
            except MessageRejected as rejected:
                await sio.emit(
                    self.bot_message_evt,
                    {"text": REJECTION_TEXT[rejected.code], "error": rejected.code},
                    room=sid,
                    namespace=self.namespace,
                )
                return
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            if not isinstance(metadata, dict):
                metadata = {}
            await on_new_message(
                UserMessage(
                    guarded.text,
                    output_channel,
                    sender_id,
                    input_channel=self.name(),
                    metadata=with_secret_metadata(metadata, guarded),
                )
            )

        return webhook


def _rasa_agent() -> Any:
    """Rasa's agent, from the one Sanic app of the server (None outside a server)."""
    try:
        return getattr(Sanic.get_app().ctx, "agent", None)
    except SanicException:
        return None
