"""What every input channel does to a user's text before Rasa builds a message."""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from dataclasses import dataclass, replace
from typing import Any

from addons.channels import payloads
from support_core.secret_guard import redact

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4000
TX_HASH_SLOT_REQUEST = "ticket_tx_hash"
SECRET_METADATA_KEY = "secret_redacted"
APP_USER_METADATA_KEY = "app_user_id"
PREVIOUS_METADATA_KEY = "previous_conversations"
# What the bot is waiting for (read by addons.expected_answer).
EXPECTED_METADATA_KEY = "expected_answer"
# A screenshot the channel uploaded for this turn (its id and the text read from it).
ATTACHMENT_METADATA_KEY = "attachment"
_SERVER_KEYS = (
    SECRET_METADATA_KEY,
    APP_USER_METADATA_KEY,
    PREVIOUS_METADATA_KEY,
    EXPECTED_METADATA_KEY,
    ATTACHMENT_METADATA_KEY,
)


class MessageRejected(ValueError):
    """The message cannot be processed; ``code`` tells the client why."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class GuardedText:
    """Clean, redacted text plus the kinds of secret removed from it."""

    text: str
    secret_kinds: tuple[str, ...]
    # The buttons of the bot's latest turn and the form field it asked for.
    expected: dict[str, Any] | None = None


def _strip_control_characters(text: str) -> str:
    # Binary junk and control characters carry no meaning for the bot and break
    # some terminals and consoles; line breaks and tabs are kept.
    return "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Co")
    )


def guard_text(raw: object, *, expecting_tx_hash: bool = False) -> GuardedText:
    """Validate, clean and redact one incoming user text.

    Raises:
        MessageRejected: the payload is not text, or is too long.
    """
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        raise MessageRejected("message_not_text", "'message' must be a string.")
    if len(raw) > MAX_MESSAGE_CHARS:
        raise MessageRejected(
            "message_too_long", f"'message' is longer than {MAX_MESSAGE_CHARS} characters."
        )
    cleaned = _strip_control_characters(raw)
    redaction = redact(cleaned, expecting_tx_hash=expecting_tx_hash)
    if redaction.found:
        # Only the kinds are logged, never the text around them.
        logger.info("Removed a secret from a user message: %s", ",".join(redaction.kinds))
    return GuardedText(redaction.text, tuple(redaction.kinds))


def trusted_metadata(
    metadata: object,
    guarded: GuardedText,
    app_user_id: str | None = None,
    previous: tuple[str, ...] = (),
) -> dict:
    """The message metadata: the client's, less what only the server may say.

    The server notes which kinds of secret were removed, for a wallet app's
    logged-in user who they are, which earlier conversations the signed
    session links, and what the bot is waiting for; a client claiming any of
    these is overruled.
    """
    merged = dict(metadata) if isinstance(metadata, dict) else {}
    for key in _SERVER_KEYS:
        merged.pop(key, None)
    if guarded.expected:
        merged[EXPECTED_METADATA_KEY] = guarded.expected
    if guarded.secret_kinds:
        merged[SECRET_METADATA_KEY] = list(guarded.secret_kinds)
    if app_user_id:
        merged[APP_USER_METADATA_KEY] = app_user_id
    if previous:
        merged[PREVIOUS_METADATA_KEY] = list(previous)
    return merged


async def _tracker(agent: Any, sender_id: str) -> Any:
    store = getattr(agent, "tracker_store", None) if agent is not None else None
    return await store.retrieve(sender_id) if store is not None else None


def expected_answer(tracker: Any) -> dict[str, Any] | None:
    """The buttons of the bot's latest turn and the form field it asked for, if any."""
    if tracker is None:
        return None
    latest, _earlier = payloads.offered_buttons(tracker.events)
    choices = [
        {"payload": payload, "title": title}
        for payload, title in latest.items()
        if payloads.looks_like_intent(payload)
    ]
    slot = tracker.get_slot("requested_slot") if tracker.active_loop_name else None
    if not choices and not isinstance(slot, str):
        return None
    return {"choices": choices, "slot": slot if isinstance(slot, str) else None}


async def screen_message(
    agent: Any, sender_id: str, raw: object, allowed_payloads: frozenset[str]
) -> GuardedText:
    """Validate, redact and screen one user message of conversation ``sender_id``.

    The conversation is read once: a bare 64-hex string is a hash only if the
    bot just asked for one (else a private key), an intent payload is accepted
    only if the bot offered it, and a typed answer is read against the
    question the bot asked (:data:`EXPECTED_METADATA_KEY`).

    Raises:
        MessageRejected: the payload is not text, or is too long.
    """
    if not isinstance(raw, (str, type(None))):
        raise MessageRejected("message_not_text", "'message' must be a string.")
    tracker = await _tracker(agent, sender_id)
    expecting = tracker is not None and tracker.get_slot("requested_slot") == TX_HASH_SLOT_REQUEST
    # The guard is CPU-bound (up to some tens of milliseconds for a long message):
    # in a worker thread it cannot hold up the other conversations on this loop.
    guarded = await asyncio.to_thread(guard_text, raw, expecting_tx_hash=expecting)
    if payloads.looks_like_intent(guarded.text):
        events = list(tracker.events) if tracker is not None else []
        screened = payloads.screen(guarded.text, events, allowed_payloads)
        if screened != guarded.text:
            # The decision, never the text, is logged.
            logger.info("A user message starting with '/' was not an offered button")
            guarded = replace(guarded, text=screened)
    return replace(guarded, expected=expected_answer(tracker))
