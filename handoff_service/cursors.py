"""Opaque queue cursors: a position in the agents' queue, handed out and read back.

A cursor is the queue key of the last ticket of a page (priority rank,
creation time, id) as URL-safe base64 of a JSON list. Clients must treat it
as opaque; anything this service cannot have produced is refused.
"""

from __future__ import annotations

import base64
import binascii
import json

from handoff_service.errors import ValidationFailed
from handoff_service.models import MAX_ROW_ID, Priority
from handoff_service.repository import QueueKey
from handoff_service.times import format_time, parse_time

CURSOR_MAX_CHARS = 200


def encode_cursor(key: QueueKey) -> str:
    """An opaque cursor for the page after ``key``."""
    raw = json.dumps([key.priority_rank, format_time(key.created_at), key.ticket_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


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
