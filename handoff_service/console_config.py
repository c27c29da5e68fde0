"""What the agent console is told at ``/console/config.js``: the lists it shares with the service.

The console's category filter and its labels for categories and escalation
reasons come from here, not from its own script, so a category added to
:mod:`support_core.patterns` (and to the enums, which a test holds to it)
reaches the console without an edit there. Only the display labels are
written here; a value without one is shown as it is.
"""

from __future__ import annotations

import json
from typing import Any

from handoff_service.models import Category
from handoff_service.services.rules import priority_for
from support_core.patterns import CATEGORIES, ESCALATION_REASONS

CATEGORY_LABELS = {
    "account": "Account",
    "assets": "Assets",
    "trading": "Trading",
    "technical": "Technical",
    "security": "Security",
    "policy": "Rules & appeals",
}
ESCALATION_REASON_LABELS = {
    "requested_human": "User asked for a human",
    "self_help_failed": "Self-help did not solve it",
    "fallback": "Assistant did not understand twice",
    "security": "Security emergency",
}


def _choices(values: list[str], labels: dict[str, str]) -> list[dict[str, str]]:
    return [{"value": value, "label": labels.get(value, value)} for value in values]


def console_config() -> dict[str, Any]:
    """The console's configuration: ``categories`` and ``escalationReasons``, with labels.

    Categories come in the queue's order of urgency (security, then assets,
    then the rest as listed), the order of the console's filter.
    """
    by_urgency = sorted(CATEGORIES, key=lambda value: priority_for(Category(value)).rank)
    return {
        "categories": _choices(by_urgency, CATEGORY_LABELS),
        "escalationReasons": _choices(list(ESCALATION_REASONS), ESCALATION_REASON_LABELS),
    }


def console_config_js() -> bytes:
    """``config.js`` of the console: sets ``window.CONSOLE_CONFIG`` before ``console.js`` runs."""
    return f"window.CONSOLE_CONFIG = {json.dumps(console_config())};\n".encode()
