"""The widget reports which agent replies it showed, so they are not e-mailed as well."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from handoff_service.errors import ValidationFailed
from handoff_service.mail import outbox
from handoff_service.models import MAX_ROW_ID
from handoff_service.validation import parse_conversation_id

MAX_SEEN_IDS = 200


def parse_message_ids(raw: Any, name: str = "message_ids") -> list[int]:
    """1 to 200 message ids, each a whole number from 1 to 2**31 - 1 (duplicates merged).

    Raises:
        ValidationFailed: not a list, empty, too long, or an item that is not such a number.
    """
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed(name, f"{name} must be a non-empty list of message ids")
    if len(raw) > MAX_SEEN_IDS:
        raise ValidationFailed(
            name, f"{name} has {len(raw)} items; the limit is {MAX_SEEN_IDS}"
        )
    for item in raw:
        # bool is an int in Python, never in JSON.
        if type(item) is not int or not 1 <= item <= MAX_ROW_ID:
            raise ValidationFailed(
                name, f"{name} must hold whole numbers from 1 to {MAX_ROW_ID}"
            )
    return sorted(set(raw))


def mark_seen(session: Session, conversation_id: Any, message_ids: Any, now: datetime) -> int:
    """Record that the conversation's widget showed these agent replies; commits.

    Ids that are not agent replies of this conversation's tickets are ignored,
    and a reply already marked keeps its first time. Returns how many replies
    were newly marked.

    Raises:
        ValidationFailed: malformed conversation id or message ids.
    """
    cid = parse_conversation_id(conversation_id)
    ids = parse_message_ids(message_ids)
    seen = outbox.stamp_seen(session, cid, ids, now)
    session.commit()
    return seen
