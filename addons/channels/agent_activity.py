"""An agent's activity shown in the user's chat: "Ana is typing…" and "Seen".

The handoff service posts it (best effort) to
``POST <rasa>/webhooks/socketio/agent_activity`` with Rasa's auth token
(``RASA_AUTH_TOKEN``) as a Bearer token:

- ``{"conversation_id": "...", "kind": "typing", "agent": "Ana"}``
- ``{"conversation_id": "...", "kind": "seen", "seen_until": "<ISO time>"}``

The channel emits ``agent_activity`` with the same body, less the conversation
id and plus the server's clock (``ts``, epoch seconds, so the widget can
compare ``seen_until`` with its own times), to the conversation's room through
the socket.io server's manager: with the Redis manager it reaches a socket held
by any replica. Only the service holds the token, so any conversation id it
names is fine; without a token configured the route answers 403, a wrong one
401, bad input 400, and 204 once emitted.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import time
from datetime import datetime
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from support_core.identifiers import is_conversation_id

logger = logging.getLogger(__name__)

EVENT = "agent_activity"
KINDS = frozenset({"typing", "seen"})
MAX_BODY_BYTES = 2048
MAX_CONVERSATION_ID_CHARS = 255
MAX_AGENT_CHARS = 64
MAX_TIME_CHARS = 40
TOKEN_ENV = "RASA_AUTH_TOKEN"


class ActivityRefused(ValueError):
    """The body is not an activity the widget can show."""


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": code, "message": message}, status=status)


def _authorized(request: Request, expected: str) -> bool:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


def _iso_time(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TIME_CHARS:
        raise ActivityRefused("'seen_until' must be an ISO 8601 time")
    try:
        # Python 3.10 does not read a trailing "Z".
        datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        raise ActivityRefused("'seen_until' must be an ISO 8601 time") from None
    return value


def parse_activity(raw: bytes | None) -> tuple[str, dict[str, Any]]:
    """The conversation id and what the widget is sent, from the request's body.

    Raises:
        ActivityRefused: anything but a valid activity of a known kind.
    """
    if not raw:
        raise ActivityRefused("a JSON body is required")
    if len(raw) > MAX_BODY_BYTES:
        raise ActivityRefused(f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ActivityRefused("the body is not JSON") from None
    if not isinstance(body, dict):
        raise ActivityRefused("the body must be a JSON object")
    conversation_id = body.get("conversation_id")
    if (
        not isinstance(conversation_id, str)
        or not conversation_id
        or len(conversation_id) > MAX_CONVERSATION_ID_CHARS
        or not is_conversation_id(conversation_id)
    ):
        raise ActivityRefused("'conversation_id' must be a conversation id")
    kind = body.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ActivityRefused("'kind' must be 'typing' or 'seen'")
    activity: dict[str, Any] = {"kind": kind}
    agent = body.get("agent")
    if agent is not None:
        if not isinstance(agent, str) or len(agent) > MAX_AGENT_CHARS or not agent.strip():
            raise ActivityRefused(f"'agent' must be a name of 1 to {MAX_AGENT_CHARS} characters")
        activity["agent"] = agent.strip()
    if kind == "seen":
        activity["seen_until"] = _iso_time(body.get("seen_until"))
    activity["ts"] = time.time()
    return conversation_id, activity


def add_agent_activity_route(webhook: Blueprint, sio: Any, namespace: str | None) -> None:
    """Add ``POST /agent_activity`` to the channel's ``webhook``; emits through ``sio``."""

    @webhook.route("/agent_activity", methods=["POST"])
    async def agent_activity(request: Request) -> HTTPResponse:
        expected = os.environ.get(TOKEN_ENV) or ""
        if not expected:
            return _error(403, "forbidden", "agent activity is off: no RASA_AUTH_TOKEN is set")
        if not _authorized(request, expected):
            return _error(401, "unauthorized", "a valid Bearer token is required")
        try:
            conversation_id, activity = parse_activity(request.body)
        except ActivityRefused as refused:
            return _error(400, "invalid_activity", str(refused))
        try:
            # The room is the conversation id; the manager (Redis with several
            # replicas) delivers it wherever the user's socket is.
            await sio.emit(EVENT, activity, room=conversation_id, namespace=namespace)
        except Exception as failed:  # best effort: the service never retries
            logger.warning("could not relay agent activity (%s)", type(failed).__name__)
            return _error(503, "unavailable", "the activity could not be relayed")
        return response.empty(status=204)
