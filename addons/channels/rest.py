"""REST input channel (``/webhooks/rest/...``) with bound sessions, screened input and quotas.

``POST /webhooks/rest/session`` opens a conversation (or, with the wallet app's
``user_token``, the app user's own) and returns its id and session token;
``POST /webhooks/rest/webhook`` takes a message only with that token as a
bearer token. The production profile leaves this channel out entirely.
"""

from __future__ import annotations

import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.channels.flood import ChatFloodGuard
from addons.channels.guard import MessageRejected, screen_message, trusted_metadata
from addons.channels.payloads import allowed_payloads_from_env
from addons.channels.sessions import InvalidToken, SessionIssuer
from support_core.rate_limits import client_address

logger = logging.getLogger(__name__)


class GuardedRestInput(RestInput):
    """Rasa's REST channel with session tokens, input screening and quotas."""

    @classmethod
    def name(cls) -> str:
        """Keep Rasa's URL: ``/webhooks/rest/webhook``."""
        return "rest"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Routes: a health check, a new session and the webhook."""
        webhook = Blueprint("guarded_rest_webhook", __name__)
        issuer = SessionIssuer.from_env()
        flood = ChatFloodGuard()
        allowed_payloads = allowed_payloads_from_env()

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/session", methods=["POST"])
        async def new_session(request: Request) -> HTTPResponse:
            body = _json_body(request) or {}
            if body.get("user_token"):
                try:
                    session = issuer.session_for_app_user(body["user_token"])
                except InvalidToken as refused:
                    return _error(401, "invalid_user_token", str(refused))
            else:
                decision = flood.new_session(client_address(request))
                if not decision.allowed:
                    return _limited(decision.retry_after, "Too many new conversations.")
                session = issuer.new_session()
            return response.json(
                {"session_id": session.conversation_id, "session_token": session.token}
            )

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = _json_body(request)
            if body is None:
                return _error(400, "invalid_json", "The body must be a JSON object.")
            scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
            sender = body.get("sender")
            try:
                if scheme.lower() != "bearer":
                    raise InvalidToken("no bearer token")
                session = issuer.verify(token.strip(), sender if sender is not None else None)
            except InvalidToken as refused:
                return _error(
                    401, "invalid_session",
                    f"Send 'Authorization: Bearer <session token>' from /session ({refused}).",
                )
            sender_id = session.conversation_id
            decision = flood.message(sender_id, client_address(request))
            if not decision.allowed:
                return _limited(
                    decision.retry_after, "Too many messages: send it again after retry_after."
                )
            try:
                guarded = await screen_message(
                    getattr(request.app.ctx, "agent", None), sender_id, body.get("message"),
                    allowed_payloads,
                )
            except MessageRejected as rejected:
                status = 413 if rejected.code == "message_too_long" else 422
                return _error(status, rejected.code, rejected.detail)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        guarded.text,
                        collector,
                        sender_id,
                        input_channel=self.name(),
                        metadata=trusted_metadata(
                            body.get("metadata"), guarded, session.app_user_id,
                            session.previous,
                        ),
                    )
                )
            except CancelledError:
                logger.error("Handling a REST message timed out (conversation %s).", sender_id)
            return response.json(collector.messages)

        return webhook


def _json_body(request: Request) -> dict | None:
    try:
        body = request.json
    except InvalidUsage:
        return None
    return body if isinstance(body, dict) else None


def _error(status: int, code: str, detail: str) -> HTTPResponse:
    return response.json({"error": code, "detail": detail}, status=status)


def _limited(retry_after: int, detail: str) -> HTTPResponse:
    return response.json(
        {"error": "rate_limited", "detail": detail, "retry_after": retry_after},
        status=429, headers={"Retry-After": str(retry_after)},
    )
