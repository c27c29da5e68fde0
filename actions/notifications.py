"""Notifications the handoff service triggers: each one takes effect once.

The service delivers every notification until Rasa accepts it; when an answer
is lost on the way back, it delivers the same one again. Each carries the
service's ``notification_id``, and an action that finds that id on an earlier
message of the conversation does nothing the second time.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

NOTIFICATION_ID_ENTITY = "notification_id"


def _notification_id(parse_data: dict[str, Any] | None) -> str | None:
    for entity in (parse_data or {}).get("entities") or []:
        if entity.get("entity") == NOTIFICATION_ID_ENTITY and entity.get("value") is not None:
            return str(entity["value"])
    return None


def already_handled(tracker: Tracker) -> bool:
    """Whether the notification that triggered this action arrived before in this conversation."""
    current = _notification_id(tracker.latest_message)
    if current is None:
        return False
    seen = 0
    for event in tracker.events:
        if event.get("event") == "user" and _notification_id(event.get("parse_data")) == current:
            seen += 1
            if seen > 1:
                return True
    return False
