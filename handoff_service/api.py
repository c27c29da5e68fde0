"""HTTP edge of the service: parse requests, authenticate, call the services, map errors.

Bearer tokens: the assistant's bot token for the bot endpoints, a per-agent
token for the console endpoints. The bot's endpoints are scoped by
conversation: the bot never names a ticket by a reference, which could have
come from what a user typed. Domain exceptions become status codes here and
nowhere else. Text is returned exactly as stored (plain text, never HTML
escaped): escaping is the console's job, at the point where it renders.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import partial, wraps
from typing import Any

from sanic import Blueprint, Request, Sanic
from sanic.exceptions import PayloadTooLarge, SanicException
from sanic.response import HTTPResponse
from sanic.response import json as json_response
from sqlalchemy.exc import OperationalError

from handoff_service.db import ping
from handoff_service.mail.seen import mark_seen
from handoff_service.models import MAX_ROW_ID, Agent, Message, Ticket
from handoff_service.rate_limiting import rate_limits
from handoff_service.services import (
    Forbidden,
    HandoffService,
    RateLimited,
    TicketChange,
    TicketConflict,
    TicketNotFound,
    TicketQuota,
    Unauthorized,
    ValidationFailed,
    parse_filters,
    parse_time,
    waiting_seconds,
)
from support_core.rate_limits import client_address

logger = logging.getLogger(__name__)

_dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))

Handler = Callable[..., Awaitable[HTTPResponse]]
SyncHandler = Callable[..., HTTPResponse]


class BadJson(Exception):
    """The request body is not valid JSON."""


def _reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HTTPResponse:
    return json_response(body, status=status, headers=headers, dumps=_dumps)


def _error(
    status: int,
    code: str,
    detail: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> HTTPResponse:
    return _reply({"error": code, "field": field, "detail": detail, **extra}, status, headers)


# ---------------------------------------------------------------- serialisation


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _value(member: Any) -> Any:
    # Enum columns hand back members; a value set in this session may still be a str.
    return member.value if isinstance(member, Enum) else member


def ticket_brief(ticket: Ticket, now: datetime) -> dict[str, Any]:
    """The queue view of a ticket: what an agent needs to pick the next one."""
    return {
        "ref": ticket.ref,
        "conversation_id": ticket.conversation_id,
        "category": _value(ticket.category),
        "priority": _value(ticket.priority),
        "status": _value(ticket.status),
        "title": ticket.title,
        "language": _value(ticket.language),
        "assignee": ticket.assignee.name if ticket.assignee is not None else None,
        "created_at": _iso(ticket.created_at),
        "updated_at": _iso(ticket.updated_at),
        "first_agent_reply_at": _iso(ticket.first_agent_reply_at),
        "waiting_seconds": waiting_seconds(ticket, now),
    }


def ticket_full(ticket: Ticket, now: datetime) -> dict[str, Any]:
    """Every field of a ticket."""
    return {
        **ticket_brief(ticket, now),
        "description": ticket.description,
        "contact_email": ticket.contact_email,
        "tx_hash": ticket.tx_hash,
        "wallet_address": ticket.wallet_address,
        "chain": ticket.chain,
        "occurred_at_text": ticket.occurred_at_text,
        "occurred_at": _iso(ticket.occurred_at),
        "escalation_reason": _value(ticket.escalation_reason),
        "summary": ticket.summary,
        "resolved_at": _iso(ticket.resolved_at),
        "closed_at": _iso(ticket.closed_at),
        "csat": ticket.csat,
        "app_user_id": ticket.app_user_id,
    }


def message_json(message: Message) -> dict[str, Any]:
    """One transcript line."""
    return {
        "id": message.id,
        "author": _value(message.author),
        "author_name": message.author_name,
        "text": message.text,
        "created_at": _iso(message.created_at),
        "external_id": message.external_id,
    }


def agent_message_json(message: Message, ticket: Ticket) -> dict[str, Any]:
    """An agent's message as the bot fetches it to deliver it to the user."""
    body = message_json(message)
    del body["external_id"]
    body["ticket_ref"] = ticket.ref
    return body


