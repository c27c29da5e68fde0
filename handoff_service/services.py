"""The rules of the handoff service: validation, redaction, transitions, idempotency, audit.

Each public method of :class:`HandoffService` is one unit of work: it commits
on success and raises a domain exception (never an HTTP one) otherwise. The
API maps those exceptions to status codes.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff_service import notification_outbox
from handoff_service import repository as repo
from handoff_service.mail.scheduling import queue_ticket_confirmation
from handoff_service.models import (
    MAX_ROW_ID,
    Agent,
    Author,
    Category,
    EscalationReason,
    Language,
    Message,
    Priority,
    Ticket,
    TicketStatus,
    ticket_id_from_ref,
    utc_now,
)
from handoff_service.notification_outbox import NOTIFICATIONS_QUEUED
from handoff_service.notifier import AGENT_JOINED, AGENT_MESSAGE, TICKET_RESOLVED
from handoff_service.notifier import TICKET_CREATED as CHAT_TICKET_CREATED
from handoff_service.repository import NewAuditEvent, NewMessage, QueueKey, TicketFilters
from support_core.identifiers import is_conversation_id
from support_core.secret_guard import redact

logger = logging.getLogger(__name__)

TITLE_MAX = 120
DESCRIPTION_MAX = 4000
MESSAGE_MAX = 4000
TRANSCRIPT_MAX_ITEMS = 500
SUMMARY_MAX_BYTES = 32 * 1024
SUMMARY_MAX_DEPTH = 16
IDEMPOTENCY_KEY_MAX = 200
EXTERNAL_ID_MAX = 200
APP_USER_ID_MAX = 128
AGENT_NAME_MAX = 64
EVENTS_PAGE = 100

BOT_ACTOR = "bot"
TICKET_CREATED = "ticket_created"
SYSTEM_ACTOR = "system"

# ---------------------------------------------------------------- exceptions


class HandoffError(Exception):
    """Base of the domain errors; ``detail`` is safe to show to the client."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class TicketNotFound(HandoffError):
    """No ticket (or conversation ticket) with that reference."""


class TicketConflict(HandoffError):
    """The request clashes with the ticket's state; ``code`` says how."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class ValidationFailed(HandoffError):
    """A field of the input is missing or malformed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Unauthorized(HandoffError):
    """No valid credentials."""


class Forbidden(HandoffError):
    """Valid credentials of the wrong kind (the bot calling an agent endpoint, or back)."""


class RateLimited(HandoffError):
    """Too many requests of one kind from one party; try again in ``retry_after`` seconds."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


# Admits one more ticket for a conversation, or raises RateLimited.
TicketQuota = Callable[[str], None]


# ---------------------------------------------------------------- rules

# The only place that says which status may follow which. assigned -> assigned
# is a repeated claim, allowed for the same agent only (checked in ``claim``).
TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.OPEN: frozenset({TicketStatus.ASSIGNED}),
    TicketStatus.ASSIGNED: frozenset({TicketStatus.ASSIGNED, TicketStatus.RESOLVED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}

_CATEGORY_PRIORITY = {Category.SECURITY: Priority.URGENT, Category.ASSETS: Priority.HIGH}


def can_transition(current: TicketStatus, target: TicketStatus) -> bool:
    """Whether a ticket in ``current`` may move to ``target``."""
    return target in TRANSITIONS[current]


def ensure_transition(ticket: Ticket, target: TicketStatus) -> None:
    """Raise :class:`TicketConflict` unless ``ticket`` may move to ``target``."""
    current = TicketStatus(ticket.status)
    if not can_transition(current, target):
        raise TicketConflict(
            "transition_not_allowed",
            f"ticket {ticket.ref} is {current.value} and cannot become {target.value}",
        )


def priority_for(category: Category, reason: EscalationReason | None = None) -> Priority:
    """Security is urgent, lost or stuck assets are high, everything else normal.

    A security escalation is urgent whatever category the form ended up with.
    """
    if reason is EscalationReason.SECURITY:
        return Priority.URGENT
    return _CATEGORY_PRIORITY.get(category, Priority.NORMAL)


def _log_action(ticket: Ticket | None, action: str, actor: str) -> None:
    # The log line of every audited action; never any field the user wrote.
    logger.info("ticket %s: %s by %s", ticket.ref if ticket is not None else "-", action, actor)


def waiting_seconds(ticket: Ticket, now: datetime) -> int:
    """The SLA clock: seconds from creation until the first agent reply (still running if none)."""
    end = ticket.first_agent_reply_at or ticket.resolved_at or ticket.closed_at or now
    return max(0, int((end - ticket.created_at).total_seconds()))


def hash_token(token: str) -> str:
    """SHA-256 of an agent token, the only form in which tokens are stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- input cleaning

_EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_AGENT_NAME_RE = re.compile(r"^[^\W_][\w .\-]*$")
_E = TypeVar("_E", bound=enum.Enum)


# Unicode categories Cc (C0, DEL, C1) and Cs (lone surrogates), minus tab and line feed.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _strip_controls(text: str) -> str:
    # NUL and lone surrogates are refused by PostgreSQL and by UTF-8 encoders;
    # other control characters only break consoles. Line breaks and tabs stay.
    return _CONTROL_RE.sub("", text)


def _redacted(text: str, *, expecting_tx_hash: bool = False) -> tuple[str, bool]:
    result = redact(text, expecting_tx_hash=expecting_tx_hash)
    return result.text, result.found


class _Cleaner:
    """Validates and redacts the fields of one request, remembering which held a secret."""

    def __init__(self) -> None:
        self.redacted_fields: list[str] = []

    def required(self, data: Mapping[str, Any], name: str, *, max_len: int) -> str:
        value = self.optional(data, name, max_len=max_len)
        if value is None:
            raise ValidationFailed(name, f"{name} is required and must not be empty")
        return value

    def optional(
        self,
        data: Mapping[str, Any],
        name: str,
        *,
        max_len: int,
        expecting_tx_hash: bool = False,
    ) -> str | None:
        raw = data.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if not isinstance(raw, str):
            raise ValidationFailed(name, f"{name} must be a string")
        value = _strip_controls(raw).strip()
        if not value:
            raise ValidationFailed(name, f"{name} must contain visible characters")
        if len(value) > max_len:
            raise ValidationFailed(
                name, f"{name} is {len(value)} characters long; the limit is {max_len}"
            )
        return self.redact(name, value, expecting_tx_hash=expecting_tx_hash)

    def redact(self, name: str, value: str, *, expecting_tx_hash: bool = False) -> str:
        clean, found = _redacted(value, expecting_tx_hash=expecting_tx_hash)
        if found and name not in self.redacted_fields:
            self.redacted_fields.append(name)
        return clean

    def json_value(self, name: str, value: Any, key: str = "", depth: int = 0) -> Any:
        """Redact every string of a JSON value; keys naming a hash keep 64-hex values."""
        if depth > SUMMARY_MAX_DEPTH:
            raise ValidationFailed(name, f"{name} is nested more than {SUMMARY_MAX_DEPTH} deep")
        if isinstance(value, str):
            hashy = "hash" in key.lower() or "txid" in key.lower()
            return self.redact(name, _strip_controls(value), expecting_tx_hash=hashy)
        if isinstance(value, Mapping):
            return {
                self.redact(name, _strip_controls(str(k))): self.json_value(
                    name, v, str(k), depth + 1
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.json_value(name, item, key, depth + 1) for item in value]
        if value is None or isinstance(value, (bool, int, float)):
            return value
        raise ValidationFailed(name, f"{name} may only hold JSON values")


def _required_enum(enum_cls: type[_E], name: str, raw: Any) -> _E:
    value = _enum_value(enum_cls, name, raw)
    if value is None:
        raise ValidationFailed(name, f"{name} is required")
    return value


def _enum_value(enum_cls: type[_E], name: str, raw: Any) -> _E | None:
    if raw is None or raw == "":
        return None
    allowed = [m.value for m in enum_cls]
    if not isinstance(raw, str) or raw not in allowed:
        raise ValidationFailed(name, f"{name} must be one of: {', '.join(allowed)}")
    return enum_cls(raw)


# ISO 8601 as datetime.fromisoformat reads it, in ASCII digits only (int()
# would also take other scripts' digits); the zone is checked separately so
# that a missing one gets its own message.
_ISO_TIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?"
    r"(?P<zone>[Zz]|[+-][0-9]{2}:[0-9]{2})?"
)
TIME_MAX_CHARS = 40
# Every time the service stores or compares lies in this window: the
# conversion to UTC cannot overflow, and every dialect stores it as it is.
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=timezone.utc)


def parse_time(name: str, raw: Any) -> datetime | None:
    """An aware UTC datetime from an ISO 8601 string with a zone; ``None`` for no value.

    The service's only time parser: bodies, query arguments and cursors.

    Raises:
        ValidationFailed: not a string, not ISO 8601, no zone, or outside 1970-2099 UTC.
    """
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise ValidationFailed(name, f"{name} must be an ISO 8601 date-time string")
    match = _ISO_TIME_RE.fullmatch(raw) if len(raw) <= TIME_MAX_CHARS else None
    if match is None:
        raise ValidationFailed(
            name, f"{name} is not an ISO 8601 date-time such as 2025-11-24T21:00:00+08:00"
        )
    if match.group("zone") is None:
        raise ValidationFailed(name, f"{name} needs a time zone offset (e.g. Z or +08:00)")
    text = raw[:-1] + "+00:00" if match.group("zone") in ("Z", "z") else raw
    try:
        # Near the ends of the calendar, the shift to UTC overflows.
        value = datetime.fromisoformat(text).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise ValidationFailed(name, f"{name} is not a valid date and time") from None
    if not EARLIEST_TIME <= value < LATEST_TIME:
        raise ValidationFailed(name, f"{name} must lie between 1970 and 2099")
    return value


