"""Request validation: every field a caller sends is checked and redacted here.

The use cases (:mod:`handoff_service.services`) and the API call these
parsers before they touch the database. Each returns a clean value or raises
:class:`~handoff_service.errors.ValidationFailed` naming the field. Free text
loses control characters and any secret it holds (seed phrases, private keys:
:func:`support_core.secret_guard.redact`); the parsers report which fields
held one, so the audit trail can say so without keeping the secret.

The chat channel has already redacted what the user typed, knowing what the
bot had just asked. Redacting again here must not undo that judgement: a
text sent with ``expecting_tx_hash`` (the answer to "what is the transaction
hash?") is redacted with the same context, and placeholders the channel
wrote ("[redacted private key]") are kept exactly as they are.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from handoff_service.attachment_ids import is_attachment_id
from handoff_service.errors import NothingToUpdate, ValidationFailed
from handoff_service.models import (
    MAX_ROW_ID,
    AgentRole,
    Author,
    Category,
    EscalationReason,
    Language,
    Priority,
    TicketStatus,
)
from handoff_service.repository import TicketFilters
from handoff_service.times import parse_time
from support_core.identifiers import is_conversation_id
from support_core.patterns import EMAIL_MAX_CHARS, HAN_RANGES, is_email
from support_core.secret_guard import PLACEHOLDERS, contains_placeholder, find_secrets, redact

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
AMOUNT_MAX = 64
HASH_MAX = 128
ADDRESS_MAX = 128
CHAIN_MAX = 32
OCCURRED_AT_TEXT_MAX = 200
BOT_MESSAGE_ID_MAX = 128
NOTE_MAX = 4000
TAG_MAX = 32
TAGS_PER_TICKET = 10
SEARCH_MIN = 3
SEARCH_MAX = 200
SHORTCUT_MAX = 32
CANNED_TITLE_MAX = 120
CANNED_TEXT_MAX = 4000
EXPECTING_TX_HASH = "expecting_tx_hash"

_AGENT_NAME_RE = re.compile(r"^[^\W_][\w .\-]*$")
# Lower-case ASCII letters, digits, '-' and '_', and Chinese characters (the Han
# ranges every part of the project shares): "lost-funds", "vip", "提币".
_TAG_RE = re.compile(f"[a-z0-9_\\-{HAN_RANGES}]{{1,{TAG_MAX}}}")
_SHORTCUT_RE = re.compile(f"[a-z0-9-]{{2,{SHORTCUT_MAX}}}", re.ASCII)
_ROW_ID_RE = re.compile(r"[0-9]{1,10}", re.ASCII)
# Unicode categories Cc (C0, DEL, C1) and Cs (lone surrogates), minus tab and line feed.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_E = TypeVar("_E", bound=enum.Enum)


def _strip_controls(text: str) -> str:
    # NUL and lone surrogates are refused by PostgreSQL and by UTF-8 encoders;
    # other control characters only break consoles. Line breaks and tabs stay.
    return _CONTROL_RE.sub("", text)


def _redacted(text: str, *, expecting_tx_hash: bool = False) -> tuple[str, bool]:
    """``text`` without secrets, and whether one was found; earlier placeholders stay as written.

    A placeholder is no secret and labels nothing, but it does show that the
    user has been pasting secrets, and the guard may weigh that: the text is
    scanned whole. Only if a secret found would reach into a placeholder is it
    scanned again with the placeholders masked, so they are never rewritten.
    """
    if contains_placeholder(text) is None:
        result = redact(text, expecting_tx_hash=expecting_tx_hash)
        return result.text, result.found
    spans = _placeholder_spans(text)
    found = find_secrets(text, expecting_tx_hash=expecting_tx_hash)
    if not any(m.start < end and start < m.end for m in found for start, end in spans):
        result = redact(text, expecting_tx_hash=expecting_tx_hash)
        return result.text, result.found
    return _redacted_around(text, spans, expecting_tx_hash=expecting_tx_hash)


def _placeholder_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for placeholder in PLACEHOLDERS:
        start = text.find(placeholder)
        while start >= 0:
            spans.append((start, start + len(placeholder)))
            start = text.find(placeholder, start + len(placeholder))
    return sorted(spans)


def _redacted_around(
    text: str, spans: list[tuple[int, int]], *, expecting_tx_hash: bool
) -> tuple[str, bool]:
    # Each placeholder becomes, for the scan, a run of one character that is
    # neither a letter, a digit nor a separator, of the placeholder's length:
    # no secret can take it in, and distances to labels stay the same. It is
    # put back afterwards, exactly as written.
    spare = (chr(code) for code in range(0xE000, 0xF900) if chr(code) not in text)
    pieces: list[str] = []
    restore: list[tuple[str, str]] = []
    cursor = 0
    for start, end in spans:
        if start < cursor:
            continue
        free = next(spare, None)
        if free is None:
            # Thousands of distinct private-use characters: scan it as it is.
            result = redact(text, expecting_tx_hash=expecting_tx_hash)
            return result.text, result.found
        mask = free * (end - start)
        pieces += [text[cursor:start], mask]
        restore.append((mask, text[start:end]))
        cursor = end
    pieces.append(text[cursor:])
    result = redact("".join(pieces), expecting_tx_hash=expecting_tx_hash)
    clean = result.text
    for mask, placeholder in restore:
        clean = clean.replace(mask, placeholder, 1)
    return clean, result.found


class _Cleaner:
    """Validates and redacts the fields of one request, remembering which held a secret."""

    def __init__(self) -> None:
        self.redacted_fields: list[str] = []

    def required(
        self, data: Mapping[str, Any], name: str, *, max_len: int, expecting_tx_hash: bool = False
    ) -> str:
        value = self.optional(data, name, max_len=max_len, expecting_tx_hash=expecting_tx_hash)
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


def _time_in_text(raw: str | None) -> datetime | None:
    # What the user typed is kept as text; an ISO value is also stored parsed.
    # Free text ("yesterday 9 pm") is parsed by the bot, which sends occurred_at.
    try:
        return parse_time("occurred_at_text", raw)
    except ValidationFailed:
        return None


# ---------------------------------------------------------------- identifiers


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


def parse_short_id(name: str, raw: Any, max_len: int) -> str | None:
    """A caller's own key (an Idempotency-Key, Rasa's message id); ``None`` for no value.

    Raises:
        ValidationFailed: not printable, edge spaces, or longer than ``max_len``.
    """
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not raw.isprintable() or raw != raw.strip():
        raise ValidationFailed(name, f"{name} must be a printable string without edge spaces")
    if len(raw) > max_len:
        raise ValidationFailed(name, f"{name} is longer than {max_len} characters")
    return raw


def _app_user_id(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not 1 <= len(raw) <= APP_USER_ID_MAX or not raw.isprintable():
        raise ValidationFailed(
            "app_user_id",
            f"app_user_id must be a string of 1-{APP_USER_ID_MAX} printable characters",
        )
    return raw


# ---------------------------------------------------------------- a ticket's details

# The free-text details of a ticket, as creation and updates take them:
# (field, longest value, redacted as the answer to "what is the hash?").
_DETAIL_TEXTS = (
    ("contact_email", EMAIL_MAX_CHARS, False),
    ("tx_hash", HASH_MAX, True),
    ("wallet_address", ADDRESS_MAX, False),
    ("chain", CHAIN_MAX, False),
    ("occurred_at_text", OCCURRED_AT_TEXT_MAX, False),
    ("amount", AMOUNT_MAX, False),
)


def _details(clean: _Cleaner, data: Mapping[str, Any]) -> dict[str, str | None]:
    """The detail texts of ``data``, each ``None`` when absent, null or blank."""
    values: dict[str, str | None] = {}
    for name, max_len, hashy in _DETAIL_TEXTS:
        values[name] = clean.optional(data, name, max_len=max_len, expecting_tx_hash=hashy)
    email = values["contact_email"]
    # The rule the bot's ticket form applies, so what it accepts is what is stored.
    if email is not None and not is_email(email):
        raise ValidationFailed(
            "contact_email", "contact_email does not look like an e-mail address"
        )
    return values


def _expecting_tx_hash(raw: Any, name: str = EXPECTING_TX_HASH) -> bool:
    """The optional flag saying a text answers "what is the transaction hash?"."""
    if raw is None:
        return False
    if not isinstance(raw, bool):
        raise ValidationFailed(name, f"{name} must be true or false")
    return raw


# ---------------------------------------------------------------- a new ticket


@dataclass(frozen=True)
class TranscriptItem:
    """One earlier line of the conversation sent with a new ticket."""

    author: Author
    text: str
    at: datetime | None
    # A screenshot the user sent at this point (checked against the conversation later).
    attachment_id: str | None = None


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
    amount: str | None = None
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
    details = _details(clean, payload)
    occurred_at = parse_time("occurred_at", payload.get("occurred_at")) or _time_in_text(
        details["occurred_at_text"]
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
        occurred_at=occurred_at,
        summary=summary,
        transcript=transcript,
        app_user_id=app_user_id,
        redacted_fields=tuple(clean.redacted_fields),
        **details,
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
        # The user's answer to "what is the transaction hash?" is judged as
        # the channel judged it; the bot's own lines never hold a hash answer.
        hashy = _expecting_tx_hash(item.get(EXPECTING_TX_HASH), f"{where}.{EXPECTING_TX_HASH}")
        try:
            text = clean.required(
                item, "text", max_len=MESSAGE_MAX, expecting_tx_hash=hashy and author is Author.USER
            )
        except ValidationFailed as exc:
            raise ValidationFailed(f"{where}.text", f"{where}.{exc.detail}") from None
        at = parse_time(f"{where}.at", item.get("at"))
        attachment = item.get("attachment_id")
        if attachment is not None and not (author is Author.USER and is_attachment_id(attachment)):
            raise ValidationFailed(
                f"{where}.attachment_id", f"{where}.attachment_id is not a user's attachment id"
            )
        items.append(TranscriptItem(author, text, at, attachment))
    if "text" in clean.redacted_fields:
        clean.redacted_fields[clean.redacted_fields.index("text")] = "transcript"
    return tuple(items)


# ---------------------------------------------------------------- updating a ticket

# What an update may change, in this order in the audit trail and the API docs.
UPDATABLE_FIELDS = (
    "title",
    "description",
    "contact_email",
    "tx_hash",
    "wallet_address",
    "chain",
    "occurred_at_text",
    "occurred_at",
    "amount",
    "summary",
)


@dataclass(frozen=True)
class TicketUpdate:
    """A validated, redacted change of a ticket's details: column -> new value."""

    values: dict[str, Any]
    redacted_fields: tuple[str, ...] = ()


