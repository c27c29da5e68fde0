"""ISO 8601 times in and out: the service's only time parser, and its formatter.

Request bodies (``occurred_at``, transcript ``at``), query arguments (the
events feed's ``after``) and queue cursors all go through :func:`parse_time`,
so every time the service accepts obeys the same rules: a zone is required,
ASCII digits only, and the value lies in 1970-2099 UTC.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from handoff_service.errors import ValidationFailed

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

# An unencoded "+" of the zone offset arrives as a space in a query string.
_PLUS_AS_SPACE_RE = re.compile(r" ([0-9]{2}:[0-9]{2})$", re.ASCII)


def parse_time(name: str, raw: Any) -> datetime | None:
    """An aware UTC datetime from an ISO 8601 string with a zone; ``None`` for no value.

    ``name`` is the field reported in the error.

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


def parse_query_time(name: str, raw: str | None) -> datetime | None:
    """:func:`parse_time` for a query-string argument, where ``+08:00`` may arrive as `` 08:00``.

    Raises:
        ValidationFailed: as :func:`parse_time`.
    """
    if not raw:
        return None
    return parse_time(name, _PLUS_AS_SPACE_RE.sub(r"+\1", raw))


def format_time(value: datetime | None) -> str | None:
    """``value`` as ISO 8601 (what :func:`parse_time` reads back); ``None`` stays ``None``."""
    return value.isoformat() if value is not None else None
