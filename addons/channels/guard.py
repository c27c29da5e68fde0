"""What every input channel does to a user's text before Rasa builds a message."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from support_core.secret_guard import redact

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4000
TX_HASH_SLOT_REQUEST = "ticket_tx_hash"
_BARE_HEX64 = re.compile(r"(?<![0-9A-Za-z])(?:0[xX])?[0-9a-fA-F]{64}(?![0-9A-Za-z])")
SECRET_METADATA_KEY = "secret_redacted"


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


def with_secret_metadata(metadata: dict | None, guarded: GuardedText) -> dict:
    """The message metadata, noting which kinds of secret were removed."""
    merged = dict(metadata or {})
    merged.pop(SECRET_METADATA_KEY, None)  # a client must not claim redactions
    if guarded.secret_kinds:
        merged[SECRET_METADATA_KEY] = list(guarded.secret_kinds)
    return merged


async def tx_hash_expected(agent: Any, sender_id: str, raw: object) -> bool:
    """Whether the bot just asked this conversation for a transaction hash.

    Only then is an unlabelled 64-hex answer a hash rather than a private key.
    The tracker is read only when the message holds such a string, so ordinary
    messages cost nothing extra.
    """
    if not isinstance(raw, str) or not _BARE_HEX64.search(raw) or agent is None:
        return False
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return False
    tracker = await store.retrieve(sender_id)
    return tracker is not None and tracker.get_slot("requested_slot") == TX_HASH_SLOT_REQUEST
