"""The bot's routes (bot token only).

Every route but ticket creation is scoped by conversation: the bot never
names a ticket by a reference, which could have come from what a user typed.
"""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handoff_service.api.auth import require_bot
from handoff_service.api.body import json_body
from handoff_service.api.context import now, service, sla_targets, ticket_quota, unit_of_work
from handoff_service.api.responses import error, reply
from handoff_service.api.serializers import agent_message_json, message_json, ticket_full
from handoff_service.errors import ValidationFailed
from handoff_service.mail.seen import mark_seen
from handoff_service.models import Ticket


def _ticket(request: Request, ticket: Ticket, status: int = 200) -> HTTPResponse:
    return reply(ticket_full(ticket, now(request), sla_targets(request)), status)


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
        return _ticket(request, ticket, 201 if created else 200)

    @bp.get("/conversations/<conversation_id:str>/ticket")
    @unit_of_work
    def conversation_ticket(request: Request, conversation_id: str) -> HTTPResponse:
        require_bot(request)
        ticket = service(request).conversation_ticket(conversation_id)
        return _ticket(request, ticket)

    @bp.patch("/conversations/<conversation_id:str>/ticket")
    @unit_of_work
    def update_ticket(request: Request, conversation_id: str) -> HTTPResponse:
        # Details the user gave after the escalation (an amount, the hash...).
        require_bot(request)
        payload = json_body(request)
        ticket = service(request).update_conversation_ticket(conversation_id, payload)
        return _ticket(request, ticket)

    @bp.post("/conversations/<conversation_id:str>/user-messages")
    @unit_of_work
    def relay_user_message(request: Request, conversation_id: str) -> HTTPResponse:
        require_bot(request)
        payload = json_body(request)
        message, created = service(request).add_user_message_for_conversation(
            conversation_id,
            payload.get("text"),
            payload.get("external_id"),
            payload.get("expecting_tx_hash"),
        )
        return reply(message_json(message), 201 if created else 200)

    @bp.post("/conversations/<conversation_id:str>/bot-messages")
    @unit_of_work
    def bot_message(request: Request, conversation_id: str) -> HTTPResponse:
        # What the bot said during the handoff (a warning, say): for agents only.
        require_bot(request)
        payload = json_body(request)
        message, created = service(request).add_bot_message_for_conversation(
            conversation_id, payload.get("text"), payload.get("message_id")
        )
        return reply(message_json(message), 201 if created else 200)

    @bp.post("/conversations/<conversation_id:str>/rating")
    @unit_of_work
    def rate(request: Request, conversation_id: str) -> HTTPResponse:
        require_bot(request)
        payload = json_body(request)
        ticket = service(request).rate_conversation(conversation_id, payload.get("score"))
        return _ticket(request, ticket)

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