def _change_json(change: TicketChange) -> dict[str, Any]:
    return {"ref": change.ref, "status": change.status, "updated_at": _iso(change.updated_at)}


# ---------------------------------------------------------------- request helpers


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


def _service(request: Request) -> HandoffService:
    return HandoffService(request.ctx.session, clock=request.app.ctx.clock)


def _now(request: Request) -> datetime:
    return request.app.ctx.clock()  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Caller:
    """Who sent the request: the bot (``agent`` is None) or an agent."""

    agent: Agent | None

    @property
    def is_bot(self) -> bool:
        """Whether the bot token was used."""
        return self.agent is None


# Tokens are visible ASCII (generated ones are URL-safe base64), at most 512
# characters; anything else is refused without a database look-up. Sanic
# decodes header bytes that are not UTF-8 to lone surrogates, which no
# encoder accepts.
_TOKEN_RE = re.compile(r"[\x21-\x7e]{1,512}", re.ASCII)


def _caller(request: Request) -> Caller:
    """Who is calling; every failed check counts against the client address.

    Raises:
        Unauthorized: no or unknown credentials.
        RateLimited: agent over its allowance, or this address failed too often.
    """
    try:
        caller = _authenticate(request)
    except Unauthorized:
        rate_limits(request.app).anonymous_call(client_address(request) or "unknown")
        raise
    if caller.agent is not None:
        rate_limits(request.app).agent_call(caller.agent.id)
    return caller


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
    return Caller(agent=_service(request).authenticate_agent(token))


def _require_bot(request: Request) -> None:
    if not _caller(request).is_bot:
        raise Forbidden("this endpoint takes the assistant's bot token, not an agent token")


def _require_agent(request: Request) -> Agent:
    caller = _caller(request)
    if caller.agent is None:
        raise Forbidden("this endpoint takes an agent token, not the bot token")
    return caller.agent


def _no_constants(name: str) -> Any:
    # Python accepts NaN and Infinity; JSON (and PostgreSQL's json type) does not.
    raise BadJson(f"the request body is not valid JSON: {name} is not a JSON value")


def _finite_float(text: str) -> float:
    # 1e400 would silently become infinity, which no JSON column can hold.
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise BadJson(f"the request body is not valid JSON: {text[:20]} is out of range")
    return value


# Deeper than any body of this API; deeper ones are refused before any code
# walks them recursively.
BODY_MAX_DEPTH = 32


