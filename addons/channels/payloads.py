"""Only the buttons the bot offered may speak in intents.

Rasa turns any text that starts with ``/`` into that intent with those
entities, before any NLU component runs, whichever channel it came from. A
user could otherwise type ``/agent_message{...}`` and show a fake agent in their
own chat, or ``/ticket_resolved{...}`` and end someone's handoff. So a user's
``/...`` text reaches Rasa as an intent only when it is, character for
character, a button payload of the bot's latest turn (or one of a few payloads
allowed on purpose). A payload of an older turn becomes that button's title, so
a late click still says what the user meant; anything else loses its leading
slashes and is read as ordinary text.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

INTENT_PREFIX = "/"
DEFAULT_ALLOWED = ("/greet", "/request_human")


def allowed_payloads_from_env() -> frozenset[str]:
    """Payloads a client may always send: ``CHAT_ALLOWED_PAYLOADS`` (space separated)."""
    raw = os.environ.get("CHAT_ALLOWED_PAYLOADS")
    values = DEFAULT_ALLOWED if raw is None else raw.split()
    return frozenset(v for v in values if v.startswith(INTENT_PREFIX) and "{" not in v)


def looks_like_intent(text: str) -> bool:
    """Whether Rasa would read ``text`` as an intent rather than parse it."""
    return text.lstrip().startswith(INTENT_PREFIX)


def _buttons(event: Any) -> list[dict[str, Any]]:
    data = getattr(event, "data", None) or {}
    buttons = data.get("buttons") or []
    return [b for b in buttons if isinstance(b, dict) and isinstance(b.get("payload"), str)]


def offered_buttons(events: Iterable[Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Payload → title of the buttons of the latest bot turn, and of all earlier turns."""
    latest: dict[str, str] = {}
    earlier: dict[str, str] = {}
    in_latest_turn = True
    for event in reversed(list(events)):
        kind = getattr(event, "type_name", "")
        if kind == "user":
            in_latest_turn = False
        elif kind == "bot":
            target = latest if in_latest_turn else earlier
            for button in _buttons(event):
                target.setdefault(button["payload"], str(button.get("title") or ""))
    return latest, earlier


def screen(text: str, events: Iterable[Any], allowed: frozenset[str]) -> str:
    """The text to hand to Rasa for a user's ``text`` in a conversation with ``events``."""
    if not looks_like_intent(text):
        return text
    candidate = text.strip()
    if candidate in allowed:
        return candidate
    latest, earlier = offered_buttons(events)
    if candidate in latest:
        return candidate
    if earlier.get(candidate):
        return earlier[candidate]
    return text.lstrip().lstrip(INTENT_PREFIX).lstrip()
