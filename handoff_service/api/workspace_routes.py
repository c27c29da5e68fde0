"""The agents' workspace routes: agents and roles, notes, tags, hand-overs, search,
canned replies, the configuration and the overview, typing; and the public queue estimate.

Every route takes an agent's token but ``GET /api/public/queue``, which takes
none and is counted against the caller's address like any anonymous call.
Routes that manage agents or write canned replies are for admins (403 for
other agents); the rules that depend on the data (not your own account, the
ticket's assignee or an admin) are the services'.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handoff_service.activity import typing_activity
from handoff_service.api.auth import count_anonymous_call, require_admin, require_agent
from handoff_service.api.body import json_body
from handoff_service.api.context import activity, now, service, sla_targets, unit_of_work
from handoff_service.api.responses import reply
from handoff_service.api.serializers import (
    agent_json,
    canned_reply_json,
    note_json,
    queue_json,
    stats_json,
    ticket_brief,
    ticket_full,
)
from handoff_service.console_config import console_config
from handoff_service.models import Ticket
from handoff_service.rate_limiting import rate_limits
from handoff_service.services.workspace import AT_RISK_SHARE
from handoff_service.validation import (
    CANNED_TEXT_MAX,
    NOTE_MAX,
    SEARCH_MAX,
    SEARCH_MIN,
    TAG_MAX,
    TAGS_PER_TICKET,
)

# The public estimate is the same for everyone: computed at most this often per process.
QUEUE_CACHE_S = 15.0


def _no_content() -> HTTPResponse:
    return HTTPResponse(status=204)


def _ticket(request: Request, ticket: Ticket) -> HTTPResponse:
    return reply(ticket_full(ticket, now(request), sla_targets(request)))


class _QueueCache:
    """The last public queue estimate of this process and when it goes stale."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.body: dict[str, Any] | None = None
        self.fresh_until = 0.0


def add_workspace_routes(bp: Blueprint) -> None:
    """Add the workspace routes to ``bp``."""
    _agent_routes(bp)
    _ticket_routes(bp)
    _canned_routes(bp)
    _overview_routes(bp)


def _agent_routes(bp: Blueprint) -> None:
    @bp.get("/agents")
    @unit_of_work
    def list_agents(request: Request) -> HTTPResponse:
        require_agent(request)
        return reply({"agents": [agent_json(a) for a in service(request).agents()]})

    @bp.post("/agents")
    @unit_of_work
    def add_agent(request: Request) -> HTTPResponse:
        admin = require_admin(request)
        agent, token = service(request).add_agent_as(admin, json_body(request))
        return reply({"agent": agent_json(agent), "token": token}, 201)

    @bp.post("/agents/<agent_id:str>/disable")
    @unit_of_work
    def disable_agent(request: Request, agent_id: str) -> HTTPResponse:
        admin = require_admin(request)
        agent = service(request).set_agent_active_as(admin, agent_id, active=False)
        return reply({"agent": agent_json(agent)})

    @bp.post("/agents/<agent_id:str>/enable")
    @unit_of_work
    def enable_agent(request: Request, agent_id: str) -> HTTPResponse:
        admin = require_admin(request)
        agent = service(request).set_agent_active_as(admin, agent_id, active=True)
        return reply({"agent": agent_json(agent)})

    @bp.post("/agents/<agent_id:str>/rotate")
    @unit_of_work
    def rotate_token(request: Request, agent_id: str) -> HTTPResponse:
        # An admin, or the agent for their own token (the service checks which).
        caller = require_agent(request)
        agent, token = service(request).rotate_token_as(caller, agent_id)
        return reply({"agent": agent_json(agent), "token": token})