def parse_ticket_update(payload: Mapping[str, Any]) -> TicketUpdate:
    """Validate and redact an update of an open ticket's details.

    Every field is checked as on creation. A field that is absent, null or
    blank is not changed (an update never empties a field). ``occurred_at_text``
    without ``occurred_at`` also replaces ``occurred_at`` with the time the text
    names in ISO 8601, or with none, so the two never disagree. Other keys are
    ignored.

    Raises:
        ValidationFailed: the first malformed field.
        NothingToUpdate: no field of :data:`UPDATABLE_FIELDS` with a value.
    """
    clean = _Cleaner()
    given: dict[str, Any] = {
        "title": clean.optional(payload, "title", max_len=TITLE_MAX),
        "description": clean.optional(payload, "description", max_len=DESCRIPTION_MAX),
        **_details(clean, payload),
    }
    occurred_at = parse_time("occurred_at", payload.get("occurred_at"))
    if occurred_at is not None:
        given["occurred_at"] = occurred_at
    elif given["occurred_at_text"] is not None:
        given["occurred_at"] = _time_in_text(given["occurred_at_text"])
    given["summary"] = _parse_summary(clean, payload.get("summary"))
    values = {
        name: given[name]
        for name in UPDATABLE_FIELDS
        if given.get(name) is not None or (name == "occurred_at" and name in given)
    }
    if not values:
        raise NothingToUpdate(
            "send at least one of these fields with a value: " + ", ".join(UPDATABLE_FIELDS)
        )
    return TicketUpdate(values, tuple(clean.redacted_fields))


