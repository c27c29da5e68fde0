"""Reading a request's JSON body: strict JSON, bounded depth, unique keys, an object at the top."""

from __future__ import annotations

import json
from typing import Any

from sanic import Request
from sanic.exceptions import PayloadTooLarge

from handoff_service.errors import ValidationFailed

# Deeper than any body of this API; deeper ones are refused before any code
# walks them recursively.
BODY_MAX_DEPTH = 32


class BadJson(Exception):
    """The request body is not valid JSON.  HTTP 400."""


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Python keeps the last of two equal keys, other parsers the first: a body
    # that says a field twice has no one meaning, so it is refused.
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _RepeatedKey(key)
        data[key] = value
    return data


def _no_constants(name: str) -> Any:
    # Python accepts NaN and Infinity; JSON (and PostgreSQL's json type) does not.
    raise BadJson(f"the request body is not valid JSON: {name} is not a JSON value")


def _finite_float(text: str) -> float:
    # 1e400 would silently become infinity, which no JSON column can hold.
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise BadJson(f"the request body is not valid JSON: {text[:20]} is out of range")
    return value


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


def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object.

    Raises:
        BadJson: empty, not UTF-8, not JSON, NaN or infinite numbers, or too deep.
        ValidationFailed: valid JSON, but not an object, or an object with a key
            given twice (the field named is that key).
    """
    raw = request.body or b""
    # The server admits bodies as large as an image; a JSON body keeps its own limit.
    limit = request.app.ctx.settings.max_body_bytes
    if len(raw) > limit:
        raise PayloadTooLarge(f"the request body is over {limit} bytes")
    if not raw.strip():
        raise BadJson("the request body is empty; send a JSON object")
    try:
        data = json.loads(
            raw,
            parse_constant=_no_constants,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except _RepeatedKey as exc:
        name = exc.key[:64]
        raise ValidationFailed(name, f"{name} is given more than once") from None
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
