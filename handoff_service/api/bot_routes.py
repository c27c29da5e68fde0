"""The bot's routes (bot token only).

Every route but ticket creation is scoped by conversation: the bot never
names a ticket by a reference, which could have come from what a user typed.
"""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handoff_service.api.auth import require_bot
from handoff_service.api.body import json_body
from handoff_service.api.context import now, service, ticket_quota, unit_of_work
from handoff_service.api.responses import error, reply
from handoff_service.api.serializers import agent_message_json, message_json, ticket_full
from handoff_service.errors import ValidationFailed
from handoff_service.mail.seen import mark_seen


def add_bot_routes(bp: Blueprint) -> None:
    """Add the bot's routes to ``bp``."""

    @bp.post("/tickets")
    @unit_of_work
    def create_ticket(request: Request) -> HTTPResponse:
        require_bot(request)
        payload = json_body(request)
        ticket, created = service(request).create_ticket(
            payload, request.headers.get("idempotency-key"), quota=ticket_quota(request)
        )
        return reply(ticket_full(ticket, now(request)), 201 if created else 200)

    @bp.get("/conversations/<conversation_id:str>/ticket")
    @unit_of_work
    def conversation_ticket(request: Request, conversation_id: str) -> HTTPResponse:
        require_bot(request)
        ticket = service(request).conversation_ticket(conversation_id)
        return reply(ticket_full(ticket, now(request)))

    @bp.post("/conversations/<conversation_id:str>/user-messages")
    @unit_of_work
    def relay_user_message(request: Request, conversation_id: str) -> HTTPResponse:
        require_bot(request)
        payload = json_body(request)
        message, created = service(request).add_user_message_for_conversation(
            conversation_id, payload.get("text"), payload.get("external_id")
        )
        return reply(message_json(message), 201 if created else 200)

    @bp.post("/conversations/<conversation_id:str>/rating")
    @unit_of_work
    def rate(request: Request, conversation_id: str) -> HTTPResponse:
        require_bot(request)
        payload = json_body(request)
        ticket = service(request).rate_conversation(conversation_id, payload.get("score"))
        return reply(ticket_full(ticket, now(request)))

    @bp.get("/conversations/<conversation_id:str>/messages/<message_id:str>")
    @unit_of_work
    def conversation_message(
        request: Request, conversation_id: str, message_id: str
    ) -> HTTPResponse:
        require_bot(request)
        message, ticket = service(request).conversation_agent_message(conversation_id, message_id)
        return reply(agent_message_json(message, ticket))

    @bp.post("/conversations/<conversation_id:str>/seen")
    @unit_of_work
    def replies_seen(request: Request, conversation_id: str) -> HTTPResponse:
        # The widget showed these agent replies: they need no e-mail.
        require_bot(request)
        try:
            seen = mark_seen(
                request.ctx.session,
                conversation_id,
                json_body(request).get("message_ids"),
                now(request),
            )
        except ValidationFailed as exc:
            return error(400, "validation_failed", exc.detail, exc.field)
        return reply({"seen": seen})
