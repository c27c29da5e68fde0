"""The agent console's routes (an agent's token only): the queue, a ticket, actions, changes.

Fetching a ticket or polling its messages as its assignee marks the user's
lines as seen, and the user's chat is told (best effort, never in the way of
the answer: :mod:`handoff_service.activity`).
"""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handoff_service.activity import seen_activity
from handoff_service.api.auth import require_agent
from handoff_service.api.body import json_body
from handoff_service.api.context import activity, now, service, sla_targets, unit_of_work
from handoff_service.api.query import int_arg, optional_int_arg, time_arg
from handoff_service.api.responses import reply
from handoff_service.api.serializers import (
    attachment_json,
    change_json,
    me_json,
    message_json,
    note_json,
    ticket_brief,
    ticket_full,
)
from handoff_service.models import MAX_ROW_ID, Agent, Message, Ticket
from handoff_service.times import format_time
from handoff_service.validation import parse_filters


def _seen(request: Request, ticket: Ticket, agent: Agent, shown: list[Message]) -> None:
    # The assignee now has these lines on screen: stamp the user's, tell the chat once.
    if not shown:
        return
    seen_until = service(request).mark_seen(ticket, agent, shown[-1].id)
    if seen_until is not None:
        activity(request).send(seen_activity(ticket.conversation_id, seen_until))


def add_agent_routes(bp: Blueprint) -> None:
    """Add the agents' routes to ``bp``."""

    @bp.get("/tickets")
    @unit_of_work
    def list_tickets(request: Request) -> HTTPResponse:
        require_agent(request)
        settings = request.app.ctx.settings
        filters = parse_filters(
            status=request.args.get("status"),
            category=request.args.get("category"),
            priority=request.args.get("priority"),
            language=request.args.get("language"),
            tag=request.args.get("tag"),
        )
        limit = int_arg(request, "limit", settings.default_page_size, 1, settings.max_page_size)
        page = service(request).list_tickets(filters, limit, request.args.get("cursor"))
        moment, sla = now(request), sla_targets(request)
        return reply(
            {
                "tickets": [ticket_brief(t, moment, sla) for t in page.tickets],
                "next_cursor": page.next_cursor,
            }
        )

    @bp.get("/tickets/<ref:str>")
    @unit_of_work
    def get_ticket(request: Request, ref: str) -> HTTPResponse:
        agent = require_agent(request)
        use_cases = service(request)
        ticket = use_cases.get_ticket(ref)
        moment, sla = now(request), sla_targets(request)
        messages = use_cases.messages(ref)
        body = ticket_full(ticket, moment, sla)
        body["messages"] = [message_json(m) for m in messages]
        body["attachments"] = [attachment_json(a) for a in use_cases.ticket_attachments(ticket)]
        # For agents only: the bot's routes serve ticket_full without these.
        body["tags"] = use_cases.tags_of(ticket)
        body["notes"] = [note_json(n) for n in use_cases.notes_of(ticket)]
        body["related"] = [ticket_brief(t, moment, sla) for t in use_cases.related(ticket)]
        _seen(request, ticket, agent, messages)
        return reply(body)

    @bp.get("/tickets/<ref:str>/messages")
    @unit_of_work
    def poll_messages(request: Request, ref: str) -> HTTPResponse:
        agent = require_agent(request)
        settings = request.app.ctx.settings
        after_id = optional_int_arg(request, "after_id", 0, MAX_ROW_ID)
        limit = int_arg(
            request, "limit", settings.max_messages_page, 1, settings.max_messages_page
        )
        use_cases = service(request)
        messages = use_cases.messages(ref, after_id, limit)
        _seen(request, use_cases.get_ticket(ref), agent, messages)
        return reply({"messages": [message_json(m) for m in messages]})

    @bp.post("/tickets/<ref:str>/claim")
    @unit_of_work
    def claim(request: Request, ref: str) -> HTTPResponse:
        agent = require_agent(request)
        ticket, _newly = service(request).claim(ref, agent)
        return reply(ticket_full(ticket, now(request), sla_targets(request)))

    @bp.post("/tickets/<ref:str>/messages")
    @unit_of_work
    def agent_message(request: Request, ref: str) -> HTTPResponse:
        agent = require_agent(request)
        payload = json_body(request)
        message, new = service(request).reply_once(
            ref, agent, payload.get("text"), payload.get("attachment_id"),
            request.headers.get("idempotency-key"),
        )
        return reply(message_json(message), 201 if new else 200)

    @bp.post("/tickets/<ref:str>/resolve")
    @unit_of_work
    def resolve(request: Request, ref: str) -> HTTPResponse:
        agent = require_agent(request)
        ticket = service(request).resolve(ref, agent)
        return reply(ticket_full(ticket, now(request), sla_targets(request)))

    @bp.post("/tickets/<ref:str>/close")
    @unit_of_work
    def close(request: Request, ref: str) -> HTTPResponse:
        agent = require_agent(request)
        ticket = service(request).close(ref, agent)
        return reply(ticket_full(ticket, now(request), sla_targets(request)))

    @bp.get("/me")
    @unit_of_work
    def me(request: Request) -> HTTPResponse:
        agent = require_agent(request)
        return reply(me_json(agent))

    @bp.patch("/me")
    @unit_of_work
    def update_me(request: Request) -> HTTPResponse:
        agent = require_agent(request)
        payload = json_body(request)
        return reply(me_json(service(request).set_console_language(agent, payload)))

    @bp.get("/events")
    @unit_of_work
    def events(request: Request) -> HTTPResponse:
        require_agent(request)
        after = time_arg(request, "after")
        changes = service(request).changes_since(after)
        cursor = changes[-1].updated_at if changes else after
        return reply({"changes": [change_json(c) for c in changes], "cursor": format_time(cursor)})
