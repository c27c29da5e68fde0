"""Who is calling: the bot's token or an agent's, checked on every request.

Bearer tokens: the assistant's bot token for the bot endpoints, a per-agent
token for the console endpoints. Every failed check counts against the
client's address, so guessing tokens is rate limited.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sanic import Request

from handoff_service.api.context import service
from handoff_service.errors import Forbidden, Unauthorized
from handoff_service.models import Agent
from handoff_service.rate_limiting import rate_limits
from support_core.rate_limits import client_address

# Tokens are visible ASCII (generated ones are URL-safe base64), at most 512
# characters; anything else is refused without a database look-up. Sanic
# decodes header bytes that are not UTF-8 to lone surrogates, which no
# encoder accepts.
_TOKEN_RE = re.compile(r"[\x21-\x7e]{1,512}", re.ASCII)


@dataclass(frozen=True)
class Caller:
    """Who sent the request: the bot (``agent`` is None) or an agent."""

    agent: Agent | None

    @property
    def is_bot(self) -> bool:
        """Whether the bot token was used."""
        return self.agent is None


def caller(request: Request) -> Caller:
    """Who is calling; every failed check counts against the client address.

    Raises:
        Unauthorized: no or unknown credentials.
        RateLimited: agent over its allowance, or this address failed too often.
    """
    try:
        who = _authenticate(request)
    except Unauthorized:
        rate_limits(request.app).anonymous_call(client_address(request) or "unknown")
        raise
    if who.agent is not None:
        rate_limits(request.app).agent_call(who.agent.id)
        # Who is online, for the queue estimate; written at most once a minute.
        service(request).note_agent_seen(who.agent)
    return who


def _authenticate(request: Request) -> Caller:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send 'Authorization: Bearer <token>'")
    if not _TOKEN_RE.fullmatch(token):
        raise Unauthorized("unknown or revoked token")
    bot_token = request.app.ctx.settings.bot_token
    if bot_token and secrets.compare_digest(token.encode(), bot_token.encode()):
        return Caller(agent=None)
    return Caller(agent=service(request).authenticate_agent(token))


def require_bot(request: Request) -> None:
    """Go on only for the bot's token.

    Raises:
        Unauthorized: no or unknown credentials.
        Forbidden: an agent's token.
        RateLimited: this address failed too often.
    """
    if not caller(request).is_bot:
        raise Forbidden("this endpoint takes the assistant's bot token, not an agent token")


def require_agent(request: Request) -> Agent:
    """The calling agent.

    Raises:
        Unauthorized: no, unknown or revoked credentials.
        Forbidden: the bot's token.
        RateLimited: the agent is over its allowance, or this address failed too often.
    """
    who = caller(request)
    if who.agent is None:
        raise Forbidden("this endpoint takes an agent token, not the bot token")
    return who.agent


def require_admin(request: Request) -> Agent:
    """The calling agent, who must be an admin.

    Raises:
        Unauthorized: no, unknown or revoked credentials.
        Forbidden: the bot's token, or an agent who is not an admin.
        RateLimited: the agent is over its allowance, or this address failed too often.
    """
    agent = require_agent(request)
    if not agent.is_admin:
        raise Forbidden("only an admin may do this")
    return agent


def count_anonymous_call(request: Request) -> None:
    """Count a call to a public route against the client's address.

    Raises:
        RateLimited: this address called too often.
    """
    rate_limits(request.app).anonymous_call(client_address(request) or "unknown")