def _time_in_text(raw: str | None) -> datetime | None:
    # What the user typed is kept as text; an ISO value is also stored parsed.
    # Free text ("yesterday 9 pm") is parsed by the bot, which sends occurred_at.
    try:
        return parse_time("occurred_at_text", raw)
    except ValidationFailed:
        return None


_ROW_ID_RE = re.compile(r"[0-9]{1,10}", re.ASCII)


def parse_conversation_id(raw: Any, name: str = "conversation_id") -> str:
    """A conversation id in the channel's safe alphabet (``[A-Za-z0-9_-]``, 1-64 characters).

    Raises:
        ValidationFailed: anything else.
    """
    if not is_conversation_id(raw):
        raise ValidationFailed(
            name, f"{name} must be 1-64 characters of A-Z, a-z, 0-9, '_' and '-'"
        )
    return raw


def parse_row_id(name: str, raw: Any) -> int:
    """A row id given as text (a path segment or query argument): 1 to 2**31 - 1.

    Raises:
        ValidationFailed: not ASCII digits, or out of that range.
    """
    if isinstance(raw, str) and _ROW_ID_RE.fullmatch(raw) and 1 <= int(raw) <= MAX_ROW_ID:
        return int(raw)
    raise ValidationFailed(name, f"{name} must be a whole number from 1 to {MAX_ROW_ID}")


