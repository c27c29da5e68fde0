"""JSON responses of the API: compact UTF-8 bodies, and the one shape of an error."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from sanic.response import HTTPResponse
from sanic.response import json as json_response

# Chinese text stays readable (and shorter) as UTF-8 instead of \u escapes.
_dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HTTPResponse:
    """``body`` as a JSON response."""
    return json_response(body, status=status, headers=headers, dumps=_dumps)


def error(
    status: int,
    code: str,
    detail: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> HTTPResponse:
    """An error response: ``{"error": code, "field": ..., "detail": ..., **extra}``."""
    return reply({"error": code, "field": field, "detail": detail, **extra}, status, headers)
