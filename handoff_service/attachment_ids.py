"""Attachment ids: random, unguessable, and easy to check before any query."""

from __future__ import annotations

import re
import secrets

_ID = re.compile(r"^att_[A-Za-z0-9_-]{16,36}$")


def new_attachment_id() -> str:
    """A fresh id (144 random bits): the id is what lets a chat fetch its own image."""
    return "att_" + secrets.token_urlsafe(18)


def is_attachment_id(value: object) -> bool:
    """Whether ``value`` has the shape of an id this service gives out."""
    return isinstance(value, str) and _ID.match(value) is not None
