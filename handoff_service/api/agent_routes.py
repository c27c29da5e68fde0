"""The agent console's routes (an agent's token only): the queue, a ticket, actions, changes."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handoff_service.api.auth import require_agent
from handoff_service.api.body import json_body
from handoff_service.api.context import now, service, sla_targets, unit_of_work
from handoff_service.api.query import int_arg, optional_int_arg, time_arg
from handoff_service.api.responses import reply
from handoff_service.api.serializers import (
    attachment_json,
    change_json,
    message_json,
    ticket_brief,
    ticket_full,
)
from handoff_service.models import MAX_ROW_ID
from handoff_service.times import format_time
from handoff_service.validation import parse_filters


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
        require_agent(request)
        use_cases = service(request)
        ticket = use_cases.get_ticket(ref)
        body = ticket_full(ticket, now(request), sla_targets(request))
        body["messages"] = [message_json(m) for m in use_cases.messages(ref)]
        body["attachments"] = [attachment_json(a) for a in use_cases.ticket_attachments(ticket)]
        return reply(body)

    @bp.get("/tickets/<ref:str>/messages")
    @unit_of_work
    def poll_messages(request: Request, ref: str) -> HTTPResponse:
        require_agent(request)
        settings = request.app.ctx.settings
        after_id = optional_int_arg(request, "after_id", 0, MAX_ROW_ID)
        limit = int_arg(
            request, "limit", settings.max_messages_page, 1, settings.max_messages_page
        )
        messages = service(request).messages(ref, after_id, limit)
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
        message = service(request).add_agent_message(
            ref, agent, payload.get("text"), payload.get("attachment_id")
        )
        return reply(message_json(message), 201)

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
        return reply({"name": agent.name})

    @bp.get("/events")
    @unit_of_work
    def events(request: Request) -> HTTPResponse:
        require_agent(request)
        after = time_arg(request, "after")
        changes = service(request).changes_since(after)
        cursor = changes[-1].updated_at if changes else after
        return reply({"changes": [change_json(c) for c in changes], "cursor": format_time(cursor)})
