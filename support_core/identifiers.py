"""The one rule for conversation ids, shared by the chat channels and the handoff service.

The channel issues ids of this shape and refuses any other; the service checks
the same shape on every route that names a conversation. Ids are safe in a URL
path segment, a log line and a database key without escaping (they are quoted
in URLs all the same).
"""

from __future__ import annotations

import re

CONVERSATION_ID_MAX = 64
CONVERSATION_ID_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{CONVERSATION_ID_MAX}}}", re.ASCII)


def is_conversation_id(value: object) -> bool:
    """Whether ``value`` is 1-64 characters of ``A-Z a-z 0-9 _ -``."""
    return isinstance(value, str) and CONVERSATION_ID_RE.fullmatch(value) is not None