# ---------------------------------------------------------------- other requests


def parse_message_text(raw: Any, expecting_tx_hash: Any = None) -> tuple[str, bool]:
    """Validate and redact one chat message; returns the text and whether a secret was removed.

    ``expecting_tx_hash`` (JSON true, false or absent) says the message answers
    "what is the transaction hash?": a bare 64-hex string in it is that hash.

    Raises:
        ValidationFailed: empty or too long text, or a flag that is not a boolean.
    """
    hashy = _expecting_tx_hash(expecting_tx_hash)
    clean = _Cleaner()
    text = clean.required({"text": raw}, "text", max_len=MESSAGE_MAX, expecting_tx_hash=hashy)
    return text, bool(clean.redacted_fields)


def parse_score(raw: Any) -> int:
    """The user's satisfaction score: a whole number from 1 to 5 (JSON ``true`` is not one).

    Raises:
        ValidationFailed: anything else.
    """
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 5:
        raise ValidationFailed("score", "score must be a whole number from 1 to 5")
    return raw


def parse_agent_name(raw: Any) -> str:
    """An agent's name, stripped: letters or digits first, then also spaces, '.', '_' and '-'.

    Raises:
        ValidationFailed: empty, longer than 64 characters, or another character.
    """
    name = raw.strip() if isinstance(raw, str) else ""
    if not name or len(name) > AGENT_NAME_MAX or not _AGENT_NAME_RE.match(name):
        raise ValidationFailed(
            "name",
            f"agent name must be 1-{AGENT_NAME_MAX} letters, digits, spaces, '.', '_' or '-'",
        )
    return name


