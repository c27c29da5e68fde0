"""socket.io input channel for the chat widget: bound sessions, screened input, quotas.

Rasa's own channel lets any client join any conversation's room by naming its
session id, and builds the ``UserMessage`` from the raw text. This one:

- gives each conversation a session token (:mod:`addons.channels.sessions`):
  ``session_request`` resumes a conversation only with its token (or the wallet
  app's signed user token), and every ``user_uttered`` must carry it;
- redacts secrets and screens ``/intent`` payloads before Rasa sees the text
  (:mod:`addons.channels.guard`);
- counts messages per conversation and per client address
  (:mod:`addons.channels.flood`) and acknowledges each message with what
  happened to it, so the widget can keep and resend what was held back;
- awaits ``enter_room`` when python-socketio makes it a coroutine, which Rasa
  3.6 does not (the session would silently never join its room).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from rasa.core.channels.channel import UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.channels.flood import ChatFloodGuard, limited_text
from addons.channels.guard import MessageRejected, screen_message, trusted_metadata
from addons.channels.origins import allowed_origins
from addons.channels.payloads import allowed_payloads_from_env
from addons.channels.sessions import InvalidToken, Session, SessionIssuer
from support_core.identifiers import is_conversation_id
from support_core.rate_limits import client_address

logger = logging.getLogger(__name__)

REJECTION_TEXT = {
    "message_too_long": "消息太长了，请分几条发送。 / Your message is too long, please split it.",
    "message_not_text": "只能发送文字消息。 / Only text messages can be sent.",
}
INVALID_SESSION = "invalid_session"
RATE_LIMITED = "rate_limited"


def _client_manager() -> socketio.AsyncManager | None:
    # With several Rasa replicas, a reply must reach a socket held by another one.
    url = os.environ.get("SOCKETIO_REDIS_URL")
    return socketio.AsyncRedisManager(url) if url else None


class GuardedSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel with bound sessions, input screening and quotas."""

    @classmethod
    def name(cls) -> str:
        """Keep the name ``socketio`` so ``output_channel=socketio`` still works."""
        return "socketio"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> SocketBlueprint:
        """Defines the socket.io server and its event handlers."""
        manager = _client_manager()
        sio = socketio.AsyncServer(
            async_mode="sanic",
            # None: the server's own origin only.
            cors_allowed_origins=allowed_origins() or None,
            **({"client_manager": manager} if manager is not None else {}),
        )
        webhook = SocketBlueprint(sio, self.socketio_path, "guarded_socketio_webhook", __name__)
        self.sio = sio
        issuer = SessionIssuer.from_env()
        flood = ChatFloodGuard()
        allowed_payloads = allowed_payloads_from_env()

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: dict, auth: dict | None) -> bool:
            await sio.save_session(
                sid, {"address": _client_address(environ)}, namespace=self.namespace
            )
            if not self.jwt_key:
                return True
            token = (auth or {}).get("token")
            return bool(token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm))

        def open_session(data: dict[str, Any]) -> Session:
            # A refused user token does not cost the user the conversation their
            # session token still proves.
            if data.get("user_token"):
                try:
                    return issuer.session_for_app_user(data["user_token"])
                except InvalidToken as refused:
                    logger.info("socket.io user token refused (%s)", refused)
            try:
                return issuer.verify(data.get("session_token"), data.get("session_id"))
            except InvalidToken as refused:
                if data.get("session_id"):
                    logger.info("socket.io session refused (%s): new conversation", refused)
            return issuer.new_session()

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any) -> dict[str, Any]:
            data = data if isinstance(data, dict) else {}
            state = await sio.get_session(sid, namespace=self.namespace)
            address = state.get("address")
            session = open_session(data)
            if session.token != data.get("session_token") and session.app_user_id is None:
                decision = flood.new_session(address)
                if not decision.allowed:
                    return {"ok": False, "error": RATE_LIMITED,
                            "retry_after": decision.retry_after}
            previous = state.get("conversation_id")
            if previous and previous != session.conversation_id:
                left = sio.leave_room(sid, previous, namespace=self.namespace)
                if inspect.isawaitable(left):
                    await left
            state.update(conversation_id=session.conversation_id, session=session)
            await sio.save_session(sid, state, namespace=self.namespace)
            joined = sio.enter_room(sid, session.conversation_id, namespace=self.namespace)
            if inspect.isawaitable(joined):
                await joined
            await sio.emit(
                "session_confirm",
                {"session_id": session.conversation_id, "session_token": session.token},
                room=sid, namespace=self.namespace,
            )
            return {"ok": True}

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> dict[str, Any]:
            data = data if isinstance(data, dict) else {}
            state = await sio.get_session(sid, namespace=self.namespace)
            session: Session | None = state.get("session")
            claimed = data.get("session_id")
            if (
                session is None
                or not is_conversation_id(claimed)
                or claimed != session.conversation_id
                or data.get("session_token") != session.token
            ):
                return {"ok": False, "error": INVALID_SESSION}
            sender_id = session.conversation_id
            decision = flood.message(sender_id, state.get("address"))
            if not decision.allowed:
                await sio.emit(
                    self.bot_message_evt,
                    {"text": limited_text(data.get("message"), decision.retry_after),
                     "error": RATE_LIMITED},
                    room=sid, namespace=self.namespace,
                )
                return {"ok": False, "error": RATE_LIMITED, "retry_after": decision.retry_after}
            try:
                guarded = await screen_message(
                    _rasa_agent(), sender_id, data.get("message"), allowed_payloads
                )
            except MessageRejected as rejected:
                await sio.emit(
                    self.bot_message_evt,
                    {"text": REJECTION_TEXT[rejected.code], "error": rejected.code},
                    room=sid, namespace=self.namespace,
                )
                return {"ok": False, "error": rejected.code}
            await on_new_message(
                UserMessage(
                    guarded.text,
                    SocketIOOutput(sio, self.bot_message_evt),
                    sender_id,
                    input_channel=self.name(),
                    metadata=trusted_metadata(
                        _metadata(data.get(self.metadata_key)), guarded, session.app_user_id
                    ),
                )
            )
            return {"ok": True}

        return webhook


def _metadata(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    return raw if isinstance(raw, dict) else {}


def _client_address(environ: dict[str, Any]) -> str | None:
    """The client's address, from the Sanic request engine.io keeps in the environ."""
    request = environ.get("sanic.request")
    return client_address(request) if request is not None else None


def _rasa_agent() -> Any:
    """Rasa's agent, from the one Sanic app of the server (None outside a server)."""
    try:
        return getattr(Sanic.get_app().ctx, "agent", None)
    except SanicException:
        return None
