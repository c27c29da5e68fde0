"""What a handler gets from its request: a unit of work, the use cases, the clock, quotas,
and the relay of agents' activity to the chat."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import wraps
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse

from handoff_service.activity import ActivitySink
from handoff_service.config import SlaTargets
from handoff_service.rate_limiting import rate_limits
from handoff_service.services import HandoffService, TicketQuota

Handler = Callable[..., Awaitable[HTTPResponse]]
SyncHandler = Callable[..., HTTPResponse]


def unit_of_work(handler: SyncHandler) -> Handler:
    """Run a blocking handler in a worker thread with one session (``request.ctx.session``).

    Database calls are blocking; in a thread they leave the event loop free
    for other requests, and concurrent requests overlap their round trips
    and commits. The services commit their own units of work; closing the
    session here rolls back whatever a failed request left uncommitted.
    """

    def run(request: Request, args: tuple[Any, ...], kwargs: dict[str, Any]) -> HTTPResponse:
        with request.app.ctx.sessions() as session:
            request.ctx.session = session
            try:
                return handler(request, *args, **kwargs)
            finally:
                request.ctx.session = None

    @wraps(handler)
    async def endpoint(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        return await asyncio.to_thread(run, request, args, kwargs)

    return endpoint


def service(request: Request) -> HandoffService:
    """The use cases on this request's session (inside :func:`unit_of_work`)."""
    return HandoffService(request.ctx.session, clock=request.app.ctx.clock)


def now(request: Request) -> datetime:
    """The app's current time (tests fix the clock)."""
    return request.app.ctx.clock()  # type: ignore[no-any-return]


def sla_targets(request: Request) -> SlaTargets:
    """The app's first-reply targets per priority."""
    return request.app.ctx.settings.sla  # type: ignore[no-any-return]


def ticket_quota(request: Request) -> TicketQuota:
    """The app's allowance of new tickets per conversation."""
    return rate_limits(request.app).ticket


def activity(request: Request) -> ActivitySink:
    """Where the assignee's typing and seen marks go (the Rasa channel, best effort)."""
    return request.app.ctx.activity  # type: ignore[no-any-return]