def _ticket_routes(bp: Blueprint) -> None:
    @bp.get("/tickets/<ref:str>/notes")
    @unit_of_work
    def list_notes(request: Request, ref: str) -> HTTPResponse:
        require_agent(request)
        return reply({"notes": [note_json(n) for n in service(request).notes(ref)]})

    @bp.post("/tickets/<ref:str>/notes")
    @unit_of_work
    def add_note(request: Request, ref: str) -> HTTPResponse:
        agent = require_agent(request)
        note = service(request).add_note(ref, agent, json_body(request).get("text"))
        return reply(note_json(note), 201)

    @bp.put("/tickets/<ref:str>/tags")
    @unit_of_work
    def set_tags(request: Request, ref: str) -> HTTPResponse:
        agent = require_agent(request)
        tags = service(request).set_tags(ref, agent, json_body(request).get("tags"))
        return reply({"tags": tags})

    @bp.get("/tags")
    @unit_of_work
    def tags_in_use(request: Request) -> HTTPResponse:
        require_agent(request)
        used = service(request).tags_in_use()
        return reply({"tags": [{"tag": tag, "count": count} for tag, count in used]})

    @bp.post("/tickets/<ref:str>/unassign")
    @unit_of_work
    def unassign(request: Request, ref: str) -> HTTPResponse:
        agent = require_agent(request)
        return _ticket(request, service(request).unassign(ref, agent))

    @bp.post("/tickets/<ref:str>/transfer")
    @unit_of_work
    def transfer(request: Request, ref: str) -> HTTPResponse:
        agent = require_agent(request)
        target = json_body(request).get("agent")
        return _ticket(request, service(request).transfer(ref, agent, target))

    @bp.get("/search")
    @unit_of_work
    def search(request: Request) -> HTTPResponse:
        require_agent(request)
        found = service(request).search(request.args.get("q"))
        moment, sla = now(request), sla_targets(request)
        return reply({"tickets": [ticket_brief(t, moment, sla) for t in found]})

    @bp.post("/tickets/<ref:str>/typing")
    @unit_of_work
    def typing(request: Request, ref: str) -> HTTPResponse:
        agent = require_agent(request)
        ticket = service(request).typing_ticket(ref, agent)
        # Paced, not refused: the console may call on every key press.
        if rate_limits(request.app).typing_relay_due(ticket.id):
            activity(request).send(typing_activity(ticket.conversation_id, agent.name))
        return _no_content()


def _canned_routes(bp: Blueprint) -> None:
    @bp.get("/canned-replies")
    @unit_of_work
    def list_canned(request: Request) -> HTTPResponse:
        require_agent(request)
        replies = service(request).canned_replies(request.args.get("language"))
        return reply({"replies": [canned_reply_json(r) for r in replies]})

    @bp.post("/canned-replies")
    @unit_of_work
    def add_canned(request: Request) -> HTTPResponse:
        admin = require_admin(request)
        added = service(request).add_canned_reply(admin, json_body(request))
        return reply(canned_reply_json(added), 201)

    @bp.put("/canned-replies/<reply_id:str>")
    @unit_of_work
    def update_canned(request: Request, reply_id: str) -> HTTPResponse:
        admin = require_admin(request)
        updated = service(request).update_canned_reply(admin, reply_id, json_body(request))
        return reply(canned_reply_json(updated))

    @bp.delete("/canned-replies/<reply_id:str>")
    @unit_of_work
    def delete_canned(request: Request, reply_id: str) -> HTTPResponse:
        admin = require_admin(request)
        service(request).delete_canned_reply(admin, reply_id)
        return _no_content()


def _overview_routes(bp: Blueprint) -> None:
    queue_cache = _QueueCache()

    @bp.get("/config")
    @unit_of_work
    def config(request: Request) -> HTTPResponse:
        require_agent(request)
        sla = sla_targets(request)
        shared = console_config(sla)
        return reply(
            {
                "sla_minutes": {p: s // 60 for p, s in sla.as_seconds().items()},
                "at_risk_share": AT_RISK_SHARE,
                "categories": shared["categories"],
                "escalation_reasons": shared["escalationReasons"],
                "limits": {
                    "note_chars": NOTE_MAX,
                    "tags_per_ticket": TAGS_PER_TICKET,
                    "tag_chars": TAG_MAX,
                    "search_min_chars": SEARCH_MIN,
                    "search_max_chars": SEARCH_MAX,
                    "canned_text_chars": CANNED_TEXT_MAX,
                },
            }
        )

    @bp.get("/stats")
    @unit_of_work
    def stats(request: Request) -> HTTPResponse:
        require_admin(request)
        return reply(stats_json(service(request).stats(sla_targets(request))))

    @bp.get("/public/queue")
    @unit_of_work
    def public_queue(request: Request) -> HTTPResponse:
        count_anonymous_call(request)
        with queue_cache.lock:
            if queue_cache.body is None or time.monotonic() >= queue_cache.fresh_until:
                estimate = service(request).queue_estimate(sla_targets(request))
                queue_cache.body = queue_json(estimate)
                queue_cache.fresh_until = time.monotonic() + QUEUE_CACHE_S
            body = queue_cache.body
        return reply(body, headers={"Cache-Control": f"public, max-age={int(QUEUE_CACHE_S)}"})
