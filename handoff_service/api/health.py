"""``GET /api/health``: is the service up, and can it reach its database (no credentials)."""

from __future__ import annotations

import asyncio
import logging

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import OperationalError

from handoff_service.api.responses import reply
from handoff_service.db import ping

logger = logging.getLogger(__name__)


def add_health_route(bp: Blueprint) -> None:
    """Add the health check to ``bp``."""

    @bp.get("/health")
    async def health(request: Request) -> HTTPResponse:
        try:
            await asyncio.to_thread(ping, request.app.ctx.engine)
        except OperationalError as exc:
            logger.warning("health check: database unavailable (%s)", type(exc.orig).__name__)
            return reply({"status": "degraded", "database": "unavailable"}, 503)
        return reply({"status": "ok", "database": "ok"})
