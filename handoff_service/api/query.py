"""Reading query-string arguments: whole numbers in a range, and times."""

from __future__ import annotations

import re
from datetime import datetime

from sanic import Request

from handoff_service.errors import ValidationFailed
from handoff_service.times import parse_query_time

_INT_RE = re.compile(r"-?[0-9]{1,12}", re.ASCII)


def int_arg(request: Request, name: str, default: int, low: int, high: int) -> int:
    """The whole number ``name`` (``default`` when absent), between ``low`` and ``high``.

    Raises:
        ValidationFailed: not ASCII digits, or out of range.
    """
    value = optional_int_arg(request, name, low, high)
    return default if value is None else value


def optional_int_arg(request: Request, name: str, low: int, high: int) -> int | None:
    """The whole number ``name`` between ``low`` and ``high``; ``None`` when absent.

    Raises:
        ValidationFailed: not ASCII digits, or out of range.
    """
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


def time_arg(request: Request, name: str) -> datetime | None:
    """The ISO 8601 time ``name`` (see :func:`handoff_service.times.parse_query_time`).

    Raises:
        ValidationFailed: not an ISO 8601 time with a zone in 1970-2099.
    """
    return parse_query_time(name, request.args.get(name))