def _app_user_id(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not 1 <= len(raw) <= APP_USER_ID_MAX or not raw.isprintable():
        raise ValidationFailed(
            "app_user_id",
            f"app_user_id must be a string of 1-{APP_USER_ID_MAX} printable characters",
        )
    return raw


def _short_id(name: str, raw: Any, max_len: int) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not raw.isprintable() or raw != raw.strip():
        raise ValidationFailed(name, f"{name} must be a printable string without edge spaces")
    if len(raw) > max_len:
        raise ValidationFailed(name, f"{name} is longer than {max_len} characters")
    return raw


@dataclass(frozen=True)
class TranscriptItem:
    """One earlier line of the conversation sent with a new ticket."""

    author: Author
    text: str
    at: datetime | None


@dataclass(frozen=True)
class TicketDraft:
    """A validated, redacted request to open a ticket."""

    conversation_id: str
    category: Category
    title: str
    description: str
    language: Language
    escalation_reason: EscalationReason
    contact_email: str | None = None
    tx_hash: str | None = None
    wallet_address: str | None = None
    chain: str | None = None
    occurred_at_text: str | None = None
    occurred_at: datetime | None = None
    summary: dict[str, Any] | None = None
    transcript: tuple[TranscriptItem, ...] = ()
    app_user_id: str | None = None
    redacted_fields: tuple[str, ...] = field(default_factory=tuple)


def parse_ticket_draft(payload: Mapping[str, Any]) -> TicketDraft:
    """Validate and redact a ticket creation payload.

    Raises:
        ValidationFailed: the first field that is missing or malformed.
    """
    clean = _Cleaner()
    conversation_id = parse_conversation_id(payload.get("conversation_id"))
    category = _required_enum(Category, "category", payload.get("category"))
    language = _required_enum(Language, "language", payload.get("language"))
    reason = _required_enum(EscalationReason, "escalation_reason", payload.get("escalation_reason"))
    title = clean.required(payload, "title", max_len=TITLE_MAX)
    description = clean.required(payload, "description", max_len=DESCRIPTION_MAX)
    email = clean.optional(payload, "contact_email", max_len=254)
    if email is not None and not _EMAIL_RE.match(email):
        raise ValidationFailed(
            "contact_email", "contact_email does not look like an e-mail address"
        )
    tx_hash = clean.optional(payload, "tx_hash", max_len=128, expecting_tx_hash=True)
    address = clean.optional(payload, "wallet_address", max_len=128)
    chain = clean.optional(payload, "chain", max_len=32)
    occurred_text = clean.optional(payload, "occurred_at_text", max_len=200)
    occurred_at = parse_time("occurred_at", payload.get("occurred_at")) or _time_in_text(
        occurred_text
    )
    summary = _parse_summary(clean, payload.get("summary"))
    transcript = _parse_transcript(clean, payload.get("transcript"))
    app_user_id = _app_user_id(payload.get("app_user_id"))
    return TicketDraft(
        conversation_id=conversation_id,
        category=category,
        title=title,
        description=description,
        language=language,
        escalation_reason=reason,
        contact_email=email,
        tx_hash=tx_hash,
        wallet_address=address,
        chain=chain,
        occurred_at_text=occurred_text,
        occurred_at=occurred_at,
        summary=summary,
        transcript=transcript,
        app_user_id=app_user_id,
        redacted_fields=tuple(clean.redacted_fields),
    )


def _parse_summary(clean: _Cleaner, raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ValidationFailed("summary", "summary must be a JSON object")
    try:
        size = len(json.dumps(raw, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError):
        raise ValidationFailed("summary", "summary may only hold JSON values") from None
    if size > SUMMARY_MAX_BYTES:
        raise ValidationFailed(
            "summary", f"summary is {size} bytes as JSON; the limit is {SUMMARY_MAX_BYTES}"
        )
    return clean.json_value("summary", raw)  # type: ignore[no-any-return]


def _parse_transcript(clean: _Cleaner, raw: Any) -> tuple[TranscriptItem, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValidationFailed("transcript", "transcript must be a list")
    if len(raw) > TRANSCRIPT_MAX_ITEMS:
        raise ValidationFailed(
            "transcript",
            f"transcript has {len(raw)} items; the limit is {TRANSCRIPT_MAX_ITEMS}",
        )
    items = []
    for index, item in enumerate(raw):
        where = f"transcript[{index}]"
        if not isinstance(item, Mapping):
            raise ValidationFailed(where, f"{where} must be an object")
        author = _enum_value(Author, f"{where}.author", item.get("author"))
        if author not in (Author.USER, Author.BOT):
            raise ValidationFailed(f"{where}.author", f"{where}.author must be user or bot")
        try:
            text = clean.required(item, "text", max_len=MESSAGE_MAX)
        except ValidationFailed as exc:
            raise ValidationFailed(f"{where}.text", f"{where}.{exc.detail}") from None
        at = parse_time(f"{where}.at", item.get("at"))
        items.append(TranscriptItem(author, text, at))
    if "text" in clean.redacted_fields:
        clean.redacted_fields[clean.redacted_fields.index("text")] = "transcript"
    return tuple(items)


def parse_message_text(raw: Any) -> tuple[str, bool]:
    """Validate and redact one chat message; returns the text and whether a secret was removed."""
    clean = _Cleaner()
    text = clean.required({"text": raw}, "text", max_len=MESSAGE_MAX)
    return text, bool(clean.redacted_fields)


def parse_filters(
    *,
    status: str | None = None,
    category: str | None = None,
    priority: str | None = None,
    language: str | None = None,
) -> TicketFilters:
    """Queue filters from query-string values."""
    return TicketFilters(
        status=_enum_value(TicketStatus, "status", status),
        category=_enum_value(Category, "category", category),
        priority=_enum_value(Priority, "priority", priority),
        language=_enum_value(Language, "language", language),
    )


def encode_cursor(key: QueueKey) -> str:
    """An opaque cursor for the page after ``key``."""
    raw = json.dumps([key.priority_rank, key.created_at.isoformat(), key.ticket_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


CURSOR_MAX_CHARS = 200


def decode_cursor(cursor: str) -> QueueKey:
    """The queue position a cursor from :func:`encode_cursor` stands for.

    Raises:
        ValidationFailed: anything :func:`encode_cursor` cannot have produced.
    """
    refused = ValidationFailed("cursor", "cursor is not one this service handed out")
    if not isinstance(cursor, str) or len(cursor) > CURSOR_MAX_CHARS:
        raise refused
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error):
        raise refused from None
    if not isinstance(decoded, list) or len(decoded) != 3:
        raise refused
    rank, created, ticket_id = decoded
    ranks = {p.rank for p in Priority}
    if type(rank) is not int or rank not in ranks:
        raise refused
    if type(ticket_id) is not int or not 1 <= ticket_id <= MAX_ROW_ID:
        raise refused
    try:
        created_at = parse_time("cursor", created)
    except ValidationFailed:
        raise refused from None
    if created_at is None:
        raise refused
    return QueueKey(rank, created_at, ticket_id)


@dataclass(frozen=True)
class TicketPage:
    """One page of the queue and the cursor of the next (``None`` on the last page)."""

    tickets: list[Ticket]
    next_cursor: str | None


@dataclass(frozen=True)
class TicketChange:
    """A ticket that changed, for the console's cheap polling."""

    ref: str
    status: str
    updated_at: datetime


# ---------------------------------------------------------------- the service


class HandoffService:
    """The use cases of the handoff service on one session (one unit of work per call)."""

    def __init__(self, session: Session, clock: Callable[[], datetime] = utc_now) -> None:
        """Work on ``session``; ``clock`` gives the current aware UTC time (tests fix it)."""
        self.session = session
        self.clock = clock

    # -- helpers

    def _ticket(self, ref: str) -> Ticket:
        ticket_id = ticket_id_from_ref(ref) if isinstance(ref, str) else None
        if ticket_id is None:
            raise TicketNotFound(f"no ticket {str(ref)[:20]!r}")
        ticket = repo.get_ticket_by_id(self.session, ticket_id)
        if ticket is None:
            raise TicketNotFound(f"no ticket {ref}")
        return ticket

    def _audit(self, ticket: Ticket | None, actor: str, action: str, **detail: Any) -> None:
        repo.add_audit(
            self.session,
            ticket_id=ticket.id if ticket is not None else None,
            actor=actor,
            action=action,
            detail=detail or None,
            at=self.clock(),
        )
        _log_action(ticket, action, actor)

    # -- tickets

    def create_ticket(
        self,
        payload: Mapping[str, Any],
        idempotency_key: str | None = None,
        quota: TicketQuota | None = None,
    ) -> tuple[Ticket, bool]:
        """Open a ticket; returns ``(ticket, created)``.

        The same idempotency key gives back the same ticket; a conversation that
        already has an open ticket gets that one back (``created`` is false) and
        never a second one. ``quota`` is asked only for a ticket that is really
        being created, so a replay never uses up the conversation's allowance.

        Raises:
            ValidationFailed: the payload or the key is malformed.
            TicketConflict: the key was used for another conversation.
            RateLimited: ``quota`` refused a new ticket for this conversation.
        """
        key = _short_id("Idempotency-Key", idempotency_key, IDEMPOTENCY_KEY_MAX)
        draft = parse_ticket_draft(payload)
        try:
            # Insert first, look up only when a unique index refuses the row
            # (the same key, or the conversation's active ticket): replays
            # are rare, and a look-up first would cost every ticket a query
            # and still leave the race to the indexes.
            ticket = self._insert_ticket(draft, key)
            if quota is not None:
                quota(draft.conversation_id)
            if payload.get("delivered_late") is True:
                # The bot queued this ticket while the service was down and told
                # the user so; the chat now gets the reference (the bot reads it
                # from the conversation's ticket).
                self._notify_chat(ticket, CHAT_TICKET_CREATED)
            queue_ticket_confirmation(self.session, ticket, self.clock())
            self.session.commit()
        except IntegrityError:
            # This unit of work holds nothing else, so roll it all back.
            self.session.rollback()
            existing = self._existing_ticket(draft.conversation_id, key)
            if existing is None:
                raise
            return existing, False
        except RateLimited:
            self.session.rollback()
            raise
        # The audit event went in with the ticket; only the log line is left.
        _log_action(ticket, TICKET_CREATED, BOT_ACTOR)
        if draft.redacted_fields:
            logger.info("ticket %s: secrets redacted in %s", ticket.ref, draft.redacted_fields)
        return ticket, True

    def _existing_ticket(self, conversation_id: str, key: str | None) -> Ticket | None:
        by_key, active = repo.find_replay_or_active(self.session, conversation_id, key)
        if by_key is not None:
            if by_key.conversation_id != conversation_id:
                raise TicketConflict(
                    "idempotency_key_reused",
                    "this Idempotency-Key was already used for another conversation",
                )
            return by_key
        return active

    def _insert_ticket(self, draft: TicketDraft, key: str | None) -> Ticket:
        now = self.clock()
        priority = priority_for(draft.category, draft.escalation_reason)
        ticket = repo.insert_ticket(
            self.session,
            {
                "conversation_id": draft.conversation_id,
                "category": draft.category,
                "priority": priority,
                "priority_rank": priority.rank,
                "status": TicketStatus.OPEN,
                "title": draft.title,
                "description": draft.description,
                "language": draft.language,
                "contact_email": draft.contact_email,
                "tx_hash": draft.tx_hash,
                "wallet_address": draft.wallet_address,
                "chain": draft.chain,
                "occurred_at_text": draft.occurred_at_text,
                "occurred_at": draft.occurred_at,
                "escalation_reason": draft.escalation_reason,
                "summary": draft.summary,
                "created_at": now,
                "updated_at": now,
                "idempotency_key": key,
                "app_user_id": draft.app_user_id,
            },
            [NewMessage(item.author, item.text, item.at or now) for item in draft.transcript],
            NewAuditEvent(
                actor=BOT_ACTOR,
                action=TICKET_CREATED,
                detail={
                    "category": draft.category.value,
                    "priority": priority.value,
                    "escalation_reason": draft.escalation_reason.value,
                    "transcript_items": len(draft.transcript),
                    "redacted_fields": list(draft.redacted_fields),
                },
                created_at=now,
            ),
        )
        return ticket

    def get_ticket(self, ref: str) -> Ticket:
        """The ticket ``ref``.

        Raises:
            TicketNotFound: no such ticket.
        """
        return self._ticket(ref)

    def conversation_ticket(self, conversation_id: str) -> Ticket:
        """The conversation's open/assigned ticket, or else its latest one.

        Raises:
            ValidationFailed: the conversation id is malformed.
            TicketNotFound: the conversation never had a ticket.
        """
        cid = parse_conversation_id(conversation_id)
        ticket = repo.get_active_ticket(self.session, cid) or repo.get_latest_ticket(
            self.session, cid
        )
        if ticket is None:
            raise TicketNotFound("this conversation has no ticket")
        return ticket

    def list_tickets(
        self, filters: TicketFilters, limit: int, cursor: str | None = None
    ) -> TicketPage:
        """One page of the queue, urgent first and then oldest first."""
        after = decode_cursor(cursor) if cursor else None
        rows = repo.list_tickets(self.session, filters, limit + 1, after)
        tickets, more = rows[:limit], len(rows) > limit
        next_cursor = encode_cursor(repo.queue_key(tickets[-1])) if more and tickets else None
        return TicketPage(tickets, next_cursor)

    def messages(
        self, ref: str, after_id: int | None = None, limit: int | None = None
    ) -> list[Message]:
        """The ticket's messages, optionally only those newer than ``after_id``."""
        ticket = self._ticket(ref)
        return repo.list_messages(self.session, ticket.id, after_id, limit)

    def changes_since(self, after: datetime | None, limit: int = EVENTS_PAGE) -> list[TicketChange]:
        """Tickets updated after ``after``, oldest change first."""
        return [
            TicketChange(t.ref, TicketStatus(t.status).value, t.updated_at)
            for t in repo.changed_tickets(self.session, after, limit)
        ]

    # -- agent actions

    def claim(self, ref: str, agent: Agent) -> tuple[Ticket, bool]:
        """Assign the ticket to ``agent``; returns ``(ticket, newly_claimed)``.

        Claiming again by the same agent is a no-op.

        Raises:
            TicketNotFound: no such ticket.
            TicketConflict: another agent has it, or it is no longer open.
        """
        ticket = self._ticket(ref)
        ensure_transition(ticket, TicketStatus.ASSIGNED)
        if ticket.status == TicketStatus.ASSIGNED:
            if ticket.assignee_id == agent.id:
                return ticket, False
            raise TicketConflict("claimed_by_another_agent", f"ticket {ref} has another agent")
        now = self.clock()
        won = repo.transition_ticket(
            self.session,
            ticket.id,
            from_status=TicketStatus.OPEN,
            values={"status": TicketStatus.ASSIGNED, "assignee_id": agent.id, "updated_at": now},
        )
        if not won:
            self.session.rollback()
            raise TicketConflict("claimed_by_another_agent", f"ticket {ref} has another agent")
        self._audit(ticket, agent.name, "ticket_claimed")
        self._notify_chat(ticket, AGENT_JOINED)
        self.session.commit()
        return ticket, True

    def _assigned_to(self, ref: str, agent: Agent) -> Ticket:
        ticket = self._ticket(ref)
        if ticket.status != TicketStatus.ASSIGNED:
            raise TicketConflict(
                "ticket_not_assigned",
                f"ticket {ref} is {TicketStatus(ticket.status).value}; claim it first",
            )
        if ticket.assignee_id != agent.id:
            raise TicketConflict("not_assignee", f"ticket {ref} is assigned to another agent")
        return ticket

    def add_agent_message(self, ref: str, agent: Agent, text: Any) -> Message:
        """Store the assignee's reply; the first one stops the SLA clock.

        Raises:
            ValidationFailed: empty or too long text.
            TicketNotFound: no such ticket.
            TicketConflict: the caller is not the assignee, or the ticket is not assigned.
        """
        clean_text, redacted = parse_message_text(text)
        ticket = self._assigned_to(ref, agent)
        now = self.clock()
        message = repo.add_message(
            self.session,
            Message(
                ticket_id=ticket.id,
                author=Author.AGENT,
                author_name=agent.name,
                text=clean_text,
                created_at=now,
            ),
        )
        ticket.updated_at = now
        if ticket.first_agent_reply_at is None:
            ticket.first_agent_reply_at = now
            self._audit(ticket, agent.name, "first_agent_reply")
        self._audit(ticket, agent.name, "agent_message", message_id=message.id, redacted=redacted)
        # Only the id: the bot fetches the text from this service, so no text
        # travels through Rasa's event stream where a user could forge it.
        self._notify_chat(ticket, AGENT_MESSAGE, message_id=message.id)
        self.session.commit()
        return message

    def resolve(self, ref: str, agent: Agent) -> Ticket:
        """Mark the ticket resolved (assignee only); the bot takes the chat back.

        Raises:
            TicketNotFound: no such ticket.
            TicketConflict: not the assignee, or the ticket is not assigned.
        """
        return self._assignee_moves(
            ref, agent, TicketStatus.ASSIGNED, TicketStatus.RESOLVED, "resolved_at"
        )

    def close(self, ref: str, agent: Agent) -> Ticket:
        """Close a resolved ticket (assignee only).

        Raises:
            TicketNotFound: no such ticket.
            TicketConflict: not resolved, or not the assignee.
        """
        return self._assignee_moves(
            ref, agent, TicketStatus.RESOLVED, TicketStatus.CLOSED, "closed_at"
        )

    def _assignee_moves(
        self,
        ref: str,
        agent: Agent,
        from_status: TicketStatus,
        to_status: TicketStatus,
        stamp: str,
    ) -> Ticket:
        """The assignee moves the ticket on; a concurrent change makes it a conflict."""
        ticket = self._ticket(ref)
        ensure_transition(ticket, to_status)
        if ticket.assignee_id != agent.id:
            raise TicketConflict("not_assignee", f"ticket {ref} is assigned to another agent")
        now = self.clock()
        guard = {"assignee_id": agent.id} if from_status is TicketStatus.ASSIGNED else {}
        done = repo.transition_ticket(
            self.session,
            ticket.id,
            from_status=from_status,
            values={"status": to_status, stamp: now, "updated_at": now},
            **guard,
        )
        if not done:
            self.session.rollback()
            raise TicketConflict("transition_not_allowed", f"ticket {ref} changed meanwhile")
        self._audit(ticket, agent.name, f"ticket_{to_status.value}")
        if to_status is TicketStatus.RESOLVED:
            self._notify_chat(ticket, TICKET_RESOLVED)
        self.session.commit()
        return ticket

    # -- bot actions

    def add_user_message_for_conversation(
        self, conversation_id: str, text: Any, external_id: Any = None
    ) -> tuple[Message, bool]:
        """Relay a user's message to the conversation's open or assigned ticket.

        Returns ``(message, created)``. The ticket is the conversation's own: a
        reference the user typed never chooses it. A repeated ``external_id``
        (Rasa's message id) returns the stored message, also after resolution.

        Raises:
            ValidationFailed: malformed conversation id, text or external id.
            TicketNotFound: the conversation has no ticket.
            TicketConflict: ``ticket_not_open``, its latest ticket is resolved or closed.
        """
        cid = parse_conversation_id(conversation_id)
        clean_text, redacted = parse_message_text(text)
        ext = _short_id("external_id", external_id, EXTERNAL_ID_MAX)
        if ext is not None:
            earlier = repo.get_conversation_message_by_external_id(self.session, cid, ext)
            if earlier is not None:
                return earlier, False
        ticket = repo.get_active_ticket(self.session, cid)
        if ticket is None:
            latest = repo.get_latest_ticket(self.session, cid)
            if latest is None:
                raise TicketNotFound("this conversation has no ticket")
            raise TicketConflict(
                "ticket_not_open",
                f"ticket {latest.ref} is {TicketStatus(latest.status).value}; "
                "the bot has the chat back",
            )
        now = self.clock()
        try:
            message = repo.add_message(
                self.session,
                Message(
                    ticket_id=ticket.id,
                    author=Author.USER,
                    text=clean_text,
                    created_at=now,
                    external_id=ext,
                ),
            )
            ticket.updated_at = now
            self.session.commit()
        except IntegrityError:
            # The same relay arrived twice at once; the other copy is stored.
            self.session.rollback()
            earlier = (
                repo.get_conversation_message_by_external_id(self.session, cid, ext)
                if ext
                else None
            )
            if earlier is None:
                raise
            return earlier, False
        if redacted:
            logger.info("ticket %s: secret redacted in a relayed user message", ticket.ref)
        return message, True

    def rate_conversation(self, conversation_id: str, score: Any) -> Ticket:
        """Record the user's 1-5 score on the conversation's latest resolved ticket, once.

        Raises:
            ValidationFailed: malformed conversation id, or score not a whole number 1-5.
            TicketNotFound: the conversation has no resolved ticket.
            TicketConflict: ``already_rated``.
        """
        cid = parse_conversation_id(conversation_id)
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise ValidationFailed("score", "score must be a whole number from 1 to 5")
        ticket = repo.get_latest_ticket(self.session, cid, status=TicketStatus.RESOLVED)
        if ticket is None:
            raise TicketNotFound("this conversation has no resolved ticket")
        if ticket.csat is not None:
            raise TicketConflict("already_rated", f"ticket {ticket.ref} was already rated")
        done = repo.transition_ticket(
            self.session,
            ticket.id,
            from_status=TicketStatus.RESOLVED,
            unrated=True,
            values={"csat": score, "updated_at": self.clock()},
        )
        if not done:
            self.session.rollback()
            raise TicketConflict("already_rated", f"ticket {ticket.ref} was already rated")
        self._audit(ticket, BOT_ACTOR, "ticket_rated", score=score)
        self.session.commit()
        return ticket

    def conversation_agent_message(
        self, conversation_id: str, message_id: Any
    ) -> tuple[Message, Ticket]:
        """One agent message of one of the conversation's tickets, with its ticket.

        The bot fetches an agent's reply by the id in the notification, so the
        text never travels through the conversation's events.

        Raises:
            ValidationFailed: malformed conversation id or message id.
            TicketNotFound: no agent message with that id in this conversation.
        """
        cid = parse_conversation_id(conversation_id)
        mid = parse_row_id("message_id", message_id)
        found = repo.get_conversation_message(self.session, cid, mid, Author.AGENT)
        if found is None:
            raise TicketNotFound("no such agent message in this conversation")
        return found

    def _notify_chat(self, ticket: Ticket, intent: str, **entities: Any) -> None:
        """Queue a notification for the user's chat in this unit of work.

        It commits (or rolls back) with the action it reports; the dispatcher
        delivers it afterwards, whichever entry point made the change.
        """
        notification_outbox.queue_notification(
            self.session, ticket.id, ticket.conversation_id, intent, entities, self.clock()
        )
        self.session.info[NOTIFICATIONS_QUEUED] = True

    def record_notification_failure(self, ticket_id: int, intent: str, reason: str) -> None:
        """Note in the audit trail that Rasa refused a notification for good (no commit)."""
        ticket = repo.get_ticket_by_id(self.session, ticket_id)
        self._audit(ticket, SYSTEM_ACTOR, "notify_failed", intent=intent, reason=reason)

    def audit_trail(self, ref: str) -> list[tuple[str, str, dict[str, Any] | None]]:
        """``(actor, action, detail)`` of every audit event of a ticket, oldest first."""
        ticket = self._ticket(ref)
        return [(e.actor, e.action, e.detail) for e in repo.list_audit(self.session, ticket.id)]

    # -- agents

    def authenticate_agent(self, token: str) -> Agent:
        """The active agent holding ``token``.

        Raises:
            Unauthorized: unknown or deactivated token.
        """
        agent = repo.get_agent_by_token_hash(self.session, hash_token(token))
        if agent is None or not agent.active:
            raise Unauthorized("unknown or revoked token")
        return agent

    def add_agent(self, name: str) -> tuple[Agent, str]:
        """Create an agent; returns it with its token, which is shown only this once.

        Raises:
            ValidationFailed: the name is malformed or taken.
        """
        name = name.strip() if isinstance(name, str) else ""
        if not name or len(name) > AGENT_NAME_MAX or not _AGENT_NAME_RE.match(name):
            raise ValidationFailed(
                "name",
                f"agent name must be 1-{AGENT_NAME_MAX} letters, digits, spaces, '.', '_' or '-'",
            )
        if repo.get_agent_by_name(self.session, name) is not None:
            raise ValidationFailed("name", f"an agent named {name!r} already exists")
        token = secrets.token_urlsafe(32)
        agent = Agent(name=name, token_hash=hash_token(token), created_at=self.clock(), active=True)
        try:
            repo.add_agent(self.session, agent)
            self._audit(None, SYSTEM_ACTOR, "agent_added", agent=name)
            self.session.commit()
        except IntegrityError:
            self.session.rollback()
            raise ValidationFailed("name", f"an agent named {name!r} already exists") from None
        return agent, token

    def deactivate_agent(self, name: str) -> Agent:
        """Revoke an agent's token.

        Raises:
            ValidationFailed: no agent of that name.
        """
        agent = repo.get_agent_by_name(self.session, name)
        if agent is None:
            raise ValidationFailed("name", f"no agent named {name!r}")
        agent.active = False
        self._audit(None, SYSTEM_ACTOR, "agent_deactivated", agent=name)
        self.session.commit()
        return agent

    def agents(self) -> list[Agent]:
        """Every agent, by name."""
        return repo.list_agents(self.session)
