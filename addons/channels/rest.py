"""REST input channel (``/webhooks/rest/webhook``) that never lets a secret through."""

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

from addons.channels.guard import (
    MessageRejected,
    guard_text,
    tx_hash_expected,
    with_secret_metadata,
)

logger = logging.getLogger(__name__)


class GuardedRestInput(RestInput):
    """Rasa's REST channel with input validation and secret redaction."""

    @classmethod
    def name(cls) -> str:
        """Keep Rasa's URL: ``/webhooks/rest/webhook``."""
        return "rest"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Routes: a health check and the webhook."""
        webhook = Blueprint("guarded_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = _json_body(request)
            if body is None:
                return _error(400, "invalid_json", "The body must be a JSON object.")
            sender = body.get("sender")
            if not isinstance(sender, str) or not sender.strip() or len(sender) > 128:
                return _error(
                    422, "invalid_sender", "'sender' must be a non-empty string (128 chars max)."
                )
            agent = getattr(request.app.ctx, "agent", None)
            expecting = await tx_hash_expected(agent, sender, body.get("message"))
            try:
                guarded = guard_text(body.get("message"), expecting_tx_hash=expecting)
            except MessageRejected as rejected:
                status = 413 if rejected.code == "message_too_long" else 422
                return _error(status, rejected.code, rejected.detail)
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else None
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        guarded.text,
                        collector,
                        sender,
                        input_channel=self.name(),
                        metadata=with_secret_metadata(metadata, guarded),
                    )
                )
            except CancelledError:
                logger.error("Handling a REST message timed out (sender %s).", sender)
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
