"""What the agent console is told at ``/console/config.js``: the lists it shares with the service.

The console's category filter, its labels for categories and escalation
reasons, and the first-reply targets of its SLA display come from here, not
from its own script, so a category added to :mod:`support_core.patterns` (and
to the enums, which a test holds to it) or a target changed in the settings
(``HANDOFF_SLA_FIRST_REPLY_MINUTES``) reaches the console without an edit
there. The display labels are :mod:`handoff_service.labels`; a value without
one is shown as it is.
"""

from __future__ import annotations

import json
from typing import Any

from handoff_service.config import SlaTargets
from handoff_service.labels import CATEGORY_LABELS, ESCALATION_REASON_LABELS
from handoff_service.models import Category
from handoff_service.services.rules import priority_for
from support_core.patterns import CATEGORIES, ESCALATION_REASONS

__all__ = [
    "CATEGORY_LABELS",
    "ESCALATION_REASON_LABELS",
    "console_config",
    "console_config_js",
]


def _choices(values: list[str], labels: dict[str, str]) -> list[dict[str, str]]:
    return [{"value": value, "label": labels.get(value, value)} for value in values]


def console_config(sla: SlaTargets | None = None) -> dict[str, Any]:
    """The console's configuration.

    ``categories`` and ``escalationReasons`` with labels, and
    ``slaFirstReplySeconds``: the first-reply target of each priority
    (``sla``, the defaults when not given). Categories come in the queue's
    order of urgency (security, then assets, then the rest as listed), the
    order of the console's filter.
    """
    by_urgency = sorted(CATEGORIES, key=lambda value: priority_for(Category(value)).rank)
    return {
        "categories": _choices(by_urgency, CATEGORY_LABELS),
        "escalationReasons": _choices(list(ESCALATION_REASONS), ESCALATION_REASON_LABELS),
        "slaFirstReplySeconds": (sla or SlaTargets()).as_seconds(),
    }


def console_config_js(sla: SlaTargets | None = None) -> bytes:
    """``config.js`` of the console: sets ``window.CONSOLE_CONFIG`` before ``console.js`` runs."""
    return f"window.CONSOLE_CONFIG = {json.dumps(console_config(sla))};\n".encode()