def _depth_exceeds(data: Any, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return False


def _body(request: Request) -> dict[str, Any]:
    raw = request.body or b""
    if not raw.strip():
        raise BadJson("the request body is empty; send a JSON object")
    try:
        data = json.loads(raw, parse_constant=_no_constants, parse_float=_finite_float)
    except UnicodeDecodeError:
        raise BadJson("the request body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise BadJson(f"the request body is not valid JSON: {exc.msg} at {exc.pos}") from None
    except RecursionError:
        raise BadJson("the request body is nested too deeply") from None
    except ValueError:
        # e.g. an integer of more digits than Python converts (sys.set_int_max_str_digits).
        raise BadJson("the request body is not valid JSON: a number is out of range") from None
    if _depth_exceeds(data, BODY_MAX_DEPTH):
        raise BadJson(f"the request body is nested more than {BODY_MAX_DEPTH} deep")
    if not isinstance(data, dict):
        raise ValidationFailed("body", "the request body must be a JSON object")
    return data


def _int_arg(request: Request, name: str, default: int, low: int, high: int) -> int:
    value = _optional_int_arg(request, name, low, high)
    return default if value is None else value


_INT_RE = re.compile(r"-?[0-9]{1,12}", re.ASCII)
_PLUS_AS_SPACE_RE = re.compile(r" ([0-9]{2}:[0-9]{2})$", re.ASCII)


def _optional_int_arg(request: Request, name: str, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    # ASCII digits only: int() would also take "1_000", " 7" and other scripts' digits.
    if not _INT_RE.fullmatch(raw):
        raise ValidationFailed(name, f"{name} must be a whole number")
    value = int(raw)
    if not low <= value <= high:
        raise ValidationFailed(name, f"{name} must be between {low} and {high}")
    return value


def _time_arg(request: Request, name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    # An unencoded "+" of the zone offset arrives as a space in a query string.
    return parse_time(name, _PLUS_AS_SPACE_RE.sub(r"+\1", raw))


def _ticket_quota(request: Request) -> TicketQuota:
    return rate_limits(request.app).ticket


# ---------------------------------------------------------------- routes


def make_blueprint() -> Blueprint:
    """The JSON API under ``/api`` (a fresh blueprint per app)."""
    bp = Blueprint("handoff_api", url_prefix="/api")

    @bp.get("/health")
    async def health(request: Request) -> HTTPResponse:
        try:
            await asyncio.to_thread(ping, request.app.ctx.engine)
        except OperationalError as exc:
            logger.warning("health check: database unavailable (%s)", type(exc.orig).__name__)
            return _reply({"status": "degraded", "database": "unavailable"}, 503)
        return _reply({"status": "ok", "database": "ok"})

    # -- the bot (every route but ticket creation is scoped by conversation)

    @bp.post("/tickets")
    @unit_of_work
    def create_ticket(request: Request) -> HTTPResponse:
        _require_bot(request)
        payload = _body(request)
        ticket, created = _service(request).create_ticket(
            payload, request.headers.get("idempotency-key"), quota=_ticket_quota(request)
        )
        return _reply(ticket_full(ticket, _now(request)), 201 if created else 200)

    @bp.get("/conversations/<conversation_id:str>/ticket")
    @unit_of_work
    def conversation_ticket(request: Request, conversation_id: str) -> HTTPResponse:
        _require_bot(request)
        ticket = _service(request).conversation_ticket(conversation_id)
        return _reply(ticket_full(ticket, _now(request)))

    @bp.post("/conversations/<conversation_id:str>/user-messages")
    @unit_of_work
    def relay_user_message(request: Request, conversation_id: str) -> HTTPResponse:
        _require_bot(request)
        payload = _body(request)
        message, created = _service(request).add_user_message_for_conversation(
            conversation_id, payload.get("text"), payload.get("external_id")
        )
        return _reply(message_json(message), 201 if created else 200)

    @bp.post("/conversations/<conversation_id:str>/rating")
    @unit_of_work
    def rate(request: Request, conversation_id: str) -> HTTPResponse:
        _require_bot(request)
        payload = _body(request)
        ticket = _service(request).rate_conversation(conversation_id, payload.get("score"))
        return _reply(ticket_full(ticket, _now(request)))

    @bp.get("/conversations/<conversation_id:str>/messages/<message_id:str>")
    @unit_of_work
    def conversation_message(
        request: Request, conversation_id: str, message_id: str
    ) -> HTTPResponse:
        _require_bot(request)
        message, ticket = _service(request).conversation_agent_message(conversation_id, message_id)
        return _reply(agent_message_json(message, ticket))

    @bp.post("/conversations/<conversation_id:str>/seen")
    @unit_of_work
    def replies_seen(request: Request, conversation_id: str) -> HTTPResponse:
        # The widget showed these agent replies: they need no e-mail.
        _require_bot(request)
        try:
            seen = mark_seen(
                request.ctx.session,
                conversation_id,
                _body(request).get("message_ids"),
                _now(request),
            )
        except ValidationFailed as exc:
            return _error(400, "validation_failed", exc.detail, exc.field)
        return _reply({"seen": seen})

    # -- agents

    @bp.get("/tickets")
    @unit_of_work
    def list_tickets(request: Request) -> HTTPResponse:
        _require_agent(request)
        settings = request.app.ctx.settings
        filters = parse_filters(
            status=request.args.get("status"),
            category=request.args.get("category"),
            priority=request.args.get("priority"),
            language=request.args.get("language"),
        )
        limit = _int_arg(request, "limit", settings.default_page_size, 1, settings.max_page_size)
        page = _service(request).list_tickets(filters, limit, request.args.get("cursor"))
        now = _now(request)
        return _reply(
            {
                "tickets": [ticket_brief(t, now) for t in page.tickets],
                "next_cursor": page.next_cursor,
            }
        )

    @bp.get("/tickets/<ref:str>")
    @unit_of_work
    def get_ticket(request: Request, ref: str) -> HTTPResponse:
        _require_agent(request)
        service = _service(request)
        ticket = service.get_ticket(ref)
        body = ticket_full(ticket, _now(request))
        body["messages"] = [message_json(m) for m in service.messages(ref)]
        return _reply(body)

    @bp.get("/tickets/<ref:str>/messages")
    @unit_of_work
    def poll_messages(request: Request, ref: str) -> HTTPResponse:
        _require_agent(request)
        settings = request.app.ctx.settings
        after_id = _optional_int_arg(request, "after_id", 0, MAX_ROW_ID)
        limit = _int_arg(
            request, "limit", settings.max_messages_page, 1, settings.max_messages_page
        )
        messages = _service(request).messages(ref, after_id, limit)
        return _reply({"messages": [message_json(m) for m in messages]})

    @bp.post("/tickets/<ref:str>/claim")
    @unit_of_work
    def claim(request: Request, ref: str) -> HTTPResponse:
        agent = _require_agent(request)
        ticket, _newly = _service(request).claim(ref, agent)
        return _reply(ticket_full(ticket, _now(request)))

    @bp.post("/tickets/<ref:str>/messages")
    @unit_of_work
    def agent_message(request: Request, ref: str) -> HTTPResponse:
        agent = _require_agent(request)
        payload = _body(request)
        message = _service(request).add_agent_message(ref, agent, payload.get("text"))
        return _reply(message_json(message), 201)

    @bp.post("/tickets/<ref:str>/resolve")
    @unit_of_work
    def resolve(request: Request, ref: str) -> HTTPResponse:
        agent = _require_agent(request)
        ticket = _service(request).resolve(ref, agent)
        return _reply(ticket_full(ticket, _now(request)))

    @bp.post("/tickets/<ref:str>/close")
    @unit_of_work
    def close(request: Request, ref: str) -> HTTPResponse:
        agent = _require_agent(request)
        ticket = _service(request).close(ref, agent)
        return _reply(ticket_full(ticket, _now(request)))

    @bp.get("/me")
    @unit_of_work
    def me(request: Request) -> HTTPResponse:
        agent = _require_agent(request)
        return _reply({"name": agent.name})

    @bp.get("/events")
    @unit_of_work
    def events(request: Request) -> HTTPResponse:
        _require_agent(request)
        after = _time_arg(request, "after")
        changes = _service(request).changes_since(after)
        cursor = changes[-1].updated_at if changes else after
        return _reply({"changes": [_change_json(c) for c in changes], "cursor": _iso(cursor)})

    return bp


# ---------------------------------------------------------------- CORS

API_PREFIX = "/api/"
CORS_ALLOW_METHODS = "GET, POST"
CORS_ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key"
CORS_MAX_AGE_S = 600


def register_cors(app: Sanic, origins: tuple[str, ...]) -> None:
    """Let pages of ``origins`` (exact matches, never ``*``) call the API from a browser.

    With no origins, browsers allow same-origin calls only (the console
    served here). Credentials are bearer tokens in a header, never cookies,
    so no Access-Control-Allow-Credentials.
    """
    allowed = frozenset(origins)

    def grant(origin: str | None) -> dict[str, str]:
        if origin is None or origin not in allowed:
            return {}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": "Retry-After",
        }

    @app.on_request
    async def cors_preflight(request: Request) -> HTTPResponse | None:
        # Also reached when routing refused OPTIONS: Sanic runs request
        # middleware before it turns that 405 into a response.
        if request.method != "OPTIONS" or not request.path.startswith(API_PREFIX):
            return None
        origin = request.headers.get("origin")
        if origin is None:
            return None
        if origin not in allowed:
            return _error(403, "origin_not_allowed", "this origin may not call the API", "Origin")
        return HTTPResponse(
            status=204,
            headers={
                **grant(origin),
                "Access-Control-Allow-Methods": CORS_ALLOW_METHODS,
                "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
                "Access-Control-Max-Age": str(CORS_MAX_AGE_S),
            },
        )

    @app.on_response
    async def cors_headers(request: Request, response: HTTPResponse) -> None:
        if not request.path.startswith(API_PREFIX):
            return
        if allowed:
            # Caches must not hand one origin's answer to another.
            response.headers["Vary"] = "Origin"
        for key, value in grant(request.headers.get("origin")).items():
            response.headers[key] = value


# ---------------------------------------------------------------- errors


def register_error_handlers(app: Sanic) -> None:
    """Map domain and framework exceptions to JSON error responses."""

    @app.exception(ValidationFailed)
    async def validation_failed(_request: Request, exc: ValidationFailed) -> HTTPResponse:
        return _error(422, "validation_failed", exc.detail, exc.field)

    @app.exception(Unauthorized)
    async def unauthorized(_request: Request, exc: Unauthorized) -> HTTPResponse:
        return _error(401, "unauthorized", exc.detail, headers={"WWW-Authenticate": "Bearer"})

    @app.exception(RateLimited)
    async def rate_limited(_request: Request, exc: RateLimited) -> HTTPResponse:
        return _error(
            429,
            "rate_limited",
            exc.detail,
            headers={"Retry-After": str(exc.retry_after)},
            retry_after=exc.retry_after,
        )

    @app.exception(Forbidden)
    async def forbidden(_request: Request, exc: Forbidden) -> HTTPResponse:
        return _error(403, "forbidden", exc.detail)

    @app.exception(TicketNotFound)
    async def not_found(_request: Request, exc: TicketNotFound) -> HTTPResponse:
        return _error(404, "not_found", exc.detail)

    @app.exception(TicketConflict)
    async def conflict(_request: Request, exc: TicketConflict) -> HTTPResponse:
        return _error(409, exc.code, exc.detail)

    @app.exception(BadJson)
    async def bad_json(_request: Request, exc: BadJson) -> HTTPResponse:
        return _error(400, "bad_json", str(exc))

    @app.exception(PayloadTooLarge)
    async def too_large(request: Request, _exc: PayloadTooLarge) -> HTTPResponse:
        limit = request.app.ctx.settings.max_body_bytes
        return _error(413, "body_too_large", f"the request body is over {limit} bytes")

    @app.exception(OperationalError)
    async def database_down(_request: Request, exc: OperationalError) -> HTTPResponse:
        # The driver's message only; the statement and its parameters (user
        # text) are never logged.
        logger.error("database unavailable: %s", exc.orig)
        return _error(503, "database_unavailable", "the ticket database is unavailable; retry")

    @app.exception(SanicException)
    async def http_error(_request: Request, exc: SanicException) -> HTTPResponse:
        status = int(getattr(exc, "status_code", 500) or 500)
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(
            status, "http_error"
        )
        return _error(status, code, str(exc))

    @app.on_response
    async def security_headers(_request: Request, response: HTTPResponse) -> None:
        # API responses are data, never pages: no sniffing, no caching.
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cache-Control", "no-store")