def parse_filters(
    *,
    status: str | None = None,
    category: str | None = None,
    priority: str | None = None,
    language: str | None = None,
    tag: str | None = None,
) -> TicketFilters:
    """Queue filters from query-string values.

    Raises:
        ValidationFailed: a value that is not one of its enum's, or not a tag.
    """
    return TicketFilters(
        status=_enum_value(TicketStatus, "status", status),
        category=_enum_value(Category, "category", category),
        priority=_enum_value(Priority, "priority", priority),
        language=_enum_value(Language, "language", language),
        tag=parse_tag(tag) if tag else None,
    )


def parse_tag(raw: Any, name: str = "tag") -> str:
    """One ticket tag, lower-cased: 1-32 of a-z, 0-9, '-', '_' and CJK ideographs.

    Raises:
        ValidationFailed: not a string, or another character or length.
    """
    tag = raw.strip().lower() if isinstance(raw, str) else None
    if tag is None or not _TAG_RE.fullmatch(tag):
        raise ValidationFailed(
            name,
            f"a tag is 1-{TAG_MAX} lower-case letters a-z, digits, '-', '_' or Chinese characters",
        )
    return tag


def parse_tags(raw: Any) -> list[str]:
    """A ticket's whole set of tags: each :func:`parse_tag`, duplicates dropped, order kept.

    Raises:
        ValidationFailed: not a list, an invalid tag, or more than 10 different ones.
    """
    if not isinstance(raw, list):
        raise ValidationFailed("tags", "tags must be a list of strings")
    tags: list[str] = []
    for item in raw:
        tag = parse_tag(item, "tags")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_PER_TICKET:
        raise ValidationFailed("tags", f"a ticket has at most {TAGS_PER_TICKET} tags")
    return tags


def parse_search_query(raw: Any) -> str:
    """What an agent searches for: 3-200 characters once stripped (control characters dropped).

    Raises:
        ValidationFailed: missing, too short or too long.
    """
    text = _strip_controls(raw).strip() if isinstance(raw, str) else ""
    if not SEARCH_MIN <= len(text) <= SEARCH_MAX:
        raise ValidationFailed("q", f"q must be {SEARCH_MIN} to {SEARCH_MAX} characters long")
    return text


def parse_role(raw: Any, name: str = "role") -> AgentRole:
    """An agent's role: ``agent`` or ``admin``.

    Raises:
        ValidationFailed: anything else.
    """
    return _required_enum(AgentRole, name, raw)


def parse_console_language(raw: Any) -> Language | None:
    """The console language an agent chose: ``zh``, ``en``, or ``null`` for the browser's.

    Raises:
        ValidationFailed: anything else.
    """
    if raw is None:
        return None
    value = _enum_value(Language, "console_language", raw)
    if value is None:
        raise ValidationFailed("console_language", "console_language must be zh, en or null")
    return value


def parse_shortcut(raw: Any) -> str:
    """A canned reply's shortcut: 2-32 of a-z, 0-9 and '-'.

    Raises:
        ValidationFailed: anything else.
    """
    if not isinstance(raw, str) or not _SHORTCUT_RE.fullmatch(raw):
        raise ValidationFailed(
            "shortcut", f"shortcut must be 2-{SHORTCUT_MAX} characters of a-z, 0-9 and '-'"
        )
    return raw


@dataclass(frozen=True)
class CannedReplyDraft:
    """A validated canned reply, as an admin or an import file gives it."""

    shortcut: str
    language: Language
    title: str
    text: str


def parse_canned_reply(payload: Mapping[str, Any]) -> CannedReplyDraft:
    """Validate a canned reply: ``shortcut``, ``language``, ``title`` (1-120), ``text`` (1-4000).

    Texts lose control characters and any secret, as every text the service stores.

    Raises:
        ValidationFailed: the first missing or malformed field.
    """
    clean = _Cleaner()
    shortcut = parse_shortcut(payload.get("shortcut"))
    language = _required_enum(Language, "language", payload.get("language"))
    title = clean.required(payload, "title", max_len=CANNED_TITLE_MAX)
    text = clean.required(payload, "text", max_len=CANNED_TEXT_MAX)
    return CannedReplyDraft(shortcut, language, title, text)


def parse_note_text(raw: Any) -> str:
    """An agent's note: 1-4000 characters, control characters and secrets removed.

    Raises:
        ValidationFailed: missing, empty or too long.
    """
    return _Cleaner().required({"text": raw}, "text", max_len=NOTE_MAX)
