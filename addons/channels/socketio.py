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
- relays the agent's typing and "seen" from the handoff service to the
  conversation's room (:mod:`addons.channels.agent_activity`);
- awaits ``enter_room`` when python-socketio makes it a coroutine, which Rasa
  3.6 does not (the session would silently never join its room).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from rasa.core.channels.channel import UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput
from rasa.shared.core.events import SlotSet
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.channels.agent_activity import add_agent_activity_route
from addons.channels.attachments import add_attachment_routes
from addons.channels.drain import Drain, drain_timeout
from addons.channels.flood import ChatFloodGuard, limited_text
from addons.channels.guard import MessageRejected, screen_message, trusted_metadata
from addons.channels.history import (
    CLIENT_MESSAGE_ID,
    DEFAULT_LIMIT,
    StampedSocketIOOutput,
    page_after,
    rendered_messages,
)
from addons.channels.origins import allowed_origins
from addons.channels.payloads import allowed_payloads_from_env
from addons.channels.resends import handle_once, is_resend
from addons.channels.seen import SeenReporter, SeenUnavailable, message_ids
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
UNAVAILABLE = "unavailable"
# The languages of the widget and of every response.
UI_LANGUAGES = ("zh", "en")
# A widget asks for history when it opens and reconnects; more often is a loop or a flood.
HISTORY_MIN_INTERVAL_S = 0.5


def _client_manager() -> socketio.AsyncManager | None:
    # With several Rasa replicas, a reply must reach a socket held by another one:
    # every emit goes through Redis pub/sub on SOCKETIO_REDIS_CHANNEL (one per deployment).
    url = os.environ.get("SOCKETIO_REDIS_URL")
    if not url:
        return None
    channel = os.environ.get("SOCKETIO_REDIS_CHANNEL") or "socketio"
    return socketio.AsyncRedisManager(url, channel=channel)


class GuardedSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel with bound sessions, input screening and quotas."""

    @classmethod
    def name(cls) -> str:
        """Keep the name ``socketio`` so ``output_channel=socketio`` still works."""
        return "socketio"

    def get_output_channel(self) -> StampedSocketIOOutput | None:
        """Where the bot's answers to triggered intents (agent replies...) go, stamped."""
        if self.sio is None:
            return None
        return StampedSocketIOOutput(self.sio, self.bot_message_evt)

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
        seen_reporter = SeenReporter.from_env()

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        add_attachment_routes(
            webhook,
            channel_name=self.name(),
            issuer=issuer,
            flood=flood,
            on_new_message=on_new_message,
            output=lambda: StampedSocketIOOutput(sio, self.bot_message_evt),
            tracker_store=lambda: getattr(_rasa_agent(), "tracker_store", None),
        )
        # "Ana is typing…" and "Seen", posted by the handoff service with Rasa's token.
        add_agent_activity_route(webhook, sio, self.namespace)

        drain = Drain()
        connected: set[str] = set()

        @webhook.listener("before_server_stop")
        async def let_chats_go(*_: Any) -> None:
            # Turns first (their trackers saved, their locks released), then the
            # chats, which reconnect to another replica through the load balancer.
            await drain.stop(drain_timeout())
            for sid in list(connected):
                await sio.disconnect(sid, namespace=self.namespace)
            # Transports that never joined the namespace (a refused connect) too. Not
            # waiting for the close to reach a long-polling client, which may never ask.
            for transport in list(sio.eio.sockets.values()):
                await transport.close(wait=False)

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str) -> None:
            connected.discard(sid)

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: dict, auth: dict | None) -> bool:
            if drain.draining:
                return False  # stopping: the client retries and lands on another replica
            connected.add(sid)
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
            return issuer.new_session(previous=_previous_session(issuer, data))

        async def verified_session(
            sid: str, data: dict[str, Any]
        ) -> tuple[Session | None, dict[str, Any]]:
            """The socket's session if ``data`` names it and carries its token, and the
            socket's state (read once: every event needs both)."""
            state = await sio.get_session(sid, namespace=self.namespace)
            session: Session | None = state.get("session")
            claimed = data.get("session_id")
            if (
                session is None
                or not is_conversation_id(claimed)
                or claimed != session.conversation_id
                or data.get("session_token") != session.token
            ):
                return None, state
            return session, state

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

        @sio.on("history", namespace=self.namespace)
        async def history(sid: str, data: Any) -> dict[str, Any]:
            data = data if isinstance(data, dict) else {}
            session, state = await verified_session(sid, data)
            if session is None:
                return {"ok": False, "error": INVALID_SESSION}
            now = time.monotonic()
            if now - state.get("history_at", -HISTORY_MIN_INTERVAL_S) < HISTORY_MIN_INTERVAL_S:
                return {"ok": False, "error": RATE_LIMITED, "retry_after": 1}
            state["history_at"] = now
            await sio.save_session(sid, state, namespace=self.namespace)
            agent = _rasa_agent()
            store = getattr(agent, "tracker_store", None) if agent is not None else None
            if store is None:
                return {"ok": False, "error": UNAVAILABLE}
            tracker = await store.retrieve_full_tracker(session.conversation_id)
            if tracker is None:
                return {"ok": True, "messages": [], "more": False,
                        "handoff": {"active": False, "ticket_ref": None}}
            limit = data.get("limit")
            page = page_after(
                await rendered_messages(session.conversation_id, tracker.events),
                data.get("after"),
                limit if isinstance(limit, int) and not isinstance(limit, bool) else DEFAULT_LIMIT,
            )
            ref = tracker.get_slot("ticket_ref")
            return {
                "ok": True,
                "messages": page.messages,
                "more": page.more,
                "handoff": {
                    "active": bool(tracker.get_slot("handoff_active")),
                    "ticket_ref": ref if isinstance(ref, str) else None,
                },
            }

        @sio.on("seen", namespace=self.namespace)
        async def seen(sid: str, data: Any) -> dict[str, Any]:
            data = data if isinstance(data, dict) else {}
            session, _state = await verified_session(sid, data)
            if session is None:
                return {"ok": False, "error": INVALID_SESSION}
            ids = message_ids(data.get("message_ids"))
            if not ids:
                return {"ok": True, "seen": 0}
            if seen_reporter is None:
                return {"ok": False, "error": UNAVAILABLE}
            try:
                count = await seen_reporter.report(session.conversation_id, ids)
            except SeenUnavailable as failed:
                logger.warning("could not record seen replies (%s)", failed)
                return {"ok": False, "error": UNAVAILABLE}
            return {"ok": True, "seen": count}

        @sio.on("set_language", namespace=self.namespace)
        async def set_language(sid: str, data: Any) -> dict[str, Any]:
            # The host app chose the chat's language (WalletSupport.setLanguage): the
            # bot answers in it from now on, until the user writes in the other one.
            data = data if isinstance(data, dict) else {}
            session, state = await verified_session(sid, data)
            if session is None:
                return {"ok": False, "error": INVALID_SESSION}
            language = data.get("language")
            if language not in UI_LANGUAGES:
                return {"ok": False, "error": "invalid_language"}
            if state.get("language_set") == language:
                return {"ok": True}
            agent = _rasa_agent()
            if agent is None or getattr(agent, "processor", None) is None:
                return {"ok": False, "error": UNAVAILABLE}
            await _set_conversation_language(agent, session.conversation_id, language)
            state["language_set"] = language
            await sio.save_session(sid, state, namespace=self.namespace)
            return {"ok": True}

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> dict[str, Any]:
            data = data if isinstance(data, dict) else {}
            session, state = await verified_session(sid, data)
            if session is None:
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
            client_id = data.get("message_id")
            message = UserMessage(
                guarded.text,
                StampedSocketIOOutput(sio, self.bot_message_evt),
                sender_id,
                input_channel=self.name(),
                # The widget's own id lets it recognise its message in the history.
                message_id=client_id
                if isinstance(client_id, str) and CLIENT_MESSAGE_ID.match(client_id)
                else None,
                metadata=trusted_metadata(
                    _metadata(data.get(self.metadata_key)), guarded, session.app_user_id,
                    session.previous,
                ),
            )
            async with drain.turn():
                if is_resend(data) and message.message_id:
                    if await handle_once(_rasa_agent(), message):
                        return {"ok": True, "duplicate": True}
                else:
                    await on_new_message(message)
            if guarded.secret_kinds:
                # The widget masks its own bubble and storage with what was kept.
                return {"ok": True, "redacted": {"text": guarded.text,
                                                 "kinds": list(guarded.secret_kinds)}}
            return {"ok": True}

        return webhook


async def _set_conversation_language(agent: Any, conversation_id: str, language: str) -> None:
    """Set the ``language`` slot of the conversation, as Rasa's own events API would."""
    processor = agent.processor
    async with agent.lock_store.lock(conversation_id):
        tracker = await processor.fetch_tracker_with_initial_session(conversation_id)
        if tracker.get_slot("language") == language:
            return
        tracker.update(SlotSet("language", language), agent.domain)
        await processor.save_tracker(tracker)


def _previous_session(issuer: SessionIssuer, data: dict[str, Any]) -> Session | None:
    """The conversation the user left for this new one, if the request proves it."""
    previous = data.get("previous_session")
    if not isinstance(previous, dict):
        return None
    try:
        return issuer.verify(previous.get("session_token"), previous.get("session_id"))
    except InvalidToken as refused:
        logger.info("previous chat session refused (%s)", refused)
        return None


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
